// SPDX-License-Identifier: GPL-2.0

//! `fsprobe DIR`: adds up the probe files libfsprobe.so left in DIR and
//! prints the summary as one JSON line.

use fsprobe::layout::{Summary, SLOTS, SUFFIX};
use std::{fs, process::ExitCode};

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: fsprobe DIR");
        return ExitCode::from(2);
    };
    let entries = match fs::read_dir(&dir) {
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
