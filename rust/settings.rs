// SPDX-License-Identifier: GPL-2.0

//! The module's switches and settings, `/proc/sys/net/fastsocket/*`: the
//! rows of the pure crate's table ([`crate::pure::sysctl::SYSCTLS`]), with
//! their current values.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*};

pub(crate) use crate::pure::sysctl::Setting;
use crate::{
    pure::sysctl::SYSCTLS,
    sys::{hooks::AutoListen, listen, sysctl},
};

/// The current values, the table's defaults at load.
static VALUES: sysctl::Values<{ Setting::COUNT }> = sysctl::Values::new(&SYSCTLS);

/// The current value of `setting`.
pub(crate) fn get(setting: Setting) -> i32 {
    VALUES.get(setting.index())
}

/// Publishes every setting under `/proc/sys/net/fastsocket`.
pub(crate) fn register() -> Result<sysctl::Registration> {
    sysctl::Registration::register::<{ Setting::COUNT }, Written>(
        c_str!("net/fastsocket"),
        &SYSCTLS,
        &VALUES,
    )
}

/// What a write changes beyond the value.
struct Written;

impl sysctl::OnWrite for Written {
    fn written() {
        sync();
    }
}

/// Whether `listen()` should offer new listeners to the module: the
/// automatic mode and local listen both on.
fn auto_listen_wanted() -> bool {
    get(Setting::ListenAuto) != 0 && get(Setting::Listen) != 0
}

/// Hands the settings to the kernel: local listen's switch and idle time,
/// and the automatic mode's static key.  Writers may race: each one checks
/// again after switching, so the last to switch leaves the kernel as the
/// last values written want it.
pub(crate) fn sync() {
    loop {
        let (on, idle) = (get(Setting::Listen) != 0, get(Setting::ListenIdleMs));
        listen::set(on, idle.unsigned_abs());
        let auto = auto_listen_wanted();
        AutoListen::set(auto);
        if auto_listen_wanted() == auto
            && (get(Setting::Listen) != 0) == on
            && get(Setting::ListenIdleMs) == idle
        {
            break;
        }
    }
}
