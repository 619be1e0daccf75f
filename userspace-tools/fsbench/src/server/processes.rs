// SPDX-License-Identifier: GPL-2.0

//! `--mode process`: workers are forked processes, which send their totals
//! back through a pipe when told to stop.

use std::{
    io::{self, Write},
    mem,
    net::{SocketAddr, TcpListener},
    os::fd::{AsFd, OwnedFd},
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use nix::{
    errno::Errno,
    fcntl::OFlag,
    poll::{poll, PollFd, PollFlags, PollTimeout},
    sys::{
        prctl,
        signal::{kill, SigSet, Signal},
        wait::waitpid,
    },
    unistd::{fork, getpid, getppid, pipe2, read, ForkResult, Pid},
};

use super::{
    acceptor::Acceptor, listener::listening_socket, pin, report::Totals, served::Served, signals,
    steer_cpu, Report, ServerConfig, StartError,
};

/// A forked worker, as its parent sees it.
struct Child {
    pid: Pid,
    pipe: OwnedFd,
    buf: Vec<u8>,
    eof: bool,
}

/// Reads what the children write until `done` holds for each (or it hit
/// EOF), or until `deadline`.
fn pump(children: &mut [Child], deadline: Instant, done: impl Fn(&Child) -> bool) {
    loop {
        let waiting: Vec<usize> = (0..children.len())
            .filter(|&i| !children[i].eof && !done(&children[i]))
            .collect();
        let left = deadline.saturating_duration_since(Instant::now());
        if waiting.is_empty() || left.is_zero() {
            return;
        }
        let mut pfds: Vec<PollFd> = waiting
            .iter()
            .map(|&i| PollFd::new(children[i].pipe.as_fd(), PollFlags::POLLIN))
            .collect();
        let ms = left.as_millis().clamp(1, i32::MAX as u128);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        if !matches!(poll(&mut pfds, timeout), Ok(n) if n > 0) {
            continue;
        }
        let readable: Vec<bool> = pfds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(pfds);
        for (&i, _) in waiting.iter().zip(readable).filter(|(_, r)| *r) {
            let c = &mut children[i];
            let mut b = [0u8; 4096];
            match read(&c.pipe, &mut b) {
                Ok(0) => c.eof = true,
                Ok(n) => c.buf.extend_from_slice(&b[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => c.eof = true,
            }
        }
    }
}

/// Stops the children: SIGTERM, their totals until `grace` has passed,
/// SIGKILL for the rest; reaps them all.  Returns the totals and how many
/// children sent theirs.
fn stop_children(children: &mut [Child], grace: Duration) -> (Totals, usize) {
    for c in children.iter() {
        // ESRCH for a child already gone is fine.
        let _ = kill(c.pid, Signal::SIGTERM);
    }
    pump(children, Instant::now() + grace, |_| false);
    let mut t = Totals::default();
    let mut alive = 0;
    for c in children.iter() {
        if !c.eof {
            let _ = kill(c.pid, Signal::SIGKILL);
        }
        while waitpid(c.pid, None) == Err(Errno::EINTR) {}
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

/// Leaves a forked child at once, without running the exit handlers it
/// inherited.  libc's: nix has no _exit, and std::process::exit runs them.
fn child_exit(code: i32) -> ! {
    // SAFETY: _exit ends the process; nothing of ours is touched.
    unsafe { libc::_exit(code) }
}

pub(super) fn serve(
    cfg: &ServerConfig,
    cpus: &[usize],
    served: Served,
    sigs: &SigSet,
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
    let parent = getpid();
    let mut children: Vec<Child> = Vec::new();
    for i in 0..n {
        let fail = |children: &mut Vec<Child>, e: StartError| {
            stop_children(children, Duration::ZERO);
            Err(e)
        };
        let (rd, wr) = match pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return fail(&mut children, StartError::other("pipe", e)),
        };
        // SAFETY: this process has one thread, so the child can go on
        // running ordinary code.
        let pid = match unsafe { fork() } {
            Ok(ForkResult::Parent { child }) => child,
            Ok(ForkResult::Child) => {
                drop(rd);
                // The other children's pipes are not this one's business.
                drop(mem::take(&mut children));
                let mine = listeners.swap_remove(if cfg.reuseport { i } else { 0 });
                drop(mem::take(&mut listeners));
                // Leave with the parent, even if it went before this.
                let _ = prctl::set_pdeathsig(Signal::SIGTERM);
                if getppid() != parent {
                    child_exit(0);
                }
                child_exit(child_main(cfg, cpus, i, mine, wr, &served, sigs));
            }
            Err(e) => return fail(&mut children, StartError::other("fork", e)),
        };
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
    signals::wait(sigs);
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
    sigs: &SigSet,
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
    signals::wait(sigs);
    let mut line = serde_json::to_string(&acc.counters.totals()).unwrap_or_default();
    line.push('\n');
    let _ = out.write_all(line.as_bytes());
    0
}
