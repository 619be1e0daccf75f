// SPDX-License-Identifier: GPL-2.0

//! `fsctl socket PID/FD`: the local-listen state of another process's
//! socket.
//!
//! LISTEN_STATE names a descriptor of the caller, so fsctl first takes a
//! duplicate of the target's with pidfd_open(2) and pidfd_getfd(2), which
//! needs ptrace access to the process (root, or its user).

use std::{
    fmt, io,
    mem::{size_of, MaybeUninit},
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    str::FromStr,
};

use fastsocket_abi::{uapi, CpuSet, ListenState};
use serde::Serialize;

use crate::{layout, module, Error};
use fastsocket_abi::{cpulist, sockopt::int as sockopt};

/// A descriptor of a process: `PID/FD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub pid: i32,
    pub fd: i32,
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected PID/FD, like 1234/5, not '{s}'");
        let (pid, fd) = s.split_once('/').ok_or_else(bad)?;
        // Digits only: no signs, blanks or "+5" that parse() would take.
        let number = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                t.parse::<i32>().ok()
            }
        };
        let pid = number(pid).filter(|&p| p > 0).ok_or_else(bad)?;
        let fd = number(fd).ok_or_else(bad)?;
        Ok(Self { pid, fd })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pid, self.fd)
    }
}

/// The error of `pidfd_open(pid)`.
pub fn pidfd_open_error(pid: i32, err: io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::ESRCH) => Error::NoProcess(pid),
        Some(libc::ENOSYS) => Error::Unsupported("pidfd_open(2) (Linux 5.3 or later)"),
        // Kernels before 6.9 take thread-group leaders only.
        Some(libc::EINVAL) => Error::io(
            format!("pidfd_open({pid}) (a thread id, not a process id?)"),
            err,
        ),
        _ => Error::io(format!("pidfd_open({pid})"), err),
    }
}

/// The error of `pidfd_getfd` on `t`.
pub fn pidfd_getfd_error(t: Target, err: io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => Error::ProcessNotPermitted(t.pid),
        Some(libc::EBADF) => Error::NoFd(t),
        // The process exited after pidfd_open.
        Some(libc::ESRCH) => Error::NoProcess(t.pid),
        Some(libc::ENOSYS) => Error::Unsupported("pidfd_getfd(2) (Linux 5.6 or later)"),
        _ => Error::io(format!("pidfd_getfd({t})"), err),
    }
}

/// The return value of a system call that makes a descriptor.
fn new_fd(rc: libc::c_long) -> io::Result<OwnedFd> {
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(rc).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just made `fd` for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A duplicate, in this process, of the descriptor `t` names.
pub fn duplicate(t: Target) -> Result<OwnedFd, Error> {
    // SAFETY: pidfd_open takes a pid and flags, and touches no memory.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, t.pid, 0) };
    let pidfd = new_fd(rc).map_err(|e| pidfd_open_error(t.pid, e))?;
    // SAFETY: pidfd_getfd takes descriptors and flags, and touches no
    // memory; `pidfd` is open for the call.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), t.fd, 0) };
    new_fd(rc).map_err(|e| pidfd_getfd_error(t, e))
}

/// What a socket is, for "not a TCP socket (it is ...)"; `None` for TCP
/// over IPv4 or IPv6.
pub fn describe(domain: i32, ty: i32, protocol: i32) -> Option<String> {
    let family = match domain {
        libc::AF_INET => "an IPv4".to_string(),
        libc::AF_INET6 => "an IPv6".to_string(),
        libc::AF_UNIX => "a unix".to_string(),
        libc::AF_NETLINK => "a netlink".to_string(),
        libc::AF_PACKET => "a packet".to_string(),
        libc::AF_VSOCK => "a vsock".to_string(),
        _ => format!("a family-{domain}"),
    };
    let inet = domain == libc::AF_INET || domain == libc::AF_INET6;
    let kind = match (inet, protocol, ty) {
        (true, libc::IPPROTO_TCP, _) => return None,
        (true, libc::IPPROTO_UDP, _) => "UDP".to_string(),
        (true, libc::IPPROTO_MPTCP, _) => "MPTCP".to_string(),
        (true, libc::IPPROTO_SCTP, _) => "SCTP".to_string(),
        (_, _, libc::SOCK_STREAM) => "stream".to_string(),
        (_, _, libc::SOCK_DGRAM) => "datagram".to_string(),
        (_, _, libc::SOCK_SEQPACKET) => "seqpacket".to_string(),
        (_, _, libc::SOCK_RAW) => "raw".to_string(),
        _ => format!("protocol-{protocol}"),
    };
    Some(format!("{family} {kind} socket"))
}

/// The address of an `AF_INET`/`AF_INET6` socket address.
pub fn to_socket_addr(ss: &libc::sockaddr_storage, len: usize) -> Option<SocketAddr> {
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in,
            // and the storage is large and aligned enough for any.
            let sin =
                unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a sockaddr_in6.
            let sin6 =
                unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The local address of the socket `fd`.
fn local_addr(fd: RawFd) -> io::Result<Option<SocketAddr>> {
    let mut ss = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss` is valid for writes of `len` bytes.
    let rc = unsafe { libc::getsockname(fd, ss.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zeroed is a valid sockaddr_storage, and the kernel wrote at
    // most its size.
    let ss = unsafe { ss.assume_init() };
    Ok(to_socket_addr(&ss, len as usize))
}

/// What `socket` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub pid: i32,
    pub fd: i32,
    /// The local address (`null` if it has none).
    pub address: Option<String>,
    pub listening: bool,
    pub enabled: bool,
    /// The CPUs whose accept queue of the listener may be used.
    pub allowed_cpus: Vec<usize>,
    pub allowed_cpulist: String,
    /// The CPUs whose accept queue is in use now: a task pinned there
    /// accepted or polled the listener within `listen_idle_ms`, or waits
    /// on that CPU's queue now (the JSON keys keep their first names,
    /// which are ABI).
    pub local_cpus: Vec<usize>,
    pub local_cpulist: String,
    /// How many CPUs that is.
    pub local_listeners: u32,
    /// Connections waiting on the per-CPU accept queues (not those on the
    /// listener's shared queue).
    pub queued: u32,
    /// Bytes held for the per-CPU accept queues.
    pub memory: u64,
}

impl Report {
    /// The report of `t` from what the kernel said of it.
    pub fn new(t: Target, address: Option<SocketAddr>, listening: bool, st: &ListenState) -> Self {
        let allowed: Vec<usize> = CpuSet(st.cpus).iter().collect();
        let local: Vec<usize> = CpuSet(st.local).iter().collect();
        Self {
            pid: t.pid,
            fd: t.fd,
            address: address.map(|a| a.to_string()),
            listening,
            enabled: st.state & uapi::STATE_ENABLED != 0,
            allowed_cpulist: cpulist::format(allowed.iter().copied()),
            allowed_cpus: allowed,
            local_cpulist: cpulist::format(local.iter().copied()),
            local_cpus: local,
            local_listeners: st.nr_local,
            queued: st.queued,
            memory: st.memory,
        }
    }

    /// The plain-text report.
    pub fn render(&self) -> String {
        let yes_no = |b| if b { "yes" } else { "no" };
        let list = |l: &str| {
            if l.is_empty() {
                "none".to_string()
            } else {
                l.to_string()
            }
        };
        layout::key_values(&[
            ("socket", format!("{}/{}", self.pid, self.fd)),
            (
                "address",
                self.address.clone().unwrap_or_else(|| "none".into()),
            ),
            ("listening", yes_no(self.listening).into()),
            (
                "local-listen",
                if self.enabled { "enabled" } else { "disabled" }.into(),
            ),
            ("allowed-cpus", list(&self.allowed_cpulist)),
            ("cpus-in-use", list(&self.local_cpulist)),
            ("queues-in-use", self.local_listeners.to_string()),
            ("queued", self.queued.to_string()),
            ("memory", format!("{} bytes", self.memory)),
        ])
    }
}

/// The error of LISTEN_STATE on `t`.
pub fn ioctl_error(t: Target, err: io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::ENOTSOCK) => Error::NotSocket(t),
        Some(libc::EOPNOTSUPP) => Error::SocketNotSupported(t),
        _ => Error::io(format!("FASTSOCKET_IOC_LISTEN_STATE on {t}"), err),
    }
}

/// Looks `t` up and asks the module about it.
pub fn inspect(t: Target) -> Result<Report, Error> {
    // The module first: without it there is nothing to ask.
    let dev = module::open()?;
    let fd = duplicate(t)?;
    let raw = fd.as_raw_fd();
    let opt = |name, what: &str| {
        sockopt(raw, name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOTSOCK) => Error::NotSocket(t),
            _ => Error::io(format!("getsockopt({what}) on {t}"), e),
        })
    };
    let domain = opt(libc::SO_DOMAIN, "SO_DOMAIN")?;
    let ty = opt(libc::SO_TYPE, "SO_TYPE")?;
    let protocol = opt(libc::SO_PROTOCOL, "SO_PROTOCOL")?;
    if let Some(what) = describe(domain, ty, protocol) {
        return Err(Error::NotTcp { target: t, what });
    }
    let listening = opt(libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")? != 0;
    let address = local_addr(raw).map_err(|e| Error::io(format!("getsockname on {t}"), e))?;
    let st = dev.listen_state(raw).map_err(|e| ioctl_error(t, e))?;
    Ok(Report::new(t, address, listening, &st))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::{TcpListener, UdpSocket};

    #[test]
    fn parses_pid_slash_fd() {
        assert_eq!("1234/5".parse(), Ok(Target { pid: 1234, fd: 5 }));
        assert_eq!("1/0".parse(), Ok(Target { pid: 1, fd: 0 }));
        assert_eq!(Target { pid: 77, fd: 3 }.to_string(), "77/3");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "1234",
            "1234/",
            "/5",
            "0/5",
            "-1/5",
            "1/-5",
            "+1/5",
            "1/+5",
            "1 /5",
            "a/5",
            "1/5/6",
            "1/0x5",
            "99999999999/1",
            "1/99999999999",
        ] {
            let e = s.parse::<Target>().unwrap_err();
            assert!(e.contains("expected PID/FD"), "{s:?}: {e}");
        }
    }

    #[test]
    fn pidfd_errors() {
        let t = Target { pid: 42, fd: 7 };
        let e = |n| io::Error::from_raw_os_error(n);
        assert_eq!(
            pidfd_open_error(42, e(libc::ESRCH)).to_string(),
            "no such process: 42"
        );
        assert!(matches!(
            pidfd_getfd_error(t, e(libc::EPERM)),
            Error::ProcessNotPermitted(42)
        ));
        assert!(pidfd_getfd_error(t, e(libc::EPERM))
            .to_string()
            .starts_with("not permitted: "));
        assert_eq!(
            pidfd_getfd_error(t, e(libc::EBADF)).to_string(),
            "process 42 has no fd 7"
        );
        assert!(matches!(
            pidfd_getfd_error(t, e(libc::ESRCH)),
            Error::NoProcess(42)
        ));
        assert!(matches!(
            pidfd_getfd_error(t, e(libc::ENOSYS)),
            Error::Unsupported(_)
        ));
        assert_eq!(
            ioctl_error(t, e(libc::ENOTSOCK)).to_string(),
            "42/7 is not a socket"
        );
        assert!(ioctl_error(t, e(libc::EOPNOTSUPP))
            .to_string()
            .starts_with("42/7 is a socket local listen does not support"));
        assert!(!ioctl_error(t, e(libc::EOPNOTSUPP))
            .to_string()
            .contains("MD5"));
    }

    #[test]
    fn describes_what_is_not_tcp() {
        use libc::*;
        assert_eq!(describe(AF_INET, SOCK_STREAM, IPPROTO_TCP), None);
        assert_eq!(describe(AF_INET6, SOCK_STREAM, IPPROTO_TCP), None);
        assert_eq!(
            describe(AF_INET, SOCK_DGRAM, IPPROTO_UDP).as_deref(),
            Some("an IPv4 UDP socket")
        );
        assert_eq!(
            describe(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP).as_deref(),
            Some("an IPv6 MPTCP socket")
        );
        assert_eq!(
            describe(AF_UNIX, SOCK_STREAM, 0).as_deref(),
            Some("a unix stream socket")
        );
        assert_eq!(
            describe(AF_NETLINK, SOCK_RAW, 0).as_deref(),
            Some("a netlink raw socket")
        );
        assert_eq!(
            describe(99, 77, 5).as_deref(),
            Some("a family-99 protocol-5 socket")
        );
    }

    #[test]
    fn addresses_of_real_sockets() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = local_addr(l.as_raw_fd()).unwrap();
        assert_eq!(a, Some(l.local_addr().unwrap()));
        assert_eq!(sockopt(l.as_raw_fd(), libc::SO_ACCEPTCONN).unwrap(), 1);
        assert_eq!(
            sockopt(l.as_raw_fd(), libc::SO_PROTOCOL).unwrap(),
            libc::IPPROTO_TCP
        );
        if let Ok(l6) = TcpListener::bind("[::1]:0") {
            assert_eq!(
                local_addr(l6.as_raw_fd()).unwrap(),
                Some(l6.local_addr().unwrap())
            );
        }
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (d, t, p) = (
            sockopt(u.as_raw_fd(), libc::SO_DOMAIN).unwrap(),
            sockopt(u.as_raw_fd(), libc::SO_TYPE).unwrap(),
            sockopt(u.as_raw_fd(), libc::SO_PROTOCOL).unwrap(),
        );
        assert_eq!(describe(d, t, p).as_deref(), Some("an IPv4 UDP socket"));
        // A file is not a socket.
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        let e = sockopt(f.as_raw_fd(), libc::SO_DOMAIN).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK));
    }

    #[test]
    fn unknown_family_has_no_address() {
        // SAFETY (test): all-zero is a valid sockaddr_storage.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        ss.ss_family = libc::AF_UNIX as libc::sa_family_t;
        assert_eq!(
            to_socket_addr(&ss, size_of::<libc::sockaddr_storage>()),
            None
        );
        ss.ss_family = libc::AF_INET as libc::sa_family_t;
        // Too short for a sockaddr_in.
        assert_eq!(to_socket_addr(&ss, 4), None);
    }

    #[test]
    fn duplicates_own_descriptor() {
        // pidfd_getfd on ourselves needs no privilege beyond our own; a
        // kernel without it (or a sandbox refusing it) is not a failure
        // of fsctl.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Target {
            pid: std::process::id() as i32,
            fd: l.as_raw_fd(),
        };
        match duplicate(t) {
            Ok(fd) => {
                assert_ne!(fd.as_raw_fd(), l.as_raw_fd());
                assert_eq!(
                    local_addr(fd.as_raw_fd()).unwrap(),
                    Some(l.local_addr().unwrap())
                );
            }
            Err(e) => eprintln!("pidfd_getfd unavailable here: {e}"),
        }
        // A descriptor we do not have.
        let none = Target {
            pid: std::process::id() as i32,
            fd: 1_000_000,
        };
        match duplicate(none) {
            Err(Error::NoFd(t)) => assert_eq!(t, none),
            Err(Error::Unsupported(_)) | Err(Error::ProcessNotPermitted(_)) => {}
            other => panic!("{other:?}"),
        }
    }

    fn state() -> ListenState {
        let mut cpus = CpuSet::default();
        let mut local = CpuSet::default();
        for c in [0, 1, 2, 3, 6] {
            cpus.insert(c);
        }
        for c in [0, 1] {
            local.insert(c);
        }
        ListenState {
            size: size_of::<ListenState>() as u32,
            fd: 3,
            state: uapi::STATE_ENABLED,
            nr_local: 2,
            queued: 5,
            reserved: 0,
            memory: 12288,
            cpus: cpus.0,
            local: local.0,
        }
    }

    #[test]
    fn report_text_and_json() {
        let t = Target { pid: 100, fd: 3 };
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let r = Report::new(t, Some(addr), true, &state());
        assert_eq!(
            r.render(),
            "socket         100/3\n\
             address        127.0.0.1:8080\n\
             listening      yes\n\
             local-listen   enabled\n\
             allowed-cpus   0-3,6\n\
             cpus-in-use    0-1\n\
             queues-in-use  2\n\
             queued         5\n\
             memory         12288 bytes\n"
        );
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "pid": 100, "fd": 3, "address": "127.0.0.1:8080", "listening": true,
                "enabled": true, "allowed_cpus": [0, 1, 2, 3, 6], "allowed_cpulist": "0-3,6",
                "local_cpus": [0, 1], "local_cpulist": "0-1", "local_listeners": 2,
                "queued": 5, "memory": 12288,
            })
        );
    }

    #[test]
    fn report_of_a_disabled_socket() {
        let st = ListenState::default();
        let r = Report::new(Target { pid: 1, fd: 4 }, None, false, &st);
        let text = r.render();
        assert!(text.contains("local-listen   disabled\n"), "{text}");
        assert!(text.contains("allowed-cpus   none\n"), "{text}");
        assert!(text.contains("address        none\n"), "{text}");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["enabled"], json!(false));
        assert_eq!(v["address"], json!(null));
        assert_eq!(v["allowed_cpus"], json!([]));
        assert_eq!(v["allowed_cpulist"], json!(""));
    }
}
