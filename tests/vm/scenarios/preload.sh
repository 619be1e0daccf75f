# SPDX-License-Identifier: GPL-2.0
# libfsocket.so never changes what a call returns, with the module or
# without it, says once when fastsocket is missing or refuses, and then
# leaves the application exactly as on stock Linux; the C API works as
# local_listen(3) says.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"

cpus=$(nproc)
# The programs, built on the host (tests/run_tests.py).
need_tool fs_listen_calls "fs_listen_calls.c does not build"
need_tool fs_c_api "fs_c_api.c does not build against fastsocket.h"
cp "$FS_TEST_TOOLS/fs_listen_calls" "$FS_TEST_TOOLS/fs_c_api" /tmp/
# libfastsocket.so asks for its soname, as an installed one would.
mkdir -p /tmp/lib
ln -sf "$FS_TOOLS/libfastsocket.so" /tmp/lib/libfastsocket.so.0

# calls NAME [ENV...]: the calls with the library (and ENV), compared with
# /tmp/stock.out; their stderr in /tmp/NAME.err.
calls() {
	local name=$1
	shift
	env LD_PRELOAD="$FS_PRELOAD" "$@" /tmp/fs_listen_calls >"/tmp/$name.out" 2>"/tmp/$name.err" ||
		fail "$name: exit status $?"
	diff -u /tmp/stock.out "/tmp/$name.out" || fail "$name: results differ from stock"
	libfsocket_lines=$(grep -c '^libfsocket:' "/tmp/$name.err" || true)
}

# 1. No module: stock results, one line saying so.
is_loaded && unload
/tmp/fs_listen_calls >/tmp/stock.out 2>/tmp/stock.err || fail "fs_listen_calls failed"
cat /tmp/stock.out
calls absent
[ "$libfsocket_lines" = 1 ] && grep -q 'fastsocket is not available' /tmp/absent.err ||
	fail "without the module: expected one line, got: $(cat /tmp/absent.err)"
cat /tmp/absent.err
LD_LIBRARY_PATH=/tmp/lib /tmp/fs_c_api --absent || fail "C API without the module"

# nginx under the library, no module: every request answered, one line.
probe_dir /tmp/probe
APP_PRELOAD=$FS_PRELOAD:$FS_PROBE FSPROBE_DIR=/tmp/probe nginx_start /tmp/nginx 8080 "$cpus" off 0
wrk_run http://127.0.0.1:8080/ /tmp/wrk.out
app_stop "$NGINX_PID"
check_answered "nginx without the module" /tmp/wrk.out /tmp/probe
[ "$(grep -c '^libfsocket:' /tmp/nginx/stderr)" = 1 ] ||
	fail "nginx without the module: $(cat /tmp/nginx/stderr)"
kv absent_nginx_requests "$(wrk_field /tmp/wrk.out requests)"

# 2. With the module: the same results; each TCP listener enabled (the
# verbose lines say which), nothing said otherwise.
load
calls present FASTSOCKET_VERBOSE=1
cat /tmp/present.err
enabled=$(grep -c 'local listen on cpus all' /tmp/present.err || true)
kv listeners_enabled "$enabled"
# tcp4 (listen, listen again), tcp6, and the unbound one listen() binds.
[ "$enabled" = 4 ] || fail "expected 4 TCP listeners enabled: $(cat /tmp/present.err)"
[ "$libfsocket_lines" = 4 ] || fail "unexpected lines: $(cat /tmp/present.err)"

# The module refusing (a cpu that does not exist): stock results, one line.
calls refused FASTSOCKET_CPUS=1000
[ "$libfsocket_lines" = 1 ] && grep -q 'did not take listener' /tmp/refused.err ||
	fail "refused: expected one line, got: $(cat /tmp/refused.err)"
cat /tmp/refused.err

# FASTSOCKET_CPUS: only the cpus named may use their accept queues.
last=$((cpus - 1))
calls some_cpus FASTSOCKET_CPUS=$last FASTSOCKET_VERBOSE=1
grep -q "local listen on cpus $last\$" /tmp/some_cpus.err ||
	fail "FASTSOCKET_CPUS=$last: $(cat /tmp/some_cpus.err)"

# FASTSOCKET_PIN: the thread is pinned once, when it first registers the
# listener with epoll (before its first accept), with the same results.
calls pinned FASTSOCKET_PIN=1 FASTSOCKET_VERBOSE=1
grep -q 'pinned to cpu [0-9]* at its first epoll_ctl$' /tmp/pinned.err &&
	[ "$(grep -c 'pinned to cpu' /tmp/pinned.err)" = 1 ] ||
	fail "FASTSOCKET_PIN: expected one pin at epoll_ctl: $(cat /tmp/pinned.err)"

# FASTSOCKET_DISABLE: as if not preloaded.
calls disabled FASTSOCKET_DISABLE=1
[ "$libfsocket_lines" = 0 ] || fail "disabled: $(cat /tmp/disabled.err)"

# 3. The C API.
LD_LIBRARY_PATH=/tmp/lib /tmp/fs_c_api >/tmp/c_api.out 2>&1 ||
	fail "C API: $(grep FAIL /tmp/c_api.out)"
cat /tmp/c_api.out
kv c_api_checks "$(grep -c '^ok' /tmp/c_api.out)"
unload
