# SPDX-License-Identifier: GPL-2.0
# Makes the kernel print a warning on purpose.  The runner expects this
# scenario's log to hold a report: if it does not, report detection is
# broken and every other scenario's "ok" means nothing.
. "$FS_TOP/tests/vm/lib.sh"

if insmod "$FS_WARN_MODULE" 2>/dev/null; then
	fail "fs_warn.ko loaded; its init should fail"
fi
kv warned yes
