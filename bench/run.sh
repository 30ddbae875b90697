#!/usr/bin/env bash
# The benchmark of bench/README.md: tlsgate, HAProxy, nginx (stream) and
# stunnel, each with one worker, in front of the same loopback backend.
#   bench/run.sh BUILD_DIR    (BUILD_DIR holds tlsgate and bench/tlsgate-loadgen)
# Knobs (environment):
#   BENCH_QUICK=1           short runs, one repetition (a smoke run)
#   BENCH_SYSTEMS="..."     from: tlsgate haproxy nginx stunnel
#   BENCH_MODES="..."       from: idle full resumed latency pingpong bulk bulk_up rsa scaling reload speed
#                           pgbench (opt-in; its own knobs BENCH_PG_* are in bench/pgbench.sh)
#                           natsbench (opt-in; BENCH_NATS_* in bench/natsbench.sh)
#                           redisbench (opt-in; BENCH_REDIS_* in bench/redisbench.sh)
#   BENCH_REPS=N            repetitions (default 3; quick 1)
#   BENCH_DURATION=S        seconds per measured run (default 5; quick 1.5)
#   BENCH_IDLE_CONNS=N      idle connections (default 2000; quick 1000)
#   BENCH_LATENCY_RATE=R    ping-pong requests/s over 16 connections (default 2000)
#   BENCH_PINGPONG_CONNS="8 64 512"  connection counts of the closed-loop 1 KiB ping-pong
#   BENCH_PINGPONG_DURATION=S  seconds per ping-pong run (default 3; quick 1)
#   BENCH_ROTATIONS=N       certificate rotations (default 50; quick 10)
#   BENCH_RELOAD_SETTLE=D   server.reload_settle for the reload run (default: tlsgate's)
#   BENCH_SERVER_CPU, BENCH_LOAD_CPU  cores for the system and the load (default 1 and 0)
#   BENCH_PRIO=rt|nice|none priority of the systems and the load, as root (default rt:
#                           SCHED_FIFO, so a compiler running beside does not skew rates)
#   BENCH_KEEP=1            keep the temp dir (configs, logs, raw results)
# Everything listens on 127.0.0.1; certificates are made into a temp dir.
set -euo pipefail

build=$(realpath "${1:?usage: bench/run.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
tlsgate=$build/tlsgate
loadgen=$build/bench/tlsgate-loadgen
for b in "$tlsgate" "$loadgen"; do
  [ -x "$b" ] || { echo "bench: $b is missing; run make bench" >&2; exit 2; }
done
python=$(command -v /usr/bin/python3 || command -v python3 || true)
[ -n "$python" ] || { echo "bench: python3 is needed for the summary (apt-get install python3)" >&2; exit 2; }

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  def_reps=1 def_duration=1.5 def_idle=1000 def_rotations=10 def_pp_duration=1
else
  def_reps=3 def_duration=5 def_idle=2000 def_rotations=50 def_pp_duration=3
fi
systems=${BENCH_SYSTEMS:-tlsgate haproxy nginx stunnel}
modes=${BENCH_MODES:-idle full resumed latency pingpong bulk scaling reload speed}
reps=${BENCH_REPS:-$def_reps}
duration=${BENCH_DURATION:-$def_duration}
idle_conns=${BENCH_IDLE_CONNS:-$def_idle}
latency_rate=${BENCH_LATENCY_RATE:-2000}
pingpong_conns=${BENCH_PINGPONG_CONNS:-8 64 512}
pingpong_duration=${BENCH_PINGPONG_DURATION:-$def_pp_duration}
rotations=${BENCH_ROTATIONS:-$def_rotations}
server_cpu=${BENCH_SERVER_CPU:-1}
load_cpu=${BENCH_LOAD_CPU:-0}

for s in $systems; do
  case $s in tlsgate | haproxy | nginx | stunnel) ;; *)
    echo "bench: unknown system '$s' (tlsgate haproxy nginx stunnel)" >&2; exit 2 ;;
  esac
done
for m in $modes; do
  case $m in idle | full | resumed | latency | pingpong | bulk | bulk_up | rsa | scaling | reload | speed | pgbench | natsbench | redisbench) ;; *)
    echo "bench: unknown mode '$m' (idle full resumed latency pingpong bulk bulk_up rsa scaling reload speed pgbench natsbench redisbench)" >&2
    exit 2 ;;
  esac
done
has_mode() { [[ " $modes " == *" $1 "* ]]; }

# shellcheck source=lib.sh
. "$here/lib.sh"
raw=$work/raw.jsonl
if has_mode pgbench; then
  # shellcheck source=pgbench.sh
  . "$here/pgbench.sh"
fi
if has_mode natsbench; then
  # shellcheck source=natsbench.sh
  . "$here/natsbench.sh"
fi
if has_mode redisbench; then
  # shellcheck source=redisbench.sh
  . "$here/redisbench.sh"
fi
: >"$raw"

# measure SYSTEM REP MODE KEY EXTRA CPUS -- LOADGEN ARGS...: runs the loadgen
# on CPUS against the running system, appends {"system","rep","mode","key",
# EXTRA "exit","result"} to raw (EXTRA: more JSON members with a trailing comma).
measure() {
  local system=$1 rep=$2 mode=$3 key=$4 extra=$5 cpus=$6
  shift 7
  local out rc=0
  out=$(on_cpus "$cpus" "$loadgen" "$@" --port "$port" --ca "$ca" --watch-pid "$watch_pid") || rc=$?
  out=$(printf '%s\n' "$out" | tail -1)
  [ -n "$out" ] || out='{"failures":-1,"first_error":"no output"}'
  echo "{\"system\":\"$system\",\"rep\":$rep,\"mode\":\"$mode\",\"key\":\"$key\",$extra\"exit\":$rc,\"result\":$out}" >>"$raw"
  log "$system rep $rep $mode: $out"
}

# ---- the crypto limit of this machine (on the system's core) -------------------
if has_mode speed; then
  secs=3
  [ "$quick" = 1 ] && secs=1
  log "openssl speed (${secs}s per algorithm)"
  {
    (on_cpus "$server_cpu" openssl speed -mr -seconds "$secs" ecdsap256 rsa2048 ecdhx25519 2>/dev/null)
    (on_cpus "$server_cpu" openssl speed -mr -seconds "$secs" -evp aes-128-gcm -bytes 16384 2>/dev/null)
  } | grep '^+' >"$work/speed.txt" || true
  syscall_ns=$(on_cpus "$server_cpu" "$loadgen" syscall-cost | sed -n 's/.*"ns_per_syscall":\([0-9.e+]*\).*/\1/p')
fi

# ---- per system ------------------------------------------------------------
per_system_modes=""
for m in idle full resumed latency bulk bulk_up; do has_mode "$m" && per_system_modes+=" $m"; done
for rep in $(seq "$reps"); do
  for system in $systems; do
    if [ -n "$per_system_modes" ]; then
      start_system "$system" ecdsa 1 "$server_cpu"
      warm_up "$system"
      for m in $per_system_modes; do
        case $m in
          idle) measure "$system" "$rep" idle ecdsa "" "$load_cpu" -- idle \
            --connections "$idle_conns" --concurrency 64 ;;
          full) measure "$system" "$rep" full ecdsa "" "$load_cpu" -- handshake \
            --duration "$duration" --concurrency 16 ;;
          resumed) measure "$system" "$rep" resumed ecdsa "" "$load_cpu" -- handshake \
            --resume --duration "$duration" --concurrency 16 ;;
          latency) measure "$system" "$rep" latency ecdsa "" "$load_cpu" -- latency \
            --duration "$duration" --rate "$latency_rate" --concurrency 16 --size 1024 ;;
          bulk) measure "$system" "$rep" bulk ecdsa "" "$load_cpu" -- bulk \
            --duration "$duration" --direction down ;;
          bulk_up) measure "$system" "$rep" bulk_up ecdsa "" "$load_cpu" -- bulk \
            --duration "$duration" --direction up ;;
        esac
      done
      stop_system
    fi
    if has_mode pingpong; then
      # Closed loop: each connection's next request as soon as its echo is
      # in, so the system's core never idles. Under SCHED_FIFO the kernel's
      # RT throttling (sched_rt_runtime_us: 950 ms of each second) then
      # stops the system for 50 ms every second, and with 512 connections
      # the requests in flight then, 1.3 % of all, measured that stall: p99
      # was 39-61 ms for every system, and p999 at 64 connections 15-40 ms
      # (bench/README.md). This mode runs at nice -20 instead of rt: the
      # largest share the fair scheduler gives (other work at nice 0 gets 1 %
      # of the core, at nice -10, as this machine's own agent runs, 10 %).
      saved_prio=("${prio[@]}")
      [ "${#prio[@]}" -gt 0 ] && [ "${prio[0]}" = chrt ] && prio=(nice -n -20)
      start_system "$system" ecdsa 1 "$server_cpu"
      warm_up "$system"
      for n in $pingpong_conns; do
        measure "$system" "$rep" pingpong ecdsa "\"conns\":$n," "$load_cpu" -- latency \
          --duration "$pingpong_duration" --rate 0 --concurrency "$n" --size 1024
      done
      stop_system
      prio=("${saved_prio[@]}")
    fi
    if has_mode rsa; then
      start_system "$system" rsa 1 "$server_cpu"
      warm_up "$system"
      measure "$system" "$rep" full_rsa rsa "" "$load_cpu" -- handshake \
        --duration "$duration" --concurrency 32
      stop_system
    fi
  done
  # Scaling: RSA-2048 handshakes, where the server is the bottleneck; one
  # thread on its own core against two threads free on both cores.
  if has_mode scaling && [[ " $systems " == *" tlsgate "* ]]; then
    for threads in 1 2; do
      cpus=$server_cpu load=$load_cpu
      [ "$threads" = 2 ] && cpus="$load_cpu,$server_cpu" load="$load_cpu,$server_cpu"
      start_system tlsgate rsa "$threads" "$cpus"
      warm_up tlsgate
      measure tlsgate "$rep" scaling rsa "\"threads\":$threads," "$load" -- handshake \
        --duration "$duration" --concurrency 32
      stop_system
    done
  fi
done

# ---- reload: certificate rotations under load (tlsgate only) -------------------
if has_mode reload && [[ " $systems " == *" tlsgate "* ]]; then
  log "reload: issuing $rotations certificates"
  mkdir -p "$work/reload/policy" "$work/reload/pairs"
  cp -p "$work/ecdsa/public.crt" "$work/ecdsa/private.key" "$work/reload/policy/"
  for i in $(seq "$rotations"); do issue "$work/reload/pairs/$i"; done
  policy_dir=$work/reload/policy reload_settle=${BENCH_RELOAD_SETTLE:-} \
    start_system tlsgate ecdsa 1 "$server_cpu"
  warm_up tlsgate
  measure tlsgate 1 reload ecdsa "" "$load_cpu" -- reload --policy-dir "$work/reload/policy" \
    --pairs "$work/reload/pairs" --rotations "$rotations" --gap-ms 300 --concurrency 2
  stop_system
fi

# ---- pgbench: plaintext, PostgreSQL's own TLS and tlsgate, interleaved -----------
if has_mode pgbench; then
  if [[ " $systems " == *" tlsgate "* ]]; then pgbench_mode; else log "pgbench: skipped: tlsgate is not in BENCH_SYSTEMS"; fi
fi

# ---- natsbench: plaintext nats-server, its own TLS and tlsgate, interleaved ------
if has_mode natsbench; then
  if [[ " $systems " == *" tlsgate "* ]]; then natsbench_mode; else log "natsbench: skipped: tlsgate is not in BENCH_SYSTEMS"; fi
fi

# ---- redisbench: redis-benchmark --tls through tlsgate, nginx and HAProxy --------
if has_mode redisbench; then
  if [[ " $systems " == *" tlsgate "* ]]; then redisbench_mode; else log "redisbench: skipped: tlsgate is not in BENCH_SYSTEMS"; fi
fi

# ---- the summary ------------------------------------------------------------
versions() {
  dpkg-query -W -f='${Package}=${Version}\n' haproxy nginx libnginx-mod-stream stunnel4 openssl libssl3 \
    'postgresql-[0-9]*' 'postgresql-client-[0-9]*' nats-server golang-github-nats-io-go-nats-dev 2>/dev/null | grep -v '=$' || true
}
mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
BENCH_META_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) \
  BENCH_META_CORES=$(nproc) \
  BENCH_META_SYSCALL_NS=${syscall_ns:-} \
  BENCH_META_KERNEL=$(uname -r) \
  BENCH_META_VERSIONS=$(versions | tr '\n' ' ') \
  BENCH_META_TLSGATE=$("$tlsgate" version 2>/dev/null | head -1 || echo unknown) \
  BENCH_META_COMMIT=$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown) \
  BENCH_META_BUILD=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || echo unknown) \
  BENCH_META_SETTINGS="quick=$quick prio=${BENCH_PRIO:-rt} reps=$reps duration=${duration}s idle=$idle_conns latency_rate=$latency_rate pingpong_conns=${pingpong_conns// /,} pingpong_duration=${pingpong_duration}s rotations=$rotations server_cpu=$server_cpu load_cpu=$load_cpu" \
  "$python" "$here/summary.py" --raw "$raw" --speed "$work/speed.txt" \
  --out "$here/results/$stamp.json"
