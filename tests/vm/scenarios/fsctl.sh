# SPDX-License-Identifier: GPL-2.0
# fsctl, the administrator's tool, against the module: status without and
# with it, the feature switches and their refusals, the counters (once and
# watched), and the state of a socket of another process.
. "$FS_TOP/tests/vm/lib.sh"

FSCTL="$FS_TOP/userspace-tools/target/release/fsctl"
[ -x "$FSCTL" ] || fail "no $FSCTL: build userspace-tools with cargo build --release"
w=/proc/sys/net/fastsocket

# Runs fsctl ARGS...; sets OUT (stdout), ERR (stderr) and RC.
run() {
	RC=0
	OUT=$("$FSCTL" "$@" 2>/tmp/fsctl.err) || RC=$?
	ERR=$(cat /tmp/fsctl.err)
}

# As run, as the user nobody (no capabilities, no ptrace access).
run_nobody() {
	RC=0
	OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$FSCTL" "$@" 2>/tmp/fsctl.err) ||
		RC=$?
	ERR=$(cat /tmp/fsctl.err)
}

# expect_error WHAT RC-PATTERN TEXT: the last run failed with status
# RC-PATTERN, nothing on stdout, and TEXT in its one line on stderr.
expect_error() {
	# shellcheck disable=SC2053 # RC-PATTERN is a glob: "[1-9]*"
	[[ "$RC" == $2 ]] || fail "$1: exit status $RC, not $2 (stderr: $ERR)"
	[ -z "$OUT" ] || fail "$1: printed '$OUT' on stdout"
	[ "$(wc -l <<<"$ERR")" = 1 ] || fail "$1: not one line on stderr: $ERR"
	grep -qF -- "$3" <<<"$ERR" || fail "$1: '$ERR' does not say '$3'"
}

# A field of the `key  value` lines of the last run.
field() {
	awk -v k="$1" '$1 == k { $1 = ""; sub(/^ +/, ""); print; exit }' <<<"$OUT"
}

not_loaded="fastsocket module is not loaded (no /dev/fastsocket; load it with insmod fastsocket.ko)"

# --- Without the module.
is_loaded && unload
run status
[ "$RC" = 1 ] || fail "status without the module: exit status $RC, not 1"
grep -q "not loaded" <<<"$OUT" || fail "status without the module: '$OUT'"
run status --json
[ "$(jq -r .loaded <<<"$OUT")" = false ] || fail "status --json without the module: '$OUT'"
run stats
expect_error "stats without the module" 1 "$not_loaded"
run stats --json
expect_error "stats --json without the module" 1 "$not_loaded"
run enable listen
expect_error "enable without the module" 1 "$not_loaded"
run socket 1/0
expect_error "socket without the module" 1 "$not_loaded"

# --- Status.
load
run status
[ "$RC" = 0 ] || fail "status: exit status $RC: $ERR"
echo "$OUT"
version=$(field version)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "status shows no version: $OUT"
[ "$(field module)" = loaded ] || fail "status does not say loaded: $OUT"
[ "$(field listen)" = on ] || fail "status does not show listen on: $OUT"
[ "$(field listen-auto)" = off ] || fail "status does not show listen-auto off: $OUT"
[ "$(field listen-idle-ms)" = "$(cat $w/listen_idle_ms)" ] ||
	fail "status shows listen-idle-ms '$(field listen-idle-ms)', the sysctl $(cat $w/listen_idle_ms)"
nr_cpu_ids=$(field nr_cpu_ids)
[ "$nr_cpu_ids" -ge "$(nproc)" ] || fail "status: nr_cpu_ids $nr_cpu_ids below $(nproc) cpus"
run status --json
jq -e --arg v "$version" '.loaded and .version == $v and .features.listen == true
	and .features["listen-auto"] == false and (.settings["listen-idle-ms"] | type) == "number"' \
	<<<"$OUT" >/dev/null || fail "status --json: $OUT"
# FASTSOCKET_IOC_INFO's version is the one the module says it is.
said=$(dmesg | sed -n 's/.*fastsocket \([0-9.]*\) loaded.*/\1/p' | tail -n 1)
[ "$version" = "$said" ] || fail "status shows version $version, the module said it is '$said'"
kv version "$version"
kv nr_cpu_ids "$nr_cpu_ids"

# --- Switches.
run disable listen
[ "$RC" = 0 ] || fail "disable listen: exit status $RC: $ERR"
[ "$(cat $w/listen)" = 0 ] || fail "disable listen left the sysctl at $(cat $w/listen)"
run status
[ "$(field listen)" = off ] || fail "status after disable: $OUT"
run enable listen
[ "$RC" = 0 ] || fail "enable listen: exit status $RC: $ERR"
[ "$(cat $w/listen)" = 1 ] || fail "enable listen left the sysctl at $(cat $w/listen)"
run enable auto
[ "$RC" = 0 ] && [ "$(cat $w/listen_auto)" = 1 ] || fail "enable auto: $RC, $(cat $w/listen_auto): $ERR"
run disable listen-auto
[ "$RC" = 0 ] && [ "$(cat $w/listen_auto)" = 0 ] ||
	fail "disable listen-auto: $RC, $(cat $w/listen_auto): $ERR"
idle=$(cat $w/listen_idle_ms)
run set listen-idle-ms 500
[ "$RC" = 0 ] && [ "$(cat $w/listen_idle_ms)" = 500 ] || fail "set listen-idle-ms 500: $RC: $ERR"
run set listen-idle-ms 5
expect_error "set listen-idle-ms 5" 1 "invalid value '5' for listen-idle-ms"
[ "$(cat $w/listen_idle_ms)" = 500 ] || fail "a refused set changed listen_idle_ms"
run set listen-idle-ms "$idle"
[ "$RC" = 0 ] || fail "set listen-idle-ms $idle: exit status $RC: $ERR"
run enable turbo
expect_error "enable turbo" "[1-9]*" "unknown feature 'turbo' (known: listen, listen-auto"
run enable established
expect_error "enable established" 1 \
	"feature established is not provided by this module (version $version)"
run disable
[ "$RC" = 2 ] || fail "disable without a feature: exit status $RC, not 2 (usage)"

# --- Refusals: nobody, and root without CAP_NET_ADMIN.
run_nobody disable listen
expect_error "disable listen as nobody" 1 "not permitted: writing $w/listen needs CAP_NET_ADMIN"
RC=0
ERR=$(capsh --drop=cap_net_admin -- -c "$FSCTL disable listen 2>&1 >/dev/null") || RC=$?
OUT=
expect_error "disable listen without CAP_NET_ADMIN" 1 \
	"not permitted: writing $w/listen needs CAP_NET_ADMIN"
[ "$(cat $w/listen)" = 1 ] || fail "a refused disable changed listen"
run_nobody status
[ "$RC" = 0 ] && [ "$(field listen)" = on ] || fail "status as nobody: $RC, $OUT $ERR"

# --- Counters.
# Workers pinned one per cpu (of the first two): a cpu's accept queue is in
# use only while a worker pinned there accepts or polls, for listen_idle_ms
# after; the longest idle time keeps them in use until the socket's state
# is read below.
fs_sysctl listen_idle_ms 60000
fs_server --listen 127.0.0.1:0 --workers 2 --pin --mode process --local-listen
fs_client "$SERVER_ADDR" 200 /tmp/c.json
columns="lookup_ipv4 lookup_ipv6 syn_local syn_global accept_local accept_global moved local_listeners"
# Nothing arrives now, but a scan may still move a connection: compare
# again if a reading raced with one.
for try in 1 2 3; do
	run stats --json
	[ "$RC" = 0 ] || fail "stats --json: exit status $RC: $ERR"
	mismatch=
	for c in $columns; do
		got=$(jq -r ".total.$c" <<<"$OUT")
		want=$(proc_total "$c")
		[ "$got" = "$want" ] || mismatch="$mismatch $c=$got/$want"
	done
	[ -z "$mismatch" ] && break
	sleep 0.5
done
[ -z "$mismatch" ] || fail "stats --json totals differ from $FS_PROC (fsctl/file):$mismatch"
# Per-cpu rows: one per online cpu, and they add up to the total.
[ "$(jq '.cpus | length' <<<"$OUT")" = "$(($(wc -l <"$FS_PROC") - 1))" ] ||
	fail "stats --json has $(jq '.cpus | length' <<<"$OUT") cpu rows: $OUT"
jq -e --argjson t "$(jq .total.syn_local <<<"$OUT")" '[.cpus[].syn_local] | add == $t' \
	<<<"$OUT" >/dev/null || fail "stats --json rows do not add up to the total: $OUT"
syn=$(jq '.total.syn_local + .total.syn_global' <<<"$OUT")
accepts=$(jq '.total.accept_local + .total.accept_global' <<<"$OUT")
[ "$syn" -ge 200 ] && [ "$accepts" -ge 200 ] ||
	fail "stats: $syn SYNs and $accepts accepts of enabled listeners for 200 connections"
kv syn_local "$(jq .total.syn_local <<<"$OUT")"
kv accept_local "$(jq .total.accept_local <<<"$OUT")"
run stats
[ "$RC" = 0 ] || fail "stats: exit status $RC: $ERR"
echo "$OUT"
head -n1 <<<"$OUT" | grep -q "^cpu  *lookup_ipv4  *lookup_ipv6  *syn_local .* local_listeners$" ||
	fail "stats: no header: $OUT"
[ "$(awk '$1 == "total" { print $4 }' <<<"$OUT")" = "$(proc_total syn_local)" ] ||
	fail "stats: the total row's syn_local is not $(proc_total syn_local): $OUT"

# Watched, while a client connects.
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections 1000 --json >/tmp/w.json &
client=$!
run stats --json --watch 1 --count 2
busy=0
kill -0 "$client" 2>/dev/null && busy=1
wait "$client" || fail "client during stats --watch: $(cat /tmp/w.json)"
[ "$RC" = 0 ] || fail "stats --json --watch 1 --count 2: exit status $RC: $ERR"
[ "$(wc -l <<<"$OUT")" = 2 ] || fail "stats --json --watch 1 --count 2: not two lines: $OUT"
rate=$(jq -s 'map(.total.syn_local + .total.syn_global) | add / 2 | floor' <<<"$OUT")
jq -s -e 'all(.[]; .seconds > 0.5 and .seconds < 5 and (.total.local_listeners | floor == .))' \
	<<<"$OUT" >/dev/null || fail "stats --watch JSON: $OUT"
# A client busy through both intervals must show in them.
[ "$busy" = 0 ] || [ "$rate" -gt 0 ] || fail "stats --watch: no SYNs per second under load: $OUT"
kv watch_syn_per_s "$rate"
run stats --watch 1 --count 2
[ "$RC" = 0 ] || fail "stats --watch 1 --count 2: exit status $RC: $ERR"
echo "$OUT"
[ "$(grep -c '^interval ' <<<"$OUT")" = 2 ] && [ "$(grep -c '^total ' <<<"$OUT")" = 2 ] ||
	fail "stats --watch 1 --count 2 did not print two intervals: $OUT"

# --- One socket of another process: the server's listener (its worker
# processes share it).
port=${SERVER_ADDR##*:}
holder=$(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*,fd=[0-9]*' | head -n1)
[ -n "$holder" ] || fail "ss shows no process holding $SERVER_ADDR"
pid=${holder#pid=}
pid=${pid%%,*}
fd=${holder##*fd=}
run socket "$pid/$fd"
[ "$RC" = 0 ] || fail "socket $pid/$fd: exit status $RC: $ERR"
echo "$OUT"
[ "$(field local-listen)" = enabled ] || fail "socket $pid/$fd: not enabled: $OUT"
[ "$(field address)" = "$SERVER_ADDR" ] || fail "socket $pid/$fd: address is not $SERVER_ADDR: $OUT"
[ "$(field listening)" = yes ] || fail "socket $pid/$fd: not listening: $OUT"
# The cpus whose accept queue is in use: those of the two pinned workers.
in_use=0-1 count=2
[ "$(nproc)" = 1 ] && in_use=0 count=1
[ "$(field cpus-in-use)" = "$in_use" ] && [ "$(field queues-in-use)" = "$count" ] ||
	fail "socket $pid/$fd: not cpus $in_use in use: $OUT"
run socket "$pid/$fd" --json
jq -e --arg in_use "$in_use" --argjson count "$count" '.enabled and .local_cpulist == $in_use
	and .local_listeners == $count and (.local_cpus | length) == .local_listeners
	and .allowed_cpulist != "" and .memory > 0' <<<"$OUT" >/dev/null ||
	fail "socket $pid/$fd --json: not cpus $in_use in use: $OUT"
kv socket_local_listeners "$(jq .local_listeners <<<"$OUT")"
kv socket_allowed_cpus "$(jq -r .allowed_cpulist <<<"$OUT")"
kv socket_memory "$(jq .memory <<<"$OUT")"

# Its errors.
run socket "$SERVER_PID/1"
expect_error "socket of a log file" 1 "$SERVER_PID/1 is not a socket"
run socket "$pid/9999"
expect_error "socket of a closed fd" 1 "process $pid has no fd 9999"
sh -c 'exit 0' &
dead=$!
wait "$dead"
run socket "$dead/0"
expect_error "socket of a process gone" 1 "no such process: $dead"
bash -c 'exec 7<>/dev/udp/127.0.0.1/9; exec sleep 30' &
udp=$!
sleep 0.3
run socket "$udp/7"
expect_error "socket of a UDP socket" 1 "$udp/7 is not a TCP socket (it is an IPv4 UDP socket)"
kill "$udp" 2>/dev/null || true
wait "$udp" 2>/dev/null || true
run_nobody socket "$pid/$fd"
expect_error "socket as nobody" 1 "not permitted: reading the descriptors of process $pid"
run socket 12x
[ "$RC" = 2 ] || fail "socket 12x: exit status $RC, not 2 (usage)"

fs_server_stop /tmp/fsctl.server.json
unload
run status
[ "$RC" = 1 ] && grep -q "not loaded" <<<"$OUT" || fail "status after unload: $RC: $OUT"
