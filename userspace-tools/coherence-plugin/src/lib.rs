//! QEMU TCG plugin: follows every guest load and store by physical
//! address and counts the cache lines that move between vCPUs, with the
//! model of the `coherence` crate (Documentation/coherence.rst).
//!
//!   qemu-system-x86_64 ... -plugin libcoherence_plugin.so,out=FILE.json,symbols=System.map
//!
//! Arguments:
//!   out=PATH        where each window's results go (JSON; a text page
//!                   beside it, PATH with .txt for .json); `%w` in PATH is
//!                   replaced by the window's number
//!   symbols=PATH    the guest kernel's System.map (boot it with nokaslr)
//!   kallsyms=PATH   a copy of the guest's /proc/kallsyms, read when a
//!                   window closes if it exists (names modules' functions)
//!   top=N           functions and lines listed (64)
//!   touches=N       from a line's Nth transfer on, account every access
//!                   to it, so that the lines list the functions that
//!                   touch them too, as perf c2c does (costly: off)
//!
//! Nothing is counted until the guest opens the window (`coherence-window
//! start`: a magic NOP, see `coherence::window`); closing it
//! (`coherence-window stop`) writes the results, and so does QEMU's exit
//! with the window open.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use coherence::model::MAX_VCPUS;
use coherence::{window, Access, Command, Model, Report, Symbols};
use qemu_plugin::install::{Args, Info};
use qemu_plugin::plugin::{HasCallbacks, Register};
use qemu_plugin::{register, MemRW, PluginId, TranslationBlock};

struct Config {
    out: Option<String>,
    symbols: Symbols,
    kallsyms: Option<PathBuf>,
    top: usize,
    touches: Option<u64>,
}

static MODEL: OnceLock<Model> = OnceLock::new();
static CONFIG: OnceLock<Config> = OnceLock::new();
static STARTED: Mutex<Option<Instant>> = Mutex::new(None);

fn error(msg: String) -> qemu_plugin::Error {
    let _ = qemu_plugin::qemu_plugin_outs(format!("coherence: {msg}\n"));
    std::io::Error::other(msg).into()
}

fn say(msg: &str) {
    let _ = qemu_plugin::qemu_plugin_outs(format!("coherence: {msg}\n"));
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Writes the window's results where `out=` says.
fn write_report(model: &Model) {
    let Some(cfg) = CONFIG.get() else { return };
    let seconds = STARTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .map_or(0.0, |s| s.elapsed().as_secs_f64());
    let mut syms = cfg.symbols.clone();
    if let Some(k) = &cfg.kallsyms {
        if let Ok(text) = std::fs::read_to_string(k) {
            syms.extend(&text);
        }
    }
    let report = Report::build(&model.snapshot(cfg.top), &syms, seconds, cfg.top);
    let Some(out) = &cfg.out else {
        say(&report.to_text());
        return;
    };
    let path = PathBuf::from(out.replace("%w", &model.window().to_string()));
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j,
        Err(e) => return say(&format!("cannot encode the results: {e}")),
    };
    if let Err(e) = write_atomically(&path, &json) {
        say(&format!("cannot write {}: {e}", path.display()));
    }
    if path.extension().is_some_and(|e| e == "json") {
        let _ = write_atomically(&path.with_extension("txt"), &report.to_text());
    }
}

fn command(model: &Model, cmd: Command, vcpu: u32) {
    match cmd {
        Command::Start => {
            *STARTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            model.start();
        }
        Command::Stop => {
            if model.active() {
                model.stop();
                write_report(model);
            }
        }
        Command::Mark => {
            if model.active() {
                model.mark_next(vcpu);
            }
        }
    }
}

#[derive(Default)]
struct Coherence;

impl Register for Coherence {
    fn register(&mut self, id: PluginId, args: &Args, info: &Info) -> qemu_plugin::Result<()> {
        let mut cfg = Config {
            out: None,
            symbols: Symbols::default(),
            kallsyms: None,
            top: 64,
            touches: None,
        };
        for a in &args.raw {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| error(format!("argument {a}: KEY=VALUE")))?;
            match k {
                "out" => cfg.out = Some(v.to_string()),
                "symbols" => {
                    let text = std::fs::read_to_string(v)
                        .map_err(|e| error(format!("cannot read symbols {v}: {e}")))?;
                    cfg.symbols = Symbols::parse(&text);
                }
                "kallsyms" => cfg.kallsyms = Some(PathBuf::from(v)),
                "top" => cfg.top = v.parse().map_err(|_| error(format!("top={v}: a number")))?,
                "touches" => {
                    cfg.touches = Some(
                        v.parse()
                            .map_err(|_| error(format!("touches={v}: a number")))?,
                    )
                }
                _ => return Err(error(format!("unknown argument {k}"))),
            }
        }
        let vcpus = info
            .system
            .as_ref()
            .map_or(1, |s| s.max_vcpus.max(s.smp_vcpus)) as usize;
        if vcpus > MAX_VCPUS {
            return Err(error(format!(
                "{vcpus} vCPUs: the model has room for {MAX_VCPUS}"
            )));
        }
        say(&format!(
            "{vcpus} vCPUs, {} symbols, results to {}",
            cfg.symbols.len(),
            cfg.out.as_deref().unwrap_or("the log")
        ));
        let model = Model::new(vcpus);
        model.account_touches(cfg.touches);
        let _ = MODEL.set(model);
        let _ = CONFIG.set(cfg);
        qemu_plugin::qemu_plugin_register_atexit_cb(id, |_| {
            if let Some(m) = MODEL.get() {
                if m.active() {
                    m.stop();
                    write_report(m);
                }
            }
        })
    }
}

impl HasCallbacks for Coherence {
    fn on_translation_block_translate(
        &mut self,
        _id: PluginId,
        tb: TranslationBlock,
    ) -> qemu_plugin::Result<()> {
        let Some(model) = MODEL.get() else {
            return Ok(());
        };
        let n = tb.size() as u64;
        tb.register_execute_callback(move |vcpu| {
            if model.active() {
                model.instructions(vcpu, n);
            }
        });
        for insn in tb.instructions() {
            if insn.size() == window::NOP_LEN {
                if let Some(cmd) = window::decode(&insn.data()) {
                    insn.register_execute_callback(move |vcpu| command(model, cmd, vcpu));
                    continue;
                }
            }
            let pc = insn.vaddr();
            insn.register_memory_access_callback(
                move |vcpu, info, vaddr| {
                    if !model.active() {
                        return;
                    }
                    // None only in user-mode emulation.
                    let Some(hw) = info.hwaddr(vaddr) else { return };
                    if hw.is_io() {
                        model.io_access();
                        return;
                    }
                    let paddr = hw.hwaddr();
                    let access = if info.is_store() {
                        Access::Store
                    } else {
                        Access::Load
                    };
                    model.access(vcpu, paddr, vaddr, pc, access);
                    // An access across two lines of one page touches both.
                    let last = paddr + (1u64 << info.size_shift()) - 1;
                    if last >> 6 != paddr >> 6 && last >> 12 == paddr >> 12 {
                        model.access(vcpu, last, vaddr + (last - paddr), pc, access);
                    }
                },
                MemRW::QEMU_PLUGIN_MEM_RW,
            );
        }
        Ok(())
    }
}

register!(Coherence);
