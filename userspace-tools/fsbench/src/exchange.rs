// SPDX-License-Identifier: GPL-2.0

//! What one connection exchanges, and how it ends: the options client and
//! server share.

use std::{
    io,
    net::{Shutdown, TcpStream},
    time::Duration,
};

use socket2::SockRef;

/// How a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Close {
    /// Orderly shutdown (FIN).
    Fin,
    /// Abortive close (RST, via SO_LINGER 0): no TIME_WAIT left behind.
    Rst,
}

/// What one connection exchanges.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct Exchange {
    /// Request size in bytes.
    #[arg(long, default_value_t = 64)]
    pub request: usize,
    /// Response size in bytes.
    #[arg(long, default_value_t = 64)]
    pub response: usize,
    /// How connections end.
    #[arg(long, value_enum, default_value_t = Close::Fin)]
    pub close: Close,
}

/// Ends a connection as `close` says; the socket is closed when dropped.
pub(crate) fn finish(s: &TcpStream, close: Close) -> io::Result<()> {
    match close {
        Close::Fin => s.shutdown(Shutdown::Write).or_else(|e| {
            // The peer may have closed first; that is a normal end.
            if e.kind() == io::ErrorKind::NotConnected {
                Ok(())
            } else {
                Err(e)
            }
        }),
        Close::Rst => SockRef::from(s).set_linger(Some(Duration::ZERO)),
    }
}
