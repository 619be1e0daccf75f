// SPDX-License-Identifier: GPL-2.0

//! Cpu placement: which cpus we may run on, pinning, where we run, and
//! where a socket's packets are processed.

use std::{io, os::fd::AsFd};

use nix::{
    errno::Errno,
    sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet},
    unistd::{sysconf, Pid, SysconfVar},
};
use socket2::SockRef;

/// The calling thread, for the sched_*affinity calls.
const ME: Pid = Pid::from_raw(0);

/// The cpus this process may run on (its affinity mask at the time of the
/// call: the online cpus unless restricted with taskset or cgroups), in
/// order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = sched_getaffinity(ME)?;
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
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

/// Pins the calling thread to `cpu` (EINVAL beyond the size of a cpu set).
pub fn pin_to(cpu: usize) -> io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(ME, &set)?;
    Ok(())
}

/// The cpu the calling thread runs on now.
pub fn current_cpu() -> Option<usize> {
    sched_getcpu().ok()
}

/// `SO_INCOMING_CPU` of a socket: the cpu that last processed its packets
/// (None while unknown).
pub fn incoming_cpu(s: &impl AsFd) -> io::Result<Option<usize>> {
    // socket2 returns the kernel's int as a usize: its -1 (unknown) comes
    // back as usize::MAX, and no cpu number is beyond u32.
    let c = SockRef::from(s).cpu_affinity()?;
    Ok(u32::try_from(c).ok().map(|c| c as usize))
}

/// Sets `SO_INCOMING_CPU` of a socket to `cpu` (EINVAL beyond an int).
pub fn set_incoming_cpu(s: &impl AsFd, cpu: usize) -> io::Result<()> {
    // socket2 would truncate what does not fit the kernel's int.
    if i32::try_from(cpu).is_err() {
        return Err(Errno::EINVAL.into());
    }
    SockRef::from(s).set_cpu_affinity(cpu)
}

/// How many cpu numbers the system can have (configured cpus, at least
/// one): the length of per-cpu tables.
pub fn nr_cpu_slots() -> usize {
    match sysconf(SysconfVar::_NPROCESSORS_CONF) {
        Ok(Some(n)) => usize::try_from(n).unwrap_or(1).max(1),
        _ => 1,
    }
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
        assert!(pin_to(CpuSet::count()).is_err());
    }

    #[test]
    fn incoming_cpu_is_none_until_set() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(incoming_cpu(&l).unwrap(), None);
        let c = *allowed_cpus().unwrap().last().unwrap();
        set_incoming_cpu(&l, c).unwrap();
        assert_eq!(incoming_cpu(&l).unwrap(), Some(c));
        let e = set_incoming_cpu(&l, usize::MAX).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::EINVAL as i32));
    }
}
