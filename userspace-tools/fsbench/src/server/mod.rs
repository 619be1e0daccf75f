// SPDX-License-Identifier: GPL-2.0

//! The server: workers (threads or forked processes) accepting and serving
//! connections, and counting how many were handled on one cpu throughout.
//!
//! A connection is *local* when the cpu the worker runs on right after
//! accept, the socket's `SO_INCOMING_CPU` after the request was read, and
//! the cpu just before the response is written are the same.

mod acceptor;
mod listener;
mod processes;
mod report;
mod served;
mod signals;
mod threads;

use std::{io, net::SocketAddr};

use crate::{cpu, exchange::Exchange};

pub use report::{Report, Totals};

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

/// What the server does: `fsbench server`'s options.
#[derive(Clone, Debug, clap::Args)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Accepting workers (threads or processes).
    #[arg(long, visible_alias = "threads", default_value_t = 2)]
    pub workers: usize,
    /// Workers are threads sharing the sockets, or forked processes.
    #[arg(long, value_enum, default_value_t = Mode::Thread)]
    pub mode: Mode,
    /// Pin worker i to the (i % n)-th of the n cpus allowed.
    #[arg(long)]
    pub pin: bool,
    /// Enable fastsocket local listen on each listening socket (exit
    /// status 2 if that fails).
    #[arg(long)]
    pub local_listen: bool,
    /// One SO_REUSEPORT listening socket per worker.
    #[arg(long)]
    pub reuseport: bool,
    /// With --reuseport and --pin: set SO_INCOMING_CPU on each worker's
    /// socket to the cpu the worker is pinned to, so that the kernel
    /// (Linux 6.1 and later) prefers it for connections coming in there.
    #[arg(long)]
    pub incoming_cpu: bool,
    /// How workers wait for connections.
    #[arg(long, value_enum, default_value_t = AcceptMode::Blocking)]
    pub accept_mode: AcceptMode,
    /// With --accept-mode epoll: register with EPOLLEXCLUSIVE.
    #[arg(long)]
    pub epoll_exclusive: bool,
    /// Stop (as on SIGTERM) after this many connections were served.
    #[arg(long)]
    pub exit_after: Option<u64>,
    /// listen() backlog (the kernel caps it at net.core.somaxconn).
    #[arg(long, default_value_t = 4096)]
    pub backlog: i32,
    #[command(flatten)]
    pub exchange: Exchange,
}

impl ServerConfig {
    /// Options that need others: why this configuration cannot run.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.epoll_exclusive && self.accept_mode != AcceptMode::Epoll {
            return Err("--epoll-exclusive needs --accept-mode epoll");
        }
        // It names the cpu each worker's own socket is for: both needed.
        if self.incoming_cpu && !(self.reuseport && self.pin) {
            return Err("--incoming-cpu needs --reuseport and --pin");
        }
        Ok(())
    }
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

/// The cpu worker `i`'s own SO_REUSEPORT socket is steered to with
/// `--incoming-cpu`: the one it is pinned to.  None for a shared socket.
fn steer_cpu(cfg: &ServerConfig, cpus: &[usize], i: usize) -> Option<usize> {
    (cfg.incoming_cpu && cfg.reuseport && cfg.pin && !cpus.is_empty())
        .then(|| cpu::pin_target(cpus, i))
}

/// With `--pin`, pins the calling thread where worker `i` belongs.
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
    let sigs = signals::block();
    let cpus = if cfg.pin {
        cpu::allowed_cpus().map_err(|e| StartError::other("sched_getaffinity", e))?
    } else {
        Vec::new()
    };
    let served = served::Served::new(cfg.exit_after)?;
    match cfg.mode {
        Mode::Thread => threads::serve(cfg, &cpus, served, &sigs, ready),
        Mode::Process => processes::serve(cfg, &cpus, served, &sigs, ready),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration of `fsbench server WORDS`.
    pub(super) fn config(words: &[&str]) -> ServerConfig {
        #[derive(clap::Parser)]
        struct Words {
            #[command(flatten)]
            cfg: ServerConfig,
        }
        let words = std::iter::once(&"server").chain(words);
        <Words as clap::Parser>::try_parse_from(words).unwrap().cfg
    }

    #[test]
    fn options_that_need_others_are_refused() {
        assert_eq!(config(&[]).check(), Ok(()));
        assert_eq!(config(&["--threads", "3"]).workers, 3);
        let e = config(&["--epoll-exclusive"]).check();
        assert_eq!(e, Err("--epoll-exclusive needs --accept-mode epoll"));
        let ok = config(&["--epoll-exclusive", "--accept-mode", "epoll"]);
        assert_eq!(ok.check(), Ok(()));
        for w in [&["--pin"][..], &["--reuseport"][..], &[][..]] {
            let c = config(&[&["--incoming-cpu"][..], w].concat());
            assert_eq!(c.check(), Err("--incoming-cpu needs --reuseport and --pin"));
        }
        let c = config(&["--incoming-cpu", "--reuseport", "--pin"]);
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn worker_sockets_are_steered_to_their_cpus() {
        let cpus = cpu::allowed_cpus().unwrap();
        let cfg = config(&["--reuseport", "--pin", "--incoming-cpu"]);
        // Worker i is steered to the cpu it is pinned to.
        for i in 0..3 {
            assert_eq!(steer_cpu(&cfg, &cpus, i), Some(cpu::pin_target(&cpus, i)));
        }
        // Not asked for, or a shared socket: left alone.
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
