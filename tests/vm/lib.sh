# SPDX-License-Identifier: GPL-2.0
# Helpers for VM scenarios (sourced).  Paths come from FS_TOP and the
# FS_MODULE / FS_DUP_MODULE / FS_BENCH variables the runner exports.
set -euo pipefail

FS_PROC=/proc/net/fastsocket

fail() {
	echo "FAIL: $*"
	exit 1
}

# Skips the scenario, as kselftest does (exit status 4, KSFT_SKIP), for
# REASON: only for what this machine or kernel cannot do, never for a
# result that is wrong.
skip() {
	echo "SKIP: $*"
	exit 4
}

# need_tool NAME WHAT: fails with WHAT unless tests/tools/NAME.c was built
# (on the host, by tests/run_tests.py, into FS_TEST_TOOLS: a compiler
# under TCG takes a minute); then "$FS_TEST_TOOLS/NAME" runs it.
need_tool() {
	[ -x "${FS_TEST_TOOLS:-}/$1" ] ||
		fail "$2: $(cat "${FS_TEST_TOOLS:-}/$1.err" 2>/dev/null || echo "no ${FS_TEST_TOOLS:-}/$1")"
}

# Records a figure of the scenario: kv KEY VALUE.
kv() {
	echo "$1 $2" >>"$FS_KV"
	echo "# $1: $2"
}

load() {
	insmod "$FS_MODULE" || fail "insmod fastsocket.ko failed"
	# devtmpfs makes the node asynchronously.
	for _ in $(seq 100); do
		[ -c /dev/fastsocket ] && return 0
		sleep 0.02
	done
	fail "/dev/fastsocket did not appear"
}

# rmmod waits for nothing: it fails with EAGAIN while something holds the
# module (a hook that may sleep, enabling a listener in the auto mode; an
# open /dev/fastsocket), so try again.
unload() {
	for _ in $(seq 50); do
		rmmod fastsocket 2>/tmp/rmmod.err && return 0
		grep -q 'temporarily unavailable' /tmp/rmmod.err || break
		sleep 0.05
	done
	fail "rmmod fastsocket failed: $(cat /tmp/rmmod.err)"
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

# One column of /proc/net/fastsocket for one cpu: proc_cpu COLUMN CPU (0
# if the cpu has no row, being offline).
proc_cpu() {
	awk -v col="$1" -v cpu="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		c && $1 == cpu { v = $c }
		END { if (!c) exit 1; print v + 0 }' "$FS_PROC" ||
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

# Reads a field of the JSON summary in FILE: json_field FILE PATH, PATH a
# jq path without its leading dot ("completed", "latency.p99_us"); a list
# comes out comma-separated.  Nothing (and status 0) if FILE is no JSON or
# has no such field: the caller's check then says what it found.
json_field() {
	jq -r ".$2 // empty | if type == \"array\" then map(tostring) | join(\",\") else . end" \
		"$1" 2>/dev/null || true
}

# Starts "fsbench server ARGS..." and waits until it accepts; sets
# SERVER_PID, SERVER_ADDR and SERVER_LOG.
fs_server() {
	SERVER_LOG=$(mktemp)
	# shellcheck disable=SC2086 # SERVER_NS: an optional command prefix
	# ("ip netns exec NS", "env LD_PRELOAD=...")
	${SERVER_NS:-} "$FS_BENCH" server "$@" >"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 300); do
		SERVER_ADDR=$(awk '/^listening/ { print $2; exit }' "$SERVER_LOG")
		[ -n "$SERVER_ADDR" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$SERVER_LOG"
	fail "fsbench server $* did not start"
}

# Stops the server with SIGTERM; its JSON summary goes to FILE.
fs_server_stop() {
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	grep '^{' "$SERVER_LOG" | tail -n 1 >"$1"
	[ -s "$1" ] || fail "no summary from the server: $(cat "$SERVER_LOG")"
}

# Runs the client: fs_client ADDR N JSON [ARGS...]; fails unless all N
# connections complete.
fs_client() {
	local addr=$1 n=$2 json=$3
	shift 3
	"$FS_BENCH" client --connect "$addr" --connections "$n" --json "$@" >"$json" ||
		fail "client to $addr: $(cat "$json")"
	[ "$(json_field "$json" completed)" = "$n" ] ||
		fail "client to $addr: not all $n completed: $(cat "$json")"
}

# Sets a fastsocket sysctl.
fs_sysctl() {
	echo "$2" >"/proc/sys/net/fastsocket/$1" || fail "cannot set $1 to $2"
}

# toggle_listen_while PID: switch local listen off and on again, every
# 0.2 s, while PID (a client under load) runs.  Adds the number of times
# to TOGGLES; runs in the caller's shell, so a failed write fails it.
toggle_listen_while() {
	while kill -0 "$1" 2>/dev/null; do
		fs_sysctl listen 0
		sleep 0.2
		fs_sysctl listen 1
		sleep 0.2
		TOGGLES=$((${TOGGLES:-0} + 1))
	done
}

# A name of this scenario's own for a network namespace: "fs-WHAT-" and
# the scenario and its shell's pid, so that scenarios could run side by
# side.
netns_name() {
	echo "fs-$1-${FS_SCENARIO:-scenario}-$$"
}
VETH_SRV_NS=$(netns_name srv)
VETH_CLI_NS=$(netns_name cli)

# veth_up SERVER_RPS [CLIENT_RPS]: two network namespaces, VETH_SRV_NS
# (10.77.0.1, device fs-s) and VETH_CLI_NS (10.77.0.2, fs-c), joined by a
# veth pair: two machines on one wire.  RPS (hex cpu masks) plays a NIC's
# RSS, spreading each side's packets by flow over its cpus.  veth_down
# removes them.  The pair is made under names of this shell's own and
# renamed inside the namespaces.
veth_up() {
	local s=fss$$ c=fsc$$
	ip netns add "$VETH_SRV_NS"
	ip netns add "$VETH_CLI_NS"
	ip link add "$s" type veth peer name "$c"
	ip link set "$s" netns "$VETH_SRV_NS"
	ip link set "$c" netns "$VETH_CLI_NS"
	ip -n "$VETH_SRV_NS" link set "$s" name fs-s
	ip -n "$VETH_CLI_NS" link set "$c" name fs-c
	ip -n "$VETH_SRV_NS" addr add 10.77.0.1/24 dev fs-s
	ip -n "$VETH_CLI_NS" addr add 10.77.0.2/24 dev fs-c
	ip -n "$VETH_SRV_NS" link set lo up
	ip -n "$VETH_CLI_NS" link set lo up
	ip -n "$VETH_SRV_NS" link set fs-s up
	ip -n "$VETH_CLI_NS" link set fs-c up
	ip netns exec "$VETH_SRV_NS" sh -c "echo $1 > /sys/class/net/fs-s/queues/rx-0/rps_cpus"
	[ -z "${2:-}" ] ||
		ip netns exec "$VETH_CLI_NS" sh -c "echo $2 > /sys/class/net/fs-c/queues/rx-0/rps_cpus"
}

veth_down() {
	ip netns del "$VETH_SRV_NS" 2>/dev/null || true
	ip netns del "$VETH_CLI_NS" 2>/dev/null || true
}

# Integer part of a number.
int() {
	echo "${1%%.*}"
}
