// SPDX-License-Identifier: GPL-2.0

//! CPU identifiers.

use kernel::bindings;

/// Returns one more than the highest possible CPU id.
pub(crate) fn nr_ids() -> u32 {
    // SAFETY: `nr_cpu_ids` is set during early boot, before any module can
    // load, and never written again.
    unsafe { bindings::nr_cpu_ids }
}

/// Returns whether `cpu` is online now.
pub(crate) fn is_online(cpu: u32) -> bool {
    // SAFETY: `cpu_online` has no preconditions for ids below `nr_cpu_ids`,
    // which the first operand checks.
    cpu < nr_ids() && unsafe { bindings::cpu_online(cpu) }
}

/// Returns whether `cpu` may ever be online.
pub(crate) fn is_possible(cpu: u32) -> bool {
    // SAFETY: `cpu_possible` has no preconditions for ids below
    // `nr_cpu_ids`, which the first operand checks.
    cpu < nr_ids() && unsafe { bindings::cpu_possible(cpu) }
}
