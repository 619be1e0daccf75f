// SPDX-License-Identifier: GPL-2.0

//! fsbench: short-lived TCP connections, client and server.

use std::{
    io::Write,
    net::{SocketAddr, TcpListener},
    process::ExitCode,
    time::Duration,
};

use clap::{Args, Parser, Subcommand};
use fsbench::{run_client, run_server, Close, Exchange};

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
    /// Serve connections until killed; prints the bound address first.
    Server {
        /// Address to listen on (port 0 picks one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Accepting threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[command(flatten)]
        exchange: ExchangeArgs,
    },
    /// Make connections; exits 1 if any failed.
    Client {
        /// Server address.
        #[arg(long)]
        connect: SocketAddr,
        /// Connections to make.
        #[arg(long, default_value_t = 10_000)]
        connections: u64,
        /// Connecting threads.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// Per-connection timeout in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exchange: ExchangeArgs,
    },
}

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Server {
            listen,
            threads,
            exchange,
        } => {
            let listener = match TcpListener::bind(listen) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("fsbench: cannot listen on {listen}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match listener.local_addr() {
                Ok(a) => println!("listening {a}"),
                Err(e) => {
                    eprintln!("fsbench: {e}");
                    return ExitCode::FAILURE;
                }
            }
            let _ = std::io::stdout().flush();
            if let Err(e) = run_server(listener, threads, exchange.into()) {
                eprintln!("fsbench: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Cmd::Client {
            connect,
            connections,
            threads,
            timeout,
            json,
            exchange,
        } => {
            let s = run_client(
                connect,
                connections,
                threads,
                exchange.into(),
                Duration::from_secs(timeout),
            );
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
