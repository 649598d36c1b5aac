#!/usr/bin/env bash
# Counts what an idle ForwardOptimal costs the servers behind it: the "phantom" connections that
# sshd logs, MariaDB counts as failed logins, and PostgreSQL logs with log_connections=on.
# Debian's sshd, MariaDB and PostgreSQL run in a network namespace of their own (198.18.12.2);
# one ForwardOptimal per server runs in a second namespace (198.18.12.1), joined by a veth pair,
# so the servers see a remote client, not loopback. Idle, no client ever connects: whatever the
# servers record in the window comes from the health probes and the pool. With light traffic
# (FO_TRAFFIC), one real client session every FO_TRAFFIC seconds goes through each proxy (ssh
# up to its failed login, a mariadb login and query, a psql query); a phantom is then a
# connection the server accepted that no client session used.
#
# For each probe mode (syn, connect), each pool setting (poolSize 0; the default pool) and each
# traffic setting it runs the proxies for SECONDS and prints one table row of counts per minute.
#   sudo ./scripts/measure-phantoms.sh [SECONDS=60] [UPDATE_INTERVAL=2]
#   FO_TRAFFIC="0 10" ...                traffic settings: 0 = idle (the default), N = a client
#                                        session through each proxy every N seconds
#   FO_BINARY=/path/ForwardOptimal ...   measure that binary (default: build/ForwardOptimal,
#                                        built if missing)
#   FO_MODES="syn" FO_POOLS="0" ...      a subset (FO_POOLS: 0 = off, default = the key unset)
#   FO_LOG_DIR=/some/dir ...             keep the proxies' and the servers' logs there
#   FO_LOG_LEVEL=information ...         the proxies' log level (default: warning)
# Needs root (network namespaces). Nothing but the lab's own namespaces is ever contacted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${1:-60}
interval=${2:-2}
modes=(${FO_MODES:-syn connect})
pools=(${FO_POOLS:-0 default})
traffics=(${FO_TRAFFIC:-0})

[ "$(id -u)" -eq 0 ] || { echo "measure-phantoms: needs root (network namespaces)" >&2; exit 1; }
fo_install_packages iproute2 openssh-server openssh-client mariadb-server mariadb-client postgresql
binary=${FO_BINARY:-$FO_BUILD_DIR/ForwardOptimal}
if [ ! -x "$binary" ]; then
  fo_build >&2
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

proxy_ip=198.18.12.1
server_ip=198.18.12.2
prefix="fph$$"
pns="$prefix-p"
sns="$prefix-s"
work=$(mktemp -d)
chmod 755 "$work"
pids=()
proxies=()
traffic_pid=""
cleanup() {
  [ -z "$traffic_pid" ] || kill "$traffic_pid" 2>/dev/null || true
  [ ${#proxies[@]} -eq 0 ] || kill "${proxies[@]}" 2>/dev/null || true
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$pns" 2>/dev/null || true
  ip netns del "$sns" 2>/dev/null || true
  rm -rf "/etc/netns/$sns" "$work"
}
trap cleanup EXIT

# The lab: two namespaces and a veth pair; the servers' namespace has no DNS.
ip netns add "$pns"
ip netns add "$sns"
mkdir -p "/etc/netns/$sns"
# MariaDB blocks by host only when it could look up the client's name (as on a server whose DNS
# answers): the hosts file gives it one.
printf '127.0.0.1 localhost\n%s fo-proxy\n' "$proxy_ip" > "/etc/netns/$sns/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "/etc/netns/$sns/resolv.conf"
ip -n "$pns" link add fop0 type veth peer name fos0 netns "$sns"
ip -n "$pns" addr add "$proxy_ip/24" dev fop0
ip -n "$sns" addr add "$server_ip/24" dev fos0
for ns in "$pns" "$sns"; do ip -n "$ns" link set lo up; done
ip -n "$pns" link set fop0 up
ip -n "$sns" link set fos0 up

wait_for() {  # $1 = description, $2... = command that succeeds once ready
  local what=$1 i
  shift
  for i in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "measure-phantoms: $what did not start" >&2
  exit 1
}

# Each server is started as a plain command in the background, so $! is the server itself
# (`ip netns exec` execs it) and the cleanup's kill reaches it.

# sshd, LogLevel VERBOSE: every accepted connection is at least one line.
ssh-keygen -q -t ed25519 -N "" -f "$work/ssh_host_ed25519_key"
cat > "$work/sshd_config" <<EOF
Port 22
ListenAddress $server_ip
HostKey $work/ssh_host_ed25519_key
PidFile none
LogLevel VERBOSE
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
EOF
mkdir -p /run/sshd
ip netns exec "$sns" /usr/sbin/sshd -D -e -E "$work/sshd.log" -f "$work/sshd_config" &
pids+=($!)
wait_for sshd grep -q "Server listening" "$work/sshd.log"

# MariaDB with max_connect_errors raised out of reach, so that blocking does not stop the count
# (with the default, 100, the proxy's address is blocked once the count reaches 100).
mariadb-install-db --no-defaults --datadir="$work/mariadb" --user=root --auth-root-authentication-method=normal \
  --skip-test-db >/dev/null
ip netns exec "$sns" /usr/sbin/mariadbd --no-defaults --datadir="$work/mariadb" --user=root --socket="$work/mariadb.sock" \
  --pid-file="$work/mariadb.pid" --bind-address="$server_ip" --port=3306 --max-connect-errors=1000000 \
  --innodb-buffer-pool-size=16M --skip-log-bin --log-error="$work/mariadb.err" >/dev/null 2>&1 &
pids+=($!)
wait_for MariaDB mariadb --no-defaults -S "$work/mariadb.sock" -uroot -e "SELECT 1"
mariadb --no-defaults -S "$work/mariadb.sock" -uroot -e "CREATE USER 'fo'@'%' IDENTIFIED BY 'fo'; GRANT USAGE ON *.* TO 'fo'@'%'"
mariadb_errors() {
  mariadb --no-defaults -S "$work/mariadb.sock" -uroot -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name = 'Aborted_connects'
    OR Variable_name LIKE 'Connection_errors%'" | awk '$1 == "Aborted_connects" {a += $2} $1 != "Aborted_connects" {e += $2}
    END {print a + 0, e + 0}'
}

# PostgreSQL with log_connections=on (a line per connection its postmaster accepts).
mkdir -p "$work/pg"
chown postgres "$work/pg"
setpriv --reuid=postgres --regid=postgres --init-groups "$pgbin/initdb" -D "$work/pg/data" -A trust >/dev/null
echo "host all all $proxy_ip/32 trust" >> "$work/pg/data/pg_hba.conf"   # the light-traffic clients
ip netns exec "$sns" setpriv --reuid=postgres --regid=postgres --init-groups "$pgbin/postgres" -D "$work/pg/data" -c listen_addresses="$server_ip" -c port=5432 \
  -c unix_socket_directories="$work/pg" -c log_connections=on -c logging_collector=off > "$work/pg.log" 2>&1 &
pids+=($!)
wait_for PostgreSQL grep -q "ready to accept connections" "$work/pg.log"

lines() { wc -l < "$1"; }
sshd_connections() { grep -c "Connection from $proxy_ip" "$work/sshd.log" || true; }

# One client session through each proxy every $1 seconds, in the proxy's namespace, until
# killed; each session that reached its server appends a line to $work/sessions-PORT.
traffic() {
  local every=$1
  while true; do
    local said
    said=$(ip netns exec "$pns" ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o ConnectTimeout=5 -p 10022 fo@127.0.0.1 true 2>&1 || true)   # no key: refused after the key exchange
    case $said in *"Permission denied"*) echo >> "$work/sessions-22" ;; esac
    ip netns exec "$pns" mariadb --no-defaults -h 127.0.0.1 -P 13306 -ufo -pfo --connect-timeout=5 -N -B -e "SELECT 1" \
      >/dev/null 2>&1 && echo >> "$work/sessions-3306"
    ip netns exec "$pns" psql -h 127.0.0.1 -p 15432 -U postgres -d postgres -w -Atc "SELECT 1" >/dev/null 2>&1 \
      && echo >> "$work/sessions-5432"
    sleep "$every"
  done
}
sessions() { [ -f "$work/sessions-$1" ] && wc -l < "$work/sessions-$1" || echo 0; }
per_minute() { awk -v n="$1" -v s="$elapsed" 'BEGIN {printf "%.1f", n * 60 / s}'; }

echo "ForwardOptimal $("$binary" --version 2>/dev/null | head -1), updateInterval $interval s, $seconds s per row"
echo
echo "| probeMode | pool | clients | sshd phantom connections/min | sshd log lines/min | MariaDB Aborted_connects/min | MariaDB Connection_errors_*/min | PostgreSQL phantom connections/min |"
echo "|---|---|---|---|---|---|---|---|"
for mode in "${modes[@]}"; do
  for pool in "${pools[@]}"; do
   for every in "${traffics[@]}"; do
    pool_key=""
    [ "$pool" = "default" ] || pool_key="\"poolSize\": $pool,"
    ssh0=$(lines "$work/sshd.log")
    sc0=$(sshd_connections)
    read -r aborted0 errors0 < <(mariadb_errors)
    pg0=$(grep -c "connection received" "$work/pg.log" || true)
    rm -f "$work"/sessions-*
    proxies=()
    started=$(date +%s.%N)   # per minute of the proxies' lifetime (with traffic it is longer)
    for port in 22 3306 5432; do
      cat > "$work/fo-$port.json" <<EOF
{"bindAddr": "127.0.0.1:1$(printf %04d $port)", "targets": ["$server_ip:$port"], "updateInterval": $interval, $pool_key
 "probeMode": "$mode", "adminAddr": "", "logging": {"loggers": {"root": {"level": "${FO_LOG_LEVEL:-warning}"}}}}
EOF
      ip netns exec "$pns" "$binary" -c "$work/fo-$port.json" > "$work/fo-$port.log" 2>&1 &
      proxies+=($!)
    done
    traffic_pid=""
    if [ "$every" != 0 ]; then
      sleep 1   # the proxies listen
      traffic "$every" &
      traffic_pid=$!
    fi
    sleep "$seconds"
    if [ -n "$traffic_pid" ]; then
      kill "$traffic_pid"
      wait "$traffic_pid" 2>/dev/null || true
      traffic_pid=""
      sleep 5   # a session under way ends
    fi
    kill -TERM "${proxies[@]}"
    wait "${proxies[@]}" || true
    proxies=()
    elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    sleep 1   # the servers log the last closings
    if [ -n "${FO_LOG_DIR:-}" ]; then
      mkdir -p "$FO_LOG_DIR"
      for port in 22 3306 5432; do cp "$work/fo-$port.log" "$FO_LOG_DIR/fo-$mode-$pool-$every-$port.log"; done
    fi
    ssh1=$(lines "$work/sshd.log")
    sc1=$(sshd_connections)
    read -r aborted1 errors1 < <(mariadb_errors)
    pg1=$(grep -c "connection received" "$work/pg.log" || true)
    # The status queries above reach MariaDB over its socket, not from the proxy: not counted.
    clients="idle"
    [ "$every" = 0 ] || clients="1 per ${every} s ($(sessions 22)/$(sessions 3306)/$(sessions 5432) sessions)"
    echo "| $mode | $([ "$pool" = default ] && echo "default (poolSize 2)" || echo "poolSize $pool") | $clients |" \
      "$(per_minute $((sc1 - sc0 - $(sessions 22)))) | $(per_minute $((ssh1 - ssh0))) |" \
      "$(per_minute $((aborted1 - aborted0))) | $(per_minute $((errors1 - errors0))) |" \
      "$(per_minute $((pg1 - pg0 - $(sessions 5432)))) |"
   done
  done
done
[ -z "${FO_LOG_DIR:-}" ] || cp "$work/sshd.log" "$work/mariadb.err" "$work/pg.log" "$FO_LOG_DIR/"
echo
echo "sshd's lines, last run:"; tail -n 4 "$work/sshd.log" | sed 's/^/  /'
echo "MariaDB's error log, last lines:"; tail -n 2 "$work/mariadb.err" | sed 's/^/  /'
echo "PostgreSQL's log, last lines:"; tail -n 2 "$work/pg.log" | sed 's/^/  /'
