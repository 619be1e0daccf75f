// SPDX-License-Identifier: GPL-2.0

//! The glue between the policy and the kernel: every `unsafe` block of the
//! module is in this folder.
//!
//! Each file wraps one kernel interface in a safe API whose types carry
//! their invariants (`# Invariants`), so that the policy, which may not use
//! `unsafe` (the compiler checks it), cannot break them: the hook table
//! ([`hooks`]), sockets and their per-CPU accept queues ([`sock`]), local
//! listen's settings and counters ([`listen`]), the misc device
//! ([`miscdev`]), sysctls ([`sysctl`]), a kthread ([`kthread`]), a
//! `/proc/net` file ([`procfs`]), CPU ids ([`cpu`]) and the ABI structures
//! as plain data ([`uapi`]).

pub(crate) mod cpu;
pub(crate) mod hooks;
pub(crate) mod kthread;
pub(crate) mod listen;
pub(crate) mod miscdev;
pub(crate) mod procfs;
pub(crate) mod sock;
pub(crate) mod sysctl;
pub(crate) mod uapi;
