#!/usr/bin/env bash
# Runs, in a ThreadSanitizer build (make test-tsan), the unit tests and the
# e2e suites whose gates reload under traffic (and ACME's, whose manager
# thread publishes challenges to the workers): every report fails the run.
# The gate under test is the TSan-built binary, so races in reload, the
# watcher thread, the registry and the workers are all seen. Each process
# writes its reports to BUILD/tsan/report.PID; ctest's verdict alone would
# miss a report from a gate child that exits 0.
#   scripts/test-tsan.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: scripts/test-tsan.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
reports="$build/tsan"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="log_path=$reports/report suppressions=$root/scripts/tsan.supp second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
status=0
(cd "$build" && ctest --output-on-failure -j2 --timeout 900 -L unit) || status=1
(cd "$build" && ctest --output-on-failure -j2 --timeout 900 -R '^(ReloadTest|PasswordCommand|GateData|GateLifecycle|GateLimits|GateShutdown|GateClientAuth|GateStatus|GateFailureReasons|GateAdminContext|AcmeGateTest)\.') || status=1
shopt -s nullglob
found=("$reports"/report.*)
if [ ${#found[@]} -gt 0 ]; then
  echo "ThreadSanitizer: ${#found[@]} report file(s):" >&2
  for f in "${found[@]}"; do echo "=== $f" >&2; cat "$f" >&2; done
  status=1
fi
[ $status -eq 0 ] && echo "ThreadSanitizer: no reports"
exit $status
