// SPDX-License-Identifier: GPL-2.0

//! Integer sysctls under `/proc/sys/<path>`, writable with `CAP_NET_ADMIN`.
//!
//! The values live in statics ([`IntSetting`]) that the hooks read
//! locklessly; [`Registration`] publishes them and removes them on drop.

use core::{
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicI32, Ordering},
};

use kernel::{bindings, prelude::*, str::CStr};

/// An integer setting with its bounds.
///
/// `value` is an `AtomicI32`, which has the layout of the `int` the sysctl
/// code reads and writes (with `READ_ONCE`/`WRITE_ONCE`).
pub(crate) struct IntSetting {
    name: &'static CStr,
    value: AtomicI32,
    min: i32,
    max: i32,
}

impl IntSetting {
    /// A setting named `name` with default `value`, in `[min, max]`.
    pub(crate) const fn new(name: &'static CStr, value: i32, min: i32, max: i32) -> Self {
        Self {
            name,
            value: AtomicI32::new(value),
            min,
            max,
        }
    }

    /// The current value.
    pub(crate) fn get(&self) -> i32 {
        self.value.load(Ordering::Relaxed)
    }
}

/// A registered sysctl directory.
///
/// # Invariants
///
/// `header` is the live registration of `table`, which it points into.
pub(crate) struct Registration {
    header: *mut bindings::ctl_table_header,
    _table: KVec<bindings::ctl_table>,
}

// SAFETY: unregistering may happen on any thread; the table is only read.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl Sync for Registration {}

impl Registration {
    /// Publishes `settings` under `/proc/sys/<path>` (e.g. `net/fastsocket`).
    pub(crate) fn register(
        path: &'static CStr,
        settings: &'static [&'static IntSetting],
    ) -> Result<Self> {
        let mut table = KVec::with_capacity(settings.len(), GFP_KERNEL)?;
        for s in settings {
            // SAFETY: all-zero is a valid `ctl_table` (null pointers).
            let mut entry: bindings::ctl_table = unsafe { core::mem::zeroed() };
            entry.procname = s.name.as_char_ptr();
            entry.data = s.value.as_ptr().cast();
            entry.maxlen = core::mem::size_of::<c_int>() as c_int;
            entry.mode = 0o644;
            entry.proc_handler = Some(proc_handler);
            // The sysctl code only reads the bounds.
            entry.extra1 = ptr::from_ref(&s.min).cast_mut().cast::<c_void>();
            entry.extra2 = ptr::from_ref(&s.max).cast_mut().cast::<c_void>();
            table.push(entry, GFP_KERNEL)?;
        }
        // SAFETY: `table` holds `settings.len()` valid entries whose pointers
        // are to statics; the vector's buffer does not move while the
        // registration (which owns it) lives.
        let header = unsafe {
            bindings::register_sysctl_sz(path.as_char_ptr(), table.as_mut_ptr(), table.len())
        };
        if header.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self {
            header,
            _table: table,
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

/// Reads or writes one setting; writes need `CAP_NET_ADMIN`, and values
/// out of bounds fail with `EINVAL`.
///
/// # Safety
///
/// Called by the sysctl code only, with its usual arguments.
unsafe extern "C" fn proc_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: `capable` checks the current task; no preconditions.
    if write != 0 && !unsafe { bindings::capable(bindings::CAP_NET_ADMIN as c_int) } {
        return -(bindings::EPERM as c_int);
    }
    // SAFETY: the arguments are the sysctl code's own; `extra1`/`extra2`
    // point to the bounds.
    unsafe { bindings::proc_dointvec_minmax(table, write, buffer, lenp, ppos) }
}
