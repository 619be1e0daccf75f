// SPDX-License-Identifier: GPL-2.0

//! The C library's own `listen`, `accept`, `accept4` and `epoll_ctl`, found behind ours
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

static LISTEN: Next = Next::new(c"listen");
static ACCEPT: Next = Next::new(c"accept");
static ACCEPT4: Next = Next::new(c"accept4");
static EPOLL_CTL: Next = Next::new(c"epoll_ctl");

type ListenFn = unsafe extern "C" fn(libc::c_int, libc::c_int) -> libc::c_int;
type AcceptFn =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;
type Accept4Fn = unsafe extern "C" fn(
    libc::c_int,
    *mut libc::sockaddr,
    *mut libc::socklen_t,
    libc::c_int,
) -> libc::c_int;
type EpollCtlFn = unsafe extern "C" fn(
    libc::c_int,
    libc::c_int,
    libc::c_int,
    *mut libc::epoll_event,
) -> libc::c_int;

/// -1 with `ENOSYS`: what an interposed call returns when no later object
/// defines the function (it cannot happen with a C library loaded).
fn no_such_function() -> libc::c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = libc::ENOSYS };
    -1
}

/// The C library's `listen(2)`.
///
/// # Safety
///
/// As `listen(2)`.
pub unsafe fn listen(fd: libc::c_int, backlog: libc::c_int) -> libc::c_int {
    let Some(addr) = LISTEN.get() else {
        return no_such_function();
    };
    // SAFETY: `addr` is the C library's `listen`, of this type.
    let next: ListenFn = unsafe { core::mem::transmute(addr) };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { next(fd, backlog) }
}

/// The C library's `accept(2)`.
///
/// # Safety
///
/// As `accept(2)`: `addr` and `len` as that requires.
pub unsafe fn accept(
    fd: libc::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> libc::c_int {
    let Some(f) = ACCEPT.get() else {
        return no_such_function();
    };
    // SAFETY: `f` is the C library's `accept`, of this type.
    let next: AcceptFn = unsafe { core::mem::transmute(f) };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { next(fd, addr, len) }
}

/// The C library's `accept4(2)`.
///
/// # Safety
///
/// As `accept4(2)`: `addr` and `len` as that requires.
pub unsafe fn accept4(
    fd: libc::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: libc::c_int,
) -> libc::c_int {
    let Some(f) = ACCEPT4.get() else {
        return no_such_function();
    };
    // SAFETY: `f` is the C library's `accept4`, of this type.
    let next: Accept4Fn = unsafe { core::mem::transmute(f) };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { next(fd, addr, len, flags) }
}

/// The C library's `epoll_ctl(2)`.
///
/// # Safety
///
/// As `epoll_ctl(2)`: `event` as that requires.
pub unsafe fn epoll_ctl(
    epfd: libc::c_int,
    op: libc::c_int,
    fd: libc::c_int,
    event: *mut libc::epoll_event,
) -> libc::c_int {
    let Some(f) = EPOLL_CTL.get() else {
        return no_such_function();
    };
    // SAFETY: `f` is the C library's `epoll_ctl`, of this type.
    let next: EpollCtlFn = unsafe { core::mem::transmute(f) };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { next(epfd, op, fd, event) }
}
