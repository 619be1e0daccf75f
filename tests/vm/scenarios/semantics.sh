# SPDX-License-Identifier: GPL-2.0
# Issue 17's rows: what the kernel checks against a listening socket
# (IP_MINTTL, IPV6_MINHOPCOUNT, a socket filter, TCP-MD5 keys, an IPsec
# policy, its cgroup's BPF), what its children keep of it (IPV6_TCLASS, the
# hop limit, TCP_SAVE_SYN), what it reports of its queue (Recv-Q, the
# backlog) and how it steers (SO_INCOMING_CPU, a reuseport group's spread),
# measured by tests/tools/fs_semantics.c.  The module stays loaded; every
# row runs on stock (nothing enabled, listen_auto=0), then with local
# listen enabled each way: FASTSOCKET_IOC_LISTEN (ioctl),
# LD_PRELOAD=libfsocket.so (preload) and the listen_auto sysctl (auto).
# Stock's value in the same boot is the assertion (see same() for the one
# row with a tolerance).  Rows whose option this kernel lacks (TCP-MD5,
# XFRM, cgroup BPF) say so alike in every mode.  With one cpu the
# SO_INCOMING_CPU row has one listener, and passes trivially.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"

need_tool fs_semantics "fs_semantics.c does not build"
read -ra modes <<<"${FS_SEMANTICS_MODES:-stock ioctl preload auto}"
[ "${modes[0]:-}" = stock ] || fail "FS_SEMANTICS_MODES must start with stock: ${modes[*]}"

# measure MODE: every row, its "KEY VALUE" lines in /tmp/semantics.MODE.
measure() {
	local mode=$1 preload=
	case $mode in
	stock | ioctl) ;;
	preload) preload=$FS_PRELOAD ;;
	auto) fs_sysctl listen_auto 1 ;;
	*) fail "unknown mode $mode" ;;
	esac
	echo "== $mode"
	local before
	before=$(proc_total syn_local)
	if ! env ${preload:+"LD_PRELOAD=$preload"} "$FS_TEST_TOOLS/fs_semantics" --mode "$mode" \
		>"/tmp/semantics.$mode" 2>"/tmp/semantics.$mode.err"; then
		fs_sysctl listen_auto 0
		cat "/tmp/semantics.$mode.err"
		fail "$mode: fs_semantics: $(tail -n 1 "/tmp/semantics.$mode.err")"
	fi
	fs_sysctl listen_auto 0
	cat "/tmp/semantics.$mode.err"
	# A mode is compared only if connections took the per-cpu path: the
	# rows accept on cpu 0 first, so cpu 0's queue is in use for them.
	LOCAL[$mode]=$(($(proc_total syn_local) - before))
}
declare -A LOCAL

# same KEY STOCK VALUE: whether VALUE, a mode's, passes against STOCK's.
# The rule is equality, but for the reuseport group's spread: no connection
# may fail (stock's included), and the busiest member's share (percent of
# the connections) may be at most 10 points above stock's.  Which member is
# busiest is chance (reuseport hashes the 4-tuple): with 320 connections
# over 4 members per cpu, stock's own share moves by a few points from run
# to run, far less than 10; a mode that favours members, by cpu or by
# order, does not stay within it.
same() {
	case $1 in
	*_failed) [ "$3" = 0 ] ;;
	*_busiest_pct) [ "$3" != - ] && [ "$2" != - ] && [ "$3" -le $(($2 + 10)) ] ;;
	*) [ "$3" = "$2" ] ;;
	esac
}

load
fs_sysctl listen_auto 0
for mode in "${modes[@]}"; do
	measure "$mode"
done
unload

# The table: one line per key, a column per mode ("-": not measured).
declare -A value
keys=()
for mode in "${modes[@]}"; do
	while read -r key v; do
		[ -n "${value[seen.$key]+x}" ] || keys+=("$key")
		value[seen.$key]=1
		value[$mode.$key]=$v
	done <"/tmp/semantics.$mode"
done
printf '%-46s' key
printf ' %7s' "${modes[@]}"
echo
differ=()
for key in "${keys[@]}"; do
	stock=${value[stock.$key]:--}
	printf '%-46s' "$key"
	for mode in "${modes[@]}"; do
		v=${value[$mode.$key]:--}
		printf ' %7s' "$v"
		same "$key" "$stock" "$v" || differ+=("$mode $key $v (stock $stock)")
	done
	echo
done

# The issue's table, re-measured, as figures: "stock ioctl preload auto".
kv modes "${modes[*]}"
for key in minttl_after_accept_accepted filter_after_accept_accepted \
	incoming_cpu_match_pct recvq_diag backlog_established backlog_syn_recv \
	reuseport_spread_failed reuseport_spread_busiest_pct \
	md5_unkeyed_after_accept_accepted xfrm_block_after_accept_accepted \
	cgroup_ingress_after_accept_accepted ipv6_tclass_after_accept_child_tclass \
	save_syn_after_accept_saved_syn_bytes; do
	[ -n "${value[stock.$key]+x}" ] || continue
	row=
	for mode in "${modes[@]}"; do
		row="$row ${value[$mode.$key]:--}"
	done
	kv "$key" "${row# }"
done
unsupported=$(awk '$1 ~ /_supported$/ && $2 == 0 { sub(/_supported$/, "", $1); print $1 }' \
	/tmp/semantics.stock | paste -sd, -)
kv unsupported_rows "${unsupported:-none}"
for mode in "${modes[@]}"; do
	kv "${mode}_queued_on_their_cpu" "${LOCAL[$mode]}"
	if [ "$mode" = stock ]; then
		[ "${LOCAL[$mode]}" = 0 ] || differ+=("stock: ${LOCAL[$mode]} connections on a per-cpu queue")
	elif [ "${LOCAL[$mode]}" = 0 ]; then
		differ+=("$mode: no connection waited on its cpu's queue: the mode tested nothing")
	fi
done
kv values_compared "${#keys[@]}"
kv differing "${#differ[@]}"
if [ "${#differ[@]}" -gt 0 ]; then
	printf '%s\n' "${differ[@]}"
	fail "${#differ[@]} values differ from stock: ${differ[0]}${differ[1]:+; ${differ[1]}}${differ[2]:+; ...}"
fi
