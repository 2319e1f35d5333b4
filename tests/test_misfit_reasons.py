"""The reasons of models that do not fit in memory (xlcalc.core.serving._require_fit), formatted only when read.

Outside ``xlcalc.invalid_reasons()`` only the first reason is formatted (the warning, a scalar's error); inside,
every element's is, each distinct value once. These tests hold every text to the one the per-element
formatting gave before (``reference_reason`` below, which is that code), for chunked and unchunked calls,
broadcast shapes, renamed arguments and other invalid elements among the misfits; benchmarks/misfit_reasons.py
measures the speed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xlcalc
from xlcalc import DoesNotFitError
from xlcalc._checks import format_value
from xlcalc.core._chunks import CHUNK_ELEMENTS
from xlcalc.units import BYTES_PER_GB, CEIL_SLACK


def reference_reason(params, memory_gb, gpus, bytes_per_param, batch, context_tokens, kv_bytes_per_token) -> str:
    """The text of one element as serving._require_fit formatted it, one element at a time (before the change)."""
    needed = (np.float64(bytes_per_param) * params + np.float64(batch) * context_tokens * kv_bytes_per_token) / BYTES_PER_GB
    gpus, memory = np.float64(gpus), np.float64(memory_gb)
    if not needed > gpus * memory:
        return ""
    need_gpus = max(np.ceil(needed / memory * (1.0 - CEIL_SLACK)), 1.0)
    return (f"the model needs {format_value(needed)} GB for weights and KV cache but "
            f"{format_value(gpus)} GPU{'s' if gpus != 1 else ''} of {format_value(memory)} GB "
            f"hold{'s' if gpus == 1 else ''} {format_value(gpus * memory)} GB: it needs at least "
            f"{format_value(need_gpus)} GPUs of {format_value(memory)} GB")


def scenarios(size: int, seed: int) -> dict:
    """Arguments of check_fits, about half of the elements not fitting, some with a bad value (negative, NaN)."""
    rng = np.random.default_rng(seed)
    params = 10.0 ** rng.uniform(8.0, 13.0, size)
    params[rng.random(size) < 0.05] = -1.0
    params[rng.random(size) < 0.02] = np.nan
    return {"params": params,
            "memory_gb": rng.choice([16.0, 24.0, 40.0, 80.0, 141.0, 192.0, 80.5], size),
            "gpus": rng.choice([1.0, 1.0, 2.0, 4.0, 8.0, 3.0], size),
            "bytes_per_param": rng.choice([0.5, 1.0, 2.0, 4.0], size),
            "batch": rng.choice([1.0, 8.0, 64.0], size),
            "context_tokens": rng.choice([0.0, 2048.0, 32768.0], size),
            "kv_bytes_per_token": rng.choice([0.0, 1.3e5, 3.3e5], size)}


def expected_reasons(arguments: dict) -> list:
    """The reference reason of each element whose arguments are valid ('' for those that fit)."""
    rows = zip(*(np.broadcast_arrays(*arguments.values())))
    return ["" if not r[0] >= 1 else reference_reason(*r) for r in rows]


class TestInsideInvalidReasons:
    @pytest.mark.parametrize("size", [1_000, 3 * CHUNK_ELEMENTS + 17])  # one call, and chunks of xlcalc.core._chunks
    def test_every_reason_as_before(self, size):
        arguments = scenarios(size, seed=size)
        with xlcalc.invalid_reasons() as why:
            xlcalc.check_fits(**arguments)
        expected = expected_reasons(arguments)
        got = why.reasons.tolist()
        for index in np.flatnonzero([bool(e) for e in expected]):
            assert got[index] == expected[index]
        assert sum("GB for weights" in g for g in got) == sum(bool(e) for e in expected) > size // 4

    def test_broadcast_column_against_row(self):
        params = np.array([[7e10], [1.5e11], [-3.0], [4e11]])
        gpus = np.array([1.0, 2.0, 8.0])
        with xlcalc.invalid_reasons() as why:
            xlcalc.check_fits(params, 80.0, gpus=gpus)
        for i, j in np.ndindex(4, 3):
            if params[i, 0] > 0:
                assert why.reasons[i, j] == reference_reason(params[i, 0], 80.0, gpus[j], 2.0, 1.0, 0.0, 0.0)
        assert why.reasons[2, 0].startswith("params = -3 is not allowed")

    def test_renamed_gpus_of_monthly_cost(self):
        params = np.array([7e9, 7e10, 2e11])
        with xlcalc.invalid_reasons() as why:
            xlcalc.monthly_cost(params, 1e9, 500, 200, 2.0, 989.5, 3.35, gpus_per_replica=[1, 2, 2], memory_gb=80.0)
        assert why.reasons.tolist() == ["", reference_reason(7e10, 80.0, 2.0, 2.0, 1.0, 0.0, 0.0),
                                        reference_reason(2e11, 80.0, 2.0, 2.0, 1.0, 0.0, 0.0)]
        assert why.reasons[2].endswith("2 GPUs of 80 GB hold 160 GB: it needs at least 5 GPUs of 80 GB")

    def test_scalar_collected(self):
        with xlcalc.invalid_reasons() as why:
            assert np.isnan(xlcalc.check_fits(70e9, 80.0))
        assert why.reasons == reference_reason(70e9, 80.0, 1.0, 2.0, 1.0, 0.0, 0.0)


class TestWarned:
    @pytest.mark.parametrize("size", [1_000, 3 * CHUNK_ELEMENTS + 17])
    def test_count_and_first_reason_as_collected(self, size):
        arguments = scenarios(size, seed=size + 1)
        with xlcalc.invalid_reasons() as why:
            xlcalc.check_fits(**arguments)
        bad = np.flatnonzero(why.reasons != "")
        with pytest.warns(xlcalc.InvalidInputWarning) as caught:
            xlcalc.check_fits(**arguments)
        assert len(caught) == 1
        assert str(caught[0].message) == (
            f"{bad.size} of {size} elements are invalid and came back as NaN; first: {why.reasons[bad[0]]}. "
            "Use xlcalc.invalid_reasons() to get the reason for each.")

    @pytest.mark.parametrize("size", [1_000, 3 * CHUNK_ELEMENTS + 17])
    def test_first_misfit_shown_in_full(self, size):
        params = np.geomspace(5e10, 5e12, size)  # none fits in 80 GB
        with pytest.warns(xlcalc.InvalidInputWarning, match="first: " + reference_reason(
                params[0], 80.0, 1.0, 2.0, 1.0, 0.0, 0.0).replace(".", r"\.") + r"\. Use"):
            out = xlcalc.cost_per_mtok(params, 2.0, 989.5, 3.35, memory_gb=80.0)
        assert np.isnan(out).all()

    def test_a_list_the_same(self):
        params = [1e9, 9e10, 2e11]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            xlcalc.check_fits(params, 80.0)
        assert [str(w.message) for w in caught] == [
            "2 of 3 elements are invalid and came back as NaN; first: "
            + reference_reason(9e10, 80.0, 1.0, 2.0, 1.0, 0.0, 0.0)
            + ". Use xlcalc.invalid_reasons() to get the reason for each."]


class TestScalarError:
    @pytest.mark.parametrize("params, gpus, memory_gb", [(7e10, 1, 80.0), (1e12, 3, 141.0), (2.5e11, 2, 80.5),
                                                         (1e300, 1, 80.0)])
    def test_same_text(self, params, gpus, memory_gb):
        with pytest.raises(DoesNotFitError) as caught:
            xlcalc.check_fits(params, memory_gb, gpus=gpus)
        assert str(caught.value) == reference_reason(params, memory_gb, gpus, 2.0, 1.0, 0.0, 0.0)
