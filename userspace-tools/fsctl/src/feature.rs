// SPDX-License-Identifier: GPL-2.0

//! The names an administrator types (`listen-auto`) and the sysctls under
//! `/proc/sys/net/fastsocket/` they stand for (`listen_auto`).
//!
//! Features later versions of the module will add are known here already,
//! so that asking for one on an older module says it is missing rather
//! than that the name is wrong.

use crate::Error;

/// A feature with an on/off sysctl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Local listen tables (`FASTSOCKET_FEATURE_LISTEN`).
    Listen,
    /// Local listen for every TCP listener, without the ioctl.
    ListenAuto,
    /// Per-CPU established tables (a later module).
    Established,
    /// Receive flow delivery (a later module).
    Rfd,
    /// The socket VFS shortcut (a later module).
    Vfs,
}

impl Feature {
    /// Every feature, in the order `status` shows them.
    pub const ALL: [Feature; 5] = [
        Feature::Listen,
        Feature::ListenAuto,
        Feature::Established,
        Feature::Rfd,
        Feature::Vfs,
    ];

    /// The name fsctl shows and takes.
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Listen => "listen",
            Feature::ListenAuto => "listen-auto",
            Feature::Established => "established",
            Feature::Rfd => "rfd",
            Feature::Vfs => "vfs",
        }
    }

    /// Its file under `/proc/sys/net/fastsocket/`.
    pub const fn sysctl(self) -> &'static str {
        match self {
            Feature::Listen => "listen",
            Feature::ListenAuto => "listen_auto",
            Feature::Established => "established",
            Feature::Rfd => "rfd",
            Feature::Vfs => "vfs",
        }
    }

    /// Looks a name up: fsctl's own, a short alias, or the sysctl's.
    pub fn parse(name: &str) -> Result<Self, Error> {
        if name == "auto" {
            return Ok(Feature::ListenAuto);
        }
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name || f.sysctl() == name)
            .ok_or_else(|| Error::UnknownFeature(name.into()))
    }

    /// The names for an error message.
    pub fn known() -> String {
        let names: Vec<String> = Self::ALL
            .iter()
            .map(|f| match f {
                Feature::ListenAuto => format!("{} (or auto)", f.name()),
                _ => f.name().to_string(),
            })
            .collect();
        names.join(", ")
    }
}

/// A numeric setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Idle time before a CPU's local listener gives its connections back.
    ListenIdleMs,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 1] = [Setting::ListenIdleMs];

    /// The name fsctl shows and takes.
    pub const fn name(self) -> &'static str {
        match self {
            Setting::ListenIdleMs => "listen-idle-ms",
        }
    }

    /// Its file under `/proc/sys/net/fastsocket/`.
    pub const fn sysctl(self) -> &'static str {
        match self {
            Setting::ListenIdleMs => "listen_idle_ms",
        }
    }

    /// The range the module accepts (Documentation/control-plane.rst); the
    /// module checks it, fsctl only quotes it.
    pub const fn range(self) -> (i64, i64) {
        match self {
            Setting::ListenIdleMs => (10, 60000),
        }
    }

    /// Looks a name up: fsctl's own or the sysctl's.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name || s.sysctl() == name)
            .ok_or_else(|| Error::UnknownSetting(name.into()))
    }

    /// Parses a value as the sysctl takes it (a decimal integer).
    pub fn parse_value(self, value: &str) -> Result<i64, Error> {
        let (min, max) = self.range();
        value.trim().parse().map_err(|_| Error::InvalidValue {
            setting: self.name(),
            value: value.into(),
            min,
            max,
        })
    }

    /// The names for an error message.
    pub fn known() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_sysctls() {
        let map = |n| Feature::parse(n).map(Feature::sysctl).ok();
        assert_eq!(map("listen"), Some("listen"));
        assert_eq!(map("listen-auto"), Some("listen_auto"));
        assert_eq!(map("auto"), Some("listen_auto"));
        assert_eq!(map("listen_auto"), Some("listen_auto"));
        assert_eq!(map("established"), Some("established"));
        assert_eq!(map("rfd"), Some("rfd"));
        assert_eq!(map("vfs"), Some("vfs"));
    }

    #[test]
    fn unknown_names_are_errors() {
        for name in ["", "Listen", "listen-", "auto-listen", "listen_idle_ms"] {
            match Feature::parse(name) {
                Err(Error::UnknownFeature(n)) => assert_eq!(n, name),
                other => panic!("{name:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn known_lists_every_feature_once() {
        let known = Feature::known();
        assert_eq!(
            known,
            "listen, listen-auto (or auto), established, rfd, vfs"
        );
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.name()).ok(), Some(f));
        }
    }

    #[test]
    fn settings() {
        assert_eq!(
            Setting::parse("listen-idle-ms").ok(),
            Some(Setting::ListenIdleMs)
        );
        assert_eq!(
            Setting::parse("listen_idle_ms").ok(),
            Some(Setting::ListenIdleMs)
        );
        assert!(matches!(
            Setting::parse("listen"),
            Err(Error::UnknownSetting(_))
        ));
        assert_eq!(Setting::ListenIdleMs.parse_value("500").ok(), Some(500));
        assert_eq!(Setting::ListenIdleMs.parse_value(" 500\n").ok(), Some(500));
        let e = Setting::ListenIdleMs.parse_value("5s").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value '5s' for listen-idle-ms (the module accepts 10 to 60000)"
        );
    }
}
