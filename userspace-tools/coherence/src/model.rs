//! The coherence model: for every 64-byte line of guest physical memory,
//! which vCPUs hold it and which one (if any) has it modified, as a MESI
//! protocol would keep it, with private caches of unbounded size.  Only
//! the misses that sharing causes are counted: a *transfer* is
//!
//! * a load of a line that another vCPU has modified (what `perf c2c`
//!   calls a HITM), or
//! * a store to a line that other vCPUs hold (their copies are
//!   invalidated).
//!
//! A store that follows, on the same vCPU with no other access between
//! them, a load of the same line that was a transfer, is the second half
//! of one read-modify-write (`lock xadd`, or a load and a store of `x++`):
//! the line came over once, for ownership, and it counts once.
//!
//! A line that nobody holds is fetched from memory: no transfer (caches
//! are unbounded, so capacity and cold misses are not modelled).
//!
//! If asked ([`Model::account_touches`]), a line becomes *hot* at its Nth
//! transfer: from then on every access to it is accounted by
//! instruction, so that the report lists the functions that touch it,
//! not only those that moved it, as `perf c2c` does.  That costs: busy
//! lines are the most accessed ones.
//!
//! Every method takes `&self`: vCPUs may call them from several threads
//! at once (multi-threaded TCG).  A line's state is one `AtomicU64`
//! updated by compare-and-swap; counters are relaxed atomics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// log2 of the line size.
pub const LINE_SHIFT: u32 = 6;
/// The line size in bytes.
pub const LINE_BYTES: u64 = 1 << LINE_SHIFT;
/// vCPUs a line's holder mask has room for.
pub const MAX_VCPUS: usize = 32;
/// Lines the guest may mark for a full account (see [`Model::mark_next`]).
pub const MAX_WATCHED: usize = 8;

/// Lines per lazily allocated chunk of the state table.
const CHUNK_SHIFT: u32 = 16;
/// Physical address bits the state table covers (1 TiB).
const PHYS_BITS: u32 = 40;
const SHARDS: usize = 64;

/// What a vCPU does to a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Load,
    Store,
}

/// Whether an access moved a line between vCPUs, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    None,
    /// A load of a line another vCPU had modified.
    Load,
    /// A store to a line other vCPUs held.
    Store,
}

const EPOCH_MASK: u16 = 0x7fff;
const HOT_BIT: u32 = 63;

/// One line's coherence state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineState {
    /// Bit `v` set: vCPU `v` holds a valid copy.
    pub holders: u32,
    /// The vCPU that has it modified (then the only holder).
    pub owner: Option<u8>,
    /// Every access is accounted (see [`Model::account_touches`]).
    pub hot: bool,
}

impl LineState {
    /// The state as one word, tagged with the window's epoch (15 bits):
    /// a word of an older epoch reads as an untouched line, so that
    /// opening a window forgets every line at once.
    pub fn pack(self, epoch: u16) -> u64 {
        let owner = self.owner.map_or(0, |o| u64::from(o) + 1);
        u64::from(self.holders)
            | (owner << 32)
            | (u64::from(epoch & EPOCH_MASK) << 48)
            | (u64::from(self.hot) << HOT_BIT)
    }

    pub fn unpack(word: u64, epoch: u16) -> Self {
        if (word >> 48) as u16 & EPOCH_MASK != epoch & EPOCH_MASK {
            return Self::default();
        }
        let owner = (word >> 32) & 0xff;
        Self {
            holders: word as u32,
            owner: if owner == 0 {
                None
            } else {
                Some((owner - 1) as u8)
            },
            hot: word >> HOT_BIT != 0,
        }
    }
}

/// The protocol: the state after `vcpu` does `access` to a line in
/// `state`, and whether that was a transfer.  `rfo`: the vCPU's previous
/// access was a load of this line that transferred it (see the module's
/// documentation).
pub fn step(state: LineState, vcpu: u8, access: Access, rfo: bool) -> (LineState, Transfer) {
    let me = 1u32 << vcpu;
    match access {
        Access::Load => match state.owner {
            // Another's modified copy comes over; both now share it.
            Some(o) if o != vcpu => (
                LineState {
                    holders: state.holders | me,
                    owner: None,
                    hot: state.hot,
                },
                Transfer::Load,
            ),
            _ => (
                LineState {
                    holders: state.holders | me,
                    owner: state.owner,
                    hot: state.hot,
                },
                Transfer::None,
            ),
        },
        Access::Store => {
            let transfer = if state.holders & !me != 0 && !rfo {
                Transfer::Store
            } else {
                Transfer::None
            };
            (
                LineState {
                    holders: me,
                    owner: Some(vcpu),
                    hot: state.hot,
                },
                transfer,
            )
        }
    }
}

/// The state words of all lines, in chunks allocated on first touch.
struct Lines {
    chunks: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl Lines {
    fn new() -> Self {
        let n = 1usize << (PHYS_BITS - LINE_SHIFT - CHUNK_SHIFT);
        Self {
            chunks: (0..n).map(|_| OnceLock::new()).collect(),
        }
    }

    fn slot(&self, line: u64) -> Option<&AtomicU64> {
        let chunk = self
            .chunks
            .get(usize::try_from(line >> CHUNK_SHIFT).ok()?)?;
        let chunk = chunk.get_or_init(|| {
            (0..1usize << CHUNK_SHIFT)
                .map(|_| AtomicU64::new(0))
                .collect()
        });
        Some(&chunk[(line & ((1 << CHUNK_SHIFT) - 1)) as usize])
    }
}

/// One vCPU's counters, on a host cache line of its own.
#[derive(Default)]
#[repr(align(128))]
pub struct VcpuCounters {
    pub instructions: AtomicU64,
    pub loads: AtomicU64,
    pub stores: AtomicU64,
    pub load_transfers: AtomicU64,
    pub store_transfers: AtomicU64,
    /// 1 + the line whose load by this vCPU last transferred it, if that
    /// was its last access; else 0.
    rfo_line: AtomicU64,
    /// The next access of this vCPU marks its line (see `mark_next`).
    mark_next: AtomicBool,
}

/// Counts of one vCPU, or of all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub instructions: u64,
    pub loads: u64,
    pub stores: u64,
    /// `load_transfers + store_transfers`.
    pub transfers: u64,
    pub load_transfers: u64,
    pub store_transfers: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.instructions += o.instructions;
        self.loads += o.loads;
        self.stores += o.stores;
        self.transfers += o.transfers;
        self.load_transfers += o.load_transfers;
        self.store_transfers += o.store_transfers;
    }
}

/// One instruction's doings to one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcStat {
    pub transfers: u64,
    /// Loads and stores: counted once the line is hot (or marked).
    pub loads: u64,
    pub stores: u64,
}

/// What is known of one line with transfers: the instructions (guest
/// virtual addresses) that transferred or, once it is hot, touched it,
/// and the guest virtual address it was last transferred at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineStat {
    pub load_transfers: u64,
    pub store_transfers: u64,
    pub vaddr: u64,
    /// By instruction address.
    pub pcs: HashMap<u64, PcStat>,
}

impl LineStat {
    pub fn transfers(&self) -> u64 {
        self.load_transfers + self.store_transfers
    }
}

/// A line the guest marked: every access to it is accounted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watched {
    pub paddr: u64,
    pub vaddr: u64,
    pub loads: u64,
    pub stores: u64,
    pub stat: LineStat,
}

/// The raw results of a window, for [`crate::report`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub window: u64,
    pub vcpus: Vec<Counts>,
    pub io_accesses: u64,
    pub untracked: u64,
    /// Transfers by instruction address: (load, store).
    pub pcs: HashMap<u64, (u64, u64)>,
    /// The lines with transfers (by line number), most transferred first,
    /// at most the number asked for.
    pub top_lines: Vec<(u64, LineStat)>,
    /// How many lines had any transfer.
    pub lines_with_transfers: u64,
    /// See [`Model::account_touches`].
    pub hot_after: Option<u64>,
    pub watched: Vec<Watched>,
}

/// Transfers by instruction address, (loads, stores), in shards.
type PcShards = Box<[Mutex<HashMap<u64, (u64, u64)>>]>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain counters: still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds to a counter of one vCPU: only the thread that runs the vCPU
/// writes it (a plain load and store, no locked instruction, on the
/// hottest path); a reader may see it a little late.
#[inline]
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
}

fn shard(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % SHARDS
}

/// The whole model: every line's state, per-vCPU counters, and where the
/// transfers happened.  Nothing is counted while the window is closed.
pub struct Model {
    lines: Lines,
    epoch: AtomicU64,
    window: AtomicU64,
    active: AtomicBool,
    vcpus: Box<[VcpuCounters]>,
    io: AtomicU64,
    untracked: AtomicU64,
    pcs: PcShards,
    line_stats: Box<[Mutex<HashMap<u64, LineStat>>]>,
    /// Transfers after which a line is hot (never: u64::MAX).
    hot_after: AtomicU64,
    n_watched: AtomicU64,
    watched_lines: [AtomicU64; MAX_WATCHED],
    watched: Mutex<Vec<Watched>>,
}

impl Model {
    /// A model for `vcpus` vCPUs (at most [`MAX_VCPUS`]).
    pub fn new(vcpus: usize) -> Self {
        Self {
            lines: Lines::new(),
            epoch: AtomicU64::new(0),
            window: AtomicU64::new(0),
            active: AtomicBool::new(false),
            vcpus: (0..vcpus.min(MAX_VCPUS))
                .map(|_| VcpuCounters::default())
                .collect(),
            io: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
            pcs: (0..SHARDS).map(|_| Mutex::default()).collect(),
            line_stats: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hot_after: AtomicU64::new(u64::MAX),
            n_watched: AtomicU64::new(0),
            watched_lines: Default::default(),
            watched: Mutex::default(),
        }
    }

    pub fn vcpus(&self) -> usize {
        self.vcpus.len()
    }

    /// From its `after`th transfer on, every access to a line is
    /// accounted by instruction (see the module's documentation); None:
    /// only transfers are (the default).
    pub fn account_touches(&self, after: Option<u64>) {
        self.hot_after
            .store(after.unwrap_or(u64::MAX).max(1), Relaxed);
    }

    /// Whether the window is open.
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// The number of windows opened so far.
    pub fn window(&self) -> u64 {
        self.window.load(Relaxed)
    }

    /// Opens a window: forgets every line's state and every count.
    pub fn start(&self) {
        self.active.store(false, Relaxed);
        self.epoch.fetch_add(1, Relaxed);
        self.window.fetch_add(1, Relaxed);
        for c in self.vcpus.iter() {
            for a in [
                &c.instructions,
                &c.loads,
                &c.stores,
                &c.load_transfers,
                &c.store_transfers,
                &c.rfo_line,
            ] {
                a.store(0, Relaxed);
            }
            c.mark_next.store(false, Relaxed);
        }
        self.io.store(0, Relaxed);
        self.untracked.store(0, Relaxed);
        for s in self.pcs.iter() {
            lock(s).clear();
        }
        for s in self.line_stats.iter() {
            lock(s).clear();
        }
        self.n_watched.store(0, Relaxed);
        for w in &self.watched_lines {
            w.store(0, Relaxed);
        }
        lock(&self.watched).clear();
        self.active.store(true, Relaxed);
    }

    /// Closes the window; the counts stay until the next one opens.
    pub fn stop(&self) {
        self.active.store(false, Relaxed);
    }

    /// Counts `n` instructions executed by `vcpu`.
    #[inline]
    pub fn instructions(&self, vcpu: u32, n: u64) {
        if let Some(c) = self.vcpus.get(vcpu as usize) {
            bump(&c.instructions, n);
        }
    }

    /// An access to memory-mapped I/O: counted, not modelled.
    pub fn io_access(&self) {
        self.io.fetch_add(1, Relaxed);
    }

    /// The next access of `vcpu` is not counted: it marks its line, whose
    /// every access is then accounted in the report (the guest's
    /// `coherence-window` marks the lines its self-test increments).
    pub fn mark_next(&self, vcpu: u32) {
        if let Some(c) = self.vcpus.get(vcpu as usize) {
            c.mark_next.store(true, Relaxed);
        }
    }

    /// `vcpu` does `access` at guest physical address `paddr` (virtual
    /// `vaddr`), in the instruction at guest virtual address `pc`.
    pub fn access(&self, vcpu: u32, paddr: u64, vaddr: u64, pc: u64, access: Access) -> Transfer {
        let Some(c) = self.vcpus.get(vcpu as usize) else {
            self.untracked.fetch_add(1, Relaxed);
            return Transfer::None;
        };
        let line = paddr >> LINE_SHIFT;
        if c.mark_next.load(Relaxed) {
            c.mark_next.store(false, Relaxed);
            self.watch(line, vaddr);
            return Transfer::None;
        }
        let Some(slot) = self.lines.slot(line) else {
            self.untracked.fetch_add(1, Relaxed);
            return Transfer::None;
        };
        match access {
            Access::Load => bump(&c.loads, 1),
            Access::Store => bump(&c.stores, 1),
        }
        let rfo = access == Access::Store && c.rfo_line.load(Relaxed) == line + 1;
        let epoch = self.epoch.load(Relaxed) as u16;
        let mut word = slot.load(Relaxed);
        let (transfer, hot) = loop {
            let (next, transfer) = step(LineState::unpack(word, epoch), vcpu as u8, access, rfo);
            let packed = next.pack(epoch);
            if packed == word {
                break (transfer, next.hot);
            }
            match slot.compare_exchange_weak(word, packed, Relaxed, Relaxed) {
                Ok(_) => break (transfer, next.hot),
                Err(now) => word = now,
            }
        };
        let rfo_next = if transfer == Transfer::Load {
            line + 1
        } else {
            0
        };
        if c.rfo_line.load(Relaxed) != rfo_next {
            c.rfo_line.store(rfo_next, Relaxed);
        }
        match transfer {
            Transfer::None => {}
            Transfer::Load => bump(&c.load_transfers, 1),
            Transfer::Store => bump(&c.store_transfers, 1),
        }
        if transfer != Transfer::None || hot {
            let transfers = self.record(line, vaddr, pc, access, transfer, hot);
            if !hot && transfers >= self.hot_after.load(Relaxed) {
                // Only the bit: a word of an older epoch stays forgotten.
                slot.fetch_or(1 << HOT_BIT, Relaxed);
            }
        }
        if self.n_watched.load(Relaxed) != 0 {
            self.account_watched(line, vaddr, pc, access, transfer);
        }
        transfer
    }

    /// Accounts a transfer, or an access to a hot line, to the line and
    /// the instruction; returns the line's transfers.
    fn record(&self, line: u64, vaddr: u64, pc: u64, a: Access, t: Transfer, hot: bool) -> u64 {
        if t != Transfer::None {
            let mut pcs = lock(&self.pcs[shard(pc)]);
            let e = pcs.entry(pc).or_default();
            if t == Transfer::Load {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let mut lines = lock(&self.line_stats[shard(line)]);
        let s = lines.entry(line).or_default();
        account(s, vaddr, pc, a, t, hot);
        s.transfers()
    }

    fn watch(&self, line: u64, vaddr: u64) {
        let mut w = lock(&self.watched);
        if w.iter().any(|x| x.paddr >> LINE_SHIFT == line) || w.len() >= MAX_WATCHED {
            return;
        }
        self.watched_lines[w.len()].store(line + 1, Relaxed);
        w.push(Watched {
            paddr: line << LINE_SHIFT,
            vaddr,
            ..Default::default()
        });
        self.n_watched.store(w.len() as u64, Relaxed);
    }

    fn account_watched(&self, line: u64, vaddr: u64, pc: u64, access: Access, t: Transfer) {
        let n = self.n_watched.load(Relaxed) as usize;
        if !self.watched_lines[..n.min(MAX_WATCHED)]
            .iter()
            .any(|w| w.load(Relaxed) == line + 1)
        {
            return;
        }
        let mut ws = lock(&self.watched);
        let Some(w) = ws.iter_mut().find(|w| w.paddr >> LINE_SHIFT == line) else {
            return;
        };
        match access {
            Access::Load => w.loads += 1,
            Access::Store => w.stores += 1,
        }
        account(&mut w.stat, vaddr, pc, access, t, true);
    }

    /// The results so far, with the `top` most transferred lines.
    pub fn snapshot(&self, top: usize) -> Snapshot {
        let vcpus = self
            .vcpus
            .iter()
            .map(|c| {
                let lt = c.load_transfers.load(Relaxed);
                let st = c.store_transfers.load(Relaxed);
                Counts {
                    instructions: c.instructions.load(Relaxed),
                    loads: c.loads.load(Relaxed),
                    stores: c.stores.load(Relaxed),
                    transfers: lt + st,
                    load_transfers: lt,
                    store_transfers: st,
                }
            })
            .collect();
        let mut pcs = HashMap::new();
        for s in self.pcs.iter() {
            pcs.extend(lock(s).iter().map(|(k, v)| (*k, *v)));
        }
        let mut lines: Vec<(u64, LineStat)> = Vec::new();
        let mut lines_with_transfers = 0;
        for s in self.line_stats.iter() {
            let s = lock(s);
            lines_with_transfers += s.len() as u64;
            lines.extend(s.iter().map(|(k, v)| (*k, v.clone())));
            // Keep the memory bounded while collecting.
            if lines.len() > 4 * top.max(64) {
                sort_lines(&mut lines);
                lines.truncate(top);
            }
        }
        sort_lines(&mut lines);
        lines.truncate(top);
        Snapshot {
            window: self.window(),
            vcpus,
            io_accesses: self.io.load(Relaxed),
            untracked: self.untracked.load(Relaxed),
            pcs,
            top_lines: lines,
            lines_with_transfers,
            hot_after: Some(self.hot_after.load(Relaxed)).filter(|h| *h != u64::MAX),
            watched: lock(&self.watched).clone(),
        }
    }
}

/// Accounts to `s` an access by the instruction at `pc`: its transfer if
/// it was one, and the access itself if `all`.
fn account(s: &mut LineStat, vaddr: u64, pc: u64, a: Access, t: Transfer, all: bool) {
    let e = s.pcs.entry(pc).or_default();
    match t {
        Transfer::None => {}
        Transfer::Load => {
            s.load_transfers += 1;
            e.transfers += 1;
            s.vaddr = vaddr;
        }
        Transfer::Store => {
            s.store_transfers += 1;
            e.transfers += 1;
            s.vaddr = vaddr;
        }
    }
    if all {
        match a {
            Access::Load => e.loads += 1,
            Access::Store => e.stores += 1,
        }
    }
}

fn sort_lines(lines: &mut [(u64, LineStat)]) {
    lines.sort_by(|a, b| b.1.transfers().cmp(&a.1.transfers()).then(a.0.cmp(&b.0)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Load, Store};

    const PC: u64 = 0xffff_ffff_8100_1000;

    fn model() -> Model {
        let m = Model::new(4);
        m.start();
        m
    }

    #[test]
    fn pack_round_trips_and_epochs_forget() {
        let s = LineState {
            holders: 0b1011,
            owner: Some(3),
            hot: true,
        };
        assert_eq!(LineState::unpack(s.pack(7), 7), s);
        assert_eq!(LineState::unpack(s.pack(7), 8), LineState::default());
        let s = LineState {
            holders: 1 << 31,
            owner: None,
            hot: false,
        };
        assert_eq!(LineState::unpack(s.pack(32767), 32767), s);
        // The epoch wraps at 15 bits.
        assert_eq!(LineState::unpack(s.pack(32768), 0), s);
    }

    #[test]
    fn protocol() {
        let empty = LineState::default();
        // A first touch comes from memory.
        let (s, t) = step(empty, 0, Load, false);
        assert_eq!(t, Transfer::None);
        assert_eq!(s.holders, 1);
        let (s, t) = step(s, 0, Store, false);
        assert_eq!((t, s.owner), (Transfer::None, Some(0)));
        // Another vCPU reads the modified line: a transfer, both share it.
        let (s, t) = step(s, 1, Load, false);
        assert_eq!((t, s.holders, s.owner), (Transfer::Load, 0b11, None));
        // Reading a shared line again is a hit.
        let (s, t) = step(s, 0, Load, false);
        assert_eq!(t, Transfer::None);
        // Writing a shared line invalidates the other copy.
        let (s, t) = step(s, 0, Store, false);
        assert_eq!((t, s.holders, s.owner), (Transfer::Store, 0b1, Some(0)));
        // The owner's own accesses are hits.
        assert_eq!(step(s, 0, Load, false).1, Transfer::None);
        assert_eq!(step(s, 0, Store, false).1, Transfer::None);
        // A store to another's modified line is one transfer.
        let (s, t) = step(s, 2, Store, false);
        assert_eq!((t, s.holders, s.owner), (Transfer::Store, 0b100, Some(2)));
        // The store half of a read-modify-write does not count twice.
        let (s, t) = step(s, 3, Load, false);
        assert_eq!(t, Transfer::Load);
        assert_eq!(step(s, 3, Store, true).1, Transfer::None);
        assert_eq!(step(s, 3, Store, false).1, Transfer::Store);
    }

    /// Two vCPUs alternating read-modify-writes on one line: one transfer
    /// each, but the first.
    #[test]
    fn ping_pong_is_one_transfer_per_increment() {
        let m = model();
        for i in 0..1000u32 {
            let v = i % 2;
            m.access(v, 0x1000, 0x1000, PC, Load);
            m.access(v, 0x1000, 0x1000, PC, Store);
        }
        let s = m.snapshot(10);
        let total: u64 = s.vcpus.iter().map(|c| c.transfers).sum();
        assert_eq!(total, 999);
        assert_eq!(s.vcpus[0].load_transfers, 499);
        assert_eq!(s.vcpus[1].load_transfers, 500);
        assert_eq!(s.vcpus[0].store_transfers + s.vcpus[1].store_transfers, 0);
        assert_eq!(s.top_lines.len(), 1);
        assert_eq!(s.top_lines[0].0, 0x1000 >> LINE_SHIFT);
        assert_eq!(s.top_lines[0].1.transfers(), 999);
        assert_eq!(s.pcs[&PC], (999, 0));
    }

    #[test]
    fn false_sharing_counts_and_padding_does_not() {
        let m = model();
        for i in 0..1000u32 {
            let v = i % 2;
            // Two counters, 8 bytes apart: one line.
            let a = 0x2000 + 8 * u64::from(v);
            m.access(v, a, a, PC, Load);
            m.access(v, a, a, PC, Store);
            // Two counters, 128 bytes apart: two lines.
            let b = 0x3000 + 128 * u64::from(v);
            m.access(v, b, b, PC, Load);
            m.access(v, b, b, PC, Store);
        }
        let s = m.snapshot(10);
        assert_eq!(s.lines_with_transfers, 1);
        assert_eq!(s.top_lines[0].0, 0x2000 >> LINE_SHIFT);
        assert_eq!(s.top_lines[0].1.transfers(), 999);
    }

    #[test]
    fn reads_of_a_shared_line_are_free_until_written() {
        let m = model();
        m.access(0, 0x40, 0x40, PC, Store);
        for _ in 0..10 {
            for v in 0..4 {
                m.access(v, 0x40, 0x40, PC, Load);
            }
        }
        // The first reader's transfer leaves the line shared and clean:
        // the others read it from memory, as caches do.
        let s = m.snapshot(10);
        let t: u64 = s.vcpus.iter().map(|c| c.transfers).sum();
        assert_eq!(t, 1);
        // A write now invalidates three copies: one transfer.
        assert_eq!(m.access(2, 0x40, 0x40, PC, Store), Transfer::Store);
    }

    #[test]
    fn an_access_between_load_and_store_breaks_the_read_for_ownership() {
        let m = model();
        m.access(0, 0x40, 0, PC, Store);
        assert_eq!(m.access(1, 0x40, 0, PC, Load), Transfer::Load);
        m.access(1, 0x1000, 0, PC, Load);
        assert_eq!(m.access(1, 0x40, 0, PC, Store), Transfer::Store);
    }

    #[test]
    fn closed_window_and_restart_forget() {
        let m = Model::new(2);
        assert!(!m.active());
        m.start();
        m.access(0, 0x40, 0, PC, Store);
        m.access(1, 0x40, 0, PC, Load);
        m.instructions(1, 5);
        assert_eq!(m.snapshot(1).vcpus[1].transfers, 1);
        m.start();
        let s = m.snapshot(1);
        assert_eq!(s.window, 2);
        assert_eq!(s.vcpus[1], Counts::default());
        assert!(s.top_lines.is_empty());
        // The line is forgotten: a load from memory, no transfer.
        assert_eq!(m.access(1, 0x40, 0, PC, Load), Transfer::None);
    }

    #[test]
    fn marked_lines_are_accounted() {
        let m = model();
        m.mark_next(0);
        assert_eq!(m.access(0, 0x1008, 0x7000, PC, Load), Transfer::None);
        assert_eq!(
            m.snapshot(1).vcpus[0].loads,
            0,
            "the marking access is not counted"
        );
        for i in 0..10u32 {
            m.access(i % 2, 0x1010, 0x7010, PC, Load);
            m.access(i % 2, 0x1010, 0x7010, PC, Store);
            m.access(i % 2, 0x5000, 0x9000, PC, Store);
        }
        let s = m.snapshot(1);
        assert_eq!(s.watched.len(), 1);
        let w = &s.watched[0];
        assert_eq!(
            (w.paddr, w.vaddr, w.loads, w.stores),
            (0x1000, 0x7000, 10, 10)
        );
        assert_eq!(w.stat.transfers(), 9);
    }

    /// From a line's HOT_AFTER-th transfer on, every access to it is
    /// accounted by instruction, hits too; before, only transfers.
    #[test]
    fn hot_lines_account_every_access() {
        const HOT_AFTER: u64 = 8;
        let m = model();
        m.account_touches(Some(HOT_AFTER));
        const READER: u64 = PC + 0x100;
        for i in 0..HOT_AFTER as u32 + 2 {
            m.access(i % 2, 0x40, 0x40, PC, Store);
            // A hit: accounted only once the line is hot.
            m.access(i % 2, 0x40, 0x40, READER, Load);
        }
        let s = m.snapshot(1);
        let (line, stat) = &s.top_lines[0];
        assert_eq!(*line, 1);
        // The HOT_AFTER-th transfer makes it hot, the next store is
        // accounted as a store too.
        assert_eq!(stat.transfers(), HOT_AFTER + 1);
        let writer = stat.pcs[&PC];
        assert_eq!((writer.transfers, writer.stores), (HOT_AFTER + 1, 1));
        assert_eq!(stat.pcs[&READER].loads, 2);
        assert_eq!(stat.pcs[&READER].transfers, 0);
        // A new window forgets hotness.
        m.start();
        m.access(0, 0x40, 0x40, READER, Load);
        assert!(m.snapshot(1).top_lines.is_empty());
    }

    #[test]
    fn out_of_range_vcpus_and_addresses_are_untracked() {
        let m = model();
        m.access(9, 0x40, 0, PC, Load);
        m.access(0, 1 << 45, 0, PC, Load);
        assert_eq!(m.snapshot(1).untracked, 2);
    }

    /// Threads hammering one line with read-modify-writes: every
    /// transition is made exactly once, so each line-changing step
    /// (a vCPU's RMW after another's) counts one transfer.
    #[test]
    fn concurrent_updates_lose_nothing() {
        let m = std::sync::Arc::new(model());
        let threads: Vec<_> = (0..4u32)
            .map(|v| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        m.access(v, 0x80, 0x80, PC, Store);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = m.snapshot(4);
        let stores: u64 = s.vcpus.iter().map(|c| c.stores).sum();
        assert_eq!(stores, 80_000);
        let t: u64 = s.vcpus.iter().map(|c| c.transfers).sum();
        assert_eq!(s.top_lines[0].1.transfers(), t);
        assert!(t <= 80_000);
    }
}
