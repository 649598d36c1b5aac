#!/usr/bin/env bash
# Bulk throughput and CPU through ForwardOptimal with `splice` "auto" and "off" (issue 17):
# iperf3 through two instances side by side (poolSize 0, everything else default), ROUNDS
# interleaved rounds of SECONDS each with 1 and 4 streams; the proxy's CPU is utime + stime from
# /proc/PID/stat around each run. Prints each run, then the medians. Loopback only.
#   ./scripts/measure-splice.sh [ROUNDS=3] [SECONDS=4]
# FO_BINARY: the binary (default build/ForwardOptimal); MODES: the `splice` values compared
# (default "auto off"). Needs iperf3 and python3.
set -euo pipefail
rounds=${1:-3}
secs=${2:-4}
bin=${FO_BINARY:-$(cd "$(dirname "$0")/.." && pwd)/build/ForwardOptimal}
work=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

server=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$server" >/dev/null 2>&1 &
pids+=($!)
modes=${MODES:-auto off}
declare -A pid port
for mode in $modes; do
  port[$mode]=$(free_port)
  cat > "$work/$mode.json" <<EOF
{"bindAddr": "127.0.0.1:${port[$mode]}", "targets": ["127.0.0.1:$server"], "updateInterval": 1,
 "poolSize": 0, "adminAddr": "", "splice": "$mode"}
EOF
  "$bin" -c "$work/$mode.json" >"$work/$mode.log" 2>&1 &
  pid[$mode]=$!
  pids+=($!)
done
for mode in $modes; do
  for _ in $(seq 100); do
    grep -q "启动成功" "$work/$mode.log" && break
    sleep 0.1
  done
done
sleep 1.5 # the first health round

echo "round streams splice Gbit/s CPU-s CPU-ms/GB"
for round in $(seq "$rounds"); do
  for streams in 1 4; do
    order=$modes; [ $((round % 2)) -eq 0 ] && order=$(echo $modes | tr ' ' '\n' | tac | tr '\n' ' ')
    for mode in $order; do
      before=$(ticks "${pid[$mode]}")
      iperf3 -c 127.0.0.1 -p "${port[$mode]}" -t "$secs" -P "$streams" -J >"$work/run.json"
      after=$(ticks "${pid[$mode]}")
      python3 - "$work/run.json" "$round" "$streams" "$mode" "$before" "$after" "$hz" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["end"]["sum_received"]
cpu = (float(sys.argv[6]) - float(sys.argv[5])) / float(sys.argv[7])
gb = run["bytes"] / 1e9
print(f'{sys.argv[2]} {sys.argv[3]} {sys.argv[4]} {run["bits_per_second"] / 1e9:.2f} {cpu:.2f} {cpu * 1000 / gb:.0f}')
PY
    done
  done
done | tee "$work/rows"

echo
echo "medians of $rounds rounds: streams splice Gbit/s CPU-ms/GB"
python3 - "$work/rows" $modes <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line[0].isdigit()]
for streams in ("1", "4"):
    for mode in sys.argv[2:]:
        sel = [r for r in rows if r[1] == streams and r[2] == mode]
        print(streams, mode, f'{statistics.median(float(r[3]) for r in sel):.2f}', f'{statistics.median(float(r[5]) for r in sel):.0f}')
PY
