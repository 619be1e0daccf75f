// SPDX-License-Identifier: GPL-2.0

//! The layout of `/proc/net/fastsocket`: one row per online CPU, as
//! `/proc/net/softnet_stat` has, under a header that names the columns.
//!
//! The columns are one list, [`COLUMNS`]: the module counts, prints and
//! names them from it, and the host tools parse and explain them with it.
//! A new counter is one line in the [`columns!`] invocation below (and its
//! documentation in `Documentation/control-plane.rst`).

use core::fmt::{self, Write};

/// What a column counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Events since the module loaded (`fsctl stats --watch` shows a rate).
    Event,
    /// A current value (shown as is).
    Gauge,
}

/// One value column of the file.
#[derive(Debug, PartialEq, Eq)]
pub struct Column {
    /// The column name, stable ABI for scripts.
    pub name: &'static str,
    /// Event count or gauge.
    pub kind: Kind,
    /// What it counts, in one line.
    pub meaning: &'static str,
}

/// Makes [`Counter`] and [`COLUMNS`] from one line per column:
/// `Variant = "name", Kind, "meaning";`.
macro_rules! columns {
    ($($variant:ident = $name:literal, $kind:ident, $meaning:literal;)*) => {
        /// A per-CPU counter, in the order of the columns.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Counter {
            $(#[doc = $meaning] $variant,)*
        }

        impl Counter {
            /// Number of counters, so of value columns.
            pub const COUNT: usize = [$($name,)*].len();

            /// Every counter, in column order.
            pub const ALL: [Counter; Counter::COUNT] = [$(Counter::$variant,)*];
        }

        /// The value columns, in file order (after [`CPU_COLUMN`]).
        pub static COLUMNS: [Column; Counter::COUNT] = [$(Column {
            name: $name,
            kind: Kind::$kind,
            meaning: $meaning,
        },)*];
    };
}

columns! {
    LookupIpv4 = "lookup_ipv4", Event,
        "Handshakes completed on this CPU for an enabled IPv4 listener.";
    LookupIpv6 = "lookup_ipv6", Event,
        "Handshakes completed on this CPU for an enabled IPv6 listener (dual-stack ones included).";
    SynLocal = "syn_local", Event,
        "Connections for an enabled listener that waited on this CPU's accept queue.";
    SynGlobal = "syn_global", Event,
        "Connections for an enabled listener that waited on its shared accept queue.";
    AcceptLocal = "accept_local", Event,
        "Connections accepted on this CPU from its own accept queue.";
    AcceptGlobal = "accept_global", Event,
        "Connections accepted on this CPU from an enabled listener's shared queue.";
    Moved = "moved", Event,
        "Connections moved from this CPU's accept queues to their listener's shared queue.";
    LocalListeners = "local_listeners", Gauge,
        "Enabled listeners whose accept queue on this CPU is in use now.";
}

impl Counter {
    /// Its column.
    pub fn column(self) -> &'static Column {
        &COLUMNS[self as usize]
    }

    /// The column name, stable ABI for scripts.
    pub fn name(self) -> &'static str {
        self.column().name
    }

    /// Whether the column is a current value rather than an event count.
    pub fn is_gauge(self) -> bool {
        self.column().kind == Kind::Gauge
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_columns_stay_in_their_places() {
        // Columns are appended, never reordered or removed.
        let mut header = String::new();
        write_header(&mut header).unwrap();
        assert!(header.starts_with(
            "cpu lookup_ipv4 lookup_ipv6 syn_local syn_global accept_local accept_global moved \
             local_listeners"
        ));
        assert!(header.ends_with('\n') && !header.ends_with(" \n"));
        let gauges: Vec<_> = Counter::ALL.into_iter().filter(|c| c.is_gauge()).collect();
        assert_eq!(gauges, [Counter::LocalListeners]);
    }

    #[test]
    fn counters_index_their_columns() {
        for (i, c) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert!(core::ptr::eq(c.column(), &COLUMNS[i]));
            assert!(!c.column().meaning.contains('\n'));
        }
    }

    #[test]
    fn a_row_is_the_cpu_and_its_values() {
        let mut values = [0; Counter::COUNT];
        values[0] = 1;
        values[Counter::COUNT - 1] = u64::MAX;
        let mut row = String::new();
        write_row(&mut row, 3, &values).unwrap();
        let zeros = " 0".repeat(Counter::COUNT - 2);
        assert_eq!(row, format!("3 1{zeros} 18446744073709551615\n"));
    }
}
