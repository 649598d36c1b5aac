#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test suite with CTest.
#   ./scripts/test.sh                      all suites
#   ./scripts/test.sh -L unit              extra arguments go to ctest (labels: unit, integration, e2e)
#   ./scripts/test.sh --sanitize thread    the same under TSan (or 'address': ASan+UBSan), built
#                                          in build-thread/ (build-address/)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=${2:?"--sanitize needs 'address' or 'thread'"}
  shift 2
  FO_BUILD_DIR="$FO_ROOT/build-$sanitize"   # the sanitizer options reach the tests through CTest
fi

fo_install_packages "${FO_BUILD_PACKAGES[@]}" iproute2 haproxy nginx-light prometheus systemd chromium
fo_build -DFO_BUILD_TESTS=ON -DFO_SANITIZE="$sanitize"
fo_log "running the tests${sanitize:+ under the $sanitize sanitizer}"
cd "$FO_BUILD_DIR"
ctest --output-on-failure --timeout 900 "$@"
