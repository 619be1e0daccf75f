# SPDX-License-Identifier: GPL-2.0
# Helpers for VM scenarios (sourced).  Paths come from FS_TOP and the
# FS_MODULE / FS_DUP_MODULE / FS_BENCH variables the runner exports.
set -euo pipefail

FS_PROC=/proc/net/fastsocket

fail() {
	echo "FAIL: $*"
	exit 1
}

# Records a figure of the scenario: kv KEY VALUE.
kv() {
	echo "$1 $2" >>"$FS_KV"
	echo "# $1: $2"
}

load() {
	insmod "$FS_MODULE" || fail "insmod fastsocket.ko failed"
}

unload() {
	rmmod fastsocket || fail "rmmod fastsocket failed"
}

is_loaded() {
	grep -q '^fastsocket ' /proc/modules
}

# Sum of one column of /proc/net/fastsocket over all cpus.
proc_total() {
	awk -v col="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		c { s += $c }
		END { if (!c) exit 1; print s + 0 }' "$FS_PROC" ||
		fail "no column $1 in $FS_PROC"
}

# Starts an fsbench server on ADDR (port 0: any); sets SERVER_PID and
# SERVER_ADDR.
start_server() {
	local log
	log=$(mktemp)
	"$FS_BENCH" server --listen "$1" --threads "${2:-4}" >"$log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 100); do
		SERVER_ADDR=$(awk '/^listening/ { print $2 }' "$log")
		[ -n "$SERVER_ADDR" ] && return 0
		sleep 0.1
	done
	cat "$log"
	fail "fsbench server did not start on $1"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# Reads a field of the JSON summary in FILE: json_field FILE KEY.
json_field() {
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}
