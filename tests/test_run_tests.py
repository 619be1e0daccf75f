# SPDX-License-Identifier: GPL-2.0
"""Host tests of the VM plan of tests/run_tests.py: whatever the packing,
a tier keeps every kind of check.

    python3 -m unittest tests/test_run_tests.py     (from the top directory)
"""

import collections
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_tests as rt  # noqa: E402

CPUS = [1, 2, 4]


def runs(boots):
    """(scenario, vCPUs, kernel) of every scenario run the boots make."""
    return [(s, b.cpus, b.variant) for b in boots for s in b.scenarios]


class PlanTest(unittest.TestCase):
    def plan(self, tier, cpus=CPUS, scenarios=None, variant=None, jobs=2):
        scenarios = scenarios or rt.VM_SCENARIOS + (rt.LONG_SCENARIOS if tier == "long" else [])
        return rt.plan_vms(cpus, scenarios, tier == "long", variant, jobs)

    def test_every_scenario_on_every_cpu_count(self):
        for tier in ("short", "long"):
            boots = self.plan(tier)
            done = collections.Counter((s, c) for s, c, _ in runs(boots))
            for s in rt.VM_SCENARIOS:
                if s in rt.PLUGIN_SCENARIOS:
                    self.assertEqual(sum(done[s, c] for c in CPUS), 1, (tier, s))
                    continue
                for c in CPUS:
                    once = s in rt.BENCH_SCENARIOS and tier == "short"
                    if once:
                        continue
                    self.assertEqual(done[s, c], 1, (tier, s, c))
            if tier == "short":
                for s in rt.BENCH_SCENARIOS:
                    self.assertEqual(sum(done[s, c] for c in CPUS), 1, s)

    def test_every_scenario_once_on_the_debug_kernel(self):
        for tier in ("short", "long"):
            debug = collections.Counter(s for s, _, v in runs(self.plan(tier)) if v == "debug")
            for s in rt.VM_SCENARIOS:
                # The throughput bench is a release kernel's measurement;
                # bench_lockstat drives its configurations on the debug one.
                if s in rt.PLUGIN_SCENARIOS or s == "bench":
                    continue
                self.assertGreaterEqual(debug[s], 1, (tier, s))

    def test_short_tier_kernels(self):
        boots = self.plan("short")
        for s, c, v in runs(boots):
            if s == "bench_lockstat":
                self.assertEqual((c, v), (2, "debug"))
            elif s == "bench" or s in rt.PLUGIN_SCENARIOS:
                self.assertEqual(v, "release", s)
                self.assertEqual(c, 4 if s == "bench" else 2, s)
            else:
                self.assertEqual(v, "debug" if c == 2 else "release", (s, c))

    def test_long_tier_kernels(self):
        for s, c, v in runs(self.plan("long")):
            if s == "bench_lockstat":
                self.assertEqual(v, "debug", c)
            elif s == "bench" or s in rt.PLUGIN_SCENARIOS:
                self.assertEqual(v, "release", (s, c))
            else:
                self.assertEqual(v, "debug" if c == 2 else "release", (s, c))

    def test_long_tier_estimates_the_long_forms(self):
        short = sum(b.estimate() for b in self.plan("short"))
        long_ = sum(b.estimate() for b in self.plan("long"))
        self.assertGreater(long_, 3 * short)

    def test_variant_forces_every_boot(self):
        for tier in ("short", "long"):
            self.assertEqual({b.variant for b in self.plan(tier, variant="release")}, {"release"})

    def test_test_names_and_results_are_unique(self):
        for tier in ("short", "long"):
            for cpus in ([2], [1, 4], CPUS):
                boots = self.plan(tier, cpus=cpus)
                names = [n for b in boots for n in b.tests()]
                self.assertEqual(len(names), len(set(names)), (tier, cpus))
                outs = [b.out() for b in boots]
                self.assertEqual(len(outs), len(set(outs)), (tier, cpus))

    def test_one_worker_gets_every_scenario_too(self):
        boots = self.plan("short", jobs=1)
        self.assertEqual(sorted(runs(boots)), sorted(runs(self.plan("short"))))


if __name__ == "__main__":
    unittest.main()
