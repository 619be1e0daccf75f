// SPDX-License-Identifier: GPL-2.0

//! The fastsocket hooks of the patched kernel (`include/net/fastsocket.h`).
//!
//! [`Registration`] installs a [`Hooks`] implementation as the kernel's one
//! `struct fastsocket_ops` and removes it when dropped.

use core::{ffi::c_void, marker::PhantomPinned, pin::Pin, ptr};

use kernel::{bindings, error::to_result, prelude::*, types::Opaque};

/// Address family of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
}

/// A TCP listener lookup for an incoming segment, as the hook sees it.
pub(crate) struct ListenerLookup {
    family: Family,
}

impl ListenerLookup {
    /// Address family of the segment.
    pub(crate) fn family(&self) -> Family {
        self.family
    }
}

/// What the module does at the hook points.
///
/// Every method may run in softirq context on any CPU, concurrently, inside
/// an RCU read-side critical section: it must not sleep.
pub(crate) trait Hooks: Send + Sync {
    /// Called before the stock listener lookup of an incoming segment.
    fn listener_lookup(&self, lookup: &ListenerLookup);
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
/// waits until no hook runs any more.
pub(crate) struct Registration<T: Hooks> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: the only raw pointers in a `Registration` point into its own
// allocation (the table's `priv_`).  Dropping it on another thread is fine:
// `fastsocket_unregister` may be called from any process context.
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
            inet_lookup_listener: Some(inet_lookup_listener::<T>),
            inet6_lookup_listener: Some(inet6_lookup_listener::<T>),
            priv_: ptr::from_ref(&inner.hooks).cast_mut().cast(),
        };
        // SAFETY: `inner.ops` is valid for writes and nobody else sees it yet.
        unsafe { inner.ops.get().write(ops) };
        // SAFETY: `inner.ops` is initialised (above) and pinned; `Drop`
        // unregisters it before `inner` is freed.
        to_result(unsafe { bindings::fastsocket_register(inner.ops.get()) })?;
        Ok(Self { inner })
    }
}

impl<T: Hooks> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: `register` succeeded, so the table is the registered one.
        // The call waits for an RCU grace period, after which no CPU runs a
        // hook with `priv_` pointing into `inner`, which may then be freed.
        unsafe { bindings::fastsocket_unregister(self.inner.ops.get()) };
    }
}

/// Returns the hooks that `priv_` points to.
///
/// # Safety
///
/// `priv_` must be the `priv_` of a registered table of a live
/// [`Registration<T>`], which holds while the kernel calls one of its hooks.
unsafe fn hooks_of<'a, T: Hooks>(priv_: *mut c_void) -> &'a T {
    // SAFETY: by the caller's contract, `priv_` points to `Inner::hooks`,
    // which `Registration::drop` keeps alive until every hook returned.
    unsafe { &*priv_.cast::<T>() }
}

/// Runs [`Hooks::listener_lookup`] for a segment of `family`.
///
/// # Safety
///
/// As for [`hooks_of`].
unsafe fn listener_lookup<T: Hooks>(priv_: *mut c_void, family: Family) -> *mut bindings::sock {
    // SAFETY: by the caller's contract.
    let hooks = unsafe { hooks_of::<T>(priv_) };
    hooks.listener_lookup(&ListenerLookup { family });
    // No local listener yet: the stock lookup decides.
    ptr::null_mut()
}

/// The C side of [`Hooks::listener_lookup`] for IPv4.
///
/// # Safety
///
/// Called by the kernel only, through the table built by
/// [`Registration::register`].
unsafe extern "C" fn inet_lookup_listener<T: Hooks>(
    priv_: *mut c_void,
    _net: *const bindings::net,
    _skb: *mut bindings::sk_buff,
    _doff: core::ffi::c_int,
    _saddr: bindings::__be32,
    _sport: bindings::__be16,
    _daddr: bindings::__be32,
    _hnum: core::ffi::c_ushort,
    _dif: core::ffi::c_int,
    _sdif: core::ffi::c_int,
) -> *mut bindings::sock {
    // SAFETY: the kernel passes the `priv_` of our registered table.
    unsafe { listener_lookup::<T>(priv_, Family::Inet) }
}

/// The C side of [`Hooks::listener_lookup`] for IPv6.
///
/// # Safety
///
/// Called by the kernel only, through the table built by
/// [`Registration::register`].
unsafe extern "C" fn inet6_lookup_listener<T: Hooks>(
    priv_: *mut c_void,
    _net: *const bindings::net,
    _skb: *mut bindings::sk_buff,
    _doff: core::ffi::c_int,
    _saddr: *const bindings::in6_addr,
    _sport: bindings::__be16,
    _daddr: *const bindings::in6_addr,
    _hnum: core::ffi::c_ushort,
    _dif: core::ffi::c_int,
    _sdif: core::ffi::c_int,
) -> *mut bindings::sock {
    // SAFETY: the kernel passes the `priv_` of our registered table.
    unsafe { listener_lookup::<T>(priv_, Family::Inet6) }
}
