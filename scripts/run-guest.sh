#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The `make run` demonstration, inside the VM: Debian's nginx, unmodified,
# on stock 6.12 and then with fastsocket (LD_PRELOAD=libfsocket.so), both
# driven by wrk with "Connection: close".  Lines meant for the user start
# with "@@demo ".
set -euo pipefail
out=$1
# shellcheck source=/dev/null
. "$out/env.sh"
# The scenario helpers: load/unload, nginx_start, wrk_run, the probe.
FS_KV=/dev/null
# shellcheck source=tests/vm/lib.sh
. "$FS_TOP/tests/vm/lib.sh"
# shellcheck source=tests/vm/apps.sh
. "$FS_TOP/tests/vm/apps.sh"

say() { echo "@@demo $*"; }
fail() {
	say "error: $*"
	exit 1
}

cpus=$(nproc)
seconds=${FS_RUN_SECONDS:-15}
APP_SECONDS=$seconds
say "guest up: kernel $(uname -r), $cpus vCPUs"
say "nginx $(nginx -v 2>&1 | sed 's|.*/||'), $cpus workers pinned one per cpu; wrk $cpus threads," \
	"$((cpus * 4)) connections, \"Connection: close\" (a new TCP connection per request)"

# run LABEL MODE: nginx under wrk for $seconds, with a line of progress
# every 5 s; results in /tmp/LABEL.*.
run() {
	local label=$1 start w next=5
	mode_setup "$2"
	probe_dir "/tmp/$label.probe"
	FSPROBE_DIR=/tmp/$label.probe nginx_start "/tmp/$label.nginx" 8080 "$cpus" off 0
	say "$label: wrk for $seconds s ..."
	wrk_run http://127.0.0.1:8080/ "/tmp/$label.wrk" &
	w=$!
	start=$SECONDS
	while kill -0 "$w" 2>/dev/null; do
		sleep 0.5
		if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$w" 2>/dev/null; then
			say "$label: $next s"
			next=$((next + 5))
		fi
	done
	wait "$w"
	app_stop "$NGINX_PID"
	check_answered "$label" "/tmp/$label.wrk" "/tmp/$label.probe"
	"$FS_TOOLS/fsprobe" "/tmp/$label.probe" >"/tmp/$label.json"
	say "$label: $(wrk_field "/tmp/$label.wrk" requests) requests, all answered" \
		"$([ "$2" = stock ] || dmesg | grep -o 'fastsocket [0-9.]* loaded' | tail -1 |
			sed 's/^/(/; s/$/, nginx under libfsocket.so)/')"
}

run stock stock
run fastsocket preload
syn_local=$(proc_total syn_local)
syn_global=$(proc_total syn_global)
per_cpu() { awk -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
	{ printf "%s%s", sep, $c; sep = "," }' "$FS_PROC"; }
syn_cpus=$(per_cpu syn_local)
unload

# row NAME STOCK FASTSOCKET [ratio]: a line of the side-by-side table.
row() {
	if [ "${4:-}" = ratio ]; then
		say "$(printf '  %-26s %12s %12s %8s' "$1" "$2" "$3" "$(ratio "$3" "$2")")"
	else
		say "$(printf '  %-26s %12s %12s' "$1" "$2" "$3")"
	fi
}
ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
# cells LIST: a per-cpu list as fixed-width cells.
cells() { echo "$1" | tr ',' '\n' | awk '{ printf "%7s", $1 }'; }

say ""
say "$(printf '  %-26s %12s %12s %8s' "" "stock 6.12" fastsocket ratio)"
row "connections per second" "$(wrk_field /tmp/stock.wrk rps)" "$(wrk_field /tmp/fastsocket.wrk rps)" ratio
row "requests answered" "$(wrk_field /tmp/stock.wrk requests)" "$(wrk_field /tmp/fastsocket.wrk requests)"
row "latency p50" "$(ms "$(wrk_field /tmp/stock.wrk p50_us)")" "$(ms "$(wrk_field /tmp/fastsocket.wrk p50_us)")"
row "latency p99" "$(ms "$(wrk_field /tmp/stock.wrk p99_us)")" "$(ms "$(wrk_field /tmp/fastsocket.wrk p99_us)")"
row "locality" "$(printf '%.2f' "$(probe_field /tmp/stock.probe fraction)")" \
	"$(printf '%.2f' "$(probe_field /tmp/fastsocket.probe fraction)")"
say ""
say "  $(printf '%-18s' 'per cpu')$(for c in $(seq 0 $((cpus - 1))); do printf '%7s' "cpu$c"; done)"
for label in stock fastsocket; do
	say "  $(printf '%-10s %-7s' "$label" SYNs)$(cells "$(probe_list "/tmp/$label.probe" per_cpu_incoming)")"
	say "  $(printf '%-10s %-7s' "" accepts)$(cells "$(probe_list "/tmp/$label.probe" per_cpu_accepts)")"
done
say "  fastsocket SYNs taken by the local listener of their cpu: $syn_local" \
	"($(cells "$syn_cpus" | tr -s ' ' | sed 's/^ //;s/ /, /g') per cpu), by the global one: $syn_global"
say ""
say "locality: the fraction of connections accepted on the cpu that processed their packets"
say "(SO_INCOMING_CPU); SYNs: the cpu each accepted connection's handshake ran on."
say "TCG emulates every vCPU on one host thread: the figures show locality and overhead,"
say "not the scaling of real cores; compare the two columns, not absolute numbers."
: >"$out/demo.finished"
