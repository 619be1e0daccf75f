// SPDX-License-Identifier: GPL-2.0

//! The C library's own `listen`, `accept` and `accept4`, found behind ours
//! with `dlsym(RTLD_NEXT)`.

use core::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A function of the next object in the lookup order, resolved once.
pub struct Next {
    name: &'static CStr,
    addr: AtomicUsize,
}

impl Next {
    pub const fn new(name: &'static CStr) -> Self {
        Self {
            name,
            addr: AtomicUsize::new(0),
        }
    }

    /// The address, or `None` if no later object defines the symbol.
    pub fn get(&self) -> Option<usize> {
        let addr = self.addr.load(Ordering::Relaxed);
        if addr != 0 {
            return Some(addr);
        }
        // SAFETY: `name` is a NUL-terminated symbol name; dlsym only reads
        // it.
        let found = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
        if found == 0 {
            return None;
        }
        self.addr.store(found, Ordering::Relaxed);
        Some(found)
    }
}

pub static LISTEN: Next = Next::new(c"listen");
pub static ACCEPT: Next = Next::new(c"accept");
pub static ACCEPT4: Next = Next::new(c"accept4");

pub type ListenFn = unsafe extern "C" fn(libc::c_int, libc::c_int) -> libc::c_int;
pub type AcceptFn =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;
pub type Accept4Fn = unsafe extern "C" fn(
    libc::c_int,
    *mut libc::sockaddr,
    *mut libc::socklen_t,
    libc::c_int,
) -> libc::c_int;
