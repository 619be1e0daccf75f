// SPDX-License-Identifier: GPL-2.0

//! Read-copy-update publication of module data.
//!
//! Readers are the hooks the kernel calls inside an RCU read-side critical
//! section; writers replace a whole object and free the old one after a
//! grace period.  Writers are serialised by the caller.

use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

use kernel::{bindings, prelude::*};

/// Proof that the holder runs inside an RCU read-side critical section.
///
/// # Invariants
///
/// The critical section lasts at least as long as `'a`.
pub(crate) struct ReadSide<'a>(PhantomData<&'a ()>);

impl ReadSide<'_> {
    /// Returns a token for a read-side critical section the caller is in.
    ///
    /// # Safety
    ///
    /// The caller must be inside an RCU read-side critical section (or have
    /// bottom halves or preemption disabled) for the token's lifetime.
    pub(crate) unsafe fn assume() -> Self {
        ReadSide(PhantomData)
    }
}

/// Waits until every RCU read-side critical section that had begun returns.
pub(crate) fn synchronize() {
    // SAFETY: called from process context only (every caller may sleep).
    unsafe { bindings::synchronize_rcu() };
}

/// An RCU-published, heap-allocated `T` that may be absent.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::into_raw`; a replaced value is freed
/// only after a grace period.
pub(crate) struct RcuBox<T> {
    ptr: AtomicPtr<T>,
}

impl<T> RcuBox<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The published value, for a reader.
    pub(crate) fn read<'a>(&'a self, _rcu: &ReadSide<'a>) -> Option<&'a T> {
        // Acquire pairs with the Release of `replace`: the reader sees the
        // value initialised.
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: by the type invariant `p` is null or a live box, which
        // `replace` frees only after a grace period, after `'a`.
        unsafe { p.as_ref() }
    }

    /// Publishes `new` and returns the previous value, which the caller
    /// must hand to [`Retired::free`] (after a grace period).
    pub(crate) fn replace(&self, new: Option<KBox<T>>) -> Retired<T> {
        let p = new.map_or(ptr::null_mut(), KBox::into_raw);
        // INVARIANT: the slot held null or a box (type invariant of
        // `RcuBox`), which it gives up here.
        Retired(self.ptr.swap(p, Ordering::AcqRel))
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            synchronize();
            // SAFETY: `p` came from `KBox::into_raw` and, after the grace
            // period, no reader can hold it.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// A value taken out of an [`RcuBox`] that readers may still see.
///
/// Dropping it waits for a grace period; [`Retired::free`] waits once for
/// a whole batch.
///
/// # Invariants
///
/// `0` is null or comes from `KBox::into_raw` and is owned by the struct;
/// readers may still hold it until a grace period passes.
pub(crate) struct Retired<T>(*mut T);

impl<T> Retired<T> {
    /// Nothing retired.
    pub(crate) fn none() -> Self {
        Retired(ptr::null_mut())
    }

    /// Whether there is nothing to free.
    pub(crate) fn is_none(&self) -> bool {
        self.0.is_null()
    }

    /// Frees a batch of retired values after one grace period.
    pub(crate) fn free(batch: impl IntoIterator<Item = Retired<T>>) {
        let mut synced = false;
        for mut r in batch {
            let p = core::mem::take(&mut r.0);
            if p.is_null() {
                continue;
            }
            if !synced {
                synchronize();
                synced = true;
            }
            // SAFETY: `p` came from `KBox::into_raw` and no reader holds it
            // after the grace period above.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

impl<T> Drop for Retired<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            synchronize();
            // SAFETY: `self.0` came from `KBox::into_raw` and no reader
            // holds it after the grace period.
            drop(unsafe { KBox::from_raw(self.0) });
        }
    }
}

// SAFETY: an `RcuBox<T>` hands out `&T` to many threads and moves `T`
// between them on replacement.
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}
// SAFETY: a `Retired<T>` owns the value, which readers on any CPU may still
// share until the grace period: moving it moves a `T` others hold as `&T`.
unsafe impl<T: Send + Sync> Send for Retired<T> {}
