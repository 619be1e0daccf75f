// SPDX-License-Identifier: GPL-2.0

//! The server: workers (threads or forked processes) accepting and serving
//! connections, and counting how many were handled on one cpu throughout.
//!
//! A connection is *local* when the cpu the worker runs on right after
//! accept, the socket's `SO_INCOMING_CPU` after the request was read, and
//! the cpu just before the response is written are the same.

use std::{
    io::{self, Read, Write},
    mem,
    net::{SocketAddr, TcpListener, TcpStream},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    ptr,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::{cpu, finish, Exchange};

/// How workers are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Threads of one process.
    Thread,
    /// Forked processes, sockets made by the parent.
    Process,
}

/// How a worker waits for connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AcceptMode {
    /// accept4() on a blocking listening socket.
    Blocking,
    /// A per-worker epoll on the (non-blocking) listening socket.
    Epoll,
}

/// What the server does.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub workers: usize,
    pub mode: Mode,
    pub pin: bool,
    pub local_listen: bool,
    pub reuseport: bool,
    /// With `reuseport` and `pin`: set each worker's socket's
    /// `SO_INCOMING_CPU` to the cpu the worker is pinned to.
    pub incoming_cpu: bool,
    pub accept_mode: AcceptMode,
    pub epoll_exclusive: bool,
    pub exit_after: Option<u64>,
    pub backlog: i32,
    pub exchange: Exchange,
}

/// Why the server did not start.
#[derive(Debug)]
pub enum StartError {
    /// `FASTSOCKET_IOC_LISTEN` failed on a listening socket.
    LocalListen { addr: SocketAddr, err: io::Error },
    /// Anything else.
    Other(String),
}

impl StartError {
    fn other(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        StartError::Other(format!("{what}: {e}"))
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::LocalListen { addr, err } => write!(
                f,
                "local listen ({} FASTSOCKET_IOC_LISTEN) failed on {addr}: {err} (errno {})",
                fastsocket_abi::uapi::DEVICE,
                err.raw_os_error().unwrap_or(0)
            ),
            StartError::Other(s) => f.write_str(s),
        }
    }
}

/// What one worker (or one process) counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub accepted: u64,
    pub local: u64,
    pub per_cpu_accepts: Vec<u64>,
}

impl Totals {
    /// Adds `o` to these totals.
    pub fn add(&mut self, o: &Totals) {
        self.accepted += o.accepted;
        self.local += o.local;
        if self.per_cpu_accepts.len() < o.per_cpu_accepts.len() {
            self.per_cpu_accepts.resize(o.per_cpu_accepts.len(), 0);
        }
        for (s, v) in self.per_cpu_accepts.iter_mut().zip(&o.per_cpu_accepts) {
            *s += v;
        }
    }
}

/// The line the server prints when it stops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub accepted: u64,
    pub local: u64,
    pub fraction: f64,
    pub per_cpu_accepts: Vec<u64>,
    pub workers_alive: usize,
}

impl Report {
    pub fn new(t: Totals, workers_alive: usize) -> Self {
        let mut per_cpu_accepts = t.per_cpu_accepts;
        if per_cpu_accepts.len() < cpu::nr_cpu_slots() {
            per_cpu_accepts.resize(cpu::nr_cpu_slots(), 0);
        }
        Self {
            accepted: t.accepted,
            local: t.local,
            fraction: if t.accepted == 0 {
                0.0
            } else {
                t.local as f64 / t.accepted as f64
            },
            per_cpu_accepts,
            workers_alive,
        }
    }
}

/// One worker's counters (each worker has its own: no shared cache lines
/// between workers on the connection path).
struct Counters {
    accepted: AtomicU64,
    local: AtomicU64,
    errors: AtomicU64,
    per_cpu: Box<[AtomicU64]>,
}

impl Counters {
    fn new() -> Self {
        let slots = cpu::nr_cpu_slots().max(fastsocket_abi::uapi::CPUSET_BITS);
        Self {
            accepted: AtomicU64::new(0),
            local: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            per_cpu: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn totals(&self) -> Totals {
        let per_cpu: Vec<u64> = self
            .per_cpu
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let used = per_cpu.iter().rposition(|&n| n != 0).map_or(0, |i| i + 1);
        let len = used.max(cpu::nr_cpu_slots()).min(per_cpu.len());
        Totals {
            accepted: self.accepted.load(Ordering::Relaxed),
            local: self.local.load(Ordering::Relaxed),
            per_cpu_accepts: per_cpu[..len].to_vec(),
        }
    }
}

/// Connections served by all workers of all processes, for `--exit-after`:
/// shared memory, so that forked workers count into it too.
#[derive(Clone, Copy)]
struct Served {
    count: &'static AtomicU64,
    limit: Option<u64>,
    /// Who gets SIGTERM at the limit: the top process.
    main_pid: libc::pid_t,
}

impl Served {
    fn new(limit: Option<u64>) -> Result<Self, StartError> {
        // SAFETY: a fresh anonymous shared mapping; no existing memory is
        // touched.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                mem::size_of::<AtomicU64>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(StartError::other("mmap", io::Error::last_os_error()));
        }
        // SAFETY: the mapping is page aligned, zeroed (a valid AtomicU64
        // of 0) and never unmapped, so a 'static reference is sound.
        let count = unsafe { &*(p as *const AtomicU64) };
        Ok(Self {
            count,
            limit,
            // SAFETY: no arguments.
            main_pid: unsafe { libc::getpid() },
        })
    }

    fn one_more(&self) {
        if let Some(limit) = self.limit {
            if self.count.fetch_add(1, Ordering::Relaxed) + 1 == limit {
                // SAFETY: plain syscall.
                unsafe { libc::kill(self.main_pid, libc::SIGTERM) };
            }
        }
    }
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: sockaddr_storage is larger than and aligned for
            // sockaddr_in.
            unsafe { ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_storage is larger than and aligned for
            // sockaddr_in6.
            unsafe { ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn set_int_opt(fd: RawFd, level: libc::c_int, opt: libc::c_int, v: libc::c_int) -> io::Result<()> {
    // SAFETY: `v` is a c_int of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a valid fd.
    let fl = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: fcntl on a valid fd.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) }).map(drop)
}

/// Makes a listening socket on `addr` as the configuration asks: bound,
/// listening, local listen enabled (`--local-listen`), non-blocking for
/// epoll; with `incoming_cpu`, its `SO_INCOMING_CPU` set to that cpu.
fn listening_socket(
    addr: SocketAddr,
    cfg: &ServerConfig,
    incoming_cpu: Option<usize>,
) -> Result<TcpListener, StartError> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let err = |what: &str, e: io::Error| StartError::other(format!("{what} {addr}"), e);
    // SAFETY: plain syscall; the fd is owned right away.
    let fd = cvt(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })
        .map_err(|e| err("socket for", e))?;
    // SAFETY: a fresh fd nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .map_err(|e| err("SO_REUSEADDR on", e))?;
    if cfg.reuseport {
        set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
            .map_err(|e| err("SO_REUSEPORT on", e))?;
    }
    if let Some(c) = incoming_cpu {
        // Before listen(), so the socket joins the reuseport group already
        // steered to `c`.
        let fail = |e| err(&format!("cannot set SO_INCOMING_CPU {c} on"), e);
        let v = libc::c_int::try_from(c)
            .map_err(|_| fail(io::Error::from_raw_os_error(libc::EINVAL)))?;
        set_int_opt(raw, libc::SOL_SOCKET, libc::SO_INCOMING_CPU, v).map_err(fail)?;
    }
    let (ss, len) = sockaddr(&addr);
    // SAFETY: `ss` holds a sockaddr of `len` bytes.
    cvt(unsafe { libc::bind(raw, (&ss as *const libc::sockaddr_storage).cast(), len) })
        .map_err(|e| err("cannot bind", e))?;
    // SAFETY: plain syscall.
    cvt(unsafe { libc::listen(raw, cfg.backlog) }).map_err(|e| err("cannot listen on", e))?;
    let l = TcpListener::from(fd);
    let bound = l.local_addr().map_err(|e| err("getsockname of", e))?;
    if cfg.local_listen {
        fastsocket_abi::local_listen(raw, None)
            .map_err(|err| StartError::LocalListen { addr: bound, err })?;
    }
    if cfg.accept_mode == AcceptMode::Epoll {
        set_nonblocking(raw).map_err(|e| err("O_NONBLOCK on", e))?;
    }
    Ok(l)
}

/// A worker ready to accept: its listening socket and, in epoll mode, its
/// epoll.
struct Acceptor {
    listener: Arc<TcpListener>,
    epoll: Option<OwnedFd>,
    counters: Arc<Counters>,
}

impl Acceptor {
    fn new(listener: Arc<TcpListener>, cfg: &ServerConfig) -> Result<Self, StartError> {
        let epoll = match cfg.accept_mode {
            AcceptMode::Blocking => None,
            AcceptMode::Epoll => {
                let err = |e| StartError::other("epoll", e);
                // SAFETY: plain syscall; the fd is owned right away.
                let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map_err(err)?;
                // SAFETY: a fresh fd nothing else owns.
                let ep = unsafe { OwnedFd::from_raw_fd(ep) };
                let mut events = libc::EPOLLIN;
                if cfg.epoll_exclusive {
                    events |= libc::EPOLLEXCLUSIVE;
                }
                let mut ev = libc::epoll_event {
                    events: events as u32,
                    u64: 0,
                };
                let fd = listener.as_raw_fd();
                // SAFETY: valid fds and a valid event.
                cvt(unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
                    .map_err(err)?;
                Some(ep)
            }
        };
        Ok(Self {
            listener,
            epoll,
            counters: Arc::new(Counters::new()),
        })
    }

    /// Accepts and serves until the listening socket becomes unusable.
    fn run(&self, x: Exchange, served: &Served) {
        let fd = self.listener.as_raw_fd();
        loop {
            if let Some(ep) = &self.epoll {
                let mut ev = libc::epoll_event { events: 0, u64: 0 };
                // SAFETY: room for the one event passed.
                let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), &mut ev, 1, -1) };
                if n <= 0 {
                    continue;
                }
            }
            // SAFETY: plain syscall; the fd is owned right away.
            let c =
                unsafe { libc::accept4(fd, ptr::null_mut(), ptr::null_mut(), libc::SOCK_CLOEXEC) };
            if c < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EAGAIN | libc::EINTR) => {}
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                        self.counters.errors.fetch_add(1, Ordering::Relaxed);
                        thread::sleep(Duration::from_millis(10));
                    }
                    Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP) => return,
                    _ => {
                        self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                continue;
            }
            let a = cpu::current_cpu();
            // SAFETY: accept4 returned a new fd nothing else owns.
            let s = unsafe { TcpStream::from_raw_fd(c) };
            let k = &self.counters;
            k.accepted.fetch_add(1, Ordering::Relaxed);
            if let Some(slot) = a.and_then(|a| k.per_cpu.get(a)) {
                slot.fetch_add(1, Ordering::Relaxed);
            }
            match serve_measured(s, x, a) {
                Ok(true) => {
                    k.local.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(_) => {
                    k.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            served.one_more();
        }
    }
}

/// Serves one connection accepted on cpu `a`; whether it was local.
fn serve_measured(mut s: TcpStream, x: Exchange, a: Option<usize>) -> io::Result<bool> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = vec![0; x.request];
    s.read_exact(&mut req)?;
    let b = cpu::incoming_cpu(s.as_raw_fd())?;
    let c = cpu::current_cpu();
    s.write_all(&vec![b'r'; x.response])?;
    finish(&s, x.close)?;
    Ok(a.is_some() && a == b && b == c)
}

/// Blocks SIGTERM and SIGINT in the calling thread (and the threads and
/// processes it makes from now on), to be taken with [`wait_signal`].
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut());
    }
    set
}

fn wait_signal(set: &libc::sigset_t) {
    let mut sig = 0;
    // SAFETY: valid set and out pointer.
    while unsafe { libc::sigwait(set, &mut sig) } != 0 {}
}

/// The cpu worker `i`'s own SO_REUSEPORT socket is steered to with
/// `--incoming-cpu`: the one it is pinned to.  None for a shared socket.
fn steer_cpu(cfg: &ServerConfig, cpus: &[usize], i: usize) -> Option<usize> {
    (cfg.incoming_cpu && cfg.reuseport && cfg.pin && !cpus.is_empty())
        .then(|| cpu::pin_target(cpus, i))
}

fn pin(cfg: &ServerConfig, cpus: &[usize], i: usize) -> Result<(), StartError> {
    if cfg.pin {
        let c = cpu::pin_target(cpus, i);
        cpu::pin_to(c)
            .map_err(|e| StartError::other(format!("worker {i}: cannot pin to cpu {c}"), e))?;
    }
    Ok(())
}

/// Runs the server: calls `ready` with the bound address once every worker
/// can accept, then serves until SIGTERM or SIGINT (or `exit_after`
/// connections) and returns what was counted.  Worker threads are left
/// blocked in accept: the caller is expected to exit.
pub fn serve(cfg: &ServerConfig, ready: impl FnOnce(SocketAddr)) -> Result<Report, StartError> {
    let sigs = block_signals();
    let cpus = if cfg.pin {
        cpu::allowed_cpus().map_err(|e| StartError::other("sched_getaffinity", e))?
    } else {
        Vec::new()
    };
    let served = Served::new(cfg.exit_after)?;
    match cfg.mode {
        Mode::Thread => serve_threads(cfg, &cpus, served, &sigs, ready),
        Mode::Process => serve_processes(cfg, &cpus, served, &sigs, ready),
    }
}

fn serve_threads(
    cfg: &ServerConfig,
    cpus: &[usize],
    served: Served,
    sigs: &libc::sigset_t,
    ready: impl FnOnce(SocketAddr),
) -> Result<Report, StartError> {
    let shared = if cfg.reuseport {
        None
    } else {
        Some(Arc::new(listening_socket(cfg.listen, cfg, None)?))
    };
    let mut addr = match &shared {
        Some(l) => l
            .local_addr()
            .map_err(|e| StartError::other("getsockname", e))?,
        None => cfg.listen,
    };
    let mut workers = Vec::new();
    for i in 0..cfg.workers.max(1) {
        let (tx, rx) = mpsc::channel();
        let (cfg2, cpus2, served2, shared2) = (cfg.clone(), cpus.to_vec(), served, shared.clone());
        let h = thread::Builder::new()
            .name(format!("worker{i}"))
            .spawn(move || {
                let start = || {
                    pin(&cfg2, &cpus2, i)?;
                    let l = match shared2 {
                        Some(l) => l,
                        // Its own SO_REUSEPORT socket, made on its cpu.
                        None => {
                            Arc::new(listening_socket(addr, &cfg2, steer_cpu(&cfg2, &cpus2, i))?)
                        }
                    };
                    Acceptor::new(l, &cfg2)
                };
                match start() {
                    Ok(acc) => {
                        let bound = acc.listener.local_addr();
                        let _ = tx.send(Ok((bound, Arc::clone(&acc.counters))));
                        acc.run(cfg2.exchange, &served2);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| StartError::other("cannot start a worker thread", e))?;
        let (bound, counters) = rx
            .recv()
            .map_err(|_| StartError::Other(format!("worker {i} died starting")))??;
        if i == 0 {
            // Port 0: the others bind the port the first one got.
            addr = bound.map_err(|e| StartError::other("getsockname", e))?;
        }
        workers.push((h, counters));
    }
    ready(addr);
    wait_signal(sigs);
    let mut t = Totals::default();
    for (_, c) in &workers {
        t.add(&c.totals());
    }
    let alive = workers.iter().filter(|(h, _)| !h.is_finished()).count();
    Ok(Report::new(t, alive))
}

/// A forked worker, as its parent sees it.
struct Child {
    pid: libc::pid_t,
    pipe: OwnedFd,
    buf: Vec<u8>,
    eof: bool,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: room for two fds.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: fresh fds nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads what the children write until `done` holds for each (or it hit
/// EOF), or until `deadline`.
fn pump(children: &mut [Child], deadline: Instant, done: impl Fn(&Child) -> bool) {
    loop {
        let mut waiting: Vec<usize> = Vec::new();
        let mut pfds: Vec<libc::pollfd> = Vec::new();
        for (i, c) in children.iter().enumerate() {
            if !c.eof && !done(c) {
                waiting.push(i);
                pfds.push(libc::pollfd {
                    fd: c.pipe.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if pfds.is_empty() || left.is_zero() {
            return;
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: `pfds` holds that many pollfds.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            continue;
        }
        for (p, &i) in pfds.iter().zip(&waiting) {
            if p.revents == 0 {
                continue;
            }
            let c = &mut children[i];
            let mut b = [0u8; 4096];
            // SAFETY: `b` has room for the length passed.
            let r = unsafe { libc::read(c.pipe.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
            match r {
                r if r > 0 => c.buf.extend_from_slice(&b[..r as usize]),
                0 => c.eof = true,
                _ => {
                    let e = io::Error::last_os_error().raw_os_error();
                    if !matches!(e, Some(libc::EINTR | libc::EAGAIN)) {
                        c.eof = true;
                    }
                }
            }
        }
    }
}

/// Stops the children: SIGTERM, their totals until `grace` has passed,
/// SIGKILL for the rest; reaps them all.  Returns the totals and how many
/// children sent theirs.
fn stop_children(children: &mut [Child], grace: Duration) -> (Totals, usize) {
    for c in children.iter() {
        // SAFETY: plain syscall (ESRCH for a child already gone is fine).
        unsafe { libc::kill(c.pid, libc::SIGTERM) };
    }
    pump(children, Instant::now() + grace, |_| false);
    let mut t = Totals::default();
    let mut alive = 0;
    for c in children.iter() {
        if !c.eof {
            // SAFETY: plain syscall.
            unsafe { libc::kill(c.pid, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: our child; `status` is a valid out pointer.
        while unsafe { libc::waitpid(c.pid, &mut status, 0) } < 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
        // The child wrote "ready\n", then its totals as one JSON line.
        let text = String::from_utf8_lossy(&c.buf);
        if let Some(line) = text.lines().skip(1).find(|l| !l.is_empty()) {
            if let Ok(ct) = serde_json::from_str::<Totals>(line) {
                t.add(&ct);
                alive += 1;
            }
        }
    }
    (t, alive)
}

fn serve_processes(
    cfg: &ServerConfig,
    cpus: &[usize],
    served: Served,
    sigs: &libc::sigset_t,
    ready: impl FnOnce(SocketAddr),
) -> Result<Report, StartError> {
    let n = cfg.workers.max(1);
    // Socket i goes to worker i (just one, shared, without reuseport).
    let first = listening_socket(cfg.listen, cfg, steer_cpu(cfg, cpus, 0))?;
    let addr = first
        .local_addr()
        .map_err(|e| StartError::other("getsockname", e))?;
    let mut listeners = vec![first];
    if cfg.reuseport {
        for i in 1..n {
            listeners.push(listening_socket(addr, cfg, steer_cpu(cfg, cpus, i))?);
        }
    }
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: no arguments.
    let parent = unsafe { libc::getpid() };
    let mut children: Vec<Child> = Vec::new();
    for i in 0..n {
        let fail = |children: &mut Vec<Child>, e: StartError| {
            stop_children(children, Duration::ZERO);
            Err(e)
        };
        let (rd, wr) = match pipe() {
            Ok(p) => p,
            Err(e) => return fail(&mut children, StartError::other("pipe", e)),
        };
        // SAFETY: this process has one thread, so the child can go on
        // running ordinary code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = io::Error::last_os_error();
            return fail(&mut children, StartError::other("fork", e));
        }
        if pid == 0 {
            drop(rd);
            // The other children's pipes are not this one's business.
            drop(mem::take(&mut children));
            let mine = listeners.swap_remove(if cfg.reuseport { i } else { 0 });
            drop(mem::take(&mut listeners));
            // SAFETY: plain syscalls.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() != parent {
                    libc::_exit(0);
                }
            }
            let code = child_main(cfg, cpus, i, mine, wr, &served, sigs);
            // SAFETY: leaves without running the parent's exit handlers.
            unsafe { libc::_exit(code) };
        }
        drop(wr);
        children.push(Child {
            pid,
            pipe: rd,
            buf: Vec::new(),
            eof: false,
        });
    }
    // The children hold the sockets now: one that dies takes its own
    // SO_REUSEPORT socket out of the group instead of leaving it unserved.
    drop(listeners);
    pump(
        &mut children,
        Instant::now() + Duration::from_secs(30),
        |c| c.buf.contains(&b'\n'),
    );
    if let Some(i) = children.iter().position(|c| !c.buf.contains(&b'\n')) {
        stop_children(&mut children, Duration::ZERO);
        return Err(StartError::Other(format!(
            "worker process {i} did not start"
        )));
    }
    ready(addr);
    wait_signal(sigs);
    let (t, alive) = stop_children(&mut children, Duration::from_secs(5));
    Ok(Report::new(t, alive))
}

/// A forked worker: pins, says ready, accepts on a thread, and writes its
/// totals to `out` when told to stop.
fn child_main(
    cfg: &ServerConfig,
    cpus: &[usize],
    i: usize,
    listener: TcpListener,
    out: OwnedFd,
    served: &Served,
    sigs: &libc::sigset_t,
) -> i32 {
    let mut out = std::fs::File::from(out);
    let acc = match pin(cfg, cpus, i).and_then(|()| Acceptor::new(Arc::new(listener), cfg)) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("fsbench: worker {i}: {e}");
            return 1;
        }
    };
    let served = *served;
    let (acc2, x) = (Arc::clone(&acc), cfg.exchange);
    // The accepting thread inherits the pinning and the blocked signals.
    if let Err(e) = thread::Builder::new().spawn(move || acc2.run(x, &served)) {
        eprintln!("fsbench: worker {i}: {e}");
        return 1;
    }
    if out.write_all(b"ready\n").is_err() {
        return 1;
    }
    wait_signal(sigs);
    let mut line = serde_json::to_string(&acc.counters.totals()).unwrap_or_default();
    line.push('\n');
    let _ = out.write_all(line.as_bytes());
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_per_cpu() {
        let mut t = Totals {
            accepted: 3,
            local: 1,
            per_cpu_accepts: vec![1, 2],
        };
        t.add(&Totals {
            accepted: 5,
            local: 5,
            per_cpu_accepts: vec![0, 1, 4],
        });
        assert_eq!((t.accepted, t.local), (8, 6));
        assert_eq!(t.per_cpu_accepts, vec![1, 3, 4]);
    }

    #[test]
    fn report_json_has_the_documented_fields() {
        let r = Report::new(
            Totals {
                accepted: 4,
                local: 1,
                per_cpu_accepts: vec![4],
            },
            2,
        );
        assert_eq!(r.fraction, 0.25);
        let j = serde_json::to_string(&r).unwrap();
        assert!(
            j.starts_with(r#"{"accepted":4,"local":1,"fraction":0.25,"per_cpu_accepts":[4"#),
            "{j}"
        );
        assert!(j.ends_with(r#"],"workers_alive":2}"#), "{j}");
        assert_eq!(Report::new(Totals::default(), 0).fraction, 0.0);
    }

    /// One unpinned thread worker on its own SO_REUSEPORT socket on a
    /// loopback port; tests change what they exercise.
    fn reuseport_config() -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
            mode: Mode::Thread,
            pin: false,
            local_listen: false,
            reuseport: true,
            incoming_cpu: false,
            accept_mode: AcceptMode::Blocking,
            epoll_exclusive: false,
            exit_after: None,
            backlog: 16,
            exchange: Exchange {
                request: 1,
                response: 1,
                close: crate::Close::Fin,
            },
        }
    }

    #[test]
    fn sockaddrs_round_trip_through_bind() {
        for a in ["127.0.0.1:0", "[::1]:0"] {
            let cfg = ServerConfig {
                listen: a.parse().unwrap(),
                accept_mode: AcceptMode::Epoll,
                ..reuseport_config()
            };
            let l = match listening_socket(cfg.listen, &cfg, None) {
                Ok(l) => l,
                // A host without IPv6.
                Err(_) if a.starts_with('[') => continue,
                Err(e) => panic!("{e}"),
            };
            let bound = l.local_addr().unwrap();
            assert_eq!(bound.ip(), cfg.listen.ip());
            assert_ne!(bound.port(), 0);
            // SO_REUSEPORT: a second socket on the same port.
            let l2 = listening_socket(bound, &cfg, None).unwrap();
            assert_eq!(l2.local_addr().unwrap(), bound);
        }
    }

    #[test]
    fn incoming_cpu_is_set_on_the_listening_socket() {
        let cpus = cpu::allowed_cpus().unwrap();
        let cfg = ServerConfig {
            workers: 2,
            mode: Mode::Process,
            pin: true,
            incoming_cpu: true,
            ..reuseport_config()
        };
        // Worker i is steered to the cpu it is pinned to.
        for i in 0..3 {
            assert_eq!(steer_cpu(&cfg, &cpus, i), Some(cpu::pin_target(&cpus, i)));
        }
        let c = *cpus.last().unwrap();
        let l = listening_socket(cfg.listen, &cfg, Some(c)).unwrap();
        assert_eq!(cpu::incoming_cpu(l.as_raw_fd()).unwrap(), Some(c));
        // Not asked for, or a shared socket: left alone.
        let l = listening_socket(cfg.listen, &cfg, None).unwrap();
        assert_eq!(cpu::incoming_cpu(l.as_raw_fd()).unwrap(), None);
        let off = ServerConfig {
            reuseport: false,
            ..cfg.clone()
        };
        assert_eq!(steer_cpu(&off, &cpus, 0), None);
        let off = ServerConfig {
            incoming_cpu: false,
            ..cfg
        };
        assert_eq!(steer_cpu(&off, &cpus, 0), None);
    }
}
