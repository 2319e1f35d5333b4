"""The model-shape catalog and the quantities that follow from a shape (xlcalc.data.model_shapes)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcalc import InvalidInputError, UnknownNameError
from xlcalc.data.hardware import gpu
from xlcalc.data.model_shapes import (
    ModelShape,
    flops_per_token,
    interpolated_shape,
    kv_bytes_per_token,
    leave_one_out_errors,
    model_names,
    model_shape,
    shape_arrays,
    shape_catalog,
    weights_bytes,
)

# The list: every one must be in the catalog.
REQUIRED = ["Llama-2-7B", "Llama-2-13B", "Llama-2-70B", "Llama-3.2-1B", "Llama-3.2-3B", "Llama-3.1-8B",
            "Llama-3.1-70B", "Llama-3.1-405B", "Mistral-7B", "Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B",
            "Qwen2.5-7B", "Qwen2.5-14B", "Qwen2.5-32B", "Qwen2.5-72B", "Gemma-2-2B", "Gemma-2-9B", "Gemma-2-27B"]

# Exact counts of the released checkpoints (sum of the tensor sizes in their safetensors files), which the
# shape formula must reproduce to the parameter.
EXACT = {"Llama-2-7B": 6_738_415_616, "Llama-2-13B": 13_015_864_320, "Llama-2-70B": 68_976_648_192,
         "Llama-3.1-8B": 8_030_261_248, "Llama-3.1-70B": 70_553_706_496, "Llama-3.1-405B": 405_853_388_800,
         "Mistral-7B": 7_241_732_096, "Llama-3.2-1B": 1_235_814_400, "Qwen2.5-7B": 7_615_616_512,
         "Gemma-2-2B": 2_614_341_888, "Gemma-2-9B": 9_241_705_984, "Gemma-2-27B": 27_227_128_320}


class TestCatalog:
    def test_required_models_are_there(self):
        assert set(REQUIRED) <= set(model_names())

    @pytest.mark.parametrize("name", REQUIRED)
    def test_params_within_1_percent_of_the_model_card(self, name):
        shape = model_shape(name)
        assert shape.card_source and shape.source.startswith("huggingface.co/") and shape.date
        assert abs(shape.params / shape.card_params - 1) < 0.01, (shape.params, shape.card_params)

    @pytest.mark.parametrize("name, exact", EXACT.items())
    def test_exact_checkpoint_counts(self, name, exact):
        assert model_shape(name).params == exact

    def test_lookup_ignores_case_punctuation_and_takes_aliases(self):
        assert model_shape("llama 2 70b").name == "Llama-2-70B"
        assert model_shape("LLAMA-3.3-70B").name == "Llama-3.1-70B"
        assert model_shape("gemma2-9b").name == "Gemma-2-9B"

    def test_unknown_name_lists_close_matches(self):
        with pytest.raises(UnknownNameError, match=r"model 'Llama-2-8B' is not in the shape catalog: did you mean "
                                                   r"Llama-3.1-8B, Llama-2-7B.*known: Llama-2-7B"):
            model_shape("Llama-2-8B")

    def test_a_number_as_text_is_a_count(self):
        assert model_shape("30e9").interpolated


class TestQuantities:
    @pytest.mark.parametrize("name", REQUIRED)
    @pytest.mark.parametrize("bytes_per_value", [2, 1, 0.5])
    def test_kv_bytes_formula(self, name, bytes_per_value):
        s = model_shape(name)
        assert kv_bytes_per_token(s, bytes_per_value) == 2 * s.layers * s.kv_heads * s.head_dim * bytes_per_value

    def test_kv_by_hand(self):
        assert model_shape("Llama-2-7B").kv_bytes_per_token() == 524_288          # 2*32*32*128*2
        assert model_shape("Llama-3.1-70B").kv_bytes_per_token() == 327_680       # 2*80*8*128*2
        assert model_shape("Gemma-2-2B").kv_bytes_per_token(1) == 2 * 26 * 4 * 256

    def test_weights_bytes(self):
        assert weights_bytes(model_shape("Llama-2-70B"), 1) == 68_976_648_192
        np.testing.assert_allclose(weights_bytes(model_shape("Llama-2-7B"), [2, 1]), [2 * 6_738_415_616, 6_738_415_616])

    def test_flops_per_token_with_attention(self):
        s = model_shape("Llama-2-7B")
        # 2 x (6,738,415,616 - 32,000 x 4,096 input embedding) + 4 x 32 layers x 4,096 x 2,048 tokens
        assert flops_per_token(s, 2048) == 2 * (6_738_415_616 - 131_072_000) + 4 * 32 * 4096 * 2048
        tied = model_shape("Llama-3.2-1B")
        assert flops_per_token(tied) == 2 * tied.params    # the tied embedding is the output head

    def test_bad_arguments(self):
        s = model_shape("Llama-2-7B")
        with pytest.raises(InvalidInputError, match="context_tokens = -1 is not allowed"):
            flops_per_token(s, -1)
        with pytest.raises(InvalidInputError, match="bytes_per_value = 0 is not allowed"):
            kv_bytes_per_token(s, 0)


class TestInterpolation:
    @given(st.floats(1e8, 2e12))
    @settings(max_examples=60, deadline=None)
    def test_params_are_exact(self, params):
        assert interpolated_shape(params).params == pytest.approx(params, rel=1e-12)

    def test_catalog_points_come_back_close(self):
        # At a catalog model's own count (with it in the catalog) the interpolated shape is near it.
        s, true = model_shape(70.553706496e9), model_shape("Llama-3.1-70B")
        assert s.layers == 80 and s.d_model == pytest.approx(true.d_model, rel=0.02)

    def test_leave_one_out_error_as_documented(self):
        # The figures in interpolated_shape's docstring and the README.
        errors = leave_one_out_errors(4096)
        assert set(errors) == set(model_names())
        kv = np.array([e["kv_bytes"] for e in errors.values()])
        flops = np.abs([e["flops"] for e in errors.values()])
        d_model = np.abs([e["d_model"] for e in errors.values()])
        assert np.median(np.abs(kv)) == pytest.approx(0.55, abs=0.01)
        assert 1 + kv.min() == pytest.approx(0.25, abs=0.01) and 1 + kv.max() == pytest.approx(3.7, abs=0.05)
        assert np.median(flops) == pytest.approx(0.017, abs=0.001) and flops.max() == pytest.approx(0.087, abs=0.001)
        assert np.median(d_model) == pytest.approx(0.12, abs=0.01) and d_model.max() == pytest.approx(0.43, abs=0.01)

    def test_bad_count(self):
        with pytest.raises(InvalidInputError, match="params = -5 is not allowed"):
            model_shape(-5)


class TestShapeArrays:
    def test_names_and_counts_with_reasons(self):
        arrays, reasons = shape_arrays([["Llama-2-7B", 7e9, "nope", -1.0, None]])
        assert arrays.params[0, 0] == 6_738_415_616 and arrays.params[0, 1] == pytest.approx(7e9)
        assert reasons[0, 0] == reasons[0, 1] == ""
        assert "not in the shape catalog" in reasons[0, 2]
        assert reasons[0, 3] == "model = -1 is not allowed: must be a name or a parameter count > 0"
        assert "must be a name or a parameter count" in reasons[0, 4]
        assert np.isnan(arrays.params[0, 2:]).all()

    def test_vectorised_counts_match_one_at_a_time(self):
        counts = np.geomspace(2e8, 1e12, 25)
        arrays, _ = shape_arrays(counts)
        for i, n in enumerate(counts):
            one = interpolated_shape(n)
            assert arrays.kv_dim[i] == pytest.approx(one.kv_dim, rel=1e-12)
            assert arrays.matmul_params[i] == pytest.approx(one.matmul_params, rel=1e-12)
