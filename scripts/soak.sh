#!/usr/bin/env bash
# Soak: ForwardOptimal in front of three echo backends on loopback for DURATION, under mixed
# long and short sessions (fo_soak_client, every byte verified), while the backends are killed
# with SIGKILL and restarted at random, and now and then all at once. At the end: sessions
# served, bytes verified, failures by reason, peak RSS, and descriptors and threads at the end
# and after an idle period (idle relay threads exit after 60 s) versus the start. Not part of CI.
#   ./scripts/soak.sh [DURATION=10m] [WORKERS=16]      DURATION in s, m or h (e.g. 90s, 30m)
# Exit status 1 if a byte came back corrupted, the proxy died, or descriptors or threads leaked.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
duration=${1:-10m}
workers=${2:-16}
case "$duration" in
  *h) seconds=$(( ${duration%h} * 3600 ));;
  *m) seconds=$(( ${duration%m} * 60 ));;
  *s) seconds=${duration%s};;
  *) seconds=$duration;;
esac
fo_install_packages "${FO_BUILD_PACKAGES[@]}" curl
fo_build -DFO_BUILD_TESTS=ON >&2
T="$FO_BUILD_DIR/tests"

work=$(mktemp -d)
pids=()
declare -A backend_pid
cleanup() {
  kill "${pids[@]}" "${backend_pid[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ports=(25501 25502 25503)
admin=127.0.0.1:25590
start_backend() {
  "$T/fo_demo_backend" --listen "127.0.0.1:$1" --name "b$1" --threads 512 > /dev/null 2>&1 &
  backend_pid[$1]=$!
}
for port in "${ports[@]}"; do start_backend "$port"; done

cat > "$work/fo.json" <<JSON
{"bindAddr": "127.0.0.1:25500",
 "targets": ["127.0.0.1:25501", "127.0.0.1:25502", "127.0.0.1:25503"],
 "updateInterval": 2, "failureInterval": 1, "probeTimeout": 1, "idleTimeout": 30,
 "adminAddr": "$admin",
 "logging": {"channels": {"file": {"class": "FileChannel", "path": "$work/fo.log", "formatter": "f"}},
   "formatters": {"f": {"class": "PatternFormatter", "pattern": "%Y-%m-%d %H:%M:%S [%p] %t"}},
   "loggers": {"root": {"channel": "file", "level": "information"}}}}
JSON
"$FO_BUILD_DIR/ForwardOptimal" -c "$work/fo.json" &
fo=$!
pids+=($fo)
for _ in $(seq 1 100); do curl -sf "http://$admin/readyz" > /dev/null && break; sleep 0.1; done
curl -sf "http://$admin/readyz" > /dev/null || { echo "ForwardOptimal did not become ready" >&2; tail "$work/fo.log" >&2; exit 1; }
sleep 3   # the pool fills

fds() { ls "/proc/$fo/fd" | wc -l; }
threads() { awk '/^Threads/ {print $2}' "/proc/$fo/status"; }
rss() { awk "/^$1/ {print \$2}" "/proc/$fo/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$fo/stat"; }
metric() { curl -sf "http://$admin/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
fds_start=$(fds); threads_start=$(threads); rss_start=$(rss VmRSS); cpu_start=$(cpu_ticks)
fo_log "soak for ${seconds}s with $workers workers: fds $fds_start, threads $threads_start, RSS ${rss_start} KiB at the start"

"$T/fo_soak_client" 127.0.0.1:25500 "$seconds" "$workers" "$RANDOM" > "$work/client.out" &
client=$!
pids+=($client)

# The chaos: every 2-8 s one backend is killed (SIGKILL: no FIN for the sessions on it) and
# restarted 1-4 s later; every 10th time all three go down together for 3 s (the proxy pauses).
kills=0; outages=0; samples="$work/samples"
deadline=$(( $(date +%s) + seconds ))
exec 3>&2 2>>"$work/chaos.err"   # bash reports every killed backend ("Killed"): not on the terminal
while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$fo" 2>/dev/null; do
  sleep $(( 2 + RANDOM % 7 ))
  echo "$(date +%s) $(rss VmRSS) $(fds) $(threads)" >> "$samples"
  if [ $(( (kills + 1) % 10 )) -eq 0 ]; then
    for port in "${ports[@]}"; do kill -9 "${backend_pid[$port]}" 2>/dev/null || true; done
    outages=$((outages + 1)); kills=$((kills + 3))
    sleep 3
    for port in "${ports[@]}"; do wait "${backend_pid[$port]}" 2>/dev/null || true; start_backend "$port"; done
  else
    port=${ports[$((RANDOM % 3))]}
    kill -9 "${backend_pid[$port]}" 2>/dev/null || true
    kills=$((kills + 1))
    sleep $(( 1 + RANDOM % 4 ))
    wait "${backend_pid[$port]}" 2>/dev/null || true
    start_backend "$port"
  fi
done
for port in "${ports[@]}"; do kill -0 "${backend_pid[$port]}" 2>/dev/null || start_backend "$port"; done
exec 2>&3 3>&-

client_status=0
wait "$client" || client_status=$?
alive=yes; kill -0 "$fo" 2>/dev/null || alive=no
result=$(cat "$work/client.out")

# Quiet again: sessions end; then, with no client at all, the relay threads above the pool's
# minimum must go after their idle time (ProxyServer::THREAD_IDLE_SECONDS, 60 s; collected
# every 15 s), and RSS with them.
leak=no
if [ $alive = yes ]; then
  for _ in $(seq 1 300); do [ "$(metric forwardoptimal_connections_active)" = 0 ] && break; sleep 0.5; done
  for _ in $(seq 1 30); do [ "$(fds)" -le "$fds_start" ] && break; sleep 1; done
  fds_end=$(fds); threads_end=$(threads); rss_end=$(rss VmRSS); peak=$(rss VmHWM)
  cpu_s=$(echo "scale=1; ($(cpu_ticks) - $cpu_start) / $(getconf CLK_TCK)" | bc)
  # The pool may be mid-refill: allow its size (2) on top of the start.
  [ "$fds_end" -le $((fds_start + 2)) ] || leak=yes
  # Right after the run the pool still holds about its high-water mark: bounded by the sessions
  # that ran at once (one per worker, plus the ones whose upstream was killed and that are
  # waiting to be noticed), never growing.
  peak_threads=$(awk 'BEGIN {m = 0} $4 > m {m = $4} END {print m}' "$samples")
  [ "$threads_end" -le $((threads_start + 2 * workers + 4)) ] || leak=yes
  idle_started=$(date +%s)
  for _ in $(seq 1 120); do [ "$(threads)" -le $((threads_start + 2)) ] && break; sleep 1; done
  idle_s=$(( $(date +%s) - idle_started ))
  threads_idle=$(threads); rss_idle=$(rss VmRSS); fds_idle=$(fds)
  [ "$threads_idle" -le $((threads_start + 2)) ] || leak=yes
fi

echo
echo "## Soak: ${seconds} s, $workers client workers, $(date -u +%F)"
echo
echo "| | |"
echo "|---|---|"
echo "| client | $result |"
echo "| backend kills (SIGKILL) | $kills, of which $outages times all three at once |"
echo "| proxy alive at the end | $alive |"
if [ $alive = yes ]; then
  echo "| accepted / upstream failures / failovers | $(metric forwardoptimal_connections_accepted_total) / $(metric forwardoptimal_upstream_connect_failures_total) / $(metric forwardoptimal_failovers_total) |"
  echo "| refused, by reason | $(curl -sf "http://$admin/metrics" | awk -F'[" ]' '/^forwardoptimal_connections_refused_total\{/ {printf "%s%s %s", sep, $2, $NF; sep = ", "}') |"
  echo "| pool hits / misses / discarded | $(metric forwardoptimal_pool_hits_total) / $(metric forwardoptimal_pool_misses_total) / $(metric forwardoptimal_pool_discarded_total) |"
  # A kill closes every pooled connection at once; two kills about as far apart as the pooled
  # connections were old look like an idle timeout to the pool (harmless: it replaces them
  # sooner for 10 minutes). Counted here to see how often that happens.
  echo "| idle lifetimes learned by the pool (log lines) | $(grep -c '后关闭空闲连接' "$work/fo.log" || true) |"
  echo "| RSS start / end / peak (KiB) | $rss_start / $rss_end / $peak |"
  echo "| descriptors start / end | $fds_start / $fds_end |"
  echo "| threads start / end (peak sampled) | $threads_start / $threads_end ($peak_threads) |"
  echo "| after ${idle_s} s idle: threads / RSS (KiB) / descriptors | $threads_idle / $rss_idle / $fds_idle |"
  echo "| proxy CPU time | ${cpu_s} s |"
  echo "| samples (RSS KiB, fds, threads) min-max during the run | $(awk 'NR==1 {a=b=$2; c=d=$3; e=f=$4} {if($2<a)a=$2; if($2>b)b=$2; if($3<c)c=$3; if($3>d)d=$3; if($4<e)e=$4; if($4>f)f=$4} END {printf "%s-%s, %s-%s, %s-%s", a, b, c, d, e, f}' "$samples") |"
fi
echo "| leak | $leak |"

[ $client_status -eq 0 ] && [ $alive = yes ] && [ $leak = no ]
