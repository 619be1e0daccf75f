// SPDX-License-Identifier: GPL-2.0

//! Scratch directories for the tests (a stand-in sysctl directory).

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

/// A fresh directory holding `files`, removed on drop.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(files: &[(&str, &str)]) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fsctl-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The sysctls of module 0.2.
pub const MODULE_0_2: [(&str, &str); 3] = [
    ("listen", "1\n"),
    ("listen_auto", "0\n"),
    ("listen_idle_ms", "200\n"),
];
