// SPDX-License-Identifier: GPL-2.0

//! Gives libfastsocket.so the soname an installed C library has, so that
//! programs linked with -lfastsocket ask for the ABI, not the file.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfastsocket.so.0");
}
