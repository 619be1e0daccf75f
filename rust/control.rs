// SPDX-License-Identifier: GPL-2.0

//! `/dev/fastsocket`: the ioctls of `include/uapi/linux/fastsocket.h`.
//!
//! Any user may enable local listen on a socket it has a descriptor of;
//! every argument is checked before anything changes.

#![forbid(unsafe_code)]

use core::mem::size_of;

use kernel::{
    c_str,
    prelude::*,
    str::CStr,
    sync::Arc,
    types::{AsBytes, FromBytes},
    uaccess::UserSlice,
};

use crate::{
    listen::Tables,
    pure::uapi::{self, CpuSet},
    settings::{self, Setting},
    sys::{cpu, miscdev, sock::SocketFile},
};

/// Version reported by `FASTSOCKET_IOC_INFO`.
const VERSION: u32 = uapi::version(0, 3, 0);

/// The device's handler.
pub(crate) struct Control {
    tables: Arc<Tables>,
}

impl Control {
    pub(crate) fn new(tables: Arc<Tables>) -> Self {
        Self { tables }
    }

    fn info(&self, arg: usize) -> Result<i64> {
        let req: uapi::Info = read(arg)?;
        check_size(req.size, size_of::<uapi::Info>())?;
        let enabled = if settings::get(Setting::Listen) != 0 {
            uapi::FEATURE_LISTEN
        } else {
            0
        };
        let out = uapi::Info {
            size: req.size,
            version: VERSION,
            features: uapi::FEATURES,
            enabled,
            nr_cpu_ids: cpu::nr_ids(),
            reserved: 0,
        };
        write(arg, &out)?;
        Ok(0)
    }

    fn listen(&self, arg: usize) -> Result<i64> {
        let req: uapi::Listen = read(arg)?;
        check_size(req.size, size_of::<uapi::Listen>())?;
        if req.flags & !uapi::LISTEN_CPUS != 0 || req.reserved != 0 {
            return Err(EINVAL);
        }
        let cpus = if req.flags & uapi::LISTEN_CPUS != 0 {
            let set = CpuSet(req.cpus);
            if set.is_empty() || set.first_invalid(|c| cpu::is_online(c as u32)).is_some() {
                return Err(EINVAL);
            }
            set
        } else {
            CpuSet::first(cpu::nr_ids() as usize)
        };
        let file = SocketFile::lookup(req.fd)?;
        let sk = file.sk().ok_or(EINVAL)?;
        let locked = sk.lock();
        self.tables.enable(&locked, &cpus)?;
        Ok(0)
    }

    fn unlisten(&self, arg: usize) -> Result<i64> {
        let req: uapi::Listen = read(arg)?;
        check_size(req.size, size_of::<uapi::Listen>())?;
        if req.flags != 0 || req.reserved != 0 {
            return Err(EINVAL);
        }
        let file = SocketFile::lookup(req.fd)?;
        let sk = file.sk().ok_or(EINVAL)?;
        self.tables.disable(&sk.lock())?;
        Ok(0)
    }

    fn listen_state(&self, arg: usize) -> Result<i64> {
        let req: uapi::ListenState = read(arg)?;
        check_size(req.size, size_of::<uapi::ListenState>())?;
        let file = SocketFile::lookup(req.fd)?;
        let sk = file.sk().ok_or(EINVAL)?;
        let mut out = self.tables.state(sk);
        out.fd = req.fd;
        write(arg, &out)?;
        Ok(0)
    }
}

impl miscdev::Ioctl for Control {
    const NAME: &'static CStr = c_str!("fastsocket");
    // Everyone: a caller can only name its own sockets.
    const MODE: u16 = 0o666;

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<i64> {
        match cmd {
            uapi::IOC_INFO => self.info(arg),
            uapi::IOC_LISTEN => self.listen(arg),
            uapi::IOC_UNLISTEN => self.unlisten(arg),
            uapi::IOC_LISTEN_STATE => self.listen_state(arg),
            _ => Err(ENOTTY),
        }
    }
}

/// The `size` field must be the size this module knows.
fn check_size(size: u32, expected: usize) -> Result {
    if size as usize == expected {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

fn read<T: FromBytes>(arg: usize) -> Result<T> {
    UserSlice::new(arg, size_of::<T>()).reader().read()
}

fn write<T: AsBytes>(arg: usize, value: &T) -> Result {
    UserSlice::new(arg, size_of::<T>()).writer().write(value)
}
