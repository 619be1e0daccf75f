// SPDX-License-Identifier: GPL-2.0

//! Integer `SOL_SOCKET` options, which the tools ask of a socket before
//! handing it to the module (its domain, type, protocol, listening state).

use std::{io, os::fd::RawFd};

/// The integer socket option `name` (`SO_DOMAIN`, `SO_ACCEPTCONN`, ...) of
/// `fd`.
pub fn int(fd: RawFd, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for the int-sized option asked.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(value)
    }
}
