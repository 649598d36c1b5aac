#!/usr/bin/env bash
# Installs what is needed, builds, and runs ForwardOptimal.
#   ./scripts/run.sh                 a local demo (scripts/demo.sh run): three backends 5, 25 and
#                                    60 ms away (as root; else on loopback), ForwardOptimal in
#                                    front of them on 127.0.0.1:8080
#   ./scripts/run.sh -c my.json ...  any arguments: run ForwardOptimal with them instead
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$FO_ROOT/scripts/install-deps.sh" demo
fo_build -DFO_BUILD_TESTS=ON >&2

BIN="$FO_BUILD_DIR/ForwardOptimal"
if [ $# -gt 0 ]; then
  exec "$BIN" "$@"
fi

# The demo (scripts/demo.sh): backends with different path latencies, ForwardOptimal in front.
export FO_BUILD_DIR
exec "$FO_ROOT/scripts/demo.sh" run
