// SPDX-License-Identifier: GPL-2.0

//! fsbench: a tcp_crr-shaped load (connect, one request, one response,
//! close) to measure short-lived TCP connections.

pub mod cpu;
pub mod server;
pub mod summary;

use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use summary::{Failure, Summary};

/// How a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Close {
    /// Orderly shutdown (FIN).
    Fin,
    /// Abortive close (RST, via SO_LINGER 0): no TIME_WAIT left behind.
    Rst,
}

/// What one connection exchanges.
#[derive(Clone, Copy, Debug)]
pub struct Exchange {
    pub request: usize,
    pub response: usize,
    pub close: Close,
}

fn set_linger_zero(s: &TcpStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn finish(s: &TcpStream, close: Close) -> io::Result<()> {
    match close {
        Close::Fin => s.shutdown(Shutdown::Write).or_else(|e| {
            // The peer may have closed first; that is a normal end.
            if e.kind() == io::ErrorKind::NotConnected {
                Ok(())
            } else {
                Err(e)
            }
        }),
        Close::Rst => set_linger_zero(s),
    }
}

/// The time left before `deadline`, or a timeout error once it passed.
fn left(deadline: Instant) -> io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(io::Error::from(io::ErrorKind::TimedOut))
    } else {
        Ok(d)
    }
}

/// One client connection: connect, send the request, read the whole
/// response, close; all of it within `timeout`.
pub fn one_connection(addr: SocketAddr, x: Exchange, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&addr, left(deadline)?)?;
    s.set_nodelay(true)?;
    let req = vec![b'q'; x.request];
    let mut sent = 0;
    while sent < req.len() {
        s.set_write_timeout(Some(left(deadline)?))?;
        match s.write(&req[sent..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut buf = vec![0; x.response];
    let mut got = 0;
    while got < buf.len() {
        s.set_read_timeout(Some(left(deadline)?))?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    finish(&s, x.close)
}

/// How much load a client run makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// This many connections in all.
    Count(u64),
    /// Connections until this much time has passed.
    For(Duration),
}

impl From<u64> for Load {
    fn from(n: u64) -> Self {
        Load::Count(n)
    }
}

impl From<Duration> for Load {
    fn from(d: Duration) -> Self {
        Load::For(d)
    }
}

/// The slices a client run's timeline is cut into (see
/// [`Summary::with_slices`]): short enough that a two-second run has many,
/// long enough that each holds many connections even under an emulator.
pub const SLICE: Duration = Duration::from_millis(100);

/// Hands out the connections of a [`Load`] to the client threads.
struct Quota {
    load: Load,
    next: AtomicU64,
    start: Instant,
}

impl Quota {
    /// Whether the calling thread should make another connection.
    fn another(&self) -> bool {
        match self.load {
            Load::Count(total) => self.next.fetch_add(1, Ordering::Relaxed) < total,
            // One started before the deadline is finished and counted.
            Load::For(d) => self.start.elapsed() < d,
        }
    }
}

/// What client threads measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    failures: Vec<Failure>,
    /// Completed connections by the cpu the thread ran on at completion.
    per_cpu: Vec<u64>,
    /// When each connection completed, since the start of the run.
    done: Vec<Duration>,
}

impl Tally {
    fn new() -> Self {
        Self {
            per_cpu: vec![0; cpu::nr_cpu_slots()],
            ..Self::default()
        }
    }

    fn completed(&mut self, latency: Duration, since_start: Duration) {
        self.latencies_us.push(latency.as_micros() as u64);
        self.done.push(since_start);
        // sched_getcpu() does not fail on Linux; were it to, the connection
        // would still count in `completed`, just on no cpu.
        if let Some(c) = cpu::current_cpu() {
            if c >= self.per_cpu.len() {
                self.per_cpu.resize(c + 1, 0);
            }
            self.per_cpu[c] += 1;
        }
    }

    fn merge(&mut self, o: Tally) {
        self.latencies_us.extend(o.latencies_us);
        self.failures.extend(o.failures);
        self.done.extend(o.done);
        if self.per_cpu.len() < o.per_cpu.len() {
            self.per_cpu.resize(o.per_cpu.len(), 0);
        }
        for (s, v) in self.per_cpu.iter_mut().zip(&o.per_cpu) {
            *s += v;
        }
    }
}

/// Makes connections from `threads` threads, as fast as they go, until
/// `load` is done: a count (a plain `u64` works) or a duration, after
/// which connections already started are finished and counted.  With
/// `pin`, thread i runs on the `i % n`-th of the `n` cpus allowed.
pub fn run_client(
    addr: SocketAddr,
    load: impl Into<Load>,
    threads: usize,
    x: Exchange,
    timeout: Duration,
    pin: bool,
) -> io::Result<Summary> {
    let cpus = if pin {
        cpu::allowed_cpus()?
    } else {
        Vec::new()
    };
    let results = Arc::new(Mutex::new(Tally::new()));
    let quota = Arc::new(Quota {
        load: load.into(),
        next: AtomicU64::new(0),
        start: Instant::now(),
    });
    let mut workers = Vec::new();
    for i in 0..threads.max(1) {
        let quota = Arc::clone(&quota);
        let results = Arc::clone(&results);
        let target = pin.then(|| cpu::pin_target(&cpus, i));
        workers.push(thread::spawn(move || -> io::Result<()> {
            if let Some(c) = target {
                cpu::pin_to(c).map_err(|e| {
                    io::Error::new(e.kind(), format!("client thread {i}: pin to cpu {c}: {e}"))
                })?;
            }
            let mut mine = Tally::new();
            while quota.another() {
                let t = Instant::now();
                match one_connection(addr, x, timeout) {
                    Ok(()) => mine.completed(t.elapsed(), quota.start.elapsed()),
                    Err(e) => mine.failures.push(Failure::from_io(&e)),
                }
            }
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .merge(mine);
            Ok(())
        }));
    }
    let mut err = None;
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => err = Some(e),
            Err(_) => err = Some(io::Error::other("a client thread panicked")),
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    let elapsed = quota.start.elapsed();
    let t = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Summary::new(t.latencies_us, t.failures, t.per_cpu, elapsed).with_slices(&t.done, SLICE))
}

/// Serves one connection: read the request, answer, close.
pub fn serve_one(mut s: TcpStream, x: Exchange) -> io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = vec![0; x.request];
    s.read_exact(&mut req)?;
    s.write_all(&vec![b'r'; x.response])?;
    finish(&s, x.close)
}

/// Accepts and serves connections on `threads` threads sharing `listener`,
/// forever.  Per-connection errors are counted, not fatal.
pub fn run_server(listener: TcpListener, threads: usize, x: Exchange) -> io::Result<()> {
    let errors = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..threads.max(1) {
        let l = listener.try_clone()?;
        let errors = Arc::clone(&errors);
        workers.push(thread::spawn(move || loop {
            match l.accept() {
                Ok((s, _)) => {
                    if serve_one(s, x).is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-thread `run_server` on a loopback port, serving `x`.
    fn loopback_server(x: Exchange) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run_server(listener, 2, x));
        addr
    }

    #[test]
    fn loopback_round_trip_counts_every_connection() {
        let x = Exchange {
            request: 16,
            response: 64,
            close: Close::Fin,
        };
        let addr = loopback_server(x);
        let s = run_client(addr, 200, 4, x, Duration::from_secs(5), false).unwrap();
        assert_eq!((s.completed, s.failed), (200, 0), "{s}");
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), 200, "{s}");
        assert!(s.per_cpu_connections.len() >= cpu::nr_cpu_slots(), "{s}");
    }

    #[test]
    fn a_duration_bounds_the_run() {
        let x = Exchange {
            request: 8,
            response: 8,
            close: Close::Rst,
        };
        let addr = loopback_server(x);
        let d = Duration::from_millis(300);
        let t = Instant::now();
        let s = run_client(addr, Load::For(d), 2, x, Duration::from_secs(5), true).unwrap();
        let took = t.elapsed();
        assert!(s.completed > 0 && s.failed == 0, "{s}");
        assert!(took >= d && took < d + Duration::from_secs(2), "{took:?}");
        // The summary's time is the measured one, not the asked-for one.
        assert!(s.seconds >= d.as_secs_f64(), "{s}");
        assert!(s.seconds <= took.as_secs_f64(), "{s}");
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), s.completed);
    }

    #[test]
    fn loads_convert_from_counts_and_durations() {
        assert_eq!(Load::from(7), Load::Count(7));
        let d = Duration::from_millis(5);
        assert_eq!(Load::from(d), Load::For(d));
    }

    #[test]
    fn pinned_clients_complete() {
        let x = Exchange {
            request: 8,
            response: 8,
            close: Close::Rst,
        };
        let addr = loopback_server(x);
        let s = run_client(addr, 100, 3, x, Duration::from_secs(5), true).unwrap();
        assert_eq!((s.completed, s.failed), (100, 0), "{s}");
        // Pinned threads complete their connections on allowed cpus only.
        let cpus = cpu::allowed_cpus().unwrap();
        for (c, &n) in s.per_cpu_connections.iter().enumerate() {
            assert!(n == 0 || cpus.contains(&c), "cpu {c}: {s}");
        }
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), 100, "{s}");
    }

    #[test]
    fn timeout_covers_the_whole_exchange() {
        // The response trickles in a byte every 200 ms: each read is well
        // within the timeout, the whole response is not.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                thread::spawn(move || {
                    let mut req = [0; 4];
                    let _ = s.read_exact(&mut req);
                    for _ in 0..20 {
                        if s.write_all(b"r").is_err() {
                            return;
                        }
                        thread::sleep(Duration::from_millis(200));
                    }
                });
            }
        });
        let x = Exchange {
            request: 4,
            response: 20,
            close: Close::Fin,
        };
        let t = Instant::now();
        let s = run_client(addr, 1, 1, x, Duration::from_secs(1), false).unwrap();
        assert_eq!((s.completed, s.failed), (0, 1), "{s}");
        assert_eq!(s.failures, vec![(Failure::Timeout, 1)]);
        assert!(
            t.elapsed() < Duration::from_millis(1800),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn refused_connections_are_failures() {
        // Bind then drop: nothing listens on that port any more.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let x = Exchange {
            request: 1,
            response: 1,
            close: Close::Rst,
        };
        let s = run_client(addr, 3, 1, x, Duration::from_secs(1), false).unwrap();
        assert_eq!((s.completed, s.failed), (0, 3));
        assert_eq!(s.failures, vec![(Failure::Refused, 3)]);
    }
}
