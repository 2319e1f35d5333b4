"""The scalar fast paths give what the array paths give: the same digits (bit for bit), the same errors.

A scalar call of a core function skips broadcasting and solves on floats (xlcalc._checks.Checked,
xlcalc.core._lifetime_kernels); a one-cell Excel formula skips the grids of xlcalc.excel._convert.compute. Each test
draws a few thousand seeded random inputs, bad ones included, and compares every element.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import xlcalc
from xlcalc import InvalidInputError, udfs
from xlcalc.excel import _convert as _excel
from xlcalc.core import _lifetime_fused, _lifetime_kernels
from xlcalc._checks import CHUNK_ELEMENTS
from xlcalc.core.lifetime import budget_optimal, compute_optimal, cost_optimal, cost_optimal_per_request

COUNT = 2000


def mixed(rng, typical, count=COUNT, bad_share=0.15):
    """``typical`` values with about ``bad_share`` replaced by bad ones (negative, zero, NaN, inf, huge)."""
    values = np.array(typical, dtype=float)
    bad = rng.random(count) < bad_share
    values[bad] = rng.choice([-1.0, 0.0, math.nan, math.inf, -math.inf, 1e300, -3e9, 5e-320], bad.sum())
    return values


def same(a, b) -> bool:
    """Equal bit for bit (NaN equals NaN)."""
    return (a == b) or (math.isnan(a) and math.isnan(b))


def compare_scalar_with_array(function, fields, arrays: dict, **options):
    """Every element of one array call equals the scalar call on that element's inputs, or fails alike."""
    with xlcalc.invalid_reasons() as why:
        result = function(**arrays, **options)
    reasons = np.broadcast_to(np.asarray(why.reasons, dtype=object), next(iter(arrays.values())).shape)
    checked_valid = checked_bad = 0
    for i in range(reasons.size):
        scalars = {name: float(v[i]) for name, v in arrays.items()}
        if reasons[i]:
            with pytest.raises(InvalidInputError) as raised:
                function(**scalars, **options)
            assert str(raised.value) == reasons[i]
            with xlcalc.invalid_reasons() as one:
                out = function(**scalars, **options)
            assert one.reasons == reasons[i]
            assert all(math.isnan(getattr(out, f) if f else out) for f in fields)
            checked_bad += 1
        else:
            out = function(**scalars, **options)
            for f in fields:
                got, want = (getattr(out, f), getattr(result, f)[i]) if f else (out, result[i])
                assert type(got) is float
                assert same(got, float(want)), (f, scalars, got, want)
            checked_valid += 1
    assert checked_valid > COUNT // 4 and checked_bad > COUNT // 20  # both kinds were really compared


COMPUTE_FIELDS = ("params", "tokens", "flops", "train_flops", "inference_flops", "saving")
BUDGET_FIELDS = ("params", "tokens", "loss", "train_flops", "inference_flops")


class TestCoreScalarEqualsArray:
    def test_compute_optimal(self):
        rng = np.random.default_rng(1)
        loss = mixed(rng, 1.69 + 10 ** rng.uniform(-3, 1, COUNT))
        loss[rng.random(COUNT) < 0.05] = 1.5  # below E
        inference = mixed(rng, np.where(rng.random(COUNT) < 0.1, 0.0, 10 ** rng.uniform(0, 20, COUNT)))
        compare_scalar_with_array(compute_optimal, COMPUTE_FIELDS, {"loss": loss, "inference_tokens": inference})

    def test_compute_optimal_chinchilla_reference(self):
        rng = np.random.default_rng(2)
        loss, inference = 1.8172 + 10 ** rng.uniform(-2, 0.5, COUNT), 10 ** rng.uniform(6, 16, COUNT)
        array = compute_optimal(loss, inference, fit="epoch2024")
        for i in range(0, COUNT, 7):
            one = compute_optimal(float(loss[i]), float(inference[i]), fit="epoch2024")
            assert (one.chinchilla.params, one.chinchilla.flops) == (array.chinchilla.params[i], array.chinchilla.flops[i])

    def test_cost_optimal(self):
        rng = np.random.default_rng(3)
        arrays = {
            "loss": mixed(rng, 1.8 + rng.uniform(0, 1, COUNT), bad_share=0.05),
            "input_tokens": mixed(rng, 10 ** rng.uniform(5, 16, COUNT), bad_share=0.03),
            "output_tokens": mixed(rng, 10 ** rng.uniform(5, 16, COUNT), bad_share=0.03),
            "train_usd_per_hour": mixed(rng, rng.uniform(0.5, 5, COUNT), bad_share=0.02),
            "train_peak_tflops": rng.uniform(100, 2000, COUNT),
            "infer_usd_per_hour": rng.uniform(0.5, 5, COUNT),
            "infer_peak_tflops": rng.uniform(100, 2000, COUNT),
            "mfu_decode": mixed(rng, rng.uniform(0.005, 1.0, COUNT), bad_share=0.03),
        }
        compare_scalar_with_array(cost_optimal, ("params", "tokens", "usd", "train_usd", "saving"), arrays)
        per_request = dict(arrays, requests=10 ** rng.uniform(6, 12, COUNT),
                           input_tokens_per_request=arrays.pop("input_tokens"),
                           output_tokens_per_request=arrays.pop("output_tokens"))
        compare_scalar_with_array(cost_optimal_per_request, ("params", "usd"), per_request)

    def test_budget_optimal(self):
        rng = np.random.default_rng(4)
        flops = mixed(rng, 10 ** rng.uniform(15, 30, COUNT))
        inference = mixed(rng, np.where(rng.random(COUNT) < 0.1, 0.0, 10 ** rng.uniform(6, 18, COUNT)))
        compare_scalar_with_array(budget_optimal, BUDGET_FIELDS, {"total_flops": flops, "inference_tokens": inference})

    @pytest.mark.parametrize("function, names", [
        (xlcalc.loss, ("params", "tokens")),
        (xlcalc.tokens_for_loss, ("loss", "params")),
        (xlcalc.params_for_loss, ("loss", "tokens")),
        (xlcalc.chinchilla_tokens, ("params",)),
    ])
    def test_laws(self, function, names):
        rng = np.random.default_rng(5)
        typical = {"params": 10 ** rng.uniform(6, 13, COUNT), "tokens": 10 ** rng.uniform(8, 14, COUNT),
                   "loss": 1.7 + 10 ** rng.uniform(-2, 0.5, COUNT)}
        compare_scalar_with_array(function, ("",), {n: mixed(rng, typical[n]) for n in names})

    def test_integers_and_numpy_floats_take_the_fast_path_with_the_same_digits(self):
        assert compute_optimal(2, 10**12) == compute_optimal(2.0, 1e12) == compute_optimal(np.float64(2.0), 1e12)
        assert xlcalc.loss(70 * 10**9, 10**12) == xlcalc.loss(np.array(7e10), np.array(1e12))


class TestFusedChunkEqualsItsScalarTwin:
    """Every one of the nine (eight) results of xlcalc.core._lifetime_fused's chunk kernels equals its float twin's,
    bit for bit, over fits, the zero-inference edge and extreme inputs (the public calls above compare six)."""

    FITS = ["chinchilla", "muennighoff2023", "epoch2024", [1.8, 500.0, 900.0, 0.4, 0.2], [1.0, 5.0, 9.0, 0.05, 0.9]]

    @pytest.mark.parametrize("fit", FITS)
    def test_curve_optimum(self, fit):
        f, rng = xlcalc.get_fit(fit), np.random.default_rng(8)
        loss = f.E + 10 ** rng.uniform(-6, 3, COUNT)
        s = np.where(rng.random(COUNT) < 0.1, 0.0, 10 ** rng.uniform(-5, 30, COUNT))
        kt, m = 10 ** rng.uniform(-20, 1, COUNT), 10 ** rng.uniform(-12, 16, COUNT)
        out = [np.empty(COUNT) for _ in range(9)]
        with np.errstate(all="ignore"):
            _lifetime_fused.curve_optimum_into(f, loss, s, kt, m, out)
            for i in range(COUNT):
                one = _lifetime_fused.curve_optimum_one(f, float(loss[i]), float(s[i]), float(kt[i]), float(m[i]))
                assert all(same(float(o[i]), v) for o, v in zip(out, one)), (i, one, [o[i] for o in out])

    @pytest.mark.parametrize("fit", FITS[:4])  # alpha < 1: the fused budget kernels
    def test_budget_optimum(self, fit):
        f, rng = xlcalc.get_fit(fit), np.random.default_rng(9)
        flops = 10 ** rng.uniform(5, 40, COUNT)
        inference = np.where(rng.random(COUNT) < 0.1, 0.0, 10 ** rng.uniform(0, 30, COUNT))
        out = [np.empty(COUNT) for _ in range(8)]
        with np.errstate(all="ignore"):
            _lifetime_fused.budget_optimum_into(f, flops, inference, out)
            for i in range(COUNT):
                one = _lifetime_fused.budget_optimum_one(f, float(flops[i]), float(inference[i]))
                assert all(same(float(o[i]), v) for o, v in zip(out, one)), (i, one, [o[i] for o in out])


class TestChunkedKernelEqualsReference:
    """The in-place chunk solver against the plain loop it replaces for speed, bit for bit."""

    def test_every_element(self):
        rng = np.random.default_rng(6)
        f = xlcalc.get_fit("muennighoff2023")
        loss = f.E + 10 ** rng.uniform(-3, 1.5, COUNT)
        s = np.where(rng.random(COUNT) < 0.1, 0.0, 10 ** rng.uniform(-5, 25, COUNT))
        chunk = _lifetime_kernels.optimal_log_tokens(f, loss, s)
        for i in range(COUNT):
            assert same(float(chunk[i]), _lifetime_kernels.optimal_log_tokens_one(f, float(loss[i]), float(s[i])))

    def test_result_does_not_depend_on_the_chunk(self):
        rng = np.random.default_rng(7)
        size = 2 * CHUNK_ELEMENTS + 1234  # several chunks, the last one short
        loss, inference = 1.69 + 10 ** rng.uniform(-3, 1, size), 10 ** rng.uniform(0, 20, size)
        whole = compute_optimal(loss, inference)
        order = rng.permutation(size)
        shuffled = compute_optimal(loss[order], inference[order])
        assert np.array_equal(shuffled.params, whole.params[order])
        assert np.array_equal(shuffled.saving, whole.saving[order])

    def test_bad_elements_do_not_change_their_neighbours(self):
        loss = np.array([2.0, -1.0, 2.1, math.nan] * CHUNK_ELEMENTS)
        with pytest.warns(xlcalc.InvalidInputWarning, match=f"{2 * CHUNK_ELEMENTS} of {4 * CHUNK_ELEMENTS}"):
            mixed_result = compute_optimal(loss, 1e12)
        clean = compute_optimal(loss[::2], 1e12)
        assert np.array_equal(mixed_result.tokens[::2], clean.tokens)
        assert np.isnan(mixed_result.tokens[1::2]).all()


def _numeric_udfs():
    """(name, function, argument names) of every Excel function that takes numbers (not names or ranges)."""
    found = []
    for name in udfs.__all__:
        function = getattr(udfs, name)
        parameters = list(inspect.signature(function).parameters)  # `fit` is left empty (the default fit)
        if name in ("FIT_CONSTANTS", "SCALING_FIT", "GPU_SPEC", "GPU_LIST"):
            continue
        found.append(pytest.param(function, parameters, id=name))
    return found


def _cell(rng, name: str, odd: float = 0.2):
    """A random one-cell value for argument ``name``: usually sensible; with probability ``odd`` empty, a
    number that may be out of range, or one cell as a 1x1 range."""
    roll = rng.random()
    if roll < 0.4 * odd or name == "fit":
        return None
    if roll < 0.8 * odd:
        return float(rng.choice([-1.0, 0.0, 0.5, 1.0, 3.0, 1e300, -2e9]))
    if roll < odd:
        return [[float(rng.uniform(1, 100))]]  # as xlwings passes one cell (ndim=2)
    if name == "loss":
        return float(rng.uniform(1.6, 3.5))
    if name == "model":  # a catalog name or a bare parameter count
        return str(rng.choice(["Llama-3.1-8B", "Llama-2-70B", "Qwen2.5-7B"])) if roll < 0.6 else float(10 ** rng.uniform(8.5, 11.5))
    if name == "objective":
        return str(rng.choice(["usd", "kwh", "co2"]))
    if name == "gpu_name" or name.endswith("_gpu"):
        return str(rng.choice(["H100 SXM", "A100-80GB SXM4", "L4"]))
    if name == "precision":
        return str(rng.choice(["bf16", "fp8", "int8"]))
    if name.endswith("_ms"):
        return float(10 ** rng.uniform(0.5, 3.5))
    if name == "unique_tokens":  # a cap a model can reach the loss with, usually
        return float(10 ** rng.uniform(11, 14))
    if name in ("seed", "samples"):
        return float(rng.integers(2, 400))
    if name.endswith("_tokens") and name not in ("inference_tokens", "train_tokens", "tokens"):
        return float(rng.integers(1, 8000))
    if name.startswith(("mfu", "bw_eff", "utilisation")) or "fraction" in name:
        return float(rng.uniform(0.001, 1.0))
    if name in ("batch", "gpus", "bytes_per_param"):
        return float(rng.integers(1, 64))
    return float(10 ** rng.uniform(-1, 14))


class TestExcelOneCellEqualsRanges:
    @pytest.mark.parametrize("function, names", _numeric_udfs())
    def test_same_value_or_error_text(self, function, names, monkeypatch):
        rng = np.random.default_rng(sum(map(ord, function.__name__)))
        # odd values often enough to test the errors, rarely enough that most calls of a function of 20
        # arguments still have none (each call has all its arguments sensible with probability about 0.6)
        odd = min(0.2, 1.0 - 0.6 ** (1.0 / len(names)))
        calls = [[_cell(rng, n, odd) for n in names] for _ in range(300)]
        fast = [function(*args) for args in calls]
        monkeypatch.setattr(_excel, "_single_numbers", lambda core, numbers: None)  # the general path only
        general = [function(*args) for args in calls]
        assert fast == general
        cells = [cell for out in fast for cell in (out if isinstance(out, list) else [[out]])[0]]
        texts = sum(isinstance(cell, str) for cell in cells)
        assert 0 < texts < len(cells)  # both values and error texts were compared


# Typical values by argument name for the serving and economics functions (then scaled at random).
TYPICAL = {
    "params": 7e10, "tokens": 1.4e12, "usd_per_hour": 2.0, "peak_tflops": 989.0, "mem_bw_tbs": 3.35,
    "input_tokens": 1000.0, "output_tokens": 250.0, "memory_gb": 80.0, "layers": 80.0, "kv_heads": 8.0,
    "head_dim": 128.0, "params_a": 7e10, "tokens_a": 1.4e12, "params_b": 3e10, "tokens_b": 5e12,
    "tokens_per_request": 1250.0, "requests_per_day": 1e6, "tdp_w": 700.0, "requests_per_month": 1e8,
    "inference_tokens": 1e13, "train_tokens": 1.4e12, "purchase_usd": 30000.0, "years": 4.0,
}
WHOLE = ("batch", "gpus", "gpus_per_replica", "layers", "kv_heads", "head_dim")


def _numbers(result) -> list:
    """A result's numbers in order: a float, a tuple of them, or a dataclass (nested ones included)."""
    import dataclasses

    if dataclasses.is_dataclass(result):
        return [x for f in dataclasses.fields(result) for x in _numbers(getattr(result, f.name))]
    if isinstance(result, tuple):
        return [x for item in result for x in _numbers(item)]
    return [result]


def _serving_and_economics():
    from xlcalc.core import breakeven, economics, monthly_serving, owned_hardware, serving

    modules = {m.__name__ for m in (breakeven, economics, monthly_serving, owned_hardware, serving)}
    found = []
    for name in xlcalc.__all__:
        function = getattr(xlcalc, name)
        if inspect.isfunction(function) and function.__module__ in modules:
            found.append(pytest.param(function, id=name))
    return found


class TestServingAndEconomicsScalarEqualsArray:
    @pytest.mark.parametrize("function", _serving_and_economics())
    def test_same_numbers_and_errors(self, function):
        rng = np.random.default_rng(sum(map(ord, function.__name__)))
        count = 400
        arrays = {}
        for name, parameter in inspect.signature(function).parameters.items():
            if name == "fit" or (parameter.default is not inspect.Parameter.empty and rng.random() < 0.5):
                continue
            typical = TYPICAL.get(name, parameter.default if isinstance(parameter.default, (int, float)) else 1.0)
            values = typical * 10 ** rng.uniform(-1, 1, count) if typical else 10 ** rng.uniform(0, 4, count)
            if name in WHOLE or name.startswith(("mfu", "bw_eff", "utilisation")):
                values = np.ceil(values) if name in WHOLE else rng.uniform(0.01, 1.0, count)
            arrays[name] = mixed(rng, values, count, bad_share=0.03)
        with xlcalc.invalid_reasons() as why, np.errstate(all="ignore"):
            result = function(**arrays)
        columns = [np.broadcast_to(np.asarray(v, dtype=float), (count,)) for v in _numbers(result)]
        reasons = np.broadcast_to(np.asarray(why.reasons, dtype=object), (count,))
        for i in range(count):
            scalars = {name: float(v[i]) for name, v in arrays.items()}
            if reasons[i]:
                with pytest.raises(xlcalc.XlcalcError) as raised, np.errstate(all="ignore"):
                    function(**scalars)
                assert str(raised.value) == reasons[i]
            else:
                with np.errstate(all="ignore"):
                    got = _numbers(function(**scalars))
                assert all(type(x) is float for x in got)
                assert all(same(x, float(c[i])) for x, c in zip(got, columns)), (scalars, got)
        assert 0 < sum(map(bool, reasons)) < count
