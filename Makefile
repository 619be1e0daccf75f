# SPDX-License-Identifier: GPL-2.0
#
# fastsocket: see README.md.  The commands:
#   make run    build what is missing, boot a 4-vCPU VM, show the module at work
#   make test   host checks, both kernel builds, VM scenarios on 1, 2, 4 vCPUs
#   make test-long  the same with the long forms (not in CI)
#   make bench  stock 6.12 against fastsocket in VMs; writes Documentation/benchmarks.rst
#
# Kernel builds are cached in $(FASTSOCKET_CACHE) (default
# ~/.cache/fastsocket), keyed by the pinned version, the patch series and the
# config fragments.  The Kbuild file beside this Makefile builds the module
# itself: make -C <kernel build dir> M=$(CURDIR) LLVM=-19.

SHELL := /bin/bash
export FASTSOCKET_CACHE ?= $(HOME)/.cache/fastsocket

# What `make test` and `make test-long` run; narrow them with e.g.
# TEST_ARGS="--cpus 2 --scenarios locality".  The knobs of the two tiers:
# tests/run_tests.py --tiers.
TEST_ARGS ?=
# What `make bench` runs; e.g. BENCH_ARGS="--cpus 2 --rounds 1 --no-lockstat".
BENCH_ARGS ?=

# (The kernel-% and module-% pattern rules are not .PHONY: make skips
# implicit rules for phony targets.)
# Where `make install` puts the userspace tools.
PREFIX ?= /usr/local
REL := userspace-tools/target/release

.PHONY: all run test test-long bench setup kernel module tools install check clean help

all: module tools

help:
	@sed -n '3,11p' Makefile

setup:
	@scripts/bootstrap.sh

kernel: kernel-release
kernel-%: setup
	@scripts/kernel.sh build $*

module: module-release
module-%: kernel-%
	@scripts/module.sh $* >/dev/null && echo ">>> fastsocket.ko built for the $* kernel"

tools: setup
	@cd userspace-tools && cargo build --release --quiet

# fsctl, libfsocket.so (LD_PRELOAD), and the C API: libfastsocket.so.0,
# fastsocket.h and the uapi header it includes.
install: tools
	install -D -m 0755 $(REL)/fsctl $(DESTDIR)$(PREFIX)/bin/fsctl
	install -D -m 0755 $(REL)/libfsocket.so $(DESTDIR)$(PREFIX)/lib/libfsocket.so
	install -D -m 0755 $(REL)/libfastsocket.so $(DESTDIR)$(PREFIX)/lib/libfastsocket.so.0
	ln -sf libfastsocket.so.0 $(DESTDIR)$(PREFIX)/lib/libfastsocket.so
	install -D -m 0644 $(REL)/libfastsocket.a $(DESTDIR)$(PREFIX)/lib/libfastsocket.a
	install -D -m 0644 userspace-tools/fastsocket-c/include/fastsocket.h \
		$(DESTDIR)$(PREFIX)/include/fastsocket.h
	install -D -m 0644 include/uapi/linux/fastsocket.h \
		$(DESTDIR)$(PREFIX)/include/linux/fastsocket.h

run: module-release tools
	@scripts/run.sh

# The short tier, what CI runs (.ci/run).
test: setup
	@python3 tests/run_tests.py $(TEST_ARGS)

# The long tier: 20,000 connections per locality run, 100 load/unload
# rounds, the benchmark's full rounds on every vCPU count, a soak.
test-long: setup
	@python3 tests/run_tests.py --tier long $(TEST_ARGS)

bench: setup
	@python3 tests/bench/bench.py $(BENCH_ARGS)

# Host-side checks only: formatting, clippy, cargo test, checkpatch, the
# patch series' round trip through git.
check: setup
	@python3 tests/run_tests.py --skip-vm

clean:
	rm -rf .results userspace-tools/target
