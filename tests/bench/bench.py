#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`: stock 6.12 against every fastsocket configuration.

Boots the bench kernel (the release kernel without jump labels, see
tests/config/bench.config) under TCG on each vCPU count, one VM at a
time (a benchmark must not share the host's cpus with another VM), and
runs the `bench` scenario: every configuration of tests/bench/configs
under fsbench, nginx, haproxy and (from 4 vCPUs) nginx-veth, each
measured back to back with the baseline (reuseport), for several rounds.
Then boots the debug kernel (CONFIG_LOCK_STAT) for the `bench_lockstat`
scenario.  Finally tests/bench/report.py writes
Documentation/benchmarks.rst and its plots.

    tests/bench/bench.py [--cpus 1,2,4] [--clock auto|icount|real] [--rounds N]
                         [--seconds S]
                         [--lock-conns 1000] [--no-lockstat] [--no-report]

--clock icount runs the guest's clock on the instructions it executes
(QEMU -icount, single-threaded TCG): a measurement is then of the work a
connection costs, and the host's speed, which varies by tens of percent
from second to second, does not enter it.  But the vCPUs take turns on one
host thread, so on several vCPUs the figures are neither parallel speed nor
locality as a multi-core machine has it.  --clock real runs a host thread
per vCPU against the host's clock: parallel, and as noisy as the host.
--clock auto (the default) takes icount on 1 vCPU, where the question is
the cost of a connection, and the real clock on more.

Exit status 0 only if every VM finished cleanly (no kernel report) and no
connection failed in any measurement.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import run_tests as rt  # noqa: E402  (the VM runner the tests use)
from report import BASELINE  # noqa: E402

TOP = rt.TOP


def say(msg):
    print(f">>> {msg}", flush=True)


def prepare(variants):
    """Builds (or finds cached) the kernels and modules, and the tools."""
    for v in variants:
        r = subprocess.run(["scripts/kernel.sh", "build", v], cwd=TOP)
        if r.returncode != 0:
            sys.exit(f"error: the {v} kernel did not build")
        r = rt.run(["scripts/module.sh", v])
        if r.returncode != 0:
            sys.exit(f"error: fastsocket.ko did not build for the {v} kernel:\n{r.stdout}{r.stderr}")
    if not rt.tools():
        sys.exit("error: userspace-tools did not build")


def runs_per_round(cpus):
    """Runs in one round of the `bench` scenario on CPUS vCPUs: for each
    load, two (the pair) per configuration that runs it, the baseline
    aside."""
    apps = 3 if cpus >= 4 else 2     # nginx, haproxy, and nginx-veth from 4
    n = 0
    for line in (HERE / "configs").read_text().splitlines():
        f = [v.strip() for v in line.split("|")]
        if line.startswith("#") or len(f) < 7 or f[0] == BASELINE:
            continue
        # Field 5 says whether fsbench runs, field 6 the applications.
        n += 2 * ((f[4] != "n/a") + apps * (f[5] != "n/a"))
    return n


def use_tcg(thread, icount_shift=None):
    """The accelerator the next VMs boot with (tests/vm/boot.sh), and its
    description for the report."""
    os.environ["FASTSOCKET_TCG_THREAD"] = thread
    os.environ.pop("FASTSOCKET_ICOUNT", None)
    os.environ["FS_ACCEL"] = f"tcg,thread={thread}"
    if icount_shift is not None:
        os.environ["FASTSOCKET_ICOUNT"] = str(icount_shift)
        os.environ["FS_ACCEL"] += f",icount shift={icount_shift},sleep=on"


def host_facts():
    """What the report says about the machine the VMs ran on."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], text=True,
                          capture_output=True).stdout.splitlines()
    os.environ["FS_HOST_CPU"] = f"{model} ({platform.machine()})"
    os.environ["FS_HOST_CPUS"] = str(os.cpu_count() or 0)
    os.environ["FS_QEMU"] = qemu[0] if qemu else "unknown"


def follow(log, done):
    """Prints the scenario's "bench:" lines as they come."""
    pos = 0
    while not done.is_set():
        done.wait(2)
        if log.exists():
            with open(log, errors="replace") as f:
                f.seek(pos)
                for line in f.read().splitlines():
                    if line.startswith("bench:") or line.startswith("FAIL:"):
                        print(f"    {line}", flush=True)
                pos = f.tell()


def vm(variant, cpus, scenario, limit):
    """One VM running one bench scenario; returns its results file, or None."""
    out = Path(os.environ.get("FASTSOCKET_RESULTS", TOP / ".results")) / "bench" / f"{variant}-cpus{cpus}"
    say(f"{cpus} vCPU(s), {variant} kernel: {scenario}")
    start = time.time()
    done = threading.Event()
    t = threading.Thread(target=follow, args=(out / f"{scenario}.log", done), daemon=True)
    t.start()
    console = rt.vm_run(variant, cpus, [scenario], out, limit)
    done.set()
    t.join()
    result, reports = rt.scenario_outcome(out, scenario)
    result = result or "not run"
    reports += [line for line in console.splitlines() if rt.REPORT.search(line)]
    say(f"{cpus} vCPU(s), {variant} kernel: {result} in {time.time() - start:.0f} s")
    if reports:
        say(f"kernel report: {reports[0].strip()} (console: {out}/console.log)")
        return None
    if result != "ok":
        say(f"the scenario did not finish; see {out}/{scenario}.log")
        return None
    return out / "bench.jsonl"


def failed_connections(files):
    """(measurements, failed connections) over the results."""
    n = failed = 0
    for f in files:
        for line in f.read_text().splitlines():
            o = json.loads(line)
            if o.get("kind") in ("run", "lockstat"):
                n += 1
                failed += o.get("failed") or 0
    return n, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpus", default="1,2,4")
    ap.add_argument("--clock", choices=("auto", "icount", "real"), default="auto",
                    help="the guest's clock: instructions executed (icount), the "
                    "host's time (real), or icount on 1 vCPU and real on more (auto)")
    # Under the host's clock a ratio needs many short pairs (the host's
    # speed wanders); under icount a run varies by under 1 %.
    ap.add_argument("--rounds", type=int, help="pairs per configuration and load "
                    "(default: 4 under icount, 7 under the real clock)")
    ap.add_argument("--seconds", type=int, help="guest seconds per run "
                    "(default: 1 under icount, 2 under the real clock)")
    ap.add_argument("--lock-conns", type=int, default=1000)
    ap.add_argument("--no-lockstat", action="store_true", help="skip the debug kernel's lock_stat runs")
    ap.add_argument("--no-report", action="store_true", help="measure only; leave Documentation/ alone")
    args = ap.parse_args()
    cpus = [int(c) for c in args.cpus.split(",") if c]

    os.environ["FS_BENCH_LOCK_CONNS"] = str(args.lock_conns)
    prepare(["bench"] + ([] if args.no_lockstat else ["debug"]))
    host_facts()

    files, ok = [], True
    for c in cpus:
        icount = args.clock == "icount" or (args.clock == "auto" and c == 1)
        rounds = args.rounds or (4 if icount else 7)
        seconds = args.seconds or (1 if icount else 2)
        os.environ["FS_BENCH_ROUNDS"] = str(rounds)
        os.environ["FS_BENCH_SECONDS"] = str(seconds)
        # Generous: a round's runs last `seconds` plus start and stop,
        # which under TCG take from 2 (fsbench) to 8 s (haproxy); a guest
        # second of icount (500 million instructions) takes a few host
        # seconds.
        limit = rounds * runs_per_round(c) * (seconds * (6 if icount else 1) + 12) + 300
        if icount:
            # One instruction every 2 ns: a 500 MHz guest, whose second
            # takes a few host seconds.
            use_tcg("single", icount_shift=1)
        else:
            # A host thread per vCPU: the vCPUs run in parallel, as far as
            # the host's cpus go.  The bench kernel patches no jump label,
            # which is what makes this QEMU's multi-threaded TCG trip
            # (tests/vm/boot.sh).
            use_tcg("multi")
        f = vm("bench", c, "bench", limit)
        ok &= f is not None
        files += [f] if f else []
    # The debug kernel patches jump labels: back to single-threaded TCG.
    use_tcg("single")
    if not args.no_lockstat:
        for c in cpus:
            f = vm("debug", c, "bench_lockstat", 1800)
            ok &= f is not None
            files += [f] if f else []

    n, failed = failed_connections(files)
    say(f"{n} measurements, {failed} failed connections")
    if files and not args.no_report:
        r = subprocess.run([sys.executable, str(HERE / "report.py"), *map(str, files),
                            "--rst", str(TOP / "Documentation/benchmarks.rst"),
                            "--plots", str(TOP / "Documentation/benchmarks"),
                            "--intro", str(HERE / "intro.rst")], cwd=TOP)
        ok &= r.returncode == 0
        if r.returncode == 0:
            say("wrote Documentation/benchmarks.rst and Documentation/benchmarks/*.png")
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
