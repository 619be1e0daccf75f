// SPDX-License-Identifier: GPL-2.0

//! fsctl: the administrator's command-line tool for the fastsocket module.
//! See Documentation/fsctl.rst.

use std::{
    io::{self, Write},
    process::ExitCode,
    thread,
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand};
use fsctl::{
    feature::{Feature, Setting},
    module,
    socket::{self, Target},
    stats,
    status::Status,
    sysctl::Sysctls,
    Error, Table, PROC_PATH,
};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "fsctl",
    version,
    about = "Administers the fastsocket module",
    after_help = "Exit status: 0 on success, 1 on failure (status: module not loaded), \
                  2 on a usage error."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Whether the module is loaded, its version, features and settings.
    Status {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    #[command(about = Feature::enable_help())]
    Enable {
        #[arg(value_name = "FEATURE")]
        feature: String,
    },
    /// Switch a feature off (the names of enable).
    Disable {
        #[arg(value_name = "FEATURE")]
        feature: String,
    },
    #[command(about = Setting::set_help())]
    Set {
        #[arg(value_name = "SETTING")]
        setting: String,
        #[arg(value_name = "VALUE")]
        value: String,
    },
    /// The per-CPU counters of /proc/net/fastsocket, with a total row.
    Stats {
        /// One JSON object per reading.
        #[arg(long)]
        json: bool,
        /// Read again every SECONDS (default 1) and show events per second.
        #[arg(
            long,
            value_name = "SECONDS",
            num_args = 0..=1,
            default_missing_value = "1",
            value_parser = parse_interval
        )]
        watch: Option<f64>,
        /// Stop after N intervals (implies --watch).
        #[arg(long, value_name = "N", value_parser = parse_count)]
        count: Option<u64>,
    },
    /// The local-listen state of descriptor FD of process PID.
    Socket {
        #[arg(value_name = "PID/FD")]
        target: Target,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// A watch interval: positive, and short of a day.
fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.01..=86400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds from 0.01 to 86400"
        )),
    }
}

/// A number of intervals: one or more.
fn parse_count(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a count of 1 or more")),
    }
}

/// Writes `text` to stdout now (watch mode shows each interval as it ends).
fn print(text: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// Prints `value` as one line of JSON.
fn print_json(value: &impl Serialize) -> Result<(), Error> {
    let line = serde_json::to_string(value)
        .map_err(|e| Error::io("encoding JSON", io::Error::other(e)))?;
    print(&format!("{line}\n"))
}

/// Reads the counters; their file exists only while the module is loaded.
fn read_counters() -> Result<Table, Error> {
    Table::read(PROC_PATH).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotLoaded,
        _ => Error::io(format!("reading {PROC_PATH}"), e),
    })
}

fn status(json: bool) -> Result<ExitCode, Error> {
    let s = Status::read()?;
    if json {
        print_json(&s)?;
    } else {
        print(&s.render())?;
    }
    Ok(if s.loaded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn switch(name: &str, on: bool) -> Result<ExitCode, Error> {
    let feature = Feature::parse(name)?;
    let change = Sysctls::system().switch(feature, on, module::version)?;
    print(&format!("{change}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn set(name: &str, value: &str) -> Result<ExitCode, Error> {
    let setting = Setting::parse(name)?;
    let value = setting.parse_value(value)?;
    let change = Sysctls::system().set(setting, value, module::version)?;
    print(&format!("{change}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn stats(json: bool, watch: Option<f64>, count: Option<u64>) -> Result<ExitCode, Error> {
    let first = read_counters()?;
    let secs = match (watch, count) {
        (None, None) => {
            if json {
                print_json(&stats::Snapshot(&first))?;
            } else {
                print(&stats::render(&first))?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        (w, _) => w.unwrap_or(1.0),
    };
    let interval = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let (mut prev, mut prev_at) = (first, start);
    let mut n: u64 = 0;
    // Forever without --count.
    while count != Some(n) {
        n += 1;
        // Deadlines from the start, so that the intervals do not drift.
        let deadline = start + interval.mul_f64(n as f64);
        thread::sleep(deadline.saturating_duration_since(Instant::now()));
        let cur = read_counters()?;
        let now = Instant::now();
        let rates = stats::rates(&prev, &cur, now.duration_since(prev_at).as_secs_f64());
        if json {
            print_json(&rates)?;
        } else {
            let sep = if n > 1 { "\n" } else { "" };
            print(&format!("{sep}{}", stats::render_rates(&rates, n)))?;
        }
        (prev, prev_at) = (cur, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn socket(target: Target, json: bool) -> Result<ExitCode, Error> {
    let report = socket::inspect(target)?;
    if json {
        print_json(&report)?;
    } else {
        print(&report.render())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let result = match Cli::parse().cmd {
        Cmd::Status { json } => status(json),
        Cmd::Enable { feature } => switch(&feature, true),
        Cmd::Disable { feature } => switch(&feature, false),
        Cmd::Set { setting, value } => set(&setting, &value),
        Cmd::Stats { json, watch, count } => stats(json, watch, count),
        Cmd::Socket { target, json } => socket(target, json),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`fsctl stats --watch | head`) is an end,
        // not a failure.
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // Nothing more to do if stderr is gone too.
            let _ = writeln!(io::stderr(), "fsctl: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cmd, clap::Error> {
        Cli::try_parse_from(std::iter::once("fsctl").chain(args.iter().copied())).map(|c| c.cmd)
    }

    fn stats_args(args: &[&str]) -> (bool, Option<f64>, Option<u64>) {
        match parse(args) {
            Ok(Cmd::Stats { json, watch, count }) => (json, watch, count),
            other => panic!("{args:?}: {:?}", other.err()),
        }
    }

    #[test]
    fn stats_watch_and_count() {
        assert_eq!(stats_args(&["stats"]), (false, None, None));
        assert_eq!(stats_args(&["stats", "--json"]), (true, None, None));
        assert_eq!(stats_args(&["stats", "--watch"]), (false, Some(1.0), None));
        assert_eq!(
            stats_args(&["stats", "--watch", "--count", "2"]),
            (false, Some(1.0), Some(2))
        );
        assert_eq!(
            stats_args(&["stats", "--watch", "1", "--count", "2"]),
            (false, Some(1.0), Some(2))
        );
        assert_eq!(
            stats_args(&["stats", "--json", "--watch", "0.5"]),
            (true, Some(0.5), None)
        );
        assert_eq!(
            stats_args(&["stats", "--count", "3"]),
            (false, None, Some(3))
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["stats", "--watch", "0"][..],
            &["stats", "--watch", "x"],
            &["stats", "--count", "0"],
            &["stats", "--count"],
            &["socket", "12"],
            &["socket"],
            &["enable"],
            &["set", "listen-idle-ms"],
            &["frobnicate"],
        ] {
            let e = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn commands() {
        assert!(matches!(
            parse(&["status"]),
            Ok(Cmd::Status { json: false })
        ));
        assert!(matches!(
            parse(&["status", "--json"]),
            Ok(Cmd::Status { json: true })
        ));
        assert!(matches!(
            parse(&["enable", "auto"]),
            Ok(Cmd::Enable { feature }) if feature == "auto"
        ));
        assert!(matches!(
            parse(&["disable", "listen"]),
            Ok(Cmd::Disable { feature }) if feature == "listen"
        ));
        assert!(matches!(
            parse(&["set", "listen-idle-ms", "500"]),
            Ok(Cmd::Set { setting, value }) if setting == "listen-idle-ms" && value == "500"
        ));
        assert!(matches!(
            parse(&["socket", "1234/5", "--json"]),
            Ok(Cmd::Socket {
                target: Target { pid: 1234, fd: 5 },
                json: true
            })
        ));
    }
}
