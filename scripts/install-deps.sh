#!/usr/bin/env bash
# Installs the Debian packages a task needs, whichever are missing (a no-op when all are there;
# as root, or through sudo). run.sh, test.sh and build.sh call it; CI reaches it through test.sh.
#   ./scripts/install-deps.sh [PROFILE...]     default: build
# Profiles:
#   build   compiler, CMake, POCO, Boost.Test
#   demo    what ./scripts/run.sh needs: the build, and iproute2 (the demo's network namespace)
#   test    the build, plus what the tests start for real: iproute2 (network namespaces),
#           haproxy and nginx-light (PROXY protocol receivers), prometheus, systemd (unit check),
#           sshd, MariaDB and PostgreSQL (what the servers behind the proxy see of its probes),
#           chromium (the status page, in a real browser)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

packages=()
for profile in "${@:-build}"; do
  case "$profile" in
    build) packages+=("${FO_BUILD_PACKAGES[@]}") ;;
    demo) packages+=("${FO_BUILD_PACKAGES[@]}" iproute2) ;;
    test) packages+=("${FO_BUILD_PACKAGES[@]}" iproute2 haproxy nginx-light prometheus systemd
                openssh-server mariadb-server mariadb-client postgresql chromium) ;;
    *) echo "install-deps.sh: unknown profile '$profile' (build, demo, test)" >&2; exit 64 ;;
  esac
done
fo_install_packages "${packages[@]}"
