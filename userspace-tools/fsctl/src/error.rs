// SPDX-License-Identifier: GPL-2.0

//! Every failure fsctl reports, each as the one line an administrator reads
//! on stderr (main prefixes "fsctl: " and exits 1).

use std::{fmt, io, path::PathBuf};

use crate::{feature, module::Version, socket::Target};

/// Why a command failed.
#[derive(Debug)]
pub enum Error {
    /// Neither `/dev/fastsocket` nor the module.
    NotLoaded,
    /// The module is loaded but its device node is not there.
    NoDevice,
    /// A sysctl write refused for want of `CAP_NET_ADMIN`.
    NotPermitted { path: PathBuf },
    /// A feature fsctl knows but the loaded module has no sysctl for.
    NotProvided {
        feature: &'static str,
        version: Option<Version>,
    },
    /// A feature name fsctl does not know.
    UnknownFeature(String),
    /// A setting name fsctl does not know.
    UnknownSetting(String),
    /// A value the module (or fsctl) rejects for a setting.
    InvalidValue {
        setting: &'static str,
        value: String,
        min: i64,
        max: i64,
    },
    /// `pidfd_open` found no such process.
    NoProcess(i32),
    /// No ptrace access to the process, which `pidfd_getfd` needs.
    ProcessNotPermitted(i32),
    /// The process has no such descriptor.
    NoFd(Target),
    /// The descriptor is not a socket.
    NotSocket(Target),
    /// The socket is not TCP over IPv4 or IPv6.
    NotTcp { target: Target, what: String },
    /// A socket the module refuses (`EOPNOTSUPP`).
    SocketNotSupported(Target),
    /// The running kernel lacks a system call fsctl needs.
    Unsupported(&'static str),
    /// Anything else, with what was being done.
    Io { what: String, err: io::Error },
    /// Standard output failed (a closed pipe ends fsctl quietly).
    Output(io::Error),
}

impl Error {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, err: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            err,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoaded => write!(
                f,
                "fastsocket module is not loaded (no /dev/fastsocket; load it with insmod \
                 fastsocket.ko)"
            ),
            Error::NoDevice => write!(
                f,
                "fastsocket module is loaded but /dev/fastsocket is missing (is devtmpfs \
                 mounted on /dev?)"
            ),
            Error::NotPermitted { path } => write!(
                f,
                "not permitted: writing {} needs CAP_NET_ADMIN",
                path.display()
            ),
            Error::NotProvided { feature, version } => {
                write!(
                    f,
                    "feature {feature} is not provided by this module (version "
                )?;
                match version {
                    Some(v) => write!(f, "{v})"),
                    None => write!(f, "unknown)"),
                }
            }
            Error::UnknownFeature(name) => write!(
                f,
                "unknown feature '{name}' (known: {})",
                feature::Feature::known()
            ),
            Error::UnknownSetting(name) => write!(
                f,
                "unknown setting '{name}' (known: {})",
                feature::Setting::known()
            ),
            Error::InvalidValue {
                setting,
                value,
                min,
                max,
            } => write!(
                f,
                "invalid value '{value}' for {setting} (the module accepts {min} to {max})"
            ),
            Error::NoProcess(pid) => write!(f, "no such process: {pid}"),
            Error::ProcessNotPermitted(pid) => write!(
                f,
                "not permitted: reading the descriptors of process {pid} needs ptrace access \
                 (run as root, or as its user)"
            ),
            Error::NoFd(t) => write!(f, "process {} has no fd {}", t.pid, t.fd),
            Error::NotSocket(t) => write!(f, "{t} is not a socket"),
            Error::NotTcp { target, what } => {
                write!(f, "{target} is not a TCP socket (it is {what})")
            }
            Error::SocketNotSupported(t) => write!(
                f,
                "{t} is a socket local listen does not support (not TCP over IPv4 or IPv6, or \
                 a listener with a ULP or whose wakeups are not the stock ones)"
            ),
            Error::Unsupported(what) => write!(f, "{what} is not supported by this kernel"),
            Error::Io { what, err } => write!(f, "{what}: {err}"),
            Error::Output(err) => write!(f, "writing output: {err}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let t = Target { pid: 12, fd: 3 };
        let all = [
            Error::NotLoaded,
            Error::NoDevice,
            Error::NotPermitted {
                path: "/proc/sys/net/fastsocket/listen".into(),
            },
            Error::NotProvided {
                feature: "rfd",
                version: Some(Version(0x000200)),
            },
            Error::UnknownFeature("x".into()),
            Error::UnknownSetting("y".into()),
            Error::NoProcess(12),
            Error::ProcessNotPermitted(12),
            Error::NoFd(t),
            Error::NotSocket(t),
            Error::SocketNotSupported(t),
            Error::Unsupported("pidfd_getfd(2)"),
            Error::io("reading x", io::Error::from_raw_os_error(libc::EIO)),
        ];
        for e in all {
            let s = e.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
    }

    #[test]
    fn the_messages_the_brief_names() {
        assert_eq!(
            Error::NotLoaded.to_string(),
            "fastsocket module is not loaded (no /dev/fastsocket; load it with insmod \
             fastsocket.ko)"
        );
        assert_eq!(
            Error::NotPermitted {
                path: "/proc/sys/net/fastsocket/listen".into()
            }
            .to_string(),
            "not permitted: writing /proc/sys/net/fastsocket/listen needs CAP_NET_ADMIN"
        );
        assert_eq!(
            Error::NotProvided {
                feature: "established",
                version: Some(Version(0x000200)),
            }
            .to_string(),
            "feature established is not provided by this module (version 0.2.0)"
        );
        assert_eq!(
            Error::NotProvided {
                feature: "vfs",
                version: None,
            }
            .to_string(),
            "feature vfs is not provided by this module (version unknown)"
        );
        assert_eq!(
            Error::NotSocket(Target { pid: 1, fd: 0 }).to_string(),
            "1/0 is not a socket"
        );
    }

    #[test]
    fn unknown_feature_names_the_known_ones() {
        let s = Error::UnknownFeature("turbo".into()).to_string();
        for name in ["listen", "listen-auto", "established", "rfd", "vfs"] {
            assert!(s.contains(name), "{s}");
        }
        assert!(s.contains("'turbo'"), "{s}");
    }
}
