// SPDX-License-Identifier: GPL-2.0

//! The server binary: start, serve, stop on SIGTERM with one JSON line.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use fsbench::{run_client, server::Report, summary::Summary, ClientConfig};
use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};

/// The exchange every server here is started with.
const X: [&str; 6] = ["--request", "16", "--response", "32", "--close", "rst"];

/// `n` connections to `addr` from `threads` threads, with the servers'
/// exchange.
fn client(addr: SocketAddr, n: u64, threads: usize) -> Summary {
    let (a, n, t) = (addr.to_string(), n.to_string(), threads.to_string());
    let words = [
        "--connect",
        &a,
        "--connections",
        &n,
        "--threads",
        &t,
        "--timeout",
        "5",
    ];
    run_client(&ClientConfig::from_words(words.iter().chain(&X)).unwrap()).unwrap()
}

/// The server, SIGKILLed if a test fails before stopping it (its worker
/// processes follow through PR_SET_PDEATHSIG): nothing is left holding the
/// test's stderr.
struct Server(Option<Child>);

impl Server {
    fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }

    fn take(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start(args: &[&str]) -> (Server, BufReader<ChildStdout>, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fsbench"))
        .arg("server")
        .args(X)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = Server(Some(child));
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .trim()
        .parse()
        .unwrap();
    (child, out, addr)
}

fn stop(child: Server, mut out: BufReader<ChildStdout>) -> Report {
    let mut child = child.take();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 1, "{rest:?}");
    serde_json::from_str(lines[0]).unwrap()
}

fn run(args: &[&str], workers: usize) {
    let (child, out, addr) = start(args);
    let s = client(addr, 300, 4);
    assert_eq!((s.completed, s.failed), (300, 0), "{args:?}: {s}");
    let r = stop(child, out);
    assert_eq!(r.accepted, 300, "{args:?}: {r:?}");
    assert_eq!(r.per_cpu_accepts.iter().sum::<u64>(), 300, "{r:?}");
    assert!(r.local <= r.accepted);
    assert_eq!(r.workers_alive, workers, "{args:?}: {r:?}");
}

#[test]
fn threads_serve_and_report() {
    run(&["--workers", "3"], 3);
    run(&["--workers", "2", "--reuseport", "--pin"], 2);
    run(
        &["--workers", "2", "--reuseport", "--pin", "--incoming-cpu"],
        2,
    );
    run(
        &[
            "--workers",
            "2",
            "--accept-mode",
            "epoll",
            "--epoll-exclusive",
        ],
        2,
    );
}

#[test]
fn processes_serve_and_report() {
    run(&["--mode", "process", "--workers", "3"], 3);
    run(
        &[
            "--mode",
            "process",
            "--workers",
            "2",
            "--reuseport",
            "--pin",
            "--accept-mode",
            "epoll",
        ],
        2,
    );
    run(
        &[
            "--mode",
            "process",
            "--workers",
            "2",
            "--reuseport",
            "--pin",
            "--incoming-cpu",
        ],
        2,
    );
}

/// Runs "fsbench server ARGS EXTRA", which must not start: it prints
/// nothing on stdout.  Its exit status and stderr.
fn refused(args: &[&str], extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fsbench"))
        .arg("server")
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "{args:?} {extra:?}: printed {:?}",
        out.stdout
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn incoming_cpu_needs_reuseport_and_pin() {
    for mode in ["thread", "process"] {
        for extra in [&["--pin"][..], &["--reuseport"][..], &[][..]] {
            let (code, err) = refused(&["--incoming-cpu", "--mode", mode], extra);
            assert_eq!(code, Some(1), "{mode} {extra:?}");
            assert!(err.contains("--incoming-cpu needs"), "{err}");
        }
    }
}

#[test]
fn client_runs_for_a_duration() {
    let (child, out, addr) = start(&["--workers", "2"]);
    let t = Instant::now();
    let c = Command::new(env!("CARGO_BIN_EXE_fsbench"))
        .args(["client", "--connect", &addr.to_string()])
        .args(["--duration", "0.3", "--threads", "2", "--json"])
        .args(X)
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(c.status.success(), "{c:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let j: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    let completed = j["completed"].as_u64().unwrap();
    assert!(completed > 0, "{j}");
    assert!(j["seconds"].as_f64().unwrap() >= 0.3, "{j}");
    let per_cpu: u64 = j["per_cpu_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(per_cpu, completed, "{j}");
    // Measured with --pin-threads only.
    assert!(j.get("receive_locality").is_none(), "{j}");
    let r = stop(child, out);
    assert_eq!(r.accepted, completed, "{r:?}");
}

#[test]
fn pinned_threads_report_receive_locality() {
    let (child, out, addr) = start(&["--workers", "2", "--pin"]);
    let c = Command::new(env!("CARGO_BIN_EXE_fsbench"))
        .args(["client", "--connect", &addr.to_string()])
        .args(["--connections", "200", "--pin-threads", "--json"])
        .args(X)
        .output()
        .unwrap();
    assert!(c.status.success(), "{c:?}");
    let j: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    assert_eq!(j["completed"], 200, "{j}");
    let r = &j["receive_locality"];
    assert_eq!(r["connections"], 200, "{j}");
    assert_eq!(r["per_cpu_connections"], j["per_cpu_connections"], "{j}");
    let local = r["local"].as_u64().unwrap();
    assert_eq!(r["fraction"].as_f64().unwrap(), local as f64 / 200.0, "{j}");
    let sum = |k: &str| -> u64 {
        r[k].as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("per_cpu_local"), local, "{j}");
    assert_eq!(
        sum("per_cpu_incoming") + r["unknown"].as_u64().unwrap(),
        200,
        "{j}"
    );
    assert_eq!(stop(child, out).accepted, 200);
}

#[test]
fn a_killed_process_worker_contributes_nothing() {
    let (child, out, addr) = start(&["--mode", "process", "--workers", "2"]);
    let s = client(addr, 100, 2);
    assert_eq!(s.failed, 0, "{s}");
    // Kill one worker: the other takes every connection of the shared
    // listening socket.
    let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
        .unwrap_or_default();
    let victim: i32 = kids.split_whitespace().next().unwrap().parse().unwrap();
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    // Until it is gone, it may still take a connection and die with it:
    // wait for its accepting thread to go and its main thread to be a zombie.
    let gone = || {
        let threads = std::fs::read_dir(format!("/proc/{victim}/task")).map_or(0, |d| d.count());
        let stat = std::fs::read_to_string(format!("/proc/{victim}/stat")).unwrap_or_default();
        threads <= 1 && (stat.is_empty() || stat.contains(") Z "))
    };
    while !gone() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = client(addr, 200, 2);
    assert_eq!((s.completed, s.failed), (200, 0), "{s}");
    let r = stop(child, out);
    assert_eq!(r.workers_alive, 1, "{r:?}");
    assert!(r.accepted >= 200 && r.accepted <= 300, "{r:?}");
}

#[test]
fn exit_after_stops_the_server() {
    let (child, out, addr) = start(&["--mode", "process", "--exit-after", "50"]);
    let s = client(addr, 50, 1);
    assert_eq!(s.completed, 50, "{s}");
    let lines: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert!(child.take().wait().unwrap().success());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let r: Report = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(r.accepted, 50, "{r:?}");
}

#[test]
fn local_listen_failure_is_exit_status_2() {
    if Path::new(fastsocket_abi::uapi::DEVICE).exists() {
        return; // The module is loaded here: local listen may work.
    }
    for mode in ["thread", "process"] {
        for extra in [&[][..], &["--reuseport"][..]] {
            let (code, err) = refused(&["--local-listen", "--mode", mode], extra);
            assert_eq!(code, Some(2), "{mode} {extra:?}");
            assert!(err.contains("errno 2"), "{err}");
        }
    }
}
