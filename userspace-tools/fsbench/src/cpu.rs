// SPDX-License-Identifier: GPL-2.0

//! Cpu placement: which cpus we may run on, pinning, where we run.

use std::{io, mem, os::fd::RawFd};

/// The cpus this process may run on (its affinity mask at the time of the
/// call: the online cpus unless restricted with taskset or cgroups), in
/// order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is a valid, empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` is initialised and the index is below CPU_SETSIZE.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    if cpus.is_empty() {
        return Err(io::Error::other("empty cpu affinity mask"));
    }
    Ok(cpus)
}

/// The cpu worker (or client thread) `i` is pinned to with `--pin`: the
/// `i % n`-th of the `n` allowed cpus.
pub fn pin_target(cpus: &[usize], i: usize) -> usize {
    cpus[i % cpus.len()]
}

/// Pins the calling thread to `cpu`.
pub fn pin_to(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: an all-zero cpu_set_t is a valid, empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The cpu the calling thread runs on now.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: no arguments, no memory touched.
    let c = unsafe { libc::sched_getcpu() };
    usize::try_from(c).ok()
}

/// `SO_INCOMING_CPU` of a socket: the cpu that last processed its packets
/// (None if unknown, -1).
pub fn incoming_cpu(fd: RawFd) -> io::Result<Option<usize>> {
    let mut v: libc::c_int = -1;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_INCOMING_CPU,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(v).ok())
}

/// How many cpu numbers the system can have (configured cpus, at least
/// one): the length of per-cpu tables.
pub fn nr_cpu_slots() -> usize {
    // SAFETY: sysconf reads no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    usize::try_from(n).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_targets_wrap_around_the_allowed_cpus() {
        let cpus = [0, 2, 5];
        let t: Vec<_> = (0..7).map(|i| pin_target(&cpus, i)).collect();
        assert_eq!(t, vec![0, 2, 5, 0, 2, 5, 0]);
    }

    #[test]
    fn pinning_moves_the_thread() {
        let cpus = allowed_cpus().unwrap();
        let last = *cpus.last().unwrap();
        std::thread::spawn(move || {
            pin_to(last).unwrap();
            assert_eq!(current_cpu(), Some(last));
            assert_eq!(allowed_cpus().unwrap(), vec![last]);
        })
        .join()
        .unwrap();
        assert!(pin_to(libc::CPU_SETSIZE as usize).is_err());
    }
}
