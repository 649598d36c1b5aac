#!/usr/bin/env bash
# How fast SIGTERM takes effect under load (issue 15): ForwardOptimal in front of one echo
# backend, fo_soak_client running WORKERS sessions at a time; then SIGTERM, and a probe that
# connects again and again from the moment the signal is sent. Per round it prints the time
# from the signal to the "🛑 收到信号" log line, to the first refused connect, and how many
# clients that connected after the signal were still served (got the backend's greeting).
# PROBE=0 sends the signal without the probe's connects (which wake the accept loop themselves).
# A measurement, not a test. Not part of CI.
#   [PROBE=1] ./scripts/signal-latency.sh [ROUNDS=5] [WORKERS=32]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rounds=${1:-5}
workers=${2:-32}
B="$FO_BUILD_DIR"
T="$B/tests"
if [ ! -x "$B/ForwardOptimal" ] || [ ! -x "$T/fo_soak_client" ] || [ ! -x "$T/fo_demo_backend" ]; then
  fo_build -DFO_BUILD_TESTS=ON >&2
fi

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$T/fo_demo_backend" --listen 127.0.0.1:25701 --name b --threads 512 > /dev/null 2>&1 &
pids+=($!)

cat > "$work/probe.py" <<'PY'
import os, re, signal, socket, sys, time
pid, port, log, window = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
t0 = time.time()
os.kill(pid, signal.SIGTERM)
served, closed, refused, first_refused, last_served = 0, 0, 0, None, None
while time.time() - t0 < window:
    started = time.time() - t0
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        refused += 1
        first_refused = started if first_refused is None else first_refused
        time.sleep(0.002)
        continue
    s.settimeout(1)
    try:
        data = s.recv(64)
    except OSError:
        data = b""
    s.close()
    if data:
        served += 1
        last_served = started
    else:
        closed += 1
line = None
for _ in range(500):
    m = re.search(r"^(\d+-\d+-\d+ \d+:\d+:\d+)\.(\d+) .*收到信号", open(log, encoding="utf-8").read(), re.M)
    if m:
        line = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000.0
        break
    time.sleep(0.01)
ms = lambda v: "-" if v is None else "%.0f" % (v * 1000)
print("log_line_ms=%s first_refused_ms=%s served_after_signal=%d (last connect +%s ms) closed_unserved=%d refused=%d"
      % (ms(line - t0 if line else None), ms(first_refused), served, ms(last_served), closed, refused))
PY

fo_log "SIGTERM: $rounds rounds, $workers load workers, probe ${PROBE:-1} (loopback)"
for round in $(seq 1 "$rounds"); do
  cat > "$work/fo.json" <<JSON
{"bindAddr": "127.0.0.1:25700", "targets": ["127.0.0.1:25701"], "updateInterval": 5, "adminAddr": "",
 "drainTimeout": 2, "idleTimeout": 5,
 "logging": {"channels": {"file": {"class": "FileChannel", "path": "$work/fo.log", "formatter": "f"}},
   "formatters": {"f": {"class": "PatternFormatter", "pattern": "%Y-%m-%d %H:%M:%S.%i [%p] %t", "times": "local"}},
   "loggers": {"root": {"channel": "file", "level": "information"}}}}
JSON
  rm -f "$work/fo.log"
  "$B/ForwardOptimal" -c "$work/fo.json" &
  fo=$!
  for _ in $(seq 1 100); do grep -q 启动成功 "$work/fo.log" 2>/dev/null && break; sleep 0.1; done
  if [ "$workers" -gt 0 ]; then
    "$T/fo_soak_client" 127.0.0.1:25700 4 "$workers" "$round" > /dev/null 2>&1 &
    client=$!
    sleep 2
  fi
  echo "round $round: $(python3 "$work/probe.py" "$fo" 25700 "$work/fo.log" "$([ "${PROBE:-1}" = 0 ] && echo 0 || echo 1)")"
  wait "$fo" || true
  [ "$workers" -gt 0 ] && { wait "$client" || true; }
done
