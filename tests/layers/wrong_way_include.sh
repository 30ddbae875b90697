#!/usr/bin/env bash
# Plants a wrong-way include in a copy of src/ and expects check-layers.sh to
# refuse it, naming the file, the line and the rule.
set -euo pipefail
top=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$top/src" "$tmp/src"
printf '#pragma once\n#include "net/session.h"\n' >"$tmp/src/pki/wrong_way.h"
if out=$("$top/scripts/check-layers.sh" "$tmp/src" 2>&1); then
  echo "check-layers.sh accepted pki/ including net/session.h" >&2
  exit 1
fi
want='src/pki/wrong_way.h:2: pki/ may not include net/session.h: layers run cli -> admin -> cluster -> acme -> net -> tls -> pki -> config -> util'
grep -qF "$want" <<<"$out" || { echo "unexpected message: $out" >&2; exit 1; }
echo "refused as expected: $want"
