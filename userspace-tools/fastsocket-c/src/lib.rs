// SPDX-License-Identifier: GPL-2.0

//! `libfastsocket.so`: the C API of `include/fastsocket.h`.
//!
//! Each function opens `/dev/fastsocket` for its one call, so that it
//! holds no descriptor an application could close or inherit by surprise;
//! enabling a listener is rare, an open(2) is cheap beside it.  Errors are
//! the ioctl's, except that a missing device (module not loaded) is always
//! `ENODEV`, whatever open(2) said.

use core::ffi::c_int;
use fastsocket_abi::{
    uapi::{CpuSet, Info, ListenState, CPUSET_BITS},
    Device,
};
use std::io;

/// The errno an API call reports for `e`.
pub fn errno_of(e: &io::Error, opening: bool) -> c_int {
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENXIO | libc::ENODEV) if opening => libc::ENODEV,
        Some(errno) => errno,
        None => libc::EIO,
    }
}

/// Runs `f` on the device; 0, or -1 with errno.
fn call(f: impl FnOnce(&Device) -> io::Result<()>) -> c_int {
    let result = match Device::open() {
        Ok(dev) => f(&dev).map_err(|e| errno_of(&e, false)),
        Err(e) => Err(errno_of(&e, true)),
    };
    match result {
        Ok(()) => 0,
        Err(errno) => {
            // SAFETY: the calling thread's errno.
            unsafe { *libc::__errno_location() = errno };
            -1
        }
    }
}

fn fail(errno: c_int) -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = errno };
    -1
}

/// The cpus of a `cpu_set_t` of `bytes` bytes at `mask`, as the ioctl
/// takes them; `None` if one is beyond what it can name.
pub fn cpuset_from_bytes(mask: &[u8]) -> Option<CpuSet> {
    let mut set = CpuSet::default();
    for (i, byte) in mask.iter().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 && !set.insert(i * 8 + bit) {
                return None;
            }
        }
    }
    Some(set)
}

/// See `fastsocket.h`.
#[no_mangle]
pub extern "C" fn fastsocket_available() -> c_int {
    Device::open().and_then(|d| d.info()).is_ok() as c_int
}

/// See `fastsocket.h`.
///
/// # Safety
///
/// `info` is null (fails with `EFAULT`) or valid for writing a
/// `struct fastsocket_info`.
#[no_mangle]
pub unsafe extern "C" fn fastsocket_info(info: *mut Info) -> c_int {
    if info.is_null() {
        return fail(libc::EFAULT);
    }
    call(|dev| {
        let got = dev.info()?;
        // SAFETY: `info` is valid for writing, by the caller's contract.
        unsafe { info.write(got) };
        Ok(())
    })
}

/// See `fastsocket.h`.
#[no_mangle]
pub extern "C" fn local_listen(fd: c_int) -> c_int {
    call(|dev| dev.local_listen(fd, None))
}

/// See `fastsocket.h`.
///
/// # Safety
///
/// `mask` is null (fails with `EFAULT`) or valid for reading `cpusetsize`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn local_listen_cpus(
    fd: c_int,
    cpusetsize: usize,
    mask: *const libc::cpu_set_t,
) -> c_int {
    if mask.is_null() {
        return fail(libc::EFAULT);
    }
    // SAFETY: `mask` is valid for `cpusetsize` bytes, by the caller's
    // contract.
    let bytes = unsafe { core::slice::from_raw_parts(mask.cast::<u8>(), cpusetsize) };
    // A cpu the kernel could never have is EINVAL, as the ioctl says of
    // any cpu that does not exist.
    let Some(set) = cpuset_from_bytes(bytes) else {
        return fail(libc::EINVAL);
    };
    debug_assert!(set.iter().all(|c| c < CPUSET_BITS));
    call(|dev| dev.local_listen(fd, Some(&set)))
}

/// See `fastsocket.h`.
#[no_mangle]
pub extern "C" fn local_unlisten(fd: c_int) -> c_int {
    call(|dev| dev.unlisten(fd))
}

/// See `fastsocket.h`.
///
/// # Safety
///
/// `state` is null (fails with `EFAULT`) or valid for writing a
/// `struct fastsocket_listen_state`.
#[no_mangle]
pub unsafe extern "C" fn local_listen_state(fd: c_int, state: *mut ListenState) -> c_int {
    if state.is_null() {
        return fail(libc::EFAULT);
    }
    call(|dev| {
        let got = dev.listen_state(fd)?;
        // SAFETY: `state` is valid for writing, by the caller's contract.
        unsafe { state.write(got) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_set_bytes_map_to_cpus() {
        let set = cpuset_from_bytes(&[0b0000_0101, 0, 0x80]).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 2, 23]);
        assert!(cpuset_from_bytes(&[0; 128]).unwrap().is_empty());
        let mut big = vec![0u8; 129];
        big[128] = 1; // cpu 1024
        assert!(cpuset_from_bytes(&big).is_none());
    }

    #[test]
    fn a_missing_device_is_enodev() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(errno_of(&e, true), libc::ENODEV);
        assert_eq!(errno_of(&e, false), libc::ENOENT);
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(errno_of(&e, true), libc::EACCES);
    }
}
