// SPDX-License-Identifier: GPL-2.0

//! fsbench: short-lived TCP connections, client and server.

use std::{io::Write, process::ExitCode};

use clap::{Parser, Subcommand};
use fsbench::{
    run_client,
    server::{self, ServerConfig, StartError},
    ClientConfig,
};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve connections until SIGTERM/SIGINT; prints "listening ADDR" once
    /// every worker can accept, and one JSON line of counts at the end.
    Server(ServerConfig),
    /// Make connections; exits 1 if any failed.
    Client(ClientConfig),
}

fn server(cfg: &ServerConfig) -> ExitCode {
    if let Err(e) = cfg.check() {
        eprintln!("fsbench: {e}");
        return ExitCode::FAILURE;
    }
    // Write errors (stdout closed) must not stop the server.
    let ready = |a| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening {a}");
        let _ = out.flush();
    };
    match server::serve(cfg, ready) {
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

fn client(cfg: &ClientConfig) -> ExitCode {
    let s = match run_client(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fsbench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cfg.json {
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

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Server(cfg) => server(&cfg),
        Cmd::Client(cfg) => client(&cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_take_their_options() {
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
            Cmd::Server(ServerConfig {
                incoming_cpu: true,
                ..
            })
        ));
        let c = Cli::try_parse_from(["fsbench", "client", "--connect", "127.0.0.1:1", "--json"]);
        assert!(matches!(
            c.unwrap().cmd,
            Cmd::Client(ClientConfig { json: true, .. })
        ));
        let c = Cli::try_parse_from(["fsbench", "client", "--connect", "127.0.0.1:1"]);
        assert!(matches!(
            c.unwrap().cmd,
            Cmd::Client(ClientConfig { json: false, .. })
        ));
    }
}
