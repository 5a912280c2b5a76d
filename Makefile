# Thin wrapper over CMake. `make demo` and `make test` install dependencies
# first (scripts/install-deps is idempotent and fast when all is present).
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_DATA ?= ./ragd-data

.PHONY: all build deps demo test asan tsan fuzz clean format bench bench-deps

all: build

deps:
	@scripts/install-deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: deps build
	@scripts/demo $(BUILD)/ragd $(DEMO_DATA)

test: deps build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRAGD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS)

# ThreadSanitizer: the server's concurrency (engine slots, shared indexes,
# jobs) under the integration tests; FAISS/OpenMP internals are suppressed
# (tests/tsan.supp: libgomp is not instrumented).
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRAGD_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS)
	@cd $(TSAN_BUILD) && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 exitcode=66" \
		ctest --output-on-failure -j$(JOBS)

# libFuzzer (clang, ASan + UBSan): every fuzz/ target for FUZZ_SECONDS each
# (FUZZ_JOBS at once), printing exec/s and coverage; see scripts/fuzz.
fuzz: deps
	@scripts/install-fuzz-deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
		-DCMAKE_CXX_COMPILER=clang++ -DRAGD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@scripts/fuzz -b $(FUZZ_BUILD) -t $(FUZZ_SECONDS) -j $(FUZZ_JOBS)

# Benchmarks (never part of test or CI): every program in bench/ and the
# peers, results in bench/results/*.json, tables and plots in docs/.
# `make bench BENCH_ARGS=--quick` is the smoke run (under 5 minutes).
BENCH_ARGS ?=
bench-deps:
	@scripts/install-bench-deps

bench: deps bench-deps build
	@python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
