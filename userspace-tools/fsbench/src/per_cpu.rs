// SPDX-License-Identifier: GPL-2.0

//! Per-cpu counts: vectors indexed by cpu number that grow as needed.

/// Counts one more at `cpu`.
pub(crate) fn bump(counts: &mut Vec<u64>, cpu: usize) {
    if cpu >= counts.len() {
        counts.resize(cpu + 1, 0);
    }
    counts[cpu] += 1;
}

/// Adds `more` into `counts`, cpu by cpu.
pub(crate) fn add(counts: &mut Vec<u64>, more: &[u64]) {
    if counts.len() < more.len() {
        counts.resize(more.len(), 0);
    }
    for (s, v) in counts.iter_mut().zip(more) {
        *s += v;
    }
}

/// `counts`, at least `slots` long.
pub(crate) fn padded(mut counts: Vec<u64>, slots: usize) -> Vec<u64> {
    if counts.len() < slots {
        counts.resize(slots, 0);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_to_the_cpus_seen() {
        let mut c = vec![1];
        bump(&mut c, 2);
        bump(&mut c, 0);
        assert_eq!(c, vec![2, 0, 1]);
        add(&mut c, &[1, 1, 1, 5]);
        assert_eq!(c, vec![3, 1, 2, 5]);
        add(&mut c, &[1]);
        assert_eq!(c, vec![4, 1, 2, 5]);
        assert_eq!(padded(vec![1], 3), vec![1, 0, 0]);
        assert_eq!(padded(vec![1, 2], 1), vec![1, 2]);
    }
}
