# SPDX-License-Identifier: GPL-2.0
# Bad input gets a clear errno and changes nothing: the ioctls (see
# tests/tools/fs_badinput.c, built on the host against the uapi header,
# and fs_compat32.c, the same from a 32-bit caller),
# the sysctls, and races of close, fork, exec and exit with enabling.
. "$FS_TOP/tests/vm/lib.sh"

need_tool fs_badinput "cannot build fs_badinput"
load
# Not under set -e: a failing case must still show its line.
rc=0
"$FS_TEST_TOOLS/fs_badinput" >/tmp/badinput.out || rc=$?
cat /tmp/badinput.out
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' /tmp/badinput.out)"
kv ioctl_cases "$(grep -c '^ok' /tmp/badinput.out)"

# A 32-bit caller gets the same answers, through compat_ioctl.
need_tool fs_compat32 "cannot build fs_compat32"
out=$("$FS_TEST_TOOLS/fs_compat32") || fail "32-bit caller: $out"
kv compat32 "$out"

# The error message of a shell that writes a sysctl: the text after the
# last ": " (e.g. "Invalid argument").
write_err() {
	"$@" 2>&1 | sed -n 's/.*: //p' || true
}
before=$(cat /proc/sys/net/fastsocket/listen)
w=/proc/sys/net/fastsocket
err=$(write_err bash -c "echo 2 > $w/listen")
[ "$err" = "Invalid argument" ] || fail "listen=2: '$err', not EINVAL"
err=$(write_err bash -c "echo 5 > $w/listen_idle_ms")
[ "$err" = "Invalid argument" ] || fail "listen_idle_ms=5: '$err', not EINVAL"
err=$(write_err capsh --drop=cap_net_admin -- -c "echo 0 > $w/listen")
[ "$err" = "Operation not permitted" ] || fail "listen=0 without CAP_NET_ADMIN: '$err', not EPERM"
err=$(write_err setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "echo 0 > $w/listen")
[ "$err" = "Permission denied" ] || fail "listen=0 as nobody: '$err', not EACCES"
[ "$(cat /proc/sys/net/fastsocket/listen)" = "$before" ] || fail "a refused write changed listen"
kv sysctl_cases 4
unload
