# The natsbench mode of bench/run.sh (sourced after lib.sh, not run):
# messages/s and CPU per message of NATS publish/subscribe over three
# transports in the same run — plaintext nats-server, nats-server's own TLS
# (--tls) and tlsgate (protocol=nats) in front of the plaintext one —
# repetitions interleaved. The load is tests/e2e/nats/nats_client (nats.go
# from Debian, built here offline): one publisher connection, one subscriber
# connection, every message received.
# The caller sets tlsgate, ca, raw, reps, quick, server_cpu and load_cpu;
# lib.sh gives work, pids, log, on_cpus and wait_listen.
# Knobs (environment):
#   BENCH_NATS_MSGS=N    messages per run (default 1000000; quick 200000)
#   BENCH_NATS_SIZE=B    payload bytes (default 128)
# shellcheck shell=bash disable=SC2154

nats_own_cpu_ticks() { # PID: utime + stime of a process (all its threads)
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}

# nats_run REP TARGET PORT SERVER_PID GATE_PID CA_ARGS...
nats_run() {
  local rep=$1 target=$2 port=$3 spid=$4 gpid=$5
  shift 5
  local s0 s1 g0=0 g1=0 out rc hz rate client
  hz=$(getconf CLK_TCK)
  s0=$(nats_own_cpu_ticks "$spid")
  [ "$gpid" != - ] && g0=$(nats_own_cpu_ticks "$gpid")
  out=$( (on_cpus "$load_cpu" timeout -k 5 600 "$nats_client" load -addr "127.0.0.1:$port" \
    -n "$nats_msgs" -size "$nats_size" -timeout 500s "$@" 2>&1)
    echo "exit=$?"
    times)
  s1=$(nats_own_cpu_ticks "$spid")
  [ "$gpid" != - ] && g1=$(nats_own_cpu_ticks "$gpid")
  rc=$(sed -n 's/^exit=//p' <<<"$out")
  rate=$(sed -n 's/^OK load .* \([0-9.]*\) msgs\/s$/\1/p' <<<"$out")
  client=$(tail -1 <<<"$out" | awk '{
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
    print s }')
  local res err=""
  [ "$rc" = 0 ] && [ -n "$rate" ] || err=$(grep -m1 FAIL <<<"$out" | tr -d '\042\134')
  res=$(printf '{"msgs":%s,"size":%s,"msgs_per_s":%s,"server_cpu_s":%s,"gate_cpu_s":%s,"client_cpu_s":%s%s}' \
    "$nats_msgs" "$nats_size" "${rate:-null}" \
    "$(awk -v a="$s0" -v b="$s1" -v h="$hz" 'BEGIN{printf "%.2f", (b - a) / h}')" \
    "$(awk -v a="$g0" -v b="$g1" -v h="$hz" 'BEGIN{printf "%.2f", (b - a) / h}')" \
    "${client:-null}" "${err:+,\"failures\":1,\"first_error\":\"$err\"}")
  echo "{\"system\":\"$target\",\"rep\":$rep,\"mode\":\"natsbench\",\"key\":\"\",\"exit\":${rc:-1},\"result\":$res}" >>"$raw"
  log "natsbench rep $rep $target: $res"
}

natsbench_mode() {
  local nats_server go
  nats_server=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)
  go=$(command -v go || true)
  if [ -z "$nats_server" ] || [ -z "$go" ] || [ ! -d /usr/share/gocode/src/github.com/nats-io/nats.go ]; then
    log "natsbench: skipped: needs nats-server, golang-go and golang-github-nats-io-go-nats-dev (scripts/install-deps.sh test)"
    return 0
  fi
  local def_msgs=1000000
  [ "$quick" = 1 ] && def_msgs=200000
  nats_msgs=${BENCH_NATS_MSGS:-$def_msgs}
  nats_size=${BENCH_NATS_SIZE:-128}
  local dir=$work/nats
  mkdir -p "$dir"
  nats_client=$dir/nats_client
  (cd "$here/../tests/e2e/nats/nats_client" &&
    env GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOCACHE="$dir/go-cache" \
      HOME="$dir" "$go" build -o "$nats_client" .) >"$dir/go-build.log" 2>&1 ||
    { log "natsbench: building the Go client failed:"; cat "$dir/go-build.log" >&2; exit 1; }

  local plain_port tls_port gate_port plain_pid tls_pid gate_pid
  plain_port=$("$loadgen" freeport)
  tls_port=$("$loadgen" freeport)
  gate_port=$("$loadgen" freeport)
  on_cpus "$server_cpu" "$nats_server" -a 127.0.0.1 -p "$plain_port" >"$work/nats-plain.log" 2>&1 &
  plain_pid=$!
  pids+=("$plain_pid")
  on_cpus "$server_cpu" "$nats_server" -a 127.0.0.1 -p "$tls_port" --tls \
    --tlscert "$work/ecdsa/public.crt" --tlskey "$work/ecdsa/private.key" >"$work/nats-tls.log" 2>&1 &
  tls_pid=$!
  pids+=("$tls_pid")
  cat >"$dir/tlsgate.conf" <<CONF
ssl.policy.nc.enabled=true
ssl.policy.nc.base_directory=$work/ecdsa
ssl.policy.nc.client_auth=NONE
connector.nc.listen_address=127.0.0.1:$gate_port
connector.nc.upstream_address=127.0.0.1:$plain_port
connector.nc.protocol=nats
connector.nc.tls_level=REQUIRED
connector.nc.ssl_policy=nc
server.worker_threads=1
server.log_level=warn
CONF
  on_cpus "$server_cpu" "$tlsgate" serve -c "$dir/tlsgate.conf" >"$work/tlsgate-nats.log" 2>&1 &
  gate_pid=$!
  pids+=("$gate_pid")
  wait_listen "$plain_port" "$plain_pid" nats-plain
  wait_listen "$tls_port" "$tls_pid" nats-tls
  wait_listen "$gate_port" "$gate_pid" tlsgate-nats
  echo "{\"system\":\"natsbench\",\"rep\":0,\"mode\":\"natsbench_setup\",\"key\":\"\",\"exit\":0,\"result\":{\"nats_server\":\"$("$nats_server" --version | awk '{print $2}')\",\"msgs\":$nats_msgs,\"size\":$nats_size,\"reps\":$reps,\"server_cpu\":\"$server_cpu\",\"load_cpu\":\"$load_cpu\",\"prio\":\"${prio[*]:-none}\"}}" >>"$raw"

  # Each path once, small, before anything counts (and a check that it works).
  warm() { # PORT [CA_ARGS...]
    local port=$1
    shift
    (on_cpus "$load_cpu" timeout 60 "$nats_client" pubsub -addr "127.0.0.1:$port" -n 100 "$@" \
      >>"$dir/warmup.log" 2>&1) ||
      { log "natsbench: warm-up over port $port failed:"; cat "$dir/warmup.log" >&2; exit 1; }
  }
  warm "$plain_port"
  warm "$tls_port" -ca "$ca"
  warm "$gate_port" -ca "$ca"
  local rep
  for rep in $(seq "$reps"); do
    nats_run "$rep" nats_plain "$plain_port" "$plain_pid" -
    nats_run "$rep" nats_tls "$tls_port" "$tls_pid" - -ca "$ca"
    nats_run "$rep" tlsgate "$gate_port" "$plain_pid" "$gate_pid" -ca "$ca"
  done
  kill -0 "$gate_pid" 2>/dev/null || { log "natsbench: the gate exited; its log:"; cat "$work/tlsgate-nats.log" >&2; }
}
