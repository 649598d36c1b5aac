#!/usr/bin/env bash
# Installs clang and libFuzzer, builds the fuzz targets of tests/fuzz with ASan and UBSan in
# build-fuzz/ (-DFO_FUZZ=ON), and runs each for SECONDS on a copy of its committed corpus.
# Reports the executions per target; exits non-zero if any target crashed (a property
# violation, a sanitizer report, an escaped exception, a leak, a timeout or running out of memory).
#   ./scripts/fuzz.sh                 60 s per target
#   ./scripts/fuzz.sh 300             300 s per target
#   ./scripts/fuzz.sh 60 endpoint     only the named targets (config, endpoint, proxy_header, inbound_header)
#   FO_FUZZ_MERGE=1 ./scripts/fuzz.sh merge the inputs that found new coverage into
#                                     tests/fuzz/corpus/ (review, then commit them deliberately)
# A crash leaves its input in build-fuzz/fuzz-runs/<target>/; replay it with
#   build-fuzz/tests/fuzz/fuzz_<target> <file>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

seconds=${1:-60}
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 64; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config endpoint proxy_header inbound_header)

FO_BUILD_DIR="$FO_ROOT/build-fuzz"
fo_install_packages "${FO_BUILD_PACKAGES[@]}" clang libclang-rt-14-dev llvm
CXX=clang++ fo_build -DFO_FUZZ=ON -DFO_BUILD_TESTS=OFF

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
runs="$FO_BUILD_DIR/fuzz-runs"
failed=()
summary=()
for target in "${targets[@]}"; do
  binary="$FO_BUILD_DIR/tests/fuzz/fuzz_$target"
  seeds="$FO_ROOT/tests/fuzz/corpus/$target"
  [ -x "$binary" ] && [ -d "$seeds" ] || { echo "unknown fuzz target '$target'" >&2; exit 64; }
  work="$runs/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp "$seeds"/* "$work/corpus/"      # the committed corpus stays as it is
  dict=()
  [ -f "$FO_ROOT/tests/fuzz/$target.dict" ] && dict=(-dict="$FO_ROOT/tests/fuzz/$target.dict")
  fo_log "fuzzing $target for ${seconds}s (log: $work/fuzz.log)"
  status=0
  "$binary" "$work/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" >"$work/fuzz.log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/fuzz.log" | tail -1)
  crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed+=("$target")
    grep -m1 -B2 -A25 -E '^==[0-9]+==|property violated|runtime error|^ALARM' "$work/fuzz.log" >&2 || tail -40 "$work/fuzz.log" >&2
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -printf '  input: %p\n' >&2
  fi
  summary+=("$(printf '%-14s %12s executions  %6s corpus  exit %s' "$target" "${executions:-?}" "$(ls "$work/corpus" | wc -l)" "$status")")
  if [ "${FO_FUZZ_MERGE:-0}" = 1 ] && [ "$status" -eq 0 ]; then
    fo_log "merging new inputs of $target into tests/fuzz/corpus/$target"
    "$binary" -merge=1 "${dict[@]}" "$seeds" "$work/corpus" >"$work/merge.log" 2>&1
  fi
done

fo_log "fuzzing summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in $runs/<target>/)" >&2
  exit 1
fi
echo "no crash"
