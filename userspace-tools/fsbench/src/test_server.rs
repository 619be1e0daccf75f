// SPDX-License-Identifier: GPL-2.0

//! A plain server for the unit tests (not in the binary): threads sharing
//! a loopback listening socket, serving forever.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    thread,
    time::Duration,
};

use clap::Parser;

use crate::exchange::{finish, Exchange};

/// Serves one connection: read the request, answer, close.
fn serve_one(mut s: TcpStream, x: Exchange) -> io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = vec![0; x.request];
    s.read_exact(&mut req)?;
    s.write_all(&vec![b'r'; x.response])?;
    finish(&s, x.close)
}

#[derive(Parser)]
struct Words {
    #[command(flatten)]
    x: Exchange,
}

/// Two threads serving, on a loopback port, the exchange these options
/// (--request, --response, --close) describe; its address.  Errors of a
/// connection are the client's to see.
pub(crate) fn loopback_server<'a>(words: impl IntoIterator<Item = &'a str>) -> SocketAddr {
    let x = Words::try_parse_from(std::iter::once("server").chain(words))
        .unwrap()
        .x;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for _ in 0..2 {
        let l = listener.try_clone().unwrap();
        thread::spawn(move || {
            for s in l.incoming().flatten() {
                let _ = serve_one(s, x);
            }
        });
    }
    addr
}
