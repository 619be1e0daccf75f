// SPDX-License-Identifier: GPL-2.0

//! The library's messages: to stderr, written whole in one write(2), and
//! the complaint (fastsocket missing or refusing) only once per process.

use std::sync::atomic::{AtomicBool, Ordering};

static COMPLAINED: AtomicBool = AtomicBool::new(false);

/// Writes "libfsocket: MSG\n".  Not through std's stderr, which panics on a
/// closed descriptor: a daemon's fd 2 may be anything.
pub fn line(msg: &str) {
    let text = format!("libfsocket: {msg}\n");
    // SAFETY: `text` is valid for its length; the result is ignored on
    // purpose (there is nowhere else to report to).
    let _ = unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
}

/// Writes `msg` if nothing was complained about yet in this process (or the
/// process it was forked from).
pub fn once(msg: impl FnOnce() -> String) {
    if !COMPLAINED.swap(true, Ordering::Relaxed) {
        line(&msg());
    }
}
