// SPDX-License-Identifier: GPL-2.0

//! Integer sysctls under `/proc/sys/<path>`, writable with `CAP_NET_ADMIN`.
//!
//! A table of [`Sysctl`] rows (the pure crate's) says what there is;
//! [`Values`] holds the current values, which the hooks read locklessly, and
//! [`Registration`] publishes every row of the table and removes them on
//! drop; after each successful write, [`OnWrite::written`] runs.

use core::{
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicI32, Ordering},
};

use kernel::{bindings, prelude::*, str::CStr};

use crate::pure::sysctl::Sysctl;

/// The current values of a table of `N` sysctls, in table order.
///
/// Each value is an `AtomicI32`, which has the layout of the `int` the
/// sysctl code reads and writes (with `READ_ONCE`/`WRITE_ONCE`), so the
/// registered table may point to it.
pub(crate) struct Values<const N: usize>([AtomicI32; N]);

impl<const N: usize> Values<N> {
    /// The defaults of `table`.
    pub(crate) const fn new(table: &[Sysctl; N]) -> Self {
        let mut values = [const { AtomicI32::new(0) }; N];
        let mut i = 0;
        while i < N {
            values[i] = AtomicI32::new(table[i].default);
            i += 1;
        }
        Self(values)
    }

    /// The current value of row `index` (0 for a row the table lacks).
    pub(crate) fn get(&self, index: usize) -> i32 {
        self.0
            .get(index)
            .map_or(0, |value| value.load(Ordering::Relaxed))
    }
}

/// What a registration does after a value was written.
pub(crate) trait OnWrite {
    /// A value was written; process context, may sleep.
    fn written();
}

/// A registered sysctl directory.
///
/// # Invariants
///
/// `header` is the live registration of `table`, whose entries point to
/// `'static` rows and values.
pub(crate) struct Registration {
    header: *mut bindings::ctl_table_header,
    _table: KVec<bindings::ctl_table>,
}

// SAFETY: unregistering may happen on any thread; the table is only read.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl Sync for Registration {}

impl Registration {
    /// Publishes every row of `table`, with its value in `values`, under
    /// `/proc/sys/<path>` (e.g. `net/fastsocket`).
    pub(crate) fn register<const N: usize, W: OnWrite>(
        path: &'static CStr,
        table: &'static [Sysctl; N],
        values: &'static Values<N>,
    ) -> Result<Self> {
        let mut entries = KVec::with_capacity(N, GFP_KERNEL)?;
        for (row, value) in table.iter().zip(&values.0) {
            // SAFETY: all-zero is a valid `ctl_table` (null pointers).
            let mut entry: bindings::ctl_table = unsafe { core::mem::zeroed() };
            entry.procname = row.c_name.as_ptr().cast();
            entry.data = value.as_ptr().cast();
            entry.maxlen = core::mem::size_of::<c_int>() as c_int;
            entry.mode = 0o644;
            entry.proc_handler = Some(proc_handler::<W>);
            // The sysctl code only reads the bounds.
            entry.extra1 = ptr::from_ref(&row.min).cast_mut().cast::<c_void>();
            entry.extra2 = ptr::from_ref(&row.max).cast_mut().cast::<c_void>();
            entries.push(entry, GFP_KERNEL)?;
        }
        // SAFETY: `entries` holds `entries.len()` valid entries whose
        // pointers are to statics; the vector's buffer does not move while
        // the registration (which owns it) lives.
        let header = unsafe {
            bindings::register_sysctl_sz(path.as_char_ptr(), entries.as_mut_ptr(), entries.len())
        };
        if header.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `header` is the registration of `entries`, just made.
        Ok(Self {
            header,
            _table: entries,
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `header` is live (type invariant); this waits for the
        // handlers in progress.
        unsafe { bindings::unregister_sysctl_table(self.header) };
    }
}

/// Reads or writes one setting; writes need `CAP_NET_ADMIN`, values out of
/// bounds fail with `EINVAL`, and a successful write calls `W::written`.
///
/// # Safety
///
/// Called by the sysctl code only, with its usual arguments.
unsafe extern "C" fn proc_handler<W: OnWrite>(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: `capable` checks the current task; no preconditions.
    if write != 0 && !unsafe { bindings::capable(bindings::CAP_NET_ADMIN as c_int) } {
        return EPERM.to_errno();
    }
    // SAFETY: the arguments are the sysctl code's own; `extra1`/`extra2`
    // point to the bounds.
    let ret = unsafe { bindings::proc_dointvec_minmax(table, write, buffer, lenp, ppos) };
    if write != 0 && ret == 0 {
        W::written();
    }
    ret
}
