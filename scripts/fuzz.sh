#!/usr/bin/env bash
# Runs every libFuzzer harness of a TLSGATE_FUZZ build for a bounded time.
#   scripts/fuzz.sh BUILD_DIR [SECONDS]       (SECONDS default: $FUZZ_SECONDS, else 30)
# Each harness (BUILD_DIR/tests/fuzz/*_fuzz) runs for SECONDS on a fresh temp
# dir (where new inputs go; deleted afterwards) plus its committed corpus
# tests/fuzz/corpus/NAME and the key seeds minted at build time in
# BUILD_DIR/tests/fuzz/corpus-keys/NAME. FUZZ_JOBS harnesses run at once
# (default 2). Any crash, sanitizer report, leak, timeout (FUZZ_TIMEOUT s per
# input, default 20) or out-of-memory fails the run; the input that did it is
# kept in BUILD_DIR/fuzz-artifacts/ and the harness's log is printed.
# FUZZ_ONLY=regex limits the run to matching harness names.
set -euo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-${FUZZ_SECONDS:-30}}
jobs=${FUZZ_JOBS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
artifacts="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
rm -f "$logs"/*.log "$logs"/*.rc

mapfile -t harnesses < <(find "$build/tests/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x \
  -printf '%f\n' 2>/dev/null | sed 's/_fuzz$//' | grep -E "${FUZZ_ONLY:-.}" | sort)
if [ ${#harnesses[@]} -eq 0 ]; then
  echo "fuzz: no harness in $build/tests/fuzz; configure with clang and -DTLSGATE_SANITIZE=ON" \
    "(or -DTLSGATE_FUZZ=ON) and build the target fuzzers" >&2
  exit 2
fi

run_one() {
  local name=$1 tmp rc=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlsgate-fuzz-$name.XXXXXX")
  local dirs=("$tmp")
  [ -d "$FUZZ_ROOT/tests/fuzz/corpus/$name" ] && dirs+=("$FUZZ_ROOT/tests/fuzz/corpus/$name")
  [ -d "$FUZZ_BUILD/tests/fuzz/corpus-keys/$name" ] && dirs+=("$FUZZ_BUILD/tests/fuzz/corpus-keys/$name")
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$FUZZ_BUILD/tests/fuzz/${name}_fuzz" -max_total_time="$FUZZ_SECS" \
    -timeout="${FUZZ_TIMEOUT:-20}" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$FUZZ_ARTIFACTS/$name-" "${dirs[@]}" >"$FUZZ_LOGS/$name.log" 2>&1 || rc=$?
  rm -rf "$tmp"
  echo "$rc" >"$FUZZ_LOGS/$name.rc"
}
export -f run_one
export FUZZ_ROOT="$root" FUZZ_BUILD="$build" FUZZ_SECS="$seconds" FUZZ_ARTIFACTS="$artifacts" \
  FUZZ_LOGS="$logs"

echo "fuzz: ${#harnesses[@]} harnesses, ${seconds}s each, $jobs at a time"
start=$SECONDS
printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

failed=0
printf '%-14s %10s %9s %7s %7s  %s\n' harness runs exec/s cov ft result
for name in "${harnesses[@]}"; do
  log="$logs/$name.log"
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
  done_line=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  result=ok
  if [ "$rc" != 0 ] || [ -z "$done_line" ]; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-14s %10s %9s %7s %7s  %s\n' "$name" "${runs:--}" "${eps:--}" "${cov:--}" "${ft:--}" \
    "$result"
done
for name in "${harnesses[@]}"; do
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
  if [ "$rc" != 0 ] || ! grep -aqE '^#[0-9]+[[:space:]]+DONE' "$logs/$name.log"; then
    echo "---- $name: last lines of $logs/$name.log" >&2
    tail -60 "$logs/$name.log" >&2
    ls "$artifacts"/"$name"-* 2>/dev/null | sed 's/^/fuzz: failing input kept: /' >&2 || true
  fi
done
echo "fuzz: done in $((SECONDS - start))s"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a harness failed; turn the kept input into a byte-vector test in tests/unit/<module>/" >&2
  exit 1
fi
