"""Scalar fast paths of issue 14 give what the array paths give, over thousands of seeded random inputs.

- every Excel function that takes numbers: a one-cell call (xlcalc.excel._convert's fast path) gives the same value or
  the same error text as the general range path, over 2,000 random cells each, bad ones included (text, TRUE,
  error cells, empty cells, huge integers, NaN, infinities, values that underflow a denominator to zero);
- every serving and economics function (xlcalc._scalar_checks, Python floats): a scalar call gives the same
  digits, bit for bit, or raises the same error as the element of an array call, over 2,000 inputs each;
- the float helpers equal numpy's functions, NaN and infinities included;
- no numpy RuntimeWarning escapes from these functions on extreme inputs, scalar or array.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import warnings

import numpy as np
import pytest

import xlcalc
import test_scalar_paths as scalar_paths
from xlcalc.excel import _convert as _excel
from xlcalc import _scalar_checks, udfs
from xlcalc.core import breakeven, economics, monthly_serving, owned_hardware, serving

COUNT = 2000
BAD_NUMBERS = (-1.0, 0.0, math.nan, math.inf, -math.inf, 1e300, -3e9, 5e-320, 1e-300, 2.0**53 + 2)
BAD_CELLS = ("", "  ", "abc", "#DIV/0!", "#N/A", True, False, "1e3", 10**400, [[None]], [[2.5, 3.0]])


same = scalar_paths.same


# ----------------------------------------------------------------------------------------------
# Excel functions: one-cell fast path against the general range path


def _numeric_udfs():
    """Every Excel function that goes through xlcalc.excel._convert.compute (one number per argument)."""
    found = []
    for name in udfs.__all__:
        function = getattr(udfs, name)
        source = inspect.getsource(function)
        if "xl.compute(" in source:
            found.append(pytest.param(function, id=name))
    return found


def _cell(rng: np.random.Generator, name: str, share: float):
    """A random cell for argument ``name``: odd (empty, bad, [[x]], an int) with probability about 2 share."""
    roll = rng.random() / share
    if roll < 0.3:
        return None
    if roll < 0.7:
        return BAD_NUMBERS[rng.integers(len(BAD_NUMBERS))]
    if roll < 1.0:
        return BAD_CELLS[rng.integers(len(BAD_CELLS))]
    if roll < 1.5:
        return [[float(rng.uniform(1, 100))]]  # one cell as xlwings passes it with ndim=2
    if roll < 2.0:
        return int(rng.integers(1, 10**6))
    if name == "objective":
        return str(rng.choice(["usd", "kwh", "co2"]))
    if name == "loss":
        return float(rng.uniform(1.6, 3.5))
    if name.startswith(("mfu", "bw_eff", "utilisation")):
        return float(rng.uniform(0.001, 1.0))
    if name in ("batch", "gpus", "gpus_per_replica", "bytes_per_param"):
        return float(rng.integers(1, 64))
    if name == "peak_factor":
        return float(rng.uniform(1.0, 4.0))
    return float(10 ** rng.uniform(-1, 14))


class TestOneCellEqualsRanges:
    @pytest.mark.parametrize("function", _numeric_udfs())
    def test_same_value_or_error_text(self, function, monkeypatch):
        rng = np.random.default_rng(sum(map(ord, function.__name__)) + 14)
        names = [p for p in inspect.signature(function).parameters if p != "fit"]
        share = min(0.1, 0.5 / len(names))  # so that about half the calls have a bad or odd cell
        calls = [[_cell(rng, n, share) for n in names] for _ in range(COUNT)]
        fast = [function(*args) for args in calls]
        monkeypatch.setattr(_excel, "_single_numbers", lambda core, numbers: None)  # the general path only
        general = [function(*args) for args in calls]
        mismatches = [(args, f, g) for args, f, g in zip(calls, fast, general) if f != g]
        assert not mismatches, f"{len(mismatches)} differ; first: {mismatches[0]}"
        cells = [c for out in fast for c in (out if isinstance(out, list) else [[out]])[0]]
        texts = sum(isinstance(c, str) for c in cells)
        assert len(cells) // 20 < texts < len(cells) - len(cells) // 20  # both kinds, each well represented

    @pytest.mark.parametrize("name", ["GPU_SPEC", "FIT_CONSTANTS"])
    def test_one_name_per_argument_same_as_ranges(self, name, monkeypatch):
        """The functions of names (xlcalc.excel._convert.per_cell): one-name fast path against the general path."""
        from xlcalc.data import hardware
        from xlcalc.core import laws

        function = getattr(udfs, name)
        names = {"gpu_name": list(hardware.gpu_names()) + ["h100 sxm", " L4 ", "H100", "nope"],
                 "field": list(hardware.ACCELERATOR_FIELDS) + ["Memory_GB ", "bad"],
                 "fit_name": list(laws.FITS) + [" Chinchilla ", "nope"]}
        rng = np.random.default_rng(14)

        def cell(argument):
            roll = rng.random()
            if roll < 0.15:
                return BAD_CELLS[rng.integers(len(BAD_CELLS))]
            if roll < 0.2:
                return None
            text = str(rng.choice(names[argument]))
            return [[text]] if roll < 0.3 else text

        arguments = list(inspect.signature(function).parameters)
        calls = [[cell(a) for a in arguments] for _ in range(COUNT)]
        fast = [function(*args) for args in calls]
        monkeypatch.setattr(_excel, "_single_texts", lambda texts: None)  # the general path only
        assert fast == [function(*args) for args in calls]
        texts = sum(isinstance(out, str) and out.startswith("#") or isinstance(out, list) and str(out[0][0]).startswith("#")
                    for out in fast)
        assert COUNT // 20 < texts < COUNT - COUNT // 20

    def test_an_empty_fit_is_the_default_fit_and_a_named_one_is_read(self):
        assert udfs.CHINCHILLA_LOSS(7e10, 1.4e12, None) == udfs.CHINCHILLA_LOSS(7e10, 1.4e12, [[xlcalc.DEFAULT_FIT]])
        assert udfs.CHINCHILLA_LOSS(7e10, 1.4e12, "epoch2024") == xlcalc.loss(7e10, 1.4e12, fit="epoch2024")
        assert udfs.CHINCHILLA_LOSS(7e10, 1.4e12, "no such fit").startswith("#N/A")


# ----------------------------------------------------------------------------------------------
# Serving and economics: scalar calls on Python floats against array calls

TYPICAL = {**scalar_paths.TYPICAL, "memory_gb": 2000.0}  # GPUs large enough that most models fit
WHOLE = scalar_paths.WHOLE
FAST_PATH_MODULES = (serving, economics, monthly_serving, owned_hardware, breakeven)


def _fast_path_functions():
    found = []
    for module in FAST_PATH_MODULES:
        for name, function in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(function) and function.__module__ == module.__name__
                    and getattr(function, "quiet", False)):
                found.append(pytest.param(function, id=f"{module.__name__.split('.')[-1]}.{name}"))
    return found


_numbers = scalar_paths._numbers


def _values(rng, name: str, parameter, share: float) -> np.ndarray:
    typical = TYPICAL.get(name, parameter.default if isinstance(parameter.default, (int, float)) else 1.0)
    values = typical * 10 ** rng.uniform(-1.5, 1.5, COUNT) if typical else 10 ** rng.uniform(0, 4, COUNT)
    if name in WHOLE:
        values = np.ceil(values)
    elif name.startswith(("mfu", "bw_eff", "utilisation")):
        values = rng.uniform(0.01, 1.0, COUNT)
    elif name in ("peak_factor", "pue"):
        values = rng.uniform(1.0, 3.0, COUNT)
    bad = rng.random(COUNT) < share
    values[bad] = rng.choice(BAD_NUMBERS, bad.sum())
    extreme = rng.random(COUNT) < share  # overflow, and a product that underflows to a zero denominator
    values[extreme] = rng.choice([1e300, 1e-300, 1e200, 1e-200, 1.7e308], extreme.sum())
    return values


class TestFloatPathEqualsArrayPath:
    def test_every_serving_and_economics_function_is_covered(self):
        names = {p.id.split(".")[-1] for p in _fast_path_functions()}
        public = {n for n in xlcalc.__all__ if inspect.isfunction(getattr(xlcalc, n))
                  and getattr(xlcalc, n).__module__ in {m.__name__ for m in FAST_PATH_MODULES}}
        assert public - {"fit_overtrain_ratio"} <= names  # fit_overtrain_ratio solves with the fit's powers
        assert len(names) >= 20

    @pytest.mark.parametrize("function", _fast_path_functions())
    def test_same_digits_and_errors(self, function):
        rng = np.random.default_rng(sum(map(ord, function.__name__)) + 14)
        parameters = {name: parameter for name, parameter in inspect.signature(function).parameters.items()
                      if name != "fit" and (parameter.default is inspect.Parameter.empty or rng.random() < 0.6)}
        share = min(0.05, 0.3 / len(parameters))  # bad and extreme values: each in about a third of the calls
        arrays = {name: _values(rng, name, parameter, share) for name, parameter in parameters.items()}
        with xlcalc.invalid_reasons() as why, warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy warning escapes from the array path
            result = function(**arrays)
        columns = [np.broadcast_to(np.asarray(v, dtype=float), (COUNT,)) for v in _numbers(result)]
        reasons = np.broadcast_to(np.asarray(why.reasons, dtype=object), (COUNT,))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nor from the scalar path
            for i in range(COUNT):
                scalars = {name: float(v[i]) for name, v in arrays.items()}
                if reasons[i]:
                    with pytest.raises(xlcalc.XlcalcError) as raised:
                        function(**scalars)
                    assert str(raised.value) == reasons[i]
                else:
                    got = _numbers(function(**scalars))
                    assert all(type(x) is float for x in got)
                    assert all(same(x, float(c[i])) for x, c in zip(got, columns)), (scalars, got)
        assert COUNT // 50 < sum(map(bool, reasons)) < COUNT - COUNT // 4

    def test_a_denominator_underflowing_to_zero_falls_back_to_the_array_path(self):
        # 1e-300 x 1e12 x 1e-300 is 0.0 in floats: Python raises ZeroDivisionError where numpy gives inf; the scalar
        # call must still give the array path's error, naming the inputs.
        tiny = dict(peak_tflops=1e-300, mem_bw_tbs=1e-300, mfu=1e-300, bw_eff=1e-300)
        with pytest.raises(ZeroDivisionError):
            serving._decode_step_s(1.0, 1e-300, 1e-300, 2.0, 1.0, 1.0, 1e-300, 1e-300, 0.0, 0.0)  # on floats
        got = _errors(lambda: serving.time_per_output_token_s(1.0, **tiny))
        want = _errors(lambda: serving.time_per_output_token_s(np.asarray(1.0), **{k: np.asarray(v) for k, v in tiny.items()}))
        assert [str(e) for e in got] == [str(e) for e in want] and len(got) == 1
        assert "too extreme" in str(got[0]) and "peak_tflops = 1e-300" in str(got[0])

    def test_the_scalar_result_is_a_plain_float(self):
        assert type(economics.train_flops(7e10, 1.4e12)) is float
        assert type(monthly_serving.gpus_needed(7e9, 10e6, 0, 500, 2.0, 312, 2.0)) is float
        assert type(economics.train_flops(np.float64(7e10), 2)) is float


def _errors(call) -> list:
    try:
        call()
    except xlcalc.XlcalcError as exc:
        return [exc]
    return []


# ----------------------------------------------------------------------------------------------
# The float helpers


class TestFloatHelpers:
    VALUES = (0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e300, -1e300, 4.5e15, 1e-300, math.inf, -math.inf, math.nan)

    @pytest.mark.parametrize("helper, reference", [(_scalar_checks.ceil, np.ceil)])
    def test_ceil_is_numpys(self, helper, reference):
        for x in self.VALUES + tuple(np.random.default_rng(0).uniform(-1e6, 1e6, 500)):
            got = helper(float(x))
            assert type(got) is float and same(got, float(reference(x)))

    def test_maximum_is_numpys(self):
        values = self.VALUES + tuple(np.random.default_rng(1).uniform(-10, 10, 40))
        for a in values:
            for b in values:
                got = _scalar_checks.maximum(float(a), float(b))
                assert same(got, float(np.maximum(a, b))) and type(got) is float

    def test_where_is_numpys(self):
        assert _scalar_checks.where(True, 1.0, 2.0) == 1.0 and _scalar_checks.where(False, 1.0, 2.0) == 2.0
        assert np.array_equal(_scalar_checks.where(np.array([True, False]), 1.0, 2.0), [1.0, 2.0])

    def test_arrays_go_to_numpy(self):
        a = np.array([1.0, np.nan, 3.0])
        assert np.array_equal(_scalar_checks.maximum(a, 2.0), np.maximum(a, 2.0), equal_nan=True)
        assert np.array_equal(_scalar_checks.ceil(a / 2), np.ceil(a / 2), equal_nan=True)


# ----------------------------------------------------------------------------------------------
# The split modules


class TestSplitModules:
    def test_every_family_module_is_imported_by_udfs_and_replaced_in_the_xlwings_tests(self):
        from test_udfs_xlwings import FAMILY_MODULES

        import xlcalc.excel

        found = {f"xlcalc.excel.{m.name}" for m in pkgutil.iter_modules(xlcalc.excel.__path__)
                 if not m.name.startswith("_") and m.name != "docs"}
        assert found == set(FAMILY_MODULES)
        for name in found:
            module = importlib.import_module(name)
            assert set(module.__all__) <= set(udfs.__all__)

    def test_names_stay_importable_from_where_they_were(self):
        from xlcalc._checks import Checked, format_value, invalid_reasons, overflow_checked  # noqa: F401
        from xlcalc.excel._convert import EXCEL_ERRORS, ExcelError, grid, number_cells  # noqa: F401
        from xlcalc.core.economics import (
            HOURS_PER_MONTH,
            MonthlyCost,
            breakeven_tokens,
            energy_kwh_per_mtok,
            gpus_needed,
            owned_usd_per_hour,
        )
        from xlcalc.excel._arguments import CATEGORY, FIT, _arguments  # noqa: F401
        from xlcalc.excel.laws import _fit_constants  # noqa: F401

        assert economics.monthly_cost is monthly_serving.monthly_cost
        assert xlcalc.invalid_reasons is invalid_reasons
