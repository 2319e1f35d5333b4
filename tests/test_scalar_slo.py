"""Scalar fast paths of the model and latency functions (issue 14) give what the array paths give, bit for bit.

- latency.ttft_s, latency.time_per_token_s and slo.max_batch: a call with plain floats (Python floats all the
  way, xlcalc._scalar_checks) against the element of an array call over 2,000 seeded random scenarios each, bad
  ones included (negatives, NaN, infinities, zero, fractional GPUs, unreachable targets, models that do not fit,
  extreme values): the same digits or the same error text;
- the one-scenario kernel of max_batch (slo._best_one) against the array kernels it writes out;
- the Excel functions MODEL_SHAPE, KV_BYTES_PER_TOKEN, TTFT, TIME_PER_TOKEN, MAX_BATCH and COST_PER_MTOK_SLO:
  a one-cell call (xlcalc.excel.serving's one-cell path) against the general range path, over 2,000 random
  cells each (unknown names, text, error cells, empty cells, bad precisions, out-of-range numbers): the same
  value or the same error text.
Each test also checks that both kinds (values and errors) were compared, each well represented.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import xlcalc
from test_scalar_paths import same
from xlcalc import udfs
from xlcalc.core import latency, slo
from xlcalc.data import hardware, model_shapes
from xlcalc.excel import serving as excel_serving

COUNT = 2000
MODELS = ("Llama-2-7B", "llama 3.1 70b", "Qwen2.5-0.5B", "Llama-3.1-405B", "Gemma-2-2B", 30e9, 3e8, 2e12,
          "7e9", "no such model", -5.0, 0.0, math.nan, 2e15)
BAD = (-1.0, 0.0, math.nan, math.inf, -math.inf, 1e300, 1e-300, 0.5)


def _column(rng, typical, low=-1.0, high=1.0, share=0.025, whole=False):
    values = typical * 10 ** rng.uniform(low, high, COUNT)
    if whole:
        values = np.ceil(values)
    bad = rng.random(COUNT) < share
    values[bad] = rng.choice(BAD, bad.sum())
    return values


def _scenarios(rng, names):
    """Random arguments by name (2,000 each), about one in twenty-five bad per argument."""
    fraction = lambda: np.where(rng.random(COUNT) < 0.04, rng.choice(BAD, COUNT), rng.uniform(0.05, 1.0, COUNT))
    make = dict(
        peak_tflops=lambda: _column(rng, 500.0), mem_bw_tbs=lambda: _column(rng, 2.0),
        memory_gb=lambda: _column(rng, 80.0, -0.5, 1.0), input_tokens=lambda: _column(rng, 1000.0, -3, 1.5),
        output_tokens=lambda: _column(rng, 200.0, -2, 1.5), context_tokens=lambda: _column(rng, 2000.0, -3, 1.5),
        batch=lambda: _column(rng, 8.0, -1, 1.5, whole=True),
        gpus=lambda: rng.choice([0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 4.0, 8.0, 3.0, 16.0, 2.5, -1.0, math.nan], COUNT),
        max_gpus=lambda: rng.choice([8.0, 8.0, 4.0, 2.0, 1.0, 64.0, 32.0, 0.0, 1.5], COUNT),
        tpot_target_s=lambda: np.where(rng.random(COUNT) < 0.2, math.inf, _column(rng, 0.03, -1.5, 1.0)),
        ttft_target_s=lambda: np.where(rng.random(COUNT) < 0.4, math.inf, _column(rng, 0.5, -1.5, 1.0)),
        usd_per_hour=lambda: _column(rng, 2.0), bytes_per_param=lambda: rng.choice([1.0, 2.0, 2.0, 4.0, 0.5, -1.0], COUNT),
        kv_bytes_per_value=lambda: rng.choice([1.0, 2.0, 2.0, 0.0, math.nan], COUNT),
        mfu_prefill=fraction, mfu_decode=fraction, bw_eff=fraction,
        link_gbs=lambda: np.where(rng.random(COUNT) < 0.1, math.nan, _column(rng, 300.0)),
        link_latency_us=lambda: _column(rng, 5.0, -1, 1),
        headroom=lambda: rng.choice([0.1, 0.1, 0.0, 0.5, 0.95, 1.0, -0.1, math.nan], COUNT),
    )
    return {name: make[name]() for name in names}


def _outputs(result) -> list:
    if isinstance(result, slo.SloServing):
        return [getattr(result, f) for f in slo.SloServing.__dataclass_fields__]
    return [result]


CORE = {
    "ttft_s": (latency.ttft_s, ("peak_tflops", "mem_bw_tbs", "input_tokens"),
               ("batch", "gpus", "bytes_per_param", "kv_bytes_per_value", "mfu_prefill", "mfu_decode", "bw_eff",
                "link_gbs", "link_latency_us")),
    "time_per_token_s": (latency.time_per_token_s, ("peak_tflops", "mem_bw_tbs", "context_tokens"),
                         ("batch", "gpus", "bytes_per_param", "kv_bytes_per_value", "mfu_decode", "bw_eff",
                          "link_gbs", "link_latency_us")),
    "max_batch": (slo.max_batch, ("peak_tflops", "mem_bw_tbs", "memory_gb", "input_tokens", "output_tokens"),
                  ("tpot_target_s", "ttft_target_s", "gpus", "usd_per_hour", "bytes_per_param", "kv_bytes_per_value",
                   "mfu_prefill", "mfu_decode", "bw_eff", "link_gbs", "link_latency_us", "headroom", "max_gpus")),
}


def _scalar_outcome(function, model, args, kwargs):
    """(floats, '') of a scalar call, or (None, error text)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy warning escapes from the scalar path
            result = function(model, *args, **kwargs)
    except xlcalc.XlcalcError as exc:
        return None, str(exc)
    return _outputs(result), ""


class TestCoreScalarEqualsArray:
    @pytest.mark.parametrize("name", list(CORE))
    def test_same_digits_and_errors(self, name):
        function, required, optional = CORE[name]
        rng = np.random.default_rng(sum(map(ord, name)) + 14)
        columns = _scenarios(rng, required + optional)
        models = rng.integers(len(MODELS), size=COUNT)
        compared = {"values": 0, "errors": 0, "unreachable": 0}
        for m, model in enumerate(MODELS):
            rows = np.flatnonzero(models == m)
            kw_names = [k for k in optional if rng.random() < 0.8]  # some calls leave options to their defaults
            arrays = [columns[k][rows] for k in required]
            kw_arrays = {k: columns[k][rows] for k in kw_names}
            try:
                model_shapes.model_shape(model)
            except xlcalc.XlcalcError as exc:  # the model itself is bad: every call says so, array or scalar
                with pytest.raises(xlcalc.XlcalcError) as raised:
                    function(model, *arrays, **kw_arrays)
                assert str(raised.value) == str(exc)
                for i in rows[:50]:
                    got = _scalar_outcome(function, model, [float(columns[k][i]) for k in required],
                                          {k: float(columns[k][i]) for k in kw_names})
                    assert got == (None, str(exc))
                    compared["errors"] += 1
                continue
            with xlcalc.invalid_reasons() as why, warnings.catch_warnings():
                warnings.simplefilter("error")
                result = function(model, *arrays, **kw_arrays)
            outputs = [np.broadcast_to(np.asarray(o, dtype=float), rows.shape) for o in _outputs(result)]
            reasons = np.broadcast_to(np.asarray(why.reasons, dtype=object), rows.shape)
            for j, i in enumerate(rows):
                values, error = _scalar_outcome(function, model, [float(columns[k][i]) for k in required],
                                                {k: float(columns[k][i]) for k in kw_names})
                assert error == reasons[j], (model, i, error, reasons[j])
                if error:
                    compared["errors"] += 1
                    compared["unreachable"] += "meet" in error or "does not fit" in error
                    continue
                assert all(type(x) is float for x in values)
                assert all(same(x, float(o[j])) for x, o in zip(values, outputs)), (model, i, values)
                compared["values"] += 1
        assert compared["values"] > COUNT // 20 and compared["errors"] > COUNT // 20, compared
        if name == "max_batch":
            assert compared["unreachable"] > COUNT // 50, compared

    @pytest.mark.parametrize("name", list(CORE))
    def test_the_0d_array_call_is_the_same(self, name):
        """The fall-back of a float call (0-d arrays) gives what the float call gives."""
        function, required, optional = CORE[name]
        rng = np.random.default_rng(3)
        columns = _scenarios(rng, required + optional)
        for i in range(200):
            model = MODELS[i % 5]
            scalar = _scalar_outcome(function, model, [float(columns[k][i]) for k in required],
                                     {k: float(columns[k][i]) for k in optional})
            zero_d = _scalar_outcome(function, model, [np.asarray(columns[k][i]) for k in required],
                                     {k: np.asarray(columns[k][i]) for k in optional})
            assert scalar[1] == zero_d[1]
            if not scalar[1]:
                assert all(same(a, b) for a, b in zip(scalar[0], zero_d[0]))

    def test_a_denominator_underflowing_to_zero_falls_back_to_the_array_path(self):
        args = ("Llama-2-7B", 1e-300, 1e-300, 100.0)
        tiny = dict(mfu_decode=1e-300, bw_eff=1e-300)
        with pytest.raises(xlcalc.InvalidInputError, match="too extreme"):
            latency.time_per_token_s(*args, **tiny)
        with pytest.raises(xlcalc.InvalidInputError, match="too extreme"):
            latency.time_per_token_s(args[0], *map(np.asarray, args[1:]), **tiny)


class TestOneScenarioKernel:
    def test_best_one_equals_the_array_kernels(self):
        """slo._best_one (written out on floats) against slo._best (the array kernels), on valid scenarios."""
        rng = np.random.default_rng(14)
        names = CORE["max_batch"][1] + CORE["max_batch"][2]
        columns = _scenarios(rng, names)
        fields = dict(zip(latency._MODEL_FIELDS, model_shapes.shape_numbers("Llama-3.1-70B", latency._MODEL_FIELDS)))
        found = {"batch": 0, "none": 0}
        for i in range(COUNT):
            v = {**fields, **{k: abs(float(columns[k][i])) for k in names}}
            v["link_gbs"] = v["link_gbs"] if math.isfinite(v["link_gbs"]) and v["link_gbs"] > 0 else 300.0
            v["gpus"] = float(rng.choice([0.0, 0.0, 1.0, 2.0, 3.0, 8.0]))
            v["max_gpus"] = float(rng.choice([1.0, 2.0, 8.0, 64.0]))
            try:
                got = slo._best_one(v)
            except ZeroDivisionError:  # the float call falls back to the array path
                continue
            with np.errstate(all="ignore"):
                want = slo._best({k: np.array([x]) for k, x in v.items()})
            if got is None:
                assert want[0][0] < 1
                found["none"] += 1
                continue
            assert [same(got[i], float(want[j][0])) for i, j in ((0, 0), (1, 1), (6, 2))] == [True] * 3, (v, got, want)
            found["batch"] += 1
        assert found["batch"] > COUNT // 10 and found["none"] > COUNT // 10, found


class TestInterpolationOnFloats:
    def test_interpolate_one_equals_the_vectorised_rule(self):
        """shape_interpolation.interpolate_one (a count on Python floats) against _interpolate (arrays), bit for bit:
        random counts over the whole allowed range, the catalog's own counts (a bracket's end) and the extremes."""
        from xlcalc.data import shape_interpolation as si

        table = si._catalog_ratios()
        counts = np.concatenate([10 ** np.random.default_rng(14).uniform(0, 15, 20000), np.exp(table["log_params"]),
                                 [s.params for s in table["shapes"]], [1.0, 1e15, 2.0**53]])
        vectorised = si._interpolate(counts, table)
        inside = 0
        for i, count in enumerate(counts):
            got = si.interpolate_one(float(count))
            assert all(same(float(got[k]), float(v[i])) for k, v in vectorised.items()), count
            inside += table["log_params"][0] < math.log(count) < table["log_params"][-1]
        assert COUNT < inside < len(counts) - COUNT // 10  # inside the catalog's span, and beyond either end

    def test_a_shape_by_count_is_the_same_in_every_path(self):
        for count in (3e8, 30e9, 7e10, 1e15):
            shape = model_shapes.model_shape(count)
            arrays, reasons = model_shapes.shape_arrays([count])
            numbers = model_shapes.shape_numbers(count, latency._MODEL_FIELDS)
            assert reasons[0] == "" and numbers == tuple(float(getattr(arrays, f)[0]) for f in latency._MODEL_FIELDS)
            assert (shape.layers, shape.d_model) == (numbers[2], numbers[3])


# ----------------------------------------------------------------------------------------------
# Excel functions: one-cell path against the general range path

NAMES = ["Llama-2-70B", " llama-3.1-8b ", "Qwen2.5-7B", "mistral 7b", "Gemma-2-27B", "nope", "Llama-9", "7e10",
         "#N/A", "", "  "]
GPUS = ["H100 SXM", "A100-80GB", " L4 ", "H200", "MI300X", "TPU v5e", "H100", "nope", "#REF!", "", 5.0]
PRECISIONS = [None, "bf16", "FP8", " int8 ", "fp16", "fp4", "", "#N/A", 8.0]
ODD = ("", "  ", "abc", "#DIV/0!", True, "1e3", 10**400, [[2.5, 3.0]], math.nan, -math.inf, 2**60)


def _excel_cell(rng, argument: str):
    roll = rng.random()
    if argument == "model":
        value = (str(rng.choice(NAMES)) if roll < 0.5 else float(10 ** rng.uniform(8, 12)) if roll < 0.9
                 else [-1.0, 0.0, 2e15, math.nan, True, None, 7000000000][rng.integers(7)])
    elif argument == "gpu_name":
        value = GPUS[rng.integers(len(GPUS))] if roll < 0.2 else "H100 SXM"
    elif argument == "precision":
        value = PRECISIONS[rng.integers(len(PRECISIONS))] if roll < 0.3 else None
    elif roll < 0.02:
        value = ODD[rng.integers(len(ODD))]
    elif roll < 0.04:
        value = BAD[rng.integers(len(BAD))]
    elif roll < 0.35 and argument not in ("input_tokens", "output_tokens", "context_tokens"):
        value = None
    elif argument in ("mfu_prefill", "mfu_decode", "bw_eff", "headroom"):
        value = float(rng.uniform(0.05, 1.0))
    elif argument in ("batch", "gpus"):
        value = int(rng.choice([1, 2, 4, 8, 3]))
    elif argument in ("tpot_ms", "ttft_ms"):
        value = float(10 ** rng.uniform(0, 4))
    elif argument == "bytes_per_value":
        value = float(rng.choice([1.0, 2.0, 0.5]))
    else:
        value = float(10 ** rng.uniform(0, 4))
    return [[value]] if rng.random() < 0.3 else value


EXCEL = ["MODEL_SHAPE", "KV_BYTES_PER_TOKEN", "TTFT", "TIME_PER_TOKEN", "MAX_BATCH", "COST_PER_MTOK_SLO"]


class TestOneCellEqualsRanges:
    @pytest.mark.parametrize("name", EXCEL)
    def test_same_value_or_error_text(self, name, monkeypatch):
        import inspect

        function = getattr(udfs, name)
        rng = np.random.default_rng(sum(map(ord, name)) + 14)
        names = list(inspect.signature(function).parameters)
        calls = [[_excel_cell(rng, n) for n in names] for _ in range(COUNT)]
        fast = [function(*args) for args in calls]
        for one in ("_serving_one", "_slo_one", "_model_shape_one", "_kv_bytes_one"):
            monkeypatch.setattr(excel_serving, one, lambda *args: None)  # the general path only
        general = [function(*args) for args in calls]
        mismatches = [(args, f, g) for args, f, g in zip(calls, fast, general) if not _same_cells(f, g)]
        assert not mismatches, f"{len(mismatches)} differ; first: {mismatches[0]}"
        cells = [c for out in fast for c in (out if isinstance(out, list) else [[out]])[0]]
        texts = sum(isinstance(c, str) for c in cells)
        assert len(cells) // 20 < texts < len(cells) - len(cells) // 20  # both kinds, each well represented

    def test_repeated_lookups_are_kept_read_only(self):
        numbers = excel_serving._one_accelerator("H100 SXM", "bf16")
        assert excel_serving._one_accelerator("H100 SXM", "bf16") is numbers
        with pytest.raises(TypeError):
            numbers["peak_tflops"] = 1.0  # a kept answer cannot be changed by a caller
        assert numbers["peak_tflops"] == hardware.gpu("H100 SXM").peak_tflops("bf16")
        assert model_shapes.shape_numbers("llama 2 70b", ("layers",)) == (80.0,)


def _same_cells(a, b) -> bool:
    """Equal cells, floats bit for bit."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_cells(x, y) for x, y in zip(a, b))
    if type(a) is float and type(b) is float:
        return same(a, b)
    return type(a) is type(b) and a == b
