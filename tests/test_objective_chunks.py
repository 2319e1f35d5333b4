"""The lifetime optimum solved chunk by chunk: the same digits for a scenario in any chunk, flat working memory."""

import dataclasses
import pathlib
import sys

import numpy as np
import pytest

import xlcalc
from xlcalc.core import _objective_kernels, _objective_solve
from xlcalc.core.objectives import lifetime_optimal

from test_objectives import _scenarios

sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
from _memory import solver_peak_bytes  # noqa: E402 - shared with benchmarks/objectives.py


def _flat(result):
    """Every figure of a LifetimeOptimum as rows of one array (its references' figures included)."""
    rows = []
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if dataclasses.is_dataclass(value):
            rows += [np.atleast_1d(getattr(value, inner.name)) for inner in dataclasses.fields(value)]
        else:
            rows.append(np.atleast_1d(value))
    return np.array(rows)


def _arrays(rng, count, mode):
    chosen = [dict(sc, serving=mode) for sc in _scenarios(rng, count)]
    return {k: np.array([sc[k] for sc in chosen]) for k in chosen[0] if k != "serving"}


def _solve(arrays, objective, mode):
    with xlcalc.invalid_reasons() as reasons:
        out = lifetime_optimal(**arrays, objective=objective, serving=mode)
    return _flat(out), [str(r) for r in reasons.reasons]


@pytest.mark.parametrize("objective", ["usd", "kwh", "co2"])
@pytest.mark.parametrize("mode", ["fixed_mfu", "roofline"])
def test_a_scenario_gets_the_same_digits_in_any_chunk(monkeypatch, objective, mode):
    """One chunk, chunks of 7 (some with no data cap at all, some mixed), the scenarios shuffled, and some
    alone: every figure bit for bit the same (the scalar twins of the kernels rely on this)."""
    rng = np.random.default_rng({"usd": 31, "kwh": 32, "co2": 33}[objective] + 10 * (mode == "roofline"))
    arrays = _arrays(rng, 400, mode)
    whole, reasons = _solve(arrays, objective, mode)
    assert np.isfinite(whole[0]).sum() > 250
    monkeypatch.setattr(_objective_kernels, "CHUNK", 7)
    small, small_reasons = _solve(arrays, objective, mode)
    assert small_reasons == reasons
    np.testing.assert_array_equal(small, whole)
    order = rng.permutation(400)
    shuffled, _ = _solve({k: a[order] for k, a in arrays.items()}, objective, mode)
    np.testing.assert_array_equal(shuffled, whole[:, order])
    for i in rng.choice(400, 15, replace=False):
        alone, _ = _solve({k: a[i:i + 1] for k, a in arrays.items()}, objective, mode)
        np.testing.assert_array_equal(alone[:, 0], whole[:, i])


def _solver_bytes(arrays):
    """The largest peak of one optimum() solve in a call beyond its output arrays (traced numpy memory)."""

    def call():
        with xlcalc.invalid_reasons():
            lifetime_optimal(**arrays, objective="co2", serving="roofline")

    return max(solver_peak_bytes(call))


def test_solver_working_memory_does_not_grow_with_the_scenarios(monkeypatch):
    """Issue 14: at most about 48 bytes a scenario beyond inputs and outputs. The solve works chunk by chunk,
    so 8 times the scenarios take about the same working memory (roofline, latency targets and data caps mixed)."""
    monkeypatch.setattr(_objective_kernels, "CHUNK", 256)
    base = _arrays(np.random.default_rng(5), 400, "roofline")
    few = {k: np.tile(a, 4) for k, a in base.items()}      # 1,600 scenarios, 7 chunks
    many = {k: np.tile(a, 32) for k, a in base.items()}    # 12,800 scenarios, 50 chunks
    few_bytes, many_bytes = _solver_bytes(few), _solver_bytes(many)
    assert many_bytes <= 1.5 * few_bytes, (few_bytes, many_bytes)   # 8x if it grew with them
    assert many_bytes / 12_800 <= 48, many_bytes / 12_800
    assert _objective_solve.SOLVER == "fast"
