// SPDX-License-Identifier: GPL-2.0

//! fsbench: a tcp_crr-shaped load (connect, one request, one response,
//! close) to measure short-lived TCP connections.

pub mod client;
pub mod cpu;
pub mod exchange;
pub mod locality;
mod per_cpu;
pub mod server;
pub mod summary;
#[cfg(test)]
mod test_server;

pub use client::{run_client, ClientConfig, Load};
pub use exchange::{Close, Exchange};
