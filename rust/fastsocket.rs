// SPDX-License-Identifier: GPL-2.0

//! Fastsocket: per-core partitioning of the TCP stack for short-lived
//! connections.
//!
//! The kernel gives a listening socket enabled for local listen one accept
//! queue per CPU, where the connections completed on that CPU wait for the
//! workers pinned there.  This module decides which listeners are enabled
//! (`/dev/fastsocket`, the automatic mode), hands connections nobody
//! accepts to the listener's shared queue, keeps the switches in
//! `/proc/sys/net/fastsocket`, and reports per-CPU counters in
//! `/proc/net/fastsocket`.  See `Documentation/design.rst` and
//! `Documentation/local-listen.rst`.
//!
//! Every `unsafe` of the module is in [`sys`], the glue that wraps the
//! kernel's interfaces in safe types.  The policy ([`policy`], [`listen`],
//! [`control`], [`settings`], [`stats`]) and [`pure`], the code shared with
//! the host tools, are safe Rust: each file forbids `unsafe_code`, and this
//! root denies it everywhere but in [`sys`].  This file only declares the
//! module; `module!` expands here.

#![deny(unsafe_code)]

use kernel::prelude::*;

mod control;
mod listen;
mod policy;
// Shared with the host tools (the `fastsocket-pure` crate), where its
// modules are public too.
#[path = "pure/lib.rs"]
pub mod pure;
mod settings;
mod stats;
#[allow(unsafe_code)] // The glue: the only place `unsafe` is allowed.
mod sys;

use policy::Fastsocket;

module! {
    type: Fastsocket,
    name: "fastsocket",
    author: "Fastsocket maintainers",
    description: "Per-core partitioning of the TCP stack for short-lived connections",
    license: "GPL",
}
