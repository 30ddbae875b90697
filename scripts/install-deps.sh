#!/usr/bin/env bash
# Installs the Debian packages tlsgate needs to build, test and run its demo.
# Only missing packages are installed; nothing is fetched from outside Debian.
#   scripts/install-deps.sh [build|test|run|bench|lint|fuzz|deb]...   (default: build)
set -euo pipefail

build_pkgs=(build-essential cmake ccache pkg-config openssl libssl-dev
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libexpected-dev libgtest-dev libgmock-dev prometheus-cpp-dev libp11-dev)
test_pkgs=(redis-server redis-tools postgresql postgresql-client
  mariadb-server mariadb-client curl python3 procps iproute2 prometheus chromium
  libnss3-tools default-jre-headless etcd-server etcd-client nats-server nmap golang-go
  golang-github-nats-io-go-nats-dev pebble softhsm2 opensc libengine-pkcs11-openssl zsh)
run_pkgs=(redis-server redis-tools)
bench_pkgs=(haproxy nginx libnginx-mod-stream stunnel4 linux-perf valgrind strace python3
  redis-server redis-tools)
lint_pkgs=(clang-format clang-tidy)
# The sanitizer build is clang's: libFuzzer and the sanitizer runtimes come
# with libclang-rt-14-dev, llvm-symbolizer (package llvm) names the lines.
fuzz_pkgs=(clang libclang-rt-14-dev llvm)
# make deb and its test: dpkg-shlibdeps, man -l, systemd-analyze verify, lintian.
deb_pkgs=(dpkg-dev fakeroot man-db systemd lintian)

want=("${build_pkgs[@]}")
for set in "${@:-build}"; do
  case "$set" in
    build) ;;
    test) want+=("${test_pkgs[@]}" "${deb_pkgs[@]}") ;;
    run) want+=("${run_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    lint) want+=("${lint_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    deb) want+=("${deb_pkgs[@]}") ;;
    *) echo "install-deps: unknown set '$set' (build, test, run, bench, lint, fuzz, deb)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Services from packages (redis, postgresql, mariadb) must not start on their
# own: tests and the demo start private instances on loopback ports.
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy_rc" >/dev/null
  $sudo chmod 755 "$policy_rc"
  trap '$sudo rm -f "$policy_rc"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
