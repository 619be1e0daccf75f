// SPDX-License-Identifier: GPL-2.0

//! The module's switches: `/proc/sys/net/fastsocket/*`.

use kernel::c_str;

use crate::sysctl::IntSetting;

/// `listen`: local listen tables on (1) or off (0).  Off, every local
/// listener's queue moves to its listener and SYNs and accepts go stock.
pub(crate) static LISTEN: IntSetting = IntSetting::new(c_str!("listen"), 1, 0, 1);

/// `listen_auto`: enable local listen on every TCP listener that starts
/// listening (1), or only on those enabled through `/dev/fastsocket` (0).
pub(crate) static LISTEN_AUTO: IntSetting = IntSetting::new(c_str!("listen_auto"), 0, 0, 1);

/// `listen_idle_ms`: how long a local listener may hold connections that
/// no worker of its CPU accepts (or polls for) before they move to the
/// listener.
pub(crate) static LISTEN_IDLE_MS: IntSetting =
    IntSetting::new(c_str!("listen_idle_ms"), 200, 10, 60_000);

/// Every setting, in `/proc/sys` order.
pub(crate) static ALL: [&IntSetting; 3] = [&LISTEN, &LISTEN_AUTO, &LISTEN_IDLE_MS];
