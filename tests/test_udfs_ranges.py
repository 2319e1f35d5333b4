"""COST_OPT_RANGE, SENSITIVITY and SCALING_FIT's bootstrap rows, as plain functions (cells as xlwings passes them)."""

import numpy as np
import pytest

from synthetic_runs import spread_runs
from xlcalc import Range, cost_optimal, cost_optimal_range, cost_sensitivity, fit_scaling_law, udfs, uncertain_fit
from xlcalc.uncertainty import UncertainFit
from xlcalc.laws import Fit

ARGS = [1.947, 1e13, 2.5e12, 1.4, 312, [[0.4, 0.6, 0.9]], 624, None, 0.4, 0.2]
PRICES = dict(train_usd_per_hour=1.4, train_peak_tflops=312, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2)
ORDER = ("params", "tokens", "usd", "saving", "usd_per_mtok", "breakeven_tokens")


def column(values):
    return [[float(x)] for x in values]


class TestCostOptRange:
    def test_row_is_the_core_percentiles(self):
        row = udfs.COST_OPT_RANGE(*ARGS, 300, 4, "epoch2024")[0]
        core = cost_optimal_range(1.947, 1e13, 2.5e12, infer_usd_per_hour=Range(0.4, 0.6, 0.9), **PRICES,
                                  fit=uncertain_fit("epoch2024", samples=300, seed=4), samples=300, seed=4)
        assert row == [x for name in ORDER for x in core.interval(name)]

    def test_point_inputs_and_fit_give_the_point_answer(self):
        row = udfs.COST_OPT_RANGE(*ARGS[:5], 0.6, *ARGS[6:])[0]
        point = cost_optimal(1.947, 1e13, 2.5e12, infer_usd_per_hour=0.6, **PRICES)
        assert row[0:3] == [point.params] * 3 and row[6:9] == [point.usd] * 3

    def test_bootstrap_rows_of_scaling_fit(self):
        n, d, losses = spread_runs(40, seed=2, noise=0.02)
        rows = udfs.SCALING_FIT(column(n), column(d), column(losses), 6)
        result = fit_scaling_law(n, d, losses, bootstrap=6, seed=0)
        assert rows[0] == list(result.constants) and rows[1:] == result.bootstrap_constants.tolist()
        out = udfs.COST_OPT_RANGE(2.3, 1e13, 2.5e12, 1.4, 312, 0.6, 624, None, 0.4, 0.2, 6, 0, rows)[0]
        fit = UncertainFit(Fit(*rows[0]), rows[1:])
        core = cost_optimal_range(2.3, 1e13, 2.5e12, infer_usd_per_hour=0.6, **PRICES, fit=fit, samples=6)
        assert out[0:3] == list(core.interval("params"))

    @pytest.mark.parametrize("args, text", [
        (ARGS[:5] + [[[0.9, 0.6, 0.4]]] + ARGS[6:], "#NUM! infer_usd_per_hour: range low 0.9"),
        (ARGS[:5] + [[[0.9, 0.6]]] + ARGS[6:], "#VALUE! infer_usd_per_hour has 2 cells"),
        (ARGS + [1], "#NUM! samples = 1 is not allowed"),
        (ARGS + [None, -1], "#NUM! seed = -1 is not allowed"),
        (ARGS + [None, None, [[1.8, 482, 2085, 0.35, 0.37]] * 2], "#VALUE! fit has 2 rows"),
    ])
    def test_bad_input_is_text(self, args, text):
        assert udfs.COST_OPT_RANGE(*args).startswith(text)

    def test_bootstrap_of_one_is_refused(self):
        n, d, losses = spread_runs(40, seed=2, noise=0.02)
        assert udfs.SCALING_FIT(column(n), column(d), column(losses), 1).startswith("#NUM! bootstrap = 1")


class TestSensitivity:
    def test_table_is_the_core_tornado(self):
        table = udfs.SENSITIVITY(*ARGS[:5], [[0.4], [0.6], [0.9]], *ARGS[6:], 0.1)
        core = cost_sensitivity(1.947, 1e13, 2.5e12, infer_usd_per_hour=0.6, **PRICES,
                                ranges={"infer_usd_per_hour": (0.4, 0.9)}, share=0.1)
        assert table == [[r.name, r.low, r.high, *r.params, *r.usd, *r.saving, r.usd_swing] for r in core.rows]

    def test_bad_share(self):
        assert udfs.SENSITIVITY(*ARGS, 1.5).startswith("#NUM! share = 1.5")
