// SPDX-License-Identifier: GPL-2.0

//! What the client threads share (the connections still to make) and
//! what each counts.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use super::Load;
use crate::{cpu, locality::Receives, per_cpu, summary::Failure};

/// Hands out the connections of a [`Load`] to the client threads.
pub(super) struct Quota {
    load: Load,
    next: AtomicU64,
    /// When the run started.
    pub(super) start: Instant,
}

impl Quota {
    pub(super) fn new(load: Load) -> Self {
        Self {
            load,
            next: AtomicU64::new(0),
            start: Instant::now(),
        }
    }

    /// Whether the calling thread should make another connection.
    pub(super) fn another(&self) -> bool {
        match self.load {
            Load::Count(total) => self.next.fetch_add(1, Ordering::Relaxed) < total,
            // One started before the deadline is finished and counted.
            Load::For(d) => self.start.elapsed() < d,
        }
    }
}

/// What client threads measured.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) latencies_us: Vec<u64>,
    pub(super) failures: Vec<Failure>,
    /// Completed connections by the cpu the thread ran on at completion.
    pub(super) per_cpu: Vec<u64>,
    /// When each connection completed, since the start of the run.
    pub(super) done: Vec<Duration>,
    /// With `--pin-threads`: where their packets were processed.
    pub(super) receives: Receives,
}

impl Tally {
    pub(super) fn new() -> Self {
        Self {
            per_cpu: vec![0; cpu::nr_cpu_slots()],
            ..Self::default()
        }
    }

    pub(super) fn completed(&mut self, latency: Duration, since_start: Duration) {
        self.latencies_us.push(latency.as_micros() as u64);
        self.done.push(since_start);
        // sched_getcpu() does not fail on Linux; were it to, the connection
        // would still count in `completed`, just on no cpu.
        if let Some(c) = cpu::current_cpu() {
            per_cpu::bump(&mut self.per_cpu, c);
        }
    }

    pub(super) fn merge(&mut self, o: Tally) {
        self.latencies_us.extend(o.latencies_us);
        self.failures.extend(o.failures);
        self.done.extend(o.done);
        per_cpu::add(&mut self.per_cpu, &o.per_cpu);
        self.receives.merge(&o.receives);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_handed_out_once() {
        let q = Quota::new(Load::Count(3));
        assert_eq!((0..5).filter(|_| q.another()).count(), 3);
        let q = Quota::new(Load::For(Duration::from_secs(60)));
        assert!(q.another() && q.another());
        let q = Quota::new(Load::For(Duration::from_nanos(1)));
        std::thread::sleep(Duration::from_millis(1));
        assert!(!q.another());
    }

    #[test]
    fn tallies_merge() {
        let mut a = Tally::new();
        a.completed(Duration::from_micros(5), Duration::from_millis(1));
        a.receives.record(0, Some(0));
        let mut b = Tally::new();
        b.completed(Duration::from_micros(7), Duration::from_millis(2));
        b.failures.push(Failure::Reset);
        b.receives.record(0, Some(1));
        a.merge(b);
        assert_eq!(a.latencies_us, vec![5, 7]);
        assert_eq!(a.failures, vec![Failure::Reset]);
        assert_eq!(a.per_cpu.iter().sum::<u64>(), 2);
        assert_eq!(a.done.len(), 2);
        let r = a.receives.locality(1);
        assert_eq!((r.connections, r.local), (2, 1));
    }
}
