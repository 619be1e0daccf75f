// SPDX-License-Identifier: GPL-2.0

//! The module's switches and settings, `/proc/sys/net/fastsocket/*`: the
//! rows of the pure crate's table ([`crate::pure::sysctl::SYSCTLS`]), with
//! their current values.

#![forbid(unsafe_code)]

use kernel::{c_str, prelude::*};

pub(crate) use crate::pure::sysctl::Setting;
use crate::{pure::sysctl::SYSCTLS, sys::sysctl};

/// The current values, the table's defaults at load.
static VALUES: sysctl::Values<{ Setting::COUNT }> = sysctl::Values::new(&SYSCTLS);

/// The current value of `setting`.
pub(crate) fn get(setting: Setting) -> i32 {
    VALUES.get(setting.index())
}

/// Publishes every setting under `/proc/sys/net/fastsocket`.
pub(crate) fn register() -> Result<sysctl::Registration> {
    sysctl::Registration::register(c_str!("net/fastsocket"), &SYSCTLS, &VALUES)
}
