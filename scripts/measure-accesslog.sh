#!/usr/bin/env bash
# The access log's cost, measured (not a test): CPU time of the ForwardOptimal process per
# session with accessLog off, on in "text" and on in "json" (written to a file through the
# `logging` section, as etc/logging-example.json does), over short sessions: wrk with
# `Connection: close` against an nginx HTTP backend, so one request is one session; "textbuf" is
# "text" with the FileChannel's `"flush": "false"` (no write() per line). Modes are
# interleaved round by round so the machine's drift hits all alike; prints each round and the
# medians. CPU is utime+stime from /proc/PID/stat, read before and after each run.
#
#   scripts/measure-accesslog.sh [BINARY=build/ForwardOptimal] [ROUNDS=3] [SECONDS=5]
set -euo pipefail
BIN=$(realpath "${1:-build/ForwardOptimal}"); ROUNDS=${2:-3}; DUR=${3:-5}
for tool in nginx wrk; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 77; }; done
WORK=$(mktemp -d /tmp/fo-accesslog.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

HTTP=25480
cat > "$WORK/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $WORK/n.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off;
  client_body_temp_path $WORK/b1; proxy_temp_path $WORK/b2; fastcgi_temp_path $WORK/b3; uwsgi_temp_path $WORK/b4; scgi_temp_path $WORK/b5;
  server { listen 127.0.0.1:$HTTP backlog=4096; location / { return 200 "ok\n"; } } }
CONF
nginx -p "$WORK" -c "$WORK/nginx.conf" -e stderr > "$WORK/nginx.log" 2>&1 & PIDS+=($!)
wait_port $HTTP

MODES="off text json textbuf"
declare -A PORT=([off]=25481 [text]=25482 [json]=25483 [textbuf]=25484) FOPID=()
for mode in $MODES; do
  on=false; format=text; flush=true
  [ "$mode" != off ] && on=true && format=$mode
  [ "$mode" = textbuf ] && format=text && flush=false
  cat > "$WORK/$mode.json" <<CONF
{"bindAddr": "127.0.0.1:${PORT[$mode]}", "targets": ["127.0.0.1:$HTTP"], "updateInterval": 30, "poolSize": 0,
 "maxConnectionsPerSource": 0, "adminAddr": "", "accessLog": $on, "accessLogFormat": "$format",
 "logging": {"formatters": {"bare": {"class": "PatternFormatter", "pattern": "%t"}},
   "channels": {"access": {"class": "FileChannel", "path": "$WORK/$mode-access.log", "formatter": "bare", "flush": "$flush"}},
   "loggers": {"root": {"level": "warning"}, "access": {"name": "ForwardOptimal.Access", "channel": "access", "level": "information"}}}}
CONF
  "$BIN" -c "$WORK/$mode.json" > "$WORK/$mode.log" 2>&1 & FOPID[$mode]=$!; PIDS+=($!)
  wait_port ${PORT[$mode]}
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
declare -A US
for r in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    before=$(ticks ${FOPID[$mode]})
    out=$(wrk -t1 -c16 -d"${DUR}s" -H 'Connection: close' "http://127.0.0.1:${PORT[$mode]}/" 2>&1)
    sleep 0.2 # the last sessions end and write their lines (textbuf: into its buffer)
    after=$(ticks ${FOPID[$mode]})
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    us=$(echo "($after - $before) * 1000000 / $HZ / $n" | bc -l)
    US[$mode]="${US[$mode]:-} $us"
    printf 'round %d %-7s sessions=%-7s cpu=%.2fs  %.1f us/session  %s req/s\n' "$r" "$mode" "$n" \
      "$(echo "($after - $before) / $HZ" | bc -l)" "$us" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for mode in $MODES; do
  printf 'median %-7s %.1f us/session (access log lines written: %s)\n' "$mode" "$(echo "${US[$mode]}" | median)" \
    "$( [ -f "$WORK/$mode-access.log" ] && wc -l < "$WORK/$mode-access.log" || echo 0)"
done
echo "sample text line: $(head -1 "$WORK/text-access.log")"
echo "sample json line: $(head -1 "$WORK/json-access.log")"
