#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The `make run` demonstration, inside the VM: Debian's nginx, unmodified,
# on stock 6.12 and then with fastsocket (LD_PRELOAD=libfsocket.so), both
# driven by wrk with "Connection: close".  After each timed run, a short
# window of the coherence plugin (scripts/run.sh boots the VM with it)
# counts cache-line transfers and instructions per connection.  Lines
# meant for the user start with "@@demo ".
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
window_seconds=${FS_RUN_WINDOW_SECONDS:-4}
APP_SECONDS=$seconds
WINDOW=$FS_TOOLS/coherence-window
[ -x "$WINDOW" ] || fail "no $WINDOW: build the userspace tools (make tools)"
[ -n "${FS_COHERENCE_OUT:-}" ] || fail "no coherence plugin in this VM (FS_COHERENCE_OUT unset)"
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

# count LABEL MODE: nginx under wrk again, for $window_seconds inside a
# window of the coherence plugin, in a fresh nginx with a probe directory
# of its own so that the timed run's figures stay its own.  The window
# counts the whole guest (wrk too); the connections are the ones wrk
# completed (one per request with "Connection: close").  Results in
# $out/coherence-LABEL.json (and .txt: the top functions and lines).
count() {
	local label=$1
	mode_setup "$2"
	probe_dir "/tmp/$label.wprobe"
	FSPROBE_DIR=/tmp/$label.wprobe nginx_start "/tmp/$label.wnginx" 8080 "$cpus" off 0
	say "$label: counting cache-line transfers for $window_seconds s ..."
	# The plugin names the module's functions from a copy of kallsyms,
	# taken before the window so that the copy does not count.
	cp /proc/kallsyms "$out/kallsyms" 2>/dev/null || true
	rm -f "$FS_COHERENCE_OUT"
	APP_SECONDS=$window_seconds
	"$WINDOW" start
	wrk_run http://127.0.0.1:8080/ "/tmp/$label.wwrk"
	# The plugin writes its file before stop returns.
	"$WINDOW" stop
	APP_SECONDS=$seconds
	app_stop "$NGINX_PID"
	check_answered "$label (counted window)" "/tmp/$label.wwrk" "/tmp/$label.wprobe"
	[ -s "$FS_COHERENCE_OUT" ] || fail "$label: the coherence plugin wrote no $FS_COHERENCE_OUT"
	cp "$FS_COHERENCE_OUT" "$out/coherence-$label.json"
	cp "${FS_COHERENCE_OUT%.json}.txt" "$out/coherence-$label.txt" 2>/dev/null || true
	say "$label: $(wrk_field "/tmp/$label.wwrk" requests) connections counted"
}

run stock stock
count stock stock
run fastsocket preload
# The module's counters before the counted window adds to them.
syn_local=$(proc_total syn_local)
syn_global=$(proc_total syn_global)
per_cpu() { awk -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
	{ printf "%s%s", sep, $c; sep = "," }' "$FS_PROC"; }
syn_cpus=$(per_cpu syn_local)
count fastsocket preload
unload

# row NAME STOCK FASTSOCKET [ratio]: a line of the side-by-side table.
row() {
	if [ "${4:-}" = ratio ]; then
		say "$(printf '  %-28s %12s %12s %8s' "$1" "$2" "$3" "$(ratio "$3" "$2")")"
	else
		say "$(printf '  %-28s %12s %12s' "$1" "$2" "$3")"
	fi
}
ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
# per_conn LABEL FIELD DECIMALS: the counted window's total FIELD (of the
# plugin's "totals") over the connections wrk completed in it.
per_conn() {
	awk -v t="$(json_field "$out/coherence-$1.json" "totals.$2")" \
		-v n="$(wrk_field "/tmp/$1.wwrk" requests)" -v d="$3" \
		'BEGIN { if (t != "" && n > 0) printf "%." d "f", t / n; else print "-" }'
}
# cells LIST: a per-cpu list as fixed-width cells.
cells() { echo "$1" | tr ',' '\n' | awk '{ printf "%7s", $1 }'; }

say ""
say "$(printf '  %-28s %12s %12s %8s' "" "stock 6.12" fastsocket ratio)"
row "connections per second" "$(wrk_field /tmp/stock.wrk rps)" "$(wrk_field /tmp/fastsocket.wrk rps)" ratio
row "requests answered" "$(wrk_field /tmp/stock.wrk requests)" "$(wrk_field /tmp/fastsocket.wrk requests)"
row "latency p50" "$(ms "$(wrk_field /tmp/stock.wrk p50_us)")" "$(ms "$(wrk_field /tmp/fastsocket.wrk p50_us)")"
row "latency p99" "$(ms "$(wrk_field /tmp/stock.wrk p99_us)")" "$(ms "$(wrk_field /tmp/fastsocket.wrk p99_us)")"
row "locality" "$(printf '%.2f' "$(probe_field /tmp/stock.probe fraction)")" \
	"$(printf '%.2f' "$(probe_field /tmp/fastsocket.probe fraction)")"
row "cache-line transfers / conn" "$(per_conn stock transfers 1)" "$(per_conn fastsocket transfers 1)" ratio
row "instructions / conn" "$(per_conn stock instructions 0)" "$(per_conn fastsocket instructions 0)" ratio
say ""
say "  $(printf '%-18s' 'per cpu')$(for c in $(seq 0 $((cpus - 1))); do printf '%7s' "cpu$c"; done)"
for label in stock fastsocket; do
	say "  $(printf '%-10s %-7s' "$label" SYNs)$(cells "$(probe_list "/tmp/$label.probe" per_cpu_incoming)")"
	say "  $(printf '%-10s %-7s' "" accepts)$(cells "$(probe_list "/tmp/$label.probe" per_cpu_accepts)")"
done
say "  fastsocket connections queued on their cpu's accept queue: $syn_local" \
	"($(cells "$syn_cpus" | tr -s ' ' | sed 's/^ //;s/ /, /g') per cpu), on the listener's shared queue: $syn_global"
say ""
say "transfers and instructions per connection: counted by the emulator's cache-coherence model"
say "(unbounded private caches: only sharing misses) over a $window_seconds s window of each, the whole"
say "guest counted (wrk too), divided by the connections wrk completed; see Documentation/coherence.rst."
say "locality: the fraction of connections accepted on the cpu that processed their packets"
say "(SO_INCOMING_CPU); SYNs: the cpu each accepted connection's handshake ran on."
say "TCG emulates every vCPU on one host thread: the figures show locality and overhead,"
say "not the scaling of real cores; compare the two columns, not absolute numbers."
: >"$out/demo.finished"
