"""Array calls run a chunk at a time (xlcalc.core._chunks): the same digits, NaNs, reasons and warning as one whole
call, with a few chunks of memory beyond the inputs and outputs.

Each chunked function is called on a few chunks of seeded random inputs, bad ones included, and compared with
its undecorated self (``__wrapped__``, the whole-array path) bit for bit, with the reasons inside
xlcalc.invalid_reasons() and with the warning outside it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tracemalloc
import warnings

import numpy as np
import pytest

import xlcalc
from xlcalc.core._chunks import CHUNK_ELEMENTS
from xlcalc.core import breakeven, data_limits, economics, laws, monthly_serving, owned_hardware, serving

SIZE = 2 * CHUNK_ELEMENTS + 123
CHUNKED = [getattr(module, name) for module in (laws, economics, monthly_serving, owned_hardware, breakeven, serving,
                                                 data_limits)
           for name in dir(module) if name in xlcalc.__all__ and hasattr(getattr(module, name), "__wrapped__")
           and getattr(getattr(module, name), "__module__", "") == module.__name__]
NAMES = sorted({f.__name__ for f in CHUNKED})

# Typical ranges (log-uniform low, high) by argument name; whole numbers where a count is asked for.
RANGES = {"params": (1e8, 1e12), "tokens": (1e9, 1e14), "loss": (1.8, 3.0), "compute_flops": (1e19, 1e26),
          "usd_per_hour": (0.5, 8), "peak_tflops": (100, 2000), "mem_bw_tbs": (1, 8), "mfu": (0.05, 1),
          "memory_gb": (16, 192), "unique_tokens": (1e8, 1e13), "years": (1, 6), "tdp_w": (300, 1000),
          "purchase_usd": (1e4, 4e4), "pue": (1, 1.5), "usd_per_kwh": (0.05, 0.3), "utilisation": (0.3, 1),
          "inference_cost_ratio": (0.2, 5), "requests_per_day": (1e3, 1e8), "requests_per_month": (1e4, 1e10),
          "input_tokens": (10, 4000), "output_tokens": (10, 2000), "tokens_per_request": (10, 4000),
          "bytes_per_param": (0.5, 4), "bw_eff": (0.3, 1), "kv_bytes_per_token": (1e3, 1e6),
          "context_tokens": (0.5, 8000), "peak_factor": (1, 4), "hours_per_month": (100, 730),
          "head_dim": (32, 256), "bytes_per_value": (1, 4)}
WHOLE = {"batch": (1, 256), "gpus": (1, 8), "gpus_per_replica": (1, 8), "layers": (8, 128), "kv_heads": (1, 64)}
BAD = [-1.0, 0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -3e9, 5e-320, 0.5]


def _range(name):
    for key in (name, name.rsplit("_", 1)[0], name.split("_", 1)[-1]):
        if key in RANGES or key in WHOLE:
            return RANGES.get(key) or WHOLE.get(key), key in WHOLE
    if name.startswith(("mfu", "bw")):
        return RANGES["mfu"], False
    if "tokens" in name:
        return RANGES["tokens"], False
    return RANGES["params"], False


def arguments(function, rng, size=SIZE, bad_share=0.03):
    """Random arrays for every numeric argument of ``function`` (memory_gb too), about ``bad_share`` of each bad."""
    values = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "fit" or (parameter.default is not inspect.Parameter.empty and rng.random() < 0.3
                             and name != "memory_gb"):
            continue
        (low, high), whole = _range(name)
        v = np.exp(rng.uniform(math.log(low), math.log(high), size))
        if whole:
            v = np.floor(v)
        if name == "loss":
            v = laws.loss(np.exp(rng.uniform(math.log(1e8), math.log(1e12), size)), 2e11)
        bad = rng.random(size) < bad_share
        v[bad] = rng.choice(BAD, int(bad.sum()))
        values[name] = v
    return values


def bits(result) -> list:
    """Every array of a result as its bytes (so -0 and NaN payloads count), with its field path."""
    if dataclasses.is_dataclass(result):
        return [(f.name, b) for f in dataclasses.fields(result) for b in bits(getattr(result, f.name))]
    if isinstance(result, tuple):
        return [b for item in result for b in bits(item)]
    array = np.asarray(result)
    return [(array.shape, array.dtype, array.tobytes())]


def both(function, **kwargs):
    """(chunked, whole) results, reasons inside invalid_reasons(), and warnings outside, of one call."""
    out = []
    for f in (function, function.__wrapped__):
        with xlcalc.invalid_reasons() as why:
            result = f(**kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = f(**kwargs)
        out.append((bits(result), np.asarray(why.reasons).tolist(), bits(again),
                    [(w.category, str(w.message), w.filename) for w in caught]))
    return out


@pytest.mark.parametrize("name", NAMES)
class TestChunkedEqualsWhole:
    def function(self, name):
        return next(f for f in CHUNKED if f.__name__ == name)

    def test_random_with_bad_elements(self, name):
        function = self.function(name)
        rng = np.random.default_rng(abs(hash(name)) % 2**32)
        kwargs = arguments(function, rng)
        first = next(iter(kwargs))
        kwargs[first] = np.repeat(kwargs[first], 2)[::2]  # a strided view
        chunked, whole = both(function, **kwargs)
        assert chunked == whole
        assert any(r for r in chunked[1]), "the inputs include bad elements"
        assert len(chunked[3]) == 1 and chunked[3][0][2] == __file__  # one warning, at this line

    def test_all_valid_and_broadcast(self, name):
        function = self.function(name)
        rng = np.random.default_rng(1)
        kwargs = arguments(function, rng, bad_share=0.0)
        first = next(iter(kwargs))
        if len(kwargs) == 1:  # a transposed (not contiguous) 400 x 300 array
            grid = {first: kwargs[first][:120_000].reshape(300, 400).T}
        else:  # a column against rows: 400 x 300
            grid = {k: (v[:400].reshape(400, 1) if k == first else v[:300]) for k, v in kwargs.items()}
        chunked, whole = both(function, **grid)
        assert chunked == whole
        shapes = {b[-1][0] if isinstance(b[-1], tuple) else b[0] for b in chunked[0]}
        assert shapes == {(400, 300)}


def test_every_array_function_of_these_modules_is_chunked():
    assert len(NAMES) == 33
    assert {"loss", "monthly_cost", "tokens_per_sec", "breakeven_days", "data_constrained_loss"} <= set(NAMES)


def test_calls_that_are_not_planned_run_unchanged():
    # lists, one chunk or less, shapes that do not broadcast: the whole-array path and its errors
    assert xlcalc.loss([1e9, 2e9], 2e10).tolist() == laws.loss.__wrapped__([1e9, 2e9], 2e10).tolist()
    with pytest.raises(xlcalc.InvalidInputError, match="do not broadcast"):
        xlcalc.loss(np.ones(CHUNK_ELEMENTS + 1), np.ones(CHUNK_ELEMENTS + 2))
    with pytest.raises(xlcalc.InvalidInputError, match="params is an array of booleans"):
        xlcalc.loss(np.ones(CHUNK_ELEMENTS + 1, dtype=bool), 1e10)
    assert type(xlcalc.loss(1e9, 2e10)) is float


@pytest.mark.parametrize("name", ["loss", "monthly_cost", "blended_cost_per_mtok", "breakeven_days", "train_cost"])
def test_memory_beyond_inputs_and_outputs_is_a_few_chunks(name):
    """tracemalloc's peak during a call of 1,000,000 scenarios, less its outputs: under 16 bytes a scenario
    (issue 14; benchmarks/memory.py measures every function), under half what the whole-array path needs."""
    function = next(f for f in CHUNKED if f.__name__ == name)
    kwargs = arguments(function, np.random.default_rng(3), size=1_000_000, bad_share=0.0)
    kwargs.pop("memory_gb", None)  # all valid: no reasons (8 bytes each, both paths)

    def extra(f):
        tracemalloc.start()
        result = f(**kwargs)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        kept = sum(len(b[-1][-1] if isinstance(b[-1], tuple) else b[-1]) for b in bits(result))
        return (peak - kept) / 1_000_000

    assert extra(function) < min(16.0, extra(function.__wrapped__) / 2)
