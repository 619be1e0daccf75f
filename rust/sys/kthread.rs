// SPDX-License-Identifier: GPL-2.0

//! A kernel thread that runs a task periodically until it is stopped.

use core::ffi::{c_int, c_void};

use kernel::{
    bindings, c_str, error::from_err_ptr, prelude::*, str::CStr, sync::Arc, time::msecs_to_jiffies,
};

/// Work done periodically in process context.
pub(crate) trait Periodic: Send + Sync {
    /// One round of work.  May sleep.
    fn tick(&self);
    /// Milliseconds to sleep between rounds (read before each sleep).
    fn period_ms(&self) -> u32;
}

/// A running kernel thread, stopped (and waited for) on drop.
///
/// # Invariants
///
/// `task` is a kthread made by [`Thread::spawn`] that runs until
/// `kthread_stop` is called on it and uses `data` until then.
pub(crate) struct Thread<T: Periodic> {
    task: *mut bindings::task_struct,
    data: Arc<T>,
}

// SAFETY: `kthread_stop` may be called from any thread.
unsafe impl<T: Periodic> Send for Thread<T> {}
// SAFETY: `&Thread` gives access to nothing.
unsafe impl<T: Periodic> Sync for Thread<T> {}

impl<T: Periodic> Thread<T> {
    /// Starts a thread named `name` running `data.tick()` periodically.
    pub(crate) fn spawn(name: &'static CStr, data: Arc<T>) -> Result<Self> {
        let raw = core::ptr::from_ref::<T>(&data).cast_mut().cast::<c_void>();
        // SAFETY: `raw` stays valid until the thread is stopped (`data` is
        // kept until then); the format string takes one string argument,
        // which is given.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(threadfn::<T>),
                raw,
                bindings::NUMA_NO_NODE,
                c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = from_err_ptr(task)?;
        // SAFETY: `task` is a new kthread, waiting to be woken.
        unsafe { bindings::wake_up_process(task) };
        Ok(Self { task, data })
    }
}

impl<T: Periodic> Drop for Thread<T> {
    fn drop(&mut self) {
        // SAFETY: the thread runs until stopped (type invariant); this
        // wakes it and waits until it returned, before `data` goes.
        unsafe { bindings::kthread_stop(self.task) };
        let _ = &self.data;
    }
}

/// The body of the thread.
///
/// # Safety
///
/// `raw` must point to a `T` that outlives the thread.
unsafe extern "C" fn threadfn<T: Periodic>(raw: *mut c_void) -> c_int {
    // SAFETY: by the function's contract.
    let data = unsafe { &*raw.cast::<T>().cast_const() };
    // SAFETY: called from the kthread itself.
    while !unsafe { bindings::kthread_should_stop() } {
        data.tick();
        let timeout = msecs_to_jiffies(data.period_ms());
        // SAFETY: a sleep in the thread's own context; `kthread_stop` wakes
        // it early.
        unsafe { bindings::schedule_timeout_interruptible(timeout as _) };
    }
    0
}
