// SPDX-License-Identifier: GPL-2.0

//! Per-CPU event counters: the columns of `/proc/net/fastsocket`
//! ([`crate::pure::stats_format::COLUMNS`]).

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;

use crate::{pure::stats_format::Counter, sys::cpu};

/// The counters of one CPU, alone on their cache line so that CPUs counting
/// at the same time do not share lines.
#[repr(align(64))]
struct CpuCounters([AtomicU64; Counter::COUNT]);

/// One set of counters per possible CPU.
///
/// The memory is fixed at creation (`nr_cpu_ids` cache lines); nothing grows
/// with traffic.
pub(crate) struct Stats {
    cpus: KVec<CpuCounters>,
}

impl Stats {
    /// Allocates zeroed counters for every possible CPU.
    pub(crate) fn new() -> Result<Self> {
        let n = cpu::nr_ids() as usize;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cpus.push(CpuCounters(Default::default()), GFP_KERNEL)?;
        }
        Ok(Self { cpus })
    }

    /// Counts one `counter` event on the current CPU.
    pub(crate) fn inc(&self, counter: Counter) {
        if let Some(c) = self.cpus.get(cpu::current() as usize) {
            // Relaxed: a counter orders nothing, readers want a total only.
            c.0[counter.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `delta` (which may be negative, for a gauge) to `counter` of
    /// `cpu`.
    pub(crate) fn add(&self, cpu: u32, counter: Counter, delta: i64) {
        if let Some(c) = self.cpus.get(cpu as usize) {
            // Two's complement: adding the cast value subtracts.
            c.0[counter.index()].fetch_add(delta as u64, Ordering::Relaxed);
        }
    }

    /// Returns the counters of `cpu` (zeroes for an impossible one).
    pub(crate) fn read(&self, cpu: u32) -> [u64; Counter::COUNT] {
        let mut values = [0; Counter::COUNT];
        if let Some(c) = self.cpus.get(cpu as usize) {
            for (value, counter) in values.iter_mut().zip(&c.0) {
                *value = counter.load(Ordering::Relaxed);
            }
        }
        values
    }

    /// Number of possible CPUs counted.
    pub(crate) fn nr_cpus(&self) -> u32 {
        self.cpus.len() as u32
    }
}
