// SPDX-License-Identifier: GPL-2.0

//! Decisions of local listen that need no kernel: compiled by the module
//! and, with its tests, on the host.

/// How long a CPU's accept queue may stay non-empty before the rescue moves
/// its connections to the listener's shared queue, in ms; 0 moves
/// everything (the feature is switched off).
///
/// The rescue runs every [`scan_period_ms`], so a connection waits at most
/// one and a half idle times for its CPU's workers before any worker of
/// the listener can take it.
pub fn rescue_age_ms(on: bool, idle_ms: i32) -> u32 {
    if on {
        idle_ms.max(10).unsigned_abs()
    } else {
        0
    }
}

/// The rescue period for the `listen_idle_ms` setting: half the idle time,
/// at least 5 ms.
pub fn scan_period_ms(idle_ms: i32) -> u32 {
    (idle_ms.max(10) / 2).unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switched_off_everything_moves() {
        assert_eq!(rescue_age_ms(false, 200), 0);
    }

    #[test]
    fn switched_on_connections_wait_the_idle_time() {
        assert_eq!(rescue_age_ms(true, 200), 200);
        // Never 0, which would move everything at every round.
        assert_eq!(rescue_age_ms(true, 0), 10);
        assert_eq!(rescue_age_ms(true, -5), 10);
    }

    #[test]
    fn the_period_is_half_the_idle_time_and_bounded_below() {
        assert_eq!(scan_period_ms(200), 100);
        assert_eq!(scan_period_ms(1), 5);
        assert_eq!(scan_period_ms(-7), 5);
    }
}
