// SPDX-License-Identifier: GPL-2.0

//! Local listen: the listeners the module enabled.
//!
//! The per-CPU accept queues and everything on a connection's path live in
//! the kernel (`net/ipv4/fastsocket_listen.c`), with the listener itself:
//! there is one listening socket, the application's, and the module makes
//! no socket of its own.  The module decides which listeners are enabled
//! (ioctls, the automatic mode), keeps a reference on each, and runs the
//! rescue: a CPU's queue that has not been empty for `listen_idle_ms` (its
//! workers are busy, stopped or gone) hands its connections to the
//! listener's shared queue, where any worker takes them.
//!
//! Lock order: a listener's socket lock, then the registry's mutex.

#![forbid(unsafe_code)]

use kernel::{new_mutex, prelude::*, sync::Mutex};

use crate::{
    pure::{
        listen_policy,
        uapi::{self, CpuSet},
    },
    settings::{self, Setting},
    sys::{
        cpu, kthread,
        sock::{Locked, SockId, SockRef, SockView},
    },
};

/// The enabled listeners; a removed one leaves a free slot, so that
/// removal never allocates.
#[pin_data]
pub(crate) struct Tables {
    #[pin]
    registry: Mutex<KVec<Option<SockRef>>>,
}

impl Tables {
    /// No listener enabled.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            registry <- new_mutex!(KVec::new()),
        })
    }

    /// Enables local listen on the listening socket `sk` (locked) for
    /// `cpus`; for an enabled one, sets its CPUs.
    pub(crate) fn enable(&self, sk: &Locked<'_>, cpus: &CpuSet) -> Result {
        sk.enable(cpus)?;
        let view = sk.sock();
        let mut reg = self.registry.lock();
        if reg.iter().flatten().any(|l| l.id() == view.id()) {
            return Ok(());
        }
        if let Some(free) = reg.as_mut_slice().iter_mut().find(|s| s.is_none()) {
            *free = Some(view.hold());
        } else if let Err(e) = reg.push(Some(view.hold()), GFP_KERNEL) {
            drop(reg);
            sk.disable();
            return Err(e.into());
        }
        Ok(())
    }

    /// Disables local listen on `sk` (locked): every connection of its
    /// per-CPU queues moves to its shared queue.  `EINVAL` if it was not
    /// enabled.
    pub(crate) fn disable(&self, sk: &Locked<'_>) -> Result {
        // The kernel's word: a listener that stopped and listens again is
        // no longer enabled, though the registry may not have seen it yet.
        let enabled = sk.sock().listener_state().enabled;
        let l = self.forget(sk.sock().id());
        if !enabled || l.is_none() {
            return Err(EINVAL);
        }
        sk.disable();
        drop(l);
        Ok(())
    }

    fn forget(&self, id: SockId) -> Option<SockRef> {
        let mut reg = self.registry.lock();
        reg.as_mut_slice()
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|l| l.id() == id))
            .and_then(Option::take)
    }

    /// Disables every listener (module unload): nothing queued is lost.
    pub(crate) fn shutdown(&self) {
        // The sockets are locked outside the registry's mutex (lock order);
        // one that stops listening meanwhile is disabled by the kernel.
        let all = core::mem::take(&mut *self.registry.lock());
        for l in all.iter().flatten() {
            l.lock().disable();
        }
    }

    /// The state of `sk` for `FASTSOCKET_IOC_LISTEN_STATE`.
    pub(crate) fn state(&self, sk: SockView<'_>) -> uapi::ListenState {
        let mut st = uapi::ListenState {
            size: core::mem::size_of::<uapi::ListenState>() as u32,
            ..Default::default()
        };
        let q = sk.listener_state();
        if !q.enabled {
            return st;
        }
        st.state = uapi::STATE_ENABLED;
        st.cpus = q.allowed.0;
        st.local = q.attended.0;
        st.nr_local = q.attended.iter().count() as u32;
        st.queued = q.waiting;
        st.memory = q.memory;
        st
    }

    /// For each CPU below `n`, the enabled listeners whose queue there is
    /// in use.
    pub(crate) fn attended(&self, n: u32) -> Result<KVec<u64>> {
        let mut counts = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for _ in 0..n {
            counts.push(0, GFP_KERNEL)?;
        }
        let reg = self.registry.lock();
        for l in reg.iter().flatten() {
            for cpu in l.listener_state().attended.iter() {
                if let Some(c) = counts.get_mut(cpu) {
                    *c += 1;
                }
            }
        }
        Ok(counts)
    }

    /// One round of the rescue: queues that have not been empty for the
    /// idle time hand their connections to the shared queue; with the
    /// feature off, every queue does.  Listeners that stopped listening
    /// (the kernel disabled them, in any context) are forgotten here, so
    /// their sockets are freed at most one round late.
    fn rescue(&self) {
        let age = listen_policy::rescue_age_ms(
            settings::get(Setting::Listen) != 0,
            settings::get(Setting::ListenIdleMs),
        );
        let mut reg = self.registry.lock();
        for slot in reg.as_mut_slice() {
            match slot {
                Some(l) if l.is_listening() => {
                    l.rescue(age);
                }
                Some(_) => *slot = None,
                None => {}
            }
        }
    }
}

impl kthread::Periodic for Tables {
    fn tick(&self) {
        self.rescue();
    }

    fn period_ms(&self) -> u32 {
        listen_policy::scan_period_ms(settings::get(Setting::ListenIdleMs))
    }
}

/// Every possible CPU, for listeners enabled without a CPU list.
pub(crate) fn all_cpus() -> CpuSet {
    CpuSet::first(cpu::nr_ids() as usize)
}
