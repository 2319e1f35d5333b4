"""The serving-at-a-latency-target Excel functions (xlcalc.excel.serving, brought in by xlcalc.udfs) as plain Python."""

import math

import numpy as np
import pytest

from xlcalc import udfs
from xlcalc.data.hardware import gpu
from xlcalc.core.latency import efficiencies_for, time_per_token_s, ttft_s
from xlcalc.core.slo import max_batch
from xlcalc.data.model_shapes import model_shape


def col(*values):
    return [[v] for v in values]


def is_error(value, code="#"):
    return isinstance(value, str) and value.startswith(code)


class TestModelShape:
    def test_rows_per_model(self):
        out = udfs.MODEL_SHAPE(col("Llama-3.1-70B", 7e9))
        assert out[0] == [70_553_706_496.0, 80.0, 8192.0, 64.0, 8.0, 128.0, 28672.0, 128256.0, 0.0, 327_680.0]
        assert out[1][0] == pytest.approx(7e9)

    def test_unknown_and_empty(self):
        out = udfs.MODEL_SHAPE(col("Llama-9", None))
        assert is_error(out[0][0], "#N/A model 'Llama-9' is not in the shape catalog")
        assert out[1][0] == "#VALUE! model is empty: give a name or a parameter count"


class TestKvBytes:
    def test_formula_and_broadcast(self):
        assert udfs.KV_BYTES_PER_TOKEN(col("Llama-2-7B", "Llama-3.1-70B"), [[2, 1]]) == [
            [524_288.0, 262_144.0], [327_680.0, 163_840.0]]

    def test_bad_bytes(self):
        assert is_error(udfs.KV_BYTES_PER_TOKEN("Llama-2-7B", -1), "#NUM! bytes_per_value")


class TestTimes:
    def test_ttft_uses_the_catalog_and_the_family_efficiencies(self):
        a100 = gpu("A100-80GB")
        e = efficiencies_for(a100.name)
        expected = 1e3 * ttft_s("Llama-2-7B", 312, a100.mem_bw_tbs, 2048, mfu_prefill=e.mfu_prefill,
                                mfu_decode=e.mfu_decode, bw_eff=e.bw_eff)
        assert udfs.TTFT("Llama-2-7B", "A100-80GB", 2048) == pytest.approx(expected, rel=1e-12)
        assert udfs.TTFT("Llama-2-7B", "A100-80GB", 2048) == pytest.approx(135.7, abs=0.1)   # measured 133

    def test_time_per_token_over_gpus(self):
        out = udfs.TIME_PER_TOKEN("Llama-2-70B", "A100-80GB", 105, None, [[2, 4, 8]])
        a100 = gpu("A100-80GB")
        e = efficiencies_for(a100.name)
        for value, g in zip(out[0], (2, 4, 8)):
            assert value == pytest.approx(1e3 * time_per_token_s(
                "Llama-2-70B", 312, 2.039, 105, gpus=g, mfu_decode=e.mfu_decode, bw_eff=e.bw_eff, link_gbs=300,
                link_latency_us=4), rel=1e-12)

    def test_fp8_on_a_chip_without_it(self):
        assert udfs.TTFT("Llama-2-7B", "A100-80GB", 128, None, None, "fp8") == (
            "#N/A A100-80GB SXM4 has no fp8 peak in the catalog: use another precision")

    def test_unknown_precision_and_gpu(self):
        assert is_error(udfs.TTFT("Llama-2-7B", "A100-80GB", 128, None, None, "fp4"), "#N/A precision = 'fp4'")
        assert is_error(udfs.TTFT("Llama-2-7B", "Z100", 128), "#N/A accelerator 'Z100'")

    def test_negative_context_is_an_error_in_that_cell_only(self):
        out = udfs.TIME_PER_TOKEN("Llama-2-7B", "H100 SXM", col(100, -5))
        assert isinstance(out[0][0], float)
        assert out[1][0] == "#NUM! context_tokens = -5 is not allowed: must be a number >= 0"


class TestMaxBatch:
    def test_row_matches_the_core(self):
        h100 = gpu("H100 SXM")
        e = efficiencies_for(h100.name)
        r = max_batch("Llama-3.1-70B", 989.5, 3.35, 80, 1000, 200, tpot_target_s=0.03, ttft_target_s=2.0,
                      usd_per_hour=h100.usd_per_hour, mfu_prefill=e.mfu_prefill, mfu_decode=e.mfu_decode,
                      bw_eff=e.bw_eff, link_gbs=450, link_latency_us=4)
        out = udfs.MAX_BATCH("Llama-3.1-70B", "H100 SXM", 1000, 200, 30, 2000)[0]
        assert out == pytest.approx([r.batch, r.gpus, 1e3 * r.time_per_token_s, 1e3 * r.ttft_s, r.tokens_per_sec,
                                     r.usd_per_mtok_input, r.usd_per_mtok_output], rel=1e-12)
        assert out[2] <= 30 and out[3] <= 2000
        cost = udfs.COST_PER_MTOK_SLO("Llama-3.1-70B", "H100 SXM", 1000, 200, 30, 2000)
        assert cost == [[pytest.approx(r.usd_per_mtok_output), pytest.approx(r.usd_per_mtok_input)]]

    def test_issue_example_70b_on_one_l4(self):
        out = udfs.MAX_BATCH("Llama-2-70B", "L4", 1000, 200, 20, None, 1)[0]
        assert len(set(out)) == 1
        assert out[0].startswith("#NUM! the model does not fit on 1 GPU of 24 GB") and "the fastest" in out[0]

    @pytest.mark.parametrize("args, text", [
        ((0,), "#NUM! tpot_ms = 0 is not allowed: must be a time in ms > 0, or empty for no target"),
        ((None, -3), "#NUM! ttft_ms = -3 is not allowed"),
        ((None, None), "#VALUE! give a target: tpot_ms, ttft_ms or both"),
    ])
    def test_bad_targets_name_what_was_typed(self, args, text):
        out = udfs.MAX_BATCH("Llama-3.1-8B", "H100 SXM", 1000, 200, *args)
        assert out[0][0].startswith(text)

    def test_negative_context_and_unknown_model_per_cell(self):
        out = udfs.MAX_BATCH(col("Llama-3.1-8B", "Lama-3.1-8B", "Llama-3.1-8B"), "H100 SXM", col(1000, 1000, -1), 200,
                             50)
        assert isinstance(out[0][0], float) and out[0][0] >= 1
        assert out[1][0].startswith("#N/A model 'Lama-3.1-8B' is not in the shape catalog: did you mean Llama-3.1-8B")
        assert out[2][0] == "#NUM! input_tokens = -1 is not allowed: must be a number >= 0"

    def test_a_model_that_fits_on_no_number_of_gpus(self):
        out = udfs.MAX_BATCH(5e12, "L4", 1000, 200, 1000)
        assert out[0][0].startswith("#NUM! the model does not fit") and "fits on no replica of up to 64 GPUs" in out[0][0]

    def test_ten_thousand_cells_in_one_call(self):
        params = np.geomspace(1e9, 7e10, 10_000).reshape(-1, 1).tolist()
        out = udfs.MAX_BATCH(params, "H100 SXM", 1000, 200, 50, 2000)
        values = np.array(out, dtype=object)
        assert values.shape == (10_000, 7)
        numbers = np.array([[v if isinstance(v, float) else math.nan for v in row] for row in out])
        assert np.isfinite(numbers[:, 0]).all() and (numbers[:, 0] >= 1).all()


class TestThroughXlwings:
    """As Excel calls them: through xlwings' Windows call_udf, ranges as COM ranges, omitted optionals as MISSING."""

    def test_max_batch_column_with_an_omitted_optional(self, windows):
        from test_udfs_xlwings import MISSING, ExcelRange
        args = (ExcelRange([["Llama-3.1-8B"], ["nope"]]), "H100 SXM", 1000.0, 200.0, 50.0, MISSING) + (MISSING,) * 7
        out = windows.xlwings_udfs.call_udf("xlcalc.udfs", "MAX_BATCH", args)
        assert len(out) == 2 and len(out[0]) == 7 and out[0][0] >= 1 and out[0][2] <= 50
        assert all(is_error(v, "#N/A model 'nope'") for v in out[1])

    def test_model_shape_of_a_typed_count(self, windows):
        out = windows.xlwings_udfs.call_udf("xlcalc.udfs", "MODEL_SHAPE", (7e9,))
        assert out[0][0] == pytest.approx(7e9)
