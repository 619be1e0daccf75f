// SPDX-License-Identifier: GPL-2.0

//! The descriptors this process enabled, as a hint: a set of fd numbers
//! that threads read without locks.
//!
//! The library does not see `close()`, so a number may stay in the set
//! after its socket is gone; callers confirm with the kernel before they
//! act on it.  Numbers beyond the set's range are never in it.

use core::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering};

/// fd numbers below this are tracked (8 KiB of bits).
pub const CAPACITY: usize = 65536;

/// A lock-free set of fd numbers below [`CAPACITY`].
pub struct FdSet([AtomicU64; CAPACITY / 64]);

impl FdSet {
    /// The empty set.
    pub const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; CAPACITY / 64])
    }

    fn slot(fd: c_int) -> Option<(usize, u64)> {
        let fd = usize::try_from(fd).ok().filter(|&fd| fd < CAPACITY)?;
        Some((fd / 64, 1 << (fd % 64)))
    }

    /// Adds `fd`; false if it is out of range.
    pub fn insert(&self, fd: c_int) -> bool {
        let Some((word, bit)) = Self::slot(fd) else {
            return false;
        };
        // Relaxed: a hint, confirmed by the kernel before use.
        self.0[word].fetch_or(bit, Ordering::Relaxed);
        true
    }

    /// Whether `fd` was added.
    pub fn contains(&self, fd: c_int) -> bool {
        Self::slot(fd).is_some_and(|(word, bit)| self.0[word].load(Ordering::Relaxed) & bit != 0)
    }
}

impl Default for FdSet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted() {
        let s = FdSet::new();
        assert!(!s.contains(3));
        assert!(s.insert(3));
        assert!(s.insert(64));
        assert!(s.insert(65535));
        assert!(s.contains(3) && s.contains(64) && s.contains(65535));
        assert!(!s.contains(4) && !s.contains(63) && !s.contains(65));
    }

    #[test]
    fn out_of_range_is_never_in() {
        let s = FdSet::new();
        assert!(!s.insert(-1));
        assert!(!s.insert(CAPACITY as c_int));
        assert!(!s.contains(-1));
        assert!(!s.contains(CAPACITY as c_int));
        assert!(!s.contains(c_int::MAX));
    }
}
