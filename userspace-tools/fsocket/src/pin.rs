// SPDX-License-Identifier: GPL-2.0

//! `FASTSOCKET_PIN`: each thread that accepts is pinned to a cpu of its own.
//! The kernel gives a listener's per-cpu accept queue only to tasks whose
//! affinity is exactly that cpu: unpinned workers take from the shared
//! queue, as on stock Linux, so servers that do not pin their workers get
//! locality only with this.
//!
//! Servers fork their workers after `listen()`, so the turn counter lives in
//! a shared anonymous mapping made at that point: every process forked
//! from then on, and every thread, draws the next cpu from the same
//! counter.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The cpu of the `turn`-th worker: workers go round the allowed cpus in
/// order.
pub fn cpu_for_turn(cpus: &[usize], turn: u64) -> Option<usize> {
    if cpus.is_empty() {
        return None;
    }
    let len = cpus.len() as u64;
    cpus.get((turn % len) as usize).copied()
}

/// The shared counter (a page of its own, shared across fork).
///
/// # Invariants
///
/// Once non-zero, `COUNTER` is the address of a live `MAP_SHARED` mapping
/// of at least one [`AtomicU64`], never unmapped.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Makes the shared counter if there is none yet; false if it cannot be
/// made (then threads are simply not pinned).
pub fn prepare() -> bool {
    if COUNTER.load(Ordering::Acquire) != 0 {
        return true;
    }
    // SAFETY: an anonymous mapping with no address hint touches no
    // existing memory; the result is checked below.
    let page = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return false;
    }
    if COUNTER
        .compare_exchange(0, page as usize, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread made one first: use that one.
        // SAFETY: `page` is the 4096-byte mapping made above, unused.
        unsafe { libc::munmap(page, 4096) };
    }
    true
}

/// The next turn, or `None` before [`prepare`].
pub fn next_turn() -> Option<u64> {
    let addr = COUNTER.load(Ordering::Acquire);
    if addr == 0 {
        return None;
    }
    // SAFETY: by the invariant, `addr` is a live, page-aligned shared
    // mapping, so suitably aligned for an `AtomicU64`, which every user
    // accesses atomically.
    let counter = unsafe { &*(addr as *const AtomicU64) };
    Some(counter.fetch_add(1, Ordering::Relaxed))
}

/// The cpus the calling thread may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is plain bits; all zero is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, core::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, within `set`.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Pins the calling thread to `cpu`.
pub fn pin_thread(cpu: usize) -> bool {
    // SAFETY: as in `allowed_cpus`.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `cpu` is a cpu the process may use, below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; pid 0 is the
    // calling thread.
    unsafe { libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_go_round_the_cpus() {
        let cpus = [0, 2, 5];
        let got: Vec<_> = (0..7).map(|t| cpu_for_turn(&cpus, t)).collect();
        assert_eq!(
            got,
            [0, 2, 5, 0, 2, 5, 0].map(Some).to_vec(),
            "turn t takes cpus[t % n]"
        );
        assert_eq!(cpu_for_turn(&[], 3), None);
        assert_eq!(cpu_for_turn(&[7], u64::MAX), Some(7));
    }

    #[test]
    fn the_counter_is_shared_with_a_forked_child() {
        assert!(prepare());
        let first = next_turn().unwrap();
        // SAFETY: the child only touches the shared counter and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let _ = next_turn();
            // SAFETY: leaves the child without running the test harness.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(next_turn(), Some(first + 2), "the child's turn counts here");
    }
}
