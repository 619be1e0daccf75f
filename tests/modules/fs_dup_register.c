// SPDX-License-Identifier: GPL-2.0
/*
 * A second registrant of the fastsocket hooks, for the tests: while the
 * fastsocket module is loaded, loading this one must fail with -EBUSY and
 * leave fastsocket's registration working.  Loaded first, it holds the
 * hooks (doing nothing) so that fastsocket's own init must fail cleanly.
 */
#include <linux/module.h>
#include <net/fastsocket.h>

static const struct fastsocket_ops fs_dup_ops;

static int __init fs_dup_init(void)
{
	int err = fastsocket_register(&fs_dup_ops);

	pr_info("fs_dup_register: fastsocket_register() = %d\n", err);
	return err;
}

static void __exit fs_dup_exit(void)
{
	fastsocket_unregister(&fs_dup_ops);
}

module_init(fs_dup_init);
module_exit(fs_dup_exit);
MODULE_DESCRIPTION("fastsocket test: a competing hook registration");
MODULE_LICENSE("GPL");
