#!/usr/bin/env bash
# Full TLS handshakes per second through tlsgate with the server key in a file
# vs the same kind of key on a SoftHSM token (PKCS#11, ssl.policy.*.private_key=pkcs11:...).
#   bench/pkcs11.sh [BUILD_DIR]     (default build; needs tlsgate and bench/tlsgate-loadgen)
# Same gate binary, same machine, server.worker_threads=2, TLS 1.3, no
# resumption, 16 concurrent clients of tlsgate-loadgen for BENCH_DURATION
# seconds (default 5), for ECDSA P-256 and RSA-2048. It measures what the key
# costs per full handshake: each one is a C_Sign on the token instead of an
# in-process signature (SoftHSM runs inside the gate's process, so its work
# shows in the gate's CPU time, which is the steadier figure on a shared
# machine). Prints one line per run; not part of `make test`.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
duration=${BENCH_DURATION:-5}
module=/usr/lib/softhsm/libsofthsm2.so
tg=$build/tlsgate
lg=$build/bench/tlsgate-loadgen
for f in "$tg" "$lg" "$module"; do
  [ -e "$f" ] || { echo "pkcs11.sh: $f is missing (cmake --build $build --target tlsgate tlsgate-loadgen; scripts/install-deps.sh test)" >&2; exit 1; }
done
work=$(mktemp -d)
gate_pid=""; backend_pid=""
trap '[ -n "$gate_pid" ] && kill $gate_pid 2>/dev/null; [ -n "$backend_pid" ] && kill $backend_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf PKCS11_MODULE_PATH=$module
"$tg" cert ca --out ca --name 'bench CA' >/dev/null
ports=($("$lg" freeport --count 2))
gate_port=${ports[0]} backend_port=${ports[1]}
"$lg" backend --port "$backend_port" --max-seconds 3600 >/dev/null 2>&1 &
backend_pid=$!

run() {  # run KIND(file|token) ALG(ec|rsa)
  local kind=$1 alg=$2 dir=$work/$1-$2 key
  mkdir -p "$dir/trusted"
  if [ "$alg" = ec ]; then pkt=EC:prime256v1; rsa=""; else pkt=rsa:2048; rsa="--rsa 2048"; fi
  if [ "$kind" = file ]; then
    "$tg" cert issue --ca ca --out "$dir" $rsa localhost 127.0.0.1 >/dev/null
    key=$dir/private.key
  else
    softhsm2-util --init-token --free --label "b-$alg" --pin 1234 --so-pin 87654321 >/dev/null
    pkcs11-tool --module $module --token-label "b-$alg" --login --pin 1234 --keypairgen \
      --key-type $pkt --label k --id 01 >/dev/null 2>&1
    # The certificate over the token's key: a CSR signed through the libp11 engine.
    openssl req -new -engine pkcs11 -keyform engine -key "pkcs11:token=b-$alg;object=k;type=private;pin-value=1234" \
      -subj /CN=localhost -out "$dir/gate.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$dir/ext"
    openssl x509 -req -in "$dir/gate.csr" -CA ca/ca.crt -CAkey ca/ca.key -CAcreateserial \
      -days 2 -extfile "$dir/ext" -out "$dir/public.crt" 2>/dev/null
    key="pkcs11:token=b-$alg;object=k;type=private"
  fi
  cat > "$dir/tlsgate.conf" <<CONF
server.worker_threads=2
server.log_level=warn
ssl.policy.b.enabled=true
ssl.policy.b.base_directory=$dir
ssl.policy.b.private_key=$key
ssl.policy.b.client_auth=NONE
ssl.policy.b.tls_versions=TLSv1.3
connector.b.listen_address=127.0.0.1:$gate_port
connector.b.upstream_address=127.0.0.1:$backend_port
connector.b.ssl_policy=b
CONF
  if [ "$kind" = token ]; then
    printf 'ssl.policy.b.pkcs11_module=%s\nssl.policy.b.private_key_password=1234\n' $module >> "$dir/tlsgate.conf"
  fi
  "$tg" serve --allow-root -c "$dir/tlsgate.conf" > "$dir/gate.log" 2>&1 &
  gate_pid=$!
  for _ in $(seq 100); do "$lg" handshake --port "$gate_port" --ca ca/ca.crt --count 1 >/dev/null 2>&1 && break; sleep 0.1; done
  local out
  out=$("$lg" handshake --port "$gate_port" --ca ca/ca.crt --duration "$duration" --concurrency 16 --watch-pid $gate_pid)
  kill $gate_pid; wait $gate_pid 2>/dev/null || true; gate_pid=""
  python3 -c 'import json,sys; r=json.loads(sys.argv[3]); print("%-6s %-4s %7.1f handshakes/s  %5.2f ms gate CPU per handshake  failures %d" % (sys.argv[1], sys.argv[2], r["rate"], 1000*r["cpu_s"]/max(r["handshakes"],1), r["failures"]))' "$kind" "$alg" "$out"
}
for alg in ec rsa; do for kind in file token; do run $kind $alg; done; done
