// SPDX-License-Identifier: GPL-2.0

//! `libfsprobe.so`: measures, inside an unmodified server, where its
//! connections were accepted against where their packets were processed.
//!
//! ```text
//! FSPROBE_DIR=/tmp/probe LD_PRELOAD=libfsprobe.so nginx ...
//! fsprobe /tmp/probe
//! ```
//!
//! After each successful `accept()`/`accept4()` it reads the new socket's
//! `SO_INCOMING_CPU` (the cpu that processed its handshake and data) and
//! the cpu the accepting thread runs on, and counts them in a file of its
//! process under `FSPROBE_DIR`.  It changes no result and no errno, and
//! costs a getsockopt and a few atomic adds per accept, the same with or
//! without fastsocket, so stock and fastsocket are measured alike.
//! Without `FSPROBE_DIR` it does nothing.

pub mod layout;
mod probe;

pub use probe::{accept, accept4};
