// SPDX-License-Identifier: GPL-2.0

//! A misc character device that answers ioctls only.
//!
//! [`Registration`] creates `/dev/<name>` and removes it when dropped.  An
//! open file holds a reference on the module, so the handler outlives every
//! call.

use core::{marker::PhantomPinned, pin::Pin};

use kernel::{
    bindings,
    error::to_result,
    ffi::{c_long, c_uint, c_ulong},
    prelude::*,
    str::CStr,
    types::Opaque,
    ThisModule,
};

/// What the device does.
pub(crate) trait Ioctl: Send + Sync {
    /// Device name under `/dev`.
    const NAME: &'static CStr;
    /// Permission bits of the device node.
    const MODE: u16;

    /// Handles `ioctl(fd, cmd, arg)` in the caller's process context.
    fn ioctl(&self, cmd: u32, arg: usize) -> Result<i64>;
}

/// The registered device and its handler.
///
/// # Invariants
///
/// `misc` and `fops` are initialised once [`Registration::register`]
/// returns; `misc` is the first field, so a pointer to it is a pointer to
/// the `Inner`.  The struct is pinned: the kernel keeps pointers to both.
#[repr(C)]
struct Inner<T: Ioctl> {
    misc: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
    handler: T,
    _pin: PhantomPinned,
}

/// A registered misc device.
///
/// # Invariants
///
/// `inner.misc` is registered with `misc_register`.
pub(crate) struct Registration<T: Ioctl> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: the raw pointers inside point into the registration's own
// allocation or to the module; `misc_deregister` may run on any thread.
unsafe impl<T: Ioctl> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Ioctl> Sync for Registration<T> {}

impl<T: Ioctl> Registration<T> {
    /// Creates `/dev/T::NAME`.
    pub(crate) fn register(handler: T, module: &'static ThisModule) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                misc: Opaque::uninit(),
                fops: Opaque::uninit(),
                handler,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: all-zero is a valid `file_operations` (null pointers and
        // no flags) and a valid `miscdevice` before registration.
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        fops.owner = module.as_ptr();
        fops.unlocked_ioctl = Some(ioctl::<T>);
        // The ABI structures have one layout for 32- and 64-bit callers
        // (fixed-size fields, explicit padding): only the pointer converts.
        #[cfg(CONFIG_COMPAT)]
        {
            fops.compat_ioctl = Some(bindings::compat_ptr_ioctl);
        }
        // SAFETY: nobody else sees `inner` yet.
        unsafe { inner.fops.get().write(fops) };
        // SAFETY: as above.
        let mut misc: bindings::miscdevice = unsafe { core::mem::zeroed() };
        misc.minor = bindings::MISC_DYNAMIC_MINOR as i32;
        misc.name = T::NAME.as_char_ptr();
        misc.fops = inner.fops.get();
        misc.mode = T::MODE;
        // SAFETY: as above.
        unsafe { inner.misc.get().write(misc) };
        // SAFETY: `misc` is initialised and pinned; `Drop` deregisters it
        // before `inner` is freed.
        to_result(unsafe { bindings::misc_register(inner.misc.get()) })?;
        // INVARIANT: the registration just succeeded.
        Ok(Self { inner })
    }
}

impl<T: Ioctl> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: `misc` is registered (type invariant).  Files still open
        // hold the module, so no ioctl can run once the module's exit runs
        // this.
        unsafe { bindings::misc_deregister(self.inner.misc.get()) };
    }
}

/// The `unlocked_ioctl` of the device.
///
/// # Safety
///
/// Called by the kernel only, on a file of a registered device.
unsafe extern "C" fn ioctl<T: Ioctl>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `misc_open` set `private_data` to our `miscdevice`, the first
    // field of a live `Inner<T>` (the open file pins the module).
    let inner = unsafe { &*(*file).private_data.cast::<Inner<T>>() };
    match inner.handler.ioctl(cmd, arg) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
