"""COST_OPT_RANGE, SENSITIVITY and SCALING_FIT's bootstrap rows, as plain functions (cells as xlwings passes them)."""

import numpy as np
import pytest

from synthetic_runs import spread_runs
from test_udfs_xlwings import MISSING, cell, excel_call, row
from xlcalc import (
    Range,
    cost_optimal,
    cost_optimal_per_request,
    cost_optimal_range,
    cost_sensitivity,
    fit_scaling_law,
    udfs,
    uncertain_fit,
)
from xlcalc.core.uncertainty import UncertainFit
from xlcalc.core.laws import Fit

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


class TestCostOptRangePerRequest:
    """COST_OPT_RANGE's last argument ``requests``: the token arguments become per request, each a range if wanted."""

    PER_REQUEST = [1.947, 1000, [[100, 250, 400]], 1.4, 312, 0.6, 624, None, 0.4, 0.2, 300, 4, None]

    def test_ranges_of_requests_and_tokens_are_the_core_percentiles(self):
        out = udfs.COST_OPT_RANGE(*self.PER_REQUEST, [[5e9, 1e10, 3e10]])[0]
        core = cost_optimal_range(1.947, requests=Range(5e9, 1e10, 3e10), input_tokens_per_request=1000,
                                  output_tokens_per_request=Range(100, 250, 400), infer_usd_per_hour=0.6, **PRICES,
                                  samples=300, seed=4)
        assert out == [x for name in ORDER for x in core.interval(name)]
        assert out[0] < out[1] < out[2]

    def test_point_requests_give_the_point_answer(self):
        out = udfs.COST_OPT_RANGE(1.947, 1000, 250, 1.4, 312, 0.6, 624, None, 0.4, 0.2, None, None, None, 1e10)[0]
        point = cost_optimal_per_request(1.947, 1e10, 1000, 250, infer_usd_per_hour=0.6, **PRICES)
        assert out[0:3] == [point.params] * 3 and out[6:9] == [point.usd] * 3

    @pytest.mark.parametrize("requests, tokens, text", [
        ([[3e10, 1e10, 3e10]], 1000, "#NUM! requests: range low 3e+10"),
        ("many", 1000, "#VALUE! requests = 'many' is not allowed"),
        ([[1e10, 2e10]], 1000, "#VALUE! requests has 2 cells"),
        (1e10, -1000, "#NUM! input_tokens (per request) = -1000 is not allowed"),
    ])
    def test_bad_input_is_text(self, requests, tokens, text):
        args = [1.947, tokens, 250, 1.4, 312, 0.6, 624, None, 0.4, 0.2, None, None, None, requests]
        assert udfs.COST_OPT_RANGE(*args).startswith(text)


class TestThroughXlwings:
    """The same calls as Excel makes them, through xlwings' own call_udf (tests/test_udfs_xlwings.py's stand-ins)."""

    def test_requests_as_three_cells(self, windows):
        out = excel_call(windows, "COST_OPT_RANGE", 1.947, 1000, row(100, 250, 400), 1.4, 312, 0.6, 624, MISSING,
                         0.4, 0.2, 300, 4, MISSING, row(5e9, 1e10, 3e10))
        assert out == udfs.COST_OPT_RANGE(*TestCostOptRangePerRequest.PER_REQUEST, [[5e9, 1e10, 3e10]])

    def test_the_old_call_form_still_works(self, windows):
        out = excel_call(windows, "COST_OPT_RANGE", 1.947, 1e13, 2.5e12, 1.4, 312, row(0.4, 0.6, 0.9), 624, MISSING,
                         0.4, 0.2, 300, 4, "epoch2024")
        assert out == udfs.COST_OPT_RANGE(*ARGS, 300, 4, "epoch2024")
        omitted = excel_call(windows, "COST_OPT_RANGE", 1.947, 1e13, 2.5e12, 1.4, 312, 0.6, 624, MISSING, 0.4, 0.2,
                             MISSING, MISSING, MISSING, cell(None))
        point = cost_optimal(1.947, 1e13, 2.5e12, infer_usd_per_hour=0.6, **PRICES)
        assert omitted[0][0:3] == [point.params] * 3

    def test_bad_requests_are_one_text_cell(self, windows):
        out = excel_call(windows, "COST_OPT_RANGE", 1.947, 1000, 250, 1.4, 312, 0.6, 624, MISSING, 0.4, 0.2,
                         MISSING, MISSING, MISSING, row(3e10, 1e10, 3e10))
        assert len(out) == 1 and len(out[0]) == 1 and out[0][0].startswith("#NUM! requests: range low 3e+10")


class TestSensitivity:
    def test_table_is_the_core_tornado(self):
        table = udfs.SENSITIVITY(*ARGS[:5], [[0.4], [0.6], [0.9]], *ARGS[6:], 0.1)
        core = cost_sensitivity(1.947, 1e13, 2.5e12, infer_usd_per_hour=0.6, **PRICES,
                                ranges={"infer_usd_per_hour": (0.4, 0.9)}, share=0.1)
        assert table == [[r.name, r.low, r.high, *r.params, *r.usd, *r.saving, r.usd_swing] for r in core.rows]

    def test_bad_share(self):
        assert udfs.SENSITIVITY(*ARGS, 1.5).startswith("#NUM! share = 1.5")
