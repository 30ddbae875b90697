#!/usr/bin/env bash
# clang-format (check only) and clang-tidy over src/ and tests/, with the
# repo's .clang-format and .clang-tidy. Exits non-zero on any finding.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
scripts/check-layers.sh src
mapfile -t files < <(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc')
clang-format --dry-run --Werror "${files[@]}"
mapfile -t sources < <(git ls-files 'src/*.cc')
run-clang-tidy -p "$build" -j 2 -quiet "${sources[@]/#/$PWD/}" >"$build/clang-tidy.log" 2>&1 || {
  grep -E '(error|warning): ' "$build/clang-tidy.log" | sort -u
  exit 1
}
