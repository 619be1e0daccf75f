# SPDX-License-Identifier: GPL-2.0
# The benchmark inside the VM (sourced by the bench scenarios after
# tests/vm/lib.sh and tests/vm/apps.sh): the configurations of
# tests/bench/configs, the three loads, and one JSON line per measurement
# appended to $FS_OUT/bench.jsonl (tests/bench/report.py reads them).
#
# Every load is run with one pinned worker per cpu and measured the same
# way in every configuration, so the figures compare.

BENCH_CONFIGS=$FS_TOP/tests/bench/configs
BENCH_JSONL=$FS_OUT/bench.jsonl
BENCH_CPUS=$(nproc)

# config_names: the configurations, in the order of the file.
config_names() {
	awk -F'|' '!/^#/ && NF >= 7 { gsub(/ /, "", $1); print $1 }' "$BENCH_CONFIGS"
}

# config_field NAME N: field N of configuration NAME (1 name, 2 module,
# 3 sysctls, 4 preload, 5 fsbench, 6 apps, 7 label), trimmed.
config_field() {
	awk -F'|' -v name="$1" -v n="$2" '
		!/^#/ && NF >= 7 {
			k = $1; gsub(/^ +| +$/, "", k)
			if (k == name) { v = $n; gsub(/^ +| +$/, "", v); print v; found = 1 }
		}
		END { exit !found }' "$BENCH_CONFIGS" || fail "no configuration $1 in $BENCH_CONFIGS"
}

# config_setup NAME: stock, or a freshly loaded module with the
# configuration's sysctls; sets BENCH_PRELOAD (libfsocket.so or empty).
config_setup() {
	local kv
	! is_loaded || unload
	if [ "$(config_field "$1" 2)" = yes ]; then
		load
		for kv in $(config_field "$1" 3 | tr ',' ' '); do
			[ "$kv" = - ] || fs_sysctl "${kv%%=*}" "${kv#*=}"
		done
	fi
	BENCH_PRELOAD=
	[ "$(config_field "$1" 4)" = yes ] && BENCH_PRELOAD=$FS_PRELOAD
	return 0
}

# Interrupt work per connection: NET_RX softirqs, and IPIs (function call
# and rescheduling interrupts: the cost of work handed to another cpu).
net_rx_count() {
	awk '$1 == "NET_RX:" { for (i = 2; i <= NF; i++) s += $i } END { print s + 0 }' /proc/softirqs
}
ipi_count() {
	awk '$1 == "CAL:" || $1 == "RES:" {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
	} END { print s + 0 }' /proc/interrupts
}
# SYNs that went through fastsocket's lookup (0 when stock).
fs_syns() {
	if is_loaded; then
		echo $(($(proc_total syn_local) + $(proc_total syn_global)))
	else
		echo 0
	fi
}

# counters_start / counters_end N: per-connection deltas over a run of N
# connections, as "net_rx ipi syns" (syns: a total, not per connection).
counters_start() {
	C_NET_RX=$(net_rx_count)
	C_IPI=$(ipi_count)
	C_SYNS=$(fs_syns)
}
counters_end() {
	awk -v n="$1" -v a="$(($(net_rx_count) - C_NET_RX))" -v b="$(($(ipi_count) - C_IPI))" \
		-v s="$(($(fs_syns) - C_SYNS))" \
		'BEGIN { if (n > 0) printf "%.3f %.3f %d\n", a / n, b / n, s; else print "null null " s }'
}

# num X: X if it is a number, else null (for JSON).
num() {
	case $1 in
	'' | *[!0-9.]* | .) echo null ;;
	*) echo "$1" ;;
	esac
}

# emit_run WORKLOAD CONFIG ROUND JSON: appends JSON (the load's figures)
# with the run's identity to the results.
emit_run() {
	jq -c --arg w "$1" --arg c "$2" --argjson r "$3" --argjson cpus "$BENCH_CPUS" \
		'{kind: "run", kernel: "release", cpus: $cpus, workload: $w, config: $c, round: $r} + .' \
		<<<"$4" >>"$BENCH_JSONL"
}

# emit_meta KERNEL: the VM run's description, and the configurations.
emit_meta() {
	local configs
	configs=$(for c in $(config_names); do
		jq -nc --arg n "$c" --arg l "$(config_field "$c" 7)" '{name: $n, label: $l}'
	done | jq -sc .)
	jq -nc --arg kernel "$1" --argjson cpus "$BENCH_CPUS" --arg uname "$(uname -r -v)" \
		--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--arg host_cpu "${FS_HOST_CPU:-unknown}" --argjson host_cpus "${FS_HOST_CPUS:-0}" \
		--arg qemu "${FS_QEMU:-unknown}" --arg accel "${FS_ACCEL:-tcg,thread=single}" \
		--arg nginx "$(nginx -v 2>&1 | sed 's|.*/||')" \
		--arg haproxy "$(haproxy -v | awk 'NR == 1 { print $3 }')" \
		--argjson rounds "${BENCH_ROUNDS:-null}" --argjson seconds "${BENCH_SECONDS:-null}" \
		--argjson configs "$configs" \
		'{kind: "meta", kernel: $kernel, cpus: $cpus, uname: $uname, date: $date,
		  host_cpu: $host_cpu, host_cpus: $host_cpus, qemu: $qemu, accel: $accel,
		  nginx: $nginx, haproxy: $haproxy, rounds: $rounds, seconds: $seconds,
		  configs: $configs}' >>"$BENCH_JSONL"
}

# bench_server CONFIG: "fsbench server" as CONFIG runs it, one pinned
# worker per cpu; sets SERVER_PID, SERVER_ADDR, SERVER_LOG (tests/vm/lib.sh).
bench_server() {
	local flags
	flags=$(config_field "$1" 5)
	[ "$flags" = - ] && flags=
	# shellcheck disable=SC2086 # flags: several words
	SERVER_NS="env LD_PRELOAD=$BENCH_PRELOAD" fs_server --listen 127.0.0.1:0 \
		--threads "$BENCH_CPUS" --pin $flags
}

# The client: two pinned threads per cpu, so every cpu has a connection
# in flight while another is being set up or torn down.
bench_client() {
	"$FS_BENCH" client --connect "$SERVER_ADDR" --threads $((BENCH_CPUS * 2)) --pin --json "$@"
}

# run_fsbench CONFIG ROUND: fsbench for BENCH_SECONDS.
run_fsbench() {
	local c n c_net c_ipi c_syns
	[ "$(config_field "$1" 5)" = n/a ] && return 0
	bench_server "$1"
	counters_start
	# A run with failed connections exits 1; it is recorded, not hidden.
	bench_client --duration "$BENCH_SECONDS" >/tmp/bench-client.json || true
	n=$(jq -r '.completed // 0' /tmp/bench-client.json 2>/dev/null || echo 0)
	read -r c_net c_ipi c_syns <<<"$(counters_end "$n")"
	fs_server_stop /tmp/bench-server.json
	jq -e . /tmp/bench-client.json >/dev/null 2>&1 ||
		fail "fsbench client ($1): $(cat /tmp/bench-client.json)"
	c=$(jq -c --slurpfile s /tmp/bench-server.json \
		--argjson net "$c_net" --argjson ipi "$c_ipi" --argjson syns "$c_syns" '{
		seconds: .seconds, completed: .completed, failed: .failed,
		conn_per_sec: .conn_per_sec, p50_us: .latency.p50_us,
		p99_us: .latency.p99_us, p999_us: .latency.p999_us,
		locality: $s[0].fraction, per_cpu_accepts: $s[0].per_cpu_accepts,
		accepted: $s[0].accepted, net_rx_per_conn: $net, ipi_per_conn: $ipi,
		fastsocket_syns: $syns}' /tmp/bench-client.json)
	record fsbench "$1" "$2" "$c"
}

# app_preload CONFIG: LD_PRELOAD for an application under the probe.
app_preload() {
	APP_PRELOAD=$FS_PROBE
	[ -z "$BENCH_PRELOAD" ] || APP_PRELOAD=$BENCH_PRELOAD:$FS_PROBE
}

# app_reuseport CONFIG: 1 if the application listens with a socket per
# worker.
app_reuseport() {
	[ "$(config_field "$1" 6)" = reuseport ] && echo 1 || echo 0
}

# wrk_json WRK_OUT PROBE NET IPI SYNS [BACK_PROBE]: the figures of a wrk
# run against a server measured by libfsprobe.so.
wrk_json() {
	local probe
	probe=$("$FS_TOOLS/fsprobe" "$2")
	jq -nc --argjson requests "$(wrk_field "$1" requests)" \
		--argjson errors "$(wrk_field "$1" errors)" --argjson non2xx "$(wrk_field "$1" non2xx)" \
		--argjson rps "$(num "$(wrk_field "$1" rps)")" \
		--argjson p50 "$(num "$(wrk_field "$1" p50_us)")" \
		--argjson p99 "$(num "$(wrk_field "$1" p99_us)")" \
		--argjson probe "$probe" --argjson back "${6:-null}" \
		--argjson net "$3" --argjson ipi "$4" --argjson syns "$5" --argjson s "$BENCH_SECONDS" '{
		seconds: $s, completed: $requests, failed: ($errors + $non2xx),
		conn_per_sec: $rps, p50_us: $p50, p99_us: $p99, p999_us: null,
		locality: $probe.fraction, per_cpu_accepts: $probe.per_cpu_accepts,
		accepted: $probe.accepts, net_rx_per_conn: $net, ipi_per_conn: $ipi,
		fastsocket_syns: $syns}
		+ (if $back == null then {} else {back_locality: $back.fraction} end)'
}

# run_nginx CONFIG ROUND: nginx (one worker per cpu, accept_mutex off, its
# default) under wrk with "Connection: close" for BENCH_SECONDS.
run_nginx() {
	local c n c_net c_ipi c_syns
	[ "$(config_field "$1" 6)" = n/a ] && return 0
	app_preload "$1"
	probe_dir /tmp/bench-probe
	FSPROBE_DIR=/tmp/bench-probe nginx_start /tmp/bench-nginx 8080 "$BENCH_CPUS" off \
		"$(app_reuseport "$1")"
	counters_start
	wrk_run http://127.0.0.1:8080/ /tmp/bench-wrk.out
	n=$(wrk_field /tmp/bench-wrk.out requests)
	read -r c_net c_ipi c_syns <<<"$(counters_end "$n")"
	app_stop "$NGINX_PID"
	c=$(wrk_json /tmp/bench-wrk.out /tmp/bench-probe "$c_net" "$c_ipi" "$c_syns")
	record nginx "$1" "$2" "$c"
}

# run_haproxy CONFIG ROUND: haproxy (a thread per cpu) in front of nginx,
# both listening as CONFIG says, a new connection on each side per request.
run_haproxy() {
	local c n c_net c_ipi c_syns reuse
	[ "$(config_field "$1" 6)" = n/a ] && return 0
	app_preload "$1"
	reuse=$(app_reuseport "$1")
	probe_dir /tmp/bench-probe-back
	probe_dir /tmp/bench-probe
	FSPROBE_DIR=/tmp/bench-probe-back nginx_start /tmp/bench-nginx 8080 "$BENCH_CPUS" off "$reuse"
	FSPROBE_DIR=/tmp/bench-probe haproxy_start /tmp/bench-haproxy 8081 8080 "$reuse"
	counters_start
	wrk_run http://127.0.0.1:8081/ /tmp/bench-wrk.out
	n=$(wrk_field /tmp/bench-wrk.out requests)
	read -r c_net c_ipi c_syns <<<"$(counters_end "$n")"
	haproxy_stop "$HAPROXY_PID"
	app_stop "$NGINX_PID"
	c=$(wrk_json /tmp/bench-wrk.out /tmp/bench-probe "$c_net" "$c_ipi" "$c_syns" \
		"$("$FS_TOOLS/fsprobe" /tmp/bench-probe-back)")
	record haproxy "$1" "$2" "$c"
}

# record WORKLOAD CONFIG ROUND JSON: the measurement into the results,
# and one line for the person waiting.
record() {
	emit_run "$@"
	jq -r --arg w "$1" --arg c "$2" --arg r "$3" \
		'"bench: round \($r) \($w) \($c): \(.conn_per_sec | floor) conn/s, locality \(.locality // "-"), failed \(.failed)"' \
		<<<"$4"
}
