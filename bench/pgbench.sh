# The pgbench mode of bench/run.sh (sourced after lib.sh, not run): pgbench
# TPS and latency against one private PostgreSQL, over three transports in the
# same run — plaintext, PostgreSQL's own TLS (ssl=on) and tlsgate
# (protocol=postgres) in front of it — repetitions interleaved.
# The caller sets tlsgate, loadgen, ca, raw, reps, quick, server_cpu and
# load_cpu; lib.sh gives work, pids, log, on_cpus and wait_listen.
# Knobs (environment):
#   BENCH_PG_DURATION=S     seconds per pgbench run (pgbench -T; default 10, quick 3)
#   BENCH_PG_WORKLOADS=".." from: select update connect (default all three)
#   BENCH_PG_SCALE=N        pgbench -i -s N (default 10)
#   BENCH_PG_CLIENTS=N      pgbench -c N (default 8; -j 2)
# shellcheck shell=bash disable=SC2154

pg_bin="" pg_data="" pg_port="" pg_gate_port="" pg_gate_pid="" pg_postmaster=""
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)

pg_stop() {
  [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ] || return 0
  timeout -k 5 30 "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 20 stop \
    >/dev/null 2>&1 || { [ -n "$pg_postmaster" ] && kill -KILL "$pg_postmaster" 2>/dev/null; } || true
}
trap 'pg_stop; cleanup' EXIT

# pg_cpu_ticks: CPU of the PostgreSQL server so far, in clock ticks: the
# postmaster's own, its reaped children's (backends that ended: cutime +
# cstime) and its live children's (checkpointer, walwriter, backends).
pg_cpu_ticks() {
  local total=0 p s
  s=$(sed 's/.*) //' "/proc/$pg_postmaster/stat" 2>/dev/null) || { echo 0; return; }
  # After "pid (comm) ", utime..cstime are the fields 12..15.
  total=$(awk '{print $12 + $13 + $14 + $15}' <<<"$s")
  for p in $(pgrep -P "$pg_postmaster" || true); do
    s=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{print $12 + $13}' <<<"$s")))
  done
  echo "$total"
}
own_cpu_ticks() { # PID: utime + stime of a process (all its threads)
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}
pg_children() { pgrep -c -P "$pg_postmaster" || true; }

# pg_check NAME CONNINFO: what the backend saw of one session, and for a TLS
# target what the client negotiated (openssl s_client -starttls postgres).
pg_check() {
  local name=$1 conn=$2 seen tls="" port
  seen=$(PGCONNECT_TIMEOUT=10 timeout 20 psql "$conn" -Atc \
    "select ssl, coalesce(version, ''), coalesce(cipher, '') from pg_stat_ssl where pid = pg_backend_pid()" 2>&1) ||
    { log "pgbench: $name: psql failed: $seen"; return 1; }
  if [[ $conn == *verify-full* ]]; then
    port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conn")
    tls=$(timeout 20 openssl s_client -starttls postgres -connect "127.0.0.1:$port" \
      -servername localhost -CAfile "$ca" -verify_return_error -brief </dev/null 2>&1 |
      sed -n 's/^\(Protocol version\|Ciphersuite\|Peer Temp Key\): *//p' | paste -sd'|' -)
  fi
  log "pgbench: $name: backend session ssl|version|cipher = $seen; client negotiated: ${tls:--}"
  echo "{\"system\":\"$name\",\"rep\":0,\"mode\":\"pgbench_check\",\"key\":\"\",\"exit\":0,\"result\":{\"backend_ssl\":\"$seen\",\"client_tls\":\"$tls\"}}" >>"$raw"
}

# pg_run REP WORKLOAD TARGET CONNINFO: one pgbench run, one record.
pg_run() {
  local rep=$1 workload=$2 target=$3 conn=$4 args=() out rc pg0 pg1 g0=0 g1=0 t0 t1 client wall
  case $workload in
    select) args=(-S) ;;
    update) args=(-N) ;;
    connect) args=(-S -C) ;;
  esac
  args+=(-c "$pg_clients" -j 2 -T "$pg_duration")
  for _ in $(seq 100); do [ "$(pg_children)" -le "$pg_idle_children" ] && break; sleep 0.05; done
  pg0=$(pg_cpu_ticks)
  [ "$target" = tlsgate ] && g0=$(own_cpu_ticks "$pg_gate_pid")
  t0=$(date +%s.%N)
  # `times` after the run: the CPU of the pgbench just waited for.
  out=$( (on_cpus "$load_cpu" timeout -k 5 $((pg_duration + 120)) pgbench "${args[@]}" "$conn" 2>&1)
    echo "exit=$?"
    times)
  t1=$(date +%s.%N)
  # Ended backends are counted once the postmaster has reaped them.
  for _ in $(seq 100); do [ "$(pg_children)" -le "$pg_idle_children" ] && break; sleep 0.05; done
  pg1=$(pg_cpu_ticks)
  [ "$target" = tlsgate ] && g1=$(own_cpu_ticks "$pg_gate_pid")
  printf '%s\n' "$out" >"$work/pg/runs/$rep-$workload-$target.txt"
  rc=$(sed -n 's/^exit=//p' <<<"$out")
  client=$(tail -1 <<<"$out" | awk '{
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
    print s }')
  pick() { sed -n "s/^$1/\\1/p" <<<"$out" | head -1; }
  local tps lat tx failed conn_ms err=""
  tps=$(pick 'tps = \([0-9.]*\) .*')
  lat=$(pick 'latency average = \([0-9.]*\) ms.*')
  tx=$(pick 'number of transactions actually processed: \([0-9]*\).*')
  failed=$(pick 'number of failed transactions: \([0-9]*\).*')
  conn_ms=$(pick 'average connection time = \([0-9.]*\) ms.*')
  [ -n "$conn_ms" ] || conn_ms=$(pick 'initial connection time = \([0-9.]*\) ms.*')
  if [ "$rc" != 0 ] || [ -z "$tps" ]; then
    err=$(grep -v '^exit=\|^[0-9]*m[0-9.]*s ' <<<"$out" | grep -i 'error\|fatal\|abort\|could not' | head -1 | tr -d '\042\134')
    [ -n "$err" ] || err="no tps line"
    [ "${failed:-0}" != 0 ] || failed=1
  fi
  local hz
  hz=$(getconf CLK_TCK)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  local res
  res=$(printf '{"tps":%s,"latency_ms":%s,"transactions":%s,"failures":%s,"conn_ms":%s,"seconds":%s,"wall_s":%s,"pg_cpu_s":%s,"gate_cpu_s":%s,"client_cpu_s":%s%s}' \
    "${tps:-null}" "${lat:-null}" "${tx:-0}" "${failed:-0}" "${conn_ms:-null}" "$pg_duration" "$wall" \
    "$(awk -v a="$pg0" -v b="$pg1" -v h="$hz" 'BEGIN{printf "%.2f", (b - a) / h}')" \
    "$(awk -v a="$g0" -v b="$g1" -v h="$hz" 'BEGIN{printf "%.2f", (b - a) / h}')" \
    "${client:-null}" "${err:+,\"first_error\":\"$err\"}")
  echo "{\"system\":\"$target\",\"rep\":$rep,\"mode\":\"pgbench\",\"key\":\"$workload\",\"exit\":${rc:-1},\"result\":$res}" >>"$raw"
  log "pgbench rep $rep $workload $target: $res"
}

pgbench_mode() {
  pg_bin=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1)
  pg_bin=${pg_bin%/initdb}
  if [ -z "$pg_bin" ] || ! command -v pgbench >/dev/null || ! command -v psql >/dev/null; then
    log "pgbench: skipped: needs PostgreSQL's server, psql and pgbench (scripts/install-deps.sh test)"
    return 0
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    log "pgbench: skipped: running as root and there is no postgres user to run the server as"
    return 0
  fi
  local def_duration=10
  [ "$quick" = 1 ] && def_duration=3
  pg_duration=${BENCH_PG_DURATION:-$def_duration}
  pg_clients=${BENCH_PG_CLIENTS:-8}
  local scale=${BENCH_PG_SCALE:-10} workloads=${BENCH_PG_WORKLOADS:-select update connect} w
  for w in $workloads; do
    case $w in select | update | connect) ;; *)
      log "pgbench: unknown workload '$w' (select update connect)"; exit 2 ;;
    esac
  done
  # SCHED_FIFO for a server of many processes sharing one core with
  # spinlocks is asking for stalls: this mode uses nice -10 instead of rt.
  local prio=("${prio[@]}")
  [ "${#prio[@]}" -gt 0 ] && [ "${prio[0]}" = chrt ] && prio=(nice -n -10)

  # The server: its own folder (owned by postgres when we are root), TLS
  # with the bench's ECDSA certificate (localhost, 127.0.0.1).
  local dir=$work/pg
  mkdir -p "$dir/tls" "$dir/runs"
  cp "$work/ecdsa/public.crt" "$dir/tls/server.crt"
  cp "$work/ecdsa/private.key" "$dir/tls/server.key"
  chmod 0400 "$dir/tls/server.key"
  if [ "$(id -u)" = 0 ]; then
    chmod 0711 "$work" # postgres reaches its own folder, lists nothing else
    chown -R postgres:postgres "$dir/tls"
    chown postgres:postgres "$dir"
  fi
  pg_data=$dir/data
  pg_port=$("$loadgen" freeport)
  log "pgbench: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') in $dir, port $pg_port"
  timeout 120 "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres --no-sync \
    >"$dir/initdb.log" 2>&1 || { log "pgbench: initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
  # Everything but the transport is made cheap and equal: no fsync, data in
  # shared_buffers, no autovacuum waking up in one run and not another
  # (pgbench vacuums before each run). max_connections covers -C's overlap
  # of ending sessions.
  local opts="-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB -c autovacuum=off"
  opts+=" -c max_connections=$((pg_clients * 4 + 20)) -c ssl=on"
  opts+=" -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
  (on_cpus "$server_cpu" timeout 90 "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -w -t 60 \
    -l "$dir/pg.log" -o "$opts" start >"$dir/pg_ctl.log" 2>&1) ||
    { log "pgbench: PostgreSQL did not start:"; cat "$dir/pg_ctl.log" "$dir/pg.log" >&2; exit 1; }
  pg_postmaster=$(head -1 "$pg_data/postmaster.pid")

  local sock="host=$dir port=$pg_port user=postgres dbname=postgres"
  log "pgbench: pgbench -i -s $scale"
  timeout 600 pgbench -i -q -s "$scale" "$sock" >"$dir/init.log" 2>&1 ||
    { log "pgbench: pgbench -i failed:"; cat "$dir/init.log" >&2; exit 1; }

  # The gate, in front of the same server, on the same core.
  pg_gate_port=$("$loadgen" freeport)
  cat >"$dir/tlsgate.conf" <<CONF
ssl.policy.pg.enabled=true
ssl.policy.pg.base_directory=$work/ecdsa
ssl.policy.pg.client_auth=NONE
connector.pg.listen_address=127.0.0.1:$pg_gate_port
connector.pg.upstream_address=127.0.0.1:$pg_port
connector.pg.protocol=postgres
connector.pg.tls_level=REQUIRED
connector.pg.ssl_policy=pg
connector.pg.max_connections=1000
server.worker_threads=1
server.log_level=warn
CONF
  on_cpus "$server_cpu" "$tlsgate" serve -c "$dir/tlsgate.conf" --allow-root >"$work/tlsgate-pg.log" 2>&1 &
  pg_gate_pid=$!
  pids+=("$pg_gate_pid")
  wait_listen "$pg_gate_port" "$pg_gate_pid" tlsgate-pg

  # Both TLS targets: the same client settings (verify-full against the bench
  # CA, SNI localhost), so only the server side differs.
  local common="user=postgres dbname=postgres gssencmode=disable"
  local tls="host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=$ca"
  declare -A conns=(
    [plain]="host=127.0.0.1 port=$pg_port $common sslmode=disable"
    [pg_tls]="$tls port=$pg_port $common"
    [tlsgate]="$tls port=$pg_gate_port $common"
  )
  local targets="plain pg_tls tlsgate" t
  for t in $targets; do pg_check "$t" "${conns[$t]}" || exit 1; done
  if ! grep -q '"pg_tls".*"backend_ssl":"t|TLSv1' "$raw"; then
    log "pgbench: PostgreSQL's own TLS target is not on TLS (pg_stat_ssl); see above"
    exit 1
  fi
  echo "{\"system\":\"pgbench\",\"rep\":0,\"mode\":\"pgbench_setup\",\"key\":\"\",\"exit\":0,\"result\":{\"postgres\":\"$("$pg_bin/postgres" --version | awk '{print $3}')\",\"pgbench\":\"$(pgbench --version | awk '{print $3}')\",\"scale\":$scale,\"clients\":$pg_clients,\"threads\":2,\"duration_s\":$pg_duration,\"reps\":$reps,\"workloads\":\"$workloads\",\"server_cpu\":\"$server_cpu\",\"load_cpu\":\"$load_cpu\",\"prio\":\"${prio[*]:-none}\"}}" >>"$raw"

  # Pages into shared_buffers, and each path once, before anything counts.
  pg_idle_children=$(pg_children)
  for t in $targets; do
    (on_cpus "$load_cpu" timeout 60 pgbench -S -c "$pg_clients" -j 2 -T 1 "${conns[$t]}" >/dev/null 2>&1) ||
      log "pgbench: warm-up over $t failed"
  done
  sleep 0.5
  pg_idle_children=$(pg_children)

  local rep
  for rep in $(seq "$reps"); do
    for w in $workloads; do
      for t in $targets; do pg_run "$rep" "$w" "$t" "${conns[$t]}"; done
    done
  done
  if ! kill -0 "$pg_gate_pid" 2>/dev/null; then
    log "pgbench: the gate exited during the runs; its log:"
    cat "$work/tlsgate-pg.log" >&2
  fi
  stop_pid() { kill -TERM "$1" 2>/dev/null || true; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done; }
  stop_pid "$pg_gate_pid"
  pg_stop
  pg_data=""
}
