// SPDX-License-Identifier: GPL-2.0

//! `libfsocket.so`: run an unmodified server on fastsocket.
//!
//! ```text
//! LD_PRELOAD=libfsocket.so nginx
//! ```
//!
//! Every TCP listener the process makes gets local listen
//! (`FASTSOCKET_IOC_LISTEN`) right after its `listen()` succeeds: the
//! listener gets an accept queue per cpu.  A connection waits on the queue
//! of the cpu that completed its handshake while a worker pinned to that
//! cpu (its affinity exactly that cpu) accepts from, polls or waits on the
//! listener, and on the listener's shared queue otherwise, as on stock
//! Linux.  Workers that the application pins (nginx's
//! `worker_cpu_affinity`, haproxy's `cpu-map`) or that `FASTSOCKET_PIN=1`
//! pins get locality; unpinned ones are served exactly as on stock Linux.
//! Forked processes and threads alike, and an enabled listener stays
//! enabled across `fork()` and `exec()` for as long as it listens.
//!
//! The stock path is never changed: `listen()` returns what the C
//! library's returns, with its errno; when `/dev/fastsocket` is missing or
//! the module refuses a socket, one line says so (once per process) and
//! the process runs exactly as it would on stock Linux.
//!
//! The environment (see [`config`]) can restrict the cpus, pin workers and
//! switch the library off.  `Documentation/userspace.rst` is the manual.

pub mod config;
mod fdset;
mod log;
pub mod pin;
mod real;
mod sock;

use config::Config;
use core::ffi::c_int;
use fastsocket_abi::{cpulist, Device};
use fdset::FdSet;
use std::{
    cell::Cell,
    sync::{
        atomic::{AtomicBool, Ordering},
        OnceLock,
    },
};

/// Read when the library is loaded (servers may clear the environment of
/// their workers later: nginx keeps only `TZ`).
static CONFIG: OnceLock<Config> = OnceLock::new();
/// The cpus workers are pinned to, fixed when pinning is prepared.
static PIN_CPUS: OnceLock<Vec<usize>> = OnceLock::new();
/// The affinity of the thread that prepared pinning: a thread that still
/// has it was not placed by the application.
static PIN_START: OnceLock<Vec<usize>> = OnceLock::new();
/// Set once a listener was enabled with `FASTSOCKET_PIN=1`: from then on
/// threads that register a listener with epoll or accept are pinned.
static PIN_ARMED: AtomicBool = AtomicBool::new(false);
/// The listeners enabled here: `epoll_ctl()` pins only for these.
static ENABLED: FdSet = FdSet::new();

thread_local! {
    /// Whether this thread was considered for pinning already.
    static PIN_DONE: Cell<bool> = const { Cell::new(false) };
}

fn config() -> &'static Config {
    CONFIG.get_or_init(|| {
        let c = Config::from_env(|name| std::env::var(name).ok());
        for v in &c.ignored {
            log::line(&format!("ignoring {v} (not understood)"));
        }
        c
    })
}

extern "C" fn read_environment() {
    guarded(|| {
        config();
    });
}

/// Runs [`read_environment`] when the library is loaded, before `main`.
#[used]
#[link_section = ".init_array"]
static READ_ENVIRONMENT: extern "C" fn() = read_environment;

/// Gives the listening socket `fd` local listen, as the environment says.
fn enable(fd: c_int) {
    let cfg = config();
    if cfg.disabled || !sock::is_inet_tcp(fd) {
        return;
    }
    let result = Device::open().map_err(|e| (true, e)).and_then(|dev| {
        dev.local_listen(fd, cfg.cpus.as_ref())
            .map_err(|e| (false, e))
    });
    match result {
        Ok(()) => {
            ENABLED.insert(fd);
            if cfg.verbose {
                let cpus = cfg
                    .cpus
                    .as_ref()
                    .map_or_else(|| "all".into(), |s| cpulist::format(s.iter()));
                log::line(&format!("listener fd {fd}: local listen on cpus {cpus}"));
            }
            if cfg.pin && pin::prepare() {
                PIN_START.get_or_init(pin::allowed_cpus);
                let cpus = PIN_CPUS.get_or_init(|| match &cfg.cpus {
                    Some(set) => set.iter().collect(),
                    None => pin::allowed_cpus(),
                });
                PIN_ARMED.store(!cpus.is_empty(), Ordering::Release);
            }
        }
        Err((opening, e)) => {
            let errno = e.raw_os_error().unwrap_or(0);
            log::once(|| {
                if opening {
                    format!(
                        "fastsocket is not available ({}: {}); this process runs as on stock Linux",
                        fastsocket_abi::uapi::DEVICE,
                        sock::strerror(errno)
                    )
                } else {
                    format!(
                        "fastsocket did not take listener fd {fd} ({}); it works as on stock Linux",
                        sock::strerror(errno)
                    )
                }
            });
        }
    }
}

/// Pins the calling thread, the first time it accepts from or registers
/// the listener `fd`, to the next cpu in turn, unless the application
/// placed the thread itself.
fn maybe_pin(fd: c_int, call: &str) {
    if PIN_DONE.get() || !sock::is_listening(fd) {
        return;
    }
    PIN_DONE.set(true);
    let Some(cpus) = PIN_CPUS.get() else { return };
    // A thread whose affinity was narrowed by the application stays put.
    if PIN_START.get() != Some(&pin::allowed_cpus()) {
        return;
    }
    let Some(cpu) = pin::next_turn().and_then(|t| pin::cpu_for_turn(cpus, t)) else {
        return;
    };
    if pin::pin_thread(cpu) && config().verbose {
        // SAFETY: gettid() has no preconditions.
        let tid = unsafe { libc::gettid() };
        log::line(&format!(
            "thread {tid} pinned to cpu {cpu} at its first {call}"
        ));
    }
}

/// Runs `f` without letting a panic unwind into C.
fn guarded(f: impl FnOnce()) {
    let _errno = sock::SavedErrno::save();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

/// `listen(2)`, then local listen for a TCP listener.
///
/// # Safety
///
/// As `listen(2)`: any arguments (the kernel checks them).
#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged.
    let rc = unsafe { real::listen(fd, backlog) };
    if rc == 0 {
        guarded(|| enable(fd));
    }
    rc
}

/// `accept(2)`; with `FASTSOCKET_PIN=1`, pins the thread the first time.
///
/// # Safety
///
/// As `accept(2)`: `addr` and `len` as that requires.
#[no_mangle]
pub unsafe extern "C" fn accept(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged.
    let rc = unsafe { real::accept(fd, addr, len) };
    if PIN_ARMED.load(Ordering::Relaxed) {
        guarded(|| maybe_pin(fd, "accept"));
    }
    rc
}

/// `accept4(2)`; with `FASTSOCKET_PIN=1`, pins the thread the first time.
///
/// # Safety
///
/// As `accept4(2)`: `addr` and `len` as that requires.
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged.
    let rc = unsafe { real::accept4(fd, addr, len, flags) };
    if PIN_ARMED.load(Ordering::Relaxed) {
        guarded(|| maybe_pin(fd, "accept"));
    }
    rc
}

/// `epoll_ctl(2)`; with `FASTSOCKET_PIN=1`, pins the thread before it
/// first registers an enabled listener.  The registration waits on the
/// accept queue of the cpu the thread is pinned to when it registers (an
/// unpinned thread: the shared queue only), and keeps that queue in use
/// while it exists: pinning afterwards, at the first accept, would leave
/// the worker waiting on another cpu's queue, or on none, while
/// connections wait on its own.
///
/// # Safety
///
/// As `epoll_ctl(2)`: `event` as that requires.
#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(
    epfd: c_int,
    op: c_int,
    fd: c_int,
    event: *mut libc::epoll_event,
) -> c_int {
    if op == libc::EPOLL_CTL_ADD && PIN_ARMED.load(Ordering::Relaxed) && ENABLED.contains(fd) {
        guarded(|| maybe_pin(fd, "epoll_ctl"));
    }
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { real::epoll_ctl(epfd, op, fd, event) }
}
