// SPDX-License-Identifier: GPL-2.0

//! Compiles `include/uapi/linux/fastsocket.h` with the host C compiler and
//! checks every size, offset, field type and number of the Rust mirror
//! (`rust/pure/uapi.rs`) against it.  Fails, never skips, without a C
//! compiler.

use std::{collections::BTreeMap, fs, path::PathBuf, process::Command};

use core::mem::{offset_of, size_of};
use fastsocket_abi::uapi::{self, Info, Listen, ListenState};

/// A field type the ABI uses, and its signedness.
trait Scalar {
    const SIGNED: bool;
}
impl Scalar for u32 {
    const SIGNED: bool = false;
}
impl Scalar for i32 {
    const SIGNED: bool = true;
}
impl Scalar for u64 {
    const SIGNED: bool = false;
}
impl<T: Scalar, const N: usize> Scalar for [T; N] {
    const SIGNED: bool = T::SIGNED;
}

fn field_size<S, T: Scalar>(_: fn(&S) -> &T) -> usize {
    size_of::<T>()
}

fn field_signed<S, T: Scalar>(_: fn(&S) -> &T) -> bool {
    T::SIGNED
}

/// One field: C struct, field name, whether it is an array, and the Rust
/// offset, size and signedness.
struct Field {
    c_struct: &'static str,
    name: &'static str,
    array: bool,
    offset: usize,
    size: usize,
    signed: bool,
}

macro_rules! fields {
    ($c:literal, $rust:ty: $($f:ident $(: $arr:ident)?),* $(,)?) => {
        vec![$(Field {
            c_struct: $c,
            name: stringify!($f),
            array: false $(|| { let $arr = true; $arr })?,
            offset: offset_of!($rust, $f),
            size: field_size(|s: &$rust| &s.$f),
            signed: field_signed(|s: &$rust| &s.$f),
        }),*]
    };
}

fn repo() -> PathBuf {
    // userspace-tools/fastsocket-abi -> the repository.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn compiler() -> &'static str {
    for cc in ["cc", "clang-19"] {
        if Command::new(cc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return cc;
        }
    }
    panic!("uapi_matches_c needs a C compiler: neither `cc` nor `clang-19` runs");
}

/// Builds and runs the C side; returns its `name value` lines.
fn c_values(fields: &[Field], numbers: &[(&str, &str)]) -> BTreeMap<String, String> {
    let header = repo().join("include/uapi/linux/fastsocket.h");
    assert!(header.is_file(), "no header at {}", header.display());
    let header = header.canonicalize().unwrap();

    let mut src = format!(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"{}\"\n\nint main(void)\n{{\n",
        header.display()
    );
    for s in [
        "fastsocket_info",
        "fastsocket_listen",
        "fastsocket_listen_state",
    ] {
        src += &format!("\tprintf(\"sizeof.{s} %zu\\n\", sizeof(struct {s}));\n");
        src += &format!("\tprintf(\"alignof.{s} %zu\\n\", _Alignof(struct {s}));\n");
    }
    for f in fields {
        let (s, n) = (f.c_struct, f.name);
        let elem = if f.array { "[0]" } else { "" };
        src += &format!(
            "\tprintf(\"offsetof.{s}.{n} %zu\\n\", offsetof(struct {s}, {n}));\n\
             \tprintf(\"sizeof.{s}.{n} %zu\\n\", sizeof(((struct {s} *)0)->{n}));\n\
             \tprintf(\"signed.{s}.{n} %d\\n\", \
             (__typeof__(((struct {s} *)0)->{n}{elem}))-1 < 0);\n"
        );
    }
    for (name, fmt) in numbers {
        let cast = match *fmt {
            "%s" => "",
            _ => "(unsigned long long)",
        };
        let fmt = if *fmt == "%s" { "%s" } else { "%llu" };
        src += &format!("\tprintf(\"{name} {fmt}\\n\", {cast}{name});\n");
    }
    src += "\treturn 0;\n}\n";

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uapi_matches_c");
    fs::create_dir_all(&dir).unwrap();
    let c = dir.join("uapi.c");
    let exe = dir.join("uapi");
    fs::write(&c, &src).unwrap();
    let cc = compiler();
    let out = Command::new(cc)
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&c)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cc} failed on\n{src}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn uapi_matches_c() {
    let mut fields = fields!("fastsocket_info", Info:
        size, version, features, enabled, nr_cpu_ids, reserved);
    fields.extend(fields!("fastsocket_listen", Listen:
        size, fd, flags, reserved, cpus: array));
    fields.extend(fields!("fastsocket_listen_state", ListenState:
        size, fd, state, nr_local, queued, reserved, memory, cpus: array, local: array));

    let numbers = [
        ("FASTSOCKET_IOC_INFO", uapi::IOC_INFO.to_string()),
        ("FASTSOCKET_IOC_LISTEN", uapi::IOC_LISTEN.to_string()),
        ("FASTSOCKET_IOC_UNLISTEN", uapi::IOC_UNLISTEN.to_string()),
        (
            "FASTSOCKET_IOC_LISTEN_STATE",
            uapi::IOC_LISTEN_STATE.to_string(),
        ),
        ("FASTSOCKET_IOC_MAGIC", uapi::IOC_MAGIC.to_string()),
        (
            "FASTSOCKET_FEATURE_LISTEN",
            uapi::FEATURE_LISTEN.to_string(),
        ),
        ("FASTSOCKET_LISTEN_CPUS", uapi::LISTEN_CPUS.to_string()),
        ("FASTSOCKET_STATE_ENABLED", uapi::STATE_ENABLED.to_string()),
        ("FASTSOCKET_CPUSET_WORDS", uapi::CPUSET_WORDS.to_string()),
        ("FASTSOCKET_DEVICE", uapi::DEVICE.to_string()),
    ];
    let c_numbers: Vec<(&str, &str)> = numbers
        .iter()
        .map(|(n, _)| {
            (
                *n,
                if *n == "FASTSOCKET_DEVICE" {
                    "%s"
                } else {
                    "%llu"
                },
            )
        })
        .collect();
    let c = c_values(&fields, &c_numbers);

    let mut want: Vec<(String, String)> = vec![
        (
            "sizeof.fastsocket_info".into(),
            size_of::<Info>().to_string(),
        ),
        (
            "sizeof.fastsocket_listen".into(),
            size_of::<Listen>().to_string(),
        ),
        (
            "sizeof.fastsocket_listen_state".into(),
            size_of::<ListenState>().to_string(),
        ),
        (
            "alignof.fastsocket_info".into(),
            align_of::<Info>().to_string(),
        ),
        (
            "alignof.fastsocket_listen".into(),
            align_of::<Listen>().to_string(),
        ),
        (
            "alignof.fastsocket_listen_state".into(),
            align_of::<ListenState>().to_string(),
        ),
    ];
    for f in &fields {
        let key = |what: &str| format!("{what}.{}.{}", f.c_struct, f.name);
        want.push((key("offsetof"), f.offset.to_string()));
        want.push((key("sizeof"), f.size.to_string()));
        want.push((key("signed"), u8::from(f.signed).to_string()));
    }
    want.extend(numbers.iter().map(|(n, v)| (n.to_string(), v.clone())));

    let mismatches: Vec<String> = want
        .iter()
        .filter_map(|(k, rust)| match c.get(k) {
            Some(cv) if cv == rust => None,
            Some(cv) => Some(format!("{k}: C {cv}, Rust {rust}")),
            None => Some(format!("{k}: not printed by the C side")),
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "ABI mismatches:\n{}",
        mismatches.join("\n")
    );
    // Every C value was compared (nothing printed that is not checked).
    assert_eq!(c.len(), want.len());

    // The sizes the structures start with are what the wrappers send.
    let l = fastsocket_abi::listen_arg(3, None);
    assert_eq!(l.size as usize, size_of::<Listen>());
}
