"""Fuzzing every public function of ``xlcalc.__all__`` from Python.

Seeded random arguments (plausible numbers, arrays of them, and the hostile values of tests/fuzz_values.py)
go to every function. A call may return, or raise one of xlcalc's own errors (``xlcalc.XlcalcError``,
whose message names the argument); any other exception (TypeError, OverflowError, MemoryError ...) or any
warning other than ``xlcalc.InvalidInputWarning`` is a finding. ``XLCALC_FUZZ_CALLS`` sets the number of
calls.
"""

from __future__ import annotations

import inspect
import math
import os
import pathlib
import random
import warnings

import numpy as np
import pytest

import xlcalc
from fuzz_values import CALLS, FIT_NAMES, REPLAY, SEED, hostile, odd_container, plausible

SKIPPED = {"invalid_reasons"}   # a context manager without arguments: used by the Excel layer fuzz
FILE_FUNCTIONS = {"read_runs", "load_catalog"}
SLOW = {"fit_scaling_law"}
SLOW_SHARE = 0.01
FUNCTIONS = tuple(sorted(
    name for name in xlcalc.__all__
    if callable(getattr(xlcalc, name)) and name not in SKIPPED
    and (not isinstance(getattr(xlcalc, name), type) or name == "Fit")))
SMALL_GRID = xlcalc.paper_grid()[::450]   # ten starting points: a fit in milliseconds
# Modules from which numpy's overflow RuntimeWarning may escape on extreme inputs: none. economics.py and
# serving.py (and the modules split from economics.py) let it escape until issue 14; their array paths now run
# under np.errstate (xlcalc._scalar_checks.float_fast_path) and their scalar paths on Python floats.
NUMPY_WARNINGS_FROM: set = set()


def _array(rng: random.Random, name: str):
    size = rng.choice((1, 2, 3, 7, 1000))
    values = np.array([plausible(rng, name) for _ in range(min(size, 8))] * (size // min(size, 8) + 1))[:size]
    if rng.random() < 0.5:
        values = values.astype(object)
        values[rng.randrange(size)] = hostile(rng)
    if rng.random() < 0.3 and size in (2, 1000):
        values = values.reshape(2, -1)
    return values if rng.random() < 0.5 else values.tolist()


def _value(rng: random.Random, name: str):
    roll = rng.random()
    if name == "fit":
        if roll < 0.4:
            return rng.choice(FIT_NAMES)
        if roll < 0.6:
            constants = list(xlcalc.get_fit(rng.choice(FIT_NAMES)).constants)
            constants[rng.randrange(5)] = hostile(rng)
            return constants
        if roll < 0.7:
            return xlcalc.get_fit(rng.choice(FIT_NAMES))
    if name in ("name",) and roll < 0.6:
        return rng.choice(xlcalc.gpu_names())
    if name == "catalog" and roll < 0.6:
        return None
    if name == "grid" and roll < 0.7:
        return SMALL_GRID
    if name == "bootstrap":  # a real count only small: 50,000 resamples is a long computation, not a finding
        return rng.randint(0, 3) if roll < 0.6 else rng.choice((-1, 0.5, 1e6, 10**400, math.nan, "2", None, True))
    if name == "seed" and roll < 0.6:
        return rng.randint(0, 3)
    if roll < 0.45:
        return plausible(rng, name)
    if roll < 0.7:
        return _array(rng, name)
    if roll < 0.95:
        return hostile(rng)
    return odd_container(rng)


def _file(rng: random.Random, folder: pathlib.Path):
    """A path a user might pass to a file reader: missing, a folder, a device, empty, garbage, a real file."""
    choice = rng.randrange(9)
    if choice == 0:
        return hostile(rng)
    if choice == 1:
        return rng.choice(("", "/nonexistent/runs.csv", str(folder), "/dev/null", "/dev/zero", "/dev/urandom",
                           "/proc/self/mem", "/etc/shadow"))
    path = folder / f"fuzz{rng.randrange(10**9)}.csv"
    if choice == 2:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))))
    elif choice == 3:
        path.write_text("params,tokens,loss\n" + "\n".join(
            ",".join(str(rng.choice((plausible(rng, "params"), hostile(rng)))) for _ in range(3)) for _ in range(5)))
    elif choice == 4:
        path.write_text('a,"b\n' * rng.randint(1, 50))
    else:
        return rng.choice(("tests/data/mosaic_training_runs.csv", "xlcalc/data/accelerators.csv",
                           pathlib.Path("xlcalc/data/prices.csv")))
    return path if rng.random() < 0.5 else str(path)


def arguments(rng: random.Random, name: str, folder: pathlib.Path) -> tuple[list, dict]:
    """Random positional and keyword arguments for ``xlcalc.<name>``."""
    args, kwargs = [], {}
    for parameter in inspect.signature(getattr(xlcalc, name)).parameters.values():
        required = parameter.default is inspect.Parameter.empty
        if not required and rng.random() < 0.6:
            continue
        if name in FILE_FUNCTIONS and parameter.name in ("path", "specs_csv", "prices_csv"):
            value = _file(rng, folder)
        elif name in FILE_FUNCTIONS and parameter.name.endswith("_col"):
            value = rng.choice(("params", "loss", "", "nope", None, hostile(rng)))
        else:
            value = _value(rng, parameter.name)
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    if name == "fit_scaling_law":
        kwargs.setdefault("grid", SMALL_GRID)
    return args, kwargs


def calls(seed: int, count: int, folder: pathlib.Path):
    rng = random.Random(seed)
    fast = [f for f in FUNCTIONS if f not in SLOW]
    for _ in range(count):
        name = rng.choice(sorted(SLOW)) if rng.random() < SLOW_SHARE else rng.choice(fast)
        yield name, *arguments(rng, name, folder)


def _shown(name, args, kwargs) -> str:
    return f"{name}(*{args!r:.200}, **{kwargs!r:.200})"


class TestPublicFunctions:
    def test_every_public_function_is_fuzzed(self, tmp_path):
        names = {name for name, _, _ in calls(SEED, max(CALLS, 600), tmp_path)}
        assert names == set(FUNCTIONS)

    def test_only_xlcalc_errors_and_no_stray_warnings(self, tmp_path):
        failures = []
        for number, (name, args, kwargs) in enumerate(calls(SEED, CALLS, tmp_path)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    getattr(xlcalc, name)(*args, **kwargs)
                except xlcalc.XlcalcError as exc:
                    if "\n" in str(exc) or not str(exc):
                        failures.append(f"call {number}: {_shown(name, args, kwargs)}: message {str(exc)!r:.300}")
                except Exception as exc:  # noqa: BLE001 - the finding
                    failures.append(f"call {number}: {_shown(name, args, kwargs)} raised "
                                    f"{type(exc).__name__}: {exc}")
            stray = [w for w in caught if not issubclass(w.category, xlcalc.InvalidInputWarning)
                     and not (w.category is RuntimeWarning and os.path.basename(w.filename) in NUMPY_WARNINGS_FROM)]
            if stray:
                failures.append(f"call {number}: {_shown(name, args, kwargs)} warned "
                                f"{stray[0].category.__name__}: {stray[0].message} ({stray[0].filename}:{stray[0].lineno})")
        assert not failures, f"{len(failures)} bad calls {REPLAY}; first: " + "\n".join(failures[:5])


class TestFindings:
    """What earlier fuzzing found, kept as plain cases."""

    @pytest.mark.parametrize("function,args", [
        ("chinchilla_optimal", (1e-300,)), ("compute_optimal", (2e12, 1)), ("chinchilla_for_loss", (1e6,)),
        ("chinchilla_tokens", (1e-30,)), ("tokens_for_loss", (1e6, 1e9)), ("params_for_loss", (1e6, 1e12)),
        ("loss", (0.5, 1e12)), ("loss", (1e9, 0.5)),
    ])
    def test_a_model_under_one_parameter_or_token_is_an_error(self, function, args):
        with pytest.raises(xlcalc.InvalidInputError, match="under one parameter or under one training token"):
            getattr(xlcalc, function)(*args)

    def test_cost_optimal_nonsense_model(self):
        with pytest.raises(xlcalc.InvalidInputError, match=r"loss = 2e\+12, .* no real model: lower the loss"):
            xlcalc.cost_optimal(2e12, 1, 1, train_usd_per_hour=1, train_peak_tflops=300, infer_usd_per_hour=1,
                                infer_peak_tflops=300)

    def test_nonsense_models_are_nan_with_a_reason_in_arrays(self):
        with xlcalc.invalid_reasons() as why:
            opt = xlcalc.compute_optimal([1.947, 2e12], 2e12)
        assert opt.params[0] == pytest.approx(2.418e10, rel=1e-3) and np.isnan(opt.params[1])
        assert why.reasons[0] == ""
        assert why.reasons[1] == ("loss = 2e+12, inference_tokens = 2e+12 give a model of under one parameter or "
                                  "under one training token, which is no real model: lower the loss")

    def test_extreme_fit_constants_are_an_error_not_an_overflow(self):
        # Python float arithmetic raising OverflowError names the fit; the numpy kernels' inf names the inputs
        with pytest.raises(xlcalc.InvalidInputError, match=r"give?s? a result outside the floating-point range"):
            xlcalc.budget_optimal(1e22, 1e10, fit=[1.87, 520, 1487, 0.35, 2.2e-308])

    def test_extreme_fit_gives_no_numpy_warning(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(xlcalc.InvalidInputError):
                xlcalc.chinchilla_optimal(1e20, fit=[1.69, 406.4, 410.7, 1e-300, 0.283])

    def test_a_broadcast_too_big_for_memory_is_refused_at_once(self):
        column, row = np.full((100_000, 1), 7e9), np.full((1, 100_000), 1e12)
        with pytest.raises(xlcalc.InvalidInputError, match=r"arguments broadcast to 10,000,000,000 elements "
                                                           r"\(params\(100000, 1\), tokens\(1, 100000\)\): at most "
                                                           r"16,777,216 in one call"):
            xlcalc.loss(column, row)

    def test_each_bad_value_is_shown_as_typed(self):
        with xlcalc.invalid_reasons() as why:
            xlcalc.loss([0.0, -0.0, -1.0, -0.0, float("nan")], 1e12)
        assert [r.split(" is ")[0] for r in why.reasons] == ["params = 0", "params = -0", "params = -1", "params = -0",
                                                             "params = NaN"]

    def test_integer_beyond_float_range_is_named(self):
        with pytest.raises(xlcalc.InvalidInputError, match="params is an integer of 401 digits beyond"):
            xlcalc.loss(10**400, 1e12)


class TestWarningsPointAtTheCaller:
    """InvalidInputWarning names the caller's line, however many xlcalc functions lie in between."""

    @pytest.mark.parametrize("call", [
        lambda: xlcalc.loss([1e9, -1.0], 1e10),
        lambda: xlcalc.compute_optimal([1.9, -1.0], 1e10),
        lambda: xlcalc.cost_optimal([1.9, -1.0], 1e10, 1e10, train_usd_per_hour=1, train_peak_tflops=1,
                                    infer_usd_per_hour=1, infer_peak_tflops=1),
        lambda: xlcalc.cost_optimal_per_request([1.9, -1.0], 1e6, 100, 100, train_usd_per_hour=1,
                                                train_peak_tflops=1, infer_usd_per_hour=1, infer_peak_tflops=1),
        lambda: xlcalc.tokens_per_sec([7e9, -1.0], 312, 2.0),
        lambda: xlcalc.monthly_cost([7e9, -1.0], 1e6, 100, 100, 2.0, 312, 2.0),
    ])
    def test_points_at_this_file(self, call):
        with pytest.warns(xlcalc.InvalidInputWarning) as caught:
            call()
        assert [os.path.basename(w.filename) for w in caught] == ["test_fuzz_api.py"]
