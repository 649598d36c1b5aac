# Shared by the project's scripts: the package installer (install-deps.sh holds the lists per
# task), logging and the build. Source it, don't run it.
# shellcheck shell=bash

FO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FO_BUILD_DIR="${FO_BUILD_DIR:-$FO_ROOT/build}"

# Debian packages the build needs (Debian 12 names); install-deps.sh and the measurement
# scripts add what their tasks need.
FO_BUILD_PACKAGES=(g++ make cmake pkg-config libpoco-dev libboost-test-dev)

fo_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs whichever of the given Debian packages are missing; a no-op when all are there.
fo_install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  fo_log "installing ${missing[*]}"
  # Update the package lists once per machine (and again if they are older than a day).
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    "${sudo[@]}" apt-get update -qq
  fi
  # Server packages (openssh-server, mariadb-server, postgresql) must not start their system
  # services: the tests start their own instances, with their own ports and data directories.
  local policy=/usr/sbin/policy-rc.d added="" rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -z "$added" ] || "${sudo[@]}" rm -f "$policy"
  return $rc
}

# Configures and builds into $FO_BUILD_DIR; extra arguments go to cmake's configure step.
fo_build() {
  fo_log "building in $FO_BUILD_DIR"
  cmake -S "$FO_ROOT" -B "$FO_BUILD_DIR" -DCMAKE_BUILD_TYPE="${FO_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
  cmake --build "$FO_BUILD_DIR" --parallel "$(nproc)"
}
