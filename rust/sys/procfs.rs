// SPDX-License-Identifier: GPL-2.0

//! A read-only `/proc/net/<name>` file in every network namespace.
//!
//! [`Registration`] creates the file in every existing and future namespace
//! (a pernet subsystem) and removes it from all of them when dropped.

use core::{
    ffi::{c_int, c_void},
    fmt,
    marker::{PhantomData, PhantomPinned},
    pin::Pin,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

use kernel::{bindings, error::to_result, prelude::*, str::CStr, types::Opaque};

/// The contents of a `/proc/net` file.
pub(crate) trait Show: Send + Sync {
    /// File name under `/proc/net`.
    const NAME: &'static CStr;

    /// Writes the whole file.  May sleep.
    fn show(&self, out: &mut SeqFile<'_>) -> Result;
}

/// The output of a `show` callback.
///
/// # Invariants
///
/// `seq` is the `seq_file` of a `show` callback in progress, for `'a`.
pub(crate) struct SeqFile<'a> {
    seq: *mut bindings::seq_file,
    _call: PhantomData<&'a mut bindings::seq_file>,
}

impl fmt::Write for SeqFile<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: by the type invariant `seq` is valid; `s` is valid for
        // `s.len()` bytes.  On overflow seq_file retries `show` with a
        // larger buffer, as for `seq_printf`, so the result is not needed.
        unsafe { bindings::seq_write(self.seq, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// The pernet operations and the data the files show.
///
/// # Invariants
///
/// `ops` is initialised and `data` is published in [`CURRENT`] while the
/// pernet subsystem is registered.  The struct is pinned: the kernel links
/// `ops` into its pernet list.
struct Inner<T: Show> {
    ops: Opaque<bindings::pernet_operations>,
    data: T,
    _pin: PhantomPinned,
}

/// The `Inner<T>` of the live registration, or null.
///
/// Pernet `init`/`exit` and seq `show` callbacks carry no context pointer,
/// so the one registration the module makes is found here.  Only one may
/// exist at a time, which [`Registration::register`] enforces.
static CURRENT: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// A registered `/proc/net` file showing `T`.
///
/// # Invariants
///
/// `inner.ops` is a registered pernet subsystem and `CURRENT` points to
/// `inner`.
pub(crate) struct Registration<T: Show> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: the raw pointers in a `Registration` (the pernet list links) are
// the kernel's, used under its `pernet_ops_rwsem`; dropping it on another
// thread is fine: `unregister_pernet_subsys` may be called from any process
// context.
unsafe impl<T: Show> Send for Registration<T> {}

// SAFETY: `&Registration` offers no access to anything; `T: Sync` covers
// `show` running concurrently for several readers.
unsafe impl<T: Show> Sync for Registration<T> {}

impl<T: Show> Registration<T> {
    /// Creates `/proc/net/<T::NAME>` in every network namespace.
    pub(crate) fn register(data: T) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                ops: Opaque::uninit(),
                data,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: all-zero is a valid `pernet_operations`: null pointers,
        // `None` callbacks and an unlinked list head the kernel initialises.
        let mut ops: bindings::pernet_operations = unsafe { core::mem::zeroed() };
        ops.init = Some(init_net::<T>);
        ops.exit = Some(exit_net::<T>);
        // SAFETY: `inner.ops` is valid for writes and nobody else sees it yet.
        unsafe { inner.ops.get().write(ops) };

        let raw = ptr::from_ref::<Inner<T>>(&inner)
            .cast_mut()
            .cast::<c_void>();
        CURRENT
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| EBUSY)?;
        // SAFETY: `ops` is initialised and pinned; `Drop` unregisters it
        // before `inner` is freed.  `CURRENT` points to `inner`, as the
        // callbacks expect.
        if let Err(e) = to_result(unsafe { bindings::register_pernet_subsys(inner.ops.get()) }) {
            CURRENT.store(ptr::null_mut(), Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registered, and `CURRENT` points to `inner` (above).
        Ok(Self { inner })
    }
}

impl<T: Show> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: the subsystem is registered (type invariant).
        // Unregistering runs `exit` in every namespace; `remove_proc_entry`
        // waits for readers in `show`.
        unsafe { bindings::unregister_pernet_subsys(self.inner.ops.get()) };
        CURRENT.store(ptr::null_mut(), Ordering::Release);
    }
}

/// Returns the data of the live registration.
///
/// # Safety
///
/// Must be called from a callback of a registered `Registration<T>`, which
/// keeps `CURRENT` pointing to its `Inner<T>` until the callbacks are done.
unsafe fn current<'a, T: Show>() -> &'a T {
    // SAFETY: by the caller's contract `CURRENT` points to a live `Inner<T>`.
    unsafe { &(*CURRENT.load(Ordering::Acquire).cast::<Inner<T>>()).data }
}

/// Pernet `init`: creates the file in `net`.
///
/// # Safety
///
/// Called by the kernel with a valid `net` whose `/proc/net` exists.
unsafe extern "C" fn init_net<T: Show>(net: *mut bindings::net) -> c_int {
    // SAFETY: `net` is valid for the call; `T::NAME` is a static C string;
    // `show::<T>` may be called until `exit_net` removes the entry.
    let pde = unsafe {
        bindings::proc_create_net_single(
            T::NAME.as_char_ptr(),
            0o444,
            (*net).proc_net,
            Some(show::<T>),
            ptr::null_mut(),
        )
    };
    if pde.is_null() {
        ENOMEM.to_errno()
    } else {
        0
    }
}

/// Pernet `exit`: removes the file from `net`.
///
/// # Safety
///
/// Called by the kernel with a valid `net`.
unsafe extern "C" fn exit_net<T: Show>(net: *mut bindings::net) {
    // SAFETY: `net` is valid and `init_net` created the entry in it: the
    // kernel calls `exit` only for namespaces whose `init` succeeded.
    unsafe { bindings::remove_proc_entry(T::NAME.as_char_ptr(), (*net).proc_net) };
}

/// seq_file `show` of the single-record file.
///
/// # Safety
///
/// Called by the kernel with the `seq_file` of an open file of ours.
unsafe extern "C" fn show<T: Show>(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: the entry exists, so the registration is live.
    let data = unsafe { current::<T>() };
    // INVARIANT: `seq` is the `seq_file` of this `show` call.
    let mut out = SeqFile {
        seq,
        _call: PhantomData,
    };
    match data.show(&mut out) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
