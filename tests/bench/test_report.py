# SPDX-License-Identifier: GPL-2.0
"""Host tests of tests/bench/report.py.

    python3 -m unittest tests/bench/test_report.py     (from the top directory)
"""

import contextlib
import io
import json
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


class Aggregation(unittest.TestCase):
    def setUp(self):
        self.data = fixture()
        self.cells = report.aggregate(self.data.runs)

    def test_median_and_spread(self):
        c = self.cells[("fsbench", 2, "fs-auto")]
        self.assertEqual(c.median["conn_per_sec"], 210)
        self.assertEqual((c.conn_min, c.conn_max), (200, 220))
        self.assertEqual(c.median["p50_us"], 3100)
        self.assertEqual(c.median["net_rx_per_conn"], 3.0)
        self.assertIsNone(c.median["timer_per_conn"])
        self.assertIsNone(self.cells[("nginx", 2, "fs-auto")].median["p999_us"])

    def test_median_skips_nulls(self):
        self.assertEqual(report.median([3, None, 1, 2]), 2)
        self.assertEqual(report.median([1, 2]), 1.5)
        self.assertIsNone(report.median([None, None]))

    def test_ratio_and_round_range(self):
        r = report.ratio(self.cells, "fsbench", 2, "fs-auto", "reuseport")
        self.assertAlmostEqual(r.value, 210 / 190)
        rounds = [200 / 180, 210 / 200, 220 / 190]
        self.assertAlmostEqual(r.lo, min(rounds))
        self.assertAlmostEqual(r.hi, max(rounds))

    def test_ratio_rounds_are_paired_by_number(self):
        lines = [json.dumps(meta("release", 2))]
        for config, rounds in (("reuseport", {0: 100, 1: 200}), ("fs-auto", {1: 220, 2: 500})):
            for r, v in rounds.items():
                lines.append(json.dumps({"kind": "run", "cpus": 2, "workload": "w",
                                         "config": config, "round": r, "conn_per_sec": v}))
        data = report.finish(report.parse(lines))
        r = report.ratio(report.aggregate(data.runs), "w", 2, "fs-auto", "reuseport")
        self.assertAlmostEqual(r.value, 360 / 150)
        self.assertAlmostEqual(r.lo, 1.1)
        self.assertAlmostEqual(r.hi, 1.1)

    def test_missing_cell(self):
        self.assertIsNone(report.ratio(self.cells, "fsbench", 4, "fs-ioctl", "reuseport"))
        self.assertIsNone(report.ratio(self.cells, "nginx", 2, "fs-ioctl", "reuseport"))
        self.assertEqual(report.configs_of(self.data, "nginx"), ["stock", "reuseport", "fs-auto"])

    def test_order(self):
        self.assertEqual(report.workloads(self.data), ["fsbench", "nginx", "haproxy"])
        self.assertEqual(report.cpus_of(self.data, "haproxy"), [2])
        self.assertEqual([n for n, _ in self.data.configs],
                         ["stock", "reuseport", "fs-auto", "fs-ioctl"])

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

    def test_verdicts(self):
        self.assertTrue(self.find("fsbench", "fs-auto", 1, "ratio").met)
        self.assertFalse(self.find("fsbench", "fs-ioctl", 1, "ratio").met)
        self.assertTrue(self.find("fsbench", "fs-auto", 2, "ratio").met)
        self.assertFalse(self.find("fsbench", "fs-ioctl", 2, "ratio").met)
        t = self.find("fsbench", "fs-auto", 4, "locality")
        self.assertTrue(t.met)
        self.assertEqual((t.value, t.stock, t.one_over_n), (0.995, 0.501, 0.25))
        self.assertFalse(self.find("fsbench", "fs-ioctl", 2, "locality").met)

    def test_missing_data_is_not_judged(self):
        self.assertIsNone(self.find("fsbench", "fs-ioctl", 4, "ratio").met)
        self.assertIsNone(self.find("fsbench", "fs-ioctl", 4, "locality").met)

    def test_only_fs_configs_measured_with_the_workload(self):
        self.assertEqual({t.config for t in self.ts}, {"fs-auto", "fs-ioctl"})
        self.assertFalse([t for t in self.ts if t.workload == "nginx" and t.config == "fs-ioctl"])
        self.assertFalse([t for t in self.ts if t.workload == "haproxy" and t.cpus == 1])

    def test_count(self):
        # fsbench: 2 configs x (1 + 2 + 2) = 10, nginx 1 + 2, haproxy 2.
        self.assertEqual(len(self.ts), 15)
        judged = [t for t in self.ts if t.met is not None]
        self.assertEqual(len(judged), 13)
        # not met: fs-ioctl 1 vCPU ratio, 2 vCPUs ratio and locality.
        self.assertEqual(sum(t.met for t in judged), 10)


class Rst(unittest.TestCase):
    def setUp(self):
        self.data = fixture()
        self.cells = report.aggregate(self.data.runs)
        self.images = {"fsbench": [("benchmarks/fsbench-conn.png", "fsbench conn")]}
        self.text = report.render(self.data, self.cells, "Intro *prose*.\n", self.images)
        self.lines = self.text.splitlines()

    def rows(self, title):
        """The rows of the list-table with that title, as lists of cells."""
        i = self.lines.index(f".. list-table:: {title}")
        rows = []
        for line in self.lines[i + 1:]:
            if line.startswith("   * - "):
                rows.append([line[7:]])
            elif line.startswith("     - "):
                rows[-1].append(line[7:])
            elif line.startswith(".. ") or (line and not line.startswith(" ")):
                break
        return rows

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
        rows = self.rows("fsbench, 2 vCPUs, median of 3 rounds")
        self.assertEqual(rows[0][:4], ["Configuration", "conn/s (min\u2013max)",
                                       "Ratio to reuseport (rounds)", "Ratio to stock"])
        self.assertNotIn("Back locality", rows[0])
        auto = rows[3]
        self.assertEqual(auto[0], "``fs-auto``")
        self.assertEqual(auto[1], "210.0 (200.0\u2013220.0)")
        self.assertEqual(auto[2], "1.105 (1.050\u20131.158)")
        self.assertEqual(auto[3], f"{210 / 155:.3f}")
        self.assertEqual(auto[4:7], ["3.1", "13.0", "20.1"])
        self.assertEqual(auto[7:], ["0.995", "3.00", "0.50"])

    def test_missing_cells(self):
        rows = self.rows("fsbench, 4 vCPUs, median of 3 rounds")
        self.assertEqual(rows[-1], ["``fs-ioctl``"] + ["\u2013"] * (len(rows[0]) - 1))
        rows = self.rows("nginx, 2 vCPUs, median of 3 rounds")
        self.assertEqual([r[0] for r in rows[1:]], ["``stock``", "``reuseport``", "``fs-auto``"])
        self.assertEqual(rows[3][6], "\u2013")   # no p99.9 from wrk
        self.assertIn("Not measured with nginx: ``fs-ioctl``.", self.lines)

    def test_haproxy_back_locality(self):
        rows = self.rows("haproxy, 2 vCPUs, median of 3 rounds")
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

    def test_targets(self):
        self.assertIn("**10 of 13 targets met** (2 without the data to judge).", self.lines)
        rows = self.rows("fsbench targets")
        self.assertIn(["``fs-auto``", "1", "ratio to reuseport \u2265 0.98", "0.990", "met",
                       "1.000", "\u2013"], rows)
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
        self.assertTrue(all(t.met is None for t in ts if t.what.startswith("ratio")))
        self.assertTrue(all(t.stock is None for t in ts))
        self.assertIn("**4 of 5 targets met** (10 without the data to judge).", text)
        with tempfile.TemporaryDirectory() as tmp:
            specs = report.plot_specs(data, cells, "fsbench", Path(tmp), Path(tmp))
        self.assertEqual([name for name, _, _ in specs], ["fsbench-conn.png",
                                                          "fsbench-locality.png"])


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

    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as t1, tempfile.TemporaryDirectory() as t2:
            d1, d2 = self.run_main(t1), self.run_main(t2)
            self.assertEqual((d1 / "benchmarks.rst").read_text(),
                             (d2 / "benchmarks.rst").read_text())
            for p in (d1 / "benchmarks").iterdir():
                self.assertEqual(p.read_bytes(), (d2 / "benchmarks" / p.name).read_bytes(), p.name)


if __name__ == "__main__":
    unittest.main()
