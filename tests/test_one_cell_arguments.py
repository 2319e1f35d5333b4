"""The one-cell argument readers of xlcalc.excel._convert, shared by compute() and the serving functions' one-cell path.

``_single_numbers`` takes its empty-cell values from a core function's signature or from a mapping (REQUIRED or a
missing name: the general path); ``_single_texts`` takes an empty cell's text from a mapping. The serving
functions' one-cell path reads its arguments with them; tests/test_scalar_slo.py compares that path with the
general one over thousands of cells, and the cases here add numpy floats, which both readers take as floats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import xlcalc.excel.serving as excel_serving
from xlcalc import udfs
from xlcalc.core import serving
from xlcalc.excel import _convert as xl


class TestSingleNumbers:
    def test_defaults_from_a_mapping(self):
        defaults = {"a": xl.REQUIRED, "b": 2.0, "c": math.inf}
        assert xl._single_numbers(defaults, {"a": [[3]], "b": None, "c": [[None]]}) == {"a": 3.0, "b": 2.0,
                                                                                        "c": math.inf}
        assert xl._single_numbers(defaults, {"a": None, "b": 1.0}) is None  # REQUIRED
        assert xl._single_numbers(defaults, {"d": None}) is None  # a name without a default
        assert xl._single_numbers({}, {"a": np.float64(2.5)}) == {"a": 2.5}

    def test_defaults_from_the_core_signature(self):
        floats = xl._single_numbers(serving.tokens_per_sec, {"params": 7e9, "batch": None, "mfu": [[None]]})
        assert floats == {"params": 7e9, "batch": 1.0, "mfu": 1.0}
        assert xl._single_numbers(serving.tokens_per_sec, {"params": None}) is None

    @pytest.mark.parametrize("value", ["1", True, [[1.0, 2.0]], 2**60, "#N/A"])
    def test_anything_else_is_the_general_path(self, value):
        assert xl._single_numbers({"a": 1.0}, {"a": value}) is None


class TestSingleTexts:
    def test_empty_cells_take_the_default(self):
        defaults = {"precision": "bf16"}
        assert xl._single_texts({"gpu": [[" H100 "]], "precision": None}, defaults) == {"gpu": "H100",
                                                                                        "precision": "bf16"}
        assert xl._single_texts({"gpu": "H100", "precision": "  "}, defaults)["precision"] == "bf16"
        assert xl._single_texts({"gpu": None, "precision": "fp8"}, defaults) is None  # no default for gpu
        assert xl._single_texts({"gpu": ""}) is None

    @pytest.mark.parametrize("value", ["#REF!", "#N/A something", 5.0, True, [["a", "b"]]])
    def test_error_cells_and_non_texts_are_the_general_path(self, value):
        assert xl._single_texts({"gpu": value}, {"gpu": "H100"}) is None


class TestNumpyFloatCells:
    """A numpy float in a cell (xlwings Lite, a Python caller) takes the one-cell path: the general path's cells."""

    @pytest.mark.parametrize("name, args", [
        ("TTFT", (np.float64(7e10), "H100 SXM", np.float64(1000.0))),
        ("TIME_PER_TOKEN", ("Llama-3.1-8B", "H100 SXM", np.float64(4096.0), np.float64(8.0))),
        ("MAX_BATCH", (np.float64(3e10), "H100 SXM", 1000.0, np.float64(200.0), np.float64(50.0))),
        ("COST_PER_MTOK_SLO", (np.float64(3e10), "A100-80GB", 1000.0, 200.0, 50.0, None, np.float64(2.0))),
        ("KV_BYTES_PER_TOKEN", (np.float64(7e10), np.float64(1.0))),
        ("MODEL_SHAPE", (np.float64(7e10),)),
    ])
    def test_same_cells_as_the_general_path(self, name, args, monkeypatch):
        function = getattr(udfs, name)
        fast = function(*args)
        for one in ("_serving_one", "_slo_one", "_model_shape_one", "_kv_bytes_one"):
            monkeypatch.setattr(excel_serving, one, lambda *a: None)  # the general path only
        general = function(*args)
        assert repr(fast) == repr(general)
        assert "#" not in repr(fast)
