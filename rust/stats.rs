// SPDX-License-Identifier: GPL-2.0

//! Per-CPU event counters: the columns of `/proc/net/fastsocket`
//! ([`crate::pure::stats_format::COLUMNS`]).
//!
//! The kernel counts local listen's events on the connections' paths (per
//! CPU, since boot); the file shows them since the module loaded.

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::{
    pure::stats_format::Counter,
    sys::{cpu, listen},
};

/// The event counters of every possible CPU at module load.
///
/// The memory is fixed at creation (`nr_cpu_ids` rows); nothing grows with
/// traffic.
pub(crate) struct Stats {
    base: KVec<[u64; Counter::COUNT]>,
}

impl Stats {
    /// Takes the counts of every possible CPU now as zero.
    pub(crate) fn new() -> Result<Self> {
        let n = cpu::nr_ids();
        let mut base = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for c in 0..n {
            base.push(Self::events(c, 0), GFP_KERNEL)?;
        }
        Ok(Self { base })
    }

    /// The kernel's counts of `cpu`, in column order, with `gauge` as the
    /// [`Counter::LocalListeners`] column.
    fn events(cpu: u32, gauge: u64) -> [u64; Counter::COUNT] {
        let e = listen::events(cpu);
        Counter::ALL.map(|c| match c {
            Counter::LookupIpv4 => e.completed_ipv4,
            Counter::LookupIpv6 => e.completed_ipv6,
            Counter::SynLocal => e.queued_local,
            Counter::SynGlobal => e.queued_shared,
            Counter::AcceptLocal => e.accepted_local,
            Counter::AcceptGlobal => e.accepted_shared,
            Counter::Moved => e.moved,
            Counter::LocalListeners => gauge,
        })
    }

    /// The counters of `cpu` since load, with `gauge` (a current value) as
    /// the [`Counter::LocalListeners`] column.
    pub(crate) fn read(&self, cpu: u32, gauge: u64) -> [u64; Counter::COUNT] {
        let mut values = Self::events(cpu, gauge);
        if let Some(base) = self.base.get(cpu as usize) {
            for (v, b) in values.iter_mut().zip(base) {
                *v = v.wrapping_sub(*b);
            }
        }
        values
    }

    /// Number of possible CPUs counted.
    pub(crate) fn nr_cpus(&self) -> u32 {
        self.base.len() as u32
    }
}
