#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fastsocket test suite: host checks, builds, and VM scenarios.

Prints KTAP on stdout (one line per test, figures as "# key: value", a
skipped test as "ok N name # SKIP reason"), and ends with "N passed, N
failed, N skipped".  Progress goes to stderr.

    tests/run_tests.py [--tier short|long] [--cpus 1,2,4] [--scenarios a,b]
                       [--variant debug|release] [--skip-host] [--skip-vm]
    tests/run_tests.py --schedule       the VM boots a run would make
    tests/run_tests.py --tiers          the knobs of both tiers
    tests/run_tests.py --durations      scenario seconds from .results/

The short tier is `make test` (CI), the long one `make test-long`; TIERS
below is the one table of what differs.
"""

import argparse
import concurrent.futures
import difflib
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
VM_SCENARIOS = ["load_unload", "registration", "bad_input", "connections", "locality", "fallback",
                "namespaces", "auto", "unload_under_load", "preload", "servers", "nginx", "haproxy",
                "fsctl", "semantics", "listen_bounds", "bench", "bench_lockstat", "coherence"]
# Scenarios of the long tier only (they are its long form: there is no
# short one worth the time).
LONG_SCENARIOS = ["soak"]
# The benchmark's scenarios: in the short tier they run one short round,
# once each (see bench_cpus), to check that every configuration of
# tests/bench/configs runs every load and loses no connection (`make bench`
# is where they run long enough to measure); in the long tier, their full
# rounds on every vCPU count.
BENCH_SCENARIOS = ["bench", "bench_lockstat"]
# Scenarios that need QEMU to load the cache-coherence plugin
# (Documentation/coherence.rst): a boot of their own, on the smoke vCPU
# count, whose guest finds the plugin's results file in FS_COHERENCE_OUT.
PLUGIN_SCENARIOS = ["coherence"]

# The two tiers: the scenario knobs (FS_* variables, read by
# tests/vm/scenarios/*.sh) that differ, short (`make test`, what CI runs)
# and long (`make test-long`).  A variable set in the environment wins.
# Everything else is the same in both: every scenario on every vCPU count,
# each once on the debug kernel (see kernel_of), the report detector and
# its self-test in every VM.
TIERS = {
    # knob:                   (short,  long,    what it is)
    "FS_LOAD_UNLOAD_ROUNDS":  ("20",   "100",   "load_unload: insmod/rmmod rounds"),
    "FS_CONNECTIONS_V4":      ("2000", "10000", "connections: IPv4 loopback connections"),
    "FS_CONNECTIONS_V6":      ("500",  "1000",  "connections: IPv6 loopback connections"),
    "FS_LOCALITY_CONNS":      ("500",  "20000", "locality: connections per configuration (8)"),
    "FS_UNLOAD_CONNS":        ("1000", "5000",  "unload_under_load: connections at least"),
    "FS_UNLOAD_CYCLES":       ("8",    "40",    "unload_under_load: unloads and loads at least"),
    "FS_BENCH_ROUNDS":        ("1",    "3",     "bench: rounds"),
    "FS_BENCH_SECONDS":       ("1",    "5",     "bench: seconds per measurement"),
    "FS_BENCH_LOCK_CONNS":    ("100",  "1000",  "bench_lockstat: connections per configuration"),
    "FS_SOAK_SECONDS":        ("-",    "900",   "soak: seconds of mixed load (long tier only)"),
}

# Seconds each scenario takes in the short tier, by kernel and vCPU count,
# with two VMs side by side on this 2-core machine (the "# seconds:"
# figures of a run; `--durations` prints them from .results/).  Only the
# packing of VM boots uses them, so mostly their ratios matter: a wrong
# figure costs time, never a test.  From the cold `make test` of
# 2026-11-30 (idle host): the debug kernel's 2-vCPU row and the release
# kernel's rows.  The debug kernel's 1- and 4-vCPU rows (lock_stat's
# there) and its bench are an earlier, busier run's figures scaled by 0.6,
# the ratio of the two runs' 2-vCPU rows.  semantics is a guess, not yet
# measured: four passes of its rows (about 3 s each on the host) under
# TCG, scaled to the release kernel as the light scenarios are.
# listen_bounds is a guess too: two passes of its rows (a few rescue
# rounds each), 2 x 10,000 LISTEN/UNLISTEN rounds and two network
# namespaces made and freed; the debug kernel's lockdep and KASAN weigh
# on the ioctl rounds.  A
# scenario a table lacks counts RELEASE_FACTOR (release) or 1 (debug)
# times the debug kernel's figure.
DURATIONS = {
    "debug": {
        1: {
            "harness_selftest": 1, "load_unload": 27, "registration": 9, "bad_input": 19,
            "connections": 42, "locality": 146, "fallback": 69, "namespaces": 69, "auto": 30,
            "unload_under_load": 42, "preload": 35, "servers": 87, "nginx": 140, "haproxy": 93,
            "fsctl": 69, "semantics": 90, "listen_bounds": 60, "bench": 314,
            "bench_lockstat": 45, "soak": 900},
        2: {
            "harness_selftest": 3, "load_unload": 35, "registration": 16, "bad_input": 19,
            "connections": 42, "locality": 122, "fallback": 48, "namespaces": 59, "auto": 43,
            "unload_under_load": 59, "preload": 28, "servers": 99, "nginx": 184, "haproxy": 108,
            "fsctl": 80, "semantics": 90, "listen_bounds": 60, "bench": 370,
            "bench_lockstat": 71, "soak": 900},
        4: {
            "harness_selftest": 2, "load_unload": 30, "registration": 12, "bad_input": 15,
            "connections": 51, "locality": 109, "fallback": 81, "namespaces": 81, "auto": 36,
            "unload_under_load": 51, "preload": 29, "servers": 105, "nginx": 164, "haproxy": 108,
            "fsctl": 81, "semantics": 90, "listen_bounds": 60, "bench": 370,
            "bench_lockstat": 54, "soak": 900},
    },
    "release": {
        1: {
            "harness_selftest": 0, "load_unload": 10, "registration": 4, "bad_input": 8,
            "connections": 8, "locality": 34, "fallback": 11, "namespaces": 17, "auto": 11,
            "unload_under_load": 14, "preload": 11, "servers": 29, "nginx": 99, "haproxy": 47,
            "fsctl": 29, "semantics": 30, "listen_bounds": 20},
        4: {
            "harness_selftest": 1, "load_unload": 12, "registration": 6, "bad_input": 11,
            "connections": 9, "locality": 36, "fallback": 10, "namespaces": 18, "auto": 12,
            "unload_under_load": 24, "preload": 13, "servers": 35, "nginx": 100, "haproxy": 44,
            "fsctl": 38, "semantics": 35, "listen_bounds": 25, "bench": 194},
    },
}
# A boot and a power-off, and the second after each scenario, outside the
# scenarios (measured as above: the debug kernel also sets up KASAN's
# shadow memory).
BOOT_SECONDS = {"debug": 115, "release": 40}
UNKNOWN_SECONDS = 120
# The release kernel's time for a scenario against the debug kernel's,
# overall (0.2 for connections and fallback, 0.55 for nginx: KASAN checks
# every access, lock_stat and lockdep every lock).
RELEASE_FACTOR = 0.35
# The long tier's time for a scenario against the short tier's: the ratio
# of their TIERS knobs, less the part of a scenario that does not grow
# with them (starting servers, loading the module).  Estimates, for the
# packing of the long tier's boots.
LONG_FACTOR = {"load_unload": 5, "connections": 4, "locality": 30, "unload_under_load": 5,
               "bench": 6, "bench_lockstat": 8}

# Runs first in every VM; passes only if its deliberate warning is caught.
SELFTEST = "harness_selftest"

# A scenario's exit status when it skips (kselftest's KSFT_SKIP); see
# tests/vm/guest.sh.
SKIP_PREFIX = "skip"

# A kernel report anywhere in a run fails it: any line with one of these
# (extended regular expressions, one per line; `make run` greps the same).
REPORT = re.compile("|".join(
    line for line in (TOP / "tests/vm/report-patterns").read_text().splitlines() if line))


def progress(msg):
    print(f">>> {msg}", file=sys.stderr, flush=True)


class Ktap:
    """Collects results and prints them as KTAP as they come.  PLAN is the
    list of the names of the tests that will run: the plan line counts
    them, and `finish` reports any that did not run as failed."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.done = set()
        self.n = 0
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        print("KTAP version 1")
        print(f"1..{len(self.plan)}", flush=True)

    def result(self, name, ok, reason="", figures=(), details=(), skip=None):
        """One test's line; SKIP (a reason) makes an ok test a skipped one."""
        self.n += 1
        self.done.add(name)
        directive = ""
        if ok and skip is not None:
            self.skipped += 1
            directive = f" # SKIP {skip}".rstrip()
        elif ok:
            self.passed += 1
        else:
            self.failed += 1
        status = "ok" if ok else "not ok"
        print(f"{status} {self.n} {name}{directive}")
        if reason and not ok:
            print(f"# reason: {reason}")
        for k, v in figures:
            print(f"# {k}: {v}")
        for d in details if not ok else ():
            print(f"# {d}")
        sys.stdout.flush()

    def finish(self):
        """Fails what the plan has and no result named; returns whether
        every planned test passed or skipped."""
        for name in self.plan:
            if name not in self.done:
                self.result(name, False, "not run")
        print(f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped", flush=True)
        return self.failed == 0 and self.n == len(self.plan)


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=kw.pop("cwd", TOP), text=True, capture_output=True, **kw)


def tail(text, n=15):
    return [line for line in text.strip().splitlines()[-n:]]


# --- Host checks: one function per test, in the order they run.

def userspace_rustfmt(k):
    r = run(["cargo", "fmt", "--all", "--", "--check"], cwd=TOP / "userspace-tools")
    k.result("host_userspace_rustfmt", r.returncode == 0, "cargo fmt --check", details=tail(r.stdout))


def userspace_clippy(k):
    r = run(["cargo", "clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"],
            cwd=TOP / "userspace-tools")
    k.result("host_userspace_clippy", r.returncode == 0, "cargo clippy", details=tail(r.stderr))


def cargo_test(k):
    r = run(["cargo", "test", "--workspace", "--quiet"], cwd=TOP / "userspace-tools")
    counts = [int(m) for m in re.findall(r"test result: \w+\. (\d+) passed", r.stdout)]
    k.result(
        "host_cargo_test",
        r.returncode == 0 and sum(counts) > 0,
        "cargo test",
        figures=[("tests_passed", sum(counts))],
        details=[] if r.returncode == 0 else tail(r.stdout + r.stderr, 30),
    )


def python_tests(k, name, *files):
    r = run([sys.executable, "-m", "unittest", "-q", *files])
    ran = re.search(r"Ran (\d+) test", r.stderr)
    k.result(name, r.returncode == 0 and ran is not None, " ".join(files),
             figures=[("tests_passed", ran.group(1) if ran else 0)],
             details=[] if r.returncode == 0 else tail(r.stderr, 30))


def bench_report(k):
    python_tests(k, "host_bench_report", "tests/bench/test_report.py",
                 "tests/bench/test_projection.py")


def harness_plan(k):
    """The VM plan keeps every kind of check in both tiers."""
    python_tests(k, "host_harness_plan", "tests/test_run_tests.py")


def module_rust_files():
    """Every .rs file of the module (rust/**/*.rs, tracked or new, not
    ignored)."""
    r = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "rust/"])
    return sorted({f for f in r.stdout.splitlines() if f.endswith(".rs") and (TOP / f).is_file()})


def module_rustfmt(k):
    """Each file of the module formatted alone, from stdin: rustfmt given
    the crate root follows its `mod` declarations, but not necessarily
    `#[path]` includes or the files of another crate, and given a file that
    is not a crate root it looks for that file's modules in the wrong
    place.  (rustfmt --check on stdin exits 0 even when it differs, so the
    output is compared here.)"""
    config = kernel_src() / ".rustfmt.toml"
    files = module_rust_files()
    unformatted, details = [], []
    for f in files:
        text = (TOP / f).read_text()
        r = run(["rustfmt", "--edition", "2021", "--config-path", str(config), "--emit", "stdout",
                 "--color", "never"], input=text)
        if r.returncode != 0 or r.stdout != text:
            unformatted.append(f)
            details += tail(r.stderr, 5) if r.returncode != 0 else list(difflib.unified_diff(
                text.splitlines(), r.stdout.splitlines(), f"a/{f}", f"b/{f}", lineterm="", n=1))[:20]
    k.result("host_module_rustfmt", bool(files) and not unformatted,
             f"rustfmt: {', '.join(unformatted)}" if unformatted else "no .rs files under rust/",
             figures=[("files", len(files))], details=details[:40])


def checkpatch(k):
    src = kernel_src()
    patches = [TOP / "patches" / p for p in series()]
    r = run(["perl", str(src / "scripts/checkpatch.pl"), "--no-tree", "-q", *map(str, patches)])
    k.result("host_checkpatch", r.returncode == 0, "checkpatch.pl", figures=[("patches", len(patches))],
             details=tail(r.stdout))


def patch_roundtrip(k):
    """The series round-trips byte for byte through git (import, export,
    compare)."""
    r = run(["scripts/patches.sh", "check"])
    k.result("host_patch_roundtrip", r.returncode == 0,
             f"scripts/patches.sh check: exit status {r.returncode}",
             details=tail(r.stderr, 15))


def bad_patch_test(k):
    """A patch that does not apply stops the source preparation, named."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for d in ["scripts", "patches", "tests/config"]:
            shutil.copytree(TOP / d, t / d)
        (t / "patches/9999-does-not-apply.patch").write_text(
            "--- a/Makefile\n+++ b/Makefile\n@@ -1,1 +1,1 @@\n-no such line\n+still none\n")
        with open(t / "patches/series", "a") as f:
            f.write("9999-does-not-apply.patch\n")
        r = subprocess.run([str(t / "scripts/kernel.sh"), "src"], text=True, capture_output=True,
                           env={**os.environ, "FASTSOCKET_CACHE": str(t / "cache")})
        named = "patch 9999-does-not-apply.patch does not apply" in r.stderr
        k.result("host_bad_patch_is_named", r.returncode != 0 and named,
                 "a failing patch was not reported by name", details=tail(r.stderr, 5))


HOST_TESTS = [
    ("host_userspace_rustfmt", userspace_rustfmt),
    ("host_userspace_clippy", userspace_clippy),
    ("host_cargo_test", cargo_test),
    ("host_bench_report", bench_report),
    ("host_harness_plan", harness_plan),
    ("host_module_rustfmt", module_rustfmt),
    ("host_checkpatch", checkpatch),
    ("host_patch_roundtrip", patch_roundtrip),
    ("host_bad_patch_is_named", bad_patch_test),
]


def host_tests(k):
    for _, test in HOST_TESTS:
        test(k)


def series():
    return [line.strip() for line in (TOP / "patches/series").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def kernel_src():
    return Path(run(["scripts/kernel.sh", "src"]).stdout.strip())


def build(k, variant):
    """Builds the kernel and the module of VARIANT; returns True if both built."""
    start = time.time()
    progress(f"kernel ({variant}): building or reusing the cached build")
    r = subprocess.run(["scripts/kernel.sh", "build", variant], cwd=TOP, text=True,
                       stdout=subprocess.PIPE, stderr=sys.stderr)
    took = time.time() - start
    k.result(f"build_kernel_{variant}", r.returncode == 0, "the kernel did not build",
             figures=[("seconds", f"{took:.0f}")])
    if r.returncode != 0:
        return False
    r = run(["scripts/module.sh", variant])
    k.result(f"build_module_{variant}", r.returncode == 0,
             "fastsocket.ko did not build cleanly with CLIPPY=1",
             details=[] if r.returncode == 0 else tail(r.stdout + r.stderr, 30))
    return r.returncode == 0


# The scenarios' C programs (tests/tools/), built on the host with the
# flags the scenarios gave the compiler in the guest, where under TCG it
# took a minute or more of each VM: NAME -> compiler arguments.
TEST_TOOLS = {
    "fs_badinput": ["-O2", "-Wall", "-pthread", "tests/tools/fs_badinput.c"],
    "fs_listen_calls": ["-O2", "-Wall", "-Werror", "tests/tools/fs_listen_calls.c"],
    "fs_semantics": ["-O2", "-Wall", "-Werror", "-pthread", "tests/tools/fs_semantics.c"],
    "fs_bounds": ["-O2", "-Wall", "-Werror", "-pthread", "tests/tools/fs_bounds.c"],
    # 32-bit and without a C library (there is no 32-bit one here).
    "fs_compat32": ["-m32", "-O2", "-Wall", "-Werror", "-ffreestanding", "-nostdlib", "-static",
                    "-fno-pic", "-fno-stack-protector", "-I", "include/uapi",
                    "-I", "/usr/include/x86_64-linux-gnu", "tests/tools/fs_compat32.c"],
    "fs_c_api": ["-O2", "-Wall", "-Werror", "-I", "userspace-tools/fastsocket-c/include",
                 "-I", "include/uapi", "tests/tools/fs_c_api.c",
                 "-L", "userspace-tools/target/release", "-lfastsocket"],
}


def test_tools_dir():
    return results_dir() / "test-tools"


def tools():
    """Builds userspace-tools, then TEST_TOOLS into test_tools_dir(); a
    program that does not build leaves the compiler's words in NAME.err,
    and the scenario that needs it fails with them."""
    r = run(["cargo", "build", "--release", "--quiet"], cwd=TOP / "userspace-tools")
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return False
    d = test_tools_dir()
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, args in TEST_TOOLS.items():
        c = run(["cc", *args, "-o", str(d / name)])
        if c.returncode != 0:
            (d / f"{name}.err").write_text(c.stderr)
    return True


def vm_run(variant, cpus, scenarios, out, limit, plugin=False):
    """Boots VARIANT on CPUS vcpus and runs SCENARIOS; returns the console."""
    kdir = run(["scripts/kernel.sh", "dir", variant]).stdout.strip()
    stage = Path(kdir) / "fastsocket-module"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    bench = TOP / "userspace-tools/target/release/fsbench"
    (out / "env.sh").write_text(
        f"export FS_MODULE={stage}/rust/fastsocket.ko\n"
        f"export FS_DUP_MODULE={stage}/tests/modules/fs_dup_register.ko\n"
        f"export FS_WARN_MODULE={stage}/tests/modules/fs_warn.ko\n"
        f"export FS_BENCH={bench}\n"
        f"export FS_TEST_TOOLS={test_tools_dir()}\n"
        f"export FS_TOP={TOP}\n"
        f"export FS_OUT={out}\n"
        # Scenario knobs (FS_LOCALITY_CONNS=20000, ...) pass through.
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(os.environ.items())
                  if k.startswith("FS_") and k.isidentifier())
    )
    env = None
    if plugin:
        so = TOP / "userspace-tools/target/release/libcoherence_plugin.so"
        results = out / "coherence-window.json"
        # kallsyms: a copy of the guest's /proc/kallsyms, if a scenario
        # leaves one, names the module's functions (read at each stop).
        env = {**os.environ,
               "FASTSOCKET_QEMU_PLUGIN": f"{so},out={results},symbols={kdir}/System.map,"
                                         f"kallsyms={out}/kallsyms"}
        with open(out / "env.sh", "a") as f:
            f.write(f"export FS_COHERENCE_OUT={results}\n")
    guest = f"{TOP}/tests/vm/guest.sh {out} {limit} {' '.join(scenarios)}"
    cmd = ["tests/vm/boot.sh", kdir, str(cpus), str(out), guest]
    # The whole boot gets the scenarios' time plus room to boot and stop.
    timeout = limit * len(scenarios) + 240
    try:
        r = subprocess.run(cmd, cwd=TOP, text=True, capture_output=True, timeout=timeout, env=env)
        console = r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        console = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        console += f"\n@@fastsocket host: VM timed out after {timeout} s\n"
    (out / "console.log").write_text(console)
    return console


def results_dir():
    return Path(os.environ.get("FASTSOCKET_RESULTS", TOP / ".results"))


class Boot:
    """One VM boot: CPUS vcpus of the VARIANT kernel running SCENARIOS
    (after the self-test).  LABEL names it: "cpus2", or "cpus2a", "cpus2b"
    when a vCPU count's scenarios are split over several boots."""

    def __init__(self, cpus, scenarios, variant="debug", long_tier=False):
        self.cpus = cpus
        self.scenarios = list(scenarios)
        self.variant = variant
        self.long_tier = long_tier
        self.label = f"cpus{cpus}"
        self.plugin = False

    def estimate(self):
        return BOOT_SECONDS.get(self.variant, 60) + sum(
            scenario_seconds(self.cpus, s, self.variant, self.long_tier)
            for s in [SELFTEST] + self.scenarios)

    def out(self):
        """Its results directory."""
        return results_dir() / f"{self.variant}-{self.label}"

    def tests(self):
        """The names of its KTAP tests, in order."""
        return ([f"vm_{self.label}_harness_catches_reports"]
                + [f"vm_cpus{self.cpus}_{s}" for s in self.scenarios]
                + [f"vm_{self.label}_boot_and_console"])


def kernel_of(scenario, cpus, smoke):
    """The kernel SCENARIO runs on, on CPUS vCPUs, in both tiers.  The
    debug kernel (lockdep, KASAN, lock_stat: tests/config/debug.config)
    checks every scenario once, on the SMOKE vCPU count, and lock_stat's
    scenario wherever it runs; the other counts run on the release
    kernel, at a third of the debug kernel's cost under TCG, with the same
    report detector and self-test, and so does the throughput benchmark
    (a release kernel's measurement).  The long tier's long forms on the
    debug kernel on every count would take some four hours here, more
    than a working session."""
    if scenario == "bench_lockstat":
        return "debug"
    if scenario == "bench":
        return "release"
    return "debug" if cpus == smoke else "release"


def bench_cpus(scenario, cpus, smoke):
    """Where the short tier runs the benchmark's smoke SCENARIO: lock_stat
    on the debug kernel's vCPU count; the throughput bench on the most
    vCPUs, where every load (nginx-veth from 4) runs."""
    return smoke if scenario == "bench_lockstat" else max(cpus)


def scenario_seconds(cpus, name, variant="debug", long_tier=False):
    """The seconds NAME takes on CPUS vCPUs of VARIANT (DURATIONS, at the
    nearest vCPU count it has), in the short or the long tier."""
    if long_tier:
        return LONG_FACTOR.get(name, 1) * scenario_seconds(cpus, name, variant)
    def row(tables):
        return tables.get(cpus) or tables[min(tables, key=lambda c: abs(c - cpus))]
    known = row(DURATIONS.get(variant, {1: {}}))
    if name in known:
        return known[name]
    factor = RELEASE_FACTOR if variant == "release" else 1
    return factor * row(DURATIONS["debug"]).get(name, UNKNOWN_SECONDS)


def makespan(boots, jobs):
    """When the last of BOOTS ends, started longest first, each on the
    first of JOBS workers to be free (what the runner does)."""
    free = [0.0] * jobs
    for b in sorted(boots, key=Boot.estimate, reverse=True):
        i = free.index(min(free))
        free[i] += b.estimate()
    return max(free)


def split(key, scenarios, parts, long_tier=False):
    """SCENARIOS in PARTS boots of KEY's (vCPUs, kernel variant), of about
    the same length (longest first, each to the shortest so far), each
    keeping the scenarios' order."""
    cpus, variant = key

    def seconds(s):
        return scenario_seconds(cpus, s, variant, long_tier)
    bins = [[] for _ in range(parts)]
    for s in sorted(scenarios, key=seconds, reverse=True):
        min(bins, key=lambda b: sum(seconds(x) for x in b)).append(s)
    return [Boot(cpus, [s for s in scenarios if s in b], variant, long_tier) for b in bins if b]


def plan_boots(per_vm, jobs, most=3, fixed=(), long_tier=False):
    """The VM boots: the scenarios of each (vCPUs, kernel variant) of
    PER_VM in one boot or split over up to MOST, whichever way ends the
    whole run first beside the FIXED boots (a boot costs its boot time
    again; fewer boots when equal), so that the JOBS host workers stay
    busy till the end."""
    best = None
    for counts in itertools.product(range(1, most + 1), repeat=len(per_vm)):
        boots = [b for (key, s), n in zip(per_vm.items(), counts)
                 for b in split(key, s, n, long_tier)]
        key = (makespan(boots + list(fixed), jobs), len(boots))
        if best is None or key < best[0]:
            best = (key, boots)
    boots = best[1] if best else []
    for c in {c for c, _ in per_vm}:
        same = [b for b in boots if b.cpus == c]
        if len(same) > 1:
            for i, b in enumerate(same):
                b.label = f"cpus{c}{chr(ord('a') + i)}"
    return sorted(boots, key=lambda b: (b.cpus, b.label))


def plan_vms(cpus, scenarios, long_tier, variant=None, jobs=2):
    """The VM boots that run SCENARIOS on the vCPU counts CPUS in the
    short or long tier, on JOBS host workers: every scenario on every
    count (the benchmark's in the short tier once, see bench_cpus), each
    on its kernel (kernel_of, or VARIANT for all), the plugin's scenarios
    in a boot of their own."""
    smoke = 2 if 2 in cpus else max(cpus, default=0)
    per_vm = {}
    for c in cpus:
        for s in scenarios:
            if s in PLUGIN_SCENARIOS:
                continue
            if not long_tier and s in BENCH_SCENARIOS and c != bench_cpus(s, cpus, smoke):
                continue
            key = (c, variant or kernel_of(s, c, smoke))
            per_vm.setdefault(key, []).append(s)
    fixed = []
    plugged = [s for s in scenarios if s in PLUGIN_SCENARIOS]
    if plugged and smoke >= 2:
        # The model's self-test is of user space: any kernel does, and the
        # release kernel boots fastest under the plugin.
        fixed.append(Boot(smoke, plugged, variant or "release", long_tier))
        fixed[-1].plugin, fixed[-1].label = True, f"cpus{smoke}coherence"
    return (plan_boots(per_vm, max(1, jobs), fixed=fixed, long_tier=long_tier)
            if cpus else []) + fixed


def vm_boot(boot, limit):
    """Runs one VM; returns (console, seconds)."""
    progress(f"VM {boot.label}: {boot.cpus} vcpu(s), {boot.variant} kernel, "
             f"about {boot.estimate():.0f} s: {' '.join(boot.scenarios)}")
    start = time.time()
    console = vm_run(boot.variant, boot.cpus, [SELFTEST] + boot.scenarios,
                     boot.out(), limit, boot.plugin)
    progress(f"VM {boot.label} done in {time.time() - start:.0f} s")
    return console, time.time() - start


def scenario_outcome(out, name):
    """The result line of scenario NAME in OUT (None if it did not run)
    and the kernel reports of its dmesg."""
    res, dmesg = out / f"{name}.result", out / f"{name}.dmesg"
    result = res.read_text().strip() if res.exists() else None
    text = dmesg.read_text(errors="replace") if dmesg.exists() else ""
    return result, [line for line in text.splitlines() if REPORT.search(line)]


def vm_tests(k, boot, console, seconds):
    """Reports the scenarios of one VM boot."""
    out = boot.out()
    reports_seen = []
    for name, test in zip([SELFTEST] + boot.scenarios, boot.tests()):
        result, reports = scenario_outcome(out, name)
        if result is None:
            k.result(test, False, "not run: the VM did not get there")
            continue
        reports_seen += reports
        figures = []
        kvf = out / f"{name}.kv"
        if kvf.exists():
            for line in kvf.read_text().splitlines():
                key, _, value = line.partition(" ")
                figures.append((key, value))
        reason = result[5:] if result.startswith("fail") else ""
        skip = None
        if name == SELFTEST:
            ok = result == "ok" and bool(reports)
            if not reports:
                reason = "a deliberate kernel warning went unnoticed"
            elif result != "ok":
                reason = reason or f"the self-test did not run: {result}"
            reports = []
        elif result.split(" ")[0] == SKIP_PREFIX:
            # A skip is not a failure; a kernel report while skipping is.
            skip = result[len(SKIP_PREFIX):].strip() or "no reason given"
            ok = not reports
        else:
            ok = result == "ok" and not reports
        if reports:
            reason = f"kernel report: {reports[0].strip()}"
        details = []
        if not ok:
            log = out / f"{name}.log"
            details = tail(log.read_text(errors="replace")) if log.exists() else []
            details += reports[:20]
        k.result(test, ok, reason, figures=figures, details=details, skip=skip if ok else None)

    # The boot itself and whatever the console shows outside the scenarios.
    finished = (out / "guest.finished").exists()
    stray = [line for line in console.splitlines() if REPORT.search(line)]
    unexplained = [line for line in stray if not any(r.strip() in line for r in reports_seen)]
    ok = finished and not unexplained
    reason = "the VM did not finish its scenarios" if not finished else f"kernel report: {unexplained[0].strip()}" if unexplained else ""
    k.result(f"vm_{boot.label}_boot_and_console", ok, reason,
             figures=[("vm_seconds", f"{seconds:.0f}"), ("estimated_seconds", f"{boot.estimate():.0f}")],
             details=[] if ok else (tail(console, 25) + unexplained[:20]))


def print_tiers():
    print(f"{'knob':24} {'make test':>10} {'test-long':>10}  what")
    for knob, (short, long_, what) in TIERS.items():
        print(f"{knob:24} {short:>10} {long_:>10}  {what}")


def print_durations(variant):
    """The "# seconds:" figures of the last runs in .results/, as
    DURATIONS rows."""
    per = {}
    for d in sorted(results_dir().glob(f"{variant}-cpus*")):
        m = re.fullmatch(rf"{variant}-cpus(\d+)[a-z]?", d.name)
        if not m:
            continue
        for kv in sorted(d.glob("*.kv")):
            for line in kv.read_text().splitlines():
                if line.startswith("seconds "):
                    per.setdefault(int(m.group(1)), {})[kv.stem] = int(line.split()[1])
    if per:
        print(f"    \"{variant}\": {{")
    for c in sorted(per):
        print(f"        {c}: {per[c]},")
    if per:
        print("    },")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", choices=["short", "long"], default="short",
                    help="short: `make test` (CI); long: `make test-long`")
    ap.add_argument("--cpus", default="1,2,4")
    ap.add_argument("--scenarios", help="default: every scenario of the tier")
    ap.add_argument("--variant", choices=["debug", "release"],
                    help="run every VM on this kernel (default: see kernel_of)")
    ap.add_argument("--skip-host", action="store_true")
    ap.add_argument("--skip-vm", action="store_true", help="host checks only, no builds or VMs")
    ap.add_argument("--scenario-timeout", type=int)
    ap.add_argument("--tiers", action="store_true", help="print the knobs of both tiers")
    ap.add_argument("--durations", action="store_true",
                    help="print each scenario's seconds in the last runs (.results/)")
    ap.add_argument("--schedule", action="store_true",
                    help="print the VM boots this run would make, and stop")
    args = ap.parse_args()
    if args.tiers:
        print_tiers()
        return 0
    if args.durations:
        for v in [args.variant] if args.variant else ["debug", "release"]:
            print_durations(v)
        return 0
    long_tier = args.tier == "long"
    cpus = [int(c) for c in args.cpus.split(",") if c]
    default = VM_SCENARIOS + (LONG_SCENARIOS if long_tier else [])
    scenarios = args.scenarios.split(",") if args.scenarios else default
    for s in scenarios:
        if not (TOP / f"tests/vm/scenarios/{s}.sh").exists():
            ap.error(f"no scenario {s}")
    limit = args.scenario_timeout or (7200 if long_tier else 900)

    for knob, values in TIERS.items():
        value = values[1] if long_tier else values[0]
        if value != "-":
            os.environ.setdefault(knob, value)
    variants = [args.variant] if args.variant else ["release", "debug"]
    if args.skip_vm:
        variants, cpus = [], []
    # TCG runs each VM on one host thread (see tests/vm/boot.sh), so VMs
    # run side by side, at most two: starting three at once on two cpus
    # was tried, each VM ran about 1.5 times slower, and load_unload and
    # the idle-time based locality checks failed for want of host cpu.
    jobs = int(os.environ.get("FASTSOCKET_VM_JOBS", min(2, os.cpu_count() or 1)))
    boots = plan_vms(cpus, scenarios, long_tier, args.variant, jobs)

    if args.schedule:
        for b in boots:
            print(f"{b.label:7} {b.variant:7} about {b.estimate():5.0f} s: {' '.join(b.scenarios)}")
        print(f"{len(boots)} boots on {jobs} workers: about {makespan(boots, max(1, jobs)):.0f} s")
        return 0
    plan = [] if args.skip_host else [name for name, _ in HOST_TESTS]
    for v in variants:
        plan += [f"build_kernel_{v}", f"build_module_{v}"]
    for b in boots:
        plan += b.tests()
    k = Ktap(plan)
    print(f"# tier: {args.tier}", flush=True)
    if boots:
        progress(f"{len(boots)} VM boots on {jobs} host workers, "
                 f"about {makespan(boots, max(1, jobs)):.0f} s")
    start = time.time()
    built = {}
    if not args.skip_host:
        host_tests(k)
    for v in variants:
        built[v] = build(k, v)
    if cpus and not tools():
        progress("userspace-tools did not build")
        built = {v: False for v in built}
    runnable = [b for b in boots if built.get(b.variant)]
    # Longest first, each to the first free worker.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = {b.label: pool.submit(vm_boot, b, limit)
                for b in sorted(runnable, key=Boot.estimate, reverse=True)}
        for b in boots:
            if b in runnable:
                console, seconds = runs[b.label].result()
                vm_tests(k, b, console, seconds)
            else:
                for name in b.tests():
                    k.result(name, False, "not run: the build failed")
    print(f"# total_seconds: {time.time() - start:.0f}")
    return 0 if k.finish() else 1


if __name__ == "__main__":
    sys.exit(main())
