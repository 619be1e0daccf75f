// SPDX-License-Identifier: GPL-2.0

//! The client: threads making connections, as fast as they go, until the
//! load is done, and what they measured.

mod config;
mod connection;
mod tally;

use std::{
    io,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

pub use config::{ClientConfig, Load};
pub use connection::one_connection;
use tally::{Quota, Tally};

use crate::{
    cpu,
    summary::{Failure, Summary},
};

/// The slices a client run's timeline is cut into (see
/// [`Summary::with_slices`]): short enough that a two-second run has many,
/// long enough that each holds many connections even under an emulator.
pub const SLICE: Duration = Duration::from_millis(100);

/// The cpu each thread is pinned to (None: not pinned), one entry per
/// thread.
fn thread_cpus(cfg: &ClientConfig) -> io::Result<Vec<Option<usize>>> {
    if cfg.pin_threads {
        return Ok(cpu::allowed_cpus()?.into_iter().map(Some).collect());
    }
    let n = cfg.threads.max(1);
    if !cfg.pin {
        return Ok(vec![None; n]);
    }
    let cpus = cpu::allowed_cpus()?;
    Ok((0..n).map(|i| Some(cpu::pin_target(&cpus, i))).collect())
}

/// Makes connections from the configured threads, as fast as they go,
/// until the load is done: a count or a duration, after which connections
/// already started are finished and counted.
pub fn run_client(cfg: &ClientConfig) -> io::Result<Summary> {
    let (addr, x, timeout) = (cfg.connect, cfg.exchange, Duration::from_secs(cfg.timeout));
    let measure = cfg.pin_threads;
    let results = Arc::new(Mutex::new(Tally::new()));
    let quota = Arc::new(Quota::new(cfg.load()));
    let mut workers = Vec::new();
    for (i, target) in thread_cpus(cfg)?.into_iter().enumerate() {
        let quota = Arc::clone(&quota);
        let results = Arc::clone(&results);
        workers.push(thread::spawn(move || -> io::Result<()> {
            if let Some(c) = target {
                cpu::pin_to(c).map_err(|e| {
                    io::Error::new(e.kind(), format!("client thread {i}: pin to cpu {c}: {e}"))
                })?;
            }
            let mut mine = Tally::new();
            while quota.another() {
                let t = Instant::now();
                match one_connection(addr, x, timeout, measure) {
                    Ok(incoming) => {
                        mine.completed(t.elapsed(), quota.start.elapsed());
                        if let (true, Some(c)) = (measure, target) {
                            mine.receives.record(c, incoming);
                        }
                    }
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
    let s =
        Summary::new(t.latencies_us, t.failures, t.per_cpu, elapsed).with_slices(&t.done, SLICE);
    Ok(if measure {
        s.with_receive_locality(t.receives.locality(cpu::nr_cpu_slots()))
    } else {
        s
    })
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        net::{SocketAddr, TcpListener},
    };

    use super::*;
    use crate::test_server::loopback_server;

    /// A client of `addr` with these options besides --connect.
    fn config(addr: SocketAddr, words: &[&str]) -> ClientConfig {
        let a = addr.to_string();
        ClientConfig::from_words(["--connect", &a].iter().chain(words)).unwrap()
    }

    #[test]
    fn pinned_threads_are_one_per_cpu() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cpus = cpu::allowed_cpus().unwrap();
        let one_each: Vec<_> = cpus.iter().map(|&c| Some(c)).collect();
        assert_eq!(
            thread_cpus(&config(a, &["--pin-threads"])).unwrap(),
            one_each
        );
        let wrapped: Vec<_> = (0..3).map(|i| Some(cpu::pin_target(&cpus, i))).collect();
        assert_eq!(
            thread_cpus(&config(a, &["--threads", "3", "--pin"])).unwrap(),
            wrapped
        );
        assert_eq!(
            thread_cpus(&config(a, &["--threads", "3"])).unwrap(),
            vec![None; 3]
        );
    }

    #[test]
    fn loopback_round_trip_counts_every_connection() {
        let x = ["--request", "16", "--response", "64"];
        let addr = loopback_server(x);
        let cfg = config(
            addr,
            &[&["--connections", "200", "--timeout", "5"][..], &x].concat(),
        );
        let s = run_client(&cfg).unwrap();
        assert_eq!((s.completed, s.failed), (200, 0), "{s}");
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), 200, "{s}");
        assert!(s.per_cpu_connections.len() >= cpu::nr_cpu_slots(), "{s}");
        assert_eq!(s.receive_locality, None);
    }

    const RST_8: [&str; 6] = ["--request", "8", "--response", "8", "--close", "rst"];

    #[test]
    fn a_duration_bounds_the_run() {
        let addr = loopback_server(RST_8);
        let d = Duration::from_millis(300);
        let w = [
            &[
                "--duration",
                "0.3",
                "--threads",
                "2",
                "--pin",
                "--timeout",
                "5",
            ][..],
            &RST_8,
        ]
        .concat();
        let t = Instant::now();
        let s = run_client(&config(addr, &w)).unwrap();
        let took = t.elapsed();
        assert!(s.completed > 0 && s.failed == 0, "{s}");
        assert!(took >= d && took < d + Duration::from_secs(2), "{took:?}");
        // The summary's time is the measured one, not the asked-for one.
        assert!(s.seconds >= d.as_secs_f64(), "{s}");
        assert!(s.seconds <= took.as_secs_f64(), "{s}");
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), s.completed);
    }

    #[test]
    fn pinned_clients_complete() {
        let addr = loopback_server(RST_8);
        let w = [
            &[
                "--connections",
                "100",
                "--threads",
                "3",
                "--pin",
                "--timeout",
                "5",
            ][..],
            &RST_8,
        ]
        .concat();
        let s = run_client(&config(addr, &w)).unwrap();
        assert_eq!((s.completed, s.failed), (100, 0), "{s}");
        // Pinned threads complete their connections on allowed cpus only.
        let cpus = cpu::allowed_cpus().unwrap();
        for (c, &n) in s.per_cpu_connections.iter().enumerate() {
            assert!(n == 0 || cpus.contains(&c), "cpu {c}: {s}");
        }
        assert_eq!(s.per_cpu_connections.iter().sum::<u64>(), 100, "{s}");
    }

    #[test]
    fn pinned_threads_report_receive_locality() {
        let addr = loopback_server(RST_8);
        let w = [
            &["--connections", "200", "--pin-threads", "--timeout", "5"][..],
            &RST_8,
        ]
        .concat();
        let s = run_client(&config(addr, &w)).unwrap();
        assert_eq!((s.completed, s.failed), (200, 0), "{s}");
        let r = s.receive_locality.clone().unwrap();
        // Every connection measured, on the cpu of its thread.
        assert_eq!(r.connections, 200, "{s}");
        assert_eq!(r.per_cpu_connections, s.per_cpu_connections, "{s}");
        // The response came in: its socket knows where.
        assert_eq!(r.unknown, 0, "{s}");
        assert_eq!(r.per_cpu_incoming.iter().sum::<u64>(), 200, "{s}");
        assert!(r.local <= r.connections);
        assert_eq!(r.per_cpu_local.iter().sum::<u64>(), r.local);
        assert_eq!(r.fraction, r.local as f64 / 200.0);
        let cpus = cpu::allowed_cpus().unwrap();
        for (c, &n) in r.per_cpu_connections.iter().enumerate() {
            assert!(n == 0 || cpus.contains(&c), "cpu {c}: {s}");
        }
        assert!(s.to_string().contains("\nreceive locality: "), "{s}");
    }

    #[test]
    fn timeout_covers_the_whole_exchange() {
        // The response trickles in a byte every 200 ms: each read is well
        // within the timeout, the whole response is not.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
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
        let w = ["--connections", "1", "--threads", "1", "--timeout", "1"];
        let w = [&w[..], &["--request", "4", "--response", "20"]].concat();
        let t = Instant::now();
        let s = run_client(&config(addr, &w)).unwrap();
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
        let w = ["--connections", "3", "--threads", "1", "--timeout", "1"];
        let w = [
            &w[..],
            &["--request", "1", "--response", "1", "--close", "rst"],
        ]
        .concat();
        let s = run_client(&config(addr, &w)).unwrap();
        assert_eq!((s.completed, s.failed), (0, 3));
        assert_eq!(s.failures, vec![(Failure::Refused, 3)]);
    }
}
