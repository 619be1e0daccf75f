// SPDX-License-Identifier: GPL-2.0

//! Local listen tables: which listeners are enabled, their local
//! listeners, and the per-CPU tables the hooks read.
//!
//! The [`Registry`] (under a mutex) is the truth; each CPU's table is a
//! read-only copy of the part that CPU needs, published with RCU and
//! rebuilt whenever the registry changes.  Local listeners are destroyed
//! only after a grace period that follows their removal from the tables.
//!
//! A first accept on a CPU replaces that CPU's table but does not wait for
//! the grace period that frees the old one: the scanner frees it, so that
//! the worker goes on accepting.

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::{new_mutex, prelude::*, sync::Arc, sync::Mutex};

use crate::{
    pure::{
        listen_policy::{self, Scan},
        stats_format::Counter,
        uapi::{self, CpuSet},
    },
    settings::{self, Setting},
    stats::Stats,
    sys::{
        cpu,
        hooks::LocalAnswer,
        kthread,
        rcu::{RcuBox, ReadSide, Retired},
        sock::{self, LocalListener, LocalPtr, Locked, SockId, SockRef, SockView},
    },
};

/// What the hooks and the scanner know of one CPU of an enabled listener,
/// alone on its cache line: only that CPU's hooks write it.
#[repr(align(64))]
#[derive(Default)]
struct CpuState {
    /// Accepts and polls of the listener on this CPU.
    visits: AtomicU64,
    /// Whether SYNs may go to the local listener (cleared when its workers
    /// seem gone, set again by the next accept or poll).
    attended: AtomicBool,
    /// Scanner: `visits` at the previous round.
    seen_visits: AtomicU64,
    /// Scanner: whether connections were waiting at the previous round.
    was_waiting: AtomicBool,
}

/// An enabled listener.
pub(crate) struct Listener {
    sk: SockRef,
    cpus: [AtomicU64; uapi::CPUSET_WORDS],
    cpu: KVec<CpuState>,
}

impl Listener {
    fn new(sk: SockRef, cpus: &CpuSet, nr_cpus: u32) -> Result<Self> {
        let mut cpu = KVec::with_capacity(nr_cpus as usize, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            cpu.push(CpuState::default(), GFP_KERNEL)?;
        }
        let l = Self {
            sk,
            cpus: Default::default(),
            cpu,
        };
        l.set_cpus(cpus);
        Ok(l)
    }

    fn id(&self) -> SockId {
        self.sk.id()
    }

    fn set_cpus(&self, cpus: &CpuSet) {
        for (w, v) in self.cpus.iter().zip(cpus.0) {
            w.store(v, Ordering::Relaxed);
        }
    }

    fn cpus(&self) -> CpuSet {
        CpuSet(core::array::from_fn(|i| {
            self.cpus[i].load(Ordering::Relaxed)
        }))
    }

    fn allows(&self, cpu: u32) -> bool {
        let cpu = cpu as usize;
        cpu < uapi::CPUSET_BITS
            && self.cpus[cpu / 64].load(Ordering::Relaxed) & (1 << (cpu % 64)) != 0
    }

    /// An accept or poll on `cpu`: its workers are alive.
    fn visit(&self, cpu: u32) {
        if let Some(s) = self.cpu.get(cpu as usize) {
            s.visits.fetch_add(1, Ordering::Relaxed);
            if !s.attended.load(Ordering::Relaxed) {
                s.attended.store(true, Ordering::Relaxed);
            }
        }
    }

    fn attended(&self, cpu: u32) -> bool {
        self.cpu
            .get(cpu as usize)
            .is_some_and(|s| s.attended.load(Ordering::Relaxed))
    }
}

/// One row of a CPU's table.
struct Entry {
    listener: Arc<Listener>,
    local: Option<LocalPtr>,
}

impl Entry {
    /// The local listener a SYN on `cpu` may go to.
    fn usable(&self, cpu: u32) -> Option<LocalPtr> {
        let local = self.local?;
        (self.listener.attended(cpu) && self.listener.sk.is_listening()).then_some(local)
    }
}

/// What one CPU's hooks read.
struct CpuTable {
    entries: KVec<Entry>,
}

impl CpuTable {
    fn find(&self, id: SockId) -> Option<&Entry> {
        self.entries.iter().find(|e| e.listener.id() == id)
    }
}

/// An enabled listener and its local listeners, one slot per CPU.
struct Enabled {
    listener: Arc<Listener>,
    locals: KVec<Option<LocalListener>>,
}

/// The enabled listeners; a removed one leaves a free slot, so that
/// removal never allocates.
struct Registry {
    slots: KVec<Option<Enabled>>,
}

impl Registry {
    fn find(&self, id: SockId) -> Option<&Enabled> {
        self.slots.iter().flatten().find(|e| e.listener.id() == id)
    }

    fn find_mut(&mut self, id: SockId) -> Option<&mut Enabled> {
        self.slots
            .as_mut_slice()
            .iter_mut()
            .flatten()
            .find(|e| e.listener.id() == id)
    }

    fn take(&mut self, id: SockId) -> Option<Enabled> {
        self.slots
            .as_mut_slice()
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|e| e.listener.id() == id))
            .and_then(Option::take)
    }
}

/// The local listen tables.
#[pin_data]
pub(crate) struct Tables {
    #[pin]
    registry: Mutex<Registry>,
    cpus: KVec<RcuBox<CpuTable>>,
    /// Tables unpublished by first accepts, for the scanner to free.
    #[pin]
    retired: Mutex<KVec<Retired<CpuTable>>>,
    stats: Arc<Stats>,
}

impl Tables {
    /// Empty tables for every possible CPU.
    pub(crate) fn new(stats: Arc<Stats>) -> Result<impl PinInit<Self, Error>> {
        let n = cpu::nr_ids() as usize;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cpus.push(RcuBox::new(), GFP_KERNEL)?;
        }
        Ok(try_pin_init!(Self {
            registry <- new_mutex!(Registry { slots: KVec::new() }),
            cpus,
            retired <- new_mutex!(KVec::new()),
            stats,
        }? Error))
    }

    fn table<'a>(&'a self, rcu: &ReadSide<'a>, cpu: u32) -> Option<&'a CpuTable> {
        self.cpus.get(cpu as usize)?.read(rcu)
    }

    // Hooks: inside an RCU read-side critical section, must not sleep.

    /// A SYN for the enabled listener `sk` arrived on this CPU: the local
    /// listener that takes it, if any.
    pub(crate) fn lookup(&self, rcu: &ReadSide<'_>, sk: SockView<'_>) -> Option<LocalPtr> {
        self.stats.inc(if sk.is_inet6() {
            Counter::LookupIpv6
        } else {
            Counter::LookupIpv4
        });
        if settings::get(Setting::Listen) == 0 {
            self.stats.inc(Counter::SynGlobal);
            return None;
        }
        let cpu = cpu::current();
        let table = self.table(rcu, cpu);
        let own = table
            .and_then(|t| t.find(sk.id()))
            .and_then(|e| e.usable(cpu));
        // A reuseport group of enabled listeners is one listener here: any
        // member's local listener on this CPU takes the SYN.
        let sibling = || {
            let group = sk.reuseport_group();
            if group == 0 {
                return None;
            }
            table?
                .entries
                .iter()
                .filter(|e| e.listener.sk.reuseport_group() == group)
                .find_map(|e| e.usable(cpu))
        };
        match own.or_else(sibling) {
            Some(local) => {
                self.stats.inc(Counter::SynLocal);
                // Listeners are not reference counted by lookups: the
                // caller holds RCU and the socket is RCU-freed.
                Some(local)
            }
            None => {
                self.stats.inc(Counter::SynGlobal);
                None
            }
        }
    }

    /// accept() on `cpu`.
    pub(crate) fn local_listener(
        &self,
        rcu: &ReadSide<'_>,
        sk: SockView<'_>,
        cpu: u32,
    ) -> LocalAnswer {
        if settings::get(Setting::Listen) == 0 {
            return LocalAnswer::None;
        }
        let Some(e) = self.table(rcu, cpu).and_then(|t| t.find(sk.id())) else {
            return LocalAnswer::None;
        };
        if !e.listener.allows(cpu) {
            return LocalAnswer::None;
        }
        e.listener.visit(cpu);
        match e.local {
            Some(local) => LocalAnswer::Local(local.view(rcu).hold()),
            None => LocalAnswer::Create,
        }
    }

    /// A connection was accepted on this CPU.
    pub(crate) fn accepted(&self, local: bool) {
        self.stats.inc(if local {
            Counter::AcceptLocal
        } else {
            Counter::AcceptGlobal
        });
    }

    /// poll() on `cpu`: whether the local listener has a connection.
    pub(crate) fn listen_poll(&self, rcu: &ReadSide<'_>, sk: SockView<'_>, cpu: u32) -> bool {
        if settings::get(Setting::Listen) == 0 {
            return false;
        }
        let Some(e) = self.table(rcu, cpu).and_then(|t| t.find(sk.id())) else {
            return false;
        };
        let Some(local) = e.local else {
            return false;
        };
        e.listener.visit(cpu);
        local.queued(rcu) > 0
    }

    // Process context.

    /// Makes the local listener of `sk` on `cpu` (first accept there).
    pub(crate) fn local_create(&self, sk: SockView<'_>, cpu: u32) -> Option<SockRef> {
        if settings::get(Setting::Listen) == 0 {
            return None;
        }
        {
            let reg = self.registry.lock();
            let en = reg.find(sk.id())?;
            if !en.listener.allows(cpu) {
                return None;
            }
            if let Some(Some(l)) = en.locals.get(cpu as usize) {
                return Some(l.hold());
            }
        }
        // Takes the listener's lock: not under the registry's mutex, which
        // nests inside it.
        let new = LocalListener::create(sk, cpu).ok()?;
        let mut reg = self.registry.lock();
        let Some(slot) = reg
            .find_mut(sk.id())
            .and_then(|en| en.locals.as_mut_slice().get_mut(cpu as usize))
        else {
            // Disabled meanwhile; the new one never saw a SYN.
            drop(reg);
            new.retire(false);
            return None;
        };
        if let Some(l) = slot {
            let held = l.hold();
            drop(reg);
            new.retire(false);
            return Some(held);
        }
        let held = new.hold();
        *slot = Some(new);
        self.stats.add(cpu, Counter::LocalListeners, 1);
        let old = self.publish(&reg, cpu);
        drop(reg);
        self.defer(old);
        Some(held)
    }

    /// Leaves `old` to the scanner, which frees it after a grace period.
    fn defer(&self, old: Retired<CpuTable>) {
        if old.is_none() {
            return;
        }
        // On allocation failure `push` drops `old`, which waits for its
        // own grace period: slower, never unsafe.
        let _ = self.retired.lock().push(old, GFP_KERNEL);
    }

    /// Takes the tables left by [`Self::defer`].
    fn take_deferred(&self) -> KVec<Retired<CpuTable>> {
        core::mem::take(&mut *self.retired.lock())
    }

    /// Frees, after one grace period, the tables left by [`Self::defer`].
    fn reap(&self) {
        Retired::free(self.take_deferred());
    }

    /// Enables local listen on the listening socket `sk` (locked) for
    /// `cpus`; for an enabled one, sets its CPUs.
    pub(crate) fn enable(&self, sk: &Locked<'_>, cpus: &CpuSet) -> Result {
        sk.enable()?;
        let view = sk.sock();
        let mut reg = self.registry.lock();
        if let Some(en) = reg.find(view.id()) {
            en.listener.set_cpus(cpus);
            return Ok(());
        }
        let added = self.add(&mut reg, view, cpus);
        if added.is_err() {
            drop(reg);
            view.disable();
            return added;
        }
        let old = self.publish_all(&reg);
        drop(reg);
        Retired::free(old);
        Ok(())
    }

    fn add(&self, reg: &mut Registry, sk: SockView<'_>, cpus: &CpuSet) -> Result {
        let n = cpu::nr_ids();
        let listener = Arc::new(Listener::new(sk.hold(), cpus, n)?, GFP_KERNEL)?;
        let mut locals = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for _ in 0..n {
            locals.push(None, GFP_KERNEL)?;
        }
        let en = Enabled { listener, locals };
        match reg.slots.as_mut_slice().iter_mut().find(|s| s.is_none()) {
            Some(free) => *free = Some(en),
            None => reg.slots.push(Some(en), GFP_KERNEL)?,
        }
        Ok(())
    }

    /// Disables local listen on `sk`: its accepts and polls go stock, and
    /// every connection its local listeners hold moves to it.  With `wait`
    /// (the listener keeps listening), handshakes in progress are waited
    /// for.  `EINVAL` if it was not enabled.
    pub(crate) fn disable(&self, sk: SockView<'_>, wait: bool) -> Result {
        sk.disable();
        let mut reg = self.registry.lock();
        let en = reg.take(sk.id()).ok_or(EINVAL)?;
        let old = self.publish_all(&reg);
        drop(reg);
        Retired::free(old);
        self.retire(en, wait);
        Ok(())
    }

    fn retire(&self, en: Enabled, wait: bool) {
        for (cpu, local) in (0u32..).zip(en.locals) {
            if let Some(local) = local {
                let moved = local.retire(wait);
                self.stats.add(cpu, Counter::Moved, i64::from(moved));
                self.stats.add(cpu, Counter::LocalListeners, -1);
            }
        }
    }

    /// Disables every listener (module unload): nothing queued is lost.
    /// The hooks must be unregistered already.
    pub(crate) fn shutdown(&self) {
        let mut reg = self.registry.lock();
        for slot in reg.slots.as_mut_slice() {
            if let Some(en) = slot.as_ref() {
                en.listener.sk.disable();
            }
        }
        self.clear_tables();
        for slot in reg.slots.as_mut_slice() {
            if let Some(en) = slot.take() {
                self.retire(en, true);
            }
        }
    }

    /// Unpublishes every table and frees it with the deferred ones, after
    /// one grace period.  The scanner must be stopped already.
    fn clear_tables(&self) {
        let published = self.cpus.iter().map(|t| t.replace(None));
        Retired::free(Iterator::chain(published, self.take_deferred()));
    }

    /// The state of `sk` for `FASTSOCKET_IOC_LISTEN_STATE`.
    pub(crate) fn state(&self, sk: SockView<'_>) -> uapi::ListenState {
        let mut st = uapi::ListenState {
            size: core::mem::size_of::<uapi::ListenState>() as u32,
            ..Default::default()
        };
        let reg = self.registry.lock();
        let Some(en) = reg.find(sk.id()) else {
            return st;
        };
        st.state = uapi::STATE_ENABLED;
        st.cpus = en.listener.cpus().0;
        let mut local = CpuSet::default();
        for (cpu, l) in en.locals.iter().enumerate() {
            if let Some(l) = l {
                local.insert(cpu);
                st.nr_local += 1;
                st.queued += l.queued();
            }
        }
        st.local = local.0;
        let n = cpu::nr_ids();
        st.memory = (sock::wait_queues_size(n)
            + st.nr_local as usize * sock::local_listener_size(sk)
            + core::mem::size_of::<Listener>()
            + n as usize
                * (core::mem::size_of::<CpuState>()
                    + core::mem::size_of::<Option<LocalListener>>())
            + n as usize * core::mem::size_of::<Entry>()) as u64;
        st
    }

    /// Rebuilds `cpu`'s table from the registry.  On allocation failure the
    /// CPU gets no table: its SYNs and accepts go stock until the next
    /// rebuild, which is always safe.
    fn publish(&self, reg: &Registry, cpu: u32) -> Retired<CpuTable> {
        let Some(slot) = self.cpus.get(cpu as usize) else {
            return Retired::none();
        };
        let table = Self::build(reg, cpu).ok();
        slot.replace(table)
    }

    fn publish_all(&self, reg: &Registry) -> KVec<Retired<CpuTable>> {
        let mut old = KVec::new();
        for cpu in 0..self.cpus.len() as u32 {
            // On allocation failure `push` drops the value, which waits
            // for its own grace period.
            let _ = old.push(self.publish(reg, cpu), GFP_KERNEL);
        }
        old
    }

    fn build(reg: &Registry, cpu: u32) -> Result<KBox<CpuTable>> {
        let mut entries = KVec::new();
        for en in reg.slots.iter().flatten() {
            let local = en
                .locals
                .get(cpu as usize)
                .and_then(|l| l.as_ref())
                .map(LocalListener::rcu_ptr);
            entries.push(
                Entry {
                    listener: en.listener.clone(),
                    local,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(KBox::new(CpuTable { entries }, GFP_KERNEL)?)
    }

    /// One round of the scanner: local listeners whose connections wait
    /// with no accept or poll on their CPU since the last round (their
    /// workers are gone, or busy elsewhere) hand them to the listener and
    /// get no more SYNs until a worker comes back.  With the feature off,
    /// every queue moves.
    fn scan(&self) {
        let on = settings::get(Setting::Listen) != 0;
        let reg = self.registry.lock();
        for en in reg.slots.iter().flatten() {
            for (cpu, local) in (0u32..).zip(en.locals.iter()) {
                let (Some(local), Some(st)) = (local, en.listener.cpu.get(cpu as usize)) else {
                    continue;
                };
                let visits = st.visits.load(Ordering::Relaxed);
                let verdict = listen_policy::scan(
                    on,
                    local.queued(),
                    st.attended.load(Ordering::Relaxed),
                    st.was_waiting.load(Ordering::Relaxed),
                    visits != st.seen_visits.load(Ordering::Relaxed),
                );
                if let Scan::Move { unattend } = verdict {
                    if unattend {
                        st.attended.store(false, Ordering::Relaxed);
                    }
                    let moved = local.drain();
                    self.stats.add(cpu, Counter::Moved, i64::from(moved));
                }
                st.was_waiting.store(local.queued() > 0, Ordering::Relaxed);
                st.seen_visits.store(visits, Ordering::Relaxed);
            }
        }
    }
}

impl kthread::Periodic for Tables {
    fn tick(&self) {
        self.reap();
        self.scan();
    }

    fn period_ms(&self) -> u32 {
        listen_policy::scan_period_ms(settings::get(Setting::ListenIdleMs))
    }
}
