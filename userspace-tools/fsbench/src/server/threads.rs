// SPDX-License-Identifier: GPL-2.0

//! `--mode thread`: workers are threads of this process.

use std::{
    net::SocketAddr,
    sync::{mpsc, Arc},
    thread,
};

use nix::sys::signal::SigSet;

use super::{
    acceptor::Acceptor, listener::listening_socket, pin, report::Totals, served::Served, signals,
    steer_cpu, Report, ServerConfig, StartError,
};

pub(super) fn serve(
    cfg: &ServerConfig,
    cpus: &[usize],
    served: Served,
    sigs: &SigSet,
    ready: impl FnOnce(SocketAddr),
) -> Result<Report, StartError> {
    let shared = if cfg.reuseport {
        None
    } else {
        Some(Arc::new(listening_socket(cfg.listen, cfg, None)?))
    };
    let mut addr = match &shared {
        Some(l) => l
            .local_addr()
            .map_err(|e| StartError::other("getsockname", e))?,
        None => cfg.listen,
    };
    let mut workers = Vec::new();
    for i in 0..cfg.workers.max(1) {
        let (tx, rx) = mpsc::channel();
        let (cfg2, cpus2, served2, shared2) = (cfg.clone(), cpus.to_vec(), served, shared.clone());
        let h = thread::Builder::new()
            .name(format!("worker{i}"))
            .spawn(move || {
                let start = || {
                    pin(&cfg2, &cpus2, i)?;
                    let l = match shared2 {
                        Some(l) => l,
                        // Its own SO_REUSEPORT socket, made on its cpu.
                        None => {
                            Arc::new(listening_socket(addr, &cfg2, steer_cpu(&cfg2, &cpus2, i))?)
                        }
                    };
                    Acceptor::new(l, &cfg2)
                };
                match start() {
                    Ok(acc) => {
                        let bound = acc.listener.local_addr();
                        let _ = tx.send(Ok((bound, Arc::clone(&acc.counters))));
                        acc.run(cfg2.exchange, &served2);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| StartError::other("cannot start a worker thread", e))?;
        let (bound, counters) = rx
            .recv()
            .map_err(|_| StartError::Other(format!("worker {i} died starting")))??;
        if i == 0 {
            // Port 0: the others bind the port the first one got.
            addr = bound.map_err(|e| StartError::other("getsockname", e))?;
        }
        workers.push((h, counters));
    }
    ready(addr);
    signals::wait(sigs);
    let mut t = Totals::default();
    for (_, c) in &workers {
        t.add(&c.totals());
    }
    let alive = workers.iter().filter(|(h, _)| !h.is_finished()).count();
    Ok(Report::new(t, alive))
}
