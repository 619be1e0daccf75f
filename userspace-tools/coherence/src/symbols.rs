//! Guest kernel symbols, from the built kernel's `System.map` (the guest
//! boots with `nokaslr`, so its addresses are the link-time ones) or from
//! a copy of the guest's `/proc/kallsyms`, which also names the functions
//! of loaded modules: lines of `ADDRESS TYPE NAME [MODULE]`.

/// The start of the kernel half of the address space.
const KERNEL_START: u64 = 0xffff_8000_0000_0000;
/// Where x86-64 loads modules (MODULES_VADDR).
const MODULES_START: u64 = 0xffff_ffff_c000_0000;

/// A section's bounds (`__sched_text_start`), which share their address
/// with the first function of the section.
fn marker(name: &str) -> bool {
    name.ends_with("_start")
        || name.ends_with("_end")
        || name.starts_with("_s")
        || name.starts_with("_e")
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Symbol {
    addr: u64,
    text: bool,
    name: String,
}

/// Symbols sorted by address.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    syms: Vec<Symbol>,
}

impl Symbols {
    /// Parses `System.map` or `/proc/kallsyms` text; lines it cannot read
    /// are skipped.  Absolute symbols and addresses below the kernel's
    /// half (per-cpu offsets) are left out.
    pub fn parse(text: &str) -> Self {
        let mut s = Self::default();
        s.extend(text);
        s
    }

    /// Adds the symbols of another map (a kallsyms copy to a System.map).
    pub fn extend(&mut self, text: &str) {
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            if addr < KERNEL_START || kind.eq_ignore_ascii_case("a") {
                continue;
            }
            let name = match f.next() {
                Some(module) => format!("{name} {module}"),
                None => name.to_string(),
            };
            let text = matches!(kind, "T" | "t" | "W" | "w");
            self.syms.push(Symbol { addr, text, name });
        }
        self.syms.sort_by_key(|s| {
            (
                s.addr,
                !s.text,
                marker(&s.name),
                s.name.starts_with('_'),
                s.name.clone(),
            )
        });
        self.syms
            .dedup_by(|a, b| a.addr == b.addr && a.name == b.name);
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    fn at(&self, addr: u64) -> Option<&Symbol> {
        let i = self.syms.partition_point(|s| s.addr <= addr);
        let nearest = self.syms[..i].last()?.addr;
        let first = self.syms[..i].partition_point(|s| s.addr < nearest);
        // Of several symbols at one address, a function's name that is no
        // section marker, without a leading underscore (they sort first).
        self.syms.get(first)
    }

    /// The function of the instruction at `pc`: its name, or `[user]`
    /// for user space, `[module]` for a module's code that the map does
    /// not name, `[kernel]` for other kernel addresses.
    pub fn function(&self, pc: u64) -> String {
        if pc < KERNEL_START {
            return "[user]".into();
        }
        match self.at(pc) {
            Some(s) if s.text => s.name.clone(),
            _ if pc >= MODULES_START => "[module]".into(),
            _ => "[kernel]".into(),
        }
    }

    /// The data symbol at `addr` as `name+0xOFFSET`, if `addr` is in the
    /// kernel image's (or a module's) static data; none for the heap,
    /// per-cpu areas or user memory.
    pub fn data(&self, addr: u64) -> Option<String> {
        if addr < KERNEL_START {
            return None;
        }
        let s = self.at(addr)?;
        // Past the image's end the nearest symbol means nothing.
        if s.name == "_end" || addr - s.addr >= 1 << 20 {
            return None;
        }
        Some(format!("{}+{:#x}", s.name, addr - s.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "\
0000000000000000 D __per_cpu_start
0000000000001000 D cpu_debug_store
ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81001000 t native_queued_spin_lock_slowpath
ffffffff81001200 T inet_csk_accept
ffffffff81001400 T __sched_text_start
ffffffff81001400 T __schedule
ffffffff81002000 T _etext
ffffffff82000000 D init_net
ffffffff82000400 d tcp_hashinfo
ffffffff84018000 B _end
garbage line
";

    #[test]
    fn functions() {
        let s = Symbols::parse(MAP);
        assert_eq!(s.len(), 10);
        assert_eq!(s.function(0xffff_ffff_8100_1410), "__schedule");
        assert_eq!(s.function(0xffff_ffff_8100_0010), "startup_64");
        assert_eq!(s.function(0xffff_ffff_8100_1234), "inet_csk_accept");
        assert_eq!(
            s.function(0xffff_ffff_8100_1000),
            "native_queued_spin_lock_slowpath"
        );
        assert_eq!(s.function(0x40_1000), "[user]");
        assert_eq!(s.function(0xffff_ffff_8200_0010), "[kernel]");
        assert_eq!(s.function(0xffff_ffff_c000_1000), "[module]");
        assert_eq!(s.function(0xffff_8880_0000_0000), "[kernel]");
    }

    #[test]
    fn data() {
        let s = Symbols::parse(MAP);
        assert_eq!(
            s.data(0xffff_ffff_8200_0440).as_deref(),
            Some("tcp_hashinfo+0x40")
        );
        assert_eq!(
            s.data(0xffff_ffff_8200_0000).as_deref(),
            Some("init_net+0x0")
        );
        assert_eq!(s.data(0xffff_8880_1234_0000), None);
        assert_eq!(s.data(0xffff_ffff_8401_9000), None);
        assert_eq!(s.data(0x1000), None);
    }

    #[test]
    fn kallsyms_adds_modules() {
        let mut s = Symbols::parse(MAP);
        s.extend(
            "ffffffffc0001000 t fs_accept\t[fastsocket]\nffffffffc0002000 d fs_stats\t[fastsocket]\n\
             ffffffff81001200 T inet_csk_accept\n",
        );
        assert_eq!(s.function(0xffff_ffff_c000_1010), "fs_accept [fastsocket]");
        assert_eq!(s.function(0xffff_ffff_c000_2010), "[module]");
        assert_eq!(s.len(), 12, "a symbol both maps hold is kept once");
    }
}
