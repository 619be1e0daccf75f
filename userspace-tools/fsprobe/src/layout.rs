// SPDX-License-Identifier: GPL-2.0

//! The probe file: one per process, a flat array of u64 counters that the
//! process increments in place (a shared mapping), so that nothing is lost
//! however the process ends.

/// Cpus a probe file counts (a cpu at or above lands in `UNKNOWN`).
pub const CPUS: usize = 256;

/// "fsprobe2", so that a stray file (or one of another layout) is not
/// read as counters.
pub const MAGIC: u64 = u64::from_le_bytes(*b"fsprobe2");

/// Length of the time slices accepts are also counted by, in ms.
pub const SLICE_MS: u64 = 100;
/// Slices a file counts, from its making on (then accepts are no longer
/// counted by time): over three minutes, many times a benchmark run.
pub const SLICES: usize = 2048;

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
/// The slice the file was made in: wall-clock ms / `SLICE_MS`.
pub const SLOT_T0: usize = SLOT_INCOMING_CPU + CPUS;
/// `SLICES` slots: accepts per slice, from slice `SLOT_T0` on.
pub const SLOT_SLICE: usize = SLOT_T0 + 1;
/// Slots in a file.
pub const SLOTS: usize = SLOT_SLICE + SLICES;
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

/// The slice of wall-clock time `ms` (since the epoch).
pub fn slice_of(ms: u64) -> u64 {
    ms / SLICE_MS
}

/// The slot counting accepts in `slice`, in a file made in slice `t0`.
pub fn slice_slot(t0: u64, slice: u64) -> Option<usize> {
    let i = usize::try_from(slice.checked_sub(t0)?).ok()?;
    (i < SLICES).then_some(SLOT_SLICE + i)
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
    /// Length of the slices of `per_slice`, in ms (0: no window asked).
    pub slice_ms: u64,
    /// Accepts in each whole slice of the window asked for.
    pub per_slice: Vec<u64>,
    /// Accepts by slice (wall-clock ms / `SLICE_MS`), of every file.
    #[serde(skip)]
    by_slice: std::collections::BTreeMap<u64, u64>,
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
        let t0 = slots[SLOT_T0];
        for (i, &n) in slots[SLOT_SLICE..].iter().enumerate() {
            if n != 0 {
                *self
                    .by_slice
                    .entry(t0.saturating_add(i as u64))
                    .or_default() += n;
            }
        }
        self.fraction = if self.accepts == 0 {
            0.0
        } else {
            self.local as f64 / self.accepts as f64
        };
        true
    }

    /// Sets `per_slice` to the accepts of each slice that lies wholly in
    /// the wall-clock window `[from_ms, to_ms)`.
    pub fn window(&mut self, from_ms: u64, to_ms: u64) {
        let first = slice_of(from_ms.saturating_add(SLICE_MS - 1));
        let end = slice_of(to_ms);
        self.slice_ms = SLICE_MS;
        self.per_slice = (first..end.max(first))
            .map(|s| self.by_slice.get(&s).copied().unwrap_or(0))
            .collect();
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
        slots[SLOT_T0] = 1000;
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
    fn a_window_holds_the_whole_slices_of_every_file() {
        let mut a = file(&[]);
        let mut b = file(&[]);
        b[SLOT_T0] = 1002;
        // a: 5 accepts in slice 1001, 7 in 1003; b: 4 in 1003, 9 in 1004.
        a[slice_slot(1000, 1001).unwrap()] = 5;
        a[slice_slot(1000, 1003).unwrap()] = 7;
        b[slice_slot(1002, 1003).unwrap()] = 4;
        b[slice_slot(1002, 1004).unwrap()] = 9;
        let mut s = Summary::default();
        assert!(s.add(&a) && s.add(&b));
        // 100_150 ms to 100_450 ms: slices 1002 and 1003 are whole in it.
        s.window(100_150, 100_450);
        assert_eq!((s.slice_ms, s.per_slice.clone()), (SLICE_MS, vec![0, 11]));
        s.window(100_100, 100_500);
        assert_eq!(s.per_slice, vec![5, 0, 11, 9]);
        s.window(100_450, 100_150);
        assert_eq!(s.per_slice, Vec::<u64>::new());
    }

    #[test]
    fn slices_before_or_long_after_the_file_have_no_slot() {
        assert_eq!(slice_slot(10, 9), None);
        assert_eq!(slice_slot(10, 10), Some(SLOT_SLICE));
        assert_eq!(slice_slot(10, 10 + SLICES as u64), None);
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
