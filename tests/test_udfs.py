"""The Excel functions called as plain Python (as on Linux and in xlwings Lite): values, shapes, errors, docs.

What Windows Excel sees through xlwings' own code is in tests/test_udfs_xlwings.py.
"""

import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xlcalc.udfs as udfs
from xlcalc.excel import _convert as _excel, docs as udf_docs
from xlcalc.core import economics, fitting, laws, lifetime
from xlcalc.data import hardware

from reference import TABLE_1, TABLE_2, TABLE_2_HARDWARE, TABLE_2_INPUT_TOKENS, TABLE_2_OUTPUT_TOKENS

FOUR_DIGITS = 5e-4 * 1.0001  # half a unit in the 4th significant digit, as REFERENCE.md prints
DOCS = pathlib.Path(__file__).parent.parent / "docs" / "functions.md"
ALL_UDFS = udf_docs.udf_functions()


def col(*values):
    return [[v] for v in values]


def is_error(value, code=None):
    return isinstance(value, str) and value.startswith(code or "#")


class TestChinchillaLoss:
    def test_the_paper_model_calculator(self):
        assert udfs.CHINCHILLA_LOSS(70e9, 1e12) == pytest.approx(1.947273, abs=5e-7)

    def test_table_1_losses(self):
        losses = udfs.CHINCHILLA_LOSS(col(*(r[1] for r in TABLE_1)), col(*(r[3] for r in TABLE_1)))
        for (_, _, expected, *_), (got,) in zip(TABLE_1, losses):
            assert got == pytest.approx(expected, abs=2e-4)  # D printed to 4 digits

    def test_custom_fit_range_equals_the_named_fit(self):
        constants = laws.FITS["epoch2024"].constants
        assert udfs.CHINCHILLA_LOSS(70e9, 1e12, [list(constants)]) == udfs.CHINCHILLA_LOSS(70e9, 1e12, "EPOCH2024")

    def test_bad_custom_fit(self):
        assert udfs.CHINCHILLA_LOSS(70e9, 1e12, [[1.69, -406.4, 410.7, 0.34, 0.28]]) == (
            "#NUM! fit A = -406.4 is not allowed: must be a finite number > 0")
        assert udfs.CHINCHILLA_LOSS(70e9, 1e12, [[1.69, "x", 410.7, 0.34, 0.28]]).startswith(
            "#VALUE! fit = 'x' is not allowed: must be a number")


class TestChinchillaOpt:
    def test_handbook_budget(self):
        [[params, tokens, loss]] = udfs.CHINCHILLA_OPT(5.88e23)
        assert params == pytest.approx(4.211e10, rel=FOUR_DIGITS)
        assert tokens == pytest.approx(2.327e12, rel=FOUR_DIGITS)
        assert loss == pytest.approx(laws.loss(params, tokens))

    def test_a_bad_budget_fills_its_row(self):
        out = udfs.CHINCHILLA_OPT(col(1e24, 0, "x"))
        assert all(isinstance(v, float) for v in out[0])
        assert out[1] == ["#NUM! compute_flops = 0 is not allowed: must be a number > 0"] * 3
        assert all(is_error(v, "#VALUE!") for v in out[2])

    def test_block_of_budgets_is_refused(self):
        assert udfs.CHINCHILLA_OPT([[1e22, 1e23], [1e24, 1e25]]).startswith(
            "#VALUE! this function gives 3 values per scenario")


class TestChinchillaTokens:
    def test_table_1(self):
        out = udfs.CHINCHILLA_TOKENS(col(*(r[1] for r in TABLE_1)))
        for row, (tokens,) in zip(TABLE_1, out):
            assert tokens == pytest.approx(row[3], rel=FOUR_DIGITS)

    def test_2d_range_keeps_its_shape(self):
        out = udfs.CHINCHILLA_TOKENS([[1e9, 7e9], [13e9, 30e9], [70e9, None]])
        assert np.shape(out) == (3, 2)
        assert out[1][1] == pytest.approx(1.556e12, rel=FOUR_DIGITS)
        assert out[2][1] == "#VALUE! params is empty: a number is required"


class TestTokensForLoss:
    def test_handbook_7b_matching_70b(self):
        target = udfs.CHINCHILLA_LOSS(70e9, 1.4e12)
        assert udfs.TOKENS_FOR_LOSS(target, 7e9) == pytest.approx(1.23e14, rel=5e-3)  # printed to 3 digits

    def test_too_small_model(self):
        assert udfs.TOKENS_FOR_LOSS(1.9, 1e9).startswith("#NUM! params = 1e+09 is not allowed: is too small")


class TestParamsForLoss:
    def test_round_trip(self):
        target = udfs.CHINCHILLA_LOSS(13e9, 5.765e11)
        assert udfs.PARAMS_FOR_LOSS(target, 5.765e11) == pytest.approx(13e9, rel=1e-9)

    def test_loss_below_the_floor(self):
        assert udfs.PARAMS_FOR_LOSS(1.5, 1e12) == (
            "#NUM! loss = 1.5 is not allowed: must be greater than the irreducible loss E = 1.69 of fit 'chinchilla'")


class TestInferenceOpt:
    def test_table_1(self):
        out = udfs.INFERENCE_OPT(col(*(r[2] for r in TABLE_1)), col(*(r[0] for r in TABLE_1)))
        for (_, _, _, _, _, n, d, flops, reduction), (params, tokens, lifetime_flops, saving) in zip(TABLE_1, out):
            assert params == pytest.approx(n, rel=FOUR_DIGITS)
            assert tokens == pytest.approx(d, rel=FOUR_DIGITS)
            assert lifetime_flops == pytest.approx(flops, rel=FOUR_DIGITS)
            assert saving == pytest.approx(reduction, rel=FOUR_DIGITS)

    def test_the_paper_readme(self):
        [[params, tokens, _, _]] = udfs.INFERENCE_OPT(1.947, 2e12)
        assert (params, tokens) == (pytest.approx(2.418e10, rel=FOUR_DIGITS), pytest.approx(2.657e12, rel=FOUR_DIGITS))


class TestCostOpt:
    def hardware(self):
        h = TABLE_2_HARDWARE
        return (h["train_usd_per_hour"], h["train_peak_tflops"], h["infer_usd_per_hour"], h["infer_peak_tflops"],
                h["mfu_train"], h["mfu_prefill"], h["mfu_decode"])

    def test_table_2_per_request(self):
        losses = [udfs.CHINCHILLA_LOSS(r[1], udfs.CHINCHILLA_TOKENS(r[1])) for r in TABLE_2]
        out = udfs.COST_OPT(col(*losses), col(*(r[0] for r in TABLE_2)), TABLE_2_INPUT_TOKENS,
                            TABLE_2_OUTPUT_TOKENS, *self.hardware())
        for (_, _, _, n, d, usd, saving), got in zip(TABLE_2, out):
            assert got == [pytest.approx(n, rel=FOUR_DIGITS), pytest.approx(d, rel=FOUR_DIGITS),
                           pytest.approx(usd, rel=FOUR_DIGITS), pytest.approx(saving, rel=FOUR_DIGITS)]

    def test_the_paper_readme_with_defaults_left_empty(self):
        [[params, tokens, _, saving]] = udfs.COST_OPT(1.947, 1e10, 1000, 250, 1.40, 312, 0.60, 624, None, 0.4, 0.2)
        assert params == pytest.approx(2.053e10, rel=FOUR_DIGITS)
        assert tokens == pytest.approx(3.302e12, rel=FOUR_DIGITS)
        assert 1 - saving == pytest.approx(0.8876, rel=FOUR_DIGITS)

    def test_same_as_lifetime_totals(self):
        direct = lifetime.cost_optimal(2.0, 3e9 * 70, 3e9 * 215, **TABLE_2_HARDWARE)
        [[params, tokens, usd, saving]] = udfs.COST_OPT(2.0, 3e9, 70, 215, *self.hardware())
        assert (params, tokens, usd, saving) == (direct.params, direct.tokens, direct.usd, direct.saving)

    def test_negative_requests_are_named(self):
        out = udfs.COST_OPT(2.0, col(-1, 1e9), col(70, -5), 215, *self.hardware())
        assert out[0][0] == "#NUM! requests = -1 is not allowed: must be a number >= 0"
        assert out[1][0] == "#NUM! input_tokens_per_request = -5 is not allowed: must be a number >= 0"

    def test_mfu_out_of_range(self):
        out = udfs.COST_OPT(2.0, 1e9, 70, 215, 1.5, 312, 1.1, 624, 1.5)
        assert out[0][0] == "#NUM! mfu_train = 1.5 is not allowed: must be in (0, 1]"


class TestBudgetOpt:
    def test_no_inference_is_chinchilla(self):
        [[params, tokens, loss]] = udfs.BUDGET_OPT(1e24, 0)
        assert [params, tokens, loss] == pytest.approx(udfs.CHINCHILLA_OPT(1e24)[0], rel=1e-9)

    def test_inference_makes_the_model_smaller(self):
        [[with_inference, *_]] = udfs.BUDGET_OPT(1e24, 1e13)
        assert with_inference < udfs.CHINCHILLA_OPT(1e24)[0][0]


class TestBreakevenTokens:
    def test_handbook(self):
        # 8e23 extra training FLOPs: 7B trained to 6ND = 8e23 + 70B x 1.4T; break-even 6.349e12 tokens.
        tokens_7b = (8e23 + 6 * 70e9 * 1.4e12) / (6 * 7e9)
        assert udfs.BREAKEVEN_TOKENS(70e9, 1.4e12, 7e9, tokens_7b) == pytest.approx(6.349e12, rel=FOUR_DIGITS)

    def test_cost_ratio_and_equal_sizes(self):
        assert udfs.BREAKEVEN_TOKENS(7e9, 2e13, 70e9, 1.4e12, 2) == pytest.approx(1e12)
        assert udfs.BREAKEVEN_TOKENS(7e9, 2e13, 7e9, 1.4e12).startswith("#NUM! params_b = 7e+09 is not allowed")


class TestTokensPerSec:
    def test_handbook_roofline(self):
        assert udfs.TOKENS_PER_SEC(col(7e9, 70e9), 312, 2.0) == [[pytest.approx(142.857, rel=1e-5)],
                                                                  [pytest.approx(14.2857, rel=1e-5)]]

    def test_batch_range_with_an_empty_cell(self):
        out = udfs.TOKENS_PER_SEC(7e9, 312, 2.0, None, col(1, None, 1.5))
        assert out[0] == out[1]
        assert out[2][0] == "#NUM! batch = 1.5 is not allowed: must be a whole number >= 1"


class TestCostPerMtok:
    def test_handbook(self):
        out = udfs.COST_PER_MTOK(col(7e9, 70e9), 1.0, 312, 2.0)
        assert out == [[pytest.approx(1.944, rel=FOUR_DIGITS)], [pytest.approx(19.44, rel=FOUR_DIGITS)]]


class TestMonthlyCost:
    def test_handbook_gpu_hours(self):
        out = udfs.MONTHLY_COST(col(7e9, 70e9), 10e6, 0, 500, 2.0, 312, 2.0)
        assert out[0][1] == pytest.approx(9722, rel=FOUR_DIGITS)
        assert out[1][1] == pytest.approx(97222, rel=FOUR_DIGITS)
        assert out[0][3] == pytest.approx(9722.2 * 2.0, rel=FOUR_DIGITS)  # busy GPU-hours x $/GPU-hour

    def test_row_matches_the_core(self):
        m = economics.monthly_cost(7e9, 10e6, 100, 500, 2.0, 312, 2.0, batch=8, peak_factor=2)
        assert udfs.MONTHLY_COST(7e9, 10e6, 100, 500, 2.0, 312, 2.0, None, 8, None, None, None, 2) == [
            [m.usd, m.gpu_hours, m.gpus, m.busy_usd]]


class TestGpusNeeded:
    def test_peak_and_utilisation(self):
        assert udfs.GPUS_NEEDED(7e9, 10e6, 0, 500, 2.0, 312, 2.0, None, None, None, None, None, 3, 0.8) == 50.0


class TestTrainCost:
    def test_row_matches_the_core(self):
        cost = economics.train_cost(70e9, 1.4e12, 2.0, 312)
        assert udfs.TRAIN_COST(70e9, 1.4e12, 2.0, 312) == [[cost.usd, cost.gpu_hours, cost.days, cost.flops]]
        assert cost.flops == pytest.approx(5.88e23)


class TestOvertrainRatio:
    @pytest.mark.parametrize("params, tokens, ratio", [(7e9, 1.4e12, 10), (13e9, 1.4e12, 5.38),
                                                       (7e9, 8e12, 57.1), (2.7e9, 1.4e12, 25.9)])
    def test_handbook(self, params, tokens, ratio):
        assert udfs.OVERTRAIN_RATIO(params, tokens) == pytest.approx(ratio, rel=5e-3)


class TestInferenceFactor:
    def test_handbook(self):
        out = udfs.INFERENCE_FACTOR([[0.1e12, 1e15, 1e17]], 1e12)
        assert out == [[pytest.approx(1 / 30), pytest.approx(1000 / 3), pytest.approx(1e5 / 3)]]


class TestTrainFlops:
    def test_handbook(self):
        assert udfs.TRAIN_FLOPS(col(70e9, 7e9, 70e9), col(1.4e12, 4e12, 2e12)) == [
            [pytest.approx(5.88e23)], [pytest.approx(1.68e23)], [pytest.approx(8.4e23)]]


class TestInferFlops:
    def test_two_n_per_token(self):
        assert udfs.INFER_FLOPS(7e9, 1e12) == pytest.approx(1.4e22)


class TestGpuSpec:
    def test_fields_match_the_catalog(self):
        a100 = hardware.gpu("A100-80GB SXM4")
        assert udfs.GPU_SPEC("a100 80gb sxm4", [["peak_tflops_bf16", "memory_gb", "mem_bw_tbs", "name"]]) == [
            [a100.peak_tflops_bf16, a100.memory_gb, a100.mem_bw_tbs, a100.name]]

    def test_column_of_names(self):
        names = hardware.gpu_names()[:3]
        out = udfs.GPU_SPEC(col(*names), "memory_gb")
        assert out == [[hardware.gpu(n).memory_gb] for n in names]

    def test_unknown_names_are_na(self):
        assert udfs.GPU_SPEC("Z9000", "memory_gb").startswith("#N/A ")
        assert udfs.GPU_SPEC("H100 SXM5", "colour") == (
            "#N/A field = 'colour' is not known: use one of " + ", ".join(hardware.ACCELERATOR_FIELDS))

    def test_missing_value_is_na(self):
        missing = [n for n in hardware.gpu_names() if math.isnan(hardware.gpu(n).peak_tflops_fp8)]
        assert missing, "the catalog has an accelerator without an FP8 peak"
        expected = f"#N/A {missing[0]} has no peak_tflops_fp8 in the catalog"
        assert udfs.GPU_SPEC(missing[0], "peak_tflops_fp8") == expected

    def test_empty_name(self):
        assert udfs.GPU_SPEC(None, "memory_gb") == "#VALUE! gpu_name is empty: a name is required"


class TestGpuList:
    def test_header_and_one_row_per_accelerator(self):
        out = udfs.GPU_LIST()
        assert out[0][0] == "name" and set(out[0]) == set(hardware.ACCELERATOR_FIELDS)
        assert [r[0] for r in out[1:]] == hardware.gpu_names()
        assert all(isinstance(v, (float, str)) for r in out for v in r)


class TestFitConstants:
    def test_every_named_fit(self):
        out = udfs.FIT_CONSTANTS(col(*laws.FITS))
        assert out == [list(fit.constants) for fit in laws.FITS.values()]

    def test_unknown(self):
        assert udfs.FIT_CONSTANTS("gpt")[0][0].startswith("#N/A fit = 'gpt' is not a known fit")


class TestScalingFit:
    def test_recovers_the_chinchilla_constants_and_skips_empty_rows(self):
        n, d = np.meshgrid([1e8, 3e8, 1e9, 3e9], [2e9, 1e10, 5e10, 2e11])
        losses = laws.loss(n, d)
        out = udfs.SCALING_FIT(col(*n.ravel(), None), col(*d.ravel(), None), col(*losses.ravel(), None))
        assert [round(x, 3) for x in out[0]] == [1.69, 406.4, 410.7, 0.336, 0.283]

    def test_same_as_the_core(self):
        n, d = np.meshgrid([1e8, 1e9, 1e10], [1e10, 1e11])
        losses = laws.loss(n, d, fit="epoch2024") * 1.01
        fitted = fitting.fit_scaling_law(n.ravel(), d.ravel(), losses.ravel())
        assert udfs.SCALING_FIT(col(*n.ravel()), col(*d.ravel()), col(*losses.ravel())) == [list(fitted.constants)]

    def test_data_problems(self):
        assert udfs.SCALING_FIT(col(1e9, 2e9), col(1e10), col(2.0, 2.1)).startswith(
            "#VALUE! the data ranges must have the same number of cells")
        assert udfs.SCALING_FIT(col(1e9, None), col(1e10, 1e11), col(2.0, 2.1)) == (
            "#VALUE! cell 2 of the data: params_range is empty: a number is required")
        assert udfs.SCALING_FIT(col(1e9), col(1e10), col(2.0)).startswith("#NUM! 1 runs is too few")

    def test_runs_that_do_not_determine_a_law(self):
        # losses that rise with size: the best fit has negative exponents, which no function could use
        n, d = np.meshgrid([1e8, 1e9, 1e10], [2e9, 2e10, 2e11])
        assert udfs.SCALING_FIT(col(*n.ravel()), col(*d.ravel()), col(*(6 - laws.loss(n, d)).ravel())).startswith(
            "#NUM! the runs do not determine a scaling law")


# ----------------------------------------------------------------------------------------------


class TestExcelValues:
    def test_one_dimensional_list_is_a_row(self):
        assert np.shape(udfs.TRAIN_FLOPS([1e9, 2e9], 1e12)) == (1, 2)

    def test_numpy_arrays(self):
        out = udfs.TRAIN_FLOPS(np.array([[1e9], [2e9]]), np.float64(1e12))
        assert out == [[6e21], [1.2e22]]

    def test_numeric_text_is_read_as_a_number(self):
        assert udfs.TRAIN_FLOPS(" 7e9 ", "1e12") == pytest.approx(4.2e22)

    def test_error_text_from_excel(self):
        assert udfs.TRAIN_FLOPS("#N/A", 1e12) == "#N/A params is an error cell (#N/A)"
        assert udfs.CHINCHILLA_LOSS(1e9, 1e12, "#REF!") == "#REF! fit is an error cell (#REF!)"

    def test_ragged_rows(self):
        expected = "#VALUE! the rows of a range must all have the same length"
        assert udfs.TRAIN_FLOPS([[1.0, 2.0], [3.0]], 1e12) == expected

    def test_unexpected_exceptions_become_internal_errors(self):
        guarded = _excel.cell_errors(lambda: 1 / 0)
        assert guarded() == "#VALUE! internal error: ZeroDivisionError: division by zero"

    def test_infinite_results_are_num_errors(self):
        assert udfs.TRAIN_FLOPS(1e300, 1e300) == (
            "#NUM! params = 1e+300, tokens = 1e+300 give a result outside the floating-point range (too extreme)")


EXCEL_CELLS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**30),
                        st.booleans(), st.text(max_size=6), st.sampled_from(["#DIV/0!", "chinchilla", "H100 SXM5"]))
EXCEL_VALUES = st.one_of(EXCEL_CELLS, st.lists(st.lists(EXCEL_CELLS, min_size=2, max_size=2), min_size=1,
                                               max_size=3))


class TestOneRangeEqualsManyCells:
    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.lists(st.floats(-1e12, 1e13), min_size=3, max_size=3), min_size=1, max_size=4),
           st.floats(1e9, 1e14))
    def test_range_call_is_the_cell_calls(self, params, tokens):
        whole = udfs.CHINCHILLA_LOSS(params, tokens)
        cells = [[udfs.CHINCHILLA_LOSS(p, tokens) for p in r] for r in params]
        assert (whole if isinstance(whole, list) else [[whole]]) == cells

    @settings(max_examples=15, deadline=None)
    @given(st.lists(st.floats(1.7, 3.0), min_size=1, max_size=5), st.floats(0, 1e14))
    def test_rows_per_scenario_are_the_single_scenarios(self, losses, inference_tokens):
        whole = udfs.INFERENCE_OPT(col(*losses), inference_tokens)
        # Newton steps run until every element has converged: equal to ~1e-15 (the saving near 0 absolutely).
        single = [udfs.INFERENCE_OPT(loss, inference_tokens)[0] for loss in losses]
        assert np.allclose(np.array(whole, dtype=float), np.array(single, dtype=float), rtol=1e-12, atol=1e-12)


class TestModule:
    def test_star_import_brings_the_functions_only(self):
        assert sorted(udfs.__all__) == sorted(u.__name__ for u in ALL_UDFS)


class TestNeverATraceback:
    @settings(max_examples=25, deadline=None)
    @given(st.sampled_from([u for u in ALL_UDFS if u.__name__ not in ("SCALING_FIT", "GPU_LIST")]), st.data())
    def test_any_input_gives_numbers_or_error_text(self, udf, data):
        count = len(udf.xlcalc_arguments)
        out = udf(*(data.draw(EXCEL_VALUES) for _ in range(count)))
        cells = [v for r in out for v in r] if isinstance(out, list) else [out]
        for value in cells:
            assert (isinstance(value, float) and math.isfinite(value)) or is_error(value), value


class TestDescriptions:
    def test_first_line_is_the_whole_docstring_and_fits_excel(self):
        for udf in ALL_UDFS:
            assert "\n" not in udf.__doc__ and len(udf.__doc__) <= 255, udf.__name__

    def test_every_argument_described_within_255_characters(self):
        for udf in ALL_UDFS:
            names = list(udf_docs.inspect.signature(udf).parameters)
            assert list(udf.xlcalc_arguments) == names, udf.__name__
            assert all(10 <= len(doc) <= 255 for doc in udf.xlcalc_arguments.values()), udf.__name__

    def test_optional_arguments_name_their_default(self):
        for udf in ALL_UDFS:
            for name, parameter in udf_docs.inspect.signature(udf).parameters.items():
                if parameter.default is None and name != "fit":
                    assert "; optional, empty = " in udf.xlcalc_arguments[name], (udf.__name__, name)


class TestFunctionsReference:
    def test_docs_are_current(self):
        assert DOCS.read_text() == udf_docs.render(), (
            "docs/functions.md is stale: regenerate it with python -m xlcalc.excel.docs docs/functions.md")

    def test_printed_to_stdout_by_the_module(self, capsys):
        assert udf_docs.main([]) == 0
        assert capsys.readouterr().out == DOCS.read_text()

    def test_lists_every_function(self):
        text = udf_docs.render()
        for udf in ALL_UDFS:
            assert f"\n## {udf.__name__}\n" in text
        assert "`=COST_OPT(loss, requests, input_tokens_per_request" in text
        assert "[mfu_decode], [fit])`" in text
