// SPDX-License-Identifier: GPL-2.0

//! Whether the module is loaded, and what `FASTSOCKET_IOC_INFO` says of it.

use std::{fmt, io, path::Path};

use fastsocket_abi::{uapi, Device, Info};
use serde::{Serialize, Serializer};

use crate::Error;

/// Present while the module is loaded, whatever became of its device node.
const SYS_MODULE: &str = "/sys/module/fastsocket";

/// A module version as INFO packs it: `(major << 16) | (minor << 8) | patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version(pub u32);

impl Version {
    /// `(major, minor, patch)`.
    pub fn parts(self) -> (u32, u32, u32) {
        (self.0 >> 16, (self.0 >> 8) & 0xff, self.0 & 0xff)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor, patch) = self.parts();
        write!(f, "{major}.{minor}.{patch}")
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The error of opening the device: a missing node is a missing module
/// unless the module is there without its node.
pub fn open_error(err: io::Error, module_present: bool) -> Error {
    match err.raw_os_error() {
        // ENXIO/ENODEV: a node left over in a static /dev.
        Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => {
            if module_present {
                Error::NoDevice
            } else {
                Error::NotLoaded
            }
        }
        _ => Error::io(format!("opening {}", uapi::DEVICE), err),
    }
}

/// Opens `/dev/fastsocket`.
pub fn open() -> Result<Device, Error> {
    Device::open().map_err(|e| open_error(e, Path::new(SYS_MODULE).exists()))
}

/// The module's INFO.
pub fn info() -> Result<Info, Error> {
    open()?
        .info()
        .map_err(|e| Error::io("FASTSOCKET_IOC_INFO", e))
}

/// The module's version, if it can be had (for error messages).
pub fn version() -> Option<Version> {
    info().ok().map(|i| Version(i.version))
}

/// Names of the feature bits fsctl knows.
pub const FEATURE_BITS: [(u64, &str); 1] = [(uapi::FEATURE_LISTEN, "listen")];

/// The bits of `features` that fsctl has no name for (a newer module).
pub fn unknown_bits(features: u64) -> u64 {
    FEATURE_BITS
        .iter()
        .fold(features, |left, (bit, _)| left & !bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_unpacks() {
        assert_eq!(Version(uapi::version(0, 2, 0)).to_string(), "0.2.0");
        assert_eq!(Version(uapi::version(1, 12, 255)).to_string(), "1.12.255");
        assert_eq!(Version(0x0003_0405).parts(), (3, 4, 5));
        assert_eq!(
            serde_json::to_string(&Version(uapi::version(0, 2, 1))).unwrap(),
            "\"0.2.1\""
        );
    }

    #[test]
    fn missing_node_means_not_loaded_unless_the_module_is_there() {
        let enoent = || io::Error::from_raw_os_error(libc::ENOENT);
        assert!(matches!(open_error(enoent(), false), Error::NotLoaded));
        assert!(matches!(open_error(enoent(), true), Error::NoDevice));
        assert!(matches!(
            open_error(io::Error::from_raw_os_error(libc::ENXIO), false),
            Error::NotLoaded
        ));
        assert!(matches!(
            open_error(io::Error::from_raw_os_error(libc::EACCES), false),
            Error::Io { .. }
        ));
    }

    #[test]
    fn unknown_feature_bits() {
        assert_eq!(unknown_bits(uapi::FEATURE_LISTEN), 0);
        assert_eq!(unknown_bits(uapi::FEATURE_LISTEN | 0b110), 0b110);
        assert_eq!(unknown_bits(0), 0);
    }
}
