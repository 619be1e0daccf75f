// SPDX-License-Identifier: GPL-2.0

//! The module instance: what it registers at load, in which order, and
//! what the hooks, the `/proc/net/fastsocket` file and the unload do.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*, str::CStr, sync::Arc};

use crate::{
    control::Control,
    listen::{self, Tables},
    pure::stats_format,
    settings::{self, Setting},
    stats::Stats,
    sys::{
        cpu,
        hooks::{self, AutoListen},
        kthread, miscdev, procfs,
        sock::Locked,
        sysctl,
    },
};

/// Version of the module.
const VERSION: &str = "0.3.0";

/// The hook of the automatic mode.
struct Policy {
    tables: Arc<Tables>,
}

impl hooks::Hooks for Policy {
    fn listen_start(&self, sk: &Locked<'_>) {
        if settings::get(Setting::ListenAuto) == 0 || settings::get(Setting::Listen) == 0 {
            return;
        }
        // Listeners whose wakeups are not the stock ones (in-kernel users,
        // a ULP) stay stock.
        let _ = self.tables.enable(sk, &listen::all_cpus());
    }
}

/// `/proc/net/fastsocket`: the per-CPU counters, one row per online CPU.
struct StatsFile {
    stats: Stats,
    tables: Arc<Tables>,
}

impl procfs::Show for StatsFile {
    const NAME: &'static CStr = c_str!("fastsocket");

    fn show(&self, out: &mut procfs::SeqFile<'_>) -> Result {
        let attended = self.tables.attended(self.stats.nr_cpus())?;
        stats_format::write_header(out).map_err(|_| EINVAL)?;
        for cpu in (0..self.stats.nr_cpus()).filter(|&c| cpu::is_online(c)) {
            let gauge = attended.get(cpu as usize).copied().unwrap_or(0);
            stats_format::write_row(out, cpu, &self.stats.read(cpu, gauge)).map_err(|_| EINVAL)?;
        }
        Ok(())
    }
}

/// Moves every connection back to the listeners when the module goes.
struct Shutdown {
    tables: Arc<Tables>,
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        self.tables.shutdown();
    }
}

/// The loaded module.
pub(crate) struct Fastsocket {
    // Dropped in this order: no new requests, no hooks, no rescues, then
    // every listener moves its connections back to its shared queue, the
    // files go, and with no setting left to write, listen() stops calling
    // in.
    _device: miscdev::Registration<Control>,
    _hooks: hooks::Registration<Policy>,
    _scanner: kthread::Thread<Tables>,
    _shutdown: Shutdown,
    _sysctl: sysctl::Registration,
    _proc: procfs::Registration<StatsFile>,
    _auto_listen: AutoListen,
}

impl kernel::Module for Fastsocket {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let tables = Arc::pin_init(Tables::new(), GFP_KERNEL)?;
        let proc = procfs::Registration::register(StatsFile {
            stats: Stats::new()?,
            tables: tables.clone(),
        })?;
        // Made before the settings, so that a failed load turns the key
        // off after the last write of a setting could turn it on.
        let auto_listen = AutoListen::new();
        let sysctl = settings::register()?;
        let shutdown = Shutdown {
            tables: tables.clone(),
        };
        let scanner = kthread::Thread::spawn(c_str!("fastsocket"), tables.clone())?;
        let hooks = hooks::Registration::register(Policy {
            tables: tables.clone(),
        })
        .inspect_err(|e| {
            pr_err!(
                "cannot register the hooks (errno {}): is another module registered?\n",
                e.to_errno()
            );
        })?;
        let device = miscdev::Registration::register(Control::new(tables), module)?;
        // The defaults, to the kernel (the automatic mode may be on).
        settings::sync();
        pr_info!("fastsocket {VERSION} loaded\n");
        Ok(Self {
            _device: device,
            _hooks: hooks,
            _scanner: scanner,
            _shutdown: shutdown,
            _sysctl: sysctl,
            _proc: proc,
            _auto_listen: auto_listen,
        })
    }
}

impl Drop for Fastsocket {
    fn drop(&mut self) {
        pr_info!("fastsocket {VERSION} unloading\n");
    }
}
