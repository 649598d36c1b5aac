#!/usr/bin/env bash
# Bulk through HAProxy with splice, ForwardOptimal and bare_relay with splice, and where the
# machine's CPU goes while it runs (issue 17): per GB received, the proxy's CPU, iperf3's client
# and server CPU, the time both CPUs were idle (everyone waiting for someone else), and how often
# the iperf3 server (one thread) went to sleep waiting for data, per MB. iperf3
# through each, ROUNDS interleaved rounds of SECONDS with STREAMS streams; prints each run, then
# the medians. Loopback only; every server is this script's own foreground child.
#   ./scripts/measure-bulk-cpu.sh [ROUNDS=5] [STREAMS=4] [SECONDS=4]
# FO_BINARY: the binary (default build-bench/ForwardOptimal, then build/ForwardOptimal);
# CONTENDERS (default "haproxy-splice fo bare-splice"). Needs iperf3, haproxy, jq, cc.
set -euo pipefail
rounds=${1:-5}
streams=${2:-4}
secs=${3:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FO_BINARY:-$root/build-bench/ForwardOptimal}
[ -x "$bin" ] || bin=$root/build/ForwardOptimal
work=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }   # utime + stime
idle() { awk '$1 == "cpu" {print $5 + $6}' /proc/stat; }                 # idle + iowait, all CPUs
sleeps() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; } # of its main thread
hz=$(getconf CLK_TCK)
cc -O2 -pthread -o "$work/bare_relay" "$root/bench/bare_relay.c"

server=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$server" >/dev/null 2>&1 &
server_pid=$!
pids+=($server_pid)
declare -A pid port
for c in ${CONTENDERS:-haproxy-splice fo bare-splice}; do
  port[$c]=$(free_port)
  case $c in
    haproxy-splice)
      printf '%s\n' "global" "  maxconn 1000" "defaults" "  mode tcp" "  timeout connect 5s" \
        "  timeout client 60s" "  timeout server 60s" "frontend f" "  bind 127.0.0.1:${port[$c]}" \
        "  option splice-request" "  option splice-response" "  default_backend b" "backend b" \
        "  server s 127.0.0.1:$server" > "$work/haproxy.cfg"
      haproxy -db -f "$work/haproxy.cfg" >"$work/$c.log" 2>&1 & ;;
    fo)
      printf '{"bindAddr": "127.0.0.1:%s", "targets": ["127.0.0.1:%s"], "updateInterval": 30, "poolSize": 0, "adminAddr": ""}\n' \
        "${port[$c]}" "$server" > "$work/fo.json"
      "$bin" -c "$work/fo.json" >"$work/$c.log" 2>&1 & ;;
    bare-splice)
      "$work/bare_relay" "${port[$c]}" "127.0.0.1:$server" 32768 splice >"$work/$c.log" 2>&1 & ;;
    *) echo "unknown contender $c" >&2; exit 64 ;;
  esac
  pid[$c]=$!
  pids+=($!)
done
sleep 2

declare -A samples
header() { printf '%-15s %7s %9s %9s %9s %9s %11s\n' contender Gbit/s proxy/GB client/GB server/GB idle/GB 'server z/MB'; }
header
for r in $(seq 1 "$rounds"); do
  for c in ${CONTENDERS:-haproxy-splice fo bare-splice}; do
    sleep 1
    p0=$(ticks "${pid[$c]}"); s0=$(ticks $server_pid); i0=$(idle); z0=$(sleeps $server_pid)
    /usr/bin/time -f '%U %S' -o "$work/client.time" \
      iperf3 -c 127.0.0.1 -p "${port[$c]}" -t "$secs" -P "$streams" -J > "$work/client.json" 2>/dev/null || true
    p1=$(ticks "${pid[$c]}"); s1=$(ticks $server_pid); i1=$(idle); z1=$(sleeps $server_pid)
    read -r gbps bytes < <(jq -r '"\((.end.sum_received.bits_per_second // 0) / 1e9) \(.end.sum_received.bytes // 0)"' "$work/client.json")
    read -r cu cs < "$work/client.time"
    [ "$bytes" != 0 ] || { echo "$c: iperf3 moved nothing in round $r" >&2; continue; }
    line=$(awk -v g="$gbps" -v b="$bytes" -v p=$((p1 - p0)) -v s=$((s1 - s0)) -v i=$((i1 - i0)) \
      -v z=$((z1 - z0)) -v cu="$cu" -v cs="$cs" -v hz="$hz" 'BEGIN { gb = b / 1e9;
        printf "%.2f %.0f %.0f %.0f %.0f %.2f", g, p * 1000 / hz / gb, (cu + cs) * 1000 / gb, s * 1000 / hz / gb, i * 1000 / hz / gb, z / (b / 1e6) }')
    printf '%-15s %7s %9s %9s %9s %9s %11s\n' "$c" $line
    samples[$c]+="$line"$'\n'
  done
done
echo
echo "medians over $rounds rounds, $streams stream(s):"
header
for c in ${CONTENDERS:-haproxy-splice fo bare-splice}; do
  row=""
  for col in 1 2 3 4 5 6; do
    row+=" $(printf '%s' "${samples[$c]:-}" | awk -v k=$col 'NF {print $k}' | sort -g \
      | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')"
  done
  printf '%-15s %7s %9s %9s %9s %9s %11s\n' "$c" $row
done
