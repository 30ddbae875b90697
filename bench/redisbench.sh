# The redisbench mode of bench/run.sh (sourced after lib.sh, not run):
# redis-benchmark --tls (SET and GET, 50 connections, no pipelining) against
# one private plaintext redis-server, through tlsgate, nginx (stream) and
# HAProxy in front of it, and against redis's own TLS port of the same server
# as a reference (plus plaintext), repetitions interleaved.
# The caller sets tlsgate, loadgen, ca, raw, reps, quick, systems, server_cpu
# and load_cpu; lib.sh gives work, pids, log, on_cpus, start_system and
# stop_system.
# Knobs (environment):
#   BENCH_REDIS_REQUESTS=N  requests per redis-benchmark run and test (-n;
#                           default 200000, quick 50000)
#   BENCH_REDIS_CLIENTS=N   connections (-c; default 50)
# shellcheck shell=bash disable=SC2154

redis_port="" redis_tls_port="" redis_pid=""

redis_stop() {
  [ -n "$redis_pid" ] || return 0
  redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill -TERM "$redis_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$redis_pid" 2>/dev/null || true
  redis_pid=""
}
trap 'redis_stop; cleanup' EXIT

redis_cpu_ticks() { # PID: utime + stime of a process (all its threads)
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}

# redis_run NAME REP TEST PORT TLS GATE_PID: one redis-benchmark run of TEST
# (set or get) against PORT; appends a redisbench record with requests/s, the
# latencies redis-benchmark prints, and the CPU of redis-server and of the
# proxy (GATE_PID, - for none) per request.
redis_run() {
  local name=$1 rep=$2 test=$3 port=$4 tls=$5 gpid=$6 out rc=0 s0 s1 g0=0 g1=0 line
  local args=(-h 127.0.0.1 -p "$port" -c "$redis_clients" -n "$redis_requests" -P 1 -t "$test" --csv)
  [ "$tls" = 1 ] && args+=(--tls --sni localhost --cacert "$ca" --tls-ciphersuites TLS_AES_128_GCM_SHA256)
  s0=$(redis_cpu_ticks "$redis_pid")
  [ "$gpid" != - ] && g0=$(redis_cpu_ticks "$gpid")
  out=$( (on_cpus "$load_cpu" timeout -k 5 300 redis-benchmark "${args[@]}") 2>&1) || rc=$?
  s1=$(redis_cpu_ticks "$redis_pid")
  [ "$gpid" != - ] && g1=$(redis_cpu_ticks "$gpid")
  line=$(grep -i "^\"$test\"," <<<"$out" | tail -1 | tr -d '"')
  if [ -z "$line" ]; then
    log "redisbench: $name $test gave no result (exit $rc): $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
    echo "{\"system\":\"$name\",\"rep\":$rep,\"mode\":\"redisbench\",\"key\":\"$test\",\"exit\":$((rc == 0 ? 1 : rc)),\"result\":{\"failures\":1,\"first_error\":\"no result from redis-benchmark\"}}" >>"$raw"
    return 0
  fi
  local tck
  tck=$(getconf CLK_TCK)
  IFS=, read -r _ rps avg _ p50 _ p99 _ <<<"$line"
  local j
  j="{\"requests\":$redis_requests,\"clients\":$redis_clients,\"rps\":$rps,\"avg_ms\":$avg,\"p50_ms\":$p50,\"p99_ms\":$p99"
  j+=",\"redis_cpu_s\":$(awk -v a="$s0" -v b="$s1" -v t="$tck" 'BEGIN{print (b-a)/t}')"
  j+=",\"gate_cpu_s\":$(awk -v a="$g0" -v b="$g1" -v t="$tck" 'BEGIN{print (b-a)/t}')"
  j+=",\"failures\":0}"
  echo "{\"system\":\"$name\",\"rep\":$rep,\"mode\":\"redisbench\",\"key\":\"$test\",\"exit\":$rc,\"result\":$j}" >>"$raw"
  log "redisbench $name rep $rep $test: $j"
}

redisbench_mode() {
  if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    log "redisbench: redis-server and redis-benchmark are needed (scripts/install-deps.sh bench)"
    return 1
  fi
  redis_requests=${BENCH_REDIS_REQUESTS:-200000}
  [ "$quick" = 1 ] && redis_requests=${BENCH_REDIS_REQUESTS:-50000}
  redis_clients=${BENCH_REDIS_CLIENTS:-50}
  # redis-server and the proxy in front of it share the system's core (as on
  # a database host); redis-benchmark runs on the load's. Two single-threaded
  # servers on one core under SCHED_FIFO would only take turns at their own
  # blocking points, so rt becomes nice -10 here, as in the pgbench mode.
  local prio=("${prio[@]}")
  [ "${#prio[@]}" -gt 0 ] && [ "${prio[0]}" = chrt ] && prio=(nice -n -10)
  local dir=$work/redis
  mkdir -p "$dir"
  redis_port=$("$loadgen" freeport)
  redis_tls_port=$("$loadgen" freeport)
  on_cpus "$server_cpu" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir" --tls-port "$redis_tls_port" --tls-cert-file "$work/ecdsa/public.crt" \
    --tls-key-file "$work/ecdsa/private.key" --tls-ca-cert-file "$ca" --tls-auth-clients no \
    --tls-protocols TLSv1.3 --tls-ciphersuites TLS_AES_128_GCM_SHA256 >"$dir/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_listen "$redis_tls_port" "$redis_pid" redis
  wait_listen "$redis_port" "$redis_pid" redis
  echo "{\"system\":\"redisbench\",\"rep\":0,\"mode\":\"redisbench_setup\",\"key\":\"\",\"exit\":0,\"result\":{\"redis\":\"$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')\",\"requests\":$redis_requests,\"clients\":$redis_clients,\"pipeline\":1,\"reps\":$reps,\"server_cpu\":\"$server_cpu\",\"load_cpu\":\"$load_cpu\",\"prio\":\"${prio[*]:-none}\"}}" >>"$raw"

  local targets=(plain redis_tls) s rep t saved=$backend_port
  for s in tlsgate nginx haproxy; do [[ " $systems " == *" $s "* ]] && targets+=("$s"); done
  log "redisbench: ${targets[*]}, $reps reps, $redis_requests requests × SET and GET, $redis_clients connections"
  backend_port=$redis_port # the proxies' upstream (start_system reads it)
  for rep in $(seq "$reps"); do
    for t in "${targets[@]}"; do
      case $t in
        plain) for x in set get; do redis_run plain "$rep" "$x" "$redis_port" 0 -; done ;;
        redis_tls) for x in set get; do redis_run redis_tls "$rep" "$x" "$redis_tls_port" 1 -; done ;;
        *)
          start_system "$t" ecdsa 1 "$server_cpu"
          # warm-up: a short run, not recorded
          (on_cpus "$load_cpu" timeout -k 5 60 redis-benchmark -h 127.0.0.1 -p "$port" -c 10 -n 2000 \
            -t get --csv --tls --sni localhost --cacert "$ca" >/dev/null 2>&1) || log "redisbench: warm-up of $t failed"
          for x in set get; do redis_run "$t" "$rep" "$x" "$port" 1 "$watch_pid"; done
          stop_system
          ;;
      esac
    done
  done
  backend_port=$saved
  redis_stop
}
