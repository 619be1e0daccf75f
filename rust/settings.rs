// SPDX-License-Identifier: GPL-2.0

//! The module's switches and settings, `/proc/sys/net/fastsocket/*`: the
//! rows of the pure crate's table ([`crate::pure::sysctl::SYSCTLS`]), with
//! their current values.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*};

pub(crate) use crate::pure::sysctl::Setting;
use crate::{
    pure::sysctl::SYSCTLS,
    sys::{hooks::AutoListen, sysctl},
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
        sync_auto_listen();
    }
}

/// Whether `listen()` should offer new listeners to the module: the
/// automatic mode and local listen both on.
fn auto_listen_wanted() -> bool {
    get(Setting::ListenAuto) != 0 && get(Setting::Listen) != 0
}

/// Makes the automatic mode's static key match the settings.  Writers may
/// race: each one checks again after switching, so the last to switch
/// leaves the key as the last values written want it.
pub(crate) fn sync_auto_listen() {
    loop {
        let on = auto_listen_wanted();
        AutoListen::set(on);
        if auto_listen_wanted() == on {
            break;
        }
    }
}
