# The two set-up commands of README.md: `make run` and `make test`.
# Each installs what is missing (Debian packages only), builds and runs.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=

.PHONY: all deps build build-all run test test-fast test-asan lint bench clean

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

# Every test: the normal build, then the unit tests again under ASan+UBSan.
test:
	scripts/install-deps.sh build test
	$(MAKE) --no-print-directory build-all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) --no-print-directory test-asan

test-fast: build-all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

test-asan:
	cmake -S . -B $(ASAN_BUILD) -DTLSGATE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target tests-unit
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 900 -L unit

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
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLSGATE_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j$(JOBS) --target tlsgate tlsgate-loadgen
	bench/run.sh $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)
