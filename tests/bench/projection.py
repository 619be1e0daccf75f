#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Projects connections per second on real cores from the coherence model's
counts: a model, not a measurement (Documentation/projection.rst).

    tests/bench/projection.py [RESULTS.jsonl...] [--point CONFIG:CPUS:INSTR:TRANSFERS]...
                              [--load LOAD] [--ghz 2.7] [--ipc 1.0]
                              [--ns-per-instruction NS] [--transfer-ns NS]
                              [--remote-transfer-ns NS] [--cores-per-socket N]
                              [--max-cores N] [--json FILE] [--plot FILE.png]

The inputs are measured points: a configuration, the vCPUs it ran on, and
its instructions and cache-line transfers per connection, counted by the
QEMU coherence plugin (Documentation/coherence.rst).  They come from the
"coherence" lines of tests/bench/bench.py's results (totals over a window
and the connections the client completed in it) or from --point.

The model: a connection costs a core

    t(n) = I(n) * t_instr + T(n) * t_transfer(n)

on n cores, where I and T are instructions and transfers per connection.
Between measured vCPU counts both are interpolated linearly; beyond the
last one I stays at its last value and T follows the least-squares line
through the measured points (in n), never below its last measured value.
t_transfer(n) mixes a transfer within a socket and one between sockets by
the fraction of core pairs that are on different sockets, cores filling
one socket before the next.  A core makes 1 / t(n) connections per
second, n cores n / t(n).

For tests/bench/report.py (or any other caller):

    points_from_lines(lines, name)  -> [Point]   the "coherence" lines of a file
    points_from_objects(objs)       -> [Point]   the same from parsed objects
    render_rst(points, params, image=None, char="-") -> str
                                    an RST subsection: parameters, table, limits
    plot(points, params, outpath)   draws the PNG (gnuplot, pngcairo)

all raising ProjectionError on bad input; Params() holds the defaults.
Every (load, configuration) is a line of the table and the plot: pass one
load's points (Point.load) to keep them readable.

Python 3.11 standard library only; the output depends on the input alone.
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA = "fastsocket-projection/1"
LABEL = "model projection, not a measurement"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

# The machine the defaults describe: the Fastsocket paper's server, two
# Intel Xeon E5-2697 v2 (Ivy Bridge-EP, 12 cores each, 2.7 GHz base clock).
GHZ = 2.7
# Instructions per cycle of kernel networking code: an assumption, not a
# published figure (see Documentation/projection.rst).  Ivy Bridge retires
# up to 4 per cycle; branchy, miss-prone kernel code runs far below that.
IPC = 1.0
# Intel's approximate latencies for the Xeon 5500 (D. Levinthal, "Performance
# Analysis Guide for Intel Core i7 Processor and Intel Xeon 5500 processors",
# Intel, 2009): "local L3 CACHE hit, modified in another core ~75 cycles";
# "remote L3 CACHE ~100-300 cycles".  In cycles, converted at the clock above;
# the remote figure is the middle of the range.
LOCAL_CYCLES = 75
REMOTE_CYCLES = 200
CORES_PER_SOCKET = 12
MAX_CORES = 24

# The paper's nginx figures, as text (Lin et al., "Scalable Kernel TCP Design
# and Implementation for Short-Lived Connections", ASPLOS '16): approximate,
# and the only points published in words; the rest of its curves are plots.
PAPER = (
    {"series": "Fastsocket (paper)", "cores": 24, "conn_per_sec": 475_000,
     "note": "about 475K, 83 % of linear scaling, about 20K per core"},
    {"series": "Linux 3.13 SO_REUSEPORT (paper)", "cores": 12, "conn_per_sec": 283_000,
     "note": "stops scaling after 12 cores, at about 283K"},
    {"series": "Linux 3.13 SO_REUSEPORT (paper)", "cores": 24, "conn_per_sec": 283_000,
     "note": "about 283K at 24 cores"},
    {"series": "base kernel 2.6.32 (paper)", "cores": 24, "conn_per_sec": 159_000,
     "note": "falls to about 159K"},
)
# 83 % of linear at 24 cores: one core's share of the linear line.
PAPER_LINEAR_PER_CORE = 475_000 / 0.83 / 24


class ProjectionError(Exception):
    """Malformed input or a failed plot; main() prints it and exits 1."""


@dataclass(frozen=True)
class Point:
    """One measurement: per-connection counts of a configuration at cpus."""
    config: str
    cpus: int
    instructions: float     # per connection
    transfers: float        # per connection
    load: str | None = None
    connections: int | None = None


@dataclass
class Params:
    """The model's parameters; ns_per_instruction None: 1 / (ghz * ipc)."""
    ghz: float = GHZ
    ipc: float = IPC
    ns_per_instruction: float | None = None
    transfer_ns: float = LOCAL_CYCLES / GHZ
    remote_transfer_ns: float = REMOTE_CYCLES / GHZ
    cores_per_socket: int = CORES_PER_SOCKET
    max_cores: int = MAX_CORES

    def instr_ns(self):
        if self.ns_per_instruction is not None:
            return self.ns_per_instruction
        return 1.0 / (self.ghz * self.ipc)

    def check(self):
        for k in ("ghz", "ipc", "transfer_ns", "remote_transfer_ns"):
            v = getattr(self, k)
            if not (_is_num(v) and v > 0):
                raise ProjectionError(f"{k} must be a number > 0, not {v!r}")
        if self.ns_per_instruction is not None and not (
                _is_num(self.ns_per_instruction) and self.ns_per_instruction > 0):
            raise ProjectionError("ns_per_instruction must be a number > 0")
        if not (isinstance(self.cores_per_socket, int) and self.cores_per_socket >= 0):
            raise ProjectionError("cores_per_socket must be an integer >= 0 (0: one socket)")
        if not (isinstance(self.max_cores, int) and 1 <= self.max_cores <= 4096):
            raise ProjectionError("max_cores must be an integer from 1 to 4096")


# ---------------------------------------------------------------- input


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _need(o, key, check, what, where):
    if key not in o:
        raise ProjectionError(f"{where}: coherence line without \"{key}\"")
    if not check(o[key]):
        raise ProjectionError(f"{where}: \"{key}\" must be {what}, not {json.dumps(o[key])}")
    return o[key]


def _point(o, where):
    """A Point from one "coherence" object: totals over the window divided by
    the connections the client completed in it."""
    config = _need(o, "config", lambda v: isinstance(v, str) and bool(NAME_RE.match(v)),
                   "a configuration name", where)
    cpus = _need(o, "cpus", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
                 "a positive integer", where)
    conns = _need(o, "connections",
                  lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
                  "a positive integer (connections completed in the window)", where)
    instr = _need(o, "instructions", lambda v: _is_num(v) and v >= 0,
                  "a number >= 0 (the window's total)", where)
    trans = _need(o, "transfers", lambda v: _is_num(v) and v >= 0,
                  "a number >= 0 (the window's total)", where)
    # bench_coherence.sh calls the load "workload", as bench.py's run lines do.
    key = "workload" if "workload" in o else "load"
    load = o.get(key)
    if load is not None and not (isinstance(load, str) and NAME_RE.match(load)):
        raise ProjectionError(f"{where}: \"{key}\" must be a load name, not {json.dumps(load)}")
    return Point(config, cpus, instr / conns, trans / conns, load, conns)


def points_from_objects(objs, name="<input>"):
    """The Points of the "coherence" objects among objs (others are skipped);
    a coherence object measured on a kernel other than the release kernel is
    skipped too: lockdep and KASAN would be most of its counts."""
    out = []
    for i, o in enumerate(objs, 1):
        if not isinstance(o, dict):
            raise ProjectionError(f"{name}:{i}: not a JSON object")
        if o.get("kind") != "coherence" or o.get("kernel", "release") != "release":
            continue
        out.append(_point(o, f"{name}:{i}"))
    return out


def points_from_lines(lines, name="<input>"):
    """The Points of the "coherence" lines of a JSON lines file; blank lines
    are skipped, anything that is not a JSON object is an error."""
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line, parse_constant=_no_constant)
        except ValueError as e:
            raise ProjectionError(f"{name}:{i}: not JSON: {e}") from None
        if not isinstance(o, dict):
            raise ProjectionError(f"{name}:{i}: not a JSON object")
        if o.get("kind") == "coherence" and o.get("kernel", "release") == "release":
            out.append(_point(o, f"{name}:{i}"))
    return out


def parse_point(text):
    """--point CONFIG:CPUS:INSTR_PER_CONN:TRANSFERS_PER_CONN"""
    parts = text.split(":")
    if len(parts) != 4:
        raise ProjectionError(f"--point {text!r}: want "
                              "CONFIG:CPUS:INSTR_PER_CONN:TRANSFERS_PER_CONN")
    config, cpus, instr, trans = parts
    if not NAME_RE.match(config):
        raise ProjectionError(f"--point {text!r}: {config!r} is not a configuration name")
    try:
        cpus, instr, trans = int(cpus), float(instr), float(trans)
    except ValueError:
        raise ProjectionError(f"--point {text!r}: CPUS must be an integer, "
                              "INSTR and TRANSFERS numbers") from None
    if cpus < 1 or not (math.isfinite(instr) and instr >= 0) or not (
            math.isfinite(trans) and trans >= 0):
        raise ProjectionError(f"--point {text!r}: CPUS must be >= 1, INSTR and TRANSFERS >= 0")
    return Point(config, cpus, instr, trans)


# ---------------------------------------------------------------- model


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


@dataclass
class Series:
    """One configuration (and load): its measured points, merged by vCPU
    count (the median of repeated measurements), and the line fitted to its
    transfers."""
    config: str
    load: str | None
    measured: list = field(default_factory=list)    # [(cpus, instr, transfers)] by cpus
    slope: float = 0.0
    intercept: float = 0.0

    @property
    def name(self):
        return self.config if self.load is None else f"{self.load}/{self.config}"


def fit(xs, ys):
    """Least-squares line through (xs, ys): (slope, intercept); a single x:
    a flat line through the mean."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx


def series_of(points):
    """Points grouped into Series, in the order configurations first appear."""
    groups = {}
    for p in points:
        groups.setdefault((p.load, p.config), []).append(p)
    out = []
    for (load, config), ps in groups.items():
        by_cpus = {}
        for p in ps:
            by_cpus.setdefault(p.cpus, []).append(p)
        measured = [(n, median([p.instructions for p in v]), median([p.transfers for p in v]))
                    for n, v in sorted(by_cpus.items())]
        slope, intercept = fit([m[0] for m in measured], [m[2] for m in measured])
        out.append(Series(config, load, measured, slope, intercept))
    return out


def _interp(measured, n, col):
    """Column col of measured at n: linear between measured vCPU counts, the
    first value before them, the last after them."""
    if n <= measured[0][0]:
        return measured[0][col]
    for (x0, *a), (x1, *b) in zip(measured, measured[1:]):
        if x0 <= n <= x1:
            y0, y1 = a[col - 1], b[col - 1]
            return y0 + (y1 - y0) * (n - x0) / (x1 - x0)
    return measured[-1][col]


def transfers_at(s, n):
    """T(n): interpolated within the measured vCPU counts; beyond the last,
    the fitted line, never below the last measured value."""
    last_n, _, last_t = s.measured[-1]
    if n <= last_n:
        return _interp(s.measured, n, 2)
    return max(last_t, s.intercept + s.slope * n)


def remote_fraction(n, cores_per_socket):
    """The fraction of ordered pairs of distinct cores, among n, that are on
    different sockets, cores filling one socket before the next: where a
    transfer comes from another core taken at random, the share of transfers
    that cross sockets.  0 on one socket (cores_per_socket 0 or >= n)."""
    c = cores_per_socket
    if n < 2 or c <= 0 or n <= c:
        return 0.0
    sizes = [c] * (n // c) + ([n % c] if n % c else [])
    same = sum(s * (s - 1) for s in sizes)
    return 1.0 - same / (n * (n - 1))


def project(s, params):
    """The projection of one Series at 1..max_cores: a list of dicts."""
    rows = []
    last = s.measured[-1][0]
    for n in range(1, params.max_cores + 1):
        instr = _interp(s.measured, n, 1)
        trans = transfers_at(s, n)
        rf = remote_fraction(n, params.cores_per_socket)
        t_x = (1 - rf) * params.transfer_ns + rf * params.remote_transfer_ns
        ns = instr * params.instr_ns() + trans * t_x
        per_core = 1e9 / ns if ns > 0 else math.inf
        rows.append({"cores": n, "instructions_per_conn": instr, "transfers_per_conn": trans,
                     "remote_fraction": rf, "transfer_ns": t_x, "ns_per_conn": ns,
                     "conn_per_sec_per_core": per_core, "conn_per_sec": n * per_core,
                     "transfer_share": trans * t_x / ns if ns > 0 else 0.0,
                     "extrapolated": n > last})
    return rows


def projection(points, params):
    """The whole projection as one JSON-able object."""
    params.check()
    if not points:
        raise ProjectionError("no measured points: give RESULTS.jsonl with \"coherence\" "
                              "lines or --point CONFIG:CPUS:INSTR:TRANSFERS")
    out = {"schema": SCHEMA, "label": LABEL,
           "model": "t(n) = I(n) * t_instr + T(n) * t_transfer(n); conn/s = n / t(n); "
                    "I, T interpolated between measured vCPU counts; beyond the last, I "
                    "constant and T on the least-squares line in n, never below the last "
                    "measured value; t_transfer mixes local and remote by the share of "
                    "core pairs on different sockets",
           "params": dict(asdict(params), ns_per_instruction=params.instr_ns(),
                          ns_per_instruction_given=params.ns_per_instruction is not None),
           "series": [], "paper": list(PAPER),
           "paper_linear_per_core": PAPER_LINEAR_PER_CORE}
    for s in series_of(points):
        out["series"].append({
            "config": s.config, "load": s.load, "name": s.name,
            "measured": [{"cpus": n, "instructions_per_conn": i, "transfers_per_conn": t}
                         for n, i, t in s.measured],
            "transfers_fit": {"slope": s.slope, "intercept": s.intercept},
            "projection": project(s, params)})
    return out


# ------------------------------------------------------------------ text


PAPER_CORES = (1, 2, 4, 8, 12, 16, 20, 24)


def _k(v):
    return f"{v / 1000:.1f}K"


def table_rows(proj, cores=None):
    """[header] + rows of projected conn/s (K), an extrapolated cell marked *."""
    names = [s["name"] for s in proj["series"]]
    cores = cores or range(1, proj["params"]["max_cores"] + 1)
    rows = [["cores"] + names]
    for n in cores:
        row = [str(n)]
        for s in proj["series"]:
            r = s["projection"][n - 1] if n <= len(s["projection"]) else None
            row.append("" if r is None else
                       f"{_k(r['conn_per_sec'])} ({_k(r['conn_per_sec_per_core'])}/core)"
                       + (" *" if r["extrapolated"] else ""))
        rows.append(row)
    return rows


def params_lines(proj):
    p = proj["params"]
    how = ("given" if p["ns_per_instruction_given"]
           else f"{p['ghz']:g} GHz, {p['ipc']:g} instructions per cycle")
    sockets = (f"{p['cores_per_socket']} cores per socket" if p["cores_per_socket"]
               else "one socket")
    return [f"instruction: {p['ns_per_instruction']:.3f} ns ({how})",
            f"transfer within a socket: {p['transfer_ns']:.1f} ns, "
            f"between sockets: {p['remote_transfer_ns']:.1f} ns; {sockets}"]


def render_text(proj):
    out = [f"Connections per second on real cores: a {LABEL}.", ""]
    out += params_lines(proj) + [""]
    rows = table_rows(proj)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.append("  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip())
    out += ["", "* beyond the measured vCPU counts: T(n) extrapolated (least-squares line, "
            "never below the last measured value)",
            "The paper's nginx figures (approximate): "
            + "; ".join(f"{p['series']} {_k(p['conn_per_sec'])} at {p['cores']} cores"
                        for p in PAPER)]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------- RST


def _esc(text):
    """Plain text made safe from reST inline markup."""
    text = re.sub(r"([\\*`|])", r"\\\1", str(text))
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _wrap(text):
    return textwrap.wrap(text, 75, break_long_words=False, break_on_hyphens=False)


def render_rst(points, params=None, image=None, char="-"):
    """An RST subsection (heading underlined with char) on the projection of
    points with params (Params() if None): what it is, its parameters, a
    table at the core counts the paper's plots use, the paper's figures
    beside it, and its limits; image, a path relative to the document, is
    shown if given."""
    params = params or Params()
    proj = projection(points, params)
    title = f"Projection to real cores ({LABEL})"
    out = [title, char * len(title), ""]
    out += _wrap(
        "What the coherence model's counts per connection would mean on the "
        "Fastsocket paper's machine (two 12-core sockets), if a "
        "connection cost a core its instructions at a fixed rate plus a fixed "
        "latency for every cache-line transfer: t(n) = I(n) x t_instr + T(n) x "
        "t_transfer(n), and n cores make n / t(n) connections per second.  Beyond "
        "the measured vCPU counts T(n) follows the least-squares line through the "
        "measured points, never below the last one.  Documentation/projection.rst "
        "gives the model, its sources and its limits: it is no measurement, and "
        "the paper's figures beside it were measured on hardware, not in this "
        "emulator.") + [""]
    out += [f"* {_esc(line)}" for line in params_lines(proj)] + [""]
    rows = table_rows(proj, [n for n in PAPER_CORES if n <= params.max_cores])
    out += [f".. list-table:: Projected connections per second (* extrapolated)",
            "   :header-rows: 1", ""]
    for row in rows:
        for i, cell in enumerate(row):
            out.append(f"   {'*' if i == 0 else ' '} - {_esc(cell)}")
    out += [""]
    out += _wrap("The paper's nginx figures, as its text gives them (approximate; "
                 "Lin et al., ASPLOS '16): " + "; ".join(
                     f"{p['series'].replace(' (paper)', '')}: {p['note']}"
                     for p in (PAPER[0], PAPER[1], PAPER[3])) + ".") + [""]
    out += _wrap("Its limits, in short: the emulator's private caches are unbounded "
                 "(only sharing misses are counted; the cost of an instruction has to "
                 "carry every other miss); TCG interleaves the vCPUs coarsely; memory "
                 "bandwidth, lock hold times and queueing on a contended line are not "
                 "modelled; and a window counts the whole guest, the load's client too, "
                 "which the paper ran on other machines.") + [""]
    if image:
        out += [f".. image:: {image}",
                f"   :alt: projected connections per second against cores, a {LABEL}", ""]
    return "\n".join(line.rstrip() for line in out) + "\n"


# ----------------------------------------------------------------- plot


def _gq(text):
    """A gnuplot single-quoted string."""
    return "'" + str(text).replace("'", "''") + "'"


DOTS = ("dots: the measured vCPU counts; beyond the last, transfers per connection "
        "extrapolated (least-squares line, never below the last measured value)")


def plot_script(proj, tmp, outpath):
    """Writes the data files and the gnuplot script; returns the script."""
    tmp = Path(tmp)
    p = proj["params"]
    params = "; ".join(params_lines(proj))
    plots = []
    for i, s in enumerate(proj["series"]):
        lc = f"lc {i + 1}"
        line = tmp / f"proj-{i}.dat"
        line.write_text("".join(f"{r['cores']} {r['conn_per_sec'] / 1000:.6g}\n"
                                for r in s["projection"]))
        meas = tmp / f"meas-{i}.dat"
        at = {r["cores"]: r["conn_per_sec"] for r in s["projection"]}
        meas.write_text("".join(f"{m['cpus']} {at[m['cpus']] / 1000:.6g}\n"
                                for m in s["measured"] if m["cpus"] in at))
        plots.append(f"{_gq(line.name)} using 1:2 with lines lw 2 {lc} "
                     f"title {_gq(s['name'] + ' (model)')}")
        plots.append(f"{_gq(meas.name)} using 1:2 with points pt 7 ps 1.2 {lc} notitle")
    lin = tmp / "paper-linear.dat"
    lin.write_text("".join(f"{n} {n * PAPER_LINEAR_PER_CORE / 1000:.6g}\n"
                           for n in (1, p["max_cores"])))
    plots.append(f"{_gq(lin.name)} using 1:2 with lines dt 3 lw 1 lc rgb 'gray50' "
                 f"title 'linear at the paper''s 83 % point (derived)'")
    styles = {"Fastsocket (paper)": "pt 9 ps 2 lc rgb 'black'",
              "Linux 3.13 SO_REUSEPORT (paper)": "pt 5 ps 1.6 lc rgb 'gray30'",
              "base kernel 2.6.32 (paper)": "pt 11 ps 2 lc rgb 'gray30'"}
    for k, (name, style) in enumerate(styles.items()):
        dat = tmp / f"paper-{k}.dat"
        dat.write_text("".join(f"{q['cores']} {q['conn_per_sec'] / 1000:.6g}\n"
                               for q in PAPER if q["series"] == name))
        plots.append(f"{_gq(dat.name)} using 1:2 with linespoints dt 2 lw 1 {style} "
                     f"title {_gq(name.replace('(paper)', '(paper, nginx, approximate)'))}")
    text = f"""set encoding utf8
set terminal pngcairo size 900,600 font 'DejaVu Sans,10' noenhanced
set output {_gq(outpath)}
set title {_gq('Connections/s against cores: ' + LABEL.upper())}
set xlabel {_gq('cores')}
set label 1 {_gq(params)} at screen 0.5, screen 0.05 center font ',9'
set label 2 {_gq(DOTS)} at screen 0.5, screen 0.02 center font ',9'
set ylabel 'connections/s (thousands)'
set bmargin 6
set xrange [0:{p['max_cores'] + 1}]
set yrange [0:*]
set xtics 2
set grid ytics
set key inside left top Left reverse font ',9' samplen 3 box opaque
plot """ + ", \\\n     ".join(plots) + "\n"
    gp = tmp / "projection.gp"
    gp.write_text(text)
    return gp


def plot(points, params, outpath):
    """Draws the projection of points with params into the PNG outpath,
    beside the paper's figures; raises ProjectionError if gnuplot fails."""
    params = params or Params()
    proj = projection(points, params)
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise ProjectionError("gnuplot is not installed (the plot needs it, with the "
                              "pngcairo terminal): install it, e.g. apt-get install gnuplot")
    outpath = Path(outpath).resolve()
    outpath.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fs-projection-") as tmp:
        gp = plot_script(proj, tmp, outpath)
        r = subprocess.run([gnuplot, gp.name], cwd=tmp, capture_output=True, text=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        if r.returncode != 0 or not outpath.exists() or outpath.stat().st_size == 0:
            raise ProjectionError(f"gnuplot failed to draw {outpath}:\n"
                                  f"{(r.stderr or r.stdout).strip()}")
    return outpath


# ----------------------------------------------------------------- main


def main(argv=None):
    d = Params()
    ap = argparse.ArgumentParser(
        description=f"Projects connections per second on real cores from the coherence "
                    f"model's per-connection counts: a {LABEL}.  See "
                    f"Documentation/projection.rst.")
    ap.add_argument("results", nargs="*", metavar="RESULTS.jsonl",
                    help="bench.py's JSON lines; their \"coherence\" lines are read")
    ap.add_argument("--point", action="append", default=[], type=str,
                    metavar="CONFIG:CPUS:INSTR:TRANSFERS",
                    help="a measured point: instructions and transfers per connection")
    ap.add_argument("--load", help="only the results of this load (e.g. nginx)")
    ap.add_argument("--config", action="append", default=[],
                    help="only this configuration (repeatable)")
    ap.add_argument("--ghz", type=float, default=d.ghz,
                    help=f"clock, GHz (default {d.ghz:g}: Xeon E5-2697 v2 base clock)")
    ap.add_argument("--ipc", type=float, default=d.ipc,
                    help=f"instructions per cycle (default {d.ipc:g}, an assumption)")
    ap.add_argument("--ns-per-instruction", type=float,
                    help="cost of an instruction, ns (default: 1 / (ghz * ipc))")
    ap.add_argument("--transfer-ns", type=float, default=None,
                    help=f"a transfer within a socket, ns (default {LOCAL_CYCLES} cycles "
                         f"at --ghz: {d.transfer_ns:.1f} ns at {d.ghz:g} GHz)")
    ap.add_argument("--remote-transfer-ns", type=float, default=None,
                    help=f"a transfer between sockets, ns (default {REMOTE_CYCLES} cycles "
                         f"at --ghz: {d.remote_transfer_ns:.1f} ns at {d.ghz:g} GHz)")
    ap.add_argument("--cores-per-socket", type=int, default=d.cores_per_socket,
                    help=f"cores per socket, 0 for one socket (default {d.cores_per_socket})")
    ap.add_argument("--max-cores", type=int, default=d.max_cores,
                    help=f"project from 1 to this many cores (default {d.max_cores})")
    ap.add_argument("--json", type=Path, help="write the projection as JSON here")
    ap.add_argument("--plot", type=Path, help="draw the plot into this PNG")
    args = ap.parse_args(argv)
    try:
        if args.ghz is None or not args.ghz > 0:
            raise ProjectionError("--ghz must be > 0")
        params = Params(
            ghz=args.ghz, ipc=args.ipc, ns_per_instruction=args.ns_per_instruction,
            transfer_ns=(args.transfer_ns if args.transfer_ns is not None
                         else LOCAL_CYCLES / args.ghz),
            remote_transfer_ns=(args.remote_transfer_ns if args.remote_transfer_ns is not None
                                else REMOTE_CYCLES / args.ghz),
            cores_per_socket=args.cores_per_socket, max_cores=args.max_cores)
        points = []
        for path in args.results:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise ProjectionError(f"cannot read {path}: {e}") from None
            points += points_from_lines(text.splitlines(), path)
        points += [parse_point(p) for p in args.point]
        if args.load:
            points = [p for p in points if p.load in (None, args.load)]
        if args.config:
            points = [p for p in points if p.config in args.config]
        proj = projection(points, params)
        sys.stdout.write(render_text(proj))
        if args.json:
            args.json.write_text(json.dumps(proj, indent=1) + "\n", encoding="utf-8")
        if args.plot:
            plot(points, params, args.plot)
    except ProjectionError as e:
        print(f"projection.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
