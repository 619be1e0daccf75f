# SPDX-License-Identifier: GPL-2.0
"""Host tests of tests/bench/projection.py.

    python3 -m unittest tests/bench/test_projection.py     (from the top directory)
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
import projection  # noqa: E402
from projection import Params, Point, ProjectionError  # noqa: E402

try:
    import docutils.core
except ImportError:
    docutils = None


def coherence(config="stock", cpus=2, connections=100, instructions=1e7, transfers=3e4,
              load="nginx", **extra):
    return json.dumps(dict(kind="coherence", config=config, load=load, cpus=cpus,
                           connections=connections, instructions=instructions,
                           transfers=transfers, **extra))


# stock's transfers grow with the vCPUs, fastsocket's stay flat.
POINTS = [Point("stock", 1, 100_000, 50), Point("stock", 2, 110_000, 300),
          Point("stock", 4, 115_000, 700),
          Point("fs", 1, 101_000, 40), Point("fs", 2, 103_000, 60), Point("fs", 4, 104_000, 58)]


class Input(unittest.TestCase):
    def test_per_connection(self):
        lines = ['{"kind": "meta", "configs": []}', "",
                 coherence(cpus=4, connections=200, instructions=2e7, transfers=5e4),
                 '{"kind": "run", "cpus": 2}']
        (p,) = projection.points_from_lines(lines, "b.jsonl")
        self.assertEqual(p, Point("stock", 4, 1e5, 250.0, "nginx", 200))

    def test_objects(self):
        objs = [json.loads(coherence()), {"kind": "lockstat"}]
        self.assertEqual(len(projection.points_from_objects(objs)), 1)
        with self.assertRaisesRegex(ProjectionError, "x:2: not a JSON object"):
            projection.points_from_objects([json.loads(coherence()), [1]], "x")

    def test_workload_names_the_load(self):
        line = json.loads(coherence(load=None))
        del line["load"]
        line["workload"] = "haproxy"
        (p,) = projection.points_from_lines([json.dumps(line)])
        self.assertEqual(p.load, "haproxy")
        line["workload"] = 7
        with self.assertRaisesRegex(ProjectionError, '"workload" must be a load name'):
            projection.points_from_lines([json.dumps(line)])

    def test_debug_kernel_skipped(self):
        lines = [coherence(kernel="debug"), coherence(kernel="release"), coherence()]
        self.assertEqual(len(projection.points_from_lines(lines)), 2)

    def test_malformed(self):
        cases = [
            ("{not json", "b.jsonl:1: not JSON"),
            ("[1, 2]", "b.jsonl:1: not a JSON object"),
            ('{"kind": "coherence", "config": "stock", "cpus": 2, "connections": 10, '
             '"instructions": 5}', 'b.jsonl:1: coherence line without "transfers"'),
            (coherence(connections=0), '"connections" must be a positive integer'),
            (coherence(cpus=True), '"cpus" must be a positive integer'),
            (coherence(cpus=2.5), '"cpus" must be a positive integer'),
            (coherence(transfers=-1), '"transfers" must be a number >= 0'),
            (coherence(instructions="many"), '"instructions" must be a number >= 0'),
            (coherence(config="a b"), '"config" must be a configuration name'),
            (coherence(load=3), '"load" must be a load name'),
            ('{"kind": "coherence", "config": "s", "cpus": 1, "connections": 1, '
             '"instructions": NaN, "transfers": 1}', "b.jsonl:1: not JSON"),
        ]
        for line, msg in cases:
            with self.subTest(line=line), self.assertRaisesRegex(ProjectionError, msg):
                projection.points_from_lines([line], "b.jsonl")

    def test_line_number(self):
        with self.assertRaisesRegex(ProjectionError, "b.jsonl:3:"):
            projection.points_from_lines([coherence(), "", coherence(cpus=0)], "b.jsonl")

    def test_parse_point(self):
        self.assertEqual(projection.parse_point("fs-auto:8:120000:55.5"),
                         Point("fs-auto", 8, 120000.0, 55.5))
        for bad in ("fs:8:1", "fs:x:1:2", "fs:0:1:2", "fs:2:-1:2", "fs:2:1:nan",
                    " fs:2:1:2", "fs:2:1:inf"):
            with self.subTest(bad=bad), self.assertRaises(ProjectionError):
                projection.parse_point(bad)


class Model(unittest.TestCase):
    def series(self, name):
        return next(s for s in projection.series_of(POINTS) if s.config == name)

    def test_fit(self):
        self.assertEqual(projection.fit([1, 2, 3], [2, 4, 6]), (2.0, 0.0))
        self.assertEqual(projection.fit([4, 4], [10, 20]), (0.0, 15.0))

    def test_transfers_interpolated_then_extrapolated(self):
        s = self.series("stock")
        # least squares through (1,50) (2,300) (4,700): mean x 7/3, mean y 350
        sxx = (4 / 3) ** 2 + (1 / 3) ** 2 + (5 / 3) ** 2
        slope = (-4 / 3 * -300 + -1 / 3 * -50 + 5 / 3 * 350) / sxx
        self.assertAlmostEqual(s.slope, slope)
        self.assertAlmostEqual(projection.transfers_at(s, 3), 500)      # between 2 and 4
        self.assertAlmostEqual(projection.transfers_at(s, 4), 700)      # measured
        self.assertAlmostEqual(projection.transfers_at(s, 24),
                               max(700, 350 + slope * (24 - 7 / 3)))

    def test_never_below_last_measured(self):
        # the line through these is under the last measured value beyond it
        (s,) = projection.series_of([Point("x", 1, 1, 60), Point("x", 2, 1, 40),
                                     Point("x", 4, 1, 50)])
        self.assertLess(s.intercept + s.slope * 5, 50)
        self.assertEqual(projection.transfers_at(s, 5), 50)
        self.assertEqual(projection.transfers_at(s, 24), 50)
        (down,) = projection.series_of([Point("x", 1, 1, 100), Point("x", 2, 1, 50)])
        self.assertEqual(projection.transfers_at(down, 24), 50)

    def test_single_point_is_flat(self):
        (s,) = projection.series_of([Point("x", 2, 1000, 10)])
        for n in (1, 2, 24):
            self.assertEqual(projection.transfers_at(s, n), 10)
            self.assertEqual(projection._interp(s.measured, n, 1), 1000)

    def test_repeated_points_take_the_median(self):
        (s,) = projection.series_of([Point("x", 2, 10, 1), Point("x", 2, 30, 3),
                                     Point("x", 2, 20, 100)])
        self.assertEqual(s.measured, [(2, 20, 3)])

    def test_series_by_load(self):
        pts = [Point("stock", 2, 1, 1, "nginx"), Point("stock", 2, 1, 1, "fsbench")]
        self.assertEqual([s.name for s in projection.series_of(pts)],
                         ["nginx/stock", "fsbench/stock"])

    def test_remote_fraction(self):
        rf = projection.remote_fraction
        self.assertEqual(rf(1, 12), 0.0)
        self.assertEqual(rf(12, 12), 0.0)
        self.assertEqual(rf(24, 0), 0.0)
        # 24 cores, 12 + 12: 2 * 12 * 12 of 24 * 23 ordered pairs cross
        self.assertAlmostEqual(rf(24, 12), 288 / 552)
        # 13 cores: 12 + 1
        self.assertAlmostEqual(rf(13, 12), 24 / 156)
        # three sockets of 4, 10 cores: 4 + 4 + 2
        self.assertAlmostEqual(rf(10, 4), 1 - (12 + 12 + 2) / 90)

    def test_projection_by_hand(self):
        params = Params(ghz=2.0, ipc=0.5, transfer_ns=30, remote_transfer_ns=90,
                        cores_per_socket=2, max_cores=4)
        (s,) = projection.series_of([Point("x", 1, 1000, 10), Point("x", 2, 2000, 20)])
        rows = projection.project(s, params)
        self.assertEqual([r["cores"] for r in rows], [1, 2, 3, 4])
        # 1 core: 1000 instructions at 1 ns, 10 transfers at 30 ns
        self.assertAlmostEqual(rows[0]["ns_per_conn"], 1000 + 300)
        self.assertAlmostEqual(rows[0]["conn_per_sec"], 1e9 / 1300)
        # 4 cores, 2 sockets of 2: 8 of 12 ordered pairs cross; T on the
        # line through (1,10) (2,20): 40; I stays at 2000
        t_x = 30 * (4 / 12) + 90 * (8 / 12)
        self.assertAlmostEqual(rows[3]["transfer_ns"], t_x)
        self.assertAlmostEqual(rows[3]["transfers_per_conn"], 40)
        self.assertAlmostEqual(rows[3]["ns_per_conn"], 2000 + 40 * t_x)
        self.assertAlmostEqual(rows[3]["conn_per_sec"], 4e9 / (2000 + 40 * t_x))
        self.assertTrue(rows[3]["extrapolated"])
        self.assertFalse(rows[1]["extrapolated"])

    def test_defaults(self):
        p = Params()
        self.assertAlmostEqual(p.instr_ns(), 1 / 2.7)
        self.assertAlmostEqual(p.transfer_ns, 75 / 2.7)
        self.assertAlmostEqual(p.remote_transfer_ns, 200 / 2.7)
        self.assertEqual((p.cores_per_socket, p.max_cores), (12, 24))
        self.assertEqual(Params(ns_per_instruction=0.5).instr_ns(), 0.5)

    def test_bad_params(self):
        for bad in (Params(ipc=0), Params(transfer_ns=-1), Params(max_cores=0),
                    Params(cores_per_socket=-1), Params(ns_per_instruction=math.nan)):
            with self.subTest(bad=bad), self.assertRaises(ProjectionError):
                projection.projection(POINTS, bad)

    def test_no_points(self):
        with self.assertRaisesRegex(ProjectionError, "no measured points"):
            projection.projection([], Params())

    def test_json_object(self):
        proj = projection.projection(POINTS, Params())
        self.assertEqual(proj["schema"], "fastsocket-projection/1")
        self.assertEqual(proj["label"], "model projection, not a measurement")
        self.assertEqual([s["name"] for s in proj["series"]], ["stock", "fs"])
        self.assertEqual(len(proj["series"][0]["projection"]), 24)
        self.assertIn({"series": "Fastsocket (paper)", "cores": 24, "conn_per_sec": 475_000,
                       "note": "about 475K, 83 % of linear scaling, about 20K per core"},
                      proj["paper"])
        json.dumps(proj, allow_nan=False)
        # the flat series scales nearly linearly, the growing one does not
        fs, stock = proj["series"][1]["projection"], proj["series"][0]["projection"]
        self.assertGreater(fs[23]["conn_per_sec"], 18 * fs[0]["conn_per_sec"])
        self.assertLess(stock[23]["conn_per_sec"], 5 * stock[0]["conn_per_sec"])


class Output(unittest.TestCase):
    def test_text(self):
        text = projection.render_text(projection.projection(POINTS, Params()))
        self.assertIn("a model projection, not a measurement", text)
        self.assertIn("instruction: 0.370 ns (2.7 GHz, 1 instructions per cycle)", text)
        self.assertIn("transfer within a socket: 27.8 ns, between sockets: 74.1 ns", text)
        lines = text.splitlines()
        row4 = next(line for line in lines if line.split()[:1] == ["4"])
        self.assertNotIn("*", row4)
        row5 = next(line for line in lines if line.split()[:1] == ["5"])
        self.assertIn("*", row5)
        self.assertIn("Fastsocket (paper) 475.0K at 24 cores", text)

    def test_rst(self):
        text = projection.render_rst(POINTS, Params(), image="benchmarks/projection.png")
        self.assertTrue(text.startswith(
            "Projection to real cores (model projection, not a measurement)\n"))
        self.assertIn(".. list-table:: Projected connections per second", text)
        self.assertIn(".. image:: benchmarks/projection.png", text)
        self.assertIn("about 475K, 83 % of linear scaling", text)
        for n in (1, 2, 4, 8, 12, 16, 20, 24):
            self.assertIn(f"   * - {n}\n", text)
        self.assertNotIn("   * - 3\n", text)

    @unittest.skipIf(docutils is None, "docutils is not installed")
    def test_rst_renders(self):
        pts = POINTS + [Point("odd_name*", 2, 1, 1)]
        text = "=====\nTitle\n=====\n\n" + projection.render_rst(pts, char="=")
        html = docutils.core.publish_string(
            text, writer_name="html",
            settings_overrides={"report_level": 2, "halt_level": 2}).decode()
        self.assertIn("model projection, not a measurement", html)

    def test_plot_script(self):
        with tempfile.TemporaryDirectory() as tmp:
            gp = projection.plot_script(projection.projection(POINTS, Params()), tmp,
                                        Path(tmp, "o'ut.png"))
            text = gp.read_text()
            self.assertIn("MODEL PROJECTION, NOT A MEASUREMENT", text)
            self.assertIn("set output 'o''ut.png'".replace("o''", str(Path(tmp)) + "/o''"),
                          text)
            self.assertIn("'Fastsocket (paper, nginx, approximate)'", text)
            self.assertEqual(Path(tmp, "paper-0.dat").read_text(), "24 475\n")
            self.assertEqual(Path(tmp, "meas-0.dat").read_text().split("\n")[0].split()[0], "1")

    def test_gnuplot_missing(self):
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(projection.shutil, "which", return_value=None):
            with self.assertRaisesRegex(ProjectionError, "gnuplot is not installed"):
                projection.plot(POINTS, Params(), Path(tmp, "p.png"))


class Main(unittest.TestCase):
    def run_main(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = projection.main(argv)
        return rc, out.getvalue(), err.getvalue()

    def test_results_and_points(self):
        with tempfile.TemporaryDirectory() as tmp:
            res = Path(tmp, "bench.jsonl")
            res.write_text("\n".join([
                coherence(cpus=1, connections=10, instructions=1e6, transfers=500),
                coherence(cpus=2, connections=10, instructions=1.1e6, transfers=3000),
                coherence(config="fs", load="fsbench", cpus=2)]) + "\n")
            rc, out, err = self.run_main([str(res), "--load", "nginx", "--point",
                                          "fs:2:100000:50", "--json", f"{tmp}/p.json",
                                          "--ghz", "3", "--transfer-ns", "40"])
            self.assertEqual((rc, err), (0, ""))
            proj = json.loads(Path(tmp, "p.json").read_text())
            self.assertEqual([s["name"] for s in proj["series"]], ["nginx/stock", "fs"])
            self.assertEqual(proj["series"][0]["measured"][1],
                             {"cpus": 2, "instructions_per_conn": 110000.0,
                              "transfers_per_conn": 300.0})
            self.assertAlmostEqual(proj["params"]["transfer_ns"], 40)
            self.assertAlmostEqual(proj["params"]["remote_transfer_ns"], 200 / 3)
            self.assertAlmostEqual(proj["params"]["ns_per_instruction"], 1 / 3)
            self.assertIn("model projection, not a measurement", out)

    def test_config_filter(self):
        argv = ["--point", "a:1:1:1", "--point", "b:1:1:1", "--config", "b"]
        rc, out, _ = self.run_main(argv)
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines()[5].split(), ["cores", "b"])

    def test_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp, "bad.jsonl")
            bad.write_text(coherence() + "\n" + coherence(connections=-3) + "\n")
            for argv, msg in (([str(bad)], "bad.jsonl:2: \"connections\" must be"),
                              ([f"{tmp}/none.jsonl"], "cannot read"),
                              ([], "no measured points"),
                              (["--point", "x"], "want CONFIG:CPUS"),
                              (["--point", "a:1:1:1", "--ipc", "0"], "ipc must be"),
                              (["--point", "a:1:1:1", "--ghz", "0"], "--ghz must be > 0")):
                with self.subTest(argv=argv):
                    rc, out, err = self.run_main(argv)
                    self.assertEqual(rc, 1)
                    self.assertIn(msg, err)
                    self.assertTrue(err.startswith("projection.py: error: "))


@unittest.skipIf(shutil.which("gnuplot") is None, "gnuplot is not installed")
class Plot(unittest.TestCase):
    def test_png_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = Path(tmp, "a", "p.png"), Path(tmp, "b.png")
            projection.plot(POINTS, Params(), a)
            projection.plot(POINTS, Params(), b)
            data = a.read_bytes()
            self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"))
            self.assertGreater(len(data), 1000)
            self.assertEqual(data, b.read_bytes())

    def test_main_plot(self):
        with tempfile.TemporaryDirectory() as tmp:
            with contextlib.redirect_stdout(io.StringIO()):
                rc = projection.main(["--point", "a:1:1000:1", "--plot", f"{tmp}/x.png",
                                      "--cores-per-socket", "0", "--max-cores", "8"])
            self.assertEqual(rc, 0)
            self.assertTrue(Path(tmp, "x.png").stat().st_size > 1000)


if __name__ == "__main__":
    unittest.main()
