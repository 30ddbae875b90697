# The two set-up commands of README.md: `make run` and `make test`.
# Each installs what is missing (Debian packages only), builds and runs.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=

.PHONY: all deps build build-all run test test-fast asan-configure test-asan test-tsan fuzz lint bench deb clean

all: build

deps:
	scripts/install-deps.sh build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target tlsgate

build-all: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run:
	scripts/install-deps.sh build run
	$(MAKE) --no-print-directory build
	scripts/demo.sh $(BUILD)/tlsgate

# Every test: the normal build (unit, e2e and the short soak), then the unit
# tests again under ASan+UBSan and the fuzzers for a bounded time
# (test-asan), then ThreadSanitizer (test-tsan).
test:
	scripts/install-deps.sh build test
	$(MAKE) --no-print-directory build-all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-tsan

test-fast: build-all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

# One clang build (build-asan) serves the sanitized unit tests and the
# libFuzzer harnesses: ASan+UBSan and fuzzer coverage on all code, libFuzzer
# linked into the harnesses only. A build-asan configured by another compiler
# is configured afresh (its objects would not mix).
FUZZ_SECONDS ?= 30
asan-configure:
	scripts/install-deps.sh build fuzz
	@grep -qs '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' $(ASAN_BUILD)/CMakeCache.txt || \
	  rm -rf $(ASAN_BUILD)/CMakeCache.txt $(ASAN_BUILD)/CMakeFiles
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -DCMAKE_CXX_COMPILER=clang++ \
	  -DTLSGATE_SANITIZE=ON $(CMAKE_FLAGS)

# The unit tests under ASan+UBSan, then every fuzzer for FUZZ_SECONDS each.
test-asan: asan-configure
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target tests-unit fuzzers
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 900 -L unit
	scripts/fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

# ThreadSanitizer (clang): the unit tests and the e2e suites that reload
# under traffic, against a TSan-built gate; any report fails (scripts/test-tsan.sh).
TSAN_BUILD ?= build-tsan
test-tsan:
	scripts/install-deps.sh build test fuzz
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -DCMAKE_CXX_COMPILER=clang++ \
	  -DTLSGATE_TSAN=ON $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target tlsgate tests-unit e2e_reload_test e2e_gate_test e2e_acme_test
	scripts/test-tsan.sh $(TSAN_BUILD)

# Longer fuzzing: make fuzz FUZZ_SECONDS=600 (FUZZ_ONLY=regex for some harnesses).
fuzz: asan-configure
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target fuzzers
	scripts/fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

# The Debian package (packaging/CMakeLists.txt: CPack DEB), in $(BUILD)/:
# /usr/bin/tlsgate, /etc/tlsgate/tlsgate.conf, the systemd unit, man pages,
# bash completion, examples. CPack installs the build's `all` first.
deb:
	scripts/install-deps.sh build deb
	$(MAKE) --no-print-directory build-all
	cd $(BUILD) && cpack -G DEB
	lintian --fail-on error $(BUILD)/tlsgate_*.deb

lint:
	scripts/install-deps.sh build lint
	$(MAKE) --no-print-directory build
	scripts/lint.sh $(BUILD)

# Benchmarks (bench/README.md), not part of `make test`: an optimised build of
# their own (-O2 -g -DNDEBUG, like the Debian builds of the peers, with symbols
# for perf; no tests), then bench/run.sh. BENCH_QUICK=1 for a smoke run.
BENCH_BUILD ?= build-bench
bench:
	scripts/install-deps.sh build bench
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLSGATE_TESTS=OFF \
	  -DTLSGATE_FULL_DEBUG_INFO=ON $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j$(JOBS) --target tlsgate tlsgate-loadgen
	bench/run.sh $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(BENCH_BUILD)
