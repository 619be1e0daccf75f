#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns benchmark measurements into Documentation/benchmarks.rst and plots.

    tests/bench/report.py RESULTS.jsonl... --rst Documentation/benchmarks.rst
                          --plots Documentation/benchmarks/ [--intro FILE]

The input is the JSON lines tests/bench/bench.py collects from its VMs:
"meta" objects (one per VM run), "run" objects (one throughput measurement
of the release kernel per vCPU count, workload, configuration, round and
pair) and "lockstat" objects (lock contention on the debug kernel).  A run's
"pair" names the configuration it was measured back to back with the
baseline for; a configuration's ratio to the baseline is the geometric mean
of its pairs' ratios, with a 95 % confidence interval.  The other figures
are medians over runs.  The targets are computed from the data, never
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
    for key in ("rounds", "seconds", "cpus", "host_cpus"):
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


CHECKS = {"meta": _check_meta, "run": _check_run, "lockstat": _check_lockstat}


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
        {"meta": data.metas, "run": data.runs, "lockstat": data.lockstats}[kind].append(o)
    return data


def finish(data):
    """Checks the whole input and settles the configuration order."""
    if not data.metas:
        raise ReportError("no \"meta\" object in the input: is it a bench.jsonl?")
    if not data.runs and not data.lockstats:
        raise ReportError("no measurement (\"run\" or \"lockstat\" object) in the input")
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
    labels = {}
    for m in data.metas:
        for c in m["configs"]:
            labels.setdefault(c["name"], c.get("label") or c["name"])
    for o in data.runs + data.lockstats:
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


def workloads(data):
    """The workloads measured, in WORKLOAD_ORDER, then the others sorted."""
    names = {o["workload"] for o in data.runs}
    return [w for w in WORKLOAD_ORDER if w in names] + sorted(names - set(WORKLOAD_ORDER))


def cpus_of(data, workload):
    """The vCPU counts a workload was measured on, ascending."""
    return sorted({o["cpus"] for o in data.runs if o["workload"] == workload})


def configs_of(data, workload):
    """The configurations measured with a workload, in the configuration order."""
    have = {o["config"] for o in data.runs if o["workload"] == workload}
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
        rows.append([esc(x.get("kernel", MISSING)),
                     num(x.get("cpus"), 0),
                     esc(x.get("uname", MISSING)),
                     esc(x.get("date", MISSING)),
                     esc(x.get("accel", MISSING)),
                     f"{rs[0]:g} \u00d7 {rs[1]:g} s" if None not in rs else MISSING])
    out += list_table("VM runs", ["Kernel", "vCPUs", "uname", "Date", "Accelerator",
                                  "Rounds \u00d7 time"],
                      rows, [10, 6, 36, 18, 16, 14])
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


def plot(data, cells, outdir):
    """Draws the plots into outdir; returns {workload: [(png name, alt text)]}."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise ReportError("gnuplot is not installed (the plots need it, with the "
                          "pngcairo terminal): install it, e.g. apt-get install gnuplot")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    done = {}
    with tempfile.TemporaryDirectory(prefix="fs-report-") as tmp:
        tmp = Path(tmp)
        for w in workloads(data):
            for name, alt, gp in plot_specs(data, cells, w, tmp, outdir):
                png = outdir / name
                r = subprocess.run([gnuplot, gp.name], cwd=tmp, capture_output=True,
                                   text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
                if r.returncode != 0 or not png.exists() or png.stat().st_size == 0:
                    raise ReportError(f"gnuplot failed to draw {png}:\n"
                                      f"{(r.stderr or r.stdout).strip()}")
                done.setdefault(w, []).append((name, alt))
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
