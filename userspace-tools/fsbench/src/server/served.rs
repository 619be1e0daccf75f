// SPDX-License-Identifier: GPL-2.0

//! `--exit-after`: connections served by all workers of all processes.

use std::{
    mem,
    num::NonZeroUsize,
    sync::atomic::{AtomicU64, Ordering},
};

use nix::{
    sys::{
        mman::{mmap_anonymous, MapFlags, ProtFlags},
        signal::{kill, Signal},
    },
    unistd::{getpid, Pid},
};

use super::StartError;

const LEN: NonZeroUsize = match NonZeroUsize::new(mem::size_of::<AtomicU64>()) {
    Some(n) => n,
    None => unreachable!(),
};

/// The count, in shared memory so that forked workers count into it too.
#[derive(Clone, Copy)]
pub(super) struct Served {
    count: &'static AtomicU64,
    limit: Option<u64>,
    /// Who gets SIGTERM at the limit: the top process.
    main_pid: Pid,
}

impl Served {
    pub(super) fn new(limit: Option<u64>) -> Result<Self, StartError> {
        let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a fresh anonymous shared mapping; no existing memory is
        // touched.
        let p = unsafe { mmap_anonymous(None, LEN, prot, MapFlags::MAP_SHARED) }
            .map_err(|e| StartError::other("mmap", e))?;
        // SAFETY: the mapping is page aligned, zeroed (a valid AtomicU64
        // of 0) and never unmapped, so a 'static reference is sound.
        let count = unsafe { p.cast::<AtomicU64>().as_ref() };
        Ok(Self {
            count,
            limit,
            main_pid: getpid(),
        })
    }

    /// Counts one more connection; SIGTERM to the top process at the limit.
    pub(super) fn one_more(&self) {
        if let Some(limit) = self.limit {
            if self.count.fetch_add(1, Ordering::Relaxed) + 1 == limit {
                let _ = kill(self.main_pid, Signal::SIGTERM);
            }
        }
    }
}
