// SPDX-License-Identifier: GPL-2.0

//! A worker's accept loop, and how it serves and measures a connection.

use std::{
    io::{self, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{atomic::Ordering, Arc},
    thread,
    time::Duration,
};

use nix::{
    errno::Errno,
    sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout},
};

use super::{report::Counters, served::Served, AcceptMode, ServerConfig, StartError};
use crate::{
    cpu,
    exchange::{finish, Exchange},
};

/// A worker ready to accept: its listening socket and, in epoll mode, its
/// epoll.
pub(super) struct Acceptor {
    pub(super) listener: Arc<TcpListener>,
    epoll: Option<Epoll>,
    pub(super) counters: Arc<Counters>,
}

impl Acceptor {
    pub(super) fn new(listener: Arc<TcpListener>, cfg: &ServerConfig) -> Result<Self, StartError> {
        let epoll = match cfg.accept_mode {
            AcceptMode::Blocking => None,
            AcceptMode::Epoll => {
                let err = |e| StartError::other("epoll", e);
                let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(err)?;
                let mut events = EpollFlags::EPOLLIN;
                if cfg.epoll_exclusive {
                    events |= EpollFlags::EPOLLEXCLUSIVE;
                }
                ep.add(&*listener, EpollEvent::new(events, 0))
                    .map_err(err)?;
                Some(ep)
            }
        };
        Ok(Self {
            listener,
            epoll,
            counters: Arc::new(Counters::new()),
        })
    }

    /// Accepts and serves until the listening socket becomes unusable.
    pub(super) fn run(&self, x: Exchange, served: &Served) {
        loop {
            if let Some(ep) = &self.epoll {
                let mut ev = [EpollEvent::empty()];
                if !matches!(ep.wait(&mut ev, EpollTimeout::NONE), Ok(n) if n > 0) {
                    continue;
                }
            }
            // accept4() with SOCK_CLOEXEC.
            let s = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) => {
                    match e.raw_os_error().map(Errno::from_raw) {
                        Some(Errno::EAGAIN | Errno::EINTR) => {}
                        Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM) => {
                            self.counters.errors.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_millis(10));
                        }
                        Some(
                            Errno::EBADF | Errno::EINVAL | Errno::ENOTSOCK | Errno::EOPNOTSUPP,
                        ) => return,
                        _ => {
                            self.counters.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    continue;
                }
            };
            let a = cpu::current_cpu();
            let k = &self.counters;
            k.accepted.fetch_add(1, Ordering::Relaxed);
            if let Some(slot) = a.and_then(|a| k.per_cpu.get(a)) {
                slot.fetch_add(1, Ordering::Relaxed);
            }
            match serve_measured(s, x, a) {
                Ok(true) => {
                    k.local.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(_) => {
                    k.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            served.one_more();
        }
    }
}

/// Serves one connection accepted on cpu `a`; whether it was local.
fn serve_measured(mut s: TcpStream, x: Exchange, a: Option<usize>) -> io::Result<bool> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = vec![0; x.request];
    s.read_exact(&mut req)?;
    let b = cpu::incoming_cpu(&s)?;
    let c = cpu::current_cpu();
    s.write_all(&vec![b'r'; x.response])?;
    finish(&s, x.close)?;
    Ok(a.is_some() && a == b && b == c)
}
