// SPDX-License-Identifier: GPL-2.0

//! The library in front of real socket calls, on a host without the module
//! (as any build host is): every call must return what it returns without
//! the library, and the library must say once that fastsocket is missing.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles tests/tools/fs_listen_calls.c into the target directory, once
/// (the tests run in parallel).
fn calls_program() -> PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(compile).clone()
}

fn compile() -> PathBuf {
    let src = manifest().join("../../tests/tools/fs_listen_calls.c");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fs_listen_calls");
    let status = Command::new("cc")
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(status.success(), "fs_listen_calls.c builds");
    out
}

/// The cdylib cargo built beside this test.
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    // The test is target/<profile>/deps/preload-HASH, and `cargo test`
    // leaves the library's cdylib beside it.
    let lib = exe.with_file_name("libfsocket.so");
    assert!(lib.exists(), "{} built", lib.display());
    lib
}

fn run(program: &Path, preload: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.env_remove("LD_PRELOAD");
    if let Some(lib) = preload {
        cmd.env("LD_PRELOAD", lib);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn calls_return_what_they_return_without_the_library() {
    if Path::new("/dev/fastsocket").exists() {
        eprintln!("skipped: this host has the module loaded (the VM scenario covers it)");
        return;
    }
    let prog = calls_program();
    let lib = library();
    let stock = run(&prog, None, &[]);
    let preloaded = run(&prog, Some(&lib), &[]);
    assert!(stock.status.success(), "{}", text(&stock.stderr));
    assert_eq!(text(&preloaded.stdout), text(&stock.stdout));
    assert_eq!(preloaded.status.code(), stock.status.code());
    // The listeners it saw are named in the output, so the test is not
    // vacuous: the library was in front of listen() for all of them.
    for name in [
        "listen_tcp4 rc=0 errno=4242",
        "listen_udp rc=-1",
        "accept4_cloexec 1",
    ] {
        assert!(
            text(&stock.stdout).contains(name),
            "{name} in\n{}",
            text(&stock.stdout)
        );
    }

    let lines: Vec<_> = text(&preloaded.stderr)
        .lines()
        .filter(|l| l.starts_with("libfsocket:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 1, "one line, once: {lines:?}");
    assert!(
        lines[0].contains("fastsocket is not available"),
        "{lines:?}"
    );
    assert!(text(&stock.stderr).is_empty());
}

#[test]
fn disabled_library_is_silent() {
    if Path::new("/dev/fastsocket").exists() {
        return;
    }
    let prog = calls_program();
    let out = run(&prog, Some(&library()), &[("FASTSOCKET_DISABLE", "1")]);
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn settings_not_understood_are_named() {
    let prog = calls_program();
    let out = run(
        &prog,
        Some(&library()),
        &[("FASTSOCKET_CPUS", "1-0"), ("FASTSOCKET_DISABLE", "1")],
    );
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("ignoring FASTSOCKET_CPUS=1-0"),
        "{}",
        text(&out.stderr)
    );
}
