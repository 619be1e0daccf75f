#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fastsocket test suite: host checks, builds, and VM scenarios.

Prints KTAP on stdout (one line per test, figures as "# key: value"), and
ends with "N passed, N failed".  Progress goes to stderr.

    tests/run_tests.py [--cpus 1,2,4] [--scenarios a,b] [--skip-host]
"""

import argparse
import concurrent.futures
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
                "fsctl", "bench", "bench_lockstat"]
# `make test` runs the benchmark's scenarios briefly: every configuration of
# tests/bench/configs runs every load and loses no connection (`make bench`
# is where they run long enough to measure).  They run in one VM, the
# 2-vCPU one (more than one cpu to partition; without them it finishes
# minutes before the 4-vCPU VM beside it, so they add little to the suite).
BENCH_SCENARIOS = ["bench", "bench_lockstat"]
BENCH_SMOKE = {"FS_BENCH_ROUNDS": "1", "FS_BENCH_SECONDS": "1", "FS_BENCH_LOCK_CONNS": "100"}


def scenarios_for(cpus, all_cpus, scenarios):
    """The scenarios the VM with CPUS vcpus runs."""
    smoke = 2 if 2 in all_cpus else max(all_cpus)
    return [s for s in scenarios if s not in BENCH_SCENARIOS or cpus == smoke]


# Runs first in every VM; passes only if its deliberate warning is caught.
SELFTEST = "harness_selftest"

# A kernel report anywhere in a run fails it: any line with one of these
# (extended regular expressions, one per line; `make run` greps the same).
REPORT = re.compile("|".join(
    line for line in (TOP / "tests/vm/report-patterns").read_text().splitlines() if line))


def progress(msg):
    print(f">>> {msg}", file=sys.stderr, flush=True)


class Ktap:
    """Collects results and prints them as KTAP as they come."""

    def __init__(self, planned):
        self.n = 0
        self.passed = 0
        self.failed = 0
        print("KTAP version 1")
        print(f"1..{planned}", flush=True)

    def result(self, name, ok, reason="", figures=(), details=()):
        self.n += 1
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        status = "ok" if ok else "not ok"
        print(f"{status} {self.n} {name}")
        if reason and not ok:
            print(f"# reason: {reason}")
        for k, v in figures:
            print(f"# {k}: {v}")
        for d in details if not ok else ():
            print(f"# {d}")
        sys.stdout.flush()


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=kw.pop("cwd", TOP), text=True, capture_output=True, **kw)


def tail(text, n=15):
    return [line for line in text.strip().splitlines()[-n:]]


def host_tests(k):
    tools = TOP / "userspace-tools"
    r = run(["cargo", "fmt", "--all", "--", "--check"], cwd=tools)
    k.result("host_userspace_rustfmt", r.returncode == 0, "cargo fmt --check", details=tail(r.stdout))

    r = run(["cargo", "clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"], cwd=tools)
    k.result("host_userspace_clippy", r.returncode == 0, "cargo clippy", details=tail(r.stderr))

    r = run(["cargo", "test", "--workspace", "--quiet"], cwd=tools)
    counts = [int(m) for m in re.findall(r"test result: \w+\. (\d+) passed", r.stdout)]
    k.result(
        "host_cargo_test",
        r.returncode == 0 and sum(counts) > 0,
        "cargo test",
        figures=[("tests_passed", sum(counts))],
        details=[] if r.returncode == 0 else tail(r.stdout + r.stderr, 30),
    )

    r = run([sys.executable, "-m", "unittest", "-q", "tests/bench/test_report.py"])
    ran = re.search(r"Ran (\d+) test", r.stderr)
    k.result("host_bench_report", r.returncode == 0 and ran is not None, "tests/bench/test_report.py",
             figures=[("tests_passed", ran.group(1) if ran else 0)],
             details=[] if r.returncode == 0 else tail(r.stderr, 30))

    src = kernel_src()
    r = run(["rustfmt", "--check", "--edition", "2021", "--config-path", str(src / ".rustfmt.toml"),
             "rust/fastsocket.rs"])
    k.result("host_module_rustfmt", r.returncode == 0, "rustfmt --check rust/", details=tail(r.stdout))

    patches = [TOP / "patches" / p for p in series()]
    r = run(["perl", str(src / "scripts/checkpatch.pl"), "--no-tree", "-q", *map(str, patches)])
    k.result("host_checkpatch", r.returncode == 0, "checkpatch.pl", figures=[("patches", len(patches))],
             details=tail(r.stdout))
    bad_patch_test(k)


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


def tools():
    r = run(["cargo", "build", "--release", "--quiet"], cwd=TOP / "userspace-tools")
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
    return r.returncode == 0


def vm_run(variant, cpus, scenarios, out, limit):
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
        f"export FS_TOP={TOP}\n"
        f"export FS_OUT={out}\n"
        # Scenario knobs (FS_LOCALITY_CONNS=20000, ...) pass through.
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(os.environ.items())
                  if k.startswith("FS_") and k.isidentifier())
    )
    guest = f"{TOP}/tests/vm/guest.sh {out} {limit} {' '.join(scenarios)}"
    cmd = ["tests/vm/boot.sh", kdir, str(cpus), str(out), guest]
    # The whole boot gets the scenarios' time plus room to boot and stop.
    timeout = limit * len(scenarios) + 240
    try:
        r = subprocess.run(cmd, cwd=TOP, text=True, capture_output=True, timeout=timeout)
        console = r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        console = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        console += f"\n@@fastsocket host: VM timed out after {timeout} s\n"
    (out / "console.log").write_text(console)
    return console


def vm_out(variant, cpus):
    return Path(os.environ.get("FASTSOCKET_RESULTS", TOP / ".results")) / f"{variant}-cpus{cpus}"


def vm_boot(variant, cpus, scenarios, limit):
    """Runs one VM; returns (console, seconds)."""
    progress(f"VM: {cpus} vcpu(s), {variant} kernel, scenarios: {' '.join(scenarios)}")
    start = time.time()
    console = vm_run(variant, cpus, scenarios, vm_out(variant, cpus), limit)
    progress(f"VM: {cpus} vcpu(s) done in {time.time() - start:.0f} s")
    return console, time.time() - start


def scenario_outcome(out, name):
    """The result line of scenario NAME in OUT (None if it did not run)
    and the kernel reports of its dmesg."""
    res, dmesg = out / f"{name}.result", out / f"{name}.dmesg"
    result = res.read_text().strip() if res.exists() else None
    text = dmesg.read_text(errors="replace") if dmesg.exists() else ""
    return result, [line for line in text.splitlines() if REPORT.search(line)]


def vm_tests(k, variant, cpus, scenarios, console, seconds):
    """Reports the scenarios of one VM run."""
    out = vm_out(variant, cpus)
    reports_seen = []
    for name in scenarios:
        test = f"vm_cpus{cpus}_{'harness_catches_reports' if name == SELFTEST else name}"
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
        if name == SELFTEST:
            ok = result == "ok" and bool(reports)
            if not reports:
                reason = "a deliberate kernel warning went unnoticed"
            reports = []
        else:
            ok = result == "ok" and not reports
            if reports:
                reason = f"kernel report: {reports[0].strip()}"
        details = []
        if not ok:
            log = out / f"{name}.log"
            details = tail(log.read_text(errors="replace")) if log.exists() else []
            details += reports[:20]
        k.result(test, ok, reason, figures=figures, details=details)

    # The boot itself and whatever the console shows outside the scenarios.
    finished = (out / "guest.finished").exists()
    stray = [line for line in console.splitlines() if REPORT.search(line)]
    unexplained = [line for line in stray if not any(r.strip() in line for r in reports_seen)]
    ok = finished and not unexplained
    reason = "the VM did not finish its scenarios" if not finished else f"kernel report: {unexplained[0].strip()}" if unexplained else ""
    k.result(f"vm_cpus{cpus}_boot_and_console", ok, reason,
             figures=[("vm_seconds", f"{seconds:.0f}")],
             details=[] if ok else (tail(console, 25) + unexplained[:20]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpus", default="1,2,4")
    ap.add_argument("--scenarios", default=",".join(VM_SCENARIOS))
    ap.add_argument("--variant", default="debug")
    ap.add_argument("--skip-host", action="store_true")
    ap.add_argument("--skip-vm", action="store_true", help="host checks only, no builds or VMs")
    ap.add_argument("--scenario-timeout", type=int, default=600)
    args = ap.parse_args()
    cpus = [int(c) for c in args.cpus.split(",") if c]
    scenarios = args.scenarios.split(",")
    for s in scenarios:
        if not (TOP / f"tests/vm/scenarios/{s}.sh").exists():
            ap.error(f"no scenario {s}")

    for key, value in BENCH_SMOKE.items():
        os.environ.setdefault(key, value)
    variants = ["release", "debug"] if args.variant == "debug" else [args.variant]
    if args.skip_vm:
        variants, cpus = [], []
    per_vm = {c: scenarios_for(c, cpus, scenarios) for c in cpus}
    planned = (0 if args.skip_host else 7) + 2 * len(variants) + sum(len(v) + 2 for v in per_vm.values())
    k = Ktap(planned)
    start = time.time()
    built = {}
    if not args.skip_host:
        host_tests(k)
    for v in variants:
        built[v] = build(k, v)
    if cpus and not tools():
        progress("userspace-tools did not build")
        built[args.variant] = False
    if cpus and built[args.variant]:
        # TCG runs each VM on one host thread (see tests/vm/boot.sh), so VMs
        # run side by side, one per host cpu, largest first.  (Starting all
        # three at once on two cpus was tried: each VM ran about 1.5 times
        # slower, and load_unload and the idle-time based locality checks
        # failed for want of host cpu.)
        jobs = int(os.environ.get("FASTSOCKET_VM_JOBS", os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            runs = {c: pool.submit(vm_boot, args.variant, c, [SELFTEST] + per_vm[c], args.scenario_timeout)
                    for c in sorted(cpus, reverse=True)}
            for c in cpus:
                console, seconds = runs[c].result()
                vm_tests(k, args.variant, c, [SELFTEST] + per_vm[c], console, seconds)
    else:
        for c in cpus:
            for name in ["harness_catches_reports"] + per_vm[c] + ["boot_and_console"]:
                k.result(f"vm_cpus{c}_{name}", False, "not run: the build failed")
    print(f"# total_seconds: {time.time() - start:.0f}")
    print(f"{k.passed} passed, {k.failed} failed", flush=True)
    return 0 if k.failed == 0 and k.n == planned else 1


if __name__ == "__main__":
    sys.exit(main())
