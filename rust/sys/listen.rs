// SPDX-License-Identifier: GPL-2.0

//! Local listen's global settings and per-CPU event counts, which live in
//! the kernel (`net/ipv4/fastsocket_listen.c`) because its paths count
//! them.

use kernel::bindings;

/// Sets local listen's switch (`on`: new connections may wait on per-CPU
/// queues) and how long a CPU's queue stays in use after the last accept or
/// poll by a worker pinned there.
pub(crate) fn set(on: bool, idle_ms: u32) {
    // SAFETY: two plain stores; any context.
    unsafe { bindings::fastsocket_set_listen(on, idle_ms) };
}

/// Local listen's events on one CPU since boot.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuEvents {
    /// Handshakes completed for an enabled IPv4 listener.
    pub(crate) completed_ipv4: u64,
    /// Handshakes completed for an enabled IPv6 listener.
    pub(crate) completed_ipv6: u64,
    /// Of those, connections that waited on this CPU's queue.
    pub(crate) queued_local: u64,
    /// And those that waited on the listener's shared queue.
    pub(crate) queued_shared: u64,
    /// Connections accepted here from this CPU's queue.
    pub(crate) accepted_local: u64,
    /// And those accepted from the shared queue.
    pub(crate) accepted_shared: u64,
    /// Connections moved from this CPU's queues to the shared ones.
    pub(crate) moved: u64,
}

/// The events of `cpu` (zeroes for an impossible one).
pub(crate) fn events(cpu: u32) -> CpuEvents {
    if cpu >= super::cpu::nr_ids() || !super::cpu::is_possible(cpu) {
        return CpuEvents::default();
    }
    let mut st = bindings::fastsocket_listen_stats::default();
    // SAFETY: `cpu` is a possible CPU (checked above); `st` is valid for
    // writes.
    unsafe { bindings::fastsocket_listen_stats_read(cpu, &mut st) };
    CpuEvents {
        completed_ipv4: st.completed[0],
        completed_ipv6: st.completed[1],
        queued_local: st.queued_local,
        queued_shared: st.queued_shared,
        accepted_local: st.accepted_local,
        accepted_shared: st.accepted_shared,
        moved: st.moved,
    }
}
