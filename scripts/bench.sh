#!/usr/bin/env bash
# Side-by-side benchmark on loopback: a direct connection, HAProxy (TCP mode, and with
# splice-auto), nginx stream and ForwardOptimal (pool on and off), measured in the same run,
# contenders interleaved round by round so machine drift hits all alike; medians and ratios.
#   ./scripts/bench.sh [ROUNDS=3] [DURATION_S=4]
# Writes build-bench/bench/results.json and prints a markdown table. Every server here is the
# benchmark's own foreground process on 127.0.0.1 (never a system service), except for the
# delayed-path measurement, which runs in two network namespaces of its own joined by the TUN
# delay line (tests/support/netns_lab.sh; skipped, and said so, where namespaces cannot be made).
# DELAY_MS (default 10) is that path's one-way delay.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
DUR=${2:-4}
DELAY_MS=${DELAY_MS:-10}
SECTIONS=${SECTIONS:-"bulk conn mem ttfb"}   # a subset for a quick look, e.g. SECTIONS=ttfb
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
fo_install_packages "${FO_BUILD_PACKAGES[@]}" haproxy nginx-light libnginx-mod-stream iperf3 wrk jq bc iproute2
FO_BUILD_DIR="$FO_ROOT/build-bench" FO_BUILD_TYPE=Release fo_build -DFO_BUILD_TESTS=ON >&2
FO_BUILD_DIR="$FO_ROOT/build-bench"

OUT="$FO_BUILD_DIR/bench"
WORK=$(mktemp -d)
mkdir -p "$OUT"
PIDS=()
LAB="$FO_ROOT/tests/support/netns_lab.sh"
LAB_PREFIX=""
cleanup() {
  [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$LAB_PREFIX" ] || bash "$LAB" down "$LAB_PREFIX" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
BIN="$FO_BUILD_DIR/ForwardOptimal"
T="$FO_BUILD_DIR/tests"

# Starts a server in the background, logging to $WORK; its pid is in LAST_PID (no subshell, so
# the cleanup knows every process).
# NSEXEC (empty, or "ip netns exec NAME") runs them, and wait_port's check, in a namespace.
NSEXEC=()
start() { "${NSEXEC[@]}" "$@" > "$WORK/$(basename "$1").$RANDOM.log" 2>&1 & LAST_PID=$!; PIDS+=($LAST_PID); }
wait_port() {
  for _ in $(seq 1 100); do "${NSEXEC[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 never opened; the servers said:" >&2; tail -n 5 "$WORK"/*.log >&2; return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# ---- backends -------------------------------------------------------------------------------
IPERF=25201; HTTP=25080; ECHO=25300
start iperf3 -s -p $IPERF
cat > "$WORK/nginx-backend.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $WORK/nb.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/b1; proxy_temp_path $WORK/b2; fastcgi_temp_path $WORK/b3; uwsgi_temp_path $WORK/b4; scgi_temp_path $WORK/b5;
  server { listen 127.0.0.1:$HTTP backlog=4096; location / { return 200 "ok\n"; } } }
CONF
start nginx -p "$WORK" -c "$WORK/nginx-backend.conf" -e stderr
start "$T/fo_demo_backend" --listen 127.0.0.1:$ECHO --name echo --threads 8000
wait_port $IPERF; wait_port $HTTP; wait_port $ECHO

# ---- contenders in front of one backend -------------------------------------------------------
# start_contenders BACKEND_PORT BASE [BACKEND_HOST]: listeners BASE+1 haproxy, +2 haproxy
# splice, +3 nginx, +4 ForwardOptimal (pool), +5 ForwardOptimal (no pool). Sets CPIDS[name]=pid.
declare -A CPIDS
start_contenders() {
  local backend=$1 base=$2 host=${3:-127.0.0.1}
  cat > "$WORK/hap$base.cfg" <<CONF
global
  maxconn 7500
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend plain
  bind 127.0.0.1:$((base+1))
  default_backend be
frontend splice
  bind 127.0.0.1:$((base+2))
  option splice-auto
  default_backend be
backend be
  server s1 $host:$backend
CONF
  start haproxy -db -f "$WORK/hap$base.cfg"; CPIDS[haproxy]=$LAST_PID
  CPIDS[haproxy-splice]=${CPIDS[haproxy]}
  cat > "$WORK/ngx$base.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off; master_process off; worker_processes 1; pid $WORK/n$base.pid; error_log stderr error;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
stream { server { listen 127.0.0.1:$((base+3)) backlog=4096; proxy_pass $host:$backend; proxy_timeout 60s; } }
CONF
  start nginx -p "$WORK" -c "$WORK/ngx$base.conf" -e stderr; CPIDS[nginx]=$LAST_PID
  for variant in pool nopool; do
    local port=$((base+4)) size=2
    [ $variant = nopool ] && port=$((base+5)) && size=0
    # iperf3's server serves one control connection at a time: an idle pooled one stalls it.
    [ "$backend" = "$IPERF" ] && size=0
    # Thousands of held connections come from 127.0.0.1 alone: no per-source limit (HAProxy and
    # nginx have none here either).
    cat > "$WORK/fo$base$variant.json" <<CONF
{"bindAddr": "127.0.0.1:$port", "targets": ["$host:$backend"], "updateInterval": 30, "poolSize": $size,
 "maxConnections": 8000, "maxConnectionsPerSource": 0, "adminAddr": "", "logging": {"loggers": {"root": {"level": "warning"}}}}
CONF
    start "$BIN" -c "$WORK/fo$base$variant.json"; CPIDS[fo-$variant]=$LAST_PID
  done
  for p in 1 2 3 4 5; do wait_port $((base+p)); done
  sleep 0.5
}
stop_contenders() { kill "${CPIDS[@]}" 2>/dev/null || true; sleep 1; CPIDS=(); }
port_of() { case $1 in direct) echo $2;; haproxy) echo $(($3+1));; haproxy-splice) echo $(($3+2));; nginx) echo $(($3+3));; fo-pool) echo $(($3+4));; fo-nopool) echo $(($3+5));; esac; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; if (m >= 100) printf "%.0f\n", m; else printf "%.3g\n", m}}'; }
declare -A SAMPLES
record() { SAMPLES[$1|$2]+="$3 "; }

if want bulk; then
fo_log "bulk throughput (iperf3)"
# ---- 1. bulk throughput (iperf3; pool off: iperf3 serves one control connection at a time) ----
# ForwardOptimal's health probes are connections too: one landing during a test makes the
# iperf3 server drop that test ("unable to receive parameters"); such a run is retried.
start_contenders $IPERF 26000
for r in $(seq 1 "$ROUNDS"); do
  for c in direct haproxy haproxy-splice nginx fo-nopool; do
    for streams in 1 4; do
      # iperf3's server takes one test at a time and needs a moment between them; retry once.
      for attempt in 1 2; do
        sleep 1
        gbps=$(timeout $((DUR + 10)) iperf3 -c 127.0.0.1 -p "$(port_of $c $IPERF 26000)" -t "$DUR" -P $streams -J 2>/dev/null \
          | jq '(.end.sum_received.bits_per_second // 0) / 1e9' 2>/dev/null || echo 0)
        [ "$gbps" != 0 ] && break
      done
      record "bulk$streams" $c "$gbps"
    done
  done
done
stop_contenders
fi

if want conn; then
fo_log "connection rate and keep-alive latency (wrk)"
# ---- 2./3. new-connection rate and keep-alive latency (wrk to the nginx HTTP backend) --------
start_contenders $HTTP 27000
for r in $(seq 1 "$ROUNDS"); do
  for c in direct haproxy haproxy-splice nginx fo-pool fo-nopool; do
    port=$(port_of $c $HTTP 27000)
    out=$(wrk -t2 -c32 -d"${DUR}s" -H 'Connection: close' "http://127.0.0.1:$port/" 2>&1 || true)
    record connrate $c "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    errors=$(echo "$out" | awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10} /Non-2xx/ {print $NF}' | paste -sd+ | bc 2>/dev/null || echo 0)
    record connerr $c "${errors:-0}"
    out=$(wrk -t2 -c32 -d"${DUR}s" --latency "http://127.0.0.1:$port/" 2>&1 || true)
    record karate $c "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    to_ms() { awk '{v=$1; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}'; }
    record p50 $c "$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)"
    record p99 $c "$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)"
  done
done
stop_contenders
fi

if want mem; then
fo_log "concurrency and memory"
# ---- 4. concurrency and memory: N verified connections held through each proxy --------------
start_contenders $ECHO 28000
for n in 2000 7000; do
  for c in haproxy nginx fo-pool; do
    pid=${CPIDS[$c]}
    before=$(rss_kib "$pid"); mem_before=$(awk '/^TCP:/ {print $NF}' /proc/net/sockstat)
    exec {hold}< <(sleep 3600)
    "$T/fo_hold_client" "127.0.0.1:$(port_of $c $ECHO 28000)" $n 60 > "$WORK/hold.out" 2>"$WORK/hold.err" <&$hold &
    hpid=$!
    for _ in $(seq 1 600); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    ok=$(awk '{print $2}' "$WORK/hold.out"); after=$(rss_kib "$pid"); mem_after=$(awk '/^TCP:/ {print $NF}' /proc/net/sockstat)
    record "held$n" $c "${ok:-0}"
    record "kib_per_conn$n" $c "$(echo "scale=2; ($after - $before) / $n" | bc)"
    record "sock_kib_per_conn$n" $c "$(echo "scale=2; ($mem_after - $mem_before) * 4 / $n" | bc)"
    kill $hpid 2>/dev/null || true; exec {hold}<&-; wait $hpid 2>/dev/null || true
    sleep 2
  done
done
stop_contenders
fi

if want ttfb; then
fo_log "time to first byte through a delayed path (${DELAY_MS} ms one way)"
# ---- 5. time to first byte through a delayed path -------------------------------------------
# The target (in its own namespace, behind the delay line) sends a banner on accept, as SSH
# does; fo_ttfb, in the proxies' namespace, times connect() start -> first byte. 100 ms between
# connections, as clients arrive in practice (the pool refills within one round trip).
if why=$(bash "$LAB" check 2>&1); then
  LAB_PREFIX="fob$$"
  echo "198.19.0.1 $DELAY_MS" > "$WORK/delays"
  bash "$LAB" up "$LAB_PREFIX" 1 "$T/fo_delay_line" "$WORK/delays"
  NSEXEC=(ip netns exec "$LAB_PREFIX-t")
  start "$T/fo_demo_backend" --listen 198.19.0.1:7000 --name target
  NSEXEC=(ip netns exec "$LAB_PREFIX-p")
  start_contenders 7000 29000 198.19.0.1
  sleep 1.5   # ForwardOptimal's first round and pool fill cross the delay line
  for r in $(seq 1 "$ROUNDS"); do
    for c in direct haproxy nginx fo-pool fo-nopool; do
      addr="127.0.0.1:$(port_of $c 7000 29000)"
      [ $c = direct ] && addr=198.19.0.1:7000
      out=$("${NSEXEC[@]}" "$T/fo_ttfb" "$addr" 40 100 || true)
      record ttfb_median $c "$(echo "$out" | sed -n 's/.*median=\([0-9.]*\).*/\1/p')"
      record ttfb_p90 $c "$(echo "$out" | sed -n 's/.*p90=\([0-9.]*\).*/\1/p')"
    done
  done
  stop_contenders
  NSEXEC=()
else
  fo_log "skipped: network namespaces cannot be made here ($why)"
fi
fi

# ---- report --------------------------------------------------------------------------------
declare -A LABEL=(
  [bulk1]="bulk, 1 stream (Gbit/s, iperf3)" [bulk4]="bulk, 4 streams (Gbit/s, iperf3)"
  [connrate]="new connections (req/s, wrk -c32, Connection: close)" [connerr]="errors in that run"
  [karate]="keep-alive requests (req/s, wrk -c32)" [p50]="keep-alive p50 (ms)" [p99]="keep-alive p99 (ms)"
  [held2000]="2,000 connections held, verified" [kib_per_conn2000]="RSS per held connection at 2,000 (KiB)"
  [sock_kib_per_conn2000]="kernel TCP memory per connection at 2,000 (KiB)"
  [held7000]="7,000 connections held, verified" [kib_per_conn7000]="RSS per held connection at 7,000 (KiB)"
  [sock_kib_per_conn7000]="kernel TCP memory per connection at 7,000 (KiB)"
  [ttfb_median]="TTFB through ${DELAY_MS} ms one way, median (ms)" [ttfb_p90]="TTFB through ${DELAY_MS} ms one way, p90 (ms)")
metrics="bulk1 bulk4 connrate connerr karate p50 p99 held2000 kib_per_conn2000 sock_kib_per_conn2000 held7000 kib_per_conn7000 sock_kib_per_conn7000 ttfb_median ttfb_p90"
contenders="direct haproxy haproxy-splice nginx fo-pool fo-nopool"
declare -A MED
json="{\"date\": \"$(date -u +%FT%TZ)\", \"rounds\": $ROUNDS, \"duration_s\": $DUR, \"delay_ms\": $DELAY_MS, \"results\": {"
first=1
printf '| metric | direct | haproxy | haproxy-splice | nginx | fo-pool | fo-nopool |\n|---|---|---|---|---|---|---|\n'
for m in $metrics; do
  row="| ${LABEL[$m]}"; any=""
  for c in $contenders; do
    v=$(echo "${SAMPLES[$m|$c]:-}" | tr ' ' '\n' | { grep -v '^$' || true; } | median)
    [ -z "${SAMPLES[$m|$c]:-}" ] && v="-"
    MED[$m|$c]=$v
    [ "$v" = "-" ] || any=1
    row="$row | $v"
    [ "$v" = "-" ] || { [ $first = 1 ] || json+=", "; json+="\"$m/$c\": \"$v\""; first=0; }
  done
  [ -n "$any" ] && echo "$row |"   # rows of a section that did not run are left out
done
json+="}}"
echo "$json" | jq . > "$OUT/results.json"

# Ratios against the targets of issue 6: ForwardOptimal / the better HAProxy configuration.
best() { # best METRIC max|min CONTENDER...
  local m=$1 how=$2; shift 2
  for c in "$@"; do echo "${MED[$m|$c]:--}"; done | { grep -v '^-$' || true; } | sort -g | { [ "$how" = max ] && tail -n 1 || head -n 1; }
}
ratio() { # ratio LABEL NUMERATOR DENOMINATOR TARGET_OP TARGET
  if [ -z "$2" ] || [ -z "$3" ] || [ "$2" = - ] || [ "$3" = - ]; then echo "| $1 | - | not measured |"; return; fi
  local r; r=$(echo "scale=3; $2 / $3" | bc)
  local met=no; [ "$(echo "$r $4 $5" | bc)" = 1 ] && met=yes
  echo "| $1 | $2 / $3 = $(printf '%.2f' "$r") | $met |"
}
echo
echo "| target (ForwardOptimal / the better HAProxy) | ratio | met? |"
echo "|---|---|---|"
ratio "bulk 1 stream >= 1.0 (pool off)" "${MED[bulk1|fo-nopool]:-}" "$(best bulk1 max haproxy haproxy-splice)" '>=' 1
ratio "bulk 4 streams >= 1.0 (pool off)" "${MED[bulk4|fo-nopool]:-}" "$(best bulk4 max haproxy haproxy-splice)" '>=' 1
ratio "new-connection rate >= 1.0 (default: pool on)" "${MED[connrate|fo-pool]:-}" "$(best connrate max haproxy haproxy-splice)" '>=' 1
ratio "new-connection rate >= 1.0 (pool off)" "${MED[connrate|fo-nopool]:-}" "$(best connrate max haproxy haproxy-splice)" '>=' 1
ratio "keep-alive p99 <= 1.0" "${MED[p99|fo-pool]:-}" "$(best p99 min haproxy haproxy-splice)" '<=' 1
ratio "RSS per idle connection at 2,000 <= nginx-stream" "${MED[kib_per_conn2000|fo-pool]:-}" "${MED[kib_per_conn2000|nginx]:-}" '<=' 1
ratio "7,000 connections held (of 7,000)" "${MED[held7000|fo-pool]:-}" 7000 '>=' 1
ratio "pooled TTFB <= 0.6x direct" "${MED[ttfb_median|fo-pool]:-}" "${MED[ttfb_median|direct]:-}" '<=' 0.6
echo
echo "JSON: $OUT/results.json"
