// SPDX-License-Identifier: GPL-2.0

//! The module's sysctls, `/proc/sys/net/fastsocket/*`: one table.
//!
//! The module registers every row of [`SYSCTLS`] (default, bounds) and reads
//! the values by [`Setting`]; `fsctl` makes its feature and setting names,
//! its help and its range messages from the same rows.  A new sysctl is one
//! line in the [`sysctls!`] invocation below (and its documentation in
//! `Documentation/control-plane.rst`).

use core::ffi::CStr;

/// What a sysctl is to an administrator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A feature switch, 0 (off) or 1 (on): `fsctl enable`/`disable`.
    Switch,
    /// A number in a range: `fsctl set`.
    Number,
}

/// One row of the table.
#[derive(Debug, PartialEq, Eq)]
pub struct Sysctl {
    /// The file name under `/proc/sys/net/fastsocket/`.
    pub name: &'static str,
    /// The same, NUL-terminated, for the kernel's `ctl_table`.
    pub c_name: &'static CStr,
    /// Switch or number.
    pub kind: Kind,
    /// The value at module load.
    pub default: i32,
    /// The lowest value a write may set.
    pub min: i32,
    /// The highest value a write may set.
    pub max: i32,
    /// What it does, in one line.
    pub meaning: &'static str,
}

/// `name` followed by a NUL, as a C string (checked at compile time).
const fn c_name(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a sysctl name must not contain NUL"),
    }
}

/// Makes [`Setting`] and [`SYSCTLS`] from one line per sysctl:
/// `Variant = "name", Kind, default, min..=max, "meaning";`.
macro_rules! sysctls {
    ($($variant:ident = $name:literal, $kind:ident, $default:literal,
       $min:literal..=$max:literal, $meaning:literal;)*) => {
        /// A sysctl of the module, in `/proc/sys` order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Setting {
            $(#[doc = $meaning] $variant,)*
        }

        impl Setting {
            /// Number of settings.
            pub const COUNT: usize = [$($name,)*].len();
            /// Every setting, in table order.
            pub const ALL: [Setting; Setting::COUNT] = [$(Setting::$variant,)*];
        }

        /// The table, in `/proc/sys` order.
        pub static SYSCTLS: [Sysctl; Setting::COUNT] = [$(Sysctl {
            name: $name,
            c_name: c_name(concat!($name, "\0")),
            kind: Kind::$kind,
            default: $default,
            min: $min,
            max: $max,
            meaning: $meaning,
        },)*];
    };
}

sysctls! {
    Listen = "listen", Switch, 1, 0..=1,
        "Local listen on (1) or off (0; every per-CPU accept queue moves to its listener's shared queue).";
    ListenAuto = "listen_auto", Switch, 0, 0..=1,
        "Local listen for every TCP listener (1), or only those enabled through /dev/fastsocket (0).";
    ListenIdleMs = "listen_idle_ms", Number, 200, 10..=60000,
        "Milliseconds a CPU's accept queue stays in use after its pinned workers' last accept or poll, and may stay non-empty before its connections move to the shared queue.";
}

/// Switches of the mechanisms to come, which `fsctl` knows by name so that
/// asking for one says this module lacks it rather than that the name is
/// wrong.  A name the table has as well is the table's.
pub const PLANNED: [&str; 3] = ["established", "rfd", "vfs"];

impl Setting {
    /// Index of the setting in [`SYSCTLS`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Its row of the table.
    pub fn sysctl(self) -> &'static Sysctl {
        &SYSCTLS[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rows_are_what_the_module_registered_before() {
        let rows: Vec<_> = SYSCTLS
            .iter()
            .map(|s| (s.name, s.kind, s.default, s.min, s.max))
            .take(3)
            .collect();
        assert_eq!(
            rows,
            [
                ("listen", Kind::Switch, 1, 0, 1),
                ("listen_auto", Kind::Switch, 0, 0, 1),
                ("listen_idle_ms", Kind::Number, 200, 10, 60000),
            ]
        );
    }

    #[test]
    fn rows_are_consistent() {
        for (i, s) in Setting::ALL.iter().enumerate() {
            let row = s.sysctl();
            assert_eq!(s.index(), i);
            assert_eq!(row.c_name.to_str(), Ok(row.name));
            assert!(row.min <= row.default && row.default <= row.max, "{row:?}");
            if row.kind == Kind::Switch {
                assert_eq!((row.min, row.max), (0, 1), "{row:?}");
            }
            assert!(!row.meaning.is_empty() && !row.meaning.contains('\n'));
            let dup = SYSCTLS.iter().filter(|r| r.name == row.name).count();
            assert_eq!(dup, 1, "{} twice", row.name);
        }
    }
}
