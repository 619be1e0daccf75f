// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers for the `/dev/fastsocket` ioctls.
//!
//! The structures and numbers are the module's own mirror of
//! `include/uapi/linux/fastsocket.h` (`rust/pure/uapi.rs`, of the
//! `fastsocket-pure` crate); the `uapi_matches_c` test checks that mirror
//! against the header.
//! Every error is the ioctl's (or open's) errno, as an [`io::Error`] built
//! with [`io::Error::from_raw_os_error`].

use std::{
    fs::{File, OpenOptions},
    io,
    os::fd::{AsRawFd, RawFd},
};

pub use fastsocket_pure::uapi;

pub mod cpulist;
pub mod sockopt;

pub use uapi::{CpuSet, Info, Listen, ListenState};

/// An open `/dev/fastsocket`.
#[derive(Debug)]
pub struct Device(File);

impl Device {
    /// Opens [`uapi::DEVICE`] (read-write, or read-only if that is all the
    /// caller may do; the module decides what each ioctl needs).
    pub fn open() -> io::Result<Self> {
        let rw = OpenOptions::new().read(true).write(true).open(uapi::DEVICE);
        match rw {
            Ok(f) => Ok(Self(f)),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                OpenOptions::new().read(true).open(uapi::DEVICE).map(Self)
            }
            Err(e) => Err(e),
        }
    }

    /// Issues `req` with `arg`, which must be the structure `req` encodes.
    fn ioctl<T>(&self, req: u32, arg: &mut T) -> io::Result<()> {
        // The request encodes the argument's size: a mismatch is a bug here.
        debug_assert_eq!(((req >> 16) & 0x3fff) as usize, core::mem::size_of::<T>());
        // SAFETY: `arg` is a valid, exclusively borrowed `T`, the structure
        // (and size) that `req` declares; the kernel reads and writes at
        // most that many bytes.
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), req as _, arg as *mut T) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// `FASTSOCKET_IOC_INFO`.
    pub fn info(&self) -> io::Result<Info> {
        let mut i = Info {
            size: core::mem::size_of::<Info>() as u32,
            ..Info::default()
        };
        self.ioctl(uapi::IOC_INFO, &mut i)?;
        Ok(i)
    }

    /// `FASTSOCKET_IOC_LISTEN`: gives the listening socket `fd` per-cpu
    /// accept queues, used on the cpus of `cpus` (`LISTEN_CPUS`), or on
    /// every cpu with `None`.  On an enabled listener it sets the cpus.
    pub fn local_listen(&self, fd: RawFd, cpus: Option<&CpuSet>) -> io::Result<()> {
        let mut l = listen_arg(fd, cpus);
        self.ioctl(uapi::IOC_LISTEN, &mut l)
    }

    /// `FASTSOCKET_IOC_UNLISTEN`.
    pub fn unlisten(&self, fd: RawFd) -> io::Result<()> {
        let mut l = listen_arg(fd, None);
        self.ioctl(uapi::IOC_UNLISTEN, &mut l)
    }

    /// `FASTSOCKET_IOC_LISTEN_STATE`.
    pub fn listen_state(&self, fd: RawFd) -> io::Result<ListenState> {
        let mut s = ListenState {
            size: core::mem::size_of::<ListenState>() as u32,
            fd,
            ..ListenState::default()
        };
        self.ioctl(uapi::IOC_LISTEN_STATE, &mut s)?;
        Ok(s)
    }
}

/// The argument of `FASTSOCKET_IOC_LISTEN` (with `cpus`) or `_UNLISTEN`.
pub fn listen_arg(fd: RawFd, cpus: Option<&CpuSet>) -> Listen {
    Listen {
        size: core::mem::size_of::<Listen>() as u32,
        fd,
        flags: if cpus.is_some() { uapi::LISTEN_CPUS } else { 0 },
        reserved: 0,
        cpus: cpus.map(|c| c.0).unwrap_or_default(),
    }
}

/// The module's version and features.
pub fn info() -> io::Result<Info> {
    Device::open()?.info()
}

/// Enables local listen for the listening socket `fd` of this process: on
/// the cpus of `cpus`, or on every cpu with `None`.
pub fn local_listen(fd: RawFd, cpus: Option<&CpuSet>) -> io::Result<()> {
    Device::open()?.local_listen(fd, cpus)
}

/// Disables local listen for `fd`.
pub fn unlisten(fd: RawFd) -> io::Result<()> {
    Device::open()?.unlisten(fd)
}

/// The local-listen state of `fd`.
pub fn listen_state(fd: RawFd) -> io::Result<ListenState> {
    Device::open()?.listen_state(fd)
}

#[cfg(test)]
mod tests {
    use super::uapi::{CPUSET_BITS, CPUSET_WORDS, LISTEN_CPUS};
    use super::*;

    #[test]
    fn cpuset_first_n_holds_exactly_0_to_n() {
        let s = CpuSet::first(65);
        assert_eq!(s.iter().collect::<Vec<_>>(), (0..65).collect::<Vec<_>>());
        assert!(CpuSet::first(0).is_empty());
        assert_eq!(CpuSet::first(5000).iter().count(), uapi::CPUSET_BITS);
    }

    #[test]
    fn cpuset_bit_n_is_in_word_n_div_64() {
        let mut s = CpuSet::default();
        assert!(s.is_empty());
        for cpu in [0, 1, 63, 64, 65, 127, 128, 1023] {
            assert!(!s.contains(cpu));
            assert!(s.insert(cpu));
            assert!(s.contains(cpu));
            assert_ne!(s.0[cpu / 64] & (1 << (cpu % 64)), 0);
        }
        assert!(!s.is_empty());
        assert_eq!(s.0[0], 1 | 2 | (1 << 63));
        assert_eq!(s.0[1], 1 | 2 | (1 << 63));
        assert_eq!(s.0[2], 1);
        assert_eq!(s.0[CPUSET_WORDS - 1], 1 << 63);
        assert!(s.0[3..CPUSET_WORDS - 1].iter().all(|&w| w == 0));
    }

    #[test]
    fn cpuset_insert_is_idempotent() {
        let mut s = CpuSet::default();
        assert!(s.insert(5));
        assert!(s.insert(5));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![5]);
    }

    #[test]
    fn cpuset_rejects_cpus_it_cannot_name() {
        let mut s = CpuSet::default();
        assert_eq!(CPUSET_BITS, 1024);
        assert!(!s.insert(CPUSET_BITS));
        assert!(!s.insert(usize::MAX));
        assert!(s.is_empty());
        assert!(!s.contains(CPUSET_BITS));
        assert!(!s.contains(usize::MAX));
    }

    #[test]
    fn cpuset_iterates_in_order() {
        let mut s = CpuSet::default();
        for cpu in [700, 3, 64, 0, 1023] {
            s.insert(cpu);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 64, 700, 1023]);
        assert_eq!(CpuSet::default().iter().count(), 0);
    }

    #[test]
    fn cpuset_first_invalid() {
        let mut s = CpuSet::default();
        for cpu in [1, 2, 9, 12] {
            s.insert(cpu);
        }
        assert_eq!(s.first_invalid(|c| c < 16), None);
        assert_eq!(s.first_invalid(|c| c < 8), Some(9));
        assert_eq!(s.first_invalid(|c| c != 1), Some(1));
        assert_eq!(CpuSet::default().first_invalid(|_| false), None);
    }

    #[test]
    fn listen_arg_sets_size_and_flags() {
        let all = listen_arg(7, None);
        assert_eq!(all.size as usize, core::mem::size_of::<Listen>());
        assert_eq!((all.fd, all.flags, all.reserved), (7, 0, 0));
        assert!(all.cpus.iter().all(|&w| w == 0));

        let mut s = CpuSet::default();
        s.insert(3);
        s.insert(100);
        let some = listen_arg(9, Some(&s));
        assert_eq!((some.fd, some.flags), (9, LISTEN_CPUS));
        assert_eq!(some.cpus, s.0);
    }

    #[test]
    fn errors_carry_the_errno() {
        // No module on the build host (or a socket it does not know): an
        // errno either way, never a panic or a made-up error.
        if let Err(e) = local_listen(-1, None) {
            assert!(e.raw_os_error().is_some(), "{e:?}");
        }
        if let Err(e) = listen_state(-1) {
            assert!(e.raw_os_error().is_some(), "{e:?}");
        }
    }
}
