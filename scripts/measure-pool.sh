#!/usr/bin/env bash
# Measures what the upstream pool buys: connect-to-first-byte time through a delayed path.
# A target in a network namespace sits behind the TUN delay line (DELAY ms one way) and sends a
# banner on accept, like SSH. From the proxy's namespace, fo_ttfb times COUNT connections:
# directly to the target, through ForwardOptimal with its pool, and without it.
#   ./scripts/measure-pool.sh [DELAY_MS=10] [COUNT=200]
# Needs root (network namespaces). Loopback and the lab's own namespaces only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
delay=${1:-10}
count=${2:-200}
fo_install_packages "${FO_BUILD_PACKAGES[@]}" iproute2
fo_build -DFO_BUILD_TESTS=ON >&2

lab="$FO_ROOT/tests/support/netns_lab.sh"
prefix="fom$$"
work=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  bash "$lab" down "$prefix" || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$lab" check
echo "198.19.0.1 $delay" > "$work/delays"
bash "$lab" up "$prefix" 1 "$FO_BUILD_DIR/tests/fo_delay_line" "$work/delays"
ip netns exec "$prefix-t" "$FO_BUILD_DIR/tests/fo_demo_backend" --listen 198.19.0.1:7000 --name target >/dev/null &
pids+=($!)
sleep 0.5

measure() { ip netns exec "$prefix-p" "$FO_BUILD_DIR/tests/fo_ttfb" "$1" "$count" 100; }

run_proxy() {  # $1 = poolSize
  cat > "$work/fo.json" <<JSON
{"bindAddr": "127.0.0.1:18080", "targets": ["198.19.0.1:7000"], "updateInterval": 5, "poolSize": $1, "adminAddr": "",
 "logging": {"loggers": {"root": {"level": "warning"}}}}
JSON
  ip netns exec "$prefix-p" "$FO_BUILD_DIR/ForwardOptimal" -c "$work/fo.json" &
  local pid=$!
  sleep 1.5
  measure 127.0.0.1:18080
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "connect-to-first-byte, ${delay} ms one way (${count} connections each, 100 ms apart):"
printf '%-28s %s\n' "direct" "$(measure 198.19.0.1:7000)"
printf '%-28s %s\n' "ForwardOptimal, pool 2" "$(run_proxy 2)"
printf '%-28s %s\n' "ForwardOptimal, pool off" "$(run_proxy 0)"
