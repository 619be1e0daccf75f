// SPDX-License-Identifier: GPL-2.0

//! The names an administrator types (`listen-auto`) and the sysctls under
//! `/proc/sys/net/fastsocket/` they stand for (`listen_auto`).
//!
//! Features later versions of the module will add are known here already,
//! so that asking for one on an older module says it is missing rather
//! than that the name is wrong.

use std::sync::OnceLock;

use fastsocket_pure::sysctl::{self, Kind, Sysctl, PLANNED, SYSCTLS};

use crate::Error;

/// Short names fsctl also takes, and the sysctl each stands for.
const ALIASES: [(&str, &str); 1] = [("auto", "listen_auto")];

/// The name fsctl shows and takes for sysctl `name`: dashes for
/// underscores (`listen_auto` is `listen-auto`).
fn dashed(name: &'static str) -> &'static str {
    static NAMES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        SYSCTLS
            .iter()
            .map(|s| s.name)
            .chain(PLANNED)
            .map(|n| (n, n.replace('_', "-")))
            .collect()
    });
    names
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, d)| d.as_str())
}

/// `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A feature with an on/off sysctl: a switch of the module's table, or a
/// switch of a mechanism to come ([`PLANNED`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    sysctl: &'static str,
}

impl Feature {
    /// The switch of `setting` (a [`Kind::Switch`] of the table).
    pub fn of(setting: sysctl::Setting) -> Self {
        Self {
            sysctl: setting.sysctl().name,
        }
    }

    /// Every feature, in the order `status` shows them: the module's
    /// switches, then the planned ones.
    pub fn all() -> impl Iterator<Item = Feature> {
        let switches = SYSCTLS
            .iter()
            .filter(|s| s.kind == Kind::Switch)
            .map(|s| s.name);
        let planned = PLANNED
            .into_iter()
            .filter(|p| SYSCTLS.iter().all(|s| s.name != *p));
        switches.chain(planned).map(|sysctl| Feature { sysctl })
    }

    /// The name fsctl shows and takes.
    pub fn name(self) -> &'static str {
        dashed(self.sysctl)
    }

    /// Its file under `/proc/sys/net/fastsocket/`.
    pub fn sysctl(self) -> &'static str {
        self.sysctl
    }

    /// Whether this module version has it (it is in the table).
    pub fn in_table(self) -> bool {
        SYSCTLS.iter().any(|s| s.name == self.sysctl)
    }

    /// Its short alias, if it has one.
    fn alias(self) -> Option<&'static str> {
        ALIASES
            .iter()
            .find(|(_, sysctl)| *sysctl == self.sysctl)
            .map(|(alias, _)| *alias)
    }

    /// The name with its alias: `listen-auto (or auto)`.
    fn described(self) -> String {
        match self.alias() {
            Some(alias) => format!("{} (or {alias})", self.name()),
            None => self.name().to_string(),
        }
    }

    /// Looks a name up: fsctl's own, a short alias, or the sysctl's.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::all()
            .find(|f| f.name() == name || f.sysctl() == name || f.alias() == Some(name))
            .ok_or_else(|| Error::UnknownFeature(name.into()))
    }

    /// The names for an error message.
    pub fn known() -> String {
        let names: Vec<String> = Self::all().map(Feature::described).collect();
        names.join(", ")
    }

    /// The summary of `fsctl enable`.
    pub fn enable_help() -> String {
        let (ours, planned): (Vec<Feature>, Vec<Feature>) = Self::all().partition(|f| f.in_table());
        let ours: Vec<String> = ours.into_iter().map(Feature::described).collect();
        let mut help = format!("Switch a feature on: {}", ours.join(", "));
        if !planned.is_empty() {
            let planned: Vec<&str> = planned.into_iter().map(Feature::name).collect();
            help += &format!("; {} where the module provides them", and_list(&planned));
        }
        help
    }
}

/// A numeric setting: a [`Kind::Number`] of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    sysctl: &'static Sysctl,
}

impl Setting {
    /// The setting of `setting` (a [`Kind::Number`] of the table).
    pub fn of(setting: sysctl::Setting) -> Self {
        Self {
            sysctl: setting.sysctl(),
        }
    }

    /// Every setting, in table order.
    pub fn all() -> impl Iterator<Item = Setting> {
        SYSCTLS
            .iter()
            .filter(|s| s.kind == Kind::Number)
            .map(|sysctl| Setting { sysctl })
    }

    /// The name fsctl shows and takes.
    pub fn name(self) -> &'static str {
        dashed(self.sysctl.name)
    }

    /// Its file under `/proc/sys/net/fastsocket/`.
    pub fn sysctl(self) -> &'static str {
        self.sysctl.name
    }

    /// The range the module accepts; the module checks it, fsctl only
    /// quotes it.
    pub fn range(self) -> (i64, i64) {
        (self.sysctl.min.into(), self.sysctl.max.into())
    }

    /// Looks a name up: fsctl's own or the sysctl's.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::all()
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
        let names: Vec<&str> = Self::all().map(Setting::name).collect();
        names.join(", ")
    }

    /// The summary of `fsctl set`.
    pub fn set_help() -> String {
        let names: Vec<String> = Self::all()
            .map(|s| {
                let (min, max) = s.range();
                format!("{} ({min} to {max})", s.name())
            })
            .collect();
        format!("Set a setting: {}", names.join(", "))
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
        assert!(known.starts_with("listen, listen-auto (or auto), "));
        assert_eq!(known.split(", ").count(), Feature::all().count());
        for f in Feature::all() {
            assert_eq!(Feature::parse(f.name()).ok(), Some(f));
        }
    }

    #[test]
    fn help_names_what_the_table_has() {
        let enable = Feature::enable_help();
        assert!(enable.starts_with("Switch a feature on: listen, listen-auto (or auto)"));
        for f in Feature::all() {
            assert!(enable.contains(f.name()), "{enable}");
        }
        if PLANNED == ["established", "rfd", "vfs"] {
            assert!(enable.ends_with("; established, rfd and vfs where the module provides them"));
        }
        let set = Setting::set_help();
        assert!(set.starts_with("Set a setting: listen-idle-ms (10 to 60000)"));
        for s in Setting::all() {
            let (min, max) = s.range();
            assert!(set.contains(&format!("{} ({min} to {max})", s.name())));
        }
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b"]), "a and b");
    }

    #[test]
    fn settings() {
        let idle = Setting::of(sysctl::Setting::ListenIdleMs);
        assert_eq!(Setting::parse("listen-idle-ms").ok(), Some(idle));
        assert_eq!(Setting::parse("listen_idle_ms").ok(), Some(idle));
        assert!(matches!(
            Setting::parse("listen"),
            Err(Error::UnknownSetting(_))
        ));
        assert_eq!(idle.parse_value("500").ok(), Some(500));
        assert_eq!(idle.parse_value(" 500\n").ok(), Some(500));
        let e = idle.parse_value("5s").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value '5s' for listen-idle-ms (the module accepts 10 to 60000)"
        );
    }
}
