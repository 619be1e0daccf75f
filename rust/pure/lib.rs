// SPDX-License-Identifier: GPL-2.0

//! The module's kernel-free code, shared with the host tools.
//!
//! The module compiles this file as its `pure` module (`--cfg MODULE`,
//! where the kernel crate provides the environment); Cargo compiles it as
//! the `fastsocket-pure` crate for the tools and runs its tests.  Nothing
//! here touches the kernel, allocates, or needs `unsafe`.
//!
//! Each setting and each counter is defined once: the sysctl table in
//! [`sysctl`] and the column list in [`stats_format`] are what the module
//! registers and prints and what `fsctl` names, parses and explains.

#![cfg_attr(not(any(test, MODULE)), no_std)]
#![forbid(unsafe_code)]

pub mod listen_policy;
pub mod stats_format;
pub mod sysctl;
pub mod uapi;
