#!/usr/bin/env bash
# Builds and removes the end-to-end tests' network lab: two network namespaces joined by the
# user-space delay line (fo_delay_line) over TUN, because this kernel has no netem.
#
#   netns_lab.sh check                               can this machine build it? (else: why, exit 1)
#   netns_lab.sh up PREFIX N DELAY_LINE CONTROL      create PREFIX-p and PREFIX-t, start the line
#   netns_lab.sh down PREFIX                         remove it all (idempotent)
#
# PREFIX-p (the proxy side) has 198.18.0.1 on tun "dlp"; PREFIX-t (the targets) has 198.19.0.1
# to 198.19.0.N on tun "dlt"; for IPv6, 2001:db8:1::1 and 2001:db8:2::1 to 2001:db8:2::N (the
# documentation range, RFC 3849; the delay line passes IPv6 at once). Traffic between them crosses the delay line, whose per-address
# delays are read from CONTROL (lines "IP MS" or "IP drop"). Only these addresses, from the
# benchmarking range 198.18.0.0/15 (RFC 2544) and inside the lab's own namespaces, are ever used.
set -euo pipefail

die() { echo "netns_lab: $*" >&2; exit 1; }

check() {
  [ "$(id -u)" -eq 0 ] || die "not root"
  command -v ip >/dev/null || die "the 'ip' command (iproute2) is missing"
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing"
  local probe="fo-check-$$"
  ip netns add "$probe" 2>/dev/null || die "'ip netns add' is not permitted here"
  if ! ip -n "$probe" tuntap add dev t0 mode tun 2>/dev/null; then
    ip netns del "$probe"; die "cannot create a TUN device in a network namespace"
  fi
  ip netns del "$probe"
}

up() {
  local prefix=$1 count=$2 line=$3 control=$4
  local p="$prefix-p" t="$prefix-t" log="/tmp/$prefix-delay_line.log"
  [ -x "$line" ] || die "delay line binary '$line' not found"
  [ -e "$control" ] || : > "$control"
  ip netns add "$p"
  ip netns add "$t"
  ip -n "$p" link set lo up
  ip -n "$t" link set lo up
  ip -n "$p" tuntap add dev dlp mode tun
  ip -n "$t" tuntap add dev dlt mode tun
  ip -n "$p" addr add 198.18.0.1/32 dev dlp
  local i
  ip -n "$p" addr add 2001:db8:1::1/128 dev dlp nodad
  for i in $(seq 1 "$count"); do
    ip -n "$t" addr add "198.19.0.$i/32" dev dlt
    ip -n "$t" addr add "2001:db8:2::$i/128" dev dlt nodad
  done
  ip -n "$p" link set dlp up
  ip -n "$t" link set dlt up
  ip -n "$p" route add 198.19.0.0/24 dev dlp
  ip -n "$t" route add 198.18.0.0/24 dev dlt
  ip -n "$p" -6 route add 2001:db8:2::/64 dev dlp
  ip -n "$t" -6 route add 2001:db8:1::/64 dev dlt
  "$line" --ns-a "$p" --tun-a dlp --ns-b "$t" --tun-b dlt --control "$control" > "$log" 2>&1 &
  echo $! > "/tmp/$prefix-delay_line.pid"
  for i in $(seq 1 50); do
    grep -q "delay_line: ready" "$log" 2>/dev/null && return 0
    kill -0 "$(cat "/tmp/$prefix-delay_line.pid")" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  down "$prefix"
  die "the delay line did not start"
}

down() {
  local prefix=$1 pidfile="/tmp/$1-delay_line.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  ip netns del "$prefix-p" 2>/dev/null || true
  ip netns del "$prefix-t" 2>/dev/null || true
  rm -f "/tmp/$prefix-delay_line.log"
}

case "${1:-}" in
  check) check ;;
  up) [ $# -eq 5 ] || die "usage: $0 up PREFIX N DELAY_LINE CONTROL"; up "$2" "$3" "$4" "$5" ;;
  down) [ $# -eq 2 ] || die "usage: $0 down PREFIX"; down "$2" ;;
  *) die "usage: $0 check | up PREFIX N DELAY_LINE CONTROL | down PREFIX" ;;
esac
