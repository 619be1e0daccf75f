#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The `make run` demonstration, inside the VM.  Lines meant for the user
# start with "@@demo ".
set -euo pipefail
out=$1
# shellcheck source=/dev/null
. "$out/env.sh"

say() { echo "@@demo $*"; }
show() { while IFS= read -r line; do say "  $line"; done; }

say "guest up: kernel $(uname -r), $(nproc) vCPUs"
insmod "$FS_MODULE"
say "loaded: $(dmesg | grep -o 'fastsocket [0-9.]* loaded' | tail -1)"
say "module state: $(cat /sys/module/fastsocket/initstate); hooks registered"
say "/proc/net/fastsocket before any traffic:"
show </proc/net/fastsocket

"$FS_BENCH" server --listen 127.0.0.1:0 --threads 4 >/tmp/srv4 &
srv4=$!
"$FS_BENCH" server --listen '[::1]:0' --threads 4 >/tmp/srv6 &
srv6=$!
sleep 1
a4=$(awk '/^listening/ {print $2}' /tmp/srv4)
a6=$(awk '/^listening/ {print $2}' /tmp/srv6)
say "5000 short IPv4 connections to $a4 (connect, 64-byte request and response, close):"
"$FS_BENCH" client --connect "$a4" --connections 5000 --threads 4 | show
say "1000 short IPv6 connections to $a6:"
"$FS_BENCH" client --connect "$a6" --connections 1000 --threads 4 | show
kill "$srv4" "$srv6"
say "/proc/net/fastsocket after (each SYN passed the listener-lookup hook on the cpu that received it):"
show </proc/net/fastsocket
rmmod fastsocket
say "unloaded: $(dmesg | grep -o 'fastsocket [0-9.]* unloading' | tail -1); /proc/net/fastsocket gone: $([ -e /proc/net/fastsocket ] && echo no || echo yes)"
: >"$out/demo.finished"
