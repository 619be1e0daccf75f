#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`: stock 6.12 against every fastsocket configuration.

Boots the bench kernel (the release kernel without jump labels, see
tests/config/bench.config) under TCG on each vCPU count, one VM at a
time (a benchmark must not share the host's cpus with another VM), and
runs the `bench` scenario: every configuration of tests/bench/configs
under fsbench, nginx, haproxy and (from 4 vCPUs) nginx-veth, each
measured back to back with the baseline (reuseport), for several rounds.
Then the coherence pass: the bench kernel again, under QEMU with the
cache-coherence plugin (Documentation/coherence.rst), on 1 to 16 vCPUs, for
the `bench_coherence` scenario: every configuration under fsbench, nginx
and haproxy for a fixed number of connections inside the plugin's window,
which counts the cache-line transfers and instructions per connection.
Then boots the debug kernel (CONFIG_LOCK_STAT) for the `bench_lockstat`
scenario, on every vCPU count of both passes.  Finally
tests/bench/report.py writes Documentation/benchmarks.rst and its plots.

    tests/bench/bench.py [--cpus 1,2,4] [--clock auto|icount|real] [--rounds N]
                         [--seconds S]
                         [--coherence-cpus 1,2,4,8,16] [--coherence-conns 2000]
                         [--coherence-tcg single|multi] [--no-coherence]
                         [--lock-conns 1000] [--lockstat-cpus LIST] [--no-lockstat]
                         [--no-report]

--clock icount runs the guest's clock on the instructions it executes
(QEMU -icount, single-threaded TCG): a measurement is then of the work a
connection costs, and the host's speed, which varies by tens of percent
from second to second, does not enter it.  But the vCPUs take turns on one
host thread, so on several vCPUs the figures are neither parallel speed nor
locality as a multi-core machine has it.  --clock real runs a host thread
per vCPU against the host's clock: parallel, and as noisy as the host.
--clock auto (the default) takes icount on 1 vCPU, where the question is
the cost of a connection, and the real clock on more.

The coherence pass makes --coherence-conns connections per configuration
and load up to 4 vCPUs, and 4/N of them on N vCPUs above (the figures are
per connection; the plugin makes every connection several times slower).
It runs single-threaded TCG by default: the plugin's model is right under
both, and multi-threaded TCG (--coherence-tcg multi, safe on the bench
kernel, which patches no jump label) interleaves the vCPUs more finely but
shares two host cores among them.

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


# Host seconds per connection counted by the coherence plugin on 2 vCPUs,
# with room to spare: fsbench took 7.5 ms (Documentation/coherence.rst);
# nginx and haproxy (two connections a request) cost more.  They bound a
# VM's time, they do not predict it.
COHERENCE_COST = {"fsbench": 0.02, "nginx": 0.06, "haproxy": 0.12}


def config_counts():
    """{load: the configurations that run it}, from tests/bench/configs."""
    n = dict.fromkeys(COHERENCE_COST, 0)
    for line in (HERE / "configs").read_text().splitlines():
        f = [v.strip() for v in line.split("|")]
        if line.startswith("#") or len(f) < 7:
            continue
        n["fsbench"] += f[4] != "n/a"
        n["nginx"] += f[5] != "n/a"
        n["haproxy"] += f[5] != "n/a"
    return n


def coherence_conns(cpus, conns):
    """Connections per measurement on CPUS vCPUs: CONNS up to 4, fewer
    above, as the bench_coherence scenario's default."""
    return conns if cpus <= 4 else max(100, conns * 4 // cpus)


def coherence_limit(cpus, conns):
    """The bench_coherence scenario's time limit: each load's measurements
    and its run with the window closed, a minute each to set up, and the
    connections at COHERENCE_COST, more on more vCPUs (they share one host
    thread)."""
    total = 600
    for load, n in config_counts().items():
        total += (n + 1) * (60 + conns * COHERENCE_COST[load] * (1 + cpus / 4))
    return int(total)


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


def vm(variant, cpus, scenario, limit, plugin=False):
    """One VM running one bench scenario (under the coherence plugin if
    plugin); returns its results file, or None.  The file gets a "vm" line
    with the boot's seconds, for what `make bench` costs."""
    name = f"{variant}-cpus{cpus}" + ("-coherence" if plugin else "")
    out = Path(os.environ.get("FASTSOCKET_RESULTS", TOP / ".results")) / "bench" / name
    say(f"{cpus} vCPU(s), {variant} kernel: {scenario}")
    start = time.time()
    done = threading.Event()
    t = threading.Thread(target=follow, args=(out / f"{scenario}.log", done), daemon=True)
    t.start()
    console = rt.vm_run(variant, cpus, [scenario], out, limit, plugin=plugin)
    done.set()
    t.join()
    seconds = time.time() - start
    result, reports = rt.scenario_outcome(out, scenario)
    result = result or "not run"
    reports += [line for line in console.splitlines() if rt.REPORT.search(line)]
    say(f"{cpus} vCPU(s), {variant} kernel: {result} in {seconds:.0f} s")
    if reports:
        say(f"kernel report: {reports[0].strip()} (console: {out}/console.log)")
        return None
    if result != "ok":
        say(f"the scenario did not finish; see {out}/{scenario}.log")
        return None
    results = out / "bench.jsonl"
    with open(results, "a") as f:
        f.write(json.dumps({"kind": "vm", "variant": variant, "cpus": cpus,
                            "scenario": scenario, "seconds": round(seconds)}) + "\n")
    return results


def failed_connections(files):
    """(measurements, failed connections) over the results."""
    n = failed = 0
    for f in files:
        for line in f.read_text().splitlines():
            o = json.loads(line)
            if o.get("kind") in ("run", "lockstat", "coherence"):
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
    ap.add_argument("--coherence-cpus", default="1,2,4,8,16",
                    help="vCPU counts of the coherence pass")
    ap.add_argument("--coherence-conns", type=int, default=2000,
                    help="connections per configuration and load in the coherence pass, "
                    "up to 4 vCPUs (N vCPUs above: 4/N of them)")
    ap.add_argument("--coherence-tcg", choices=("single", "multi"), default="single",
                    help="TCG's threads in the coherence pass")
    ap.add_argument("--no-coherence", action="store_true",
                    help="skip the coherence pass (cache-line transfers per connection)")
    ap.add_argument("--lock-conns", type=int, default=1000)
    ap.add_argument("--lockstat-cpus", help="vCPU counts of the lock_stat runs (default: "
                    "those of both other passes)")
    ap.add_argument("--no-lockstat", action="store_true", help="skip the debug kernel's lock_stat runs")
    ap.add_argument("--no-report", action="store_true", help="measure only; leave Documentation/ alone")
    args = ap.parse_args()
    cpus = [int(c) for c in args.cpus.split(",") if c]
    coherence_cpus = [] if args.no_coherence else [
        int(c) for c in args.coherence_cpus.split(",") if c]
    lockstat_cpus = ([int(c) for c in args.lockstat_cpus.split(",") if c]
                     if args.lockstat_cpus else sorted(set(cpus) | set(coherence_cpus)))

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
    start = time.time()
    for c in coherence_cpus:
        conns = coherence_conns(c, args.coherence_conns)
        os.environ["FS_COHERENCE_CONNS"] = str(conns)
        use_tcg(args.coherence_tcg)
        os.environ["FS_ACCEL"] += ",plugin=coherence"
        f = vm("bench", c, "bench_coherence", coherence_limit(c, conns), plugin=True)
        ok &= f is not None
        files += [f] if f else []
    if coherence_cpus:
        say(f"coherence pass: {time.time() - start:.0f} s on {len(coherence_cpus)} VM boot(s)")
    # The debug kernel patches jump labels: back to single-threaded TCG.
    use_tcg("single")
    if not args.no_lockstat:
        for c in lockstat_cpus:
            # More vCPUs take turns on one host thread: more time.
            f = vm("debug", c, "bench_lockstat", 1800 * max(1, c // 4))
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
