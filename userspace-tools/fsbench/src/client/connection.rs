// SPDX-License-Identifier: GPL-2.0

//! One client connection: connect, send the request, read the whole
//! response, close.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use crate::{
    cpu,
    exchange::{finish, Exchange},
};

/// The time left before `deadline`, or a timeout error once it passed.
fn left(deadline: Instant) -> io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(io::Error::from(io::ErrorKind::TimedOut))
    } else {
        Ok(d)
    }
}

/// One client connection, all of it within `timeout`.  With
/// `incoming_cpu`, returns the socket's `SO_INCOMING_CPU` once the whole
/// response is in (None if unknown); without, None.
pub fn one_connection(
    addr: SocketAddr,
    x: Exchange,
    timeout: Duration,
    incoming_cpu: bool,
) -> io::Result<Option<usize>> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&addr, left(deadline)?)?;
    s.set_nodelay(true)?;
    let req = vec![b'q'; x.request];
    let mut sent = 0;
    while sent < req.len() {
        s.set_write_timeout(Some(left(deadline)?))?;
        match s.write(&req[sent..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut buf = vec![0; x.response];
    let mut got = 0;
    while got < buf.len() {
        s.set_read_timeout(Some(left(deadline)?))?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let incoming = if incoming_cpu {
        cpu::incoming_cpu(&s)?
    } else {
        None
    };
    finish(&s, x.close)?;
    Ok(incoming)
}
