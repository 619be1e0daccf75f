# SPDX-License-Identifier: GPL-2.0
# Bad input gets a clear errno and changes nothing: the ioctls (see
# tests/tools/fs_badinput.c, built here against the uapi header), the
# sysctls, and races of close, fork, exec and exit with enabling.
. "$FS_TOP/tests/vm/lib.sh"

cc -O2 -Wall -pthread -o /tmp/fs_badinput "$FS_TOP/tests/tools/fs_badinput.c" ||
	fail "cannot build fs_badinput"
load
/tmp/fs_badinput >/tmp/badinput.out
rc=$?
cat /tmp/badinput.out
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' /tmp/badinput.out)"
kv ioctl_cases "$(grep -c '^ok' /tmp/badinput.out)"

sysctl_err() { # NAME VALUE [PREFIX...]: the error of writing VALUE
	local name=$1 value=$2
	shift 2
	"$@" sh -c "echo $value > /proc/sys/net/fastsocket/$name" 2>&1 | sed 's/.*: //'
}
before=$(cat /proc/sys/net/fastsocket/listen)
err=$(sysctl_err listen 2)
[ "$err" = "Invalid argument" ] || fail "listen=2: '$err', not EINVAL"
err=$(sysctl_err listen_idle_ms 5)
[ "$err" = "Invalid argument" ] || fail "listen_idle_ms=5: '$err', not EINVAL"
err=$(sysctl_err listen 0 capsh --drop=cap_net_admin --)
[ "$err" = "Operation not permitted" ] || fail "listen=0 without CAP_NET_ADMIN: '$err', not EPERM"
err=$(sysctl_err listen 0 setpriv --reuid=65534 --regid=65534 --clear-groups)
[ "$err" = "Permission denied" ] || fail "listen=0 as nobody: '$err', not EACCES"
[ "$(cat /proc/sys/net/fastsocket/listen)" = "$before" ] || fail "a refused write changed listen"
kv sysctl_cases 4
unload
