# SPDX-License-Identifier: GPL-2.0
# Debian's nginx, unmodified, one worker per cpu, under wrk with
# "Connection: close": accept_mutex off and on, reuseport off and on, each
# on stock 6.12, with libfsocket.so and in the auto mode.  Every request is
# answered in every way; with accept_mutex off, fastsocket's accepts are
# local (where stock's are about 1/N).
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"

cpus=$(nproc)
port=8080
printf '%-22s %-8s %8s %8s %9s %9s %8s\n' config mode requests conn/s p50_us p99_us locality
for mutex in off on; do
	for reuse in 0 1; do
		config="mutex_${mutex}_reuseport$reuse"
		for mode in $APP_MODES; do
			mode_setup "$mode"
			syns=0
			is_loaded && syns=$(($(proc_total syn_local) + $(proc_total syn_global)))
			probe_dir /tmp/probe
			FSPROBE_DIR=/tmp/probe nginx_start /tmp/nginx "$port" "$cpus" "$mutex" "$reuse"
			wrk_run "http://127.0.0.1:$port/" /tmp/wrk.out
			app_stop "$NGINX_PID"
			check_answered "nginx $config $mode" /tmp/wrk.out /tmp/probe
			requests=$(wrk_field /tmp/wrk.out requests)
			locality=$(probe_field /tmp/probe fraction)
			printf '%-22s %-8s %8s %8s %9s %9s %8.3f\n' "$config" "$mode" "$requests" \
				"$(wrk_field /tmp/wrk.out rps)" "$(wrk_field /tmp/wrk.out p50_us)" \
				"$(wrk_field /tmp/wrk.out p99_us)" "$locality"
			kv "${config}_${mode}_conn_per_sec" "$(wrk_field /tmp/wrk.out rps)"
			kv "${config}_${mode}_locality" "$(printf '%.3f' "$locality")"
			eval "locality_$mode=$locality rps_$mode=$(wrk_field /tmp/wrk.out rps)"
			if [ "$mode" != stock ]; then
				# The listener really was enabled: its SYNs went through
				# fastsocket's lookup.
				seen=$(($(proc_total syn_local) + $(proc_total syn_global) - syns))
				[ "$seen" -ge "$requests" ] ||
					fail "nginx $config $mode: only $seen of $requests SYNs reached fastsocket"
				if [ "$mutex" = off ] && [ "$cpus" -gt 1 ]; then
					at_least "$locality" 0.9 ||
						fail "nginx $config $mode: locality $locality"
				fi
			fi
			grep -q libfsocket "/tmp/nginx/stderr" &&
				fail "nginx $config $mode: libfsocket complained: $(cat /tmp/nginx/stderr)"
		done
		for mode in $APP_MODES; do
			[ "$mode" = stock ] && continue
			eval "r=\$rps_$mode s=\${rps_stock:-0}"
			kv "${config}_${mode}_over_stock" "$(ratio "$r" "$s")"
		done
	done
done
if is_loaded; then
	fs_sysctl listen_auto 0
	cat "$FS_PROC"
	unload
fi
