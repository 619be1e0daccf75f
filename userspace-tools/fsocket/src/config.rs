// SPDX-License-Identifier: GPL-2.0

//! What the environment asks of the library, read once per process image.

use fastsocket_abi::{cpulist, CpuSet};

/// The variables, by name (documented in `Documentation/userspace.rst`).
pub const DISABLE: &str = "FASTSOCKET_DISABLE";
pub const CPUS: &str = "FASTSOCKET_CPUS";
pub const PIN: &str = "FASTSOCKET_PIN";
pub const VERBOSE: &str = "FASTSOCKET_VERBOSE";

/// The library's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `FASTSOCKET_DISABLE=1`: do nothing at all, as if not preloaded.
    pub disabled: bool,
    /// `FASTSOCKET_CPUS=LIST`: per-cpu accept queues only on these cpus
    /// (and workers pinned only to them); all cpus without it.
    pub cpus: Option<CpuSet>,
    /// `FASTSOCKET_PIN=1`: pin each thread that accepts to its own cpu
    /// (only pinned workers use the per-cpu accept queues).
    pub pin: bool,
    /// `FASTSOCKET_VERBOSE=1`: a line for every listener enabled.
    pub verbose: bool,
    /// Values that were not understood (and were ignored), to say so once.
    pub ignored: Vec<String>,
}

/// A boolean variable: unset, empty and `0` are off; `1` is on; anything
/// else is reported and taken as off.
fn flag(name: &str, value: Option<&str>, ignored: &mut Vec<String>) -> bool {
    match value {
        None | Some("") | Some("0") => false,
        Some("1") => true,
        Some(v) => {
            ignored.push(format!("{name}={v}"));
            false
        }
    }
}

impl Config {
    /// Reads the settings through `get` (`std::env::var` in the library,
    /// a table in the tests).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut ignored = Vec::new();
        let disabled = flag(DISABLE, get(DISABLE).as_deref(), &mut ignored);
        let pin = flag(PIN, get(PIN).as_deref(), &mut ignored);
        let verbose = flag(VERBOSE, get(VERBOSE).as_deref(), &mut ignored);
        let cpus = match get(CPUS).as_deref() {
            None | Some("") => None,
            Some(list) => {
                let set = cpulist::parse(list);
                if set.is_none() {
                    ignored.push(format!("{CPUS}={list}"));
                }
                set
            }
        };
        Self {
            disabled,
            cpus,
            pin,
            verbose,
            ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_env(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn nothing_set_means_enable_everywhere_without_pinning() {
        assert_eq!(config(&[]), Config::default());
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[(PIN, "1"), (CPUS, "0-1,3"), (VERBOSE, "1")]);
        assert!(c.pin && c.verbose && !c.disabled);
        assert_eq!(
            c.cpus.map(|s| s.iter().collect::<Vec<_>>()),
            Some(vec![0, 1, 3])
        );
        assert!(c.ignored.is_empty());
        assert!(config(&[(DISABLE, "1")]).disabled);
    }

    #[test]
    fn zero_and_empty_are_off() {
        let c = config(&[(PIN, "0"), (DISABLE, ""), (CPUS, "")]);
        assert_eq!(c, Config::default());
    }

    #[test]
    fn values_not_understood_are_ignored_and_named() {
        let c = config(&[(PIN, "yes"), (CPUS, "0-")]);
        assert!(!c.pin);
        assert_eq!(c.cpus, None);
        assert_eq!(c.ignored, vec!["FASTSOCKET_PIN=yes", "FASTSOCKET_CPUS=0-"]);
    }
}
