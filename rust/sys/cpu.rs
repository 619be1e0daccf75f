// SPDX-License-Identifier: GPL-2.0

//! CPU identifiers.

use kernel::bindings;

/// Returns the id of the CPU the caller runs on.
///
/// In preemptible context the caller may migrate right after; the result is
/// then only a hint, which is all statistics need.
pub(crate) fn current() -> u32 {
    // SAFETY: `raw_smp_processor_id` only reads this CPU's id and has no
    // preconditions.
    unsafe { bindings::raw_smp_processor_id() }
}

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
