#!/usr/bin/env bash
# The full form of the soak (bench/README.md, "Soak"): tlsgate-soak --scale
# full against BUILD_DIR/tlsgate, a few minutes; the CI form is tests/soak/.
#   bench/soak.sh BUILD_DIR [tlsgate-soak options...]    e.g. --phases hostile
# Builds tlsgate and tlsgate-soak in BUILD_DIR if needed, prints every check
# as it goes, and keeps one JSON line per phase in
# bench/results/soak-STAMP.json. Exit status: tlsgate-soak's (0 when every
# check passed, 1 when one did not, 2 when the soak could not run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/soak.sh BUILD_DIR [tlsgate-soak options...]}
shift
[ -f "$build/CMakeCache.txt" ] || cmake -S "$here/.." -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"${JOBS:-2}" --target tlsgate tlsgate-soak >&2
mkdir -p "$here/results"
out=$here/results/soak-$(date -u +%Y%m%dT%H%M%SZ).json
echo "soak: kernel $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "RLIMIT_NOFILE hard $(ulimit -Hn), commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown)" >&2
rc=0
"$build/bench/tlsgate-soak" --tlsgate "$build/tlsgate" --scale full --out "$out" "$@" >/dev/null || rc=$?
echo "soak: figures in $out" >&2
exit "$rc"
