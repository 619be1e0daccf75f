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
cpus=$(nproc)
n=5000

# field FILE KEY: a number from a JSON line
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }

# run LABEL [SERVER ARGS...]: one worker process pinned per cpu, clients
# pinned on every cpu, $n short connections.
run() {
	local label=$1 addr
	shift
	"$FS_BENCH" server --listen 127.0.0.1:0 --workers "$cpus" --mode process --pin "$@" \
		>"/tmp/$label.srv" 2>&1 &
	local srv=$!
	for _ in $(seq 100); do
		addr=$(awk '/^listening/ { print $2; exit }' "/tmp/$label.srv")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	"$FS_BENCH" client --connect "$addr" --connections "$n" --threads "$cpus" --pin \
		--json >"/tmp/$label.json"
	kill -TERM "$srv"
	wait "$srv" || true
	grep '^{' "/tmp/$label.srv" | tail -n 1 >"/tmp/$label.server.json"
	say "  $(printf '%-11s' "$label") $(field "/tmp/$label.json" completed) completed," \
		"$(field "/tmp/$label.json" failed) failed," \
		"$(printf '%.0f' "$(field "/tmp/$label.json" conn_per_sec)") conn/s," \
		"p50 $(field "/tmp/$label.json" p50_us) us, p99 $(field "/tmp/$label.json" p99_us) us," \
		"locality $(printf '%.2f' "$(field "/tmp/$label.server.json" fraction)")"
}

say "$n short IPv4 connections (connect, 64-byte request and response, close),"
say "one worker process pinned per cpu, clients pinned on every cpu;"
say "locality: the fraction of connections whose packets, accept and worker ran on one cpu"
run stock
insmod "$FS_MODULE"
say "loaded: $(dmesg | grep -o 'fastsocket [0-9.]* loaded' | tail -1)"
run fastsocket --local-listen
s=$(field /tmp/stock.json conn_per_sec)
f=$(field /tmp/fastsocket.json conn_per_sec)
say "  connections per second, fastsocket / stock: $(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.2f", f / s }')"
say "/proc/net/fastsocket (per cpu: SYNs and accepts local or global, moved, local listeners):"
show </proc/net/fastsocket
rmmod fastsocket
say "unloaded: $(dmesg | grep -o 'fastsocket [0-9.]* unloading' | tail -1); /proc/net/fastsocket gone: $([ -e /proc/net/fastsocket ] && echo no || echo yes)"
: >"$out/demo.finished"
