//! The results of a window as JSON (one file per window, written by the
//! plugin) and as text.  Addresses are strings (`"0x…"`): JSON numbers
//! lose the low bits of a kernel address.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Counts, LineStat, PcStat, Snapshot, LINE_BYTES};
use crate::symbols::Symbols;

/// The `schema` field: what a reader of the file may expect.
pub const SCHEMA: &str = "fastsocket-coherence/1";

/// What the figures are, said in every file.
pub const MODEL: &str = "MESI-like, 64-byte lines by guest physical address, \
private caches of unbounded size per vCPU: only sharing misses count. A transfer is a load \
of a line another vCPU has modified, or a store to a line other vCPUs hold; the store half \
of a read-modify-write whose load was a transfer does not count again.";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionRow {
    pub function: String,
    pub transfers: u64,
    pub load_transfers: u64,
    pub store_transfers: u64,
}

/// One function's doings to one line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCount {
    pub function: String,
    pub transfers: u64,
    /// Loads and stores since the line became hot (for a marked line,
    /// since it was marked).
    pub loads: u64,
    pub stores: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineRow {
    /// The line's guest physical address.
    pub paddr: String,
    /// A guest virtual address it was transferred at (the last).
    pub vaddr: String,
    /// The kernel's static variable there, as `name+0xOFFSET`.
    pub data_symbol: Option<String>,
    pub transfers: u64,
    pub load_transfers: u64,
    pub store_transfers: u64,
    /// The functions that transferred it or, from its
    /// `hot_after_transfers`th transfer on, touched it: most transfers
    /// first.
    pub functions: Vec<FunctionCount>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchedRow {
    pub paddr: String,
    pub vaddr: String,
    pub loads: u64,
    pub stores: u64,
    pub transfers: u64,
    pub load_transfers: u64,
    pub store_transfers: u64,
    pub functions: Vec<FunctionCount>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub model: String,
    pub line_bytes: u64,
    /// The window's number in this QEMU run, from 1.
    pub window: u64,
    /// Host seconds from start to stop.
    pub window_seconds: f64,
    pub vcpus: usize,
    /// Symbols known for attribution (0: functions are not named).
    pub symbols: usize,
    pub totals: Counts,
    pub per_vcpu: Vec<Counts>,
    /// Accesses to device memory: counted, not modelled.
    pub io_accesses: u64,
    /// Accesses the model has no room for (a vCPU past 32, an address
    /// past 1 TiB).
    pub untracked_accesses: u64,
    pub lines_with_transfers: u64,
    /// A line's every access is accounted from this transfer on (null:
    /// only transfers are; the plugin's touches=N).
    pub hot_after_transfers: Option<u64>,
    pub top_functions: Vec<FunctionRow>,
    pub top_lines: Vec<LineRow>,
    /// The lines the guest marked, every access accounted.
    pub watched_lines: Vec<WatchedRow>,
}

fn hex(a: u64) -> String {
    format!("{a:#x}")
}

fn by_function(pcs: &HashMap<u64, PcStat>, syms: &Symbols, top: usize) -> Vec<FunctionCount> {
    let mut f: HashMap<String, PcStat> = HashMap::new();
    for (pc, n) in pcs {
        let e = f.entry(syms.function(*pc)).or_default();
        e.transfers += n.transfers;
        e.loads += n.loads;
        e.stores += n.stores;
    }
    let mut v: Vec<_> = f
        .into_iter()
        .map(|(function, n)| FunctionCount {
            function,
            transfers: n.transfers,
            loads: n.loads,
            stores: n.stores,
        })
        .collect();
    v.sort_by(|a, b| {
        (b.transfers, b.loads + b.stores)
            .cmp(&(a.transfers, a.loads + a.stores))
            .then(a.function.cmp(&b.function))
    });
    v.truncate(top);
    v
}

impl Report {
    /// The report of `snap`, with the `top` first functions (lines were
    /// cut by the snapshot).
    pub fn build(snap: &Snapshot, syms: &Symbols, window_seconds: f64, top: usize) -> Self {
        let mut totals = Counts::default();
        for c in &snap.vcpus {
            totals.add(c);
        }
        let mut funcs: HashMap<String, (u64, u64)> = HashMap::new();
        for (pc, (l, s)) in &snap.pcs {
            let e = funcs.entry(syms.function(*pc)).or_default();
            e.0 += l;
            e.1 += s;
        }
        let mut top_functions: Vec<_> = funcs
            .into_iter()
            .map(|(function, (l, s))| FunctionRow {
                function,
                transfers: l + s,
                load_transfers: l,
                store_transfers: s,
            })
            .collect();
        top_functions.sort_by(|a, b| {
            b.transfers
                .cmp(&a.transfers)
                .then(a.function.cmp(&b.function))
        });
        top_functions.truncate(top);
        let line = |line: u64, s: &LineStat| LineRow {
            paddr: hex(line * LINE_BYTES),
            vaddr: hex(s.vaddr),
            data_symbol: syms.data(s.vaddr),
            transfers: s.transfers(),
            load_transfers: s.load_transfers,
            store_transfers: s.store_transfers,
            functions: by_function(&s.pcs, syms, 8),
        };
        Self {
            schema: SCHEMA.into(),
            model: MODEL.into(),
            line_bytes: LINE_BYTES,
            window: snap.window,
            window_seconds,
            vcpus: snap.vcpus.len(),
            symbols: syms.len(),
            totals,
            per_vcpu: snap.vcpus.clone(),
            io_accesses: snap.io_accesses,
            untracked_accesses: snap.untracked,
            lines_with_transfers: snap.lines_with_transfers,
            hot_after_transfers: snap.hot_after,
            top_functions,
            top_lines: snap.top_lines.iter().map(|(l, s)| line(*l, s)).collect(),
            watched_lines: snap
                .watched
                .iter()
                .map(|w| WatchedRow {
                    paddr: hex(w.paddr),
                    vaddr: hex(w.vaddr),
                    loads: w.loads,
                    stores: w.stores,
                    transfers: w.stat.transfers(),
                    load_transfers: w.stat.load_transfers,
                    store_transfers: w.stat.store_transfers,
                    functions: by_function(&w.stat.pcs, syms, 8),
                })
                .collect(),
        }
    }

    /// A page for people: totals, vCPUs, functions and lines, as
    /// `perf c2c report` lists them.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let t = &self.totals;
        let _ = writeln!(
            o,
            "coherence window {}: {:.2} s, {} vCPUs; caches modelled as unbounded (sharing misses only)",
            self.window, self.window_seconds, self.vcpus
        );
        let _ = writeln!(
            o,
            "  total: {} instructions, {} loads, {} stores, {} transfers ({} loads of modified lines, {} stores to shared lines)",
            t.instructions, t.loads, t.stores, t.transfers, t.load_transfers, t.store_transfers
        );
        for (i, c) in self.per_vcpu.iter().enumerate() {
            let _ = writeln!(
                o,
                "  vcpu{i}: {} instructions, {} loads, {} stores, {} transfers",
                c.instructions, c.loads, c.stores, c.transfers
            );
        }
        let _ = writeln!(o, "  top functions by transfers:");
        for f in self.top_functions.iter().take(15) {
            let _ = writeln!(o, "    {:>10}  {}", f.transfers, f.function);
        }
        let _ = match self.hot_after_transfers {
            Some(h) => writeln!(
                o,
                "  top lines ({} had transfers); per function: transfers (loads, stores from the line's {h}th transfer on):",
                self.lines_with_transfers
            ),
            None => writeln!(o, "  top lines ({} had transfers):", self.lines_with_transfers),
        };
        for l in self.top_lines.iter().take(10) {
            let fs: Vec<_> = l
                .functions
                .iter()
                .take(4)
                .map(|f| match self.hot_after_transfers {
                    Some(_) => format!(
                        "{} {} ({}L {}S)",
                        f.function, f.transfers, f.loads, f.stores
                    ),
                    None => format!("{} {}", f.function, f.transfers),
                })
                .collect();
            let _ = writeln!(
                o,
                "    {:>10}  {} {}: {}",
                l.transfers,
                l.paddr,
                l.data_symbol.as_deref().unwrap_or(""),
                fs.join(", ")
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Access, Model};

    #[test]
    fn report_names_functions_lines_and_data() {
        let syms = Symbols::parse(
            "ffffffff81000000 T inet_csk_accept\nffffffff81000100 T tcp_v4_rcv\n\
             ffffffff81001000 T _etext\nffffffff82000000 d tcp_hashinfo\nffffffff84000000 B _end\n",
        );
        let m = Model::new(2);
        m.start();
        let data = 0xffff_ffff_8200_0040;
        for i in 0..10u32 {
            let pc = if i % 2 == 0 {
                0xffff_ffff_8100_0010
            } else {
                0xffff_ffff_8100_0110
            };
            m.access(i % 2, 0x10_0040, data, pc, Access::Load);
            m.access(i % 2, 0x10_0040, data, pc, Access::Store);
        }
        m.instructions(0, 100);
        m.stop();
        let r = Report::build(&m.snapshot(5), &syms, 1.5, 5);
        assert_eq!(r.schema, SCHEMA);
        assert_eq!(r.totals.transfers, 9);
        assert_eq!(r.totals.instructions, 100);
        assert_eq!(r.top_functions[0].function, "tcp_v4_rcv");
        assert_eq!(r.top_functions[0].transfers, 5);
        assert_eq!(r.top_functions[1].function, "inet_csk_accept");
        assert_eq!(r.top_functions[1].transfers, 4);
        assert_eq!(r.top_lines[0].paddr, "0x100040");
        assert_eq!(
            r.top_lines[0].data_symbol.as_deref(),
            Some("tcp_hashinfo+0x40")
        );
        assert_eq!(r.top_lines[0].functions.len(), 2);
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert!(r.to_text().contains("unbounded"));
    }
}
