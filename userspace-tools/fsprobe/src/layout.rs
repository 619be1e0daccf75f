// SPDX-License-Identifier: GPL-2.0

//! The probe file: one per process, a flat array of u64 counters that the
//! process increments in place (a shared mapping), so that nothing is lost
//! however the process ends.

/// Cpus a probe file counts (a cpu at or above lands in `UNKNOWN`).
pub const CPUS: usize = 256;

/// "fsprobe1", so that a stray file is not read as counters.
pub const MAGIC: u64 = u64::from_le_bytes(*b"fsprobe1");

/// Slot of the magic number.
pub const SLOT_MAGIC: usize = 0;
/// Connections accepted.
pub const SLOT_ACCEPTS: usize = 1;
/// Of those, accepted on the cpu that processed their packets.
pub const SLOT_LOCAL: usize = 2;
/// Of those, with a cpu the probe could not tell or count.
pub const SLOT_UNKNOWN: usize = 3;
/// `CPUS` slots: accepts per accepting cpu.
pub const SLOT_ACCEPT_CPU: usize = 4;
/// `CPUS` slots: accepts per cpu that processed the connection's packets.
pub const SLOT_INCOMING_CPU: usize = SLOT_ACCEPT_CPU + CPUS;
/// Slots in a file.
pub const SLOTS: usize = SLOT_INCOMING_CPU + CPUS;
/// Bytes in a file.
pub const BYTES: usize = SLOTS * 8;

/// File name suffix.
pub const SUFFIX: &str = ".probe";

/// The slots one accept increments: `(accepting cpu, incoming cpu)` as
/// sched_getcpu(3) and SO_INCOMING_CPU gave them (negative: unknown).
pub fn slots_for(accept_cpu: i32, incoming_cpu: i32) -> Vec<usize> {
    let mut slots = vec![SLOT_ACCEPTS];
    let known = |c: i32| usize::try_from(c).ok().filter(|&c| c < CPUS);
    match (known(accept_cpu), known(incoming_cpu)) {
        (Some(a), Some(i)) => {
            slots.push(SLOT_ACCEPT_CPU + a);
            slots.push(SLOT_INCOMING_CPU + i);
            if a == i {
                slots.push(SLOT_LOCAL);
            }
        }
        (a, i) => {
            slots.push(SLOT_UNKNOWN);
            slots.extend(a.map(|a| SLOT_ACCEPT_CPU + a));
            slots.extend(i.map(|i| SLOT_INCOMING_CPU + i));
        }
    }
    slots
}

/// What the probe files of a run add up to.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Processes that accepted (probe files read).
    pub processes: u64,
    pub accepts: u64,
    pub local: u64,
    pub unknown: u64,
    /// `local / accepts` (0 without accepts).
    pub fraction: f64,
    /// Accepts per accepting cpu, up to the highest cpu seen.
    pub per_cpu_accepts: Vec<u64>,
    /// Accepts per cpu that processed the packets (the SYN's cpu).
    pub per_cpu_incoming: Vec<u64>,
}

impl Summary {
    /// Adds one file's slots; false (and nothing added) if it is not a
    /// probe file.
    pub fn add(&mut self, slots: &[u64]) -> bool {
        if slots.len() != SLOTS || slots[SLOT_MAGIC] != MAGIC {
            return false;
        }
        self.processes += 1;
        self.accepts += slots[SLOT_ACCEPTS];
        self.local += slots[SLOT_LOCAL];
        self.unknown += slots[SLOT_UNKNOWN];
        let add = |into: &mut Vec<u64>, from: &[u64]| {
            let used = from.iter().rposition(|&n| n != 0).map_or(0, |i| i + 1);
            if into.len() < used {
                into.resize(used, 0);
            }
            for (a, b) in into.iter_mut().zip(from) {
                *a += b;
            }
        };
        add(
            &mut self.per_cpu_accepts,
            &slots[SLOT_ACCEPT_CPU..SLOT_ACCEPT_CPU + CPUS],
        );
        add(
            &mut self.per_cpu_incoming,
            &slots[SLOT_INCOMING_CPU..SLOT_INCOMING_CPU + CPUS],
        );
        self.fraction = if self.accepts == 0 {
            0.0
        } else {
            self.local as f64 / self.accepts as f64
        };
        true
    }

    /// Pads both per-cpu lists to `cpus` entries (the cpus of the machine,
    /// so that an idle cpu shows as 0).
    pub fn pad(&mut self, cpus: usize) {
        for v in [&mut self.per_cpu_accepts, &mut self.per_cpu_incoming] {
            if v.len() < cpus {
                v.resize(cpus, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(accepts: &[(i32, i32)]) -> Vec<u64> {
        let mut slots = vec![0; SLOTS];
        slots[SLOT_MAGIC] = MAGIC;
        for &(a, i) in accepts {
            for s in slots_for(a, i) {
                slots[s] += 1;
            }
        }
        slots
    }

    #[test]
    fn an_accept_on_the_packets_cpu_is_local() {
        let mut s = Summary::default();
        assert!(s.add(&file(&[(1, 1), (1, 0), (3, 3), (-1, 2)])));
        assert_eq!((s.accepts, s.local, s.unknown), (4, 2, 1));
        assert_eq!(s.fraction, 0.5);
        assert_eq!(s.per_cpu_accepts, vec![0, 2, 0, 1]);
        assert_eq!(s.per_cpu_incoming, vec![1, 1, 1, 1]);
    }

    #[test]
    fn files_add_up() {
        let mut s = Summary::default();
        s.add(&file(&[(0, 0)]));
        s.add(&file(&[(2, 2), (2, 1)]));
        assert_eq!((s.processes, s.accepts, s.local), (2, 3, 2));
        assert_eq!(s.per_cpu_accepts, vec![1, 0, 2]);
        s.pad(4);
        assert_eq!(s.per_cpu_incoming, vec![1, 1, 1, 0]);
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let mut s = Summary::default();
        assert!(!s.add(&[0; SLOTS]));
        assert!(!s.add(&file(&[])[1..]));
        assert_eq!(s, Summary::default());
    }

    #[test]
    fn cpus_out_of_range_are_unknown() {
        assert_eq!(
            slots_for(CPUS as i32, 0),
            vec![SLOT_ACCEPTS, SLOT_UNKNOWN, SLOT_INCOMING_CPU]
        );
        assert_eq!(slots_for(-1, -1), vec![SLOT_ACCEPTS, SLOT_UNKNOWN]);
    }
}
