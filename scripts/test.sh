#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test suite with CTest.
#   ./scripts/test.sh            all suites
#   ./scripts/test.sh -L unit    extra arguments go to ctest (labels: unit, integration, e2e)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
fo_install_packages "${FO_BUILD_PACKAGES[@]}" iproute2
fo_build -DFO_BUILD_TESTS=ON
fo_log "running the tests"
cd "$FO_BUILD_DIR"
ctest --output-on-failure --timeout 900 "$@"
