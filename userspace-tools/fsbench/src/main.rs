// SPDX-License-Identifier: GPL-2.0

//! fsbench: short-lived TCP connections, client and server.

use std::{io::Write, net::SocketAddr, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use fsbench::{
    run_client,
    server::{self, AcceptMode, Mode, ServerConfig, StartError},
    Close, Exchange, Load,
};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone, Copy)]
struct ExchangeArgs {
    /// Request size in bytes.
    #[arg(long, default_value_t = 64)]
    request: usize,
    /// Response size in bytes.
    #[arg(long, default_value_t = 64)]
    response: usize,
    /// How connections end.
    #[arg(long, value_enum, default_value_t = Close::Fin)]
    close: Close,
}

impl From<ExchangeArgs> for Exchange {
    fn from(a: ExchangeArgs) -> Self {
        Exchange {
            request: a.request,
            response: a.response,
            close: a.close,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve connections until SIGTERM/SIGINT; prints "listening ADDR" once
    /// every worker can accept, and one JSON line of counts at the end.
    Server {
        /// Address to listen on (port 0 picks one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Accepting workers (threads or processes).
        #[arg(long, visible_alias = "threads", default_value_t = 2)]
        workers: usize,
        /// Workers are threads sharing the sockets, or forked processes.
        #[arg(long, value_enum, default_value_t = Mode::Thread)]
        mode: Mode,
        /// Pin worker i to the (i % n)-th of the n cpus allowed.
        #[arg(long)]
        pin: bool,
        /// Enable fastsocket local listen on each listening socket (exit
        /// status 2 if that fails).
        #[arg(long)]
        local_listen: bool,
        /// One SO_REUSEPORT listening socket per worker.
        #[arg(long)]
        reuseport: bool,
        /// With --reuseport and --pin: set SO_INCOMING_CPU on each worker's
        /// socket to the cpu the worker is pinned to, so that the kernel
        /// (Linux 6.1 and later) prefers it for connections coming in there.
        #[arg(long)]
        incoming_cpu: bool,
        /// How workers wait for connections.
        #[arg(long, value_enum, default_value_t = AcceptMode::Blocking)]
        accept_mode: AcceptMode,
        /// With --accept-mode epoll: register with EPOLLEXCLUSIVE.
        #[arg(long)]
        epoll_exclusive: bool,
        /// Stop (as on SIGTERM) after this many connections were served.
        #[arg(long)]
        exit_after: Option<u64>,
        /// listen() backlog (the kernel caps it at net.core.somaxconn).
        #[arg(long, default_value_t = 4096)]
        backlog: i32,
        #[command(flatten)]
        exchange: ExchangeArgs,
    },
    /// Make connections; exits 1 if any failed.
    Client {
        /// Server address.
        #[arg(long)]
        connect: SocketAddr,
        /// Connections to make.
        #[arg(long, default_value_t = 10_000, conflicts_with = "duration")]
        connections: u64,
        /// Make connections for this many seconds instead of a fixed count
        /// (those started in time are finished and counted).
        #[arg(long, value_name = "SECS", value_parser = parse_secs)]
        duration: Option<Duration>,
        /// Connecting threads.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// Per-connection timeout in seconds: connect, request and response
        /// together; a connection not done by then counts as failed.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Pin thread i to the (i % n)-th of the n cpus allowed.
        #[arg(long)]
        pin: bool,
        #[command(flatten)]
        exchange: ExchangeArgs,
    },
}

/// A positive, finite number of seconds.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{s}: not a positive number of seconds")),
    }
}

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Server {
            listen,
            workers,
            mode,
            pin,
            local_listen,
            reuseport,
            incoming_cpu,
            accept_mode,
            epoll_exclusive,
            exit_after,
            backlog,
            exchange,
        } => {
            if epoll_exclusive && accept_mode != AcceptMode::Epoll {
                eprintln!("fsbench: --epoll-exclusive needs --accept-mode epoll");
                return ExitCode::FAILURE;
            }
            // It names the cpu each worker's own socket is for: both needed.
            if incoming_cpu && !(reuseport && pin) {
                eprintln!("fsbench: --incoming-cpu needs --reuseport and --pin");
                return ExitCode::FAILURE;
            }
            let cfg = ServerConfig {
                listen,
                workers,
                mode,
                pin,
                local_listen,
                reuseport,
                incoming_cpu,
                accept_mode,
                epoll_exclusive,
                exit_after,
                backlog,
                exchange: exchange.into(),
            };
            // Write errors (stdout closed) must not stop the server.
            let ready = |a| {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "listening {a}");
                let _ = out.flush();
            };
            match server::serve(&cfg, ready) {
                Ok(report) => {
                    match serde_json::to_string(&report) {
                        Ok(j) => {
                            let mut out = std::io::stdout().lock();
                            let _ = writeln!(out, "{j}");
                            let _ = out.flush();
                        }
                        Err(e) => eprintln!("fsbench: {e}"),
                    }
                    // Workers are still blocked in accept: leave now.
                    std::process::exit(0)
                }
                Err(e @ StartError::LocalListen { .. }) => {
                    eprintln!("fsbench: {e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("fsbench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Client {
            connect,
            connections,
            duration,
            threads,
            timeout,
            json,
            pin,
            exchange,
        } => {
            let load = match duration {
                Some(d) => Load::For(d),
                None => Load::Count(connections),
            };
            let s = match run_client(
                connect,
                load,
                threads,
                exchange.into(),
                Duration::from_secs(timeout),
                pin,
            ) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("fsbench: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if json {
                match serde_json::to_string(&s) {
                    Ok(j) => println!("{j}"),
                    Err(e) => eprintln!("fsbench: {e}"),
                }
            } else {
                println!("{s}");
            }
            if s.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(args: &[&str]) -> Result<Cmd, clap::Error> {
        let base = ["fsbench", "client", "--connect", "127.0.0.1:1"];
        Cli::try_parse_from(base.iter().chain(args)).map(|c| c.cmd)
    }

    fn load(args: &[&str]) -> (u64, Option<Duration>) {
        match client(args).unwrap() {
            Cmd::Client {
                connections,
                duration,
                ..
            } => (connections, duration),
            Cmd::Server { .. } => panic!("not a client"),
        }
    }

    #[test]
    fn connections_and_duration_exclude_each_other() {
        assert_eq!(load(&[]), (10_000, None));
        assert_eq!(load(&["--connections", "5"]), (5, None));
        assert_eq!(
            load(&["--duration", "1.5"]).1,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(load(&["--duration", "2"]).1, Some(Duration::from_secs(2)));
        let e = client(&["--connections", "5", "--duration", "1"])
            .err()
            .unwrap();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        for bad in ["0", "-1", "nan", "inf", "soon"] {
            assert!(client(&["--duration", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn incoming_cpu_parses_as_a_server_flag() {
        let c = Cli::try_parse_from([
            "fsbench",
            "server",
            "--reuseport",
            "--pin",
            "--incoming-cpu",
        ])
        .unwrap();
        assert!(matches!(
            c.cmd,
            Cmd::Server {
                incoming_cpu: true,
                ..
            }
        ));
    }
}
