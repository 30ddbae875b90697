# Shared by bench/run.sh and bench/profile.sh (sourced, not run): a temp dir
# cleaned up on exit, certificates, the backend, and starting and stopping
# each system under test. The caller sets tlsgate, loadgen, server_cpu and
# load_cpu first.
# shellcheck shell=bash disable=SC2154

work=$(mktemp -d /tmp/tlsgate-bench.XXXXXX)
pids=()
wrap=()           # a command the systems run under (profile.sh: valgrind)
single_process="" # set: nginx without its master (valgrind follows no fork)
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log() { echo "bench: $*" >&2; }

# on_cpus CPUS COMMAND...: runs COMMAND (exec, so `on_cpus … &` leaves its pid
# in $!) pinned to CPUS at the priority BENCH_PRIO picks (as root):
#   rt    SCHED_FIFO 1 (default): the systems and the load preempt anything
#         else on the machine, such as a compiler, so rates and latencies do not
#         measure the scheduler; the kernel still leaves others 5% of each core
#   nice  nice -10
#   none  as started
prio=()
if [ "$(id -u)" = 0 ]; then
  case ${BENCH_PRIO:-rt} in
    rt) prio=(chrt -f 1) ;;
    nice) prio=(nice -n -10) ;;
    none) ;;
    *) echo "bench: BENCH_PRIO is rt, nice or none" >&2; exit 2 ;;
  esac
fi
on_cpus() {
  local cpus=$1
  shift
  exec taskset -c "$cpus" "${prio[@]}" "$@"
}

# ---- certificates -------------------------------------------------------
"$tlsgate" cert ca --out "$work/ca" --name "tlsgate bench CA" --days 2 >/dev/null
issue() { # DIR [--rsa BITS]
  local out=$1
  shift
  "$tlsgate" cert issue --ca "$work/ca" --out "$out" --server --days 2 "$@" localhost 127.0.0.1 >/dev/null
}
issue "$work/ecdsa"
issue "$work/rsa" --rsa 2048
for k in ecdsa rsa; do cat "$work/$k/public.crt" "$work/$k/private.key" >"$work/$k/combined.pem"; done
ca=$work/ca/ca.crt

# ---- the backend ------------------------------------------------------------
on_cpus "$load_cpu" "$loadgen" backend --port 0 --max-seconds 7200 >"$work/backend.out" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/backend.out" ] && break; sleep 0.05; done
backend_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/backend.out")
[ -n "$backend_port" ] || { log "the backend did not start"; exit 1; }

# ---- systems ------------------------------------------------------------------
listening() { # PORT
  grep -qi ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp
}
wait_listen() { # PORT PID NAME
  for _ in $(seq 200); do
    listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  log "$3 did not start listening on 127.0.0.1:$1; its log:"
  cat "$work/$3.log" >&2 2>/dev/null || true
  exit 1
}

# start_system NAME KEY THREADS CPUS: starts NAME with certificate KEY (ecdsa
# or rsa) on a free port; sets port, main_pid (to stop) and watch_pid (whose
# CPU and memory are measured). Optional: policy_dir (tlsgate's certificate
# folder), reload_settle (its server.reload_settle).
start_system() {
  local name=$1 key=$2 threads=$3 cpus=$4 dir=$work/$1
  mkdir -p "$dir"
  port=$("$loadgen" freeport)
  local crt=$work/$key/public.crt pkey=$work/$key/private.key
  case $name in
    tlsgate)
      cat >"$dir/tlsgate.conf" <<CONF
ssl.policy.bench.enabled=true
ssl.policy.bench.base_directory=${policy_dir:-$work/$key}
ssl.policy.bench.client_auth=NONE
ssl.policy.bench.tls_versions=TLSv1.3
ssl.policy.bench.ciphers=TLS_AES_128_GCM_SHA256
ssl.policy.bench.groups=X25519
connector.bench.listen_address=127.0.0.1:$port
connector.bench.upstream_address=127.0.0.1:$backend_port
connector.bench.ssl_policy=bench
connector.bench.max_connections=20000
server.worker_threads=$threads
server.log_level=warn
${reload_settle:+server.reload_settle=$reload_settle}
CONF
      on_cpus "$cpus" "${wrap[@]}" "$tlsgate" serve -c "$dir/tlsgate.conf" --allow-root >"$work/$name.log" 2>&1 &
      main_pid=$!
      ;;
    haproxy)
      cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread $threads
  maxconn 8000
  ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend bench
  bind 127.0.0.1:$port ssl crt $work/$key/combined.pem ssl-min-ver TLSv1.3 ciphersuites TLS_AES_128_GCM_SHA256 curves X25519
  default_backend backend
backend backend
  server b1 127.0.0.1:$backend_port
CONF
      on_cpus "$cpus" "${wrap[@]}" haproxy -db -f "$dir/haproxy.cfg" >"$work/$name.log" 2>&1 &
      main_pid=$!
      ;;
    nginx)
      cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
${single_process:+master_process off;}
worker_processes $threads;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $work/$name.log warn;
events { worker_connections 16000; }
stream {
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $crt;
    ssl_certificate_key $pkey;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    ssl_ecdh_curve X25519;
    ssl_session_tickets on;
    proxy_pass 127.0.0.1:$backend_port;
  }
}
CONF
      on_cpus "$cpus" "${wrap[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e "$work/$name.log" >"$work/$name.out" 2>&1 &
      main_pid=$!
      ;;
    stunnel)
      cat >"$dir/stunnel.conf" <<CONF
foreground = yes
pid = $dir/stunnel.pid
output = $work/$name.log
debug = 3
syslog = no
[bench]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$backend_port
cert = $crt
key = $pkey
sslVersionMin = TLSv1.3
ciphersuites = TLS_AES_128_GCM_SHA256
curves = X25519
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
CONF
      on_cpus "$cpus" "${wrap[@]}" stunnel4 "$dir/stunnel.conf" >>"$work/$name.log" 2>&1 &
      main_pid=$!
      ;;
  esac
  pids+=("$main_pid")
  wait_listen "$port" "$main_pid" "$name"
  watch_pid=$main_pid
  if [ "$name" = nginx ] && [ -z "$single_process" ]; then # the worker does the work
    watch_pid=""
    for _ in $(seq 100); do
      watch_pid=$(pgrep -P "$main_pid" | head -1 || true)
      [ -n "$watch_pid" ] && break
      sleep 0.05
    done
    [ -n "$watch_pid" ] || { log "nginx started no worker"; exit 1; }
  fi
}

stop_system() {
  kill -TERM "$main_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$main_pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$main_pid" 2>/dev/null || true
  wait "$main_pid" 2>/dev/null || true
}

warm_up() {
  (on_cpus "$load_cpu" "$loadgen" handshake --port "$port" --ca "$ca" --count 200 \
    --concurrency 4 --duration 10 >/dev/null) || log "warm-up of $1 had failures"
}

