// SPDX-License-Identifier: GPL-2.0

//! CPU lists as the kernel writes them (`0-3,8,10-11`; see
//! `Documentation/admin-guide/kernel-parameters.rst`, "cpu lists").

use crate::uapi::{CpuSet, CPUSET_BITS};
use std::fmt::Write;

/// Parses a CPU list; `None` if it is malformed, empty, or names a CPU a
/// [`CpuSet`] cannot hold.
pub fn parse(text: &str) -> Option<CpuSet> {
    let mut set = CpuSet::default();
    for part in text.trim().split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse::<usize>().ok()?, hi.trim().parse().ok()?),
            None => {
                let cpu = part.trim().parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        if lo > hi || hi >= CPUSET_BITS {
            return None;
        }
        for cpu in lo..=hi {
            set.insert(cpu);
        }
    }
    (!set.is_empty()).then_some(set)
}

/// Writes `cpus` (any order, duplicates allowed) as a CPU list, runs
/// collapsed to ranges as the kernel's `%*pbl` does; empty for none.
pub fn format(cpus: impl IntoIterator<Item = usize>) -> String {
    let mut cpus: Vec<usize> = cpus.into_iter().collect();
    cpus.sort_unstable();
    cpus.dedup();
    let mut out = String::new();
    let mut rest = cpus.as_slice();
    while let Some((&first, tail)) = rest.split_first() {
        // The run of consecutive cpus that starts at `first`.
        let len = tail
            .iter()
            .zip(first + 1..)
            .take_while(|(&c, want)| c == *want)
            .count();
        let sep = if out.is_empty() { "" } else { "," };
        // Writing to a String cannot fail.
        let _ = if len == 0 {
            write!(out, "{sep}{first}")
        } else {
            write!(out, "{sep}{first}-{}", first + len)
        };
        rest = &tail[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus(text: &str) -> Option<Vec<usize>> {
        parse(text).map(|s| s.iter().collect())
    }

    #[test]
    fn parses_single_cpus_and_ranges() {
        assert_eq!(cpus("0"), Some(vec![0]));
        assert_eq!(cpus("0-3,8,10-11"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(cpus(" 2 , 1 "), Some(vec![1, 2]));
        assert_eq!(cpus("1023"), Some(vec![1023]));
    }

    #[test]
    fn rejects_what_is_not_a_cpu_list() {
        for bad in [
            "", ",", "a", "1-", "-1", "3-1", "1024", "0-1024", "1,,2", "1.5",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_as_the_kernel_does() {
        assert_eq!(format([]), "");
        assert_eq!(format([5]), "5");
        assert_eq!(format([0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format([1, 3, 5]), "1,3,5");
        assert_eq!(format([1, 2, 4, 5, 6, 9]), "1-2,4-6,9");
    }

    #[test]
    fn formats_any_order_once() {
        assert_eq!(format([3, 1, 2, 2, 0, 3]), "0-3");
        assert_eq!(format([1023, 64, 63]), "63-64,1023");
    }

    #[test]
    fn format_and_parse_round_trip() {
        for text in ["0-3,8,10-11", "7", "0,2-5,1023"] {
            let set = parse(text).unwrap();
            assert_eq!(format(set.iter()), text);
        }
    }
}
