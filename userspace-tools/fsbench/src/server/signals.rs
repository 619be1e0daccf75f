// SPDX-License-Identifier: GPL-2.0

//! SIGTERM and SIGINT, blocked and taken synchronously: the server stops
//! where it chooses, with its counts.

use nix::sys::signal::{SigSet, Signal};

/// Blocks SIGTERM and SIGINT in the calling thread (and the threads and
/// processes it makes from now on), to be taken with [`wait`].
pub(super) fn block() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    // It does not fail with a valid set and how; were it to, the signals
    // would just stop the process the default way.
    let _ = set.thread_block();
    set
}

/// Waits for one of `set`.
pub(super) fn wait(set: &SigSet) {
    while set.wait().is_err() {}
}
