#!/usr/bin/env bash
# Installs what is needed, builds, and runs ForwardOptimal.
#   ./scripts/run.sh                 a local demo: three backends on loopback, ForwardOptimal
#                                    in front of them on 127.0.0.1:8080 (etc/demo.json)
#   ./scripts/run.sh -c my.json ...  any arguments: run ForwardOptimal with them instead
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$FO_ROOT/scripts/install-deps.sh" demo
fo_build -DFO_BUILD_TESTS=ON >&2

BIN="$FO_BUILD_DIR/ForwardOptimal"
if [ $# -gt 0 ]; then
  exec "$BIN" "$@"
fi

# The demo: backends on the ports etc/demo.json names, stopped again when the demo ends.
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for i in 1 2 3; do
  "$FO_BUILD_DIR/tests/fo_demo_backend" --listen "127.0.0.1:1808$i" --name "backend-$i" >/dev/null &
  pids+=($!)
done
sleep 0.3
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a demo backend did not start (ports 18081-18083 in use?)" >&2; exit 69; }
done

cat >&2 <<TXT

  Demo: three echo backends listen on 127.0.0.1:18081-18083; ForwardOptimal listens on
  127.0.0.1:8080 and forwards each new client to the fastest healthy one.
  Try it from another terminal:    nc 127.0.0.1 8080     (or: telnet 127.0.0.1 8080)
  Watch it:                        curl http://127.0.0.1:9090/status   (also /metrics, /readyz)
  Reload the configuration:        kill -HUP <pid of ForwardOptimal>
  Check the configuration only:    ./scripts/run.sh -c etc/demo.json --check
  Stop with Ctrl-C.

TXT
"$BIN" -c "$FO_ROOT/etc/demo.json"
