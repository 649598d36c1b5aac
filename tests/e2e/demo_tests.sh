#!/usr/bin/env bash
# End-to-end test of the demo (scripts/demo.sh, what `./scripts/run.sh` starts): runs it without a
# terminal under its own name, ports and addresses, and checks with fo_demo_client that
#   1. clients land on the fastest backend (backend-1, 5 ms);
#   2. after `demo.sh slow 1 200` they move to the next fastest (backend-2, 25 ms);
#   3. after `demo.sh stop 2` they move to backend-3 (60 ms), the only fast-enough one left;
#   4. SIGTERM to the demo removes its namespace, TUN device, processes and state;
#   5. a demo killed with -9 (its children left running) does not stop the next one, which
#      clears the leftovers first, and leaves nothing behind either.
# Exit 77 (skipped) when the namespaces cannot be built: not root, no ip, no /dev/net/tun.
# Needs FO_BINARY, FO_DELAY_LINE, FO_DEMO_BACKEND, FO_DEMO_CLIENT (CTest sets them).
set -uo pipefail

SCRIPT="$(cd "$(dirname "$0")/../.." && pwd)/scripts/demo.sh"
export FO_DEMO_NAME="fo-demot$(( $$ % 10000 ))"
export FO_DEMO_NET="198.19.$(( $$ % 200 + 20 ))"
export FO_DEMO_INTERVAL=0.5
WORK="$(mktemp -d "/tmp/$FO_DEMO_NAME-test.XXXXXX")"
LOG="$WORK/demo.log"
failures=0

skip() { echo "SKIP: $*"; rm -rf "$WORK"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || skip "not root"
command -v ip >/dev/null || skip "no ip command"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for binary in FO_BINARY FO_DELAY_LINE FO_DEMO_BACKEND FO_DEMO_CLIENT; do
  [ -x "${!binary:-}" ] || { echo "FAIL: \$$binary is not an executable ('${!binary:-}')"; exit 1; }
done
ip netns add "$FO_DEMO_NAME-chk" 2>/dev/null || skip "'ip netns add' is not permitted"
ip netns del "$FO_DEMO_NAME-chk"

# Two free loopback ports for the proxy and its admin endpoint.
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    ss -ltnH "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}
export FO_DEMO_PORT; FO_DEMO_PORT="$(free_port)"
export FO_DEMO_ADMIN_PORT; FO_DEMO_ADMIN_PORT="$(free_port)"
while [ "$FO_DEMO_ADMIN_PORT" = "$FO_DEMO_PORT" ]; do FO_DEMO_ADMIN_PORT="$(free_port)"; done

demo_pid=""
started_pids=""
at_exit() {
  [ -z "$demo_pid" ] || kill -TERM "$demo_pid" 2>/dev/null
  "$SCRIPT" down 2>/dev/null
  rm -rf "$WORK"
}
trap at_exit EXIT

# Starts the demo in the background and waits (30 s at most) until it printed its instructions.
start_demo() {
  "$SCRIPT" run > "$LOG" 2>&1 &
  demo_pid=$!
  for _ in $(seq 1 300); do
    grep -q "Stop with Ctrl-C" "$LOG" && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "Stop with Ctrl-C" "$LOG"; then
    cat "$LOG"; echo "FAIL: the demo did not start"; exit 1
  fi
  grep -q "three echo backends, each behind the TUN delay line" "$LOG" || { cat "$LOG"; echo "FAIL: the demo fell back to loopback"; exit 1; }
  local state="/tmp/$FO_DEMO_NAME"
  started_pids="$(cat "$state/proxy.pid" "$state/delay_line.pid" "$state"/backend-?.pid | tr '\n' ' ')"
}

# Which backend answers a new client (the name fo_demo_client prints), or "none".
answer() {
  "$FO_DEMO_CLIENT" --connect "127.0.0.1:$FO_DEMO_PORT" --count 1 --timeout 3000 | awk '/greeting after/ { print $2; exit } END { if (NR == 0) print "none" }'
}

# Waits (20 s at most) until a new client is answered by $1; prints what answered last.
wait_for_backend() {
  local got=""
  for _ in $(seq 1 100); do
    got="$(answer)"
    [ "$got" = "$1" ] && return 0
    sleep 0.2
  done
  echo "$got"
  return 1
}

# Is process $1 running (a zombie waiting for init to reap it is not)?
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# The command line of process $1, "" once it is gone.
demo_command() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null || true; }

# Is process $1 still one of the demo's programs? Pids wrap (pid_max is 32768 on some hosts),
# so by now another test's process may have one of the pids recorded earlier.
demo_alive() {
  alive "$1" || return 1
  case "$(demo_command "$1")" in *ForwardOptimal*|*fo_demo_backend*|*fo_delay_line*) return 0;; esac
  return 1
}

# Checks that nothing of the demo is left: namespace, device, state, processes ($1 = their pids).
check_clean() {
  local what=$1 pid leftovers=""
  ip netns list | awk '{ print $1 }' | grep -qxF "$FO_DEMO_NAME" && leftovers+=" namespace"
  ip link show dev "$FO_DEMO_NAME" >/dev/null 2>&1 && leftovers+=" tun-device"
  [ -e "/tmp/$FO_DEMO_NAME" ] && leftovers+=" state-directory"
  for pid in $2; do demo_alive "$pid" && leftovers+=" process-$pid($(demo_command "$pid"))"; done
  if [ -z "$leftovers" ]; then pass "$what: nothing left behind"; else fail "$what: left behind:$leftovers"; fi
}

# Sends signal $1 to the demo and waits (10 s at most) for it to end; sets $status to its exit status.
end_demo() {
  kill "-$1" "$demo_pid"
  for _ in $(seq 1 100); do alive "$demo_pid" || break; sleep 0.1; done
  wait "$demo_pid" 2>/dev/null
  status=$?
  demo_pid=""
}

# --- 1-4: the demo as a user drives it --------------------------------------------------------
start_demo
[ "$(echo "$started_pids" | wc -w)" -eq 5 ] || fail "expected 5 processes (proxy, 3 backends, delay line), got: $started_pids"
ip netns pids "$FO_DEMO_NAME" | grep -q . || fail "no backend runs in the namespace"

# The first round may still be settling: wait for backend-1, then every client must land there.
if got="$(wait_for_backend backend-1)"; then
  out="$("$FO_DEMO_CLIENT" --connect "127.0.0.1:$FO_DEMO_PORT" --count 5 --interval 50)"
  if echo "$out" | tail -1 | grep -q "answered:  backend-1 5x  (0 failed)"; then
    pass "clients land on the fastest backend (backend-1, 5 ms)"
  else
    fail "not every client landed on backend-1: $out"
  fi
else
  fail "clients never landed on backend-1 (the fastest); last answer: $got"
fi

"$SCRIPT" slow 1 200 || fail "demo.sh slow 1 200 failed"
if got="$(wait_for_backend backend-2)"; then pass "after 'slow 1 200' clients move to backend-2 (25 ms)"
else fail "after 'slow 1 200' clients did not move to backend-2; last answer: $got"; fi
out="$("$SCRIPT" status)"
grep -q "^backend-1 .*running  200 ms round trip" <<< "$out" || fail "status does not show backend-1 at 200 ms: $out"

"$SCRIPT" stop 2 || fail "demo.sh stop 2 failed"
if got="$(wait_for_backend backend-3)"; then pass "after 'stop 2' clients move to backend-3 (60 ms)"
else fail "after 'stop 2' clients did not move to backend-3; last answer: $got"; fi
"$SCRIPT" start 2 || fail "demo.sh start 2 failed"
if got="$(wait_for_backend backend-2)"; then pass "after 'start 2' clients return to backend-2"
else fail "after 'start 2' clients did not return to backend-2; last answer: $got"; fi
started_pids="$started_pids $(cat "/tmp/$FO_DEMO_NAME/backend-2.pid")"

end_demo TERM
[ "$status" = 143 ] || fail "the demo exited with $status on SIGTERM (expected 143)"
check_clean "after SIGTERM" "$started_pids"

# --- 5: a demo killed with -9, then a new one ----------------------------------------------
start_demo
first_pids="$started_pids"
kill -KILL "$demo_pid"
wait "$demo_pid" 2>/dev/null
demo_pid=""
survivors=0
for pid in $first_pids; do alive "$pid" && survivors=$((survivors + 1)); done
[ "$survivors" -eq 5 ] || fail "killing the demo with -9 took its children with it: the stale case was not tested"
start_demo
if got="$(wait_for_backend backend-1)"; then pass "a demo starts after one killed with -9"
else fail "the demo after one killed with -9 does not serve from backend-1; last answer: $got"; fi
for pid in $first_pids; do demo_alive "$pid" && fail "process $pid of the killed demo still runs"; done
end_demo HUP   # (SIGINT is ignored by a job started in the background of a script)
[ "$status" = 129 ] || fail "the demo exited with $status on SIGHUP (expected 129)"
check_clean "after SIGHUP" "$first_pids $started_pids"

if [ "$failures" -eq 0 ]; then echo "demo_tests: all passed"; exit 0; fi
echo "demo_tests: $failures failed"; tail -40 "$LOG"
exit 1
