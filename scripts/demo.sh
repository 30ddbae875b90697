#!/usr/bin/env bash
# `make run`: a demo CA and certificates under ./demo/ (made once), a private
# redis-server on a loopback port, and `tlsgate serve` in front of it with
# TLS. Ctrl-C stops both.
#   DEMO_GATE_PORT (default 6390), DEMO_REDIS_PORT (default 16379)
set -euo pipefail
bin=$(realpath "${1:-build/tlsgate}")
cd "$(dirname "$0")/.."
demo=demo
gate_port=${DEMO_GATE_PORT:-6390}
redis_port=${DEMO_REDIS_PORT:-16379}
mkdir -p "$demo"

if [ ! -f "$demo/ca.key" ]; then
  "$bin" cert ca --out "$demo" --name "tlsgate demo CA"
fi
if [ ! -f "$demo/certificates/redis/public.crt" ]; then
  "$bin" cert issue --ca "$demo" --out "$demo/server" localhost 127.0.0.1 ::1
  "$bin" cert install --scope redis --cert "$demo/server/public.crt" \
    --key "$demo/server/private.key" --ca "$demo/ca.crt" --base "$demo"
  rm -rf "$demo/server"
fi
cat > "$demo/tlsgate.conf" <<CONF
# Made by scripts/demo.sh: TLS in front of a plaintext redis-server.
ssl.policy.redis.enabled=true
ssl.policy.redis.client_auth=OPTIONAL
connector.redis.listen_address=127.0.0.1:$gate_port
connector.redis.upstream_address=127.0.0.1:$redis_port
connector.redis.ssl_policy=redis
server.log_level=info
CONF

"$bin" check -c "$demo/tlsgate.conf"
echo

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --loglevel warning &
redis_pid=$!
# serve refuses root unless told; the demo is local, so say so when root runs it.
as_root=()
[ "$(id -u)" -ne 0 ] || as_root=(--allow-root)
"$bin" serve -c "$demo/tlsgate.conf" "${as_root[@]}" &
gate_pid=$!
trap 'kill -TERM $gate_pid $redis_pid 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/"$gate_port") 2>/dev/null && break
  sleep 0.1
done
cat <<MSG

tlsgate is serving TLS on 127.0.0.1:$gate_port in front of redis-server on 127.0.0.1:$redis_port.
Prove it:
  redis-cli --tls --cacert $demo/ca.crt -p $gate_port ping
  $bin cert pin 127.0.0.1:$gate_port
Ctrl-C stops both.
MSG
wait "$gate_pid"
