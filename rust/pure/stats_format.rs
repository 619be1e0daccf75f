// SPDX-License-Identifier: GPL-2.0

//! The layout of `/proc/net/fastsocket`: one row per online CPU, as
//! `/proc/net/softnet_stat` has, under a header that names the columns.
//!
//! This file has no kernel dependencies: the module formats with it and the
//! host tools and tests parse with the same column list.

use core::fmt::{self, Write};

/// A per-CPU counter, in the order of the columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    /// Listener lookups on this CPU that found an enabled IPv4 listener.
    LookupIpv4 = 0,
    /// Listener lookups on this CPU that found an enabled IPv6 listener
    /// (dual-stack ones included).
    LookupIpv6 = 1,
    /// SYNs for an enabled listener taken by this CPU's local listener.
    SynLocal = 2,
    /// SYNs for an enabled listener that fell back to the listener itself.
    SynGlobal = 3,
    /// Connections accepted on this CPU from its local listener.
    AcceptLocal = 4,
    /// Connections accepted on this CPU from an enabled listener itself.
    AcceptGlobal = 5,
    /// Connections moved from this CPU's local listeners to their listener
    /// (worker gone, feature switched off, listener disabled, unload).
    Moved = 6,
    /// Local listeners this CPU has now (a gauge, not an event count).
    LocalListeners = 7,
}

impl Counter {
    /// Number of counters, so of value columns.
    pub const COUNT: usize = 8;

    /// Every counter, in column order.
    pub const ALL: [Counter; Self::COUNT] = [
        Counter::LookupIpv4,
        Counter::LookupIpv6,
        Counter::SynLocal,
        Counter::SynGlobal,
        Counter::AcceptLocal,
        Counter::AcceptGlobal,
        Counter::Moved,
        Counter::LocalListeners,
    ];

    /// The column name, stable ABI for scripts.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::LookupIpv4 => "lookup_ipv4",
            Counter::LookupIpv6 => "lookup_ipv6",
            Counter::SynLocal => "syn_local",
            Counter::SynGlobal => "syn_global",
            Counter::AcceptLocal => "accept_local",
            Counter::AcceptGlobal => "accept_global",
            Counter::Moved => "moved",
            Counter::LocalListeners => "local_listeners",
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
