// SPDX-License-Identifier: GPL-2.0

//! Reads `/proc/net/fastsocket`, the module's per-CPU counters.
//!
//! The column list is the module's own (`rust/pure/stats_format.rs`, of
//! the `fastsocket-pure` crate), so the two cannot drift apart.

use std::{fmt, fs, io, path::Path};

use crate::stats_format::{self, Counter};

/// Where the module publishes its counters.
pub const PROC_PATH: &str = "/proc/net/fastsocket";

/// One row: the counters of one CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuRow {
    pub cpu: u32,
    pub values: [u64; Counter::COUNT],
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<CpuRow>,
}

/// Why a table could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The header does not list the columns this tool knows.
    Header(String),
    /// A row is not `cpu value...` with the header's column count.
    Row(usize, String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Header(h) => write!(f, "unexpected header {h:?}"),
            ParseError::Row(n, r) => write!(f, "line {n}: bad row {r:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl Table {
    /// Parses the text of the file.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        let mut expected = String::new();
        stats_format::write_header(&mut expected).map_err(|_| ParseError::Header(header.into()))?;
        if header != expected.trim_end() {
            return Err(ParseError::Header(header.into()));
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let bad = || ParseError::Row(i + 2, line.into());
            let mut fields = line.split_ascii_whitespace().map(str::parse::<u64>);
            let cpu = fields.next().ok_or_else(bad)?.map_err(|_| bad())?;
            let mut values = [0; Counter::COUNT];
            for value in values.iter_mut() {
                *value = fields.next().ok_or_else(bad)?.map_err(|_| bad())?;
            }
            if fields.next().is_some() {
                return Err(bad());
            }
            rows.push(CpuRow {
                cpu: u32::try_from(cpu).map_err(|_| bad())?,
                values,
            });
        }
        Ok(Self { rows })
    }

    /// Reads and parses a file (normally [`PROC_PATH`]).
    pub fn read(path: impl AsRef<Path>) -> io::Result<Self> {
        let text = fs::read_to_string(path)?;
        Self::parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The sum of one counter over all CPUs.
    pub fn total(&self, counter: Counter) -> u64 {
        self.rows.iter().map(|r| r.values[counter.index()]).sum()
    }

    /// Looks a counter up by its column name.
    pub fn counter_by_name(name: &str) -> Option<Counter> {
        Counter::ALL.into_iter().find(|c| c.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[CpuRow]) -> String {
        let mut s = String::new();
        stats_format::write_header(&mut s).unwrap();
        for r in rows {
            stats_format::write_row(&mut s, r.cpu, &r.values).unwrap();
        }
        s
    }

    #[test]
    fn module_format_round_trips() {
        // The first values given, the columns appended later zero.
        let row = |cpu, first: &[u64]| {
            let mut values = [0; Counter::COUNT];
            values[..first.len()].copy_from_slice(first);
            CpuRow { cpu, values }
        };
        let rows = vec![
            row(0, &[5, 0, 1, 2, 3, 4, 5, 6]),
            row(3, &[u64::MAX, 7, 0, 7, 0, 0, 9, 1]),
        ];
        let table = Table::parse(&render(&rows)).unwrap();
        assert_eq!(table.rows, rows);
        assert_eq!(table.total(Counter::SynGlobal), 9);
        assert_eq!(table.total(Counter::Moved), 14);
    }

    #[test]
    fn header_names_every_column_in_order() {
        // Columns are appended, never reordered: these come first.
        let text = render(&[]);
        assert!(text.starts_with(
            "cpu lookup_ipv4 lookup_ipv6 syn_local syn_global accept_local accept_global moved \
             local_listeners"
        ));
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(Table::counter_by_name(c.name()), Some(*c));
        }
        assert_eq!(Table::counter_by_name("cpu"), None);
    }

    #[test]
    fn rejects_foreign_header_and_short_rows() {
        assert!(matches!(
            Table::parse("cpu lookups\n0 1\n"),
            Err(ParseError::Header(_))
        ));
        let short = format!("{}0 1\n", render(&[]));
        assert_eq!(Table::parse(&short), Err(ParseError::Row(2, "0 1".into())));
        let long = format!("{}0 1 2 3\n", render(&[]));
        assert!(Table::parse(&long).is_err());
        let text = format!("{}x 1 2\n", render(&[]));
        assert!(Table::parse(&text).is_err());
    }

    #[test]
    fn empty_file_is_a_header_error() {
        assert!(matches!(Table::parse(""), Err(ParseError::Header(_))));
    }
}
