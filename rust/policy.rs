// SPDX-License-Identifier: GPL-2.0

//! The module instance: what it registers at load, in which order, and
//! what the hooks, the `/proc/net/fastsocket` file and the unload do.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*, str::CStr, sync::Arc};

use crate::{
    control::Control,
    listen::Tables,
    pure::{stats_format, uapi},
    settings::{self, Setting},
    stats::Stats,
    sys::{
        cpu,
        hooks::{self, AutoListen, LocalAnswer},
        kthread, miscdev, procfs,
        rcu::ReadSide,
        sock::{LocalPtr, Locked, SockRef, SockView},
        sysctl,
    },
};

/// Version of the module.
const VERSION: &str = "0.2.0";

/// The hooks: the local listen tables, for the listeners they enabled.
struct Policy {
    tables: Arc<Tables>,
}

impl hooks::Hooks for Policy {
    fn lookup_listener(&self, rcu: &ReadSide<'_>, sk: SockView<'_>) -> Option<LocalPtr> {
        self.tables.lookup(rcu, sk)
    }

    fn local_listener(&self, rcu: &ReadSide<'_>, sk: SockView<'_>, cpu: u32) -> LocalAnswer {
        self.tables.local_listener(rcu, sk, cpu)
    }

    fn local_create(&self, sk: SockView<'_>, cpu: u32) -> Option<SockRef> {
        self.tables.local_create(sk, cpu)
    }

    fn accepted(&self, _rcu: &ReadSide<'_>, _sk: SockView<'_>, local: bool) {
        self.tables.accepted(local);
    }

    fn listen_poll(&self, rcu: &ReadSide<'_>, sk: SockView<'_>, cpu: u32) -> bool {
        self.tables.listen_poll(rcu, sk, cpu)
    }

    fn listen_start(&self, sk: &Locked<'_>) {
        if settings::get(Setting::ListenAuto) == 0 || settings::get(Setting::Listen) == 0 {
            return;
        }
        let all = uapi::CpuSet::first(cpu::nr_ids() as usize);
        // Listeners that cannot be shared (MD5 keys, a ULP, ...) stay stock.
        let _ = self.tables.enable(sk, &all);
    }

    fn listen_stop(&self, sk: &Locked<'_>) {
        // Not ours (enabled by a module instance since unloaded): nothing
        // to move.
        let _ = self.tables.disable(sk.sock(), false);
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
    // Dropped in this order: no new requests, no hooks, no scans, then
    // every local listener moves its connections back, the files go, and
    // with no setting left to write, listen() stops calling in.
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
        let stats = Arc::new(Stats::new()?, GFP_KERNEL)?;
        let tables = Arc::pin_init(Tables::new(stats.clone())?, GFP_KERNEL)?;
        let proc = procfs::Registration::register(StatsFile { stats })?;
        // Made before the settings, so that a failed load turns the key
        // off after the last write of a setting could turn it on.
        let auto_listen = AutoListen::new();
        let sysctl = settings::register()?;
        let shutdown = Shutdown {
            tables: tables.clone(),
        };
        let scanner = kthread::Thread::spawn(c_str!("fastsocket"), tables.clone())?;
        let hooks = hooks::Registration::register(
            Policy {
                tables: tables.clone(),
            },
            module,
        )
        .inspect_err(|e| {
            pr_err!(
                "cannot register the hooks (errno {}): is another module registered?\n",
                e.to_errno()
            );
        })?;
        let device = miscdev::Registration::register(Control::new(tables), module)?;
        // The defaults may want the automatic mode.
        settings::sync_auto_listen();
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
