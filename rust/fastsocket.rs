// SPDX-License-Identifier: GPL-2.0

//! Fastsocket: per-core partitioning of the TCP stack for short-lived
//! connections.
//!
//! The module registers the fastsocket hooks of the patched kernel and
//! reports what they see, per CPU, in `/proc/net/fastsocket`.  See
//! `Documentation/design.rst` for the architecture.

use kernel::{c_str, prelude::*, str::CStr, sync::Arc};

mod cpu;
mod hooks;
mod procfs;
mod stats;
// Shared with the host tools, where it is a public module too.
#[path = "pure/stats_format.rs"]
pub mod stats_format;

use hooks::{Family, ListenerLookup};
use stats::Stats;
use stats_format::Counter;

module! {
    type: Fastsocket,
    name: "fastsocket",
    author: "Fastsocket developers",
    description: "Per-core partitioning of the TCP stack for short-lived connections",
    license: "GPL",
}

/// Version of the module and of its interfaces.
const VERSION: &str = "0.1.0";

/// What the hooks do: count, for now.
struct Policy {
    stats: Arc<Stats>,
}

impl hooks::Hooks for Policy {
    fn listener_lookup(&self, lookup: &ListenerLookup) {
        self.stats.inc(match lookup.family() {
            Family::Inet => Counter::LookupIpv4,
            Family::Inet6 => Counter::LookupIpv6,
        });
    }
}

/// `/proc/net/fastsocket`: the per-CPU counters, one row per online CPU.
struct StatsFile {
    stats: Arc<Stats>,
}

impl procfs::Show for StatsFile {
    const NAME: &'static CStr = c_str!("fastsocket");

    fn show(&self, out: &mut procfs::SeqFile<'_>) -> Result {
        stats_format::write_header(out).map_err(|_| EINVAL)?;
        for cpu in (0..self.stats.nr_cpus()).filter(|&c| cpu::is_online(c)) {
            stats_format::write_row(out, cpu, &self.stats.read(cpu)).map_err(|_| EINVAL)?;
        }
        Ok(())
    }
}

struct Fastsocket {
    // Dropped in this order: the hooks stop before the file goes away.
    _hooks: hooks::Registration<Policy>,
    _proc: procfs::Registration<StatsFile>,
}

impl kernel::Module for Fastsocket {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let stats = Arc::new(Stats::new()?, GFP_KERNEL)?;
        let proc = procfs::Registration::register(StatsFile {
            stats: stats.clone(),
        })?;
        let hooks = hooks::Registration::register(Policy { stats }).inspect_err(|e| {
            pr_err!(
                "cannot register the hooks (errno {}): is another module registered?\n",
                e.to_errno()
            );
        })?;
        pr_info!("fastsocket {VERSION} loaded\n");
        Ok(Self {
            _hooks: hooks,
            _proc: proc,
        })
    }
}

impl Drop for Fastsocket {
    fn drop(&mut self) {
        pr_info!("fastsocket {VERSION} unloading\n");
    }
}
