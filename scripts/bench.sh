#!/usr/bin/env bash
# Side-by-side benchmark on loopback: a direct connection, HAProxy (TCP mode, and with splice
# always on), nginx stream, ForwardOptimal (pool on and off; in bulk also with splice off) and
# bare_relay (bench/bare_relay.c: the floor of the thread-per-connection design; in bulk also with
# splice, bare-splice: that design's floor for zero-copy), measured in the
# same run, contenders interleaved round by round so machine drift hits all alike; medians and
# ratios. Each measured run also reads the contender's CPU time (utime+stime, /proc/PID/stat).
#   ./scripts/bench.sh [ROUNDS=3] [DURATION_S=4]
# Sections (SECTIONS, default all): bulk (iperf3), conn (wrk: new connections, keep-alive), mem
# (connections held), latency (bench/openloop.c: LAT_RATE requests/s, default 2000, over
# LAT_CONNS connections, default 32, on a fixed schedule), ttfb (delayed path).
# Writes build-bench/bench/results.json and prints markdown tables. Every server here is the
# benchmark's own foreground process on 127.0.0.1 (never a system service), except for the
# delayed-path measurement, which runs in two network namespaces of its own joined by the TUN
# delay line (tests/support/netns_lab.sh; skipped, and said so, where namespaces cannot be made).
# DELAY_MS (default 10) is that path's one-way delay.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
DUR=${2:-4}
DELAY_MS=${DELAY_MS:-10}
SECTIONS=${SECTIONS:-"bulk conn mem latency ttfb"}   # a subset for a quick look, e.g. SECTIONS=ttfb
LAT_RATE=${LAT_RATE:-2000}
LAT_CONNS=${LAT_CONNS:-32}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
fo_install_packages "${FO_BUILD_PACKAGES[@]}" haproxy nginx-light libnginx-mod-stream iperf3 wrk jq bc iproute2
FO_BUILD_DIR="$FO_ROOT/build-bench" FO_BUILD_TYPE=Release fo_build -DFO_BUILD_TESTS=ON >&2
FO_BUILD_DIR="$FO_ROOT/build-bench"
# The benchmark's own tools (not part of the product).
TOOLS="$FO_BUILD_DIR/bench-tools"
mkdir -p "$TOOLS"
cc -O2 -Wall -Wextra -Wshadow -Wconversion -pthread -o "$TOOLS/bare_relay" "$FO_ROOT/bench/bare_relay.c"
cc -O2 -Wall -Wextra -Wshadow -Wconversion -o "$TOOLS/openloop" "$FO_ROOT/bench/openloop.c"
c++ -O2 -std=c++17 -Wall -Wextra -Wshadow -o "$TOOLS/poco_relay" "$FO_ROOT/bench/poco_relay.cpp" -lPocoNet -lPocoFoundation -pthread

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

# fo-copy (bulk only): ForwardOptimal with "splice": "off", where the binary knows the key
# (--check prints every key it knows with its effective value; an unknown one is only a warning).
FO_COPY=""
printf '{"bindAddr": "127.0.0.1:1", "targets": ["127.0.0.1:2"], "updateInterval": 30, "splice": "off"}\n' > "$WORK/splice-check.json"
check=$("$BIN" --check -c "$WORK/splice-check.json" 2>/dev/null || true)
if [[ "$check" == *'"splice": "off"'* ]]; then
  FO_COPY=1
else
  fo_log "fo-copy left out: this ForwardOptimal has no \"splice\" setting"
fi

# CPU time (utime+stime, clock ticks) of a process so far: /proc/PID/stat fields 14 and 15,
# counted after the ")" that ends the command name (which may hold spaces).
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || echo -; } | awk '$1 == "-" {print "-"; next} {print $12 + $13}'; }
# cpu_of CONTENDER: its process's ticks, or "-" for direct (no proxy process).
cpu_of() { if [ "$1" = direct ]; then echo -; else cpu_ticks "${CPIDS[$1]}"; fi; }
# per_unit BEFORE AFTER SCALE COUNT: (AFTER - BEFORE) ticks in SCALE units (1e6: us, 1e3: ms)
# per COUNT; nothing (a failed sample: "nan" if every round failed) when there is no process or
# nothing was counted.
per_unit() {
  if [ "$1" = - ] || [ "$2" = - ] || [ -z "$4" ] || [ "$(echo "$4 <= 0" | bc)" = 1 ]; then return; fi
  echo "scale=3; ($2 - $1) * $3 / $CLK_TCK / $4" | bc
}

# Starts a server in the background, logging to $WORK; its pid is in LAST_PID (no subshell, so
# the cleanup knows every process).
# NSEXEC (empty, or "ip netns exec NAME") runs them, and wait_port's check, in a namespace.
NSEXEC=()
start() { "${NSEXEC[@]}" "$@" > "$WORK/$(basename "$1").$RANDOM.log" 2>&1 & LAST_PID=$!; PIDS+=($LAST_PID); }
wait_port() {
  for _ in $(seq 1 100); do "${NSEXEC[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 never opened; the servers said:" >&2; tail -n 5 "$WORK"/*.log >&2; return 1
}
# Idle CPU time of the whole machine so far (idle + iowait, clock ticks summed over CPUs).
idle_ticks() { awk '$1 == "cpu" {print $5 + $6}' /proc/stat; }
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
# start_contenders BACKEND_PORT BASE [BACKEND_HOST] [copy]: listeners BASE+1 haproxy, +2 haproxy
# splice, +3 nginx, +4 ForwardOptimal (pool), +5 ForwardOptimal (no pool), +6 bare_relay, +8
# poco_relay (bench/poco_relay.cpp: the same relay inside POCO's TCPServer, the fixed shape's
# floor), and with "copy" (where the binary has the setting) +7 ForwardOptimal (no pool, splice off)
# and +9 bare_relay with splice (bulk only).
# Sets CPIDS[name]=pid.
declare -A CPIDS
start_contenders() {
  local backend=$1 base=$2 host=${3:-127.0.0.1} copy=${4:-}
  local variants="pool nopool" ports="1 2 3 4 5 6 8"
  [ -n "$copy" ] && [ -n "$FO_COPY" ] && variants+=" copy" && ports+=" 7"
  [ -n "$copy" ] && ports+=" 9"
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
  option splice-request
  option splice-response
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
  for variant in $variants; do
    local port=$((base+4)) size=2 extra=""
    [ $variant = nopool ] && port=$((base+5)) && size=0
    [ $variant = copy ] && port=$((base+7)) && size=0 && extra=', "splice": "off"'
    # iperf3's server serves one control connection at a time: an idle pooled one stalls it.
    [ "$backend" = "$IPERF" ] && size=0
    # Thousands of held connections come from 127.0.0.1 alone: no per-source limit (HAProxy and
    # nginx have none here either).
    cat > "$WORK/fo$base$variant.json" <<CONF
{"bindAddr": "127.0.0.1:$port", "targets": ["$host:$backend"], "updateInterval": 30, "poolSize": $size,
 "maxConnections": 8000, "maxConnectionsPerSource": 0, "adminAddr": ""$extra, "logging": {"loggers": {"root": {"level": "warning"}}}}
CONF
    start "$BIN" -c "$WORK/fo$base$variant.json"; CPIDS[fo-$variant]=$LAST_PID
  done
  start "$TOOLS/bare_relay" $((base+6)) "$host:$backend"; CPIDS[bare]=$LAST_PID
  start "$TOOLS/poco_relay" $((base+8)) "$host:$backend"; CPIDS[poco]=$LAST_PID
  if [ -n "$copy" ]; then start "$TOOLS/bare_relay" $((base+9)) "$host:$backend" 32768 splice; CPIDS[bare-splice]=$LAST_PID; fi
  for p in $ports; do wait_port $((base+p)); done
  sleep 0.5
}
stop_contenders() { kill "${CPIDS[@]}" 2>/dev/null || true; sleep 1; CPIDS=(); }
port_of() { case $1 in direct) echo $2;; haproxy) echo $(($3+1));; haproxy-splice) echo $(($3+2));; nginx) echo $(($3+3));; fo-pool) echo $(($3+4));; fo-nopool) echo $(($3+5));; bare) echo $(($3+6));; fo-copy) echo $(($3+7));; poco) echo $(($3+8));; bare-splice) echo $(($3+9));; esac; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; if (m >= 100) printf "%.0f\n", m; else printf "%.3g\n", m}}'; }
declare -A SAMPLES
record() { SAMPLES[$1|$2]+="$3 "; }

if want bulk; then
fo_log "bulk throughput (iperf3)"
# ---- 1. bulk throughput (iperf3; pool off: iperf3 serves one control connection at a time) ----
# ForwardOptimal's health probes are connections too: one landing during a test makes the
# iperf3 server drop that test ("unable to receive parameters"); such a run is retried.
start_contenders $IPERF 26000 127.0.0.1 copy
bulk_contenders="direct haproxy haproxy-splice nginx fo-nopool bare"
[ -n "$FO_COPY" ] && bulk_contenders+=" fo-copy"
bulk_contenders+=" bare-splice"
for r in $(seq 1 "$ROUNDS"); do
  for c in $bulk_contenders; do
    for streams in 1 4; do
      # iperf3's server takes one test at a time and needs a moment between them; retry once.
      for attempt in 1 2; do
        sleep 1
        cpu0=$(cpu_of $c); idle0=$(idle_ticks)
        read -r gbps bytes < <(timeout $((DUR + 10)) iperf3 -c 127.0.0.1 -p "$(port_of $c $IPERF 26000)" -t "$DUR" -P $streams -J 2>/dev/null \
          | jq -r '"\((.end.sum_received.bits_per_second // 0) / 1e9) \(.end.sum_received.bytes // 0)"' 2>/dev/null || echo "0 0") || true
        cpu1=$(cpu_of $c); idle1=$(idle_ticks)
        [ "${gbps:-0}" != 0 ] && break
      done
      record "bulk$streams" $c "${gbps:-0}"
      # CPU ms per GB (10^9 bytes received by the iperf3 server).
      [ $c = direct ] || record "cpu_gb$streams" $c "$(per_unit "$cpu0" "$cpu1" 1000 "$(echo "scale=6; ${bytes:-0} / 1000000000" | bc)")"
      # Machine-wide idle CPU ms per GB: time no process could run (everyone waiting on another).
      record "idle_gb$streams" $c "$(per_unit "$idle0" "$idle1" 1000 "$(echo "scale=6; ${bytes:-0} / 1000000000" | bc)")"
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
  for c in direct haproxy haproxy-splice nginx fo-pool fo-nopool bare poco; do
    port=$(port_of $c $HTTP 27000)
    cpu0=$(cpu_of $c)
    out=$(wrk -t2 -c32 -d"${DUR}s" -H 'Connection: close' "http://127.0.0.1:$port/" 2>&1 || true)
    cpu1=$(cpu_of $c)
    record connrate $c "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    errors=$(echo "$out" | awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10} /Non-2xx/ {print $NF}' | paste -sd+ | bc 2>/dev/null || echo 0)
    record connerr $c "${errors:-0}"
    # CPU us per new connection: every request of this run is a connection of its own.
    [ $c = direct ] || record cpu_conn $c "$(per_unit "$cpu0" "$cpu1" 1000000 "$(echo "$out" | awk '/requests in/ {print $1}')")"
    cpu0=$(cpu_of $c)
    out=$(wrk -t2 -c32 -d"${DUR}s" --latency "http://127.0.0.1:$port/" 2>&1 || true)
    cpu1=$(cpu_of $c)
    record karate $c "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    [ $c = direct ] || record cpu_ka $c "$(per_unit "$cpu0" "$cpu1" 1000000 "$(echo "$out" | awk '/requests in/ {print $1}')")"
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
# Contenders start afresh for each count: threads, stacks and heap a process kept from the
# 2,000 run would otherwise be counted against the 7,000 one.
for n in 2000 7000; do
  start_contenders $ECHO 28000
  for c in haproxy nginx fo-pool bare poco; do
    pid=${CPIDS[$c]}
    before=$(rss_kib "$pid"); mem_before=$(awk '/^TCP:/ {print $NF}' /proc/net/sockstat)
    exec {hold}< <(exec sleep 3600)
    sleeper=$!   # the substitution's sleep: killed below (the cleanup's wait would wait for it)
    "$T/fo_hold_client" "127.0.0.1:$(port_of $c $ECHO 28000)" $n 60 > "$WORK/hold.out" 2>"$WORK/hold.err" <&$hold &
    hpid=$!
    for _ in $(seq 1 600); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    ok=$(awk '{print $2}' "$WORK/hold.out"); after=$(rss_kib "$pid"); mem_after=$(awk '/^TCP:/ {print $NF}' /proc/net/sockstat)
    record "held$n" $c "${ok:-0}"
    record "kib_per_conn$n" $c "$(echo "scale=2; ($after - $before) / $n" | bc)"
    record "sock_kib_per_conn$n" $c "$(echo "scale=2; ($mem_after - $mem_before) * 4 / $n" | bc)"
    kill $hpid 2>/dev/null || true; exec {hold}<&-; wait $hpid 2>/dev/null || true
    kill $sleeper 2>/dev/null || true
    sleep 2
  done
  stop_contenders
done
fi

if want latency; then
fo_log "latency at a fixed rate ($LAT_RATE requests/s over $LAT_CONNS connections, open loop)"
# ---- latency at a fixed moderate load: bench/openloop.c, requests on a schedule, latency from
# each request's scheduled time (a stall cannot hide), to the nginx HTTP backend --------------
start_contenders $HTTP 30000
for r in $(seq 1 "$ROUNDS"); do
  for c in direct haproxy nginx fo-pool fo-nopool bare poco; do
    cpu0=$(cpu_of $c)
    out=$("$TOOLS/openloop" "127.0.0.1:$(port_of $c $HTTP 30000)" "$LAT_RATE" "$LAT_CONNS" "$DUR" 2>&1 || true)
    cpu1=$(cpu_of $c)
    field() { echo "$out" | sed -n "s/.*\b$1=\([0-9.e+-]*\).*/\1/p"; }
    record lat_p50 $c "$(field p50)"; record lat_p99 $c "$(field p99)"
    record lat_p999 $c "$(field p999)"; record lat_max $c "$(field max)"
    record lat_err $c "$(field errors)"
    # CPU us per request at this rate (total: the warm-up's requests too, as the CPU time).
    [ $c = direct ] || record cpu_lat $c "$(per_unit "$cpu0" "$cpu1" 1000000 "$(field total)")"
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
  [cpu_gb1]="CPU per GB, 1 stream (ms)" [cpu_gb4]="CPU per GB, 4 streams (ms)"
  [idle_gb1]="machine idle CPU per GB, 1 stream (ms)" [idle_gb4]="machine idle CPU per GB, 4 streams (ms)"
  [connrate]="new connections (req/s, wrk -c32, Connection: close)" [connerr]="errors in that run"
  [cpu_conn]="CPU per new connection (us)"
  [karate]="keep-alive requests (req/s, wrk -c32)" [cpu_ka]="CPU per keep-alive request (us)"
  [p50]="keep-alive p50 (ms)" [p99]="keep-alive p99 (ms)"
  [held2000]="2,000 connections held, verified" [kib_per_conn2000]="RSS per held connection at 2,000 (KiB)"
  [sock_kib_per_conn2000]="kernel TCP memory per connection at 2,000 (KiB)"
  [held7000]="7,000 connections held, verified" [kib_per_conn7000]="RSS per held connection at 7,000 (KiB)"
  [sock_kib_per_conn7000]="kernel TCP memory per connection at 7,000 (KiB)"
  [lat_p50]="fixed ${LAT_RATE}/s over ${LAT_CONNS} conns: p50 (ms), median (min-max)"
  [lat_p99]="fixed ${LAT_RATE}/s over ${LAT_CONNS} conns: p99 (ms), median (min-max)"
  [lat_p999]="fixed ${LAT_RATE}/s over ${LAT_CONNS} conns: p99.9 (ms)" [lat_max]="fixed ${LAT_RATE}/s over ${LAT_CONNS} conns: max (ms)"
  [lat_err]="errors in those runs" [cpu_lat]="CPU per request at ${LAT_RATE}/s (us)"
  [ttfb_median]="TTFB through ${DELAY_MS} ms one way, median (ms)" [ttfb_p90]="TTFB through ${DELAY_MS} ms one way, p90 (ms)")
metrics="bulk1 bulk4 cpu_gb1 cpu_gb4 idle_gb1 idle_gb4 connrate connerr cpu_conn karate cpu_ka p50 p99 held2000 kib_per_conn2000 sock_kib_per_conn2000 held7000 kib_per_conn7000 sock_kib_per_conn7000 lat_p50 lat_p99 lat_p999 lat_max lat_err cpu_lat ttfb_median ttfb_p90"
spread_metrics=" lat_p50 lat_p99 "   # shown as median (min-max over rounds)
contenders="direct haproxy haproxy-splice nginx fo-pool fo-nopool"
[ -n "$FO_COPY" ] && want bulk && contenders+=" fo-copy"
contenders+=" bare poco"
want bulk && contenders+=" bare-splice"
samples_of() { echo "${SAMPLES[$1|$2]:-}" | tr ' ' '\n' | { grep -v '^$' || true; }; }
numeric() { grep -E '^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$' || true; }
fmt3() { awk '{if ($1 >= 100) printf "%.0f\n", $1; else printf "%.3g\n", $1}'; }
declare -A MED
json="{\"date\": \"$(date -u +%FT%TZ)\", \"rounds\": $ROUNDS, \"duration_s\": $DUR, \"delay_ms\": $DELAY_MS, \"latency_rate\": $LAT_RATE, \"latency_connections\": $LAT_CONNS, \"results\": {"
jsamples=""; jspread=""
first=1
header="| metric"; rule="|---"
for c in $contenders; do header+=" | $c"; rule+="|---"; done
printf '%s |\n%s|\n' "$header" "$rule"
for m in $metrics; do
  row="| ${LABEL[$m]}"; any=""
  for c in $contenders; do
    v=$(samples_of "$m" "$c" | median)
    [ -z "${SAMPLES[$m|$c]:-}" ] && v="-"
    MED[$m|$c]=$v
    cell=$v
    if [ "$v" != - ]; then
      any=1
      lo=$(samples_of "$m" "$c" | numeric | sort -g | head -n 1 | fmt3)
      hi=$(samples_of "$m" "$c" | numeric | sort -g | tail -n 1 | fmt3)
      [[ "$spread_metrics" == *" $m "* ]] && [ -n "$lo" ] && cell="$v ($lo-$hi)"
      [ $first = 1 ] || { json+=", "; jsamples+=", "; jspread+=", "; }
      json+="\"$m/$c\": \"$v\""
      jsamples+="\"$m/$c\": [$(samples_of "$m" "$c" | numeric | awk '{printf "%s%.6g", (NR>1 ? ", " : ""), $1}')]"
      jspread+="\"$m/$c\": {\"min\": \"${lo:-nan}\", \"max\": \"${hi:-nan}\"}"
      first=0
    fi
    row="$row | $cell"
  done
  [ -n "$any" ] && echo "$row |"   # rows of a section that did not run are left out
done
json+="}, \"spread\": {$jspread}, \"samples\": {$jsamples}}"
echo "$json" | jq . > "$OUT/results.json"

best() { # best METRIC max|min CONTENDER...
  local m=$1 how=$2; shift 2
  for c in "$@"; do echo "${MED[$m|$c]:--}"; done | numeric | sort -g | { [ "$how" = max ] && tail -n 1 || head -n 1; }
}
ratio() { # ratio LABEL NUMERATOR DENOMINATOR TARGET_OP TARGET
  if [ -z "$(echo "$2" | numeric)" ] || [ -z "$(echo "$3" | numeric)" ] || [ "$(echo "$3 == 0" | bc)" = 1 ]; then
    echo "| $1 | - | not measured |"; return
  fi
  local r; r=$(echo "scale=3; $2 / $3" | bc)
  local met=no; [ "$(echo "$r $4 $5" | bc)" = 1 ] && met=yes
  echo "| $1 | $2 / $3 = $(printf '%.2f' "$r") | $met |"
}
echo
echo "| issue 17 goals | ratio | met? |"
echo "|---|---|---|"
ratio "CPU per new connection, fo-nopool / bare <= 1.1" "${MED[cpu_conn|fo-nopool]:-}" "${MED[cpu_conn|bare]:-}" '<=' 1.1
ratio "CPU per new connection, fo-pool / bare <= 1.1" "${MED[cpu_conn|fo-pool]:-}" "${MED[cpu_conn|bare]:-}" '<=' 1.1
ratio "new-connection rate, fo-nopool / bare >= 0.95" "${MED[connrate|fo-nopool]:-}" "${MED[connrate|bare]:-}" '>=' 0.95
ratio "new-connection rate, fo-pool / bare >= 0.95" "${MED[connrate|fo-pool]:-}" "${MED[connrate|bare]:-}" '>=' 0.95
ratio "CPU per new connection, fo-nopool / poco (the shape's floor)" "${MED[cpu_conn|fo-nopool]:-}" "${MED[cpu_conn|poco]:-}" '<=' 1.1
ratio "CPU per new connection, poco / bare (what POCO's TCPServer adds)" "${MED[cpu_conn|poco]:-}" "${MED[cpu_conn|bare]:-}" '<=' 1.1
ratio "new-connection rate, fo-nopool / poco >= 0.95" "${MED[connrate|fo-nopool]:-}" "${MED[connrate|poco]:-}" '>=' 0.95
ratio "CPU per keep-alive request, fo-pool / bare <= 1.1" "${MED[cpu_ka|fo-pool]:-}" "${MED[cpu_ka|bare]:-}" '<=' 1.1
ratio "bulk 1 stream, fo-nopool / haproxy-splice >= 1.0" "${MED[bulk1|fo-nopool]:-}" "${MED[bulk1|haproxy-splice]:-}" '>=' 1
ratio "bulk 4 streams, fo-nopool / haproxy-splice >= 1.0" "${MED[bulk4|fo-nopool]:-}" "${MED[bulk4|haproxy-splice]:-}" '>=' 1
ratio "CPU per GB 1 stream, fo-nopool / haproxy-splice <= 1.0" "${MED[cpu_gb1|fo-nopool]:-}" "${MED[cpu_gb1|haproxy-splice]:-}" '<=' 1
ratio "CPU per GB 4 streams, fo-nopool / haproxy-splice <= 1.0" "${MED[cpu_gb4|fo-nopool]:-}" "${MED[cpu_gb4|haproxy-splice]:-}" '<=' 1
ratio "bulk 1 stream, bare-splice / haproxy-splice (the design's zero-copy floor)" "${MED[bulk1|bare-splice]:-}" "${MED[bulk1|haproxy-splice]:-}" '>=' 1
ratio "bulk 4 streams, bare-splice / haproxy-splice (the design's zero-copy floor)" "${MED[bulk4|bare-splice]:-}" "${MED[bulk4|haproxy-splice]:-}" '>=' 1
ratio "bulk 4 streams, fo-nopool / bare-splice" "${MED[bulk4|fo-nopool]:-}" "${MED[bulk4|bare-splice]:-}" '>=' 1
ratio "RSS per idle connection at 2,000, fo-pool / nginx <= 1.0" "${MED[kib_per_conn2000|fo-pool]:-}" "${MED[kib_per_conn2000|nginx]:-}" '<=' 1
ratio "RSS per idle connection at 7,000, fo-pool / nginx <= 1.0" "${MED[kib_per_conn7000|fo-pool]:-}" "${MED[kib_per_conn7000|nginx]:-}" '<=' 1
ratio "latency p50 at ${LAT_RATE}/s, fo-pool / best of haproxy, nginx <= 1.0" "${MED[lat_p50|fo-pool]:-}" "$(best lat_p50 min haproxy nginx)" '<=' 1
ratio "latency p99 at ${LAT_RATE}/s, fo-pool / best of haproxy, nginx <= 1.0" "${MED[lat_p99|fo-pool]:-}" "$(best lat_p99 min haproxy nginx)" '<=' 1
ratio "7,000 connections held (of 7,000)" "${MED[held7000|fo-pool]:-}" 7000 '>=' 1
ratio "pooled TTFB <= 0.6x direct" "${MED[ttfb_median|fo-pool]:-}" "${MED[ttfb_median|direct]:-}" '<=' 0.6

# The targets of issue 6: ForwardOptimal / the better HAProxy configuration.
echo
echo "| issue 6 targets (ForwardOptimal / the better HAProxy) | ratio | met? |"
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
