// SPDX-License-Identifier: GPL-2.0

//! Decisions of the local listen tables that need no kernel: compiled by the
//! module and, with its tests, on the host.

/// What a scan round does with a local listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Leave it.
    Keep,
    /// Move its queued connections to the listener; with `unattend`, stop
    /// sending it SYNs until a worker accepts or polls on its CPU again.
    Move {
        /// Whether its CPU is now considered without a worker.
        unattend: bool,
    },
}

/// One scan round for a local listener with `queued` connections waiting.
///
/// `on` is the feature switch, `attended` whether SYNs may still go to it,
/// `was_waiting` whether connections were already waiting at the previous
/// round, and `visited` whether a worker accepted or polled on its CPU since.
pub fn scan(on: bool, queued: u32, attended: bool, was_waiting: bool, visited: bool) -> Scan {
    if queued == 0 {
        Scan::Keep
    } else if !on || !attended {
        // Switched off, or handshakes that completed after its workers went.
        Scan::Move { unattend: false }
    } else if was_waiting && !visited {
        // Connections waited a whole round and nobody came for them.
        Scan::Move { unattend: true }
    } else {
        Scan::Keep
    }
}

/// The scan period for the `listen_idle_ms` setting: two rounds make the
/// idle time, so a connection waits between `idle_ms / 2` and `idle_ms`
/// before it moves.
pub fn scan_period_ms(idle_ms: i32) -> u32 {
    (idle_ms.max(10) / 2).unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_queue_is_left_alone() {
        for on in [false, true] {
            for attended in [false, true] {
                assert_eq!(scan(on, 0, attended, true, false), Scan::Keep);
            }
        }
    }

    #[test]
    fn switched_off_everything_moves() {
        assert_eq!(
            scan(false, 3, true, false, true),
            Scan::Move { unattend: false }
        );
    }

    #[test]
    fn a_live_worker_keeps_its_connections() {
        // Waiting now, but not at the last round.
        assert_eq!(scan(true, 5, true, false, false), Scan::Keep);
        // Waiting at both rounds, but a worker came in between.
        assert_eq!(scan(true, 5, true, true, true), Scan::Keep);
    }

    #[test]
    fn a_queue_nobody_visits_moves_and_stops_taking_syns() {
        assert_eq!(
            scan(true, 1, true, true, false),
            Scan::Move { unattend: true }
        );
    }

    #[test]
    fn late_handshakes_of_an_unattended_cpu_move_at_once() {
        assert_eq!(
            scan(true, 2, false, false, true),
            Scan::Move { unattend: false }
        );
    }

    #[test]
    fn the_period_is_half_the_idle_time_and_bounded_below() {
        assert_eq!(scan_period_ms(200), 100);
        assert_eq!(scan_period_ms(1), 5);
        assert_eq!(scan_period_ms(-7), 5);
    }
}
