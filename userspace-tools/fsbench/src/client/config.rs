// SPDX-License-Identifier: GPL-2.0

//! `fsbench client`'s options, as clap makes them.

use std::{ffi::OsString, net::SocketAddr, time::Duration};

use crate::exchange::Exchange;

/// What the client does and how it reports: `fsbench client`'s options.
#[derive(Clone, Debug, clap::Args)]
pub struct ClientConfig {
    /// Server address.
    #[arg(long)]
    pub connect: SocketAddr,
    /// Connections to make.
    #[arg(long, default_value_t = 10_000, conflicts_with = "duration")]
    pub connections: u64,
    /// Make connections for this many seconds instead of a fixed count
    /// (those started in time are finished and counted).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Connecting threads.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Per-connection timeout in seconds: connect, request and response
    /// together; a connection not done by then counts as failed.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Pin thread i to the (i % n)-th of the n cpus allowed.
    #[arg(long)]
    pub pin: bool,
    /// One thread per cpu allowed, pinned to it, and report the receive
    /// locality: how many connections had their packets processed on the
    /// cpu of their thread (SO_INCOMING_CPU once the response is in).
    #[arg(long, conflicts_with_all = ["threads", "pin"])]
    pub pin_threads: bool,
    #[command(flatten)]
    pub exchange: Exchange,
}

impl ClientConfig {
    /// The configuration an `fsbench client` command line with these
    /// options makes.
    pub fn from_words<I, T>(words: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        #[derive(clap::Parser)]
        struct Words {
            #[command(flatten)]
            cfg: ClientConfig,
        }
        let words =
            std::iter::once(OsString::from("client")).chain(words.into_iter().map(Into::into));
        <Words as clap::Parser>::try_parse_from(words).map(|w| w.cfg)
    }

    /// How much load the run makes.
    pub fn load(&self) -> Load {
        match self.duration {
            Some(d) => Load::For(d),
            None => Load::Count(self.connections),
        }
    }
}

/// A positive, finite number of seconds.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{s}: not a positive number of seconds")),
    }
}

/// How much load a client run makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// This many connections in all.
    Count(u64),
    /// Connections until this much time has passed.
    For(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fsbench client --connect 127.0.0.1:1 WORDS`.
    fn words(w: &[&str]) -> Result<ClientConfig, clap::Error> {
        ClientConfig::from_words(["--connect", "127.0.0.1:1"].iter().chain(w))
    }

    #[test]
    fn connections_and_duration_exclude_each_other() {
        let load = |w: &[&str]| words(w).unwrap().load();
        assert_eq!(load(&[]), Load::Count(10_000));
        assert_eq!(load(&["--connections", "5"]), Load::Count(5));
        assert_eq!(
            load(&["--duration", "1.5"]),
            Load::For(Duration::from_millis(1500))
        );
        assert_eq!(
            load(&["--duration", "2"]),
            Load::For(Duration::from_secs(2))
        );
        let e = words(&["--connections", "5", "--duration", "1"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        for bad in ["0", "-1", "nan", "inf", "soon"] {
            assert!(words(&["--duration", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn pin_threads_excludes_threads_and_pin() {
        let c = words(&["--pin-threads"]).unwrap();
        assert!(c.pin_threads && !c.pin && !c.json);
        for other in [&["--threads", "2"][..], &["--pin"][..]] {
            let e = words(&[&["--pin-threads"][..], other].concat()).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        }
    }
}
