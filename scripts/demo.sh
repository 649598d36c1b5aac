#!/usr/bin/env bash
# The local demo that `./scripts/run.sh` (no arguments) starts, and the commands to play with it.
#
#   demo.sh run           three echo backends with different path latencies and ForwardOptimal
#                         in front of them on 127.0.0.1:8080; runs until Ctrl-C, then removes
#                         everything it created (also on failure)
#   demo.sh slow N MS     give backend N a round trip of MS ms (e.g. `slow 1 200`: watch the switch)
#   demo.sh stop N        stop backend N (the proxy takes it out at once)
#   demo.sh start N       start backend N again
#   demo.sh status        the backends, their addresses and round trips
#   demo.sh down          remove what a demo left behind (one killed with -9); `run` does this first
#
# As root with /dev/net/tun, each backend sits behind the project's TUN delay line
# (tests/support/tun_delay_line.cpp) in a network namespace of its own name (fo-demo), on
# 198.18.77.1-3 (198.18.0.0/15 is reserved for benchmarks, never routed on the internet); the
# host reaches them through a TUN device "fo-demo" with 198.18.77.254. Otherwise the backends
# run on loopback, where they all answer in ~0.1 ms, and the demo says so.
#
# Environment (the defaults suit a person; the test changes them): FO_DEMO_NAME (fo-demo),
# FO_DEMO_NET (198.18.77), FO_DEMO_LATENCIES ("5 25 60", round trips in ms), FO_DEMO_PORT (8080),
# FO_DEMO_ADMIN_PORT (9090), FO_DEMO_INTERVAL (2, seconds between health rounds), FO_DEMO_NETNS
# (0 forces loopback), and the binaries: FO_BINARY, FO_DELAY_LINE, FO_DEMO_BACKEND, FO_DEMO_CLIENT
# (default: under $FO_BUILD_DIR, which defaults to build/).
set -euo pipefail

FO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FO_BUILD_DIR:-$FO_ROOT/build}"
FO_BINARY="${FO_BINARY:-$BUILD/ForwardOptimal}"
FO_DELAY_LINE="${FO_DELAY_LINE:-$BUILD/tests/fo_delay_line}"
FO_DEMO_BACKEND="${FO_DEMO_BACKEND:-$BUILD/tests/fo_demo_backend}"
FO_DEMO_CLIENT="${FO_DEMO_CLIENT:-$BUILD/tests/fo_demo_client}"

NAME="${FO_DEMO_NAME:-fo-demo}"          # the namespace, the host's TUN device, the state directory
NET="${FO_DEMO_NET:-198.18.77}"          # backends on NET.1-3, the host's end NET.254
read -r -a LATENCIES <<< "${FO_DEMO_LATENCIES:-5 25 60}"
PORT="${FO_DEMO_PORT:-8080}"
ADMIN_PORT="${FO_DEMO_ADMIN_PORT:-9090}"
INTERVAL="${FO_DEMO_INTERVAL:-2}"
STATE="/tmp/$NAME"
NS_TUN="demo0"                           # the TUN device inside the namespace
BACKEND_PORT=18081                       # netns: the same port on each address; loopback: 18081-18083

say() { printf '%s\n' "$*" >&2; }
die() { say "demo: $*"; exit 1; }

[[ "$NAME" =~ ^[a-z][a-z0-9-]{0,14}$ ]] || die "FO_DEMO_NAME '$NAME': 1-15 of a-z 0-9 - (it names a network device)"
[[ "$NET" =~ ^198\.1[89]\.[0-9]{1,3}$ ]] || die "FO_DEMO_NET '$NET': must be in 198.18.0.0/15, like 198.18.77"

# Is pid $1 alive and running the program named $2 (so a reused pid is never killed)?
is_ours() { [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "$2"; }

# Ends the process in pidfile $1 if it still runs program $2: TERM, then KILL after 5 s.
end_process() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  rm -f "$1"
  is_ours "$pid" "$2" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_ours "$pid" "$2" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

mode() { cat "$STATE/mode" 2>/dev/null || echo none; }
backend_address() { if [ "$(mode)" = netns ]; then echo "$NET.$1:$BACKEND_PORT"; else echo "127.0.0.1:$((BACKEND_PORT + $1 - 1))"; fi; }
check_index() { [[ "$1" =~ ^[1-3]$ ]] || die "backend '$1': expected 1, 2 or 3"; }

# Removes everything a demo of this name created; idempotent, and safe when nothing is there.
down() {
  set +e
  end_process "$STATE/proxy.pid" "$(basename "$FO_BINARY")"
  for i in 1 2 3; do end_process "$STATE/backend-$i.pid" fo_demo_backend; done
  end_process "$STATE/delay_line.pid" fo_delay_line
  if command -v ip >/dev/null && ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF "$NAME"; then
    local pids
    pids="$(ip netns pids "$NAME" 2>/dev/null)"
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    ip netns del "$NAME" 2>/dev/null
  fi
  if command -v ip >/dev/null && ip link show dev "$NAME" >/dev/null 2>&1; then
    ip link del dev "$NAME" 2>/dev/null
  fi
  rm -rf "$STATE"
  set -e
}

# Starts backend $1 (in the namespace or on loopback) and waits until it listens.
start_backend() {
  local i=$1 log="$STATE/backend-$1.log" address
  address="$(backend_address "$i")"
  if [ "$(mode)" = netns ]; then
    ip netns exec "$NAME" "$FO_DEMO_BACKEND" --listen "$address" --name "backend-$i" > "$log" 2>&1 &
  else
    "$FO_DEMO_BACKEND" --listen "$address" --name "backend-$i" > "$log" 2>&1 &
  fi
  echo $! > "$STATE/backend-$i.pid"
  for _ in $(seq 1 50); do
    grep -q "listening on" "$log" && return 0
    kill -0 "$(cat "$STATE/backend-$i.pid")" 2>/dev/null || break
    sleep 0.1
  done
  die "backend-$i did not start on $address: $(cat "$log")"
}

# Writes the delay line's control file from the round trips in $STATE/latency-N (one way = half).
write_delays() {
  local i rules=""
  for i in 1 2 3; do
    rules+="$NET.$i $(awk -v rtt="$(cat "$STATE/latency-$i")" 'BEGIN { print rtt / 2 }')"$'\n'
  done
  printf '%s' "$rules" > "$STATE/control.new"
  mv "$STATE/control.new" "$STATE/control"   # the line re-reads the file within 50 ms
}

# Why the namespaces cannot be built here (empty when they can).
netns_obstacle() {
  [ "${FO_DEMO_NETNS:-1}" != 0 ] || { echo "FO_DEMO_NETNS=0"; return; }
  [ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
  command -v ip >/dev/null || { echo "no 'ip' command (Debian package iproute2)"; return; }
  [ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return; }
  [ -x "$FO_DELAY_LINE" ] || { echo "the delay line $FO_DELAY_LINE is not built"; return; }
}

# Builds the namespace, the two TUN devices and the delay line between them.
netns_up() {
  ip netns add "$NAME" || return 1
  ip -n "$NAME" link set lo up &&
  ip -n "$NAME" tuntap add dev "$NS_TUN" mode tun &&
  ip tuntap add dev "$NAME" mode tun || return 1
  ip addr add "$NET.254/32" dev "$NAME" &&
  ip link set "$NAME" up &&
  ip route add "$NET.0/24" dev "$NAME" src "$NET.254" || return 1
  local i
  for i in 1 2 3; do ip -n "$NAME" addr add "$NET.$i/32" dev "$NS_TUN" || return 1; done
  ip -n "$NAME" link set "$NS_TUN" up &&
  ip -n "$NAME" route add "$NET.254/32" dev "$NS_TUN" || return 1
  write_delays
  "$FO_DELAY_LINE" --ns-a . --tun-a "$NAME" --ns-b "$NAME" --tun-b "$NS_TUN" --control "$STATE/control" \
    > "$STATE/delay_line.log" 2>&1 &
  echo $! > "$STATE/delay_line.pid"
  for _ in $(seq 1 50); do
    grep -q "delay_line: ready" "$STATE/delay_line.log" && return 0
    kill -0 "$(cat "$STATE/delay_line.pid")" 2>/dev/null || break
    sleep 0.1
  done
  say "$(cat "$STATE/delay_line.log")"
  return 1
}

# Is the admin endpoint answering /readyz with 200 (a target is healthy)? Plain bash, no curl.
ready() {
  local status=""
  { exec 3<>"/dev/tcp/127.0.0.1/$ADMIN_PORT"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 2 status <&3 || true
  exec 3<&- 3>&-
  [[ "$status" == *" 200"* ]]
}

run() {
  local i
  for binary in "$FO_BINARY" "$FO_DEMO_BACKEND"; do
    [ -x "$binary" ] || die "$binary is not built (./scripts/run.sh builds it)"
  done
  if [ -f "$STATE/run.pid" ] && kill -0 "$(cat "$STATE/run.pid")" 2>/dev/null \
     && grep -q demo.sh "/proc/$(cat "$STATE/run.pid")/cmdline" 2>/dev/null; then
    die "a demo named '$NAME' is already running (pid $(cat "$STATE/run.pid")); end it first, or use another FO_DEMO_NAME"
  fi
  down                                    # what a demo killed with -9 left behind
  trap 'down' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  mkdir -p "$STATE"
  echo $$ > "$STATE/run.pid"
  for i in 1 2 3; do echo "${LATENCIES[$((i - 1))]:-5}" > "$STATE/latency-$i"; done

  local lost
  lost="$(netns_obstacle)"
  if [ -z "$lost" ]; then
    echo netns > "$STATE/mode"
    if ! netns_up 2>"$STATE/netns.err"; then
      lost="the network namespace could not be built: $(tr '\n' ' ' < "$STATE/netns.err")"
      down; mkdir -p "$STATE"; echo $$ > "$STATE/run.pid"
      for i in 1 2 3; do echo "${LATENCIES[$((i - 1))]:-5}" > "$STATE/latency-$i"; done
    fi
  fi
  [ -z "$lost" ] || echo loopback > "$STATE/mode"
  for i in 1 2 3; do start_backend "$i"; done

  cat > "$STATE/config.json" <<JSON
{
  "bindAddr": "127.0.0.1:$PORT",
  "adminAddr": "127.0.0.1:$ADMIN_PORT",
  "targets": ["$(backend_address 1)", "$(backend_address 2)", "$(backend_address 3)"],
  "updateInterval": $INTERVAL,
  "failureInterval": 1,
  "probeTimeout": 1,
  "connectTimeout": 2,
  "drainTimeout": 1
}
JSON
  "$FO_BINARY" -c "$STATE/config.json" &
  local proxy=$!
  echo "$proxy" > "$STATE/proxy.pid"
  local answered=""
  for _ in $(seq 1 100); do
    ready && { answered=yes; break; }
    kill -0 "$proxy" 2>/dev/null || { wait "$proxy" || true; die "ForwardOptimal ended at start-up (ports $PORT or $ADMIN_PORT in use? FO_DEMO_PORT / FO_DEMO_ADMIN_PORT choose others)"; }
    sleep 0.1
  done
  [ -n "$answered" ] || say "demo: the admin endpoint 127.0.0.1:$ADMIN_PORT does not answer /readyz yet (port taken? see the log above)"

  local client="$FO_DEMO_CLIENT" script="$FO_ROOT/scripts/demo.sh"
  client="${client#"$PWD"/}"; script="${script#"$PWD"/}"
  [[ "$client" == /* ]] || client="./$client"
  [[ "$script" == /* ]] || script="./$script"
  [ "$PORT" = 8080 ] || client+=" --connect 127.0.0.1:$PORT"
  local env=""
  [ "$NAME" = fo-demo ] || env="FO_DEMO_NAME=$NAME "
  {
    echo
    if [ "$(mode)" = netns ]; then
      echo "  Demo: three echo backends, each behind the TUN delay line on a path of its own:"
      for i in 1 2 3; do printf '    backend-%s  %-20s %4s ms round trip\n' "$i" "$(backend_address "$i")" "$(cat "$STATE/latency-$i")"; done
    else
      echo "  Demo on LOOPBACK ($lost): the three backends all answer in ~0.1 ms, so which one is"
      echo "  fastest is noise and 'slow' is not available. Run ./scripts/run.sh as root, on a"
      echo "  kernel with /dev/net/tun, to give them real, different path latencies."
      for i in 1 2 3; do printf '    backend-%s  %s\n' "$i" "$(backend_address "$i")"; done
    fi
    echo "  ForwardOptimal listens on 127.0.0.1:$PORT and sends each new client to the fastest healthy one."
    echo
    echo "  Try it from another terminal:"
    local row='    %-40s %s\n'
    # shellcheck disable=SC2059 # the format is $row
    {
      printf "$row" "$client --count 0" "a connection a second: who answered, how fast"
      if [ "$(mode)" = netns ]; then
        printf "$row" "${env}$script slow 1 200" "make backend-1 slow (200 ms): new clients go to backend-2"
        printf "$row" "${env}$script slow 1 5" "...and fast again"
      fi
      printf "$row" "${env}$script stop 1" "stop backend-1 ('start 1' starts it again)"
      printf "$row" "${env}$script status" "the backends and their round trips"
    }
    echo "  Status page:  http://127.0.0.1:$ADMIN_PORT/   (JSON: /status, Prometheus: /metrics)"
    echo "  The health report below comes every ${INTERVAL} s. Stop with Ctrl-C: everything the demo"
    echo "  created (namespace, TUN devices, processes) is removed."
    echo
  } >&2
  wait "$proxy"
}

case "${1:-}" in
  run) run ;;
  down) down ;;
  slow)
    [ $# -eq 3 ] || die "usage: demo.sh slow N MS"
    check_index "$2"
    [[ "$3" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "round trip '$3': expected milliseconds, like 200"
    [ "$(mode)" != none ] || die "no demo named '$NAME' is running (start one with ./scripts/run.sh)"
    [ "$(mode)" = netns ] || die "this demo runs on loopback, where latency cannot be changed; try 'stop $2'"
    echo "$3" > "$STATE/latency-$2"
    write_delays
    say "backend-$2 ($(backend_address "$2")): round trip now $3 ms"
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: demo.sh stop N"
    check_index "$2"
    [ "$(mode)" != none ] || die "no demo named '$NAME' is running"
    end_process "$STATE/backend-$2.pid" fo_demo_backend
    say "backend-$2 stopped"
    ;;
  start)
    [ $# -eq 2 ] || die "usage: demo.sh start N"
    check_index "$2"
    [ "$(mode)" != none ] || die "no demo named '$NAME' is running"
    ! is_ours "$(cat "$STATE/backend-$2.pid" 2>/dev/null || true)" fo_demo_backend || die "backend-$2 is running"
    start_backend "$2"
    say "backend-$2 started"
    ;;
  status)
    [ "$(mode)" != none ] || die "no demo named '$NAME' is running"
    for i in 1 2 3; do
      state=stopped
      is_ours "$(cat "$STATE/backend-$i.pid" 2>/dev/null || true)" fo_demo_backend && state=running
      if [ "$(mode)" = netns ]; then extra="$(cat "$STATE/latency-$i") ms round trip"; else extra="loopback"; fi
      printf 'backend-%s  %-20s %-8s %s\n' "$i" "$(backend_address "$i")" "$state" "$extra"
    done
    ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
esac
