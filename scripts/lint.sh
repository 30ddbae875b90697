#!/usr/bin/env bash
# clang-format (check only) and clang-tidy over src/, with the repo's configs.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc')
clang-format --dry-run --Werror "${files[@]}"
mapfile -t sources < <(git ls-files 'src/*.cc')
clang-tidy -p "$build" --quiet "${sources[@]}"
