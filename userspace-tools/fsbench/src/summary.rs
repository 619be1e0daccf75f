// SPDX-License-Identifier: GPL-2.0

//! What a client run measured, and how it is reported.

use serde::Serialize;
use std::{fmt, time::Duration};

use crate::locality::ReceiveLocality;

/// Why a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    Refused,
    Reset,
    Timeout,
    ShortResponse,
    Other,
}

impl Failure {
    pub fn from_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match e.kind() {
            ConnectionRefused => Failure::Refused,
            ConnectionReset | ConnectionAborted | BrokenPipe => Failure::Reset,
            TimedOut | WouldBlock => Failure::Timeout,
            UnexpectedEof => Failure::ShortResponse,
            _ => Failure::Other,
        }
    }
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples` (sorted in place).
    pub fn of(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        // Integer per-mille ranks: float percentages round 99.9% of 1000
        // samples up to the 1000th.
        let rank = |permille: usize| {
            let n = samples.len();
            let i = (permille * n).div_ceil(1000);
            samples[i.clamp(1, n) - 1]
        };
        Self {
            p50_us: rank(500),
            p99_us: rank(990),
            p999_us: rank(999),
            max_us: samples[samples.len() - 1],
        }
    }
}

/// The result of a client run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub attempted: u64,
    pub completed: u64,
    pub failed: u64,
    pub failures: Vec<(Failure, u64)>,
    pub seconds: f64,
    pub conn_per_sec: f64,
    pub latency: Percentiles,
    /// Completed connections by the cpu the client thread ran on when the
    /// connection completed.
    pub per_cpu_connections: Vec<u64>,
    /// Length of the slices of `per_slice`, in milliseconds (0: none).
    pub slice_ms: u64,
    /// Connections completed in each whole slice of the run.
    pub per_slice: Vec<u64>,
    /// With `--pin-threads` only: the receive locality of the connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_locality: Option<ReceiveLocality>,
}

impl Summary {
    pub fn new(
        mut latencies_us: Vec<u64>,
        failures: Vec<Failure>,
        per_cpu_connections: Vec<u64>,
        elapsed: Duration,
    ) -> Self {
        let completed = latencies_us.len() as u64;
        let failed = failures.len() as u64;
        let mut counts: Vec<(Failure, u64)> = Vec::new();
        for f in failures {
            match counts.iter_mut().find(|(k, _)| *k == f) {
                Some((_, n)) => *n += 1,
                None => counts.push((f, 1)),
            }
        }
        let seconds = elapsed.as_secs_f64();
        Self {
            attempted: completed + failed,
            completed,
            failed,
            failures: counts,
            seconds,
            conn_per_sec: if seconds > 0.0 {
                completed as f64 / seconds
            } else {
                0.0
            },
            latency: Percentiles::of(&mut latencies_us),
            per_cpu_connections,
            ..Self::default()
        }
    }

    /// Adds the run's timeline: `done` holds when each connection completed,
    /// as time since the start of the run, cut into slices of `slice`.
    pub fn with_slices(mut self, done: &[Duration], slice: Duration) -> Self {
        self.per_slice = per_slice(done, slice, Duration::from_secs_f64(self.seconds));
        self.slice_ms = slice.as_millis() as u64;
        self
    }

    /// Adds the connections' receive locality.
    pub fn with_receive_locality(mut self, r: ReceiveLocality) -> Self {
        self.receive_locality = Some(r);
        self
    }
}

/// Connections completed in each whole `slice` of a run `elapsed` long,
/// from their completion times since the start; the last, partial, slice
/// is left out, and so is everything with a zero `slice`.
pub fn per_slice(done: &[Duration], slice: Duration, elapsed: Duration) -> Vec<u64> {
    if slice.is_zero() {
        return Vec::new();
    }
    let whole = (elapsed.as_nanos() / slice.as_nanos()) as usize;
    let mut n = vec![0; whole];
    for d in done {
        if let Some(c) = n.get_mut((d.as_nanos() / slice.as_nanos()) as usize) {
            *c += 1;
        }
    }
    n
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "connections: {} completed, {} failed, in {:.2} s ({:.0} conn/s)",
            self.completed, self.failed, self.seconds, self.conn_per_sec
        )?;
        write!(
            f,
            "latency: p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            self.latency.p50_us, self.latency.p99_us, self.latency.p999_us, self.latency.max_us
        )?;
        // The slowest and fastest slice: how much the host held the run back.
        if let (Some(lo), Some(hi)) = (self.per_slice.iter().min(), self.per_slice.iter().max()) {
            write!(
                f,
                "\n{} slices of {} ms: {lo} to {hi} connections",
                self.per_slice.len(),
                self.slice_ms
            )?;
        }
        write!(f, "\nper cpu: ")?;
        for (i, n) in self.per_cpu_connections.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{n}")?;
        }
        for (kind, n) in &self.failures {
            write!(f, "\nfailed: {kind:?} x{n}")?;
        }
        if let Some(r) = &self.receive_locality {
            write!(f, "\n{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u64> = (1..=1000).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(
            (p.p50_us, p.p99_us, p.p999_us, p.max_us),
            (500, 990, 999, 1000)
        );
        let mut one = vec![7];
        assert_eq!(Percentiles::of(&mut one).p999_us, 7);
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
    }

    #[test]
    fn summary_counts_failures_by_kind() {
        let s = Summary::new(
            vec![10, 20],
            vec![Failure::Refused, Failure::Reset, Failure::Refused],
            vec![0, 2],
            Duration::from_secs(2),
        );
        assert_eq!((s.attempted, s.completed, s.failed), (5, 2, 3));
        assert_eq!(s.failures, vec![(Failure::Refused, 2), (Failure::Reset, 1)]);
        assert_eq!(s.conn_per_sec, 1.0);
    }

    #[test]
    fn per_cpu_counts_are_shown_and_serialized() {
        let s = Summary::new(vec![1, 2, 3], vec![], vec![2, 0, 1], Duration::from_secs(1));
        let text = s.to_string();
        assert!(text.lines().any(|l| l == "per cpu: 2, 0, 1"), "{text}");
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains(r#""per_cpu_connections":[2,0,1]"#), "{j}");
        // Receive locality only when measured.
        assert!(!j.contains("receive_locality"), "{j}");
        assert!(!text.contains("receive"), "{text}");
    }

    #[test]
    fn receive_locality_comes_last() {
        let mut r = crate::locality::Receives::default();
        r.record(1, Some(1));
        let s = Summary::new(
            vec![1],
            vec![Failure::Reset],
            vec![0, 1],
            Duration::from_secs(1),
        )
        .with_receive_locality(r.locality(2));
        let text = s.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[lines.len() - 4], "failed: Reset x1", "{text}");
        assert!(lines[lines.len() - 3].starts_with("receive locality: 1.00 (1 of 1 "));
        let j = serde_json::to_string(&s).unwrap();
        assert!(
            j.ends_with(r#","per_slice":[],"receive_locality":{"connections":1,"local":1,"fraction":1.0,"unknown":0,"per_cpu_connections":[0,1],"per_cpu_local":[0,1],"per_cpu_incoming":[0,1]}}"#),
            "{j}"
        );
    }

    #[test]
    fn slices_count_whole_slices_only() {
        let ms = Duration::from_millis;
        let done = [ms(5), ms(99), ms(100), ms(250), ms(310), ms(330)];
        // 350 ms: three whole slices of 100 ms; 310 and 330 fall in the fourth.
        assert_eq!(per_slice(&done, ms(100), ms(350)), vec![2, 1, 1]);
        assert_eq!(per_slice(&done, ms(100), ms(50)), Vec::<u64>::new());
        assert_eq!(per_slice(&done, Duration::ZERO, ms(350)), Vec::<u64>::new());
    }

    #[test]
    fn a_summary_carries_its_slices() {
        let ms = Duration::from_millis;
        let done: Vec<Duration> = (0..30).map(|i| ms(i * 10 + i / 10 * 5)).collect();
        let s = Summary::new(vec![1; 30], vec![], vec![30], ms(320)).with_slices(&done, ms(100));
        assert_eq!((s.slice_ms, s.per_slice.clone()), (100, vec![10, 10, 9]));
        assert!(s
            .to_string()
            .contains("\n3 slices of 100 ms: 9 to 10 connections"));
    }

    #[test]
    fn io_errors_map_to_failures() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            Failure::from_io(&Error::from(ErrorKind::ConnectionRefused)),
            Failure::Refused
        );
        assert_eq!(
            Failure::from_io(&Error::from(ErrorKind::UnexpectedEof)),
            Failure::ShortResponse
        );
        assert_eq!(
            Failure::from_io(&Error::from(ErrorKind::Other)),
            Failure::Other
        );
    }
}
