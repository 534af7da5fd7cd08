# The front door. `make run` and `make test` do all set-up on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
DB ?= var/bihuan.db
PORT ?= 8080
DEMO_PERSONS ?= 100000

.PHONY: run test setup build build-asan build-fuzz web clean bench

setup:
	@scripts/setup.sh

build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan: setup
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)

# libFuzzer harnesses (clang): fuzz/README.md. Their short runs are part of `make test`.
build-fuzz: setup
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

web: setup
	@scripts/build-web.sh

run: build web
	@scripts/run-demo.sh build/release/src/app/bihuan $(DB) $(PORT) $(DEMO_PERSONS)

test: build-asan build-fuzz web
	@scripts/test.sh build/asan build/fuzz

bench: build
	@scripts/bench.sh

clean:
	rm -rf build web/dist
