#!/usr/bin/env bash
# The layer rule of DESIGN.md, checked on every include line under src/:
#   cli -> admin -> cluster -> acme -> net -> tls -> pki -> config -> util
# A module includes only itself and the modules to its right. On top of that:
# only tls/ and net/ include <openssl/ssl.h> (STYLE.md); config/ includes no
# OpenSSL at all; the event loop (Boost.Asio/Beast) starts at net/; no
# include climbs out of its module with "../".
# The per-module include roots of cmake/tlsgate_module.cmake already make a
# wrong-way project include fail to compile; this script names the rule, and
# catches the system headers those roots cannot hide.
#   scripts/check-layers.sh [SRC_DIR]    exit 0 clean, 1 with one line per violation
set -euo pipefail
src=${1:-$(dirname "$0")/../src}
order=(util config pki tls net acme cluster admin cli)
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done

bad=0
complain() { echo "$1: $2" >&2; bad=1; }

# One grep, then one pass over its "FILE:LINE:TEXT" lines.
while IFS=: read -r file lineno line; do
  rel=${file#"$src"/}
  mod=${rel%%/*}
  mine=${rank[$mod]:--1}
  where="src/$rel:$lineno"
  [ "$mine" -ge 0 ] || { complain "$where" "module '$mod' is not in the layer list of scripts/check-layers.sh; add it where DESIGN.md puts it"; continue; }
  [[ $line =~ include[[:space:]]*[\<\"]([^\>\"]+)[\>\"] ]] || continue
  inc=${BASH_REMATCH[1]}
  case $inc in
    ../* | */../*) complain "$where" "\"$inc\" climbs out of its folder; include it by its module path (\"module/file.h\")"; continue ;;
  esac
  target=${inc%%/*}
  if [ "$target" != "$inc" ] && [ "${rank[$target]:--1}" -gt "$mine" ]; then
    complain "$where" "$mod/ may not include $inc: layers run cli -> admin -> cluster -> acme -> net -> tls -> pki -> config -> util, and a module uses only those to its right (DESIGN.md)"
    continue
  fi
  case $inc in
    openssl/ssl.h | openssl/tls1.h)
      [[ $mod == tls || $mod == net ]] || complain "$where" "$mod/ may not include <$inc>: only tls/ and net/ speak TLS (STYLE.md)" ;;
    openssl/*)
      [[ $mod == config || $mod == util ]] && complain "$where" "$mod/ may not include <$inc>: config/ and util/ know no OpenSSL (STYLE.md)" ;;
    boost/asio* | boost/beast* | asio.hpp)
      [ "$mine" -ge "${rank[net]}" ] || complain "$where" "$mod/ may not include <$inc>: the event loop starts at net/; tls/ and below know no sockets (DESIGN.md)" ;;
  esac
done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include' --include='*.h' --include='*.cc' "$src" | sort)

if [ "$bad" -ne 0 ]; then
  echo "check-layers: include rule broken (see DESIGN.md, Layers); move the code to the right layer or pass what it needs in from above" >&2
  exit 1
fi
