# flurry: a thin wrapper around CMake so that `make demo`, `make test` and
# `make bench` work on a fresh Debian machine (they install what is missing).
BUILD      ?= build
TESTBUILD  ?= build-test
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test demo bench install clean fuzz

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Sanitizer build (ASan + UBSan) and every test: unit (cmocka) and integration
# (the real binary against `flurry mock`).
test: deps
	@cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DFLURRY_SANITIZE=ON -DFLURRY_BUILD_TESTS=ON >/dev/null
	@cmake --build $(TESTBUILD) -j $(JOBS)
	@cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/flurry

bench: build
	@scripts/deps.sh bench
	@bench/run.sh $(BUILD)/flurry

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(TESTBUILD)
