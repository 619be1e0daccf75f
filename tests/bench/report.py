#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns benchmark measurements into Documentation/benchmarks.rst and plots.

    tests/bench/report.py RESULTS.jsonl... --rst Documentation/benchmarks.rst
                          --plots Documentation/benchmarks/ [--intro FILE]

The input is the JSON lines tests/bench/bench.py collects from its VMs:
"meta" objects (one per VM run), "run" objects (one throughput measurement
of the release kernel per vCPU count, workload, configuration, round and
pair), "lockstat" objects (lock contention on the debug kernel),
"coherence" objects (the cache-line transfers and instructions the
coherence plugin counted over a fixed number of connections, one per vCPU
count, workload and configuration) and "vm" objects (a VM boot's
seconds).  A run's "pair" names the configuration it was measured back to
back with the baseline for; a configuration's ratio to the baseline is the
geometric mean of its pairs' ratios, with a 95 % confidence interval.  The
other figures are medians over runs; coherence figures are divided by
their line's connections.  The targets are computed from the data, never
asserted, and a verdict says whether the interval shows it.  The plots are
drawn by gnuplot.

Python 3.11 standard library only; the output depends on the input alone.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

BASELINE = "reuseport"
STOCK = "stock"
WORKLOAD_ORDER = ("fsbench", "nginx", "haproxy", "nginx-veth")
KERNEL_ORDER = ("release", "debug")
METRICS = ("conn_per_sec", "p50_us", "p99_us", "p999_us", "locality",
           "back_locality", "net_rx_per_conn", "ipi_per_conn",
           "switch_per_conn", "timer_per_conn", "completed", "failed")
RATIO_1CPU = 0.98   # at 1 vCPU: no worse than SO_REUSEPORT, within noise
CONFIDENCE = "95 %"
# Student's t, two-sided 95 %, by degrees of freedom (1..30).
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
LOCALITY = 0.99     # at 2+ vCPUs: the "100 %" locality target
MIN_SLICES = 8      # a run's slices that give it a rate of its faster half
MISSING = "\u2013"  # en dash: a cell with no measurement
DASH = "\u2013"     # separates the ends of a range
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ReportError(Exception):
    """Malformed input or a failed plot; main() prints it and exits 1."""


# ---------------------------------------------------------------- input


@dataclass
class Data:
    """Everything read from the JSON lines files."""
    metas: list = field(default_factory=list)
    configs: list = field(default_factory=list)   # [(name, label)] in order
    runs: list = field(default_factory=list)
    lockstats: list = field(default_factory=list)
    coherences: list = field(default_factory=list)
    vms: list = field(default_factory=list)


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _require(o, key, check, what, where):
    if key not in o:
        raise ReportError(f"{where}: missing \"{key}\"")
    if not check(o[key]):
        raise ReportError(f"{where}: \"{key}\" must be {what}, not {json.dumps(o[key])}")
    return o[key]


def _name(v):
    return isinstance(v, str) and bool(NAME_RE.match(v))


def _pos_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _check_meta(o, where):
    configs = _require(o, "configs", lambda v: isinstance(v, list) and v,
                       "a non-empty list", where)
    for i, c in enumerate(configs):
        w = f"{where}: configs[{i}]"
        if not isinstance(c, dict):
            raise ReportError(f"{w}: must be an object with \"name\" and \"label\"")
        _require(c, "name", _name, "a configuration name", w)
        if not isinstance(c.get("label", ""), str):
            raise ReportError(f"{w}: \"label\" must be a string")
    for key in ("rounds", "seconds", "connections", "cpus", "host_cpus"):
        if o.get(key) is not None and not _is_num(o[key]):
            raise ReportError(f"{where}: \"{key}\" must be a number")


def _check_run(o, where):
    if o.get("kernel", "release") != "release":
        raise ReportError(f"{where}: a throughput measurement of the "
                          f"{o['kernel']!r} kernel; only the release kernel's are reported")
    _require(o, "cpus", _pos_int, "a positive integer", where)
    _require(o, "workload", _name, "a workload name", where)
    _require(o, "config", _name, "a configuration name", where)
    _require(o, "round", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
             "a round number (integer >= 0)", where)
    if o.get("pair") is not None and not _name(o["pair"]):
        raise ReportError(f"{where}: \"pair\" must be a configuration name or null, "
                          f"not {json.dumps(o['pair'])}")
    for m in METRICS:
        v = o.get(m)
        if v is not None and not (_is_num(v) and v >= 0):
            raise ReportError(f"{where}: \"{m}\" must be a number >= 0 or null, "
                              f"not {json.dumps(v)}")
    if o.get("per_slice") is not None:
        _require(o, "per_slice", lambda v: isinstance(v, list) and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in v),
            "a list of connection counts", where)
        _require(o, "slice_ms", _pos_int, "a positive integer (with \"per_slice\")", where)


def _check_lockstat(o, where):
    _require(o, "cpus", _pos_int, "a positive integer", where)
    _require(o, "config", _name, "a configuration name", where)
    if "workload" in o:
        _require(o, "workload", _name, "a workload name", where)
    _require(o, "connections", _pos_int, "a positive integer", where)
    _require(o, "groups", lambda v: isinstance(v, dict)
             and all(isinstance(k, str) and _is_num(n) and n >= 0 for k, n in v.items()),
             "an object of lock group -> contention count", where)
    _require(o, "top", lambda v: isinstance(v, list) and all(
        isinstance(t, list) and len(t) == 2 and isinstance(t[0], str)
        and _is_num(t[1]) for t in v), "a list of [class, count] pairs", where)


def _nonneg(v):
    return _is_num(v) and v >= 0


# A coherence line's counts: required, and those it may leave out (null).
COHERENCE_COUNTS = ("instructions", "transfers")
COHERENCE_OPTIONAL = ("requested", "completed", "accepted", "failed", "seconds",
                      "idle_seconds", "window_seconds", "loads", "stores",
                      "load_transfers", "store_transfers", "untracked_accesses",
                      "ipis", "net_rx", "switches", "fastsocket_syns")


def _check_coherence(o, where):
    if o.get("kernel", "release") != "release":
        raise ReportError(f"{where}: a coherence measurement of the {o['kernel']!r} "
                          "kernel; only the release kernel's are reported")
    _require(o, "cpus", _pos_int, "a positive integer", where)
    _require(o, "workload", _name, "a workload name", where)
    _require(o, "config", _name, "a configuration name", where)
    _require(o, "connections", _pos_int, "a positive integer (the per-connection divisor)",
             where)
    for key in COHERENCE_COUNTS:
        _require(o, key, _nonneg, "a number >= 0", where)
    for key in COHERENCE_OPTIONAL:
        if o.get(key) is not None and not _nonneg(o[key]):
            raise ReportError(f"{where}: \"{key}\" must be a number >= 0 or null, "
                              f"not {json.dumps(o[key])}")
    for key in ("locality", "back_locality"):
        if o.get(key) is not None and not (_is_num(o[key]) and 0 <= o[key] <= 1):
            raise ReportError(f"{where}: \"{key}\" must be a fraction or null, "
                              f"not {json.dumps(o[key])}")
    lt, st = o.get("load_transfers"), o.get("store_transfers")
    if lt is not None and st is not None and lt + st != o["transfers"]:
        raise ReportError(f"{where}: load_transfers {lt} and store_transfers {st} "
                          f"do not add up to transfers {o['transfers']}")
    if o.get("top_functions") is not None:
        _require(o, "top_functions", lambda v: isinstance(v, list) and all(
            isinstance(t, list) and 2 <= len(t) <= 4 and isinstance(t[0], str)
            and all(_nonneg(n) for n in t[1:]) for t in v),
            "a list of [function, transfers, load transfers, store transfers]", where)
    if o.get("top_lines") is not None:
        _require(o, "top_lines", lambda v: isinstance(v, list) and all(
            isinstance(t, dict) and isinstance(t.get("line"), str)
            and _nonneg(t.get("transfers"))
            and isinstance(t.get("functions", []), list)
            and all(isinstance(f, list) and len(f) == 2 and isinstance(f[0], str)
                    and _nonneg(f[1]) for f in t.get("functions", [])) for t in v),
            "a list of {line, transfers, functions: [[function, transfers]]}", where)


def _check_vm(o, where):
    _require(o, "cpus", _pos_int, "a positive integer", where)
    _require(o, "scenario", _name, "a scenario name", where)
    _require(o, "seconds", _nonneg, "a number >= 0", where)
    if o.get("variant") is not None and not _name(o["variant"]):
        raise ReportError(f"{where}: \"variant\" must be a kernel variant name")


CHECKS = {"meta": _check_meta, "run": _check_run, "lockstat": _check_lockstat,
          "coherence": _check_coherence, "vm": _check_vm}


def parse(lines, name="<input>", data=None):
    """Adds the objects of an iterable of JSON lines to data (a new Data by default)."""
    data = data or Data()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name}:{n}"
        try:
            o = json.loads(line, parse_constant=_no_constant)
        except ValueError as e:
            raise ReportError(f"{where}: not JSON: {e}") from None
        if not isinstance(o, dict):
            raise ReportError(f"{where}: expected a JSON object")
        kind = o.get("kind")
        if kind not in CHECKS:
            raise ReportError(f"{where}: unknown \"kind\" {json.dumps(kind)} "
                              f"(expected one of {', '.join(CHECKS)})")
        CHECKS[kind](o, where)
        o = dict(o, _where=where)
        {"meta": data.metas, "run": data.runs, "lockstat": data.lockstats,
         "coherence": data.coherences, "vm": data.vms}[kind].append(o)
    return data


def finish(data):
    """Checks the whole input and settles the configuration order."""
    if not data.metas:
        raise ReportError("no \"meta\" object in the input: is it a bench.jsonl?")
    if not data.runs and not data.lockstats and not data.coherences:
        raise ReportError("no measurement (\"run\", \"lockstat\" or \"coherence\" "
                          "object) in the input")
    seen = {}
    for o in data.runs:
        key = (o["workload"], o["cpus"], o["config"], o["round"], o.get("pair"))
        if key in seen:
            pair = f", pair {o['pair']}" if o.get("pair") else ""
            raise ReportError(f"{o['_where']}: a second measurement of {o['workload']}, "
                              f"{o['cpus']} vCPU(s), {o['config']}, round {o['round']}"
                              f"{pair} (the first is at {seen[key]})")
        seen[key] = o["_where"]
    for o in data.lockstats:
        key = (o.get("workload", "fsbench"), o["cpus"], o["config"])
        if key in seen:
            raise ReportError(f"{o['_where']}: a second lock_stat measurement of "
                              f"{key[0]}, {key[1]} vCPU(s), {key[2]} "
                              f"(the first is at {seen[key]})")
        seen[key] = o["_where"]
    for o in data.coherences:
        key = ("coherence", o["workload"], o["cpus"], o["config"])
        if key in seen:
            raise ReportError(f"{o['_where']}: a second coherence measurement of "
                              f"{key[1]}, {key[2]} vCPU(s), {key[3]} "
                              f"(the first is at {seen[key]})")
        seen[key] = o["_where"]
    labels = {}
    for m in data.metas:
        for c in m["configs"]:
            labels.setdefault(c["name"], c.get("label") or c["name"])
    for o in data.runs + data.lockstats + data.coherences:
        labels.setdefault(o["config"], "")
    data.configs = list(labels.items())
    return data


def load(paths):
    """Reads and checks the JSON lines files, concatenated in the given order."""
    data = Data()
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                parse(f, str(p), data)
        except OSError as e:
            raise ReportError(f"cannot read {p}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise ReportError(f"{p}: not UTF-8 text: {e}") from None
    return finish(data)


# ---------------------------------------------------------- aggregation


@dataclass
class Cell:
    """The runs of one (workload, cpus, config): medians and spread."""
    runs: int             # the baseline has one per pair
    median: dict          # metric -> median over the runs, or None
    conn_min: float | None
    conn_max: float | None
    conn_by_pair: dict    # (round, pair) -> conn/s
    failed: int
    fast_by_pair: dict = field(default_factory=dict)   # -> fast_half_rate


def fast_half_rate(o):
    """conn/s over the faster half of a run's slices (at least MIN_SLICES
    of them), or None: the run's speed with the moments the host held the
    VM back left out (along with anything else that slowed a few slices)."""
    s = o.get("per_slice") or []
    if len(s) < MIN_SLICES:
        return None
    fast = sorted(s)[len(s) // 2:]
    return statistics.fmean(fast) * 1000 / o["slice_ms"]


def median(values):
    """Median of the non-null values, or None if there is none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(runs):
    """{(workload, cpus, config): Cell} over the runs of each."""
    groups = {}
    for o in runs:
        groups.setdefault((o["workload"], o["cpus"], o["config"]), []).append(o)
    cells = {}
    for key, rs in groups.items():
        conn = {(o["round"], o.get("pair")): o["conn_per_sec"] for o in rs
                if o.get("conn_per_sec") is not None}
        cells[key] = Cell(
            runs=len(rs),
            median={m: median(o.get(m) for o in rs) for m in METRICS},
            conn_min=min(conn.values()) if conn else None,
            conn_max=max(conn.values()) if conn else None,
            conn_by_pair=conn,
            failed=sum(o.get("failed") or 0 for o in rs),
            fast_by_pair={k: v for k, v in (((o["round"], o.get("pair")), fast_half_rate(o))
                                            for o in rs) if v is not None},
        )
    return cells


@dataclass
class Ratio:
    """A conn/s ratio: the geometric mean of n paired ratios with its 95 %
    confidence interval (lo, hi), or (n == 0) a ratio of medians alone."""
    value: float
    lo: float | None = None
    hi: float | None = None
    n: int = 0


def t95(df):
    """Two-sided 95 % quantile of Student's t with df degrees of freedom."""
    if df <= len(T95):
        return T95[df - 1]
    z = 1.959964   # beyond the table, the Cornish-Fisher expansion
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def paired(ratios):
    """Geometric mean of ratios with the t interval of their logarithms:
    a speed ratio is multiplicative, and its logarithm is what is near
    normal."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return Ratio(math.exp(mean), n=len(logs))
    half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return Ratio(math.exp(mean), math.exp(mean - half), math.exp(mean + half), len(logs))


def ratio(cells, workload, cpus, config, base, fast=False):
    """config's conn/s over base's at the same (workload, cpus), or None.
    Runs measured together (same round and pair) are divided pair by pair;
    without such pairs, the medians are.  fast: the rates of the runs'
    faster halves (fast_half_rate), pairs only."""
    c, b = cells.get((workload, cpus, config)), cells.get((workload, cpus, base))
    if c is None or b is None:
        return None
    cb, bb = (c.fast_by_pair, b.fast_by_pair) if fast else (c.conn_by_pair, b.conn_by_pair)
    pairs = [v / bb[k] for k, v in sorted(cb.items(), key=str) if v > 0 and bb.get(k)]
    if pairs:
        return paired(pairs)
    if fast:
        return None
    cm, bm = c.median["conn_per_sec"], b.median["conn_per_sec"]
    if cm is None or not bm:
        return None
    return Ratio(cm / bm)


def workloads(data, lines=None):
    """The workloads measured (in LINES, default the runs), in
    WORKLOAD_ORDER, then the others sorted."""
    names = {o["workload"] for o in (data.runs if lines is None else lines)}
    return [w for w in WORKLOAD_ORDER if w in names] + sorted(names - set(WORKLOAD_ORDER))


def cpus_of(data, workload, lines=None):
    """The vCPU counts a workload was measured on (in LINES, default the
    runs), ascending."""
    return sorted({o["cpus"] for o in (data.runs if lines is None else lines)
                   if o["workload"] == workload})


def configs_of(data, workload, lines=None):
    """The configurations measured with a workload (in LINES, default the
    runs), in the configuration order."""
    have = {o["config"] for o in (data.runs if lines is None else lines)
            if o["workload"] == workload}
    return [n for n, _ in data.configs if n in have]


# -------------------------------------------------------------- targets


MET, NOISE, NOT_MET, NO_DATA = "met", "within noise", "not met", "no data"


@dataclass
class Target:
    """One computed target.  verdict: MET or NOT_MET when the value (and
    its confidence interval lo..hi, where there is one) is wholly on one
    side of the bound; NOISE when the interval straddles it."""
    workload: str
    config: str
    cpus: int
    what: str
    value: float | None
    verdict: str
    stock: float | None = None
    one_over_n: float | None = None
    lo: float | None = None
    hi: float | None = None


def judge(value, lo, hi, ok):
    """The verdict of a value with an optional interval, ok(x) the test."""
    if value is None:
        return NO_DATA
    if lo is None or hi is None:
        return MET if ok(value) else NOT_MET
    if ok(lo) and ok(hi):
        return MET
    if not ok(lo) and not ok(hi):
        return NOT_MET
    return NOISE


def speed_target(cells, w, config, cpus):
    """At 1 vCPU no cost (ratio at least RATIO_1CPU); on more, faster."""
    r = ratio(cells, w, cpus, config, BASELINE) or Ratio(None)
    rs = ratio(cells, w, cpus, STOCK, BASELINE)
    if cpus == 1:
        what, ok = f"ratio to {BASELINE} \u2265 {RATIO_1CPU:.2f}", lambda x: x >= RATIO_1CPU
    else:
        what, ok = f"ratio to {BASELINE} > 1.00", lambda x: x > 1.0
    return Target(w, config, cpus, what, r.value, judge(r.value, r.lo, r.hi, ok),
                  rs.value if rs else None, lo=r.lo, hi=r.hi)


def locality_target(cells, w, config, cpus):
    """Connections handled where they arrived, against 1/N."""
    cell, st = cells.get((w, cpus, config)), cells.get((w, cpus, STOCK))
    loc = cell.median["locality"] if cell else None
    return Target(w, config, cpus, f"locality \u2265 {LOCALITY:.2f}", loc,
                  judge(loc, None, None, lambda x: x >= LOCALITY),
                  st.median["locality"] if st else None, 1 / cpus)


def targets(data, cells):
    """The targets of every "fs-" configuration, per workload and vCPU count."""
    out = []
    for w in workloads(data):
        for config in configs_of(data, w):
            if not config.startswith("fs-"):
                continue
            for cpus in cpus_of(data, w):
                out.append(speed_target(cells, w, config, cpus))
                if cpus > 1:
                    out.append(locality_target(cells, w, config, cpus))
    return out


# ------------------------------------------------------------ coherence


TRANSFER_RATIO = 0.5    # fastsocket's transfers/conn against reuseport's ...
TRANSFER_CPUS = 4       # ... at this many vCPUs
FLAT_FROM, FLAT_TO = 2, 16
FLAT_GROWTH = 0.10      # transfers/conn from FLAT_FROM to FLAT_TO vCPUs
INSTR_RATIO = 1.02      # fastsocket's instructions/conn against reuseport's
TOP_CPUS = 8            # the top functions are shown at this many vCPUs


def per_conn(o, key):
    """A coherence line's count divided by its connections, or None."""
    if o is None or o.get(key) is None:
        return None
    return o[key] / o["connections"]


def coherence_cells(data):
    """{(workload, cpus, config): coherence line}."""
    return {(o["workload"], o["cpus"], o["config"]): o for o in data.coherences}


def coherence_workloads(data):
    return workloads(data, data.coherences)


def coherence_cpus(data, workload):
    return cpus_of(data, workload, data.coherences)


def coherence_configs(data, workload):
    return configs_of(data, workload, data.coherences)


def lock_per_k(data, workload, cpus, config):
    """lock_stat's contentions per 1,000 connections (its "total" group, or
    the sum of its groups), or None where not measured."""
    for o in data.lockstats:
        if (o.get("workload", "fsbench"), o["cpus"], o["config"]) == (workload, cpus, config):
            g = o["groups"]
            return (g["total"] if "total" in g else sum(g.values())) * 1000 / o["connections"]
    return None


def fs_configs(configs):
    return [c for c in configs if c.startswith("fs-")]


@dataclass
class CoherenceTarget:
    """One target of the coherence pass: value against a bound, with the
    same figure for stock and reuseport beside it."""
    workload: str
    config: str
    cpus: str
    what: str
    value: float | None
    verdict: str
    stock: float | None = None
    reuseport: float | None = None
    percent: bool = False


def growth(cc, w, config, cpus):
    """transfers/conn's largest rise from FLAT_FROM vCPUs to any count up
    to FLAT_TO, as a fraction; None without FLAT_FROM and one count more."""
    base = per_conn(cc.get((w, FLAT_FROM, config)), "transfers")
    later = [per_conn(cc.get((w, c, config)), "transfers") for c in cpus
             if FLAT_FROM < c <= FLAT_TO]
    later = [v for v in later if v is not None]
    if not base or not later:
        return None
    return max(later) / base - 1


def coherence_ratio(cc, w, cpus, config, key):
    """config's KEY per connection over reuseport's, or None."""
    a = per_conn(cc.get((w, cpus, config)), key)
    b = per_conn(cc.get((w, cpus, BASELINE)), key)
    return a / b if a is not None and b else None


def coherence_targets(data):
    """The issue's targets for every "fs-" configuration of every load."""
    cc = coherence_cells(data)
    out = []
    for w in coherence_workloads(data):
        cpus = coherence_cpus(data, w)
        for config in fs_configs(coherence_configs(data, w)):
            r = coherence_ratio(cc, w, TRANSFER_CPUS, config, "transfers")
            out.append(CoherenceTarget(
                w, config, str(TRANSFER_CPUS),
                f"transfers/conn \u2264 {TRANSFER_RATIO:g} \u00d7 {BASELINE}'s", r,
                judge(r, None, None, lambda x: x <= TRANSFER_RATIO),
                coherence_ratio(cc, w, TRANSFER_CPUS, STOCK, "transfers")))
            g = growth(cc, w, config, cpus)
            span_cpus = [c for c in cpus if FLAT_FROM <= c <= FLAT_TO and (w, c, config) in cc]
            out.append(CoherenceTarget(
                w, config, DASH.join(map(str, sorted({span_cpus[0], span_cpus[-1]})))
                if span_cpus else MISSING,
                f"transfers/conn growth \u2264 {FLAT_GROWTH * 100:.0f} %", g,
                judge(g, None, None, lambda x: x <= FLAT_GROWTH),
                growth(cc, w, STOCK, cpus), growth(cc, w, BASELINE, cpus), percent=True))
            for c in cpus:
                r = coherence_ratio(cc, w, c, config, "instructions")
                out.append(CoherenceTarget(
                    w, config, str(c),
                    f"instructions/conn \u2264 {INSTR_RATIO:.2f} \u00d7 {BASELINE}'s", r,
                    judge(r, None, None, lambda x: x <= INSTR_RATIO),
                    coherence_ratio(cc, w, c, STOCK, "instructions")))
    return out


# ----------------------------------------------------------- formatting


def num(v, decimals, sep=False):
    """A number with a fixed count of decimals, or the missing mark."""
    if v is None:
        return MISSING
    return f"{v:,.{decimals}f}" if sep else f"{v:.{decimals}f}"


def span(v, lo, hi, decimals, sep=False):
    """"v (lo–hi)", or v alone without a range."""
    if v is None:
        return MISSING
    if lo is None or hi is None:
        return num(v, decimals, sep)
    return f"{num(v, decimals, sep)} ({num(lo, decimals, sep)}{DASH}{num(hi, decimals, sep)})"


def ms(us):
    """Microseconds as milliseconds with one decimal."""
    return num(None if us is None else us / 1000, 1)


def esc(text):
    """Plain text made safe from reST inline markup."""
    text = re.sub(r"([\\*`|])", r"\\\1", str(text))
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def lit(text):
    """Inline literal, or escaped text if it cannot be one."""
    text = str(text)
    if "``" in text or text != text.strip() or not text or text.endswith("`"):
        return esc(text)
    return f"``{text}``"


def wrap(text, bullet=False):
    """A paragraph (or a bullet item) wrapped at 75 columns."""
    return textwrap.wrap(text, 75, initial_indent="* " if bullet else "",
                         subsequent_indent="  " if bullet else "",
                         break_long_words=False, break_on_hyphens=False)


def heading(text, char, over=False):
    line = char * len(text)
    return ([line] if over else []) + [text, line, ""]


def list_table(title, header, rows, widths=None):
    """A ".. list-table::" with one header row."""
    out = [f".. list-table:: {title}", "   :header-rows: 1"]
    if widths:
        out.append("   :widths: " + " ".join(str(w) for w in widths))
    out.append("")
    for row in [header] + rows:
        for i, cell in enumerate(row):
            out.append(f"   {'*' if i == 0 else ' '} - {cell}")
    return out + [""]


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def joined(values):
    """Distinct values in order, or the missing mark."""
    seen = []
    for v in values:
        if v is not None and str(v) not in seen:
            seen.append(str(v))
    return "; ".join(seen) if seen else MISSING


# ------------------------------------------------------------------ RST


def machine_section(data):
    out = heading("Machine and kernel", "=")
    m = data.metas
    host = joined(f"{x['host_cpu']}" + (f", {plural(x['host_cpus'], 'cpu')}"
                                        if x.get("host_cpus") is not None else "")
                  for x in m if x.get("host_cpu") is not None)
    out += [f":Host CPU: {esc(host)}",
            f":Emulator: {esc(joined(x.get('qemu') for x in m))}",
            f":nginx: {esc(joined(x.get('nginx') for x in m))}",
            f":HAProxy: {esc(joined(x.get('haproxy') for x in m))}", ""]

    def order(x):
        k = x.get("kernel")
        return (KERNEL_ORDER.index(k) if k in KERNEL_ORDER else len(KERNEL_ORDER),
                str(k), x.get("cpus") or 0, str(x.get("date", "")))
    rows = []
    for x in sorted(m, key=order):
        rs = x.get("rounds"), x.get("seconds")
        length = MISSING
        if None not in rs:
            length = f"{rs[0]:g} \u00d7 {rs[1]:g} s"
        elif x.get("connections") is not None:
            length = f"{num(x['connections'], 0, True)} connections"
        rows.append([esc(x.get("kernel", MISSING)),
                     num(x.get("cpus"), 0),
                     esc(x.get("uname", MISSING)),
                     esc(x.get("date", MISSING)),
                     esc(x.get("accel", MISSING)),
                     length])
    out += list_table("VM runs", ["Kernel", "vCPUs", "uname", "Date", "Accelerator",
                                  "Rounds \u00d7 time"],
                      rows, [10, 6, 36, 18, 16, 14])
    if data.vms:
        by = {}
        for v in data.vms:
            by[v["scenario"]] = by.get(v["scenario"], 0) + v["seconds"]
        total = sum(by.values())
        out += wrap(f"The VMs ran for {num(total, 0, True)} s ({total / 3600:.1f} h) in "
                    f"{plural(len(data.vms), 'boot')}: "
                    + ", ".join(f"{lit(k)} {num(v, 0, True)} s" for k, v in sorted(by.items()))
                    + ".") + [""]
    return out


def configs_section(data):
    out = heading("Configurations", "=")
    for name, label in data.configs:
        out.append(f"* {lit(name)} {DASH} {esc(label) if label else MISSING}")
    return out + [""]


def reading_section(data):
    has_stock = any(n == STOCK for n, _ in data.configs)
    out = heading("Reading the tables", "=")
    items = [
        "Every figure is the median over a configuration's runs; in "
        "parentheses after connections per second, the lowest and highest "
        f"run.  {lit(BASELINE)} has a run in every pair, so more runs than "
        "the others.",
        f"The ratio to {lit(BASELINE)} divides each run of a configuration by "
        f"the {lit(BASELINE)} run it was paired with (measured just before or "
        "after it) and gives the geometric mean of those ratios; in "
        f"parentheses, its {CONFIDENCE} confidence interval (Student's t on the "
        "logarithms of the ratios)."
        + (f"  The ratio to {lit(STOCK)} divides medians and has no interval: "
           f"configurations are paired with {lit(BASELINE)}, not with {lit(STOCK)} "
           f"(only {lit(BASELINE)}'s own ratio to {lit(STOCK)} comes from pairs)."
           if has_stock else ""),
        "Under TCG, connections per second show the work a connection costs "
        "and how it is handed between CPUs as the emulator runs them; they "
        "cannot show what a cache line moved between cores costs, which is most "
        "of what partitioning saves on hardware (a remote line costs TCG what a "
        "local one does).  The section on cache-line transfers counts those.",
        "Latencies are per connection, in milliseconds.",
        "Locality is the fraction of connections accepted on the CPU that "
        "processed their packets (haproxy: front end; back locality: its "
        "connections to the backend); 1/N is what chance gives on N vCPUs.",
        "NET_RX and IPIs are the NET_RX softirqs and inter-processor "
        "interrupts counted during the measurement, per connection; switches, "
        "the context switches of every CPU (where measured).",
        f"{MISSING} marks a figure that was not measured.",
    ]
    for item in items:
        out += wrap(item, bullet=True)
    return out + [""]


def workload_section(data, cells, w, images):
    out = heading(w, "=")
    confs = configs_of(data, w)
    absent = [n for n, _ in data.configs if n not in confs]
    runs = [o for o in data.runs if o["workload"] == w]
    has_base = BASELINE in confs
    has_stock = STOCK in confs
    has_back = any(o.get("back_locality") is not None for o in runs)
    has_switch = any(o.get("switch_per_conn") is not None for o in runs)
    header = ["Configuration", "conn/s (min\u2013max)"]
    widths = [16, 20]
    if has_base:
        header.append(f"Ratio to {BASELINE} ({CONFIDENCE} CI)")
        widths.append(18)
    if has_stock:
        header.append(f"Ratio to {STOCK}")
        widths.append(10)
    header += ["p50 ms", "p99 ms", "p99.9 ms", "Locality"]
    widths += [8, 8, 8, 9]
    if has_back:
        header.append("Back locality")
        widths.append(9)
    header += ["NET_RX / conn", "IPIs / conn"]
    widths += [9, 9]
    if has_switch:
        header.append("Switches / conn")
        widths.append(9)
    failed = 0
    for cpus in cpus_of(data, w):
        rows = []
        for config in confs:
            c = cells.get((w, cpus, config))
            if c is None:
                rows.append([lit(config)] + [MISSING] * (len(header) - 1))
                continue
            failed += c.failed
            med = c.median
            row = [lit(config), span(med["conn_per_sec"], c.conn_min, c.conn_max, 1, True)]
            if has_base:
                r = ratio(cells, w, cpus, config, BASELINE)
                row.append(span(r.value, r.lo, r.hi, 3) if r else MISSING)
            if has_stock:
                r = ratio(cells, w, cpus, config, STOCK)
                row.append(num(r.value, 3) if r else MISSING)
            row += [ms(med["p50_us"]), ms(med["p99_us"]), ms(med["p999_us"]),
                    num(med["locality"], 3)]
            if has_back:
                row.append(num(med["back_locality"], 3))
            row += [num(med["net_rx_per_conn"], 2), num(med["ipi_per_conn"], 2)]
            if has_switch:
                row.append(num(med["switch_per_conn"], 2))
            rows.append(row)
        counts = [cells[(w, cpus, c)].runs for c in confs if (w, cpus, c) in cells]
        n_runs = (str(min(counts)) if min(counts) == max(counts)
                  else f"{min(counts)}{DASH}{max(counts)}")
        out += list_table(f"{w}, {plural(cpus, 'vCPU')}, {n_runs} runs each",
                          header, rows, widths)
    if absent:
        out += [f"Not measured with {w}: {', '.join(lit(n) for n in absent)}.", ""]
    if failed:
        out += [f"**{plural(failed, 'connection')} failed** in the measurements "
                "of this section.", ""]
    for name, alt in images:
        out += [f".. image:: {name}", f"   :alt: {alt}", ""]
    return out


def fast_half_section(data, cells):
    """Ratios from the faster half of the runs' slices, where there are some."""
    rows, cpus_all = [], sorted({o["cpus"] for o in data.runs})
    for w in workloads(data):
        for config in configs_of(data, w):
            if config == BASELINE:
                continue
            rs = [ratio(cells, w, c, config, BASELINE, fast=True) for c in cpus_all]
            if any(rs):
                rows.append([esc(w), lit(config)]
                            + [span(r.value, r.lo, r.hi, 3) if r else MISSING for r in rs])
    if not rows:
        return []
    out = heading("The host's quiet moments", "=")
    out += wrap("A run also counts its connections in slices of 100 ms (fsbench: its "
                "client's completions; the applications: the server's accepts, which "
                "libfsprobe.so counts).  On a shared host a run holds stretches in "
                "which the host did not run the VM; they slow a few slices.  This "
                "table divides the connections per second of the faster half of each "
                f"run's slices, pair by pair, as the ratios to {lit(BASELINE)} above "
                f"do with whole runs ({CONFIDENCE} confidence interval).  It is no "
                "target: a cost of the guest's own that lands in a few slices (a "
                "periodic thread, say) is dropped with the host's stalls.  It shows "
                "how far apart the configurations are while the host leaves the "
                "VM alone.") + [""]
    return out + list_table(f"Ratio to {BASELINE}, faster half of the slices",
                            ["Load", "Configuration"] + [plural(c, "vCPU") for c in cpus_all],
                            rows, [10, 16] + [18] * len(cpus_all))


def lock_section(data):
    out = heading("Lock contention", "=")
    if not data.lockstats:
        return out + ["No lock_stat measurement in the input.", ""]
    groups = []
    for o in data.lockstats:
        groups += [g for g in o["groups"] if g not in groups]
    order = {n: i for i, (n, _) in enumerate(data.configs)}
    out += wrap("Measured on the debug kernel (``CONFIG_LOCK_STAT``), whose locking "
                "costs differ from the release kernel's: compare the configurations "
                "with each other, not with the throughput above.  A group is the sum "
                "of lock_stat's contentions over its lock classes, per 1,000 "
                "connections; the classes are the most contended ones with their "
                "raw counts.") + [""]
    keys = sorted({(o.get("workload", "fsbench"), o["cpus"]) for o in data.lockstats},
                  key=lambda k: (WORKLOAD_ORDER.index(k[0]) if k[0] in WORKLOAD_ORDER
                                 else len(WORKLOAD_ORDER), k[0], k[1]))
    for w, cpus in keys:
        rows = []
        los = [o for o in data.lockstats if o.get("workload", "fsbench") == w and o["cpus"] == cpus]
        for o in sorted(los, key=lambda o: order[o["config"]]):
            per_k = [num(o["groups"][g] * 1000 / o["connections"], 1) if g in o["groups"]
                     else MISSING for g in groups]
            top = sorted(o["top"], key=lambda t: -t[1])[:3]
            rows.append([lit(o["config"]), num(o["connections"], 0, True)] + per_k
                        + [", ".join(f"{lit(n)} ({num(c, 0, True)})" for n, c in top) or MISSING])
        out += list_table(f"{w}, {plural(cpus, 'vCPU')}, contentions per 1,000 connections",
                          ["Configuration", "Connections"] + [esc(g) for g in groups]
                          + ["Most contended classes"],
                          rows, [16, 10] + [8] * len(groups) + [40])
    return out


def pct(v):
    """A fraction as a signed percentage with one decimal."""
    return MISSING if v is None else f"{v * 100:+.1f} %"


def coherence_cost(data):
    """What the pass cost: one row per vCPU count."""
    cpus_all = sorted({o["cpus"] for o in data.coherences})
    loads = coherence_workloads(data)
    rows = []
    for c in cpus_all:
        here = [o for o in data.coherences if o["cpus"] == c]
        vm = sum(v["seconds"] for v in data.vms
                 if v["cpus"] == c and v["scenario"] == "bench_coherence")
        conns = sorted({o["requested"] for o in here if o.get("requested") is not None})
        window = sum(o.get("window_seconds") or 0 for o in here)
        slow = []
        for w in loads:
            f = [o["seconds"] / o["idle_seconds"] for o in here if o["workload"] == w
                 and o.get("seconds") is not None and o.get("idle_seconds")]
            slow.append(num(f[0], 1) if f else MISSING)
        rows.append([str(c), num(vm or None, 0, True),
                     ", ".join(num(n, 0, True) for n in conns) or MISSING,
                     str(len(here)), num(window, 0, True)] + slow)
    return rows, loads


def coherence_section(data, images):
    """Transfers, instructions, IPIs, locality and lock contention per
    connection against vCPUs, the top functions, and the targets."""
    out = heading("Cache-line transfers (coherence model)", "=")
    if not data.coherences:
        return out + ["No coherence measurement in the input "
                      "(``tests/bench/bench.py --no-coherence``).", ""]
    out += wrap("What per-core partitioning saves on a real machine is mostly cache "
                "lines moving between cores, which TCG's connections per second cannot "
                "show.  Here QEMU's coherence plugin (Documentation/coherence.rst) "
                "counted them: every configuration ran a fixed number of connections "
                "per load inside the plugin's window, on the bench kernel, one VM per "
                "vCPU count, and each count below is divided by the connections the "
                "server accepted in the window.") + [""]
    out += wrap("**A model, not a measurement of hardware.**  The plugin follows every "
                "load and store of every vCPU by physical address in 64-byte lines, "
                "with private caches of unbounded size: only the misses that sharing "
                "causes are counted (a *transfer* is a load of a line another vCPU has "
                "modified, or a store to a line other vCPUs hold), never capacity or "
                "cold misses, and a transfer is a count, not a time.  The window "
                "counts the whole guest: the client (``[user]``), timer ticks and RCU "
                "as well as the server.  The vCPUs' interleaving is the emulator's "
                "(single-threaded TCG runs one vCPU at a time).") + [""]
    out += wrap("Each connection is a new TCP connection over loopback, client and "
                "server in the guest; for haproxy it is one client connection, which "
                "makes a second one to nginx.  fsbench makes exactly the count; wrk is "
                "stopped after it, and the connections it has in flight then are "
                "served and counted by the server's accepts.  IPIs are the function "
                "call and rescheduling interrupts of the window; locality and lock "
                "contention are measured as in the sections above (lock_stat on the "
                "debug kernel, fsbench only).") + [""]
    rows, loads = coherence_cost(data)
    total = sum(v["seconds"] for v in data.vms if v["scenario"] == "bench_coherence")
    cost = ("The slowdown divides a load's time with the window open by the same "
            "load's time with the plugin loaded and its window closed (the first "
            "configuration of each load runs both ways); loading the plugin costs "
            "about 1.3 times more again.")
    if total:
        cost = (f"The pass took {num(total, 0, True)} s of VM time "
                f"({total / 3600:.1f} h).  ") + cost
    out += wrap(cost) + [""]
    out += list_table("What the coherence pass cost",
                      ["vCPUs", "VM seconds", "Connections", "Measurements",
                       "Window host seconds"] + [f"Slowdown, {esc(w)}" for w in loads],
                      rows, [6, 10, 12, 12, 12] + [10] * len(loads))
    cc = coherence_cells(data)
    # Each table: a title and a cell's text for (workload, cpus, config).
    tables = [
        ("transfers per connection",
         lambda *key: num(per_conn(cc.get(key), "transfers"), 1, True)),
        ("instructions per connection",
         lambda *key: num(per_conn(cc.get(key), "instructions"), 0, True)),
        ("IPIs per connection", lambda *key: num(per_conn(cc.get(key), "ipis"), 2)),
        ("locality", lambda *key: num((cc.get(key) or {}).get("locality"), 3)),
    ]
    lock = ("lock contentions per 1,000 connections (debug kernel)",
            lambda *key: num(lock_per_k(data, *key), 1, True))
    for w in loads:
        out += heading(w, "-")
        cpus = coherence_cpus(data, w)
        confs = coherence_configs(data, w)
        has_lock = any(lock_per_k(data, w, c, k) is not None for c in cpus for k in confs)
        for title, cell in tables + ([lock] if has_lock else []):
            rows = [[lit(k)] + [cell(w, c, k) for c in cpus] for k in confs]
            out += list_table(f"{w}: {title}", ["Configuration"]
                              + [plural(c, "vCPU") for c in cpus], rows,
                              [16] + [10] * len(cpus))
        for name, alt in images.get(f"coherence:{w}", []):
            out += [f".. image:: {name}", f"   :alt: {alt}", ""]
        out += top_tables(data, cc, w, cpus, confs)
    out += coherence_targets_section(data)
    return out


def top_tables(data, cc, w, cpus, confs):
    """The functions and lines with the most transfers, stock's beside a
    fastsocket mode's, at TOP_CPUS vCPUs (or the most measured)."""
    at = TOP_CPUS if TOP_CPUS in cpus else max(cpus)
    fs = [k for k in fs_configs(confs) if (w, at, k) in cc]
    shown = [k for k in [STOCK] + fs[:1] if (w, at, k) in cc]
    if not shown:
        return []
    out = []
    header, cols = ["#"], []
    for k in shown:
        o = cc[(w, at, k)]
        header += [f"{lit(k)}: function", "Transfers / conn (load + store)"]
        cols.append([[lit(f[0]), f"{num(f[1] / o['connections'], 2)}"
                      + (f" ({num(f[2] / o['connections'], 2)} + "
                         f"{num(f[3] / o['connections'], 2)})" if len(f) == 4 else "")]
                     for f in o.get("top_functions") or []])
    n = max(len(c) for c in cols)
    rows = [[str(i + 1)] + sum((c[i] if i < len(c) else [MISSING, MISSING] for c in cols), [])
            for i in range(n)]
    out += list_table(f"{w}, {plural(at, 'vCPU')}: the functions with the most transfers",
                      header, rows, [4] + [24, 14] * len(shown))
    rows = []
    for k in shown:
        o = cc[(w, at, k)]
        for t in (o.get("top_lines") or [])[:5]:
            rows.append([lit(k), lit(t["line"]), num(t["transfers"] / o["connections"], 2),
                         ", ".join(f"{lit(f)} ({num(n / o['connections'], 2)})"
                                   for f, n in t.get("functions", [])) or MISSING])
    if rows:
        out += list_table(f"{w}, {plural(at, 'vCPU')}: the lines with the most transfers",
                          ["Configuration", "Line", "Transfers / conn",
                           "Functions (transfers / conn)"], rows, [16, 24, 10, 40])
    return out


def coherence_targets_section(data):
    ts = coherence_targets(data)
    out = heading("Targets of the coherence pass", "-")
    out += wrap(f"For every {lit('fs-')} configuration of every load: at most "
                f"{TRANSFER_RATIO:g} times {lit(BASELINE)}'s transfers per connection at "
                f"{TRANSFER_CPUS} vCPUs; transfers per connection flat from {FLAT_FROM} "
                f"to {FLAT_TO} vCPUs (the largest rise over {FLAT_FROM} vCPUs at most "
                f"{FLAT_GROWTH * 100:.0f} %); and at most {INSTR_RATIO:.2f} times "
                f"{lit(BASELINE)}'s instructions per connection, what the hooks cost, "
                "on every vCPU count.  One measurement each, no interval: a count of "
                "the model varies little from run to run, but the connections' "
                "interleaving does.  Beside each value, the same figure for "
                f"{lit(STOCK)} and (for the growth) {lit(BASELINE)}.  Where a target "
                "is not met, the tables of top functions above say where the "
                "transfers are.") + [""]
    if not ts:
        return out + [f"No {lit('fs-')} configuration in the input.", ""]
    counts = {v: sum(t.verdict == v for t in ts) for v in (MET, NOT_MET, NO_DATA)}
    judged = len(ts) - counts[NO_DATA]
    summary = f"**{counts[MET]} of {plural(judged, 'target')} met**, {counts[NOT_MET]} {NOT_MET}"
    if counts[NO_DATA]:
        summary += f" ({counts[NO_DATA]} without the data to judge)"
    out += [summary + ".", ""]
    for w in coherence_workloads(data):
        rows = [[lit(t.config), t.cpus, esc(t.what),
                 pct(t.value) if t.percent else num(t.value, 3), t.verdict,
                 pct(t.stock) if t.percent else num(t.stock, 3),
                 pct(t.reuseport) if t.percent else MISSING]
                for t in ts if t.workload == w]
        if rows:
            out += list_table(f"{w}: coherence targets",
                              ["Configuration", "vCPUs", "Target", "Value", "Verdict",
                               f"{STOCK}'s value", f"{BASELINE}'s value"],
                              rows, [16, 6, 30, 10, 10, 10, 10])
    return out


def targets_section(data, ts):
    out = heading("Targets", "=")
    out += wrap(f"Computed for every {lit('fs-')} configuration: at 1 vCPU, a ratio to "
                f"{lit(BASELINE)} of at least {RATIO_1CPU:.2f} (no cost where there is "
                "nothing to partition); on more vCPUs, a ratio above 1.00 and a "
                f"locality of at least {LOCALITY:.2f} (the 100 % target).  A ratio "
                f"target is {MET} or {NOT_MET} only when its whole {CONFIDENCE} "
                f"confidence interval is on one side of the bound; {NOISE} when the "
                "interval straddles it, so that this run can tell neither.  Each value "
                f"is shown with the same figure for {lit(STOCK)} and, for locality, "
                "with 1/N.") + [""]
    if not ts:
        return out + [f"No {lit('fs-')} configuration in the input.", ""]
    counts = {v: sum(t.verdict == v for t in ts) for v in (MET, NOISE, NOT_MET, NO_DATA)}
    judged = len(ts) - counts[NO_DATA]
    summary = (f"**{counts[MET]} of {plural(judged, 'target')} met**, "
               f"{counts[NOISE]} {NOISE}, {counts[NOT_MET]} {NOT_MET}")
    if counts[NO_DATA]:
        summary += f" ({counts[NO_DATA]} without the data to judge)"
    out += [summary + ".", ""]
    for w in workloads(data):
        rows = [[lit(t.config), str(t.cpus), esc(t.what),
                 span(t.value, t.lo, t.hi, 3), t.verdict, num(t.stock, 3),
                 num(t.one_over_n, 3)]
                for t in ts if t.workload == w]
        if rows:
            out += list_table(f"{w} targets", ["Configuration", "vCPUs", "Target",
                                               f"Value ({CONFIDENCE} CI)", "Verdict",
                                               f"{STOCK}'s value", "1/N"],
                              rows, [16, 6, 26, 18, 10, 8, 8])
    return out


def render(data, cells, intro=None, images=None):
    """The whole RST document; images maps workload -> [(path, alt text)]."""
    images = images or {}
    out = [".. SPDX-License-Identifier: GPL-2.0", "",
           ".. Generated by tests/bench/report.py from the measurements of",
           "   tests/bench/bench.py: edit those, not this file.", ""]
    out += heading("Benchmarks", "=", over=True)
    if intro:
        out += intro.rstrip("\n").split("\n") + [""]
    out += machine_section(data)
    out += configs_section(data)
    out += reading_section(data)
    for w in workloads(data):
        out += workload_section(data, cells, w, images.get(w, []))
    out += fast_half_section(data, cells)
    out += lock_section(data)
    out += coherence_section(data, images)
    out += targets_section(data, targets(data, cells))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(line.rstrip() for line in out) + "\n"


# ---------------------------------------------------------------- plots


def gq(text):
    """A gnuplot single-quoted string."""
    return "'" + str(text).replace("'", "''") + "'"


PREAMBLE = """set encoding utf8
set terminal pngcairo size 800,500 font 'DejaVu Sans,10' noenhanced
set output {out}
set title {title}
set xlabel 'vCPUs'
set ylabel {ylabel}
set xrange [-0.5:{xmax}]
set xtics ({xtics})
set grid ytics
set key outside right top
set bars 2
set offsets 0, 0, graph 0.05, 0
"""


def _script(tmp, base, out, title, ylabel, xs, series, extra=(), yrange="[0:*]"):
    """Writes the data files and gnuplot script of one plot; returns the script."""
    plots = []
    k = len(series)
    for i, (name, points, errors) in enumerate(series):
        dat = tmp / f"{base}-{i}.dat"
        off = (i - (k - 1) / 2) * 0.03 if errors else 0.0
        dat.write_text("".join(f"{x + off:.3f} " + " ".join(f"{v:.6g}" for v in p) + "\n"
                               for x, p in points))
        style = "yerrorlines" if errors else "linespoints"
        cols = "1:2:3:4" if errors else "1:2"
        plots.append(f"{gq(dat.name)} using {cols} with {style} lw 2 pt {i % 13 + 1} "
                     f"ps 1.2 title {gq(name)}")
    plots += list(extra)
    text = PREAMBLE.format(out=gq(out), title=gq(title), ylabel=gq(ylabel),
                           xmax=len(xs) - 0.5,
                           xtics=", ".join(f"{gq(c)} {i}" for i, c in enumerate(xs)))
    text += f"set yrange {yrange}\nplot " + ", \\\n     ".join(plots) + "\n"
    gp = tmp / f"{base}.gp"
    gp.write_text(text)
    return gp


def plot_specs(data, cells, w, tmp, outdir):
    """The gnuplot scripts of one workload: [(png name, alt text, script)]."""
    xs = cpus_of(data, w)
    confs = configs_of(data, w)
    specs = []

    conn = []
    for c in confs:
        pts = [(i, (m.median["conn_per_sec"], m.conn_min, m.conn_max))
               for i, n in enumerate(xs) if (m := cells.get((w, n, c)))
               and m.median["conn_per_sec"] is not None]
        if pts:
            conn.append((c, pts, True))
    if conn:
        name = f"{w}-conn.png"
        specs.append((name, f"{w}: connections per second against vCPUs",
                      _script(tmp, f"{w}-conn", outdir / name,
                              f"{w}: connections/s (median, min{DASH}max over runs)",
                              "connections/s", xs, conn)))

    ratios = []
    for c in confs:
        pts = []
        for i, n in enumerate(xs):
            r = ratio(cells, w, n, c, BASELINE)
            if r:
                pts.append((i, (r.value, r.value if r.lo is None else r.lo,
                                r.value if r.hi is None else r.hi)))
        if pts:
            ratios.append((c, pts, True))
    if ratios:
        name = f"{w}-ratio.png"
        specs.append((name, f"{w}: ratio of connections per second to {BASELINE}",
                      _script(tmp, f"{w}-ratio", outdir / name,
                              f"{w}: connections/s relative to {BASELINE} "
                              f"(paired, {CONFIDENCE} confidence interval)",
                              f"ratio to {BASELINE}", xs, ratios,
                              [f"1 with lines dt 2 lw 1.5 lc rgb 'gray40' title '1.0'"],
                              "[*:*]")))

    locs = []
    for c in confs:
        pts = [(i, (m.median["locality"],)) for i, n in enumerate(xs)
               if (m := cells.get((w, n, c))) and m.median["locality"] is not None]
        if pts:
            locs.append((c, pts, False))
    if locs:
        name = f"{w}-locality.png"
        ref = tmp / f"{w}-locality-ref.dat"
        ref.write_text("".join(f"{i} {1 / n:.6g}\n" for i, n in enumerate(xs)))
        specs.append((name, f"{w}: locality against vCPUs",
                      _script(tmp, f"{w}-locality", outdir / name,
                              f"{w}: locality, connections accepted on their packets' CPU (median)",
                              "locality", xs, locs,
                              [f"{gq(ref.name)} using 1:2 with linespoints dt 2 lw 1.5 "
                               "pt 6 ps 1.2 lc rgb 'gray40' title '1/N'"],
                              "[0:1.05]")))
    return specs


def coherence_plot_specs(data, w, tmp, outdir):
    """The coherence plots of one workload: transfers and instructions per
    connection against vCPUs, a line per configuration."""
    xs = coherence_cpus(data, w)
    cc = coherence_cells(data)
    specs = []
    for key, what in (("transfers", "cache-line transfers"), ("instructions", "instructions")):
        series = []
        for k in coherence_configs(data, w):
            pts = [(i, (per_conn(cc[(w, n, k)], key),)) for i, n in enumerate(xs)
                   if (w, n, k) in cc]
            if pts:
                series.append((k, pts, False))
        if series:
            name = f"coherence-{w}-{key}.png"
            specs.append((name, f"{w}: {what} per connection against vCPUs",
                          _script(tmp, f"coherence-{w}-{key}", outdir / name,
                                  f"{w}: {what} per connection (coherence model)",
                                  f"{what} / connection", xs, series)))
    return specs


def plot(data, cells, outdir):
    """Draws the plots into outdir; returns {workload: [(png name, alt
    text)]}, the coherence plots under "coherence:WORKLOAD"."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise ReportError("gnuplot is not installed (the plots need it, with the "
                          "pngcairo terminal): install it, e.g. apt-get install gnuplot")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    done = {}
    with tempfile.TemporaryDirectory(prefix="fs-report-") as tmp:
        tmp = Path(tmp)
        specs = [(w, spec) for w in workloads(data)
                 for spec in plot_specs(data, cells, w, tmp, outdir)]
        specs += [(f"coherence:{w}", spec) for w in coherence_workloads(data)
                  for spec in coherence_plot_specs(data, w, tmp, outdir)]
        for key, (name, alt, gp) in specs:
            png = outdir / name
            r = subprocess.run([gnuplot, gp.name], cwd=tmp, capture_output=True,
                               text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
            if r.returncode != 0 or not png.exists() or png.stat().st_size == 0:
                raise ReportError(f"gnuplot failed to draw {png}:\n"
                                  f"{(r.stderr or r.stdout).strip()}")
            done.setdefault(key, []).append((name, alt))
    return done


# ----------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Writes Documentation/benchmarks.rst and its plots from "
                    "tests/bench/bench.py's measurements.")
    ap.add_argument("results", nargs="+", metavar="RESULTS.jsonl",
                    help="JSON lines files, concatenated in order")
    ap.add_argument("--rst", required=True, type=Path, help="the RST file to write")
    ap.add_argument("--plots", required=True, type=Path,
                    help="directory for the PNG plots (created)")
    ap.add_argument("--intro", type=Path,
                    help="an RST fragment inserted verbatim after the title")
    args = ap.parse_args(argv)
    try:
        intro = None
        if args.intro is not None:
            try:
                intro = args.intro.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise ReportError(f"cannot read the intro {args.intro}: {e}") from None
        data = load(args.results)
        cells = aggregate(data.runs)
        drawn = plot(data, cells, args.plots)
        rel = Path(os.path.relpath(args.plots.resolve(), args.rst.resolve().parent)).as_posix()
        images = {w: [(f"{rel}/{name}", alt) for name, alt in v] for w, v in drawn.items()}
        text = render(data, cells, intro, images)
        args.rst.parent.mkdir(parents=True, exist_ok=True)
        args.rst.write_text(text, encoding="utf-8")
    except ReportError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
