"""Fuzzing every Excel function, as plain Python calls and through xlwings' own ``call_udf``.

Seeded random arguments (tests/fuzz_values.py: NaN, inf, -0.0, 1e308, 5e-324, 10**400, booleans, empty
cells, text, error cells, dates, odd containers, long and big ranges) go to every function in
``xlcalc.udfs.__all__``. Whatever comes in, a function must give back a value or rows of values in which
every cell is a finite number or text, every error text starts with an Excel error code, and no cell holds a
traceback or an "internal error" (an exception nobody expected). ``XLCALC_FUZZ_CALLS`` sets the number of
plain calls (the xlwings calls are a third of it).
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import random

import numpy as np
import pytest

import xlcalc
from xlcalc.excel import _convert as _excel
from xlcalc import udfs
from fuzz_values import CALLS, FIT_NAMES, REPLAY, SEED, cells, hostile, odd_container, plausible

FUNCTIONS = tuple(udfs.__all__)
SLOW = {"SCALING_FIT"}          # a fit runs 4,500 starts: fuzzed a few times only
SLOW_SHARE = 0.001


def _fit_argument(rng: random.Random):
    roll = rng.random()
    if roll < 0.45:
        return rng.choice((None, *FIT_NAMES))
    if roll < 0.65:
        constants = list(xlcalc.get_fit(rng.choice(FIT_NAMES)).constants)
        if rng.random() < 0.5:
            constants[rng.randrange(5)] = hostile(rng)
        return [constants] if rng.random() < 0.5 else [[c] for c in constants]
    if roll < 0.8:
        return [[hostile(rng) for _ in range(rng.choice((1, 4, 5, 6)))]]
    return hostile(rng) if rng.random() < 0.7 else odd_container(rng)


def _name_argument(rng: random.Random, names):
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(names)
    if roll < 0.8:
        return [[rng.choice(names) for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(1, 3))]
    return hostile(rng)


def _data_argument(rng: random.Random, name: str, size: int):
    values = [plausible(rng, name) for _ in range(size)]
    for _ in range(rng.randint(0, 2)):
        values[rng.randrange(size)] = hostile(rng)
    return [[v] for v in values]


def arguments(rng: random.Random, function_name: str) -> list:
    """Random arguments for one call of the Excel function ``function_name``."""
    udf = getattr(udfs, function_name)
    names = list(inspect.signature(udf).parameters)
    gpu_names = xlcalc.gpu_names()
    if function_name == "SCALING_FIT":
        size = rng.choice((0, 1, 3, 6, 9))
        return [_data_argument(rng, name, max(size, 1)) if size else hostile(rng) for name in names]
    out = []
    for name in names:
        if rng.random() < 0.03:
            out.append(odd_container(rng))
        elif name == "fit":
            out.append(_fit_argument(rng))
        elif name in ("gpu_name",):
            out.append(_name_argument(rng, gpu_names))
        elif name == "field":
            out.append(_name_argument(rng, list(xlcalc.ACCELERATOR_FIELDS)))
        elif name == "fit_name":
            out.append(_name_argument(rng, list(FIT_NAMES)))
        else:
            out.append(cells(rng, name, hostility=rng.choice((0.0, 0.1, 0.3, 0.8))))
    return out


def calls(seed: int, count: int):
    """``count`` (function name, arguments) pairs; the slow functions get a small share."""
    rng = random.Random(seed)
    fast = [f for f in FUNCTIONS if f not in SLOW]
    for _ in range(count):
        name = rng.choice(sorted(SLOW)) if rng.random() < SLOW_SHARE else rng.choice(fast)
        yield name, arguments(rng, name)


def bad_cells(result) -> list[str]:
    """What is wrong with a result as Excel would show it ([] when every cell is fine)."""
    rows = result if isinstance(result, list) else [[result]]
    problems = []
    if not all(isinstance(row, list) for row in rows) or len({len(row) for row in rows}) > 1:
        return [f"not rows of equal length: {result!r:.200}"]
    for row in rows:
        for cell in row:
            if isinstance(cell, bool) or not isinstance(cell, (float, int, str)):
                problems.append(f"cell of type {type(cell).__name__}: {cell!r:.100}")
            elif isinstance(cell, float) and not math.isfinite(cell):
                problems.append(f"non-finite number {cell!r}")
            elif isinstance(cell, str):
                if "Traceback" in cell or "internal error" in cell or 'File "' in cell:
                    problems.append(f"traceback or internal error: {cell[:300]}")
                elif cell.startswith("#") and cell.split(" ", 1)[0] not in _excel.EXCEL_ERRORS:
                    problems.append(f"unknown error code: {cell[:100]}")
    return problems


def _shown(args) -> str:
    return repr(args)[:300]


class TestPlainCalls:
    """Every Excel function called as xlwings Lite and Linux call it: plain Python, rows of cells."""

    def test_every_function_is_fuzzed(self):
        names = {name for name, _ in calls(SEED, max(CALLS, 300))}
        assert names >= set(FUNCTIONS) - SLOW

    def test_no_exception_and_no_traceback_in_any_cell(self):
        failures = []
        for number, (name, args) in enumerate(calls(SEED, CALLS)):
            try:
                result = getattr(udfs, name)(*args)
            except Exception as exc:  # noqa: BLE001 - the finding
                failures.append(f"call {number}: {name}{_shown(args)} raised {type(exc).__name__}: {exc}")
                continue
            failures += [f"call {number}: {name}{_shown(args)}: {p}" for p in bad_cells(result)[:1]]
        assert not failures, f"{len(failures)} bad calls {REPLAY}; first: " + "\n".join(failures[:5])

    def test_scaling_fit_with_hostile_data(self):
        rng = random.Random(SEED)
        for _ in range(max(3, CALLS // 1000)):
            args = arguments(rng, "SCALING_FIT")
            assert not bad_cells(udfs.SCALING_FIT(*args)), _shown(args)

    @pytest.mark.parametrize("huge", [10**400, -(10**400), 10**309])
    def test_integers_beyond_the_float_range_are_named(self, huge):
        out = udfs.CHINCHILLA_LOSS([[7e10, huge]], 1e12)
        assert isinstance(out[0][0], float)
        assert out[0][1] == (f"#NUM! params is an integer of {len(str(abs(huge)))} digits, beyond the "
                             "floating-point range: must be a number below about 1.8e308")
        assert udfs.CHINCHILLA_LOSS(7e10, 1e12, [[1.69, 406.4, 410.7, 0.336, huge]]).startswith(
            "#VALUE! fit is an integer of")
        assert udfs.GPU_SPEC(huge, "memory_gb").startswith("#VALUE! gpu_name = an integer of")

    def test_a_nonsense_model_is_an_error_per_cell(self):
        out = udfs.CHINCHILLA_OPT([[1e-300], [1e24]])
        assert out[0] == ["#NUM! compute_flops = 1e-300 give a model of under one parameter or under one "
                          "training token, which is no real model: raise compute_flops (or check the fit)"] * 3
        assert all(isinstance(v, float) for v in out[1])


class TestThroughXlwings:
    """The same fuzzing as Excel on Windows calls the functions: xlwings' call_udf over COM-like ranges."""

    @staticmethod
    def _com(value, rng):
        """What Excel can pass: constants typed in the formula, or ranges whose cells COM can hold."""
        from test_udfs_xlwings import COM_ERRORS, MISSING, ExcelRange, TimeType
        if value is None and rng.random() < 0.5:
            return MISSING

        def cell(v):
            if isinstance(v, str) and v in COM_ERRORS:
                return COM_ERRORS[v]
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            if isinstance(v, dt.date):
                return TimeType(v.year, v.month, v.day)
            if v is None or isinstance(v, (str, float, int, bool)):
                return v
            return repr(v)

        if isinstance(value, list) and value and all(isinstance(r, list) and r for r in value) \
                and len({len(r) for r in value}) == 1:
            return ExcelRange([[cell(v) for v in r] for r in value])
        if isinstance(value, (list, np.ndarray)):
            return repr(value)[:200]
        return cell(value)

    def test_no_exception_and_no_traceback_in_any_cell(self, windows):
        from test_udfs_xlwings import excel_call
        rng = random.Random(SEED + 1)
        failures = []
        for number, (name, args) in enumerate(calls(SEED + 1, max(CALLS // 3, 50))):
            com_args = [self._com(a, rng) for a in args]
            try:
                result = excel_call(windows, name, *com_args)
            except Exception as exc:  # noqa: BLE001 - the finding
                failures.append(f"call {number}: {name}{_shown(args)} raised {type(exc).__name__}: {exc}")
                continue
            failures += [f"call {number}: {name}{_shown(args)}: {p}" for p in bad_cells(result)[:1]]
        assert not failures, f"{len(failures)} bad calls {REPLAY}; first: " + "\n".join(failures[:5])
