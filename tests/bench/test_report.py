# SPDX-License-Identifier: GPL-2.0
"""Host tests of tests/bench/report.py.

    python3 -m unittest tests/bench/test_report.py     (from the top directory)
"""

import contextlib
import io
import json
import math
import shutil
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

try:
    import docutils.core
except ImportError:
    docutils = None

CONFIGS = [
    {"name": "stock", "label": "stock 6.12, one shared listener"},
    {"name": "reuseport", "label": "stock, SO_REUSEPORT per worker"},
    {"name": "fs-auto", "label": "fastsocket, listen_auto=1"},
    {"name": "fs-ioctl", "label": "fastsocket, ioctl per socket"},
]

# conn/s per (workload, cpus, config): one value per round.
CONN = {
    ("fsbench", 1, "stock"): [100, 102, 98],
    ("fsbench", 1, "reuseport"): [100, 100, 100],
    ("fsbench", 1, "fs-auto"): [99, 97, 101],       # median 99 -> 0.99, met
    ("fsbench", 1, "fs-ioctl"): [90, 95, 96],       # median 95 -> 0.95, not met
    ("fsbench", 2, "stock"): [150, 160, 155],
    ("fsbench", 2, "reuseport"): [180, 200, 190],
    ("fsbench", 2, "fs-auto"): [200, 210, 220],     # 210/190, rounds 200/180 .. 220/190
    ("fsbench", 2, "fs-ioctl"): [170, 190, 180],    # 180/190 < 1, not met
    ("fsbench", 4, "stock"): [200, 210, 205],
    ("fsbench", 4, "reuseport"): [300, 300, 300],
    ("fsbench", 4, "fs-auto"): [330, 360, 345],
    # fs-ioctl at 4 vCPUs is missing: a "–" row and unjudged targets
    ("nginx", 1, "stock"): [50, 50, 50],
    ("nginx", 1, "reuseport"): [50, 52, 51],
    ("nginx", 1, "fs-auto"): [51, 51, 51],
    ("nginx", 2, "stock"): [70, 70, 70],
    ("nginx", 2, "reuseport"): [80, 80, 80],
    ("nginx", 2, "fs-auto"): [90, 90, 90],
    ("haproxy", 2, "stock"): [40, 41, 42],
    ("haproxy", 2, "reuseport"): [40, 40, 40],
    ("haproxy", 2, "fs-auto"): [44, 44, 44],
}

LOCALITY = {"stock": 0.5, "reuseport": 0.55, "fs-auto": 0.995, "fs-ioctl": 0.97}

# Student's t, two-sided 95 %, from a printed table: 3 rounds, 2 degrees of freedom.
T_DF2 = 4.303


def geo(ratios, t=None):
    """The geometric mean of ratios and, given t, the ends of the t interval
    of their logarithms: (mean, lo, hi)."""
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / len(logs)
    if t is None:
        return math.exp(mean)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    half = t * sd / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def per_round(config, base, w="fsbench", cpus=2):
    """config's conn/s over base's, round by round, in the fixture."""
    return [c / b for c, b in zip(CONN[(w, cpus, config)], CONN[(w, cpus, base)])]


def span(v, lo, hi):
    return f"{v:.3f} ({lo:.3f}\u2013{hi:.3f})"


def meta(kernel, cpus):
    return {"kind": "meta", "kernel": kernel, "cpus": cpus,
            "uname": f"Linux fs 6.12.57-fastsocket #1 SMP {kernel}",
            "date": f"2026-11-23T19:4{cpus}:00Z", "host_cpu": "AMD EPYC 7B13 (x86_64)",
            "host_cpus": 2, "qemu": "QEMU emulator version 7.2.15",
            "accel": "tcg,thread=single", "nginx": "1.22.1", "haproxy": "2.6.12",
            "rounds": 3, "seconds": 5, "configs": CONFIGS}


def runs():
    out = []
    for (w, cpus, config), values in CONN.items():
        for r, v in enumerate(values):
            loc = LOCALITY[config] if cpus > 1 else 1.0
            out.append({
                "kind": "run", "kernel": "release", "cpus": cpus, "workload": w,
                "config": config, "round": r, "seconds": 5.0, "completed": v * 5,
                "failed": 0, "conn_per_sec": v, "p50_us": 3000 + 100 * r,
                "p99_us": 12000 + 1000 * r,
                "p999_us": None if w != "fsbench" else 20000 + 50 * r,
                "locality": loc + 0.001 * r if loc < 0.99 else loc,
                "back_locality": 0.6 if w == "haproxy" else None,
                "per_cpu_accepts": [v] * cpus, "net_rx_per_conn": 2.0 + r,
                "ipi_per_conn": 0.5, "timer_per_conn": None})
    return out


def lockstats():
    out = []
    for cpus in (2, 4):
        for i, config in enumerate(("stock", "reuseport", "fs-auto")):
            out.append({"kind": "lockstat", "kernel": "debug", "cpus": cpus,
                        "workload": "fsbench", "config": config, "connections": 2000,
                        "groups": {"listener": 200 // (i + 1), "ehash": 4, "bhash": 0},
                        "top": [["slock-AF_INET", 40], ["&queue->rskq_lock", 80],
                                ["&hashinfo->ehash_locks[i]", 4], ["other_lock", 1]]})
    return out


def fixture_lines():
    objs = [meta("release", c) for c in (1, 2, 4)] + runs()
    objs += [meta("debug", c) for c in (2, 4)] + lockstats()
    return [json.dumps(o) for o in objs]


def fixture():
    return report.finish(report.parse(fixture_lines(), "fixture"))


# Coherence: transfers and instructions per connection per (workload,
# cpus, config); 2,000 connections each, 500 at 16 vCPUs.
TRANSFERS = {
    "stock": {1: 50, 2: 200, 4: 400, 8: 700, 16: 1000},
    "reuseport": {1: 50, 2: 150, 4: 300, 8: 450, 16: 600},
    "fs-auto": {1: 50, 2: 100, 4: 100, 8: 105, 16: 108},     # 0.333 at 4, +8 %: met
    "fs-ioctl": {1: 50, 2: 100, 4: 200, 8: 150},              # 0.667, +100 %: not met
}
INSTRUCTIONS = {"stock": 99_000, "reuseport": 100_000, "fs-auto": 101_000,
                "fs-ioctl": 103_000}


def coherence(w, cpus, config, per, instr):
    """A coherence line of PER transfers and INSTR instructions per
    connection: 2,000 connections asked for (500 at 16 vCPUs), 3 more
    accepted, as wrk's count leaves them."""
    n = 500 if cpus == 16 else 2000
    c = n + 3
    t = per * c
    return {"kind": "coherence", "kernel": "release", "cpus": cpus, "workload": w,
            "config": config, "requested": n, "connections": c, "completed": n,
            "accepted": c, "failed": 0, "seconds": 10.0 * cpus,
            "idle_seconds": 2.5 * cpus if config == "stock" else None,
            "window_seconds": 10.0 * cpus, "vcpus": cpus,
            "instructions": instr * c, "loads": 10 * t, "stores": 5 * t,
            "transfers": t, "load_transfers": t - t // 4, "store_transfers": t // 4,
            "per_vcpu_transfers": [t // cpus] * cpus, "untracked_accesses": 0,
            "ipis": c // 2 if config == "stock" else 0, "net_rx": 2 * n, "switches": 4 * n,
            "fastsocket_syns": n if config.startswith("fs-") else 0,
            "locality": 1.0 if config.startswith("fs-") or cpus == 1 else 0.5,
            "back_locality": None,
            "top_functions": [["__slab_alloc_node", t // 2, t // 4, t // 2 - t // 4],
                              [f"{config}_fn", t // 4, t // 4, 0], ["[user]", 3, 3, 0]],
            "top_lines": [{"line": "rcu_state+0x40", "transfers": t // 5,
                           "load_transfers": t // 5, "store_transfers": 0,
                           "functions": [["rcu_core", t // 10], ["[module]", 2]]},
                          {"line": "0x12340", "transfers": 7, "load_transfers": 0,
                           "store_transfers": 7, "functions": []}]}


def coherence_lines():
    objs = [dict(meta("release", c), accel="tcg,thread=single,plugin=coherence",
                 rounds=None, seconds=None, connections=500 if c == 16 else 2000)
            for c in (1, 2, 4, 8, 16)]
    for config, per in TRANSFERS.items():
        for cpus, t in per.items():
            objs.append(coherence("fsbench", cpus, config, t, INSTRUCTIONS[config]))
    for config in ("stock", "reuseport", "fs-auto"):
        for cpus in (2, 4):
            objs.append(coherence("nginx", cpus, config, 2 * TRANSFERS[config][cpus],
                                  2 * INSTRUCTIONS[config]))
    objs += [{"kind": "vm", "variant": "bench", "cpus": c, "scenario": "bench_coherence",
              "seconds": 1000 * c} for c in (1, 2, 4, 8, 16)]
    return [json.dumps(o) for o in objs]


def table_rows(lines, title):
    """The rows of the list-table with that title, as lists of cells."""
    i = lines.index(f".. list-table:: {title}")
    rows = []
    for line in lines[i + 1:]:
        if line.startswith("   * - "):
            rows.append([line[7:]])
        elif line.startswith("     - "):
            rows[-1].append(line[7:])
        elif line.startswith(".. ") or (line and not line.startswith(" ")):
            break
    return rows


class Aggregation(unittest.TestCase):
    def setUp(self):
        self.data = fixture()
        self.cells = report.aggregate(self.data.runs)

    def test_median_and_spread(self):
        c = self.cells[("fsbench", 2, "fs-auto")]
        self.assertEqual(c.median["conn_per_sec"], 210)
        self.assertEqual((c.conn_min, c.conn_max), (200, 220))
        self.assertEqual(c.runs, 3)
        self.assertEqual(c.conn_by_pair, {(0, None): 200, (1, None): 210, (2, None): 220})
        self.assertEqual(c.median["p50_us"], 3100)
        self.assertEqual(c.median["net_rx_per_conn"], 3.0)
        self.assertIsNone(c.median["timer_per_conn"])
        self.assertIsNone(self.cells[("nginx", 2, "fs-auto")].median["p999_us"])

    def test_median_skips_nulls(self):
        self.assertEqual(report.median([3, None, 1, 2]), 2)
        self.assertEqual(report.median([1, 2]), 1.5)
        self.assertIsNone(report.median([None, None]))

    def test_ratio_and_confidence_interval(self):
        # Without "pair", the runs of a round are paired: the geometric mean
        # of 200/180, 210/200 and 220/190, with the t interval of the logs.
        r = report.ratio(self.cells, "fsbench", 2, "fs-auto", "reuseport")
        value, lo, hi = geo([200 / 180, 210 / 200, 220 / 190], T_DF2)
        self.assertAlmostEqual(r.value, value)
        self.assertAlmostEqual(r.lo, lo)
        self.assertAlmostEqual(r.hi, hi)
        self.assertEqual(r.n, 3)
        self.assertLess(r.lo, r.value)
        self.assertLess(r.value, r.hi)
        same = report.ratio(self.cells, "nginx", 2, "fs-auto", "reuseport")
        self.assertAlmostEqual(same.value, 90 / 80)
        self.assertAlmostEqual(same.lo, 90 / 80)    # no spread, no width
        self.assertAlmostEqual(same.hi, 90 / 80)

    @staticmethod
    def ratio_of(rounds):
        lines = [json.dumps(meta("release", 2))]
        for config, by_round in rounds.items():
            for r, v in by_round.items():
                lines.append(json.dumps({"kind": "run", "cpus": 2, "workload": "w",
                                         "config": config, "round": r, "conn_per_sec": v}))
        data = report.finish(report.parse(lines))
        return report.ratio(report.aggregate(data.runs), "w", 2, "fs-auto", "reuseport")

    def test_ratio_rounds_are_paired_by_number(self):
        # Only round 1 has both: one ratio, so no interval.
        r = self.ratio_of({"reuseport": {0: 100, 1: 200}, "fs-auto": {1: 220, 2: 500}})
        self.assertAlmostEqual(r.value, 1.1)
        self.assertIsNone(r.lo)
        self.assertIsNone(r.hi)
        self.assertEqual(r.n, 1)

    def test_ratio_without_common_rounds_divides_medians(self):
        r = self.ratio_of({"reuseport": {0: 100, 1: 200}, "fs-auto": {2: 300, 3: 500}})
        self.assertAlmostEqual(r.value, 400 / 150)
        self.assertEqual((r.lo, r.hi, r.n), (None, None, 0))

    def test_missing_cell(self):
        self.assertIsNone(report.ratio(self.cells, "fsbench", 4, "fs-ioctl", "reuseport"))
        self.assertIsNone(report.ratio(self.cells, "nginx", 2, "fs-ioctl", "reuseport"))
        self.assertEqual(report.configs_of(self.data, "nginx"), ["stock", "reuseport", "fs-auto"])

    def test_order(self):
        self.assertEqual(report.workloads(self.data), ["fsbench", "nginx", "haproxy"])
        self.assertEqual(report.cpus_of(self.data, "haproxy"), [2])
        self.assertEqual([n for n, _ in self.data.configs],
                         ["stock", "reuseport", "fs-auto", "fs-ioctl"])

    def test_known_workloads_first_then_the_others(self):
        extra = [dict(o, workload=w) for w in ("zz-load", "nginx-veth")
                 for o in runs() if o["workload"] == "nginx" and o["cpus"] == 2]
        data = report.finish(report.parse(fixture_lines() + [json.dumps(o) for o in extra]))
        self.assertEqual(report.workloads(data),
                         ["fsbench", "nginx", "haproxy", "nginx-veth", "zz-load"])
        self.assertEqual(report.cpus_of(data, "nginx-veth"), [2])

    def test_configs_added_later_keep_first_order(self):
        later = dict(meta("release", 4), configs=[{"name": "fs-new", "label": "new"},
                                                  {"name": "reuseport", "label": "x"}])
        data = report.finish(report.parse(fixture_lines() + [json.dumps(later)]))
        self.assertEqual(data.configs[-1], ("fs-new", "new"))
        self.assertEqual(dict(data.configs)["reuseport"], "stock, SO_REUSEPORT per worker")


class Targets(unittest.TestCase):
    def setUp(self):
        data = fixture()
        self.ts = report.targets(data, report.aggregate(data.runs))

    def find(self, w, config, cpus, what):
        return next(t for t in self.ts if (t.workload, t.config, t.cpus) == (w, config, cpus)
                    and t.what.startswith(what))

    def assert_ratio(self, t, ratios, verdict):
        value, lo, hi = geo(ratios, T_DF2)
        self.assertAlmostEqual(t.value, value)
        self.assertAlmostEqual(t.lo, lo)
        self.assertAlmostEqual(t.hi, hi)
        self.assertEqual(t.verdict, verdict)

    def test_verdicts(self):
        # 0.990 (0.941-1.041) and 0.936 (0.859-1.020) straddle 0.98.
        self.assert_ratio(self.find("fsbench", "fs-auto", 1, "ratio"),
                          per_round("fs-auto", "reuseport", cpus=1), report.NOISE)
        self.assert_ratio(self.find("fsbench", "fs-ioctl", 1, "ratio"),
                          per_round("fs-ioctl", "reuseport", cpus=1), report.NOISE)
        # 1.105 (0.978-1.249) straddles 1.00; 0.947 (0.940-0.954) is below.
        self.assert_ratio(self.find("fsbench", "fs-auto", 2, "ratio"),
                          per_round("fs-auto", "reuseport"), report.NOISE)
        self.assert_ratio(self.find("fsbench", "fs-ioctl", 2, "ratio"),
                          per_round("fs-ioctl", "reuseport"), report.NOT_MET)
        # 1.149 (1.032-1.280) is above.
        t = self.find("fsbench", "fs-auto", 4, "ratio")
        self.assert_ratio(t, per_round("fs-auto", "reuseport", cpus=4), report.MET)
        self.assertAlmostEqual(t.stock, geo(per_round("stock", "reuseport", cpus=4)))
        t = self.find("fsbench", "fs-auto", 4, "locality")
        self.assertEqual(t.verdict, report.MET)
        self.assertEqual((t.value, t.stock, t.one_over_n), (0.995, 0.501, 0.25))
        self.assertEqual((t.lo, t.hi), (None, None))
        self.assertEqual(self.find("fsbench", "fs-ioctl", 2, "locality").verdict,
                         report.NOT_MET)

    def test_missing_data_is_not_judged(self):
        for what in ("ratio", "locality"):
            t = self.find("fsbench", "fs-ioctl", 4, what)
            self.assertEqual(t.verdict, report.NO_DATA)
            self.assertEqual((t.value, t.lo, t.hi), (None, None, None))

    def test_only_fs_configs_measured_with_the_workload(self):
        self.assertEqual({t.config for t in self.ts}, {"fs-auto", "fs-ioctl"})
        self.assertFalse([t for t in self.ts if t.workload == "nginx" and t.config == "fs-ioctl"])
        self.assertFalse([t for t in self.ts if t.workload == "haproxy" and t.cpus == 1])

    def test_count(self):
        # fsbench: 2 configs x (1 + 2 + 2) = 10, nginx 1 + 2, haproxy 2.
        self.assertEqual(len(self.ts), 15)
        verdicts = [t.verdict for t in self.ts]
        self.assertEqual(verdicts.count(report.NO_DATA), 2)
        # within noise: fsbench fs-auto at 1 and 2 vCPUs, fs-ioctl at 1,
        # nginx fs-auto at 1 (1.000, 0.953-1.050).
        self.assertEqual(verdicts.count(report.NOISE), 4)
        # not met: fsbench fs-ioctl at 2 vCPUs, ratio and locality.
        self.assertEqual(verdicts.count(report.NOT_MET), 2)
        self.assertEqual(verdicts.count(report.MET), 7)


class Rst(unittest.TestCase):
    def setUp(self):
        self.data = fixture()
        self.cells = report.aggregate(self.data.runs)
        self.images = {"fsbench": [("benchmarks/fsbench-conn.png", "fsbench conn")]}
        self.text = report.render(self.data, self.cells, "Intro *prose*.\n", self.images)
        self.lines = self.text.splitlines()

    def rows(self, title):
        return table_rows(self.lines, title)

    def test_head(self):
        self.assertEqual(self.lines[0], ".. SPDX-License-Identifier: GPL-2.0")
        i = self.lines.index("Benchmarks")
        self.assertEqual(self.lines[i - 1], "=" * 10)
        self.assertEqual(self.lines[i + 1], "=" * 10)
        self.assertEqual(self.lines[i + 3], "Intro *prose*.")
        self.assertLess(i + 3, self.lines.index("Machine and kernel"))

    def test_sections_in_order(self):
        names = ["Machine and kernel", "Configurations", "fsbench", "nginx", "haproxy",
                 "Lock contention", "Targets"]
        pos = [self.lines.index(n) for n in names]
        self.assertEqual(pos, sorted(pos))
        for p in pos:
            self.assertEqual(self.lines[p + 1], "=" * len(self.lines[p]))

    def test_machine(self):
        self.assertIn(":Host CPU: AMD EPYC 7B13 (x86_64), 2 cpus", self.lines)
        rows = self.rows("VM runs")
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[1][:2], ["release", "1"])
        self.assertEqual(rows[1][4:], ["tcg,thread=single", "3 \u00d7 5 s"])
        self.assertEqual(rows[-1][:2], ["debug", "4"])

    def test_configurations(self):
        self.assertIn("* ``reuseport`` \u2013 stock, SO_REUSEPORT per worker", self.lines)

    def test_workload_table(self):
        rows = self.rows("fsbench, 2 vCPUs, 3 runs each")
        self.assertEqual(rows[0][:4], ["Configuration", "conn/s (min\u2013max)",
                                       "Ratio to reuseport (95 % CI)", "Ratio to stock"])
        self.assertNotIn("Back locality", rows[0])
        auto = rows[3]
        self.assertEqual(auto[0], "``fs-auto``")
        self.assertEqual(auto[1], "210.0 (200.0\u2013220.0)")
        self.assertEqual(auto[2], span(*geo(per_round("fs-auto", "reuseport"), T_DF2)))
        self.assertEqual(auto[2], "1.105 (0.978\u20131.249)")
        # Without "pair", the rounds pair with stock's too: no interval shown.
        self.assertEqual(auto[3], f"{geo(per_round('fs-auto', 'stock')):.3f}")
        self.assertEqual(rows[2][2], "1.000 (1.000\u20131.000)")   # reuseport itself
        self.assertEqual(auto[4:7], ["3.1", "13.0", "20.1"])
        self.assertEqual(auto[7:], ["0.995", "3.00", "0.50"])

    def test_missing_cells(self):
        rows = self.rows("fsbench, 4 vCPUs, 3 runs each")
        self.assertEqual(rows[-1], ["``fs-ioctl``"] + ["\u2013"] * (len(rows[0]) - 1))
        rows = self.rows("nginx, 2 vCPUs, 3 runs each")
        self.assertEqual([r[0] for r in rows[1:]], ["``stock``", "``reuseport``", "``fs-auto``"])
        self.assertEqual(rows[3][6], "\u2013")   # no p99.9 from wrk
        self.assertIn("Not measured with nginx: ``fs-ioctl``.", self.lines)

    def test_haproxy_back_locality(self):
        rows = self.rows("haproxy, 2 vCPUs, 3 runs each")
        i = rows[0].index("Back locality")
        self.assertEqual(rows[3][i], "0.600")

    def test_images(self):
        self.assertIn(".. image:: benchmarks/fsbench-conn.png", self.lines)

    def test_lock_contention(self):
        rows = self.rows("fsbench, 4 vCPUs, contentions per 1,000 connections")
        self.assertEqual(rows[0], ["Configuration", "Connections", "listener", "ehash",
                                   "bhash", "Most contended classes"])
        self.assertEqual(rows[1][:5], ["``stock``", "2,000", "100.0", "2.0", "0.0"])
        self.assertEqual(rows[2][2], "50.0")
        self.assertEqual(rows[1][5], "``&queue->rskq_lock`` (80), ``slock-AF_INET`` (40), "
                                     "``&hashinfo->ehash_locks[i]`` (4)")

    def test_reading(self):
        text = " ".join(" ".join(self.lines[self.lines.index("Reading the tables"):
                                            self.lines.index("fsbench")]).split())
        self.assertIn("the geometric mean of those ratios", text)
        self.assertIn("95 % confidence interval", text)
        self.assertIn("The ratio to ``stock`` divides medians", text)

    def test_targets(self):
        self.assertIn("**7 of 13 targets met**, 4 within noise, 2 not met "
                      "(2 without the data to judge).", self.lines)
        rows = self.rows("fsbench targets")
        self.assertEqual(rows[0], ["Configuration", "vCPUs", "Target", "Value (95 % CI)",
                                   "Verdict", "stock's value", "1/N"])
        stock_1 = f"{geo(per_round('stock', 'reuseport', cpus=1)):.3f}"
        self.assertEqual(stock_1, "1.000")
        self.assertIn(["``fs-auto``", "1", "ratio to reuseport \u2265 0.98",
                       span(*geo(per_round("fs-auto", "reuseport", cpus=1), T_DF2)),
                       "within noise", stock_1, "\u2013"], rows)
        self.assertIn(["``fs-ioctl``", "2", "ratio to reuseport > 1.00",
                       span(*geo(per_round("fs-ioctl", "reuseport"), T_DF2)), "not met",
                       f"{geo(per_round('stock', 'reuseport')):.3f}", "\u2013"], rows)
        self.assertIn(["``fs-auto``", "4", "ratio to reuseport > 1.00",
                       "1.149 (1.032\u20131.280)", "met", "0.683", "\u2013"], rows)
        self.assertIn(["``fs-ioctl``", "2", "locality \u2265 0.99", "0.971", "not met",
                       "0.501", "0.500"], rows)
        self.assertIn(["``fs-ioctl``", "4", "ratio to reuseport > 1.00", "\u2013", "no data",
                       "0.683", "\u2013"], rows)

    def test_deterministic(self):
        again = report.render(fixture(), self.cells, "Intro *prose*.\n", self.images)
        self.assertEqual(self.text, again)

    def test_escaping(self):
        self.assertEqual(report.esc("a*b `c` d|e f_ _g h_i"), r"a\*b \`c\` d\|e f\_ \_g h_i")

    @unittest.skipIf(docutils is None, "docutils is not installed")
    def test_docutils_renders(self):
        html = docutils.core.publish_string(
            self.text, writer_name="html",
            settings_overrides={"halt_level": 2, "report_level": 2,
                                "warning_stream": io.StringIO()})
        self.assertIn(b"fsbench, 2 vCPUs", html)

    @unittest.skipIf(docutils is None, "docutils is not installed")
    def test_docutils_renders_awkward_labels(self):
        data = fixture()
        data.configs[0] = ("stock", "a *star, `tick`, |bar| and trailing_ under_")
        data.metas[0]["uname"] = "Linux *x* `y` z_"
        text = report.render(data, self.cells)
        docutils.core.publish_string(text, writer_name="html",
                                     settings_overrides={"halt_level": 2, "report_level": 2,
                                                         "warning_stream": io.StringIO()})


class NoBaseline(unittest.TestCase):
    def test_ratio_columns_skipped(self):
        lines = [line for line in fixture_lines() if '"config": "reuseport"' not in line
                 and '"config": "stock"' not in line]
        data = report.finish(report.parse(lines))
        cells = report.aggregate(data.runs)
        text = report.render(data, cells)
        self.assertNotIn("Ratio to", text)
        ts = report.targets(data, cells)
        self.assertTrue(all(t.verdict == report.NO_DATA
                            for t in ts if t.what.startswith("ratio")))
        self.assertTrue(all(t.stock is None for t in ts))
        # Locality at 2+ vCPUs: fs-auto met everywhere, fs-ioctl's 0.971 not.
        self.assertIn("**4 of 5 targets met**, 0 within noise, 1 not met "
                      "(10 without the data to judge).", text)
        with tempfile.TemporaryDirectory() as tmp:
            specs = report.plot_specs(data, cells, "fsbench", Path(tmp), Path(tmp))
        self.assertEqual([name for name, _, _ in specs], ["fsbench-conn.png",
                                                          "fsbench-locality.png"])


# Runs measured in pairs, as tests/vm/scenarios/bench.sh does: every
# configuration back to back with reuseport, which has a run in each pair.
# (round, pair): {config: conn/s}
PAIRED = {
    (0, "stock"): {"reuseport": 100, "stock": 80},
    (0, "fs-a"): {"reuseport": 100, "fs-a": 110},
    (0, "fs-b"): {"reuseport": 300, "fs-b": 270},
    (1, "stock"): {"reuseport": 100, "stock": 90},
    (1, "fs-a"): {"reuseport": 120, "fs-a": 126},
    (1, "fs-b"): {"reuseport": 400, "fs-b": 400},
    (2, "fs-a"): {"fs-a": 500},                     # its reuseport run is missing
    (0, "fs-c"): {"fs-c": 260},                     # no reuseport run in its pairs
    (1, "fs-c"): {"fs-c": 280},
}


def paired_lines():
    lines = [json.dumps(dict(meta("release", 2), rounds=2, configs=[
        {"name": n, "label": n} for n in ("stock", "reuseport", "fs-a", "fs-b", "fs-c")]))]
    for (r, pair), by_config in PAIRED.items():
        for config, v in by_config.items():
            lines.append(json.dumps({"kind": "run", "cpus": 2, "workload": "w",
                                     "config": config, "round": r, "pair": pair,
                                     "conn_per_sec": v, "failed": 0}))
    return lines


class Pairing(unittest.TestCase):
    def setUp(self):
        self.data = report.finish(report.parse(paired_lines(), "paired"))
        self.cells = report.aggregate(self.data.runs)

    def ratio(self, config, base="reuseport"):
        return report.ratio(self.cells, "w", 2, config, base)

    def test_cells_key_on_round_and_pair(self):
        base = self.cells[("w", 2, "reuseport")]
        self.assertEqual(base.runs, 6)
        self.assertEqual(base.conn_by_pair[(1, "fs-b")], 400)
        self.assertEqual(base.median["conn_per_sec"], (100 + 120) / 2)
        self.assertEqual(self.cells[("w", 2, "fs-a")].runs, 3)

    def test_each_config_divides_by_its_own_pairs(self):
        for config, ratios in (("fs-a", [110 / 100, 126 / 120]),
                               ("fs-b", [270 / 300, 400 / 400]),
                               ("stock", [80 / 100, 90 / 100])):
            r = self.ratio(config)
            value, lo, hi = geo(ratios, 12.706)     # t for 1 degree of freedom
            self.assertAlmostEqual(r.value, value, msg=config)
            self.assertAlmostEqual(r.lo, lo, msg=config)
            self.assertAlmostEqual(r.hi, hi, msg=config)
            self.assertEqual(r.n, 2, msg=config)

    def test_no_matching_pair_divides_medians(self):
        r = self.ratio("fs-c")
        self.assertAlmostEqual(r.value, 270 / 110)
        self.assertEqual((r.lo, r.hi, r.n), (None, None, 0))
        # Nor are two configurations paired with each other.
        r = self.ratio("fs-a", "stock")
        self.assertAlmostEqual(r.value, 126 / 85)
        self.assertEqual((r.lo, r.hi, r.n), (None, None, 0))

    def test_targets(self):
        ts = {t.config: t for t in report.targets(self.data, self.cells)
              if t.what.startswith("ratio")}
        self.assertEqual(ts["fs-a"].verdict, report.NOISE)     # 2 pairs: a wide interval
        self.assertLess(ts["fs-a"].lo, 1)
        self.assertGreater(ts["fs-a"].hi, 1)
        self.assertEqual(ts["fs-c"].verdict, report.MET)       # by the value alone
        self.assertEqual((ts["fs-c"].lo, ts["fs-c"].hi), (None, None))
        self.assertAlmostEqual(ts["fs-a"].stock, geo([0.8, 0.9]))

    def test_rst(self):
        text = report.render(self.data, self.cells)
        lines = text.splitlines()
        i = lines.index(".. list-table:: w, 2 vCPUs, 2\u20136 runs each")
        rows = [line[7:] for line in lines[i:] if line.startswith(("   * - ", "     - "))]
        fs_c = rows.index("``fs-c``")
        self.assertEqual(rows[fs_c + 1:fs_c + 4], ["270.0 (260.0\u2013280.0)",
                                                   f"{270 / 110:.3f}", f"{270 / 85:.3f}"])
        self.assertIn("**1 of 3 targets met**, 2 within noise, 0 not met "
                      "(3 without the data to judge).", lines)


def sliced_lines(slices):
    """Two pairs of fs-a with reuseport; slices: (config, round) -> per_slice."""
    lines = [json.dumps(dict(meta("release", 2), rounds=2, configs=[
        {"name": n, "label": n} for n in ("reuseport", "fs-a")]))]
    for (config, r), s in slices.items():
        lines.append(json.dumps({"kind": "run", "cpus": 2, "workload": "w", "config": config,
                                 "round": r, "pair": "fs-a", "conn_per_sec": sum(s),
                                 "failed": 0, "slice_ms": 100, "per_slice": s}))
    return lines


class Slices(unittest.TestCase):
    # Eight slices each; a stall takes three slices of reuseport's round 0.
    SLICES = {("reuseport", 0): [10, 10, 2, 2, 2, 10, 10, 10],
              ("fs-a", 0): [11, 11, 11, 11, 11, 11, 11, 11],
              ("reuseport", 1): [10, 10, 10, 10, 10, 10, 10, 10],
              ("fs-a", 1): [12, 12, 12, 12, 12, 12, 12, 12]}

    def setUp(self):
        self.data = report.finish(report.parse(sliced_lines(self.SLICES), "sliced"))
        self.cells = report.aggregate(self.data.runs)

    def test_fast_half_rate(self):
        run = {"slice_ms": 100, "per_slice": [1, 9, 3, 7, 5, 8, 2, 6]}
        # The faster half: 9, 8, 7, 6 per 100 ms.
        self.assertEqual(report.fast_half_rate(run), 75.0)
        self.assertIsNone(report.fast_half_rate(dict(run, per_slice=[5] * 7)))
        self.assertIsNone(report.fast_half_rate({"conn_per_sec": 5}))

    def test_ratio_of_faster_halves_leaves_the_stall_out(self):
        whole = report.ratio(self.cells, "w", 2, "fs-a", "reuseport")
        self.assertAlmostEqual(whole.value, geo([88 / 56, 96 / 80]))
        fast = report.ratio(self.cells, "w", 2, "fs-a", "reuseport", fast=True)
        self.assertAlmostEqual(fast.value, geo([1.1, 1.2]))
        self.assertEqual(fast.n, 2)

    def test_section_only_with_slices(self):
        text = report.render(self.data, self.cells)
        self.assertIn("The host's quiet moments", text)
        self.assertIn(span(*geo([1.1, 1.2], 12.706)), text)
        plain = report.finish(report.parse(paired_lines(), "paired"))
        self.assertNotIn("quiet moments", report.render(plain, report.aggregate(plain.runs)))

    def test_switch_column_only_where_measured(self):
        self.assertNotIn("Switches / conn", report.render(self.data, self.cells))
        lines = [json.dumps(dict(json.loads(line), switch_per_conn=2.5))
                 if '"run"' in line else line for line in sliced_lines(self.SLICES)]
        data = report.finish(report.parse(lines, "switched"))
        rows = report.render(data, report.aggregate(data.runs)).splitlines()
        i = rows.index("     - Switches / conn")
        self.assertIn("     - 2.50", rows[i:])

    def test_bad_slices_are_refused(self):
        for bad in ({"per_slice": [1, -1]}, {"per_slice": [1.5]}, {"per_slice": "12"},
                    {"per_slice": [1, 2], "slice_ms": 0}, {"per_slice": [1, 2], "slice_ms": None}):
            o = {"kind": "run", "cpus": 2, "workload": "w", "config": "fs-a", "round": 0,
                 "slice_ms": 100, **bad}
            with self.assertRaises(report.ReportError, msg=bad):
                report.parse([json.dumps(o)])


class Statistics(unittest.TestCase):
    def test_paired_by_hand(self):
        # logs 0.0953, 0.1823, 0, 0.1398: mean 0.10435, sd 0.07811;
        # half width 3.182 * 0.07811 / 2 = 0.12428.
        r = report.paired([1.1, 1.2, 1.0, 1.15])
        self.assertAlmostEqual(r.value, 1.109987, places=5)
        self.assertAlmostEqual(r.lo, 0.980270, places=5)
        self.assertAlmostEqual(r.hi, 1.256869, places=5)
        self.assertEqual(r.n, 4)
        value, lo, hi = geo([1.1, 1.2, 1.0, 1.15], 3.182)
        for got, want in ((r.value, value), (r.lo, lo), (r.hi, hi)):
            self.assertAlmostEqual(got, want)

    def test_paired_is_symmetric_in_logs(self):
        r = report.paired([2.0, 0.5])
        self.assertAlmostEqual(r.value, 1.0)
        self.assertAlmostEqual(r.lo * r.hi, 1.0)

    def test_single_ratio_has_no_interval(self):
        r = report.paired([1.25])
        self.assertAlmostEqual(r.value, 1.25)
        self.assertEqual((r.lo, r.hi, r.n), (None, None, 1))

    def test_t95(self):
        self.assertEqual(report.t95(1), 12.706)
        self.assertEqual(report.t95(3), 3.182)
        self.assertEqual(report.t95(30), 2.042)
        self.assertAlmostEqual(report.t95(40), 2.021, places=3)
        self.assertAlmostEqual(report.t95(120), 1.980, places=3)
        self.assertTrue(1.96 < report.t95(10000) < 1.961)
        ts = [report.t95(df) for df in range(1, 200)]
        self.assertEqual(ts, sorted(ts, reverse=True))


class Judge(unittest.TestCase):
    above = staticmethod(lambda x: x > 1.0)

    def test_interval(self):
        self.assertEqual(report.judge(1.1, 1.05, 1.2, self.above), report.MET)
        self.assertEqual(report.judge(0.9, 0.8, 0.95, self.above), report.NOT_MET)
        self.assertEqual(report.judge(1.02, 0.97, 1.08, self.above), report.NOISE)
        self.assertEqual(report.judge(0.99, 0.97, 1.01, self.above), report.NOISE)
        at_least = lambda x: x >= 0.98                  # noqa: E731
        self.assertEqual(report.judge(0.99, 0.98, 1.0, at_least), report.MET)

    def test_no_data(self):
        self.assertEqual(report.judge(None, None, None, self.above), report.NO_DATA)

    def test_value_alone(self):
        self.assertEqual(report.judge(1.1, None, None, self.above), report.MET)
        self.assertEqual(report.judge(0.9, None, None, self.above), report.NOT_MET)
        self.assertEqual(report.judge(1.0, None, None, self.above), report.NOT_MET)
        self.assertEqual(report.judge(1.1, 0.9, None, self.above), report.MET)


def coherence_fixture(with_runs=True):
    lines = (fixture_lines() if with_runs else []) + coherence_lines()
    return report.finish(report.parse(lines, "coherence"))


class Coherence(unittest.TestCase):
    def setUp(self):
        self.data = coherence_fixture()
        self.cells = report.aggregate(self.data.runs)
        self.images = {"coherence:fsbench": [("benchmarks/coherence-fsbench-transfers.png",
                                              "fsbench transfers")]}
        self.text = report.render(self.data, self.cells, None, self.images)
        self.lines = self.text.splitlines()

    def rows(self, title):
        return table_rows(self.lines, title)

    def line(self, w, cpus, config):
        return report.coherence_cells(self.data)[(w, cpus, config)]

    def test_parsed(self):
        self.assertEqual(len(self.data.coherences), 19 + 6)
        self.assertEqual(len(self.data.vms), 5)
        self.assertEqual(len(self.data.runs), len(runs()))

    def test_per_connection(self):
        o = self.line("fsbench", 2, "stock")
        self.assertEqual(o["connections"], 2003)     # the accepts, not the 2,000 asked
        self.assertEqual(report.per_conn(o, "transfers"), 200)
        self.assertEqual(report.per_conn(o, "instructions"), 99_000)
        self.assertEqual(report.per_conn(o, "ipis"), 1001 / 2003)
        self.assertIsNone(report.per_conn(dict(o, ipis=None), "ipis"))
        self.assertIsNone(report.per_conn(None, "ipis"))
        self.assertEqual(report.per_conn(self.line("fsbench", 16, "stock"), "transfers"), 1000)

    def test_only_coherence(self):
        data = coherence_fixture(with_runs=False)
        text = report.render(data, report.aggregate(data.runs))
        self.assertIn("Cache-line transfers (coherence model)", text)
        self.assertNotIn("\nfsbench\n=======\n", text)
        self.assertIn("\nfsbench\n-------\n", text)

    def test_section_order(self):
        names = ["Lock contention", "Cache-line transfers (coherence model)", "fsbench",
                 "nginx", "Targets of the coherence pass", "Targets"]
        start = self.lines.index("Lock contention")
        pos = [self.lines.index(n, start) for n in names]
        self.assertEqual(pos, sorted(pos))
        self.assertEqual(self.lines[pos[1] + 1], "=" * len(names[1]))
        self.assertEqual(self.lines[pos[2] + 1], "-" * len("fsbench"))

    def test_caveat(self):
        text = " ".join(self.text.split())
        self.assertIn("private caches of unbounded size: only the misses that sharing "
                      "causes are counted", text)

    def test_tables(self):
        rows = self.rows("fsbench: transfers per connection")
        self.assertEqual(rows[0], ["Configuration", "1 vCPU", "2 vCPUs", "4 vCPUs",
                                   "8 vCPUs", "16 vCPUs"])
        self.assertEqual(rows[1], ["``stock``", "50.0", "200.0", "400.0", "700.0", "1,000.0"])
        self.assertEqual(rows[4], ["``fs-ioctl``", "50.0", "100.0", "200.0", "150.0",
                                   "\u2013"])
        rows = self.rows("fsbench: instructions per connection")
        self.assertEqual(rows[3][1:3], ["101,000", "101,000"])
        rows = self.rows("fsbench: IPIs per connection")
        self.assertEqual(rows[1][2], "0.50")
        self.assertEqual(rows[3][2], "0.00")
        rows = self.rows("fsbench: locality")
        self.assertEqual(rows[1][1:3], ["1.000", "0.500"])
        rows = self.rows("nginx: transfers per connection")
        self.assertEqual(rows[0], ["Configuration", "2 vCPUs", "4 vCPUs"])
        self.assertEqual([r[0] for r in rows[1:]], ["``stock``", "``reuseport``", "``fs-auto``"])

    def test_lock_contention(self):
        rows = self.rows("fsbench: lock contentions per 1,000 connections (debug kernel)")
        # The fixture's groups, summed (no "total"): (200 + 4 + 0) / 2,000 connections.
        self.assertEqual(rows[1], ["``stock``", "\u2013", "102.0", "102.0", "\u2013", "\u2013"])
        self.assertNotIn(".. list-table:: nginx: lock contentions per 1,000 connections "
                         "(debug kernel)", self.lines)
        data = coherence_fixture()
        data.lockstats[0]["groups"]["total"] = 500
        self.assertEqual(report.lock_per_k(data, "fsbench", 2, "stock"), 250)

    def test_top_functions(self):
        rows = self.rows("fsbench, 8 vCPUs: the functions with the most transfers")
        self.assertEqual(rows[0], ["#", "``stock``: function", "Transfers / conn (load + store)",
                                   "``fs-auto``: function", "Transfers / conn (load + store)"])
        self.assertEqual(rows[1], ["1", "``__slab_alloc_node``", "350.00 (175.00 + 175.00)",
                                   "``__slab_alloc_node``", "52.50 (26.25 + 26.25)"])
        self.assertEqual(rows[2][1], "``stock_fn``")
        self.assertEqual(len(rows), 4)
        # nginx was measured up to 4 vCPUs: its table is at 4.
        self.assertIn(".. list-table:: nginx, 4 vCPUs: the functions with the most transfers",
                      self.lines)

    def test_top_lines(self):
        rows = self.rows("fsbench, 8 vCPUs: the lines with the most transfers")
        self.assertEqual(rows[1], ["``stock``", "``rcu_state+0x40``", "140.00",
                                   "``rcu_core`` (70.00), ``[module]`` (0.00)"])
        self.assertEqual(rows[2][1:], ["``0x12340``", "0.00", "\u2013"])
        self.assertEqual(rows[3][0], "``fs-auto``")

    def test_targets(self):
        # fs-ioctl was not measured on 16 vCPUs: its instructions there are unjudged.
        self.assertIn("**11 of 17 targets met**, 6 not met (1 without the data to judge).",
                      self.lines)
        rows = self.rows("fsbench: coherence targets")
        self.assertEqual(rows[0], ["Configuration", "vCPUs", "Target", "Value", "Verdict",
                                   "stock's value", "reuseport's value"])
        self.assertIn(["``fs-auto``", "4", "transfers/conn \u2264 0.5 \u00d7 reuseport's",
                       "0.333", "met", "1.333", "\u2013"], rows)
        self.assertIn(["``fs-auto``", "2\u201316", "transfers/conn growth \u2264 10 %",
                       "+8.0 %", "met", "+400.0 %", "+300.0 %"], rows)
        self.assertIn(["``fs-ioctl``", "4", "transfers/conn \u2264 0.5 \u00d7 reuseport's",
                       "0.667", "not met", "1.333", "\u2013"], rows)
        # fs-ioctl has no 16-vCPU measurement: its growth is up to 8, the
        # largest rise (at 4), not the last.
        self.assertIn(["``fs-ioctl``", "2\u20138", "transfers/conn growth \u2264 10 %",
                       "+100.0 %", "not met", "+400.0 %", "+300.0 %"], rows)
        self.assertIn(["``fs-ioctl``", "1", "instructions/conn \u2264 1.02 \u00d7 reuseport's",
                       "1.030", "not met", "0.990", "\u2013"], rows)
        self.assertIn(["``fs-auto``", "16", "instructions/conn \u2264 1.02 \u00d7 reuseport's",
                       "1.010", "met", "0.990", "\u2013"], rows)
        rows = self.rows("nginx: coherence targets")
        self.assertIn(["``fs-auto``", "2\u20134", "transfers/conn growth \u2264 10 %",
                       "+0.0 %", "met", "+100.0 %", "+100.0 %"], rows)

    def test_targets_without_data(self):
        data = coherence_fixture(with_runs=False)
        data.coherences = [o for o in data.coherences
                           if (o["config"], o["cpus"]) != ("reuseport", 4)]
        ts = [t for t in report.coherence_targets(data) if t.cpus == "4"
              and t.workload == "fsbench"]
        self.assertEqual({t.verdict for t in ts}, {report.NO_DATA})
        data.coherences = [o for o in data.coherences if o["cpus"] == 2]
        g = [t for t in report.coherence_targets(data) if "growth" in t.what]
        self.assertEqual({t.verdict for t in g}, {report.NO_DATA})
        self.assertEqual({t.cpus for t in g}, {"2"})

    def test_cost(self):
        rows = self.rows("What the coherence pass cost")
        self.assertEqual(rows[0], ["vCPUs", "VM seconds", "Connections", "Measurements",
                                   "Window host seconds", "Slowdown, fsbench",
                                   "Slowdown, nginx"])
        self.assertEqual(rows[2], ["2", "2,000", "2,000", "7", "140", "4.0", "4.0"])
        self.assertEqual(rows[5], ["16", "16,000", "500", "3", "480", "4.0", "\u2013"])
        text = " ".join(self.text.split())
        self.assertIn("The pass took 31,000 s of VM time (8.6 h).", text)
        self.assertIn("The VMs ran for 31,000 s (8.6 h) in 5 boots: ``bench_coherence`` "
                      "31,000 s.", text)

    def test_machine(self):
        rows = self.rows("VM runs")
        self.assertIn(["release", "16", "Linux fs 6.12.57-fastsocket #1 SMP release",
                       "2026-11-23T19:416:00Z", "tcg,thread=single,plugin=coherence",
                       "500 connections"], rows)

    def test_images(self):
        self.assertIn(".. image:: benchmarks/coherence-fsbench-transfers.png", self.lines)

    def test_reading(self):
        text = " ".join(self.text.split())
        self.assertIn("they cannot show what a cache line moved between cores costs", text)

    def test_without_coherence(self):
        text = report.render(fixture(), self.cells)
        self.assertIn("No coherence measurement in the input", text)

    def test_deterministic(self):
        again = report.render(coherence_fixture(), self.cells, None, self.images)
        self.assertEqual(self.text, again)

    @unittest.skipIf(docutils is None, "docutils is not installed")
    def test_docutils_renders(self):
        html = docutils.core.publish_string(
            self.text, writer_name="html",
            settings_overrides={"halt_level": 2, "report_level": 2,
                                "warning_stream": io.StringIO()})
        self.assertIn(b"Cache-line transfers", html)

    def test_malformed(self):
        good = fixture_lines() + coherence_lines()
        o = json.loads(coherence_lines()[5])
        self.assertEqual(o["kind"], "coherence")

        def bad(line, message):
            with self.assertRaises(report.ReportError) as cm:
                report.finish(report.parse(good + [json.dumps(line)], "f.jsonl"))
            self.assertIn(message, str(cm.exception))

        cut = dict(o)
        del cut["connections"]
        bad(cut, "missing \"connections\"")
        bad(dict(o, connections=0), "\"connections\" must be a positive integer")
        bad(dict(o, transfers=-1), "\"transfers\" must be a number >= 0")
        bad(dict(o, instructions="many"), "\"instructions\"")
        bad(dict(o, ipis=-2), "\"ipis\" must be a number >= 0 or null")
        bad(dict(o, locality=1.5), "\"locality\" must be a fraction")
        bad(dict(o, load_transfers=o["load_transfers"] + 1), "do not add up")
        bad(dict(o, top_functions=[["f"]]), "\"top_functions\"")
        bad(dict(o, top_functions=[[3, 1, 1, 0]]), "\"top_functions\"")
        bad(dict(o, top_lines=[{"line": "x", "transfers": 1, "functions": [["f"]]}]),
            "\"top_lines\"")
        bad(dict(o, top_lines=[{"transfers": 1}]), "\"top_lines\"")
        bad(dict(o, kernel="debug"), "only the release kernel's are reported")
        bad(dict(o, config="a b"), "\"config\"")
        bad(o, "a second coherence measurement of fsbench, 1 vCPU(s), stock")
        bad({"kind": "vm", "cpus": 2, "scenario": "bench", "seconds": -1}, "\"seconds\"")
        bad({"kind": "vm", "cpus": 2, "seconds": 1}, "missing \"scenario\"")
        # A line without its lists and optional counts is fine.
        slim = {k: o[k] for k in ("kind", "cpus", "workload", "config", "connections",
                                  "instructions", "transfers")}
        data = report.finish(report.parse(good + [json.dumps(dict(slim, cpus=32))]))
        self.assertEqual(data.coherences[-1]["cpus"], 32)
        report.render(data, report.aggregate(data.runs))
        # Its lock_stat key is not a coherence one.
        ls = [json.loads(x) for x in good if json.loads(x)["kind"] == "lockstat"][0]
        report.finish(report.parse(good + [json.dumps(dict(slim, cpus=ls["cpus"], config="x"))]))


class Malformed(unittest.TestCase):
    def bad(self, lines, message):
        with self.assertRaises(report.ReportError) as cm:
            report.finish(report.parse(lines, "f.jsonl"))
        self.assertIn(message, str(cm.exception))

    def test_errors(self):
        good = fixture_lines()
        run = json.loads(good[3])
        self.bad(good + ["{not json"], "f.jsonl:")
        self.bad(good + ["[1]"], "expected a JSON object")
        self.bad(good + ['{"kind": "other"}'], "unknown \"kind\"")
        self.bad(good + [json.dumps(dict(run, cpus=0))], "\"cpus\" must be a positive integer")
        self.bad(good + [json.dumps(dict(run, conn_per_sec="fast"))], "\"conn_per_sec\"")
        self.bad(good + ['{"kind": "run", "cpus": 1, "workload": "w", "config": "c", '
                         '"round": 0, "conn_per_sec": NaN}'], "not JSON")
        self.bad(good + [json.dumps(run)], "a second measurement")
        self.bad(good + [json.dumps(dict(run, kernel="debug", round=9))], "release kernel")
        self.bad(good + [json.dumps(dict(run, workload="a/b"))], "\"workload\"")
        self.bad(good[3:4], "no \"meta\"")
        self.bad(good[:3], "no measurement")
        self.bad(good + [json.dumps({"kind": "meta", "configs": []})], "\"configs\"")
        ls = json.loads(good[-1])
        self.bad(good + [json.dumps(dict(ls, connections=0))], "\"connections\"")
        self.bad(good + [json.dumps(dict(ls, top=[["a"]]))], "\"top\"")

    def test_pair(self):
        good = fixture_lines()
        run = json.loads(good[3])
        for pair in (3, "bad name!", "", ["fs-auto"], True):
            self.bad(good + [json.dumps(dict(run, pair=pair))],
                     "\"pair\" must be a configuration name or null")
        data = report.finish(report.parse(good + [json.dumps(dict(run, pair="fs-auto"))]))
        self.assertEqual(data.runs[-1]["pair"], "fs-auto")

    def test_duplicates_key_on_round_and_pair(self):
        good = fixture_lines()
        run = json.loads(good[3])
        a, b = (json.dumps(dict(run, round=7, pair=p)) for p in ("fs-auto", "fs-ioctl"))
        data = report.finish(report.parse(good + [a, b]))
        self.assertEqual(len(data.runs), len(runs()) + 2)
        self.bad(good + [a, b, a], "a second measurement of fsbench, 1 vCPU(s), stock, "
                                   "round 7, pair fs-auto (the first is at f.jsonl:")
        # A null pair is no pair: the same run as the fixture's.
        self.bad(good + [json.dumps(dict(run, pair=None))], "round 0 (the first is at")

    def test_main_exits_non_zero(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp, "bad.jsonl")
            bad.write_text('{"kind": "run"}\n')
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = report.main([str(bad), "--rst", f"{tmp}/b.rst", "--plots", f"{tmp}/p"])
            self.assertEqual(rc, 1)
            self.assertIn("bad.jsonl:1: missing \"cpus\"", err.getvalue())
            self.assertFalse(Path(tmp, "b.rst").exists())

    def test_missing_intro(self):
        with tempfile.TemporaryDirectory() as tmp:
            good = Path(tmp, "good.jsonl")
            good.write_text("\n".join(fixture_lines()) + "\n")
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = report.main([str(good), "--rst", f"{tmp}/b.rst", "--plots", f"{tmp}/p",
                                  "--intro", f"{tmp}/nope.rst"])
            self.assertEqual(rc, 1)
            self.assertIn("cannot read the intro", err.getvalue())

    def test_gnuplot_missing(self):
        data = fixture()
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(report.shutil, "which", return_value=None):
            with self.assertRaisesRegex(report.ReportError, "gnuplot is not installed"):
                report.plot(data, report.aggregate(data.runs), tmp)


@unittest.skipIf(shutil.which("gnuplot") is None, "gnuplot is not installed")
class Plots(unittest.TestCase):
    def run_main(self, tmp, extra=()):
        lines = fixture_lines()
        a, b = Path(tmp, "release.jsonl"), Path(tmp, "debug.jsonl")
        a.write_text("\n".join(lines[:-8]) + "\n")
        b.write_text("\n".join(lines[-8:]) + "\n")
        intro = Path(tmp, "intro.rst")
        intro.write_text("What TCG can show.\n")
        rc = report.main([str(a), str(b), "--rst", f"{tmp}/doc/benchmarks.rst",
                          "--plots", f"{tmp}/doc/benchmarks", "--intro", str(intro), *extra])
        self.assertEqual(rc, 0)
        return Path(tmp, "doc")

    def test_plots_and_rst(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc = self.run_main(tmp)
            pngs = sorted(p.name for p in (doc / "benchmarks").iterdir())
            expect = sorted(f"{w}-{k}.png" for w in ("fsbench", "nginx", "haproxy")
                            for k in ("conn", "ratio", "locality"))
            self.assertEqual(pngs, expect)
            for name in pngs:
                data = (doc / "benchmarks" / name).read_bytes()
                self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"), name)
                self.assertGreater(len(data), 1000, name)
            text = (doc / "benchmarks.rst").read_text()
            for name in pngs:
                self.assertIn(f".. image:: benchmarks/{name}\n", text)
            self.assertIn("\nWhat TCG can show.\n", text)

    def test_coherence_plots(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = Path(tmp, "coherence.jsonl")
            a.write_text("\n".join(fixture_lines() + coherence_lines()) + "\n")
            rc = report.main([str(a), "--rst", f"{tmp}/doc/benchmarks.rst",
                              "--plots", f"{tmp}/doc/benchmarks"])
            self.assertEqual(rc, 0)
            doc = Path(tmp, "doc")
            pngs = sorted(p.name for p in (doc / "benchmarks").iterdir()
                          if p.name.startswith("coherence-"))
            self.assertEqual(pngs, sorted(f"coherence-{w}-{k}.png" for w in ("fsbench", "nginx")
                                          for k in ("transfers", "instructions")))
            for name in pngs:
                self.assertTrue((doc / "benchmarks" / name).read_bytes()
                                .startswith(b"\x89PNG\r\n\x1a\n"), name)
            text = (doc / "benchmarks.rst").read_text()
            for name in pngs:
                self.assertIn(f".. image:: benchmarks/{name}\n", text)

    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as t1, tempfile.TemporaryDirectory() as t2:
            d1, d2 = self.run_main(t1), self.run_main(t2)
            self.assertEqual((d1 / "benchmarks.rst").read_text(),
                             (d2 / "benchmarks.rst").read_text())
            for p in (d1 / "benchmarks").iterdir():
                self.assertEqual(p.read_bytes(), (d2 / "benchmarks" / p.name).read_bytes(), p.name)


if __name__ == "__main__":
    unittest.main()
