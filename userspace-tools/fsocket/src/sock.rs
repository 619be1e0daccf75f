// SPDX-License-Identifier: GPL-2.0

//! The few questions the library asks of a descriptor, and errno kept as
//! the application left it.

/// Restores the thread's errno when dropped: what the library does after
/// the real call must never show in the application's errno.
pub struct SavedErrno(libc::c_int);

impl SavedErrno {
    pub fn save() -> Self {
        // SAFETY: __errno_location() is the calling thread's errno, always
        // valid.
        Self(unsafe { *libc::__errno_location() })
    }
}

impl Drop for SavedErrno {
    fn drop(&mut self) {
        // SAFETY: as in `save`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

fn int_option(fd: libc::c_int, name: libc::c_int) -> Option<libc::c_int> {
    fastsocket_abi::sockopt::int(fd, name).ok()
}

/// Whether `fd` is a TCP socket of IPv4 or IPv6 (the sockets fastsocket
/// takes; MPTCP, UDP, UNIX and the rest are left alone without asking).
pub fn is_inet_tcp(fd: libc::c_int) -> bool {
    matches!(
        int_option(fd, libc::SO_DOMAIN),
        Some(libc::AF_INET | libc::AF_INET6)
    ) && int_option(fd, libc::SO_TYPE) == Some(libc::SOCK_STREAM)
        && int_option(fd, libc::SO_PROTOCOL) == Some(libc::IPPROTO_TCP)
}

/// Whether `fd` is a listening socket.
pub fn is_listening(fd: libc::c_int) -> bool {
    int_option(fd, libc::SO_ACCEPTCONN) == Some(1)
}

/// The text of an errno, as strerror(3) gives it.
pub fn strerror(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}
