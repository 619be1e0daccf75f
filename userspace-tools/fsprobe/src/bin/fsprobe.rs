// SPDX-License-Identifier: GPL-2.0

//! `fsprobe DIR [FROM_MS TO_MS]`: adds up the probe files libfsprobe.so
//! left in DIR and prints the summary as one JSON line; with a window
//! (wall-clock ms since the epoch), also the accepts of each whole slice
//! of it.

use fsprobe::layout::{Summary, SLOTS, SUFFIX};
use std::{fs, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let window = match &args[..] {
        [_] => Ok(None),
        [_, from, to] => match (from.parse::<u64>(), to.parse::<u64>()) {
            (Ok(f), Ok(t)) => Ok(Some((f, t))),
            _ => Err(()),
        },
        _ => Err(()),
    };
    let (Some(dir), Ok(window)) = (args.first(), window) else {
        eprintln!("usage: fsprobe DIR [FROM_MS TO_MS]");
        return ExitCode::from(2);
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fsprobe: {dir}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut summary = Summary::default();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(SUFFIX) {
            continue;
        }
        let Ok(bytes) = fs::read(&path) else { continue };
        let slots: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if slots.len() != SLOTS || !summary.add(&slots) {
            eprintln!("fsprobe: {}: not a probe file", path.display());
        }
    }
    if let Some((from, to)) = window {
        summary.window(from, to);
    }
    summary.pad(std::thread::available_parallelism().map_or(1, |n| n.get()));
    match serde_json::to_string(&summary) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fsprobe: {e}");
            ExitCode::FAILURE
        }
    }
}
