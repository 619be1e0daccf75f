// SPDX-License-Identifier: GPL-2.0

//! Receive locality of the client's own (active) connections, with
//! `--pin-threads`: a connection is *local* when the cpu that processed its
//! incoming packets (the client socket's `SO_INCOMING_CPU`, read once the
//! whole response is in) is the cpu its thread is pinned to.

use std::fmt;

use serde::Serialize;

use crate::per_cpu;

/// What a client run reports of its connections' receive locality.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReceiveLocality {
    /// Completed connections measured.
    pub connections: u64,
    /// Of those, the local ones.
    pub local: u64,
    /// `local / connections` (0 without connections).
    pub fraction: f64,
    /// Connections whose incoming cpu was unknown (never local).
    pub unknown: u64,
    /// Connections by the cpu their thread is pinned to.
    pub per_cpu_connections: Vec<u64>,
    /// Local connections by the cpu their thread is pinned to.
    pub per_cpu_local: Vec<u64>,
    /// Connections by the cpu that processed their incoming packets.
    pub per_cpu_incoming: Vec<u64>,
}

/// Receive locality as it is counted, one connection at a time.
#[derive(Clone, Debug, Default)]
pub struct Receives {
    connections: Vec<u64>,
    local: Vec<u64>,
    incoming: Vec<u64>,
    unknown: u64,
}

impl Receives {
    /// Counts a connection made by a thread pinned to `pinned` whose
    /// packets were processed on `incoming`.
    pub fn record(&mut self, pinned: usize, incoming: Option<usize>) {
        per_cpu::bump(&mut self.connections, pinned);
        match incoming {
            Some(c) => {
                per_cpu::bump(&mut self.incoming, c);
                if c == pinned {
                    per_cpu::bump(&mut self.local, pinned);
                }
            }
            None => self.unknown += 1,
        }
    }

    /// Adds what another thread counted.
    pub fn merge(&mut self, o: &Receives) {
        per_cpu::add(&mut self.connections, &o.connections);
        per_cpu::add(&mut self.local, &o.local);
        per_cpu::add(&mut self.incoming, &o.incoming);
        self.unknown += o.unknown;
    }

    /// The figures, each per-cpu table at least `slots` long.
    pub fn locality(&self, slots: usize) -> ReceiveLocality {
        let connections: u64 = self.connections.iter().sum();
        let local: u64 = self.local.iter().sum();
        ReceiveLocality {
            connections,
            local,
            fraction: if connections == 0 {
                0.0
            } else {
                local as f64 / connections as f64
            },
            unknown: self.unknown,
            per_cpu_connections: per_cpu::padded(self.connections.clone(), slots),
            per_cpu_local: per_cpu::padded(self.local.clone(), slots),
            per_cpu_incoming: per_cpu::padded(self.incoming.clone(), slots),
        }
    }
}

/// The text form: three lines, no final newline.
impl fmt::Display for ReceiveLocality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "receive locality: {:.2} ({} of {} connections on their thread's cpu, {} unknown)",
            self.fraction, self.local, self.connections, self.unknown
        )?;
        write!(f, "\nreceive local per cpu: ")?;
        let pairs = self.per_cpu_local.iter().zip(&self.per_cpu_connections);
        for (i, (l, n)) in pairs.enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{l}/{n}")?;
        }
        write!(f, "\nincoming per cpu: ")?;
        for (i, n) in self.per_cpu_incoming.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_local_when_received_on_its_threads_cpu() {
        let mut r = Receives::default();
        r.record(0, Some(0));
        r.record(0, Some(1));
        r.record(1, Some(1));
        r.record(1, None);
        let l = r.locality(2);
        assert_eq!((l.connections, l.local, l.unknown), (4, 2, 1));
        assert_eq!(l.fraction, 0.5);
        assert_eq!(l.per_cpu_connections, vec![2, 2]);
        assert_eq!(l.per_cpu_local, vec![1, 1]);
        assert_eq!(l.per_cpu_incoming, vec![1, 2]);
    }

    #[test]
    fn threads_merge_and_tables_cover_every_cpu() {
        let mut a = Receives::default();
        a.record(3, Some(3));
        let mut b = Receives::default();
        b.record(1, Some(5));
        b.record(1, Some(1));
        a.merge(&b);
        let l = a.locality(4);
        assert_eq!((l.connections, l.local), (3, 2));
        assert!((l.fraction - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(l.per_cpu_connections, vec![0, 2, 0, 1]);
        assert_eq!(l.per_cpu_local, vec![0, 1, 0, 1]);
        // An incoming cpu beyond the slots still counts.
        assert_eq!(l.per_cpu_incoming, vec![0, 1, 0, 1, 0, 1]);
        let sum = |v: &[u64]| v.iter().sum::<u64>();
        assert_eq!(sum(&l.per_cpu_connections), l.connections);
        assert_eq!(sum(&l.per_cpu_local), l.local);
        assert_eq!(sum(&l.per_cpu_incoming) + l.unknown, l.connections);
    }

    #[test]
    fn no_connections_is_no_locality() {
        let l = Receives::default().locality(2);
        assert_eq!((l.connections, l.local, l.fraction), (0, 0, 0.0));
        assert_eq!(l.per_cpu_connections, vec![0, 0]);
    }

    #[test]
    fn text_and_json_carry_the_figures() {
        let mut r = Receives::default();
        r.record(0, Some(0));
        r.record(1, Some(0));
        let l = r.locality(2);
        assert_eq!(
            l.to_string(),
            "receive locality: 0.50 (1 of 2 connections on their thread's cpu, 0 unknown)\n\
             receive local per cpu: 1/1, 0/1\n\
             incoming per cpu: 2, 0"
        );
        let j = serde_json::to_string(&l).unwrap();
        assert_eq!(
            j,
            r#"{"connections":2,"local":1,"fraction":0.5,"unknown":0,"per_cpu_connections":[1,1],"per_cpu_local":[1,0],"per_cpu_incoming":[2,0]}"#
        );
    }
}
