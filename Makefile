# flurry: a thin wrapper around CMake so that `make demo`, `make test` and
# `make bench` work on a fresh Debian machine (they install what is missing).
BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
VGBUILD    ?= build-valgrind
LINTBUILD  ?= build-lint
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 120
# Warnings are errors in the developer and CI builds (test, fuzz,
# test-valgrind); `make build` / `make install` leave FLURRY_WERROR off, as
# a packager would.
WERROR     ?= ON

.PHONY: all deps build test demo bench install clean fuzz fuzz-build fuzz-ci test-valgrind lint

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Sanitizer build (ASan + UBSan) and every test: unit (cmocka) and integration
# (the real binary against `flurry mock`); then each fuzz target briefly, and
# the static analysis.
test:
	@scripts/deps.sh build fuzz lint
	@cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DFLURRY_SANITIZE=ON -DFLURRY_BUILD_TESTS=ON \
	       -DFLURRY_WERROR=$(WERROR) >/dev/null
	@cmake --build $(TESTBUILD) -j $(JOBS)
	@cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz-ci
	@$(MAKE) --no-print-directory lint

# libFuzzer targets (clang, ASan + UBSan), one per parser / untrusted input:
# see tests/fuzz/README.md.
fuzz-build:
	@scripts/deps.sh build fuzz
	@cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DFLURRY_FUZZ=ON \
	       -DFLURRY_BUILD_EXAMPLES=OFF -DFLURRY_WERROR=$(WERROR) >/dev/null
	@cmake --build $(FUZZBUILD) -j $(JOBS) --target fuzz_targets

# CI: each target for FLURRY_FUZZ_CI_SECONDS (10) over its seed corpus.
fuzz-ci: fuzz-build
	@cd $(FUZZBUILD) && ctest --output-on-failure -j $(JOBS) -L fuzz

# Each target for FUZZ_SECONDS, one after the other, past any crash; a line
# of figures each.
fuzz: fuzz-build
	@rc=0; for bin in $(FUZZBUILD)/fuzz_*; do \
	  [ -x "$$bin" ] && [ -f "$$bin" ] || continue; \
	  FUZZ_KEEP_GOING=1 tests/fuzz/run.sh "$$bin" $(FUZZ_SECONDS) $(FUZZBUILD)/fuzz || rc=1; \
	done; exit $$rc

# The unit and integration tests under valgrind memcheck (no sanitizers).
test-valgrind:
	@scripts/deps.sh build valgrind
	@cmake -S . -B $(VGBUILD) -DCMAKE_BUILD_TYPE=Debug -DFLURRY_BUILD_TESTS=ON \
	       -DFLURRY_WERROR=$(WERROR) >/dev/null
	@cmake --build $(VGBUILD) -j $(JOBS)
	@tests/valgrind/run.sh $(VGBUILD)

# clang-tidy (.clang-tidy) and cppcheck over src/, cli/ and server/.
lint:
	@scripts/deps.sh build lint
	@cmake -S . -B $(LINTBUILD) -DFLURRY_BUILD_TESTS=ON >/dev/null
	@tests/lint/run.sh $(LINTBUILD)

demo: build
	@scripts/demo.sh $(BUILD)/flurry

bench: build
	@scripts/deps.sh bench
	@bench/run.sh $(BUILD)/flurry

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD) $(VGBUILD) $(LINTBUILD)
