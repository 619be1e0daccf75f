// SPDX-License-Identifier: GPL-2.0

//! The interposed calls and the process's probe file.

use crate::layout::{self, BYTES, MAGIC, SLOTS, SLOT_MAGIC, SLOT_T0, SUFFIX};
use core::ffi::c_int;
use std::{
    ffi::CString,
    path::PathBuf,
    sync::{
        atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
};

// libfsocket's lookup of the C library's calls (its `listen` is unused here).
#[allow(dead_code)]
#[path = "../../fsocket/src/real.rs"]
mod real;

/// The probe file of this process.
///
/// # Invariants
///
/// Once non-zero, `MAP` is the address of a live shared mapping of
/// [`BYTES`] bytes (page aligned), never unmapped, made by the process
/// whose pid is in `OWNER`.
static MAP: AtomicUsize = AtomicUsize::new(0);
static OWNER: AtomicI32 = AtomicI32::new(0);
/// Serializes making the file (the first accepts of several threads).
static MAKING: Mutex<()> = Mutex::new(());

/// The counters of this process, made on its first accept (a forked child
/// gets its own); `None` without `FSPROBE_DIR` or if the file cannot be
/// made.
fn counters() -> Option<&'static [AtomicU64; SLOTS]> {
    // SAFETY: getpid() has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut addr = MAP.load(Ordering::Acquire);
    if addr == 0 || OWNER.load(Ordering::Acquire) != pid {
        let _guard = MAKING.lock().ok()?;
        addr = MAP.load(Ordering::Acquire);
        if addr == 0 || OWNER.load(Ordering::Acquire) != pid {
            addr = make_file(pid)?;
            OWNER.store(pid, Ordering::Release);
            MAP.store(addr, Ordering::Release);
        }
    }
    // SAFETY: by the invariant, `addr` is a live, page-aligned mapping of
    // `SLOTS` u64s, which every user accesses atomically.
    Some(unsafe { &*(addr as *const [AtomicU64; SLOTS]) })
}

/// `FSPROBE_DIR`, read when the library is loaded: servers may clear
/// their workers' environment (nginx keeps only `TZ`).
static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();

extern "C" fn read_environment() {
    DIR.get_or_init(|| std::env::var_os("FSPROBE_DIR").map(PathBuf::from));
}

/// Runs [`read_environment`] when the library is loaded, before `main`.
#[used]
#[link_section = ".init_array"]
static READ_ENVIRONMENT: extern "C" fn() = read_environment;

/// Makes `$FSPROBE_DIR/PID.probe` and maps it.
fn make_file(pid: i32) -> Option<usize> {
    let dir = DIR.get()?.as_ref()?;
    let path = dir.join(format!("{pid}{SUFFIX}"));
    let path = CString::new(path.into_os_string().into_encoded_bytes()).ok()?;
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o666,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is the file just opened; the mapping is checked.
    let map = unsafe {
        if libc::ftruncate(fd, BYTES as libc::off_t) != 0 {
            libc::close(fd);
            return None;
        }
        let map = libc::mmap(
            core::ptr::null_mut(),
            BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        libc::close(fd);
        map
    };
    if map == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: the fresh mapping holds `SLOTS` zeroed u64s, page aligned.
    let slots = unsafe { &*(map as *const [AtomicU64; SLOTS]) };
    slots[SLOT_T0].store(layout::slice_of(now_ms()), Ordering::Relaxed);
    slots[SLOT_MAGIC].store(MAGIC, Ordering::Release);
    Some(map as usize)
}

/// Wall-clock time in ms since the epoch: the clock the benchmark scripts
/// give their windows in (bash's `EPOCHREALTIME`), the same in every
/// process.
fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_REALTIME exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// Counts the accepted socket `fd`.
fn record(fd: c_int) {
    let Some(slots) = counters() else { return };
    let mut incoming: c_int = -1;
    let mut len = core::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `incoming` and `len` are valid for the int-sized option.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_INCOMING_CPU,
            (&mut incoming as *mut c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        incoming = -1;
    }
    // SAFETY: sched_getcpu() has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    for slot in layout::slots_for(cpu, incoming) {
        slots[slot].fetch_add(1, Ordering::Relaxed);
    }
    let t0 = slots[SLOT_T0].load(Ordering::Relaxed);
    if let Some(slot) = layout::slice_slot(t0, layout::slice_of(now_ms())) {
        slots[slot].fetch_add(1, Ordering::Relaxed);
    }
}

fn after_accept(fd: c_int) {
    if fd >= 0 {
        // SAFETY: the calling thread's errno.
        let saved = unsafe { *libc::__errno_location() };
        let _ = std::panic::catch_unwind(|| record(fd));
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = saved };
    }
}

/// `accept(2)`, counted.
///
/// # Safety
///
/// As `accept(2)`.
#[no_mangle]
pub unsafe extern "C" fn accept(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged.
    let rc = unsafe { real::accept(fd, addr, len) };
    after_accept(rc);
    rc
}

/// `accept4(2)`, counted.
///
/// # Safety
///
/// As `accept4(2)`.
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged.
    let rc = unsafe { real::accept4(fd, addr, len, flags) };
    after_accept(rc);
    rc
}
