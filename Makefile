# SPDX-License-Identifier: GPL-2.0
#
# fastsocket: see README.md.  The two commands:
#   make run    build what is missing, boot a 4-vCPU VM, show the module at work
#   make test   host checks, both kernel builds, VM scenarios on 1, 2, 4 vCPUs
#
# Kernel builds are cached in $(FASTSOCKET_CACHE) (default
# ~/.cache/fastsocket), keyed by the pinned version, the patch series and the
# config fragments.  The Kbuild file beside this Makefile builds the module
# itself: make -C <kernel build dir> M=$(CURDIR) LLVM=-19.

SHELL := /bin/bash
export FASTSOCKET_CACHE ?= $(HOME)/.cache/fastsocket

# What `make test` runs; narrow it with e.g. TEST_ARGS="--cpus 2".
TEST_ARGS ?=

# (The kernel-% and module-% pattern rules are not .PHONY: make skips
# implicit rules for phony targets.)
.PHONY: all run test setup kernel module tools check clean help

all: module tools

help:
	@sed -n '3,9p' Makefile

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

run: module-release tools
	@scripts/run.sh

test: setup
	@python3 tests/run_tests.py $(TEST_ARGS)

# Host-side checks only: formatting, clippy, cargo test, checkpatch.
check: setup
	@python3 tests/run_tests.py --skip-vm

clean:
	rm -rf .results userspace-tools/target
