// SPDX-License-Identifier: GPL-2.0

//! Sockets: the listeners the module enables and the local listeners it
//! makes for them (`net/ipv4/fastsocket_listen.c` does the socket work).

use core::ptr::NonNull;

use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

use super::rcu::ReadSide;

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

    /// Gives a counted reference to C, which drops it.
    pub(crate) fn into_raw(sk: SockRef) -> *mut bindings::sock {
        ARef::into_raw(sk).cast::<bindings::sock>().as_ptr()
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

    /// The reuseport group of the socket, if any, as an identity.
    ///
    /// A racy read: the group may change right after, which only makes a
    /// local listener of a sibling less likely to be chosen.
    pub(crate) fn reuseport_group(&self) -> usize {
        // SAFETY: the socket is live (type invariant); the field is a
        // pointer read once.
        unsafe {
            core::ptr::read_volatile(core::ptr::addr_of!((*self.as_ptr()).sk_reuseport_cb)) as usize
        }
    }

    /// Whether the socket is of the IPv6 family.
    pub(crate) fn is_inet6(&self) -> bool {
        // SAFETY: the socket is live (type invariant) and its family never
        // changes.
        u32::from(unsafe { (*self.as_ptr()).__sk_common.skc_family }) == bindings::AF_INET6
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

    /// Sends the accept and poll paths of an enabled listener back to stock.
    pub(crate) fn disable(&self) {
        // SAFETY: the socket is live (type invariant); the call clears a
        // flag atomically.
        unsafe { bindings::fastsocket_listener_disable(self.as_ptr()) };
    }
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

    /// Enables local listen on a listening TCP socket of a file.
    ///
    /// Fails with `EOPNOTSUPP` for other sockets and for listeners whose
    /// state a local listener cannot share, `EINVAL` if it does not listen.
    pub(crate) fn enable(&self) -> Result {
        // SAFETY: the socket is live and locked (type invariant); its file
        // is held by whoever handed us the socket.
        to_result(unsafe { bindings::fastsocket_listener_enable(self.sk.as_ptr()) })
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

/// A local listener: a per-CPU copy of an enabled listener.
///
/// # Invariants
///
/// `sk` is a local listener made by `fastsocket_local_create()`, on which
/// the struct owns the creation reference, and which it destroys on drop.
pub(crate) struct LocalListener {
    sk: NonNull<bindings::sock>,
}

// SAFETY: a local listener is a socket; all its operations may run on any
// CPU in process context, with the socket's own synchronisation.
unsafe impl Send for LocalListener {}
// SAFETY: `&LocalListener` reads counters only.
unsafe impl Sync for LocalListener {}

/// How long `retire` waits for handshakes in progress, in 10 ms steps.
const RETIRE_WAIT_STEPS: u32 = 100;

impl LocalListener {
    /// Makes the local listener of `parent` for `cpu`.  Process context;
    /// takes the parent's lock, which the caller must not hold.
    pub(crate) fn create(parent: SockView<'_>, cpu: u32) -> Result<Self> {
        // SAFETY: `parent` is live and the caller holds its file (it came
        // from an accept on it); the call makes a new socket.
        let sk = from_err_ptr(unsafe { bindings::fastsocket_local_create(parent.as_ptr(), cpu) })?;
        NonNull::new(sk).map(|sk| Self { sk }).ok_or(ENOMEM)
    }

    /// The local listener as a published table holds it for RCU readers.
    ///
    /// The caller (the local listen tables) destroys `self` only after it
    /// removed every copy of the result from its published tables and a
    /// grace period passed: that is what makes [`LocalPtr`] valid.
    pub(crate) fn rcu_ptr(&self) -> LocalPtr {
        // INVARIANT: `sk` is a local listener (type invariant), RCU-freed,
        // and its owner destroys it as the method's doc says.
        LocalPtr(self.sk)
    }

    /// Takes a reference on the socket.
    pub(crate) fn hold(&self) -> SockRef {
        // SAFETY: the socket lives while `self` does (type invariant).
        unsafe { Sock::from_raw(self.sk) }.hold()
    }

    /// Connections waiting for accept().
    pub(crate) fn queued(&self) -> u32 {
        // SAFETY: the socket is live (type invariant).
        unsafe { bindings::fastsocket_local_queued(self.sk.as_ptr()) }
    }

    /// Handshakes in progress.
    pub(crate) fn pending(&self) -> u32 {
        // SAFETY: the socket is live (type invariant).
        unsafe { bindings::fastsocket_local_pending(self.sk.as_ptr()) }
    }

    /// Moves the queued connections to the listener; returns how many went.
    /// Process context.
    pub(crate) fn drain(&self) -> u32 {
        let before = self.queued();
        // SAFETY: the socket is live (type invariant); process context.
        unsafe { bindings::fastsocket_local_drain(self.sk.as_ptr()) };
        before.saturating_sub(self.queued())
    }

    /// Moves everything to the listener and closes the local listener; no
    /// lookup may lead to it any more.  With `wait`, handshakes in progress
    /// are given up to a second to complete and move too.  Returns how many
    /// connections moved.  Process context.
    pub(crate) fn retire(self, wait: bool) -> u32 {
        let mut moved = self.drain();
        if wait {
            for _ in 0..RETIRE_WAIT_STEPS {
                if self.pending() == 0 {
                    break;
                }
                // SAFETY: process context.
                unsafe { bindings::msleep(10) };
                moved += self.drain();
            }
        }
        moved
        // `drop` destroys it.
    }
}

impl Drop for LocalListener {
    fn drop(&mut self) {
        // SAFETY: the struct owns the creation reference (type invariant);
        // no table leads to the socket any more (callers retire it only
        // after a grace period following its removal).
        unsafe { bindings::fastsocket_local_destroy(self.sk.as_ptr()) };
    }
}

/// A local listener as the published per-CPU tables hold it: a pointer for
/// RCU readers, neither counted nor owned.
///
/// # Invariants
///
/// `0` is a local listener made by [`LocalListener::create`], whose memory
/// is RCU-freed (`SOCK_RCU_FREE`).  It is destroyed only after every table
/// that holds it was unpublished and a grace period passed (see
/// [`LocalListener::rcu_ptr`]), so a reader that found it in a table inside
/// a read-side critical section may use it until the section ends.
#[derive(Clone, Copy)]
pub(crate) struct LocalPtr(NonNull<bindings::sock>);

// SAFETY: the pointer is only dereferenced under RCU, on any CPU.
unsafe impl Send for LocalPtr {}
// SAFETY: as above.
unsafe impl Sync for LocalPtr {}

impl LocalPtr {
    /// The socket, for an RCU reader of a table that holds `self`.
    pub(crate) fn view<'a>(&self, _rcu: &ReadSide<'a>) -> SockView<'a> {
        // SAFETY: the socket stays valid until the read-side critical
        // section of `_rcu` ends (type invariant).
        unsafe { Sock::from_raw(self.0) }
    }

    /// Connections waiting for accept(), for an RCU reader.
    pub(crate) fn queued(&self, _rcu: &ReadSide<'_>) -> u32 {
        // SAFETY: the socket is valid while `_rcu` is (type invariant).
        unsafe { bindings::fastsocket_local_queued(self.0.as_ptr()) }
    }

    /// The pointer, for the hook that returns it to C (not counted: valid
    /// until the caller's read-side critical section ends).
    pub(crate) fn as_ptr(self) -> *mut bindings::sock {
        self.0.as_ptr()
    }
}

/// Bytes a local listener of `sk` takes: a sock of its protocol and a
/// socket with its inode.
pub(crate) fn local_listener_size(sk: SockView<'_>) -> usize {
    // SAFETY: the socket is live; `sk_prot` of a TCP socket is a static
    // `struct proto` and `obj_size` never changes.
    let sock = unsafe { (*(*sk.as_ptr()).__sk_common.skc_prot).obj_size };
    sock as usize + core::mem::size_of::<bindings::socket_alloc>()
}

/// Bytes of an enabled listener's per-CPU wait queues.
pub(crate) fn wait_queues_size(nr_cpus: u32) -> usize {
    nr_cpus as usize * core::mem::size_of::<bindings::socket_wq>()
}
