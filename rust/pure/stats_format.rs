// SPDX-License-Identifier: GPL-2.0

//! The layout of `/proc/net/fastsocket`: one row per online CPU, as
//! `/proc/net/softnet_stat` has, under a header that names the columns.
//!
//! This file has no kernel dependencies: the module formats with it and the
//! host tools and tests parse with the same column list.

use core::fmt::{self, Write};

/// A per-CPU event counter, in the order of the columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    /// TCP listener lookups of incoming IPv4 segments seen by the hook.
    LookupIpv4 = 0,
    /// TCP listener lookups of incoming IPv6 segments seen by the hook.
    LookupIpv6 = 1,
}

impl Counter {
    /// Number of counters, so of value columns.
    pub const COUNT: usize = 2;

    /// Every counter, in column order.
    pub const ALL: [Counter; Self::COUNT] = [Counter::LookupIpv4, Counter::LookupIpv6];

    /// The column name, stable ABI for scripts.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::LookupIpv4 => "lookup_ipv4",
            Counter::LookupIpv6 => "lookup_ipv6",
        }
    }

    /// Index of the counter in a row of values.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Name of the first column.
pub const CPU_COLUMN: &str = "cpu";

/// Writes the header line.
pub fn write_header(out: &mut impl Write) -> fmt::Result {
    out.write_str(CPU_COLUMN)?;
    for counter in Counter::ALL {
        write!(out, " {}", counter.name())?;
    }
    out.write_char('\n')
}

/// Writes the row of one CPU.
pub fn write_row(out: &mut impl Write, cpu: u32, values: &[u64; Counter::COUNT]) -> fmt::Result {
    write!(out, "{cpu}")?;
    for value in values {
        write!(out, " {value}")?;
    }
    out.write_char('\n')
}
