#!/usr/bin/env bash
# Where a system's time goes under one bench load (bench/README.md).
#   bench/profile.sh BUILD_DIR SYSTEM MODE TOOL [SECONDS]
#     SYSTEM  tlsgate haproxy nginx stunnel
#     MODE    full resumed latency pingpong bulk bulk_up (ECDSA certificate), rsa
#     TOOL    perf       perf record (cpu-clock, DWARF call graphs) for SECONDS
#             strace     system calls per operation (strace -c -f over a counted run)
#             callgrind  instructions and calls per function, tlsgate or nginx, 300
#                        operations after the warm-up
#   bench/profile.sh BUILD_DIR syscalls [SECONDS]
#     system calls per operation of several systems side by side: the strace
#     tool for each of BENCH_PROFILE_SYSTEMS (default "tlsgate nginx") and
#     BENCH_PROFILE_MODES (default "full latency pingpong"), then one table.
# Reports go to bench/results/profile-SYSTEM-MODE-TOOL-STAMP/ (git-ignored).
# The system runs on core BENCH_SERVER_CPU (1), the load on BENCH_LOAD_CPU (0).
set -euo pipefail

if [ "${2:-}" = syscalls ]; then
  build=${1:?usage: bench/profile.sh BUILD_DIR syscalls [SECONDS]}
  seconds=${3:-5}
  here=$(cd "$(dirname "$0")" && pwd)
  table=$here/results/syscalls-$(date -u +%Y%m%dT%H%M%SZ).txt
  mkdir -p "$here/results"
  dirs=()
  for m in ${BENCH_PROFILE_MODES:-full latency pingpong}; do
    for s in ${BENCH_PROFILE_SYSTEMS:-tlsgate nginx}; do
      d=$("$0" "$build" "$s" "$m" strace "$seconds" 2>&1 >/dev/null | sed -n 's/^bench: reports in //p' | tail -1)
      if [ -z "$d" ] || [ ! -s "$d/counts.txt" ]; then
        echo "profile: the strace run of $s $m failed${d:+ (see $d)}" >&2
        exit 1
      fi
      dirs+=("$s:$m:$d")
    done
  done
  # One column per system and mode: calls per operation, grouped.
  for e in "${dirs[@]}"; do
    IFS=: read -r s m d <<<"$e"
    sed "s/^/$s $m /" "$d/counts.txt"
  done | awk '
    function group(n) {
      if (n == "epoll_ctl") return "epoll_ctl"
      if (n == "epoll_wait" || n == "epoll_pwait" || n == "epoll_pwait2") return "epoll_wait"
      if (n == "read" || n == "recvfrom" || n == "recvmsg" || n == "readv") return "read/recvfrom"
      if (n == "write" || n == "sendto" || n == "sendmsg" || n == "writev") return "write/sendto/sendmsg"
      if (n == "accept" || n == "accept4") return "accept4"
      if (n == "connect" || n == "socket" || n == "close" || n == "shutdown") return "socket/connect/close"
      if (n == "setsockopt" || n == "getsockopt" || n == "getsockname" || n == "getpeername" || n == "ioctl" || n == "fcntl") return "sockopt/ioctl/fcntl"
      return "other"
    }
    $3 == "#ops" { ops[$1 " " $2] = $4; unit[$1 " " $2] = $5; next }
    { col = $1 " " $2; if (!(col in seen)) { seen[col] = 1; cols[++nc] = col }
      v[col, group($3)] += $4; v[col, "total"] += $4 }
    END {
      split("epoll_ctl epoll_wait read/recvfrom write/sendto/sendmsg accept4 socket/connect/close sockopt/ioctl/fcntl other total", rows, " ")
      printf "%-22s", "calls per operation"
      for (i = 1; i <= nc; i++) printf "%18s", cols[i]
      printf "\n%-22s", "(operation)"
      for (i = 1; i <= nc; i++) printf "%18s", unit[cols[i]] " ×" ops[cols[i]]
      printf "\n"
      for (r = 1; r <= 9; r++) {
        printf "%-22s", rows[r]
        for (i = 1; i <= nc; i++) printf "%18.2f", (ops[cols[i]] > 0 ? v[cols[i], rows[r]] / ops[cols[i]] : 0)
        printf "\n"
      }
    }' | tee "$table"
  echo "profile: table in $table; per-call detail in the directories:" >&2
  printf '  %s\n' "${dirs[@]##*:}" >&2
  exit 0
fi

build=$(realpath "${1:?usage: bench/profile.sh BUILD_DIR SYSTEM MODE TOOL [SECONDS]}")
system=${2:?system: tlsgate haproxy nginx stunnel}
mode=${3:?mode: full resumed latency bulk bulk_up rsa}
tool=${4:?tool: perf strace callgrind}
seconds=${5:-10}
here=$(cd "$(dirname "$0")" && pwd)
tlsgate=$build/tlsgate
loadgen=$build/bench/tlsgate-loadgen
server_cpu=${BENCH_SERVER_CPU:-1}
load_cpu=${BENCH_LOAD_CPU:-0}
case $system in tlsgate | haproxy | nginx | stunnel) ;; *) echo "profile: unknown system $system" >&2; exit 2 ;; esac
case $mode in full | resumed | latency | pingpong | bulk | bulk_up | rsa) ;; *) echo "profile: unknown mode $mode" >&2; exit 2 ;; esac
case $tool in perf | strace | callgrind) ;; *) echo "profile: unknown tool $tool" >&2; exit 2 ;; esac
if [ "$tool" = callgrind ] && [ "$system" != tlsgate ] && [ "$system" != nginx ]; then
  echo "profile: callgrind starts the system itself; only tlsgate and nginx are set up for it" >&2
  exit 2
fi
command -v "${tool/callgrind/valgrind}" >/dev/null || {
  echo "profile: $tool is not installed (scripts/install-deps.sh bench)" >&2
  exit 2
}
out=$here/results/profile-$system-$mode-$tool-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

# shellcheck source=lib.sh
. "$here/lib.sh"

key=ecdsa
[ "$mode" = rsa ] && key=rsa
if [ "$tool" = callgrind ]; then
  wrap=(valgrind --tool=callgrind "--callgrind-out-file=$out/callgrind.out")
  single_process=1
fi
start_system "$system" "$key" 1 "$server_cpu"
warm_up "$system"

# load SECONDS [COUNT]: the mode's load for SECONDS (or COUNT handshakes), in
# the background; sets load_pid, the result goes to $out/load.json.
load() {
  local args=(--port "$port" --ca "$ca" --watch-pid "$watch_pid" --duration "$1")
  [ -n "${2:-}" ] && args+=(--count "$2")
  case $mode in
    full | rsa) args=(handshake "${args[@]}" --concurrency 16) ;;
    resumed) args=(handshake "${args[@]}" --concurrency 16 --resume) ;;
    latency) args=(latency "${args[@]}" --concurrency 16 --rate 2000) ;;
    pingpong) args=(latency "${args[@]}" --concurrency "${BENCH_PROFILE_CONNS:-8}" --rate 0) ;;
    bulk) args=(bulk "${args[@]}" --direction down) ;;
    bulk_up) args=(bulk "${args[@]}" --direction up) ;;
  esac
  on_cpus "$load_cpu" "$loadgen" "${args[@]}" >"$out/load.json" &
  load_pid=$!
}

# unit_of: what one operation is in the load's result, and how many there were
# (handshakes, requests, or MiB streamed); sets unit and ops.
unit_of() {
  local n
  unit=handshake
  ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' "$out/load.json")
  if [ -z "$ops" ]; then
    unit=request
    ops=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$out/load.json")
  fi
  if [ -z "$ops" ]; then
    unit=MiB
    n=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' "$out/load.json")
    ops=$((${n:-0} / 1048576))
  fi
}

case $tool in
  perf)
    load "$((seconds + 2))"
    sleep 1
    perf record -q -F 1999 -e cpu-clock --call-graph dwarf,16384 -p "$watch_pid" \
      -o "$out/perf.data" -- sleep "$seconds" 2>"$out/perf-record.log" || true
    wait "$load_pid" || true
    perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null \
      | grep -v '^$' >"$out/by-library.txt" || true
    perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio -g none \
      --percent-limit 0.3 2>/dev/null | grep -v '^$' >"$out/flat.txt" || true
    perf report -i "$out/perf.data" --children --sort symbol --stdio -g none \
      --percent-limit 1 2>/dev/null | grep -v '^$' >"$out/inclusive.txt" || true
    perf report -i "$out/perf.data" --no-children --sort symbol --stdio \
      -g caller,0.5,callee,function,percent --percent-limit 2 2>/dev/null >"$out/callers.txt" || true
    head -40 "$out/flat.txt"
    ;;
  strace)
    count=2000
    [[ $mode == latency || $mode == pingpong || $mode == bulk* ]] && count=""
    # shellcheck disable=SC2086 # BENCH_STRACE: extra strace options, e.g. "-k -e trace=ioctl"
    strace ${BENCH_STRACE:--c} -f -o "$out/strace.txt" -p "$watch_pid" &
    strace_pid=$!
    sleep 1
    load "$seconds" "$count"
    wait "$load_pid" || true
    sleep 0.5
    kill -INT "$strace_pid" 2>/dev/null || true
    wait "$strace_pid" 2>/dev/null || true
    unit_of
    {
      echo "system calls per $unit ($ops of them in $mode; strace -c -f)"
      awk -v ops="${ops:-0}" '$1 ~ /^[0-9.]+$/ && NF >= 5 && ops > 0 {
          printf "%10.2f  %s\n", $4 / ops, $NF }' "$out/strace.txt" | sort -rn
    } | tee "$out/per-op.txt"
    { # raw counts for `profile.sh BUILD syscalls`
      echo "#ops ${ops:-0} $unit"
      awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$out/strace.txt"
    } >"$out/counts.txt"
    ;;
  callgrind)
    # Counted from after the warm-up to the end of the load: start-up and
    # configuration (which nginx's master does before it forks) stay out.
    callgrind_control -z "$watch_pid" >/dev/null
    if [[ $mode == latency || $mode == pingpong || $mode == bulk* ]]; then
      load "$seconds"
    else
      load 120 300
    fi
    wait "$load_pid" || true
    callgrind_control -d "$watch_pid" >/dev/null
    stop_system
    mv "$out/callgrind.out.1" "$out/callgrind.out"
    callgrind_annotate --inclusive=no "$out/callgrind.out" 2>/dev/null | head -80 >"$out/flat.txt" || true
    callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null | head -120 >"$out/inclusive.txt" || true
    head -50 "$out/flat.txt"
    unit_of
    awk -v ops="${ops:-0}" -v unit="$unit" '/^summary:/ && ops > 0 {
        printf "user-space instructions per %s: %.0f (%d of them)\n", unit, $2 / ops, ops }' \
      "$out/callgrind.out" | tee "$out/per-op.txt"
    ;;
esac
cat "$out/load.json"
log "reports in $out"
