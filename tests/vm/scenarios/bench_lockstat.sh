# SPDX-License-Identifier: GPL-2.0
# `make bench`, lock contention: fsbench in every configuration of
# tests/bench/configs on the debug kernel (CONFIG_LOCK_STAT), counting for
# a fixed number of connections the contentions lock_stat records on the
# locks the connections go through.  `make test` runs it with few
# connections.  The kernel's per-cpu accept queue locks
# (net/ipv4/fastsocket_listen.c) are named by lockdep after their field,
# "&q->lock", which they share with IP fragment queues (none over
# loopback): they count as "fastsocket".
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"
. "$FS_TOP/tests/bench/lib.sh"

conns=${FS_BENCH_LOCK_CONNS:-1000}
[ -w /proc/lock_stat ] || fail "this kernel has no lock_stat (CONFIG_LOCK_STAT)"

# lock_groups: contentions per group of lock classes, and the classes most
# contended, from /proc/lock_stat, as JSON.  lockdep keys socket locks by
# address family, so "socket" is listeners and connections together.
lock_groups() {
	awk '
		match($0, /: +[0-9]+ +[0-9]+ +[0-9.]+ /) {
			name = substr($0, 1, RSTART - 1)
			sub(/^ +/, "", name)
			split(substr($0, RSTART + 1), f, " ")
			n = f[2] + 0
			total += n
			if (name ~ /rskq_lock/) g["accept_queue"] += n
			else if (name ~ /^(slock|sk_lock)-AF_INET/) g["socket"] += n
			else if (name == "&ptr[i]") g["ehash"] += n
			else if (name ~ /bhash/) g["bhash"] += n
			else if (name ~ /lhash2/) g["lhash"] += n
			else if (name ~ /fastsocket|listen\.rs/ || name == "&q->lock") g["fastsocket"] += n
			if (n > 0) printf "top\t%d\t%s\n", n, name
		}
		END {
			printf "groups\t{\"accept_queue\":%d,\"socket\":%d,\"ehash\":%d,\"bhash\":%d,", \
				g["accept_queue"], g["socket"], g["ehash"], g["bhash"]
			printf "\"lhash\":%d,\"fastsocket\":%d,\"total\":%d}\n", g["lhash"], g["fastsocket"], total
		}' /proc/lock_stat >/tmp/bench-locks
	jq -nc --argjson groups "$(awk -F'\t' '$1 == "groups" { print $2 }' /tmp/bench-locks)" \
		--argjson top "$(awk -F'\t' '$1 == "top" { print $2 "\t" $3 }' /tmp/bench-locks |
			sort -t"$(printf '\t')" -k1,1nr | head -n 5 |
			jq -Rsc 'split("\n") | map(select(length > 0) | split("\t") | [.[1], (.[0] | tonumber)])')" \
		'{groups: $groups, top: $top}'
}

emit_meta
for config in $(config_names); do
	config_runs "$config" fsbench || continue
	config_setup "$config"
	bench_server "$config"
	echo 0 >/proc/lock_stat
	echo 1 >/proc/sys/kernel/lock_stat
	bench_client --connections "$conns" >/tmp/bench-client.json ||
		echo "bench: $config: some connections failed: $(cat /tmp/bench-client.json)"
	echo 0 >/proc/sys/kernel/lock_stat
	locks=$(lock_groups)
	fs_server_stop /tmp/bench-server.json
	jq -c --arg c "$config" --argjson cpus "$BENCH_CPUS" --argjson locks "$locks" \
		--arg kernel "$BENCH_KERNEL" '{kind: "lockstat", kernel: $kernel, cpus: $cpus,
		  workload: "fsbench", config: $c, connections: .completed, failed: .failed} + $locks' \
		/tmp/bench-client.json >>"$BENCH_JSONL"
	echo "bench: lockstat $config: $(tail -n 1 "$BENCH_JSONL" | jq -c .groups)"
done
! is_loaded || unload
lost=$(jq -s '[.[] | select(.kind == "lockstat") | .failed] | add // 0' "$BENCH_JSONL")
kv failed_connections "$lost"
[ "$lost" = 0 ] || fail "$lost connections failed"
