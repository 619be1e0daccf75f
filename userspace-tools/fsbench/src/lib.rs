// SPDX-License-Identifier: GPL-2.0

//! fsbench: a tcp_crr-shaped load (connect, one request, one response,
//! close) to measure short-lived TCP connections.

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

fn finish(s: &TcpStream, close: Close) -> io::Result<()> {
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

/// One client connection: connect, send the request, read the whole
/// response, close.
pub fn one_connection(addr: SocketAddr, x: Exchange, timeout: Duration) -> io::Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    s.write_all(&vec![b'q'; x.request])?;
    let mut buf = vec![0; x.response];
    s.read_exact(&mut buf)?;
    finish(&s, x.close)
}

/// Makes `total` connections from `threads` threads, as fast as they go.
pub fn run_client(
    addr: SocketAddr,
    total: u64,
    threads: usize,
    x: Exchange,
    timeout: Duration,
) -> Summary {
    let next = Arc::new(AtomicU64::new(0));
    let results = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let next = Arc::clone(&next);
            let results = Arc::clone(&results);
            thread::spawn(move || {
                let (mut lat, mut fail) = (Vec::new(), Vec::new());
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let t = Instant::now();
                    match one_connection(addr, x, timeout) {
                        Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                        Err(e) => fail.push(Failure::from_io(&e)),
                    }
                }
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                r.0.extend(lat);
                r.1.extend(fail);
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed();
    let (lat, fail) = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    Summary::new(lat, fail, elapsed)
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

    #[test]
    fn loopback_round_trip_counts_every_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let x = Exchange {
            request: 16,
            response: 64,
            close: Close::Fin,
        };
        thread::spawn(move || run_server(listener, 2, x));
        let s = run_client(addr, 200, 4, x, Duration::from_secs(5));
        assert_eq!((s.completed, s.failed), (200, 0), "{s}");
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
        let s = run_client(addr, 3, 1, x, Duration::from_secs(1));
        assert_eq!((s.completed, s.failed), (0, 3));
        assert_eq!(s.failures, vec![(Failure::Refused, 3)]);
    }
}
