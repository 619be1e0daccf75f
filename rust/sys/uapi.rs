// SPDX-License-Identifier: GPL-2.0

//! The `/dev/fastsocket` ABI structures as plain data, so that the ioctls
//! copy them from and to user space with [`kernel::uaccess::UserSlice`].

use kernel::types::{AsBytes, FromBytes};

use crate::pure::uapi::{Info, Listen, ListenState};

// SAFETY: plain integers, every bit pattern is valid.
unsafe impl FromBytes for Info {}
// SAFETY: plain integers without padding (checked against the C layout by
// the host test `uapi_matches_c`).
unsafe impl AsBytes for Info {}
// SAFETY: as for `Info`.
unsafe impl FromBytes for Listen {}
// SAFETY: as for `Info`.
unsafe impl FromBytes for ListenState {}
// SAFETY: as for `Info`.
unsafe impl AsBytes for ListenState {}
