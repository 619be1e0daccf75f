// SPDX-License-Identifier: GPL-2.0

//! The `/dev/fastsocket` ABI, mirrored from `include/uapi/linux/fastsocket.h`.
//!
//! The C header is the definition; this mirror is what the module and the
//! Rust tools compile against.  A host test (`fastsocket-abi`'s `uapi_matches_c`)
//! compiles the header and checks every size, offset and number here.

/// Path of the misc device.
pub const DEVICE: &str = "/dev/fastsocket";
/// The ioctl type byte.
pub const IOC_MAGIC: u32 = 0xF5;

/// Local listen tables.
pub const FEATURE_LISTEN: u64 = 1 << 0;
/// Every feature this version implements.
pub const FEATURES: u64 = FEATURE_LISTEN;

/// Words of a cpu set (1024 cpus).
pub const CPUSET_WORDS: usize = 16;
/// Cpus a cpu set can name.
pub const CPUSET_BITS: usize = CPUSET_WORDS * 64;

/// `fastsocket_listen.flags`: only the cpus of `cpus`.
pub const LISTEN_CPUS: u32 = 1 << 0;
/// `fastsocket_listen_state.state`: local listen is enabled.
pub const STATE_ENABLED: u32 = 1 << 0;

/// `struct fastsocket_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// In: `size_of::<Info>()`.
    pub size: u32,
    /// Out: `(major << 16) | (minor << 8) | patch`.
    pub version: u32,
    /// Out: features implemented.
    pub features: u64,
    /// Out: features switched on.
    pub enabled: u64,
    /// Out: cpu numbers are below this.
    pub nr_cpu_ids: u32,
    /// Zero.
    pub reserved: u32,
}

/// `struct fastsocket_listen`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listen {
    /// In: `size_of::<Listen>()`.
    pub size: u32,
    /// In: the listening socket.
    pub fd: i32,
    /// In: `LISTEN_*` flags.
    pub flags: u32,
    /// Zero.
    pub reserved: u32,
    /// In: the cpu set, with [`LISTEN_CPUS`].
    pub cpus: [u64; CPUSET_WORDS],
}

/// `struct fastsocket_listen_state`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenState {
    /// In: `size_of::<ListenState>()`.
    pub size: u32,
    /// In: the socket.
    pub fd: i32,
    /// Out: `STATE_*` flags.
    pub state: u32,
    /// Out: CPUs whose accept queue is in use now.
    pub nr_local: u32,
    /// Out: connections waiting on the per-CPU accept queues.
    pub queued: u32,
    /// Zero.
    pub reserved: u32,
    /// Out: bytes held for its local listen.
    pub memory: u64,
    /// Out: cpus whose accept queue may be used.
    pub cpus: [u64; CPUSET_WORDS],
    /// Out: cpus whose accept queue is in use now.
    pub local: [u64; CPUSET_WORDS],
}

const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | (IOC_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}

/// `FASTSOCKET_IOC_INFO`.
pub const IOC_INFO: u32 = ioc(IOC_READ | IOC_WRITE, 0x00, core::mem::size_of::<Info>());
/// `FASTSOCKET_IOC_LISTEN`.
pub const IOC_LISTEN: u32 = ioc(IOC_WRITE, 0x01, core::mem::size_of::<Listen>());
/// `FASTSOCKET_IOC_UNLISTEN`.
pub const IOC_UNLISTEN: u32 = ioc(IOC_WRITE, 0x02, core::mem::size_of::<Listen>());
/// `FASTSOCKET_IOC_LISTEN_STATE`.
pub const IOC_LISTEN_STATE: u32 = ioc(
    IOC_READ | IOC_WRITE,
    0x03,
    core::mem::size_of::<ListenState>(),
);

/// Packs a version for [`Info::version`].
pub const fn version(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 16) | (minor << 8) | patch
}

/// A set of cpus as the ABI carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuSet(pub [u64; CPUSET_WORDS]);

impl CpuSet {
    /// The set of cpus `0..n` (as many as a set can name).
    pub fn first(n: usize) -> Self {
        let mut set = Self::default();
        for cpu in 0..n.min(CPUSET_BITS) {
            set.insert(cpu);
        }
        set
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: usize) -> bool {
        cpu < CPUSET_BITS && self.0[cpu / 64] & (1 << (cpu % 64)) != 0
    }

    /// Adds `cpu`; false if it is beyond what a set can name.
    pub fn insert(&mut self, cpu: usize) -> bool {
        if cpu >= CPUSET_BITS {
            return false;
        }
        self.0[cpu / 64] |= 1 << (cpu % 64);
        true
    }

    /// Whether no cpu is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The cpus of the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..CPUSET_BITS).filter(move |&c| self.contains(c))
    }

    /// The first cpu of the set that fails `ok` (does not exist, is offline).
    pub fn first_invalid(&self, ok: impl Fn(usize) -> bool) -> Option<usize> {
        self.iter().find(|&c| !ok(c))
    }
}
