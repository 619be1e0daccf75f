// SPDX-License-Identifier: GPL-2.0

//! What the server counts: per worker as it goes, per process, and the
//! line it prints when it stops.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::{cpu, per_cpu};

/// What one worker (or one process) counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub accepted: u64,
    pub local: u64,
    pub per_cpu_accepts: Vec<u64>,
}

impl Totals {
    /// Adds `o` to these totals.
    pub fn add(&mut self, o: &Totals) {
        self.accepted += o.accepted;
        self.local += o.local;
        per_cpu::add(&mut self.per_cpu_accepts, &o.per_cpu_accepts);
    }
}

/// The line the server prints when it stops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub accepted: u64,
    pub local: u64,
    pub fraction: f64,
    pub per_cpu_accepts: Vec<u64>,
    pub workers_alive: usize,
}

impl Report {
    pub fn new(t: Totals, workers_alive: usize) -> Self {
        Self {
            accepted: t.accepted,
            local: t.local,
            fraction: if t.accepted == 0 {
                0.0
            } else {
                t.local as f64 / t.accepted as f64
            },
            per_cpu_accepts: per_cpu::padded(t.per_cpu_accepts, cpu::nr_cpu_slots()),
            workers_alive,
        }
    }
}

/// One worker's counters (each worker has its own: no shared cache lines
/// between workers on the connection path).
pub(super) struct Counters {
    pub(super) accepted: AtomicU64,
    pub(super) local: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) per_cpu: Box<[AtomicU64]>,
}

impl Counters {
    pub(super) fn new() -> Self {
        let slots = cpu::nr_cpu_slots().max(fastsocket_abi::uapi::CPUSET_BITS);
        Self {
            accepted: AtomicU64::new(0),
            local: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            per_cpu: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(super) fn totals(&self) -> Totals {
        let per_cpu: Vec<u64> = self
            .per_cpu
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let used = per_cpu.iter().rposition(|&n| n != 0).map_or(0, |i| i + 1);
        let len = used.max(cpu::nr_cpu_slots()).min(per_cpu.len());
        Totals {
            accepted: self.accepted.load(Ordering::Relaxed),
            local: self.local.load(Ordering::Relaxed),
            per_cpu_accepts: per_cpu[..len].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_per_cpu() {
        let mut t = Totals {
            accepted: 3,
            local: 1,
            per_cpu_accepts: vec![1, 2],
        };
        t.add(&Totals {
            accepted: 5,
            local: 5,
            per_cpu_accepts: vec![0, 1, 4],
        });
        assert_eq!((t.accepted, t.local), (8, 6));
        assert_eq!(t.per_cpu_accepts, vec![1, 3, 4]);
    }

    #[test]
    fn report_json_has_the_documented_fields() {
        let r = Report::new(
            Totals {
                accepted: 4,
                local: 1,
                per_cpu_accepts: vec![4],
            },
            2,
        );
        assert_eq!(r.fraction, 0.25);
        let j = serde_json::to_string(&r).unwrap();
        assert!(
            j.starts_with(r#"{"accepted":4,"local":1,"fraction":0.25,"per_cpu_accepts":[4"#),
            "{j}"
        );
        assert!(j.ends_with(r#"],"workers_alive":2}"#), "{j}");
        assert_eq!(Report::new(Totals::default(), 0).fraction, 0.0);
    }

    #[test]
    fn counters_cover_every_cpu_slot() {
        let c = Counters::new();
        c.accepted.store(2, Ordering::Relaxed);
        c.per_cpu[0].store(2, Ordering::Relaxed);
        let t = c.totals();
        assert_eq!(t.accepted, 2);
        assert_eq!(t.per_cpu_accepts.len(), cpu::nr_cpu_slots());
        assert_eq!(t.per_cpu_accepts.iter().sum::<u64>(), 2);
    }
}
