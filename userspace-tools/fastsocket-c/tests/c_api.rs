// SPDX-License-Identifier: GPL-2.0

//! A C program built against `include/fastsocket.h` and linked with
//! `-lfastsocket`, run on the build host (no module): the header compiles,
//! the symbols link, and each call fails cleanly with the documented errno.

use std::{path::PathBuf, process::Command};

#[test]
fn c_program_links_and_sees_enodev_without_the_module() {
    if std::path::Path::new("/dev/fastsocket").exists() {
        eprintln!("skipped: the module is loaded here (the VM scenario covers it)");
        return;
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::current_exe().expect("test path");
    let libdir = exe.parent().expect("deps dir");
    assert!(libdir.join("libfastsocket.so").exists());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fs_c_api");
    let status = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(here.join("include"))
        .arg("-I")
        .arg(here.join("../../include/uapi"))
        .arg("-o")
        .arg(&out)
        .arg(here.join("../../tests/tools/fs_c_api.c"))
        .arg("-L")
        .arg(libdir)
        .arg("-lfastsocket")
        .status()
        .expect("cc runs");
    assert!(status.success(), "fs_c_api.c builds and links");
    // The program asks for the soname, as it would of an installed copy.
    let soname = out.with_file_name("libfastsocket.so.0");
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(libdir.join("libfastsocket.so"), &soname).expect("symlink");
    let run = Command::new(&out)
        .arg("--absent")
        .env("LD_LIBRARY_PATH", soname.parent().expect("tmpdir"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("ok local_listen ENODEV"), "{stdout}");
}
