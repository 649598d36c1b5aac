#!/usr/bin/env bash
# Installs the build dependencies and builds ForwardOptimal into build/ (the Dockerfile uses
# this too). Arguments are passed to cmake's configure step, e.g. -DFO_BUILD_TESTS=OFF.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$FO_ROOT/scripts/install-deps.sh" build
fo_build "$@"
