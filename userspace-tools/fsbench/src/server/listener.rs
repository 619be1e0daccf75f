// SPDX-License-Identifier: GPL-2.0

//! Listening sockets, made as the configuration asks.

use std::{
    io,
    net::{SocketAddr, TcpListener},
    os::fd::AsRawFd,
};

use socket2::{Domain, Socket, Type};

use super::{AcceptMode, ServerConfig, StartError};
use crate::cpu;

/// A listening socket on `addr`: bound, listening, local listen enabled
/// (`--local-listen`), non-blocking for epoll; with `incoming_cpu`, its
/// `SO_INCOMING_CPU` set to that cpu.
pub(super) fn listening_socket(
    addr: SocketAddr,
    cfg: &ServerConfig,
    incoming_cpu: Option<usize>,
) -> Result<TcpListener, StartError> {
    let err = |what: &str, e: io::Error| StartError::other(format!("{what} {addr}"), e);
    // socket2 makes it SOCK_CLOEXEC.
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .map_err(|e| err("socket for", e))?;
    s.set_reuse_address(true)
        .map_err(|e| err("SO_REUSEADDR on", e))?;
    if cfg.reuseport {
        s.set_reuse_port(true)
            .map_err(|e| err("SO_REUSEPORT on", e))?;
    }
    if let Some(c) = incoming_cpu {
        // Before listen(), so the socket joins the reuseport group already
        // steered to `c`.
        cpu::set_incoming_cpu(&s, c)
            .map_err(|e| err(&format!("cannot set SO_INCOMING_CPU {c} on"), e))?;
    }
    s.bind(&addr.into()).map_err(|e| err("cannot bind", e))?;
    s.listen(cfg.backlog)
        .map_err(|e| err("cannot listen on", e))?;
    let l = TcpListener::from(s);
    let bound = l.local_addr().map_err(|e| err("getsockname of", e))?;
    if cfg.local_listen {
        fastsocket_abi::local_listen(l.as_raw_fd(), None)
            .map_err(|err| StartError::LocalListen { addr: bound, err })?;
    }
    if cfg.accept_mode == AcceptMode::Epoll {
        l.set_nonblocking(true)
            .map_err(|e| err("O_NONBLOCK on", e))?;
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tests::config;

    #[test]
    fn sockaddrs_round_trip_through_bind() {
        for a in ["127.0.0.1:0", "[::1]:0"] {
            let cfg = config(&["--listen", a, "--reuseport", "--accept-mode", "epoll"]);
            let l = match listening_socket(cfg.listen, &cfg, None) {
                Ok(l) => l,
                // A host without IPv6.
                Err(_) if a.starts_with('[') => continue,
                Err(e) => panic!("{e}"),
            };
            let bound = l.local_addr().unwrap();
            assert_eq!(bound.ip(), cfg.listen.ip());
            assert_ne!(bound.port(), 0);
            // SO_REUSEPORT: a second socket on the same port.
            let l2 = listening_socket(bound, &cfg, None).unwrap();
            assert_eq!(l2.local_addr().unwrap(), bound);
        }
    }

    #[test]
    fn incoming_cpu_is_set_on_the_listening_socket() {
        let cfg = config(&["--reuseport", "--pin", "--incoming-cpu"]);
        let c = *cpu::allowed_cpus().unwrap().last().unwrap();
        let l = listening_socket(cfg.listen, &cfg, Some(c)).unwrap();
        assert_eq!(cpu::incoming_cpu(&l).unwrap(), Some(c));
        // Not asked for: left alone.
        let l = listening_socket(cfg.listen, &cfg, None).unwrap();
        assert_eq!(cpu::incoming_cpu(&l).unwrap(), None);
    }
}
