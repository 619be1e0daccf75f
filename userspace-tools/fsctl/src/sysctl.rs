// SPDX-License-Identifier: GPL-2.0

//! Reading and writing `/proc/sys/net/fastsocket/*`.
//!
//! The directory exists exactly while the module is loaded; a file missing
//! from it is a feature this module version does not have.  The directory
//! is a parameter so that the tests can use a plain one.

use std::{
    fmt, fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use crate::{
    feature::{Feature, Setting},
    module::Version,
    Error,
};

/// Where the module's sysctls are.
pub const DIR: &str = "/proc/sys/net/fastsocket";

/// A directory of fastsocket sysctls.
#[derive(Clone, Debug)]
pub struct Sysctls {
    dir: PathBuf,
}

impl Sysctls {
    /// The module's own, [`DIR`].
    pub fn system() -> Self {
        Self::at(DIR)
    }

    /// The sysctls in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file of sysctl `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The value of `name`; `None` if the module has no such sysctl.
    pub fn read(&self, name: &str) -> Result<Option<i64>, Error> {
        let path = self.path(name);
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                Error::io(
                    format!("reading {}", path.display()),
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("not a number: {text:?}"),
                    ),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.dir.is_dir() {
                    Ok(None)
                } else {
                    Err(Error::NotLoaded)
                }
            }
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes `value` to `name` as `echo value > file` would.
    fn write(&self, name: &str, value: i64) -> io::Result<()> {
        // Never create: a sysctl that is not there must stay not there.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.path(name))?;
        f.write_all(format!("{value}\n").as_bytes())
    }

    /// The error of a failed write to `name` (other than `EINVAL`, which
    /// only the caller can explain).
    fn write_error(&self, name: &str, err: io::Error) -> Error {
        let path = self.path(name);
        match err.raw_os_error() {
            // EACCES at open() for a user other than root (mode 0644);
            // EPERM from the module for root without CAP_NET_ADMIN.
            Some(libc::EACCES) | Some(libc::EPERM) => Error::NotPermitted { path },
            Some(libc::ENOENT) if !self.dir.is_dir() => Error::NotLoaded,
            _ => Error::io(format!("writing {}", path.display()), err),
        }
    }

    /// Switches `feature` on or off.  `version` names the module in the
    /// error if it lacks the feature.
    pub fn switch(
        &self,
        feature: Feature,
        on: bool,
        version: impl FnOnce() -> Option<Version>,
    ) -> Result<Change, Error> {
        let name = feature.sysctl();
        let Some(old) = self.read(name)? else {
            return Err(Error::NotProvided {
                feature: feature.name(),
                version: version(),
            });
        };
        let new = i64::from(on);
        self.write(name, new)
            .map_err(|e| self.write_error(name, e))?;
        Ok(Change {
            name: feature.name(),
            old,
            new,
            switch: true,
        })
    }

    /// Sets `setting` to `value`; the module checks the range.
    pub fn set(
        &self,
        setting: Setting,
        value: i64,
        version: impl FnOnce() -> Option<Version>,
    ) -> Result<Change, Error> {
        let name = setting.sysctl();
        let Some(old) = self.read(name)? else {
            return Err(Error::NotProvided {
                feature: setting.name(),
                version: version(),
            });
        };
        self.write(name, value).map_err(|e| {
            if e.raw_os_error() == Some(libc::EINVAL) {
                let (min, max) = setting.range();
                Error::InvalidValue {
                    setting: setting.name(),
                    value: value.to_string(),
                    min,
                    max,
                }
            } else {
                self.write_error(name, e)
            }
        })?;
        Ok(Change {
            name: setting.name(),
            old,
            new: value,
            switch: false,
        })
    }

    /// Whether the directory (so the module) is there.
    pub fn exists(&self) -> bool {
        Path::new(&self.dir).is_dir()
    }
}

/// What a write changed, for the line fsctl prints after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub name: &'static str,
    pub old: i64,
    pub new: i64,
    /// An on/off feature (shown as on/off) rather than a number.
    pub switch: bool,
}

/// A switch's value as `status` shows it.
pub fn on_off(value: i64) -> String {
    match value {
        0 => "off".into(),
        1 => "on".into(),
        v => v.to_string(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v| {
            if self.switch {
                on_off(v)
            } else {
                v.to_string()
            }
        };
        write!(f, "{} {}", self.name, show(self.new))?;
        if self.old != self.new {
            write!(f, " (was {})", show(self.old))
        } else {
            write!(f, " (unchanged)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::{TestDir, MODULE_0_2};
    use fastsocket_pure::sysctl::Setting as Row;

    fn feature(name: &str) -> Feature {
        Feature::parse(name).unwrap()
    }

    fn module_dir() -> (TestDir, Sysctls) {
        let d = TestDir::new(&MODULE_0_2);
        let s = Sysctls::at(d.path());
        (d, s)
    }

    fn no_version() -> Option<Version> {
        None
    }

    #[test]
    fn switch_writes_zero_and_one() {
        let (d, s) = module_dir();
        let c = s.switch(feature("listen"), false, no_version).unwrap();
        assert_eq!(c.to_string(), "listen off (was on)");
        assert_eq!(fs::read_to_string(d.path().join("listen")).unwrap(), "0\n");
        let c = s.switch(feature("listen-auto"), true, no_version).unwrap();
        assert_eq!(c.to_string(), "listen-auto on (was off)");
        assert_eq!(
            fs::read_to_string(d.path().join("listen_auto")).unwrap(),
            "1\n"
        );
        let c = s.switch(feature("listen-auto"), true, no_version).unwrap();
        assert_eq!(c.to_string(), "listen-auto on (unchanged)");
        assert_eq!(s.read("listen").unwrap(), Some(0));
    }

    #[test]
    fn set_writes_the_number() {
        let (d, s) = module_dir();
        let c = s
            .set(Setting::of(Row::ListenIdleMs), 500, no_version)
            .unwrap();
        assert_eq!(c.to_string(), "listen-idle-ms 500 (was 200)");
        assert_eq!(
            fs::read_to_string(d.path().join("listen_idle_ms")).unwrap(),
            "500\n"
        );
    }

    #[test]
    fn missing_feature_is_not_provided_and_not_created() {
        let (d, s) = module_dir();
        let e = s
            .switch(feature("rfd"), true, || Some(Version(0x000200)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature rfd is not provided by this module (version 0.2.0)"
        );
        assert!(!d.path().join("rfd").exists());
        assert_eq!(s.read("established").unwrap(), None);
    }

    #[test]
    fn missing_directory_is_not_loaded() {
        let d = TestDir::new(&[]);
        let s = Sysctls::at(d.path().join("fastsocket"));
        assert!(!s.exists());
        assert!(matches!(s.read("listen"), Err(Error::NotLoaded)));
        assert!(matches!(
            s.switch(feature("listen"), true, no_version),
            Err(Error::NotLoaded)
        ));
        assert!(!d.path().join("fastsocket").exists());
    }

    #[test]
    fn write_errors_are_explained() {
        let (_d, s) = module_dir();
        let err = |errno| s.write_error("listen", io::Error::from_raw_os_error(errno));
        for errno in [libc::EACCES, libc::EPERM] {
            assert_eq!(
                err(errno).to_string(),
                format!(
                    "not permitted: writing {} needs CAP_NET_ADMIN",
                    s.path("listen").display()
                )
            );
        }
        assert!(matches!(err(libc::EROFS), Error::Io { .. }));
        let gone = Sysctls::at("/nonexistent/fastsocket");
        assert!(matches!(
            gone.write_error("listen", io::Error::from_raw_os_error(libc::ENOENT)),
            Error::NotLoaded
        ));
    }

    #[test]
    fn garbage_in_a_sysctl_is_an_error_not_a_panic() {
        let (d, s) = module_dir();
        fs::write(d.path().join("listen"), "yes\n").unwrap();
        assert!(matches!(s.read("listen"), Err(Error::Io { .. })));
    }

    #[test]
    fn on_off_shows_other_values_as_numbers() {
        assert_eq!(on_off(0), "off");
        assert_eq!(on_off(1), "on");
        assert_eq!(on_off(7), "7");
    }
}
