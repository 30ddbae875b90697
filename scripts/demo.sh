#!/usr/bin/env bash
# `make run`: a demo CA and server certificate under ./demo/, laid out for a
# policy and checked, to show the tooling end to end.
set -euo pipefail
bin=${1:-build/tlsgate}
cd "$(dirname "$0")/.."
demo=demo
mkdir -p "$demo"

"$bin" --help
echo
if [ ! -f "$demo/ca/ca.key" ]; then
  "$bin" cert ca --out "$demo/ca" --name "tlsgate demo CA"
fi
"$bin" cert issue --ca "$demo/ca" --out "$demo/server" localhost 127.0.0.1 ::1
"$bin" cert install --scope demo --cert "$demo/server/public.crt" --key "$demo/server/private.key" \
  --ca "$demo/ca/ca.crt" --base "$demo"
cat > "$demo/tlsgate.conf" <<'CONF'
# The demo policy laid out by `tlsgate cert install --scope demo`.
ssl.policy.demo.enabled=true
ssl.policy.demo.client_auth=OPTIONAL
CONF
echo
"$bin" cert inspect "$demo/certificates/demo/public.crt"
echo
"$bin" check -c "$demo/tlsgate.conf"
