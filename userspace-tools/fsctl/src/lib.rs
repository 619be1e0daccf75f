// SPDX-License-Identifier: GPL-2.0

//! fsctl, the administrator's tool for the fastsocket module.
//!
//! Everything that can be checked without the module (parsing, names,
//! deltas, layout, JSON) lives here so that `cargo test` covers it on any
//! host; `main.rs` only parses arguments and prints.

pub mod counters;
pub mod error;
pub mod feature;
pub mod layout;
pub mod module;
pub mod socket;
pub mod stats;
pub mod status;
pub mod sysctl;
#[cfg(test)]
mod testdir;

/// The column list of `/proc/net/fastsocket`, shared with the module.
pub use fastsocket_pure::stats_format;

// What the crate offered as `fsstats`, still at its root.
pub use counters::{CpuRow, ParseError, Table, PROC_PATH};
pub use error::Error;
pub use stats_format::Counter;
