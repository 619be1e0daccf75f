# SPDX-License-Identifier: GPL-2.0
# Debian's haproxy, unmodified, as a proxy in front of nginx: one thread
# per cpu, pinned, each request a new client connection (passive) and a
# new backend connection (active), on stock 6.12, with libfsocket.so and in
# the auto mode.  Every request is answered in every way.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"

cpus=$(nproc)
front=8081
back=8080

printf '%-8s %8s %8s %9s %9s %9s %9s\n' mode requests conn/s p50_us p99_us front_loc back_loc
for mode in $APP_MODES; do
	mode_setup "$mode"
	syns=0
	is_loaded && syns=$(($(proc_total syn_local) + $(proc_total syn_global)))
	probe_dir /tmp/probe-back
	probe_dir /tmp/probe-front
	FSPROBE_DIR=/tmp/probe-back nginx_start /tmp/nginx "$back" "$cpus" off 0
	FSPROBE_DIR=/tmp/probe-front haproxy_start /tmp/haproxy "$front" "$back" 0
	wrk_run "http://127.0.0.1:$front/" /tmp/wrk.out
	haproxy_stop "$HAPROXY_PID"
	app_stop "$NGINX_PID"
	check_answered "haproxy $mode" /tmp/wrk.out /tmp/probe-front
	check_answered "haproxy $mode (its backend)" /tmp/wrk.out /tmp/probe-back
	requests=$(wrk_field /tmp/wrk.out requests)
	front_loc=$(probe_field /tmp/probe-front fraction)
	back_loc=$(probe_field /tmp/probe-back fraction)
	printf '%-8s %8s %8s %9s %9s %9.3f %9.3f\n' "$mode" "$requests" \
		"$(wrk_field /tmp/wrk.out rps)" "$(wrk_field /tmp/wrk.out p50_us)" \
		"$(wrk_field /tmp/wrk.out p99_us)" "$front_loc" "$back_loc"
	echo "  haproxy accepts per cpu: $(probe_list /tmp/probe-front per_cpu_accepts)," \
		"their packets per cpu: $(probe_list /tmp/probe-front per_cpu_incoming)"
	kv "${mode}_conn_per_sec" "$(wrk_field /tmp/wrk.out rps)"
	kv "${mode}_front_locality" "$(printf '%.3f' "$front_loc")"
	kv "${mode}_back_locality" "$(printf '%.3f' "$back_loc")"
	if [ "$mode" != stock ]; then
		# Both listeners were enabled: every client and backend SYN went
		# through fastsocket's lookup.
		seen=$(($(proc_total syn_local) + $(proc_total syn_global) - syns))
		[ "$seen" -ge $((requests * 2)) ] ||
			fail "haproxy $mode: only $seen of $((requests * 2)) SYNs reached fastsocket"
	fi
	grep -q libfsocket /tmp/haproxy/stderr &&
		fail "haproxy $mode: libfsocket complained: $(cat /tmp/haproxy/stderr)"
done
if is_loaded; then
	fs_sysctl listen_auto 0
	cat "$FS_PROC"
	unload
fi
