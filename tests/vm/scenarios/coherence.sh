# SPDX-License-Identifier: GPL-2.0
# The cache-coherence model counts what it claims (Documentation/
# coherence.rst): two threads pinned on two vCPUs take turns incrementing
#   shared  one counter                        about 1 transfer per increment
#   padded  a counter each, on its own line    about 0
#   false   a counter each, in one line        about 1 (false sharing)
# each figure within 10 % of one transfer per increment, counted on the
# counters' own lines (the self-test marks them for the plugin).  Also
# times the same work with the plugin idle (window closed), for the
# plugin's cost.
#
# Needs a VM booted with the plugin (tests/vm/boot.sh's
# FASTSOCKET_QEMU_PLUGIN; tests/run_tests.py boots one for this scenario)
# whose out= file is FS_COHERENCE_OUT.
. "$FS_TOP/tests/vm/lib.sh"

WINDOW="$FS_TOP/userspace-tools/target/release/coherence-window"
[ -x "$WINDOW" ] || fail "no $WINDOW: build userspace-tools with cargo build --release"
[ -n "${FS_COHERENCE_OUT:-}" ] || skip "no coherence plugin in this VM (FS_COHERENCE_OUT unset)"
[ "$(nproc)" -ge 2 ] || skip "needs two vCPUs"
n=${FS_COHERENCE_INCREMENTS:-2000}

# per_increment TRANSFERS INCREMENTS
per_increment() {
	awk -v t="$1" -v n="$2" 'BEGIN { printf "%.4f", t / n }'
}

for mode in shared padded false; do
	rm -f "$FS_COHERENCE_OUT"
	"$WINDOW" selftest "$mode" --increments "$n" >"$FS_OUT/coherence-$mode.run.json" ||
		fail "selftest $mode: $(cat "$FS_OUT/coherence-$mode.run.json")"
	# The plugin writes its file when the window closes, before the
	# guest's next instruction.
	[ -s "$FS_COHERENCE_OUT" ] || fail "selftest $mode: the plugin wrote no $FS_COHERENCE_OUT"
	json=$FS_OUT/coherence-$mode.json
	cp "$FS_COHERENCE_OUT" "$json"
	cp "${FS_COHERENCE_OUT%.json}.txt" "$FS_OUT/coherence-$mode.txt" 2>/dev/null || true
	increments=$(json_field "$FS_OUT/coherence-$mode.run.json" increments)
	marked=$(json_field "$json" 'watched_lines | length')
	want=$(json_field "$FS_OUT/coherence-$mode.run.json" marked_lines)
	[ "$marked" = "$want" ] || fail "selftest $mode: $want lines marked, the plugin saw $marked"
	transfers=$(jq '[.watched_lines[].transfers] | add' "$json")
	x=$(per_increment "$transfers" "$increments")
	expected=1
	[ "$mode" = padded ] && expected=0
	awk -v x="$x" -v e="$expected" 'BEGIN { d = x - e; exit !(d <= 0.1 && d >= -0.1) }' ||
		fail "$mode: $x transfers per increment on the counters' lines, expected $expected ± 0.1"
	kv "${mode}_transfers_per_increment" "$x"
	kv "${mode}_window_seconds" "$(json_field "$FS_OUT/coherence-$mode.run.json" seconds)"
	kv "${mode}_window_transfers" "$(json_field "$json" totals.transfers)"
	kv "${mode}_window_instructions" "$(json_field "$json" totals.instructions)"
done

# The same work, the plugin loaded but its window closed.
rm -f "$FS_COHERENCE_OUT"
"$WINDOW" selftest shared --increments "$n" --no-window >"$FS_OUT/coherence-idle.run.json" ||
	fail "selftest shared --no-window: $(cat "$FS_OUT/coherence-idle.run.json")"
[ ! -e "$FS_COHERENCE_OUT" ] || fail "the plugin wrote results with its window closed"
idle=$(json_field "$FS_OUT/coherence-idle.run.json" seconds)
kv shared_idle_seconds "$idle"
kv window_slowdown_over_idle "$(awk -v w="$(json_field "$FS_OUT/coherence-shared.run.json" seconds)" \
	-v i="$idle" 'BEGIN { printf "%.2f", w / i }')"
echo "the shared run's top functions and lines:"
cat "$FS_OUT/coherence-shared.txt" 2>/dev/null || true
