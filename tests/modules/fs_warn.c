// SPDX-License-Identifier: GPL-2.0
/*
 * The harness's own check: loading this module prints a kernel warning,
 * which the VM harness must report.  Its init then fails, so it never
 * stays loaded.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init fs_warn_init(void)
{
	WARN(1, "fastsocket test: a deliberate warning for the harness\n");
	return -EINVAL;
}

module_init(fs_warn_init);
MODULE_DESCRIPTION("fastsocket test: proves that kernel reports are caught");
MODULE_LICENSE("GPL");
