// SPDX-License-Identifier: GPL-2.0

//! The fastsocket hooks of the patched kernel (`include/net/fastsocket.h`).
//!
//! [`Registration`] installs a [`Hooks`] implementation as the kernel's one
//! `struct fastsocket_ops` and removes it when dropped.

use core::{
    ffi::c_void,
    marker::PhantomPinned,
    pin::Pin,
    ptr::{self, NonNull},
};

use kernel::{bindings, error::to_result, prelude::*, types::Opaque};

use super::sock::{Locked, Sock, SockView};

/// What the module does at the hook points.
///
/// The hook runs in process context with the socket locked, may sleep,
/// and may run on any CPU, concurrently for different sockets.
pub(crate) trait Hooks: Send + Sync {
    /// A TCP socket started listening (only while the automatic mode's
    /// key is on).
    fn listen_start(&self, sk: &Locked<'_>);
}

/// The automatic mode's static key (`fastsocket_auto_listen_key`): while it
/// is on, every TCP socket that starts listening reaches
/// [`Hooks::listen_start`]; while it is off, `listen()` does not call into
/// the module at all.
///
/// The key is switched, not counted: [`AutoListen::set`] may be called any
/// number of times, from any process context, and the last call wins.
/// Dropping the value turns the key off, so that the mode does not
/// outlive the module.
pub(crate) struct AutoListen(());

impl AutoListen {
    /// The key's owner; the key is left as it is (off at load).
    pub(crate) fn new() -> Self {
        Self(())
    }

    /// Turns the key on or off.  May sleep (it patches kernel text).
    pub(crate) fn set(on: bool) {
        // SAFETY: no preconditions beyond process context, which the
        // settings' write handler and module load and unload are.
        unsafe { bindings::fastsocket_set_auto_listen(on) };
    }
}

impl Drop for AutoListen {
    fn drop(&mut self) {
        Self::set(false);
    }
}

/// The registered ops table and the hooks it points to.
///
/// # Invariants
///
/// `ops` is initialised, and its `priv_` points to `hooks`, once
/// [`Registration::register`] returns.  Both stay at the same address (the
/// struct is pinned) for as long as the kernel may use them.
struct Inner<T: Hooks> {
    ops: Opaque<bindings::fastsocket_ops>,
    hooks: T,
    _pin: PhantomPinned,
}

/// A registration of a [`Hooks`] implementation with the kernel.
///
/// Only one can exist at a time, kernel-wide; dropping it unregisters and
/// waits until no hook runs any more (SRCU), so the hooks never outlive
/// the registration, even when the module's init fails after making it.
///
/// # Invariants
///
/// `inner.ops` is the kernel's registered `fastsocket_ops` table.
pub(crate) struct Registration<T: Hooks> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: the only raw pointers in a `Registration` point into its own
// allocation (the table's `priv_`).  Dropping it on another
// thread is fine: `fastsocket_unregister` may be called from any process
// context.
unsafe impl<T: Hooks> Send for Registration<T> {}

// SAFETY: `&Registration` offers no access to anything; the kernel
// serialises its own use of the table (mutex, RCU), and `T: Sync` covers
// the hooks running concurrently on many CPUs.
unsafe impl<T: Hooks> Sync for Registration<T> {}

impl<T: Hooks> Registration<T> {
    /// Registers `hooks`.
    ///
    /// Fails with `EBUSY` while another module is registered.
    pub(crate) fn register(hooks: T) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                ops: Opaque::uninit(),
                hooks,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        let ops = bindings::fastsocket_ops {
            listen_start: Some(listen_start::<T>),
            priv_: ptr::from_ref(&inner.hooks).cast_mut().cast(),
        };
        // SAFETY: `inner.ops` is valid for writes and nobody else sees it yet.
        unsafe { inner.ops.get().write(ops) };
        // SAFETY: `inner.ops` is initialised (above) and pinned; `Drop`
        // unregisters it before `inner` is freed.
        to_result(unsafe { bindings::fastsocket_register(inner.ops.get()) })?;
        // INVARIANT: the registration just succeeded.
        Ok(Self { inner })
    }
}

impl<T: Hooks> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: the table is the registered one (type invariant).  The
        // call waits for an SRCU grace period: once it returns, no hook runs
        // and nobody reads the table, so `inner` may be freed.
        unsafe { bindings::fastsocket_unregister(self.inner.ops.get()) };
    }
}

/// The hooks and the socket of a hook call.
///
/// # Safety
///
/// `priv_` must be the `priv_` of the registered table of a live
/// [`Registration<T>`], and `sk` a socket valid for `'a`, which holds while
/// the kernel calls the hook.
unsafe fn args<'a, T: Hooks>(
    priv_: *mut c_void,
    sk: *mut bindings::sock,
) -> Option<(&'a T, SockView<'a>)> {
    // SAFETY: by the caller's contract `priv_` points to `Inner::hooks`,
    // which `Registration::drop` keeps alive until every hook returned.
    let hooks = unsafe { &*priv_.cast::<T>() };
    // SAFETY: by the caller's contract.
    let sk = unsafe { Sock::from_raw(NonNull::new(sk)?) };
    Some((hooks, sk))
}

/// `fastsocket_ops.listen_start`.
///
/// # Safety
///
/// Called by the kernel only, in process context, with `sk` locked, inside
/// the SRCU read-side section that `Registration::drop` waits for.
unsafe extern "C" fn listen_start<T: Hooks>(priv_: *mut c_void, sk: *mut bindings::sock) {
    // SAFETY: the kernel passes our `priv_` and the new listener.
    if let Some((hooks, sk)) = unsafe { args::<T>(priv_, sk) } {
        // SAFETY: the kernel holds the socket's lock across the call.
        hooks.listen_start(&unsafe { Locked::assume(sk) });
    }
}
