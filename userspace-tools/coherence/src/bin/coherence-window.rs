//! The guest's side of the coherence plugin (Documentation/coherence.rst):
//!
//!   coherence-window start     open the measured window (counts reset)
//!   coherence-window stop      close it; the plugin writes its JSON
//!   coherence-window selftest shared|padded|false [--increments N]
//!                              [--cpus A,B] [--no-window]
//!
//! Without the plugin every command is a NOP.  The self-test runs two
//! threads pinned on two CPUs that take turns (a futex hands the turn
//! over) incrementing, N times each:
//!
//!   shared   one counter                         ~1 transfer per increment
//!   padded   a counter each, on lines of its own  ~0
//!   false    a counter each, in one line          ~1
//!
//! It opens the window, marks the counters' lines so that the plugin
//! accounts them, runs, closes the window and prints one JSON line: the
//! mode, the increments, the seconds they took and the lines marked.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use coherence::window::{mark, signal};
use coherence::Command;

/// Three 128-byte blocks: counters at word 0 and word 1 share a line;
/// word 16 is on a line of its own, two lines away (no adjacent-line
/// effects either).
#[repr(C, align(128))]
struct Counters {
    words: [AtomicU64; 32],
}

/// Whose turn it is, on a line of its own.
#[repr(C, align(128))]
struct Turn(AtomicU32);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Padded,
    False,
}

impl Mode {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "shared" => Some(Self::Shared),
            "padded" => Some(Self::Padded),
            "false" => Some(Self::False),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Padded => "padded",
            Self::False => "false",
        }
    }

    /// The word thread `t` increments.
    fn word(self, t: usize) -> usize {
        match (self, t) {
            (_, 0) | (Self::Shared, _) => 0,
            (Self::False, _) => 1,
            (Self::Padded, _) => 16,
        }
    }
}

fn futex_wait(f: &AtomicU32, val: u32) {
    // SAFETY: FUTEX_WAIT on an aligned u32 that lives as long as the call;
    // it sleeps only while the word still holds `val`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            f.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake(f: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only reads the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            f.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

fn pin(cpu: usize) -> Result<(), String> {
    // SAFETY: cpu_set_t is a plain bit array: all zeroes is the empty
    // set, and CPU_SET sets one bit of it (cpu < CPU_SETSIZE checked).
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(format!("no cpu {cpu}"));
    }
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set
    };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is
    // this thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if r != 0 {
        return Err(format!(
            "cannot pin to cpu {cpu}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

struct Args {
    mode: Mode,
    increments: u64,
    cpus: [usize; 2],
    window: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        mode: Mode::parse(args.first().ok_or("selftest: which mode?")?)
            .ok_or("selftest: the mode is shared, padded or false")?,
        increments: 5000,
        cpus: [0, 1],
        window: true,
    };
    let mut it = args[1..].iter();
    while let Some(o) = it.next() {
        match o.as_str() {
            "--increments" => {
                a.increments = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--increments N")?
            }
            "--cpus" => {
                let v: Vec<usize> = it
                    .next()
                    .ok_or("--cpus A,B")?
                    .split(',')
                    .map(|c| c.parse().map_err(|_| "--cpus A,B"))
                    .collect::<Result<_, _>>()?;
                a.cpus = v.try_into().map_err(|_| "--cpus A,B: two cpus")?;
            }
            "--no-window" => a.window = false,
            _ => return Err(format!("selftest: unknown option {o}")),
        }
    }
    Ok(a)
}

fn selftest(a: &Args) -> Result<String, String> {
    let counters = Arc::new(Counters {
        words: std::array::from_fn(|_| AtomicU64::new(0)),
    });
    let turn = Arc::new(Turn(AtomicU32::new(0)));
    let ready = Arc::new(Barrier::new(3));
    let go = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let (counters, turn, ready, go) =
                (counters.clone(), turn.clone(), ready.clone(), go.clone());
            let (cpu, word, n) = (a.cpus[t], a.mode.word(t), a.increments);
            std::thread::spawn(move || {
                let pinned = pin(cpu);
                ready.wait();
                go.wait();
                pinned?;
                let c = &counters.words[word];
                let (me, other) = (t as u32, 1 - t as u32);
                for _ in 0..n {
                    while turn.0.load(Ordering::Acquire) != me {
                        futex_wait(&turn.0, other);
                    }
                    c.fetch_add(1, Ordering::Relaxed);
                    turn.0.store(other, Ordering::Release);
                    futex_wake(&turn.0);
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    ready.wait();
    let mut lines = vec![a.mode.word(0)];
    if a.mode.word(1) / 8 != a.mode.word(0) / 8 {
        lines.push(a.mode.word(1));
    }
    if a.window {
        signal(Command::Start);
        for w in &lines {
            mark(&counters.words[*w]);
        }
    }
    let start = Instant::now();
    go.wait();
    let mut err = None;
    for w in workers {
        if let Err(e) = w
            .join()
            .map_err(|_| "a thread panicked".to_string())
            .and_then(|r| r)
        {
            err = Some(e);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if a.window {
        signal(Command::Stop);
    }
    if let Some(e) = err {
        return Err(e);
    }
    let total = 2 * a.increments;
    let counted: u64 = (0..2)
        .map(|t| a.mode.word(t))
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|w| counters.words[*w].load(Ordering::Relaxed))
        .sum();
    if counted != total {
        return Err(format!("the counters hold {counted}, not {total}"));
    }
    Ok(format!(
        "{{\"mode\":\"{}\",\"increments\":{total},\"seconds\":{seconds:.3},\"marked_lines\":{},\"window\":{}}}",
        a.mode.name(),
        lines.len(),
        a.window
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("start") => {
            signal(Command::Start);
            Ok(String::new())
        }
        Some("stop") => {
            signal(Command::Stop);
            Ok(String::new())
        }
        Some("selftest") => parse(&args[1..]).and_then(|a| selftest(&a)),
        _ => Err(
            "usage: coherence-window start | stop | selftest shared|padded|false \
                  [--increments N] [--cpus A,B] [--no-window]"
                .into(),
        ),
    };
    match r {
        Ok(s) => {
            if !s.is_empty() {
                println!("{s}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("coherence-window: {e}");
            ExitCode::FAILURE
        }
    }
}
