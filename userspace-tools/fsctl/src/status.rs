// SPDX-License-Identifier: GPL-2.0

//! `fsctl status`: the module, its version and its switches.

use fastsocket_abi::{uapi, Info};
use serde::{Serialize, Serializer};

use crate::{
    feature::{Feature, Setting},
    layout,
    module::{self, Version},
    sysctl::{on_off, Sysctls},
    Error,
};

/// What `status` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub loaded: bool,
    /// The rest, when loaded.
    #[serde(flatten)]
    pub module: Option<Loaded>,
}

/// The state of a loaded module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub version: Version,
    /// As INFO packs it.
    pub version_code: u32,
    pub nr_cpu_ids: u32,
    /// INFO's `features` and `enabled` bits, for what fsctl cannot name.
    pub feature_bits: u64,
    pub enabled_bits: u64,
    /// Each feature the module provides, with its switch (`null`: could
    /// not be read).
    pub features: Named<bool>,
    /// Each setting, with its value.
    pub settings: Named<i64>,
}

/// `name -> value` pairs, kept in order, serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Named<T>(pub Vec<(&'static str, Option<T>)>);

impl<T> Named<T> {
    /// The value of `name`, if it is there and could be read.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_ref())
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl Status {
    /// The module is not there.
    pub fn not_loaded() -> Self {
        Self {
            loaded: false,
            module: None,
        }
    }

    /// The status of a module that answered INFO with `info`, its
    /// switches read from `sys`.  A sysctl that is missing is a feature
    /// the module does not provide; one that cannot be read shows as
    /// unknown rather than failing the whole report.
    pub fn of(info: &Info, sys: &Sysctls) -> Self {
        let mut features = Vec::new();
        for f in Feature::all() {
            let value = match sys.read(f.sysctl()) {
                Ok(None) => continue,
                Ok(Some(v)) => Some(v != 0),
                // INFO knows this one's switch as well.
                Err(_) if f == Feature::of(fastsocket_pure::sysctl::Setting::Listen) => {
                    Some(info.enabled & uapi::FEATURE_LISTEN != 0)
                }
                Err(_) => None,
            };
            features.push((f.name(), value));
        }
        let mut settings = Vec::new();
        for s in Setting::all() {
            match sys.read(s.sysctl()) {
                Ok(None) => {}
                Ok(v) => settings.push((s.name(), v)),
                Err(_) => settings.push((s.name(), None)),
            }
        }
        Self {
            loaded: true,
            module: Some(Loaded {
                version: Version(info.version),
                version_code: info.version,
                nr_cpu_ids: info.nr_cpu_ids,
                feature_bits: info.features,
                enabled_bits: info.enabled,
                features: Named(features),
                settings: Named(settings),
            }),
        }
    }

    /// The status of the running system.
    pub fn read() -> Result<Self, Error> {
        match module::info() {
            Ok(info) => Ok(Self::of(&info, &Sysctls::system())),
            Err(Error::NotLoaded) => Ok(Self::not_loaded()),
            Err(e) => Err(e),
        }
    }

    /// The plain-text report.
    pub fn render(&self) -> String {
        let Some(m) = &self.module else {
            let msg = Error::NotLoaded.to_string();
            let why = msg.trim_start_matches("fastsocket module is ");
            return layout::key_values(&[("module", why)]);
        };
        let unknown = || "unknown".to_string();
        let mut rows: Vec<(&str, String)> = vec![
            ("module", "loaded".into()),
            ("version", m.version.to_string()),
            ("nr_cpu_ids", m.nr_cpu_ids.to_string()),
        ];
        for (name, on) in &m.features.0 {
            rows.push((name, on.map_or_else(unknown, |on| on_off(on.into()))));
        }
        for (name, v) in &m.settings.0 {
            rows.push((name, v.map_or_else(unknown, |v| v.to_string())));
        }
        let other = module::unknown_bits(m.feature_bits);
        if other != 0 {
            rows.push((
                "other features",
                format!(
                    "{other:#x} (enabled {:#x}; a newer fsctl names them)",
                    m.enabled_bits & other
                ),
            ));
        }
        layout::key_values(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::{TestDir, MODULE_0_2};
    use serde_json::json;

    fn info() -> Info {
        Info {
            size: core::mem::size_of::<Info>() as u32,
            version: uapi::version(0, 2, 0),
            features: uapi::FEATURE_LISTEN,
            enabled: uapi::FEATURE_LISTEN,
            nr_cpu_ids: 4,
            reserved: 0,
        }
    }

    #[test]
    fn text_report() {
        let d = TestDir::new(&MODULE_0_2);
        let s = Status::of(&info(), &Sysctls::at(d.path()));
        assert_eq!(
            s.render(),
            "module          loaded\n\
             version         0.2.0\n\
             nr_cpu_ids      4\n\
             listen          on\n\
             listen-auto     off\n\
             listen-idle-ms  200\n"
        );
    }

    #[test]
    fn json_report() {
        let d = TestDir::new(&MODULE_0_2);
        let s = Status::of(&info(), &Sysctls::at(d.path()));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({
                "loaded": true,
                "version": "0.2.0",
                "version_code": 512,
                "nr_cpu_ids": 4,
                "feature_bits": 1,
                "enabled_bits": 1,
                "features": {"listen": true, "listen-auto": false},
                "settings": {"listen-idle-ms": 200},
            })
        );
        let m = s.module.unwrap();
        assert_eq!(m.features.get("listen"), Some(&true));
        assert_eq!(m.features.get("rfd"), None);
    }

    #[test]
    fn not_loaded() {
        let s = Status::not_loaded();
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"loaded":false}"#);
        assert_eq!(
            s.render(),
            "module  not loaded (no /dev/fastsocket; load it with insmod fastsocket.ko)\n"
        );
    }

    #[test]
    fn later_features_show_when_their_sysctl_exists() {
        let d = TestDir::new(&[
            ("listen", "0\n"),
            ("listen_auto", "1\n"),
            ("listen_idle_ms", "200\n"),
            ("rfd", "1\n"),
        ]);
        let mut i = info();
        i.features |= 1 << 3;
        i.enabled = 1 << 3;
        let text = Status::of(&i, &Sysctls::at(d.path())).render();
        assert!(text.contains("\nlisten          off\n"), "{text}");
        assert!(text.contains("\nlisten-auto     on\n"), "{text}");
        assert!(text.contains("\nrfd             on\n"), "{text}");
        assert!(!text.contains("established"), "{text}");
        assert!(text.contains("other features  0x8 (enabled 0x8;"), "{text}");
    }

    #[test]
    fn unreadable_sysctls_are_unknown() {
        let d = TestDir::new(&[("listen", "x\n"), ("listen_auto", "?\n")]);
        let mut i = info();
        i.enabled = 0;
        let s = Status::of(&i, &Sysctls::at(d.path()));
        let m = s.module.as_ref().unwrap();
        // listen falls back to INFO's enabled bits.
        assert_eq!(m.features.0[0], ("listen", Some(false)));
        assert_eq!(m.features.0[1], ("listen-auto", None));
        assert!(s.render().contains("listen-auto  unknown\n"));
    }
}
