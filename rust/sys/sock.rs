// SPDX-License-Identifier: GPL-2.0

//! Sockets: the listeners the module enables and their per-CPU accept
//! queues (`net/ipv4/fastsocket_listen.c` does the socket work).

use core::ptr::NonNull;

use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

use crate::pure::uapi::CpuSet;

/// The identity of a socket, for comparisons only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SockId(usize);

/// A `struct sock`.
///
/// # Invariants
///
/// A `Sock` is only reached by reference, and the `struct sock` behind it
/// is live for as long as the reference: `&'a Sock` (a [`SockView`]) for
/// `'a`, [`SockRef`] by holding a reference count.
#[repr(transparent)]
pub(crate) struct Sock(Opaque<bindings::sock>);

/// A socket that stays valid for `'a`.
pub(crate) type SockView<'a> = &'a Sock;

/// A counted reference to a socket (`sock_hold`/`sock_put`).
pub(crate) type SockRef = ARef<Sock>;

// SAFETY: a socket may be used, and its last reference dropped, on any CPU;
// the methods below go through the socket's own synchronisation (atomic
// counts, its lock, single reads of fields that are set once).
unsafe impl Send for Sock {}
// SAFETY: as above.
unsafe impl Sync for Sock {}

// SAFETY: `sock_hold` and `sock_put` keep the socket alive while its count
// is not zero; `sock_put` frees it at zero.
unsafe impl AlwaysRefCounted for Sock {
    fn inc_ref(&self) {
        // SAFETY: the socket is live (type invariant), so its count is not
        // zero.
        unsafe { bindings::sock_hold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns one reference on the socket; `Sock` is a
        // transparent wrapper of `struct sock`.
        unsafe { bindings::sock_put(obj.cast::<bindings::sock>().as_ptr()) };
    }
}

impl Sock {
    /// The socket at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live `struct sock` for the returned lifetime.
    pub(crate) unsafe fn from_raw<'a>(ptr: NonNull<bindings::sock>) -> &'a Self {
        // SAFETY: `Sock` is a transparent wrapper of `struct sock`, live for
        // `'a` by the caller's contract.
        unsafe { &*ptr.as_ptr().cast::<Self>() }
    }

    /// The socket's identity.
    pub(crate) fn id(&self) -> SockId {
        SockId(self.as_ptr() as usize)
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// Takes a reference on the socket.
    pub(crate) fn hold(&self) -> SockRef {
        ARef::from(self)
    }

    /// Whether the socket is in the `TCP_LISTEN` state now.
    pub(crate) fn is_listening(&self) -> bool {
        // SAFETY: the socket is live (type invariant); the state is a byte
        // read once.
        let state = unsafe {
            core::ptr::read_volatile(core::ptr::addr_of!((*self.as_ptr()).__sk_common.skc_state))
        };
        u32::from(state) == bindings::TCP_LISTEN
    }

    /// Locks the socket (`lock_sock()`).  Process context; may sleep.
    pub(crate) fn lock(&self) -> Locked<'_> {
        // SAFETY: the socket is live (type invariant); the lock is released
        // by `Locked`.
        unsafe { bindings::lock_sock(self.as_ptr()) };
        // INVARIANT: the lock is taken, and released on drop.
        Locked {
            sk: self,
            owned: true,
        }
    }

    /// Moves the connections of the listener's per-CPU queues that have not
    /// been empty for `max_age_ms` (0: all queues) to its shared queue,
    /// where any worker takes them; returns how many moved.  Process
    /// context.
    pub(crate) fn rescue(&self, max_age_ms: u32) -> u32 {
        // SAFETY: the socket is live (type invariant); the call takes only
        // the queues' own locks.
        unsafe { bindings::fastsocket_listener_rescue(self.as_ptr(), max_age_ms) }
    }

    /// The listener's per-CPU queues as `FASTSOCKET_IOC_LISTEN_STATE`
    /// reports them.
    pub(crate) fn listener_state(&self) -> ListenerState {
        let mut st = bindings::fastsocket_listener_state::default();
        // SAFETY: the socket is live (type invariant); `st` is valid for
        // writes.
        let enabled = unsafe { bindings::fastsocket_listener_state(self.as_ptr(), &mut st) };
        ListenerState {
            enabled,
            allowed: cpuset_of(&st.allowed),
            attended: cpuset_of(&st.attended),
            waiting: st.waiting,
            memory: st.memory,
        }
    }
}

/// A listener's per-CPU accept queues.
pub(crate) struct ListenerState {
    /// New connections may wait on them.
    pub(crate) enabled: bool,
    /// The CPUs whose queues may be used.
    pub(crate) allowed: CpuSet,
    /// The CPUs whose queues are in use (a pinned worker accepted or polled
    /// there within the idle time, or waits there now).
    pub(crate) attended: CpuSet,
    /// Connections waiting on them.
    pub(crate) waiting: u32,
    /// Bytes held for them.
    pub(crate) memory: u64,
}

/// Bits per word of a `struct cpumask`.
const MASK_WORD_BITS: usize = usize::BITS as usize;

/// The CPUs of a `struct cpumask` that a [`CpuSet`] has room for.
fn cpuset_of(mask: &bindings::cpumask) -> CpuSet {
    let mut set = CpuSet::default();
    for (i, word) in mask.bits.iter().enumerate() {
        for bit in (0..MASK_WORD_BITS).filter(|b| word & (1 << b) != 0) {
            set.insert(i * MASK_WORD_BITS + bit);
        }
    }
    set
}

/// A `struct cpumask` of the CPUs of `set` (those the kernel has room
/// for).
fn cpumask_of(set: &CpuSet) -> bindings::cpumask {
    let mut mask = bindings::cpumask::default();
    for cpu in set.iter() {
        if let Some(word) = mask.bits.get_mut(cpu / MASK_WORD_BITS) {
            *word |= 1 << (cpu % MASK_WORD_BITS);
        }
    }
    mask
}

/// A socket locked by `lock_sock()`.
///
/// # Invariants
///
/// The socket's lock is held for the struct's lifetime, and released on
/// drop if `owned`.
pub(crate) struct Locked<'a> {
    sk: SockView<'a>,
    owned: bool,
}

impl<'a> Locked<'a> {
    /// A socket the caller holds locked (a hook called with the lock held).
    ///
    /// # Safety
    ///
    /// The socket's lock must be held by the caller for `'a`.
    pub(crate) unsafe fn assume(sk: SockView<'a>) -> Self {
        Self { sk, owned: false }
    }

    /// The socket.
    pub(crate) fn sock(&self) -> SockView<'a> {
        self.sk
    }

    /// Gives a listening TCP socket per-CPU accept queues, used on `cpus`;
    /// for an enabled one, sets its CPUs.  Process context.
    ///
    /// Fails with `EOPNOTSUPP` for other sockets and for listeners whose
    /// wakeups are not the stock ones, `EINVAL` if it does not listen,
    /// `ENOMEM`.
    pub(crate) fn enable(&self, cpus: &CpuSet) -> Result {
        let mask = cpumask_of(cpus);
        // SAFETY: the socket is live and locked (type invariant); `mask`
        // is valid for reads during the call.
        to_result(unsafe { bindings::fastsocket_listener_enable(self.sk.as_ptr(), &mask) })
    }

    /// Sends the listener back to its stock accept queue: every connection
    /// of its per-CPU queues moves there.  Process context.
    pub(crate) fn disable(&self) {
        // SAFETY: the socket is live and locked (type invariant).
        unsafe { bindings::fastsocket_listener_disable(self.sk.as_ptr()) };
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: `lock` took the lock (type invariant).
            unsafe { bindings::release_sock(self.sk.as_ptr()) };
        }
    }
}

/// The socket behind a file descriptor of the calling task.
///
/// # Invariants
///
/// `sock` is a socket whose file the struct holds a reference on.
pub(crate) struct SocketFile {
    sock: NonNull<bindings::socket>,
}

impl SocketFile {
    /// Looks `fd` up: `EBADF` if it is not open, `ENOTSOCK` if it is not a
    /// socket.
    pub(crate) fn lookup(fd: i32) -> Result<Self> {
        let mut err = 0;
        // SAFETY: `sockfd_lookup` checks `fd` against the caller's file
        // table and takes a reference on the file it returns.
        let sock = unsafe { bindings::sockfd_lookup(fd, &mut err) };
        match NonNull::new(sock) {
            Some(sock) => Ok(Self { sock }),
            None => Err(Error::from_errno(err)),
        }
    }

    /// The `struct sock` of the socket, if it has one.
    pub(crate) fn sk(&self) -> Option<SockView<'_>> {
        // SAFETY: the socket lives while its file does (type invariant);
        // `sk` of a socket with a file is set at creation.
        let sk = unsafe { (*self.sock.as_ptr()).sk };
        // SAFETY: the file holds the socket and so its `struct sock`.
        NonNull::new(sk).map(|p| unsafe { Sock::from_raw(p) })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // SAFETY: the struct holds a reference on the file (type invariant).
        unsafe { bindings::fput((*self.sock.as_ptr()).file) };
    }
}
