"""Plumbing of the Excel face: Excel values in, numbers out, and errors as Excel error text per cell.

The UDFs in :mod:`xlcalc.udfs` are one call each into this module. What it does, and nothing else:

- read what xlwings hands over (:mod:`xlcalc.excel._cells`, re-exported here) (with ``ndim=2`` every argument is a list of rows; plain Python callers may
  pass scalars, 1-D lists or arrays): numbers, text, empty cells (``None``), error cells (``'#DIV/0!'``
  with ``err_to_str=True``), TRUE/FALSE and dates;
- an empty optional cell means the core function's default; an empty required cell is an error;
- broadcast the ranges like numpy (a column against a row gives a grid);
- call the core function once for the whole range inside :func:`xlcalc.invalid_reasons`, and give back
  a value or an error text for every cell: ``'#VALUE! ...'`` for a wrong type, ``'#NUM! ...'`` for an
  impossible number, ``'#N/A ...'`` for an unknown name, the input's own code for an error cell;
- never let an exception out: anything unexpected becomes ``'#VALUE! internal error: ...'``.

No math lives here: the defaults come from the core functions' signatures, the checks from their
:class:`~xlcalc._checks.Checked`.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .._checks import _EXACT_INT, invalid_reasons
from ._cells import (
    EXCEL_ERRORS,
    MAX_CELLS,
    NA,
    NUM,
    REQUIRED,
    VALUE,
    Cells,
    ExcelError,
    _excel_error_code,
    _first_error,
    _number_or_reason,
    _size,
    broadcast_shape,
    data_columns,
    fit_value,
    grid,
    number_cells,
    text_cells,
)
from ..errors import DataFileError, DoesNotFitError, InvalidInputError, UnknownNameError
from ..core.laws import DEFAULT_FIT, Fit, get_fit


def error_text(exc: BaseException) -> str:
    """The Excel text for an exception: the error code that fits its kind, then its message."""
    if isinstance(exc, ExcelError):
        return exc.text
    if isinstance(exc, UnknownNameError):
        return f"{NA} {exc}"
    if isinstance(exc, (InvalidInputError, DoesNotFitError)):
        return f"{NUM} {exc}"
    if isinstance(exc, DataFileError):
        return f"{VALUE} {exc}"
    return f"{VALUE} internal error: {type(exc).__name__}: {exc}"


def cell_errors(udf):
    """Decorator: whatever ``udf`` raises comes back as Excel error text in one cell, never a traceback."""

    @functools.wraps(udf)
    def guarded(*args):
        try:
            return udf(*args)
        except Exception as exc:  # noqa: BLE001 - a cell must show text, not a traceback
            return error_text(exc)

    return guarded


# ----------------------------------------------------------------------------------------------
# Results -> cells


def _result_cells(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Object array: the number, or the error text, or a text for a NaN/inf with no recorded reason."""
    out = values.astype(object)
    out[np.isnan(values)] = f"{NA} no result for these inputs"
    out[np.isinf(values)] = f"{NUM} the result is infinite for these inputs"
    return np.where(errors != "", errors, out)


def _excel(out: np.ndarray):
    """A 2-D object array as what xlwings writes back: a scalar for one cell, rows of plain floats and text."""
    if out.shape == (1, 1):
        cell = out[0, 0]
        return float(cell) if isinstance(cell, (float, np.floating)) else cell
    return [[float(c) if isinstance(c, (float, np.floating)) else c for c in row] for row in out.tolist()]


def _scenario_rows(values: np.ndarray, errors: np.ndarray, shape, count: int):
    """Stack ``count`` outputs per scenario: a column of scenarios gives rows, a row of scenarios columns."""
    if shape[1] == 1:
        return values.reshape(shape[0], count), np.repeat(errors.reshape(shape[0], 1), count, axis=1)
    if shape[0] == 1:
        return values.reshape(shape[1], count).T, np.repeat(errors.reshape(1, shape[1]), count, axis=0)
    raise ExcelError(VALUE, f"this function gives {count} values per scenario: give its inputs as one column "
                            f"(or one row) of scenarios, not a {_size(shape)} block")


# ----------------------------------------------------------------------------------------------
# One call of a core function over whole ranges


@functools.lru_cache(maxsize=None)
def _parameters(function) -> dict:
    return dict(inspect.signature(function).parameters)


def _default_of(function, name: str):
    parameter = _parameters(function).get(name)
    return REQUIRED if parameter is None else parameter.default


def default_of(function, name: str):
    """The default of ``function``'s argument ``name`` (what an empty optional cell means)."""
    default = _default_of(function, name)
    if default is REQUIRED:
        raise KeyError(f"{function.__name__} has no default for {name}")
    return default


def compute(core, numbers: dict, *, fit=None, outputs=None):
    """Call ``core`` once over whole ranges and give back what Excel shows.

    Parameters
    ----------
    core : a broadcasting xlcalc function, called with keyword arguments.
    numbers : argument name -> Excel value; empty cells take the default in ``core``'s signature, and are an
        error where there is none.
    fit : the Excel ``fit`` argument, or None when ``core`` takes no fit.
    outputs : attribute names of ``core``'s result to lay out per scenario, or None for a one-value result.
    """
    one_cell = _single_numbers(core, numbers)
    if one_cell is not None:
        return _compute_one_cell(core, one_cell, fit, outputs)
    return compute_ranges(core, numbers, fit=fit, outputs=outputs)


# Scalar fast path of compute(): every argument one usable number (what a one-cell formula passes). The
# general path below builds grids, broadcasts and maps error arrays, about 100 us for one cell; this gives
# the same value or error text without them (tests/test_scalar_paths.py compares the two).


@functools.lru_cache(maxsize=None)
def _float_defaults(core) -> dict:
    """Argument name -> the float an empty cell means, for ``core``'s arguments with a numeric default."""
    return {name: float(p.default) for name, p in _parameters(core).items()
            if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)}


@functools.lru_cache(maxsize=None)
def _takes_fit(core) -> bool:
    return "fit" in _parameters(core)


@functools.lru_cache(maxsize=1)
def _default_fit() -> Fit:
    """The fit an empty ``fit`` cell means (fits are immutable: one object serves every call)."""
    return get_fit(DEFAULT_FIT)


def _single_numbers(defaults, numbers: dict) -> dict | None:
    """Argument name -> float when every argument is one number (or an empty cell with a default), else None.

    ``defaults`` says what an empty cell means: the core function whose numeric defaults fill them (read only
    when a cell is empty), or a mapping name -> float where a name missing or mapped to REQUIRED must be given.
    """
    floats = {}
    for name, value in numbers.items():
        kind = type(value)
        while kind is list and len(value) == 1:  # [[x]]: one cell as xlwings passes it with ndim=2
            value = value[0]
            kind = type(value)
        if kind is float:
            floats[name] = value
        elif value is None:
            if type(defaults) is not dict:
                defaults = _float_defaults(defaults)
            default = defaults.get(name, REQUIRED)
            if default is REQUIRED:
                return None
            floats[name] = default
        elif kind is int and -_EXACT_INT < value < _EXACT_INT:
            floats[name] = float(value)
        elif isinstance(value, float):  # a float subclass such as numpy's float64
            floats[name] = float(value)
        else:
            return None
    return floats


def _one_fit(fit) -> Fit:
    """fit_value() with the default fit for an empty cell without reading it as a grid."""
    while type(fit) is list and len(fit) == 1:
        fit = fit[0]
    return _default_fit() if fit is None else fit_value(fit)


def _compute_one_cell(core, floats: dict, fit, outputs):
    """compute() for one cell of each argument: the core's scalar call, its value or error text."""
    if fit is not None or _takes_fit(core):
        floats["fit"] = _one_fit(fit)
    with invalid_reasons() as why:
        if getattr(core, "quiet", False):  # it runs under np.errstate itself, or on Python floats
            result = core(**floats)
        else:
            with np.errstate(all="ignore"):
                result = core(**floats)
    if why.reasons:
        cell = f"{NUM} {why.reasons}"
        return cell if outputs is None else [[cell] * len(outputs)]
    if outputs is None:
        return _one_number(result)
    return [[_one_number(getattr(result, o)) for o in outputs]]


def _one_number(value):
    """A result as a cell: the float, or the text for a NaN or an infinity no reason was recorded for."""
    value = float(value)
    if value - value == 0.0:  # finite
        return value
    return f"{NA} no result for these inputs" if value != value else f"{NUM} the result is infinite for these inputs"


def compute_ranges(core, numbers: dict, *, fit=None, outputs=None):
    """compute() for ranges: the general path (any cells, any shapes)."""
    named = {name: number_cells(name, value, _default_of(core, name)) for name, value in numbers.items()}
    kwargs = {}
    if fit is not None or "fit" in _parameters(core):
        kwargs["fit"] = fit_value(fit)
    shape = broadcast_shape(named)
    errors = _first_error(named, shape)
    arrays = {name: np.where(errors != "", np.nan, np.broadcast_to(cells.values, shape))
              for name, cells in named.items()}
    with invalid_reasons() as why, np.errstate(all="ignore"):  # overflow shows as '#NUM! ... infinite' per cell
        result = core(**arrays, **kwargs)
    if why.reasons is not None:
        reasons = np.broadcast_to(np.asarray(why.reasons, dtype=object), shape)
        errors = np.where(errors != "", errors, np.where(reasons != "", (NUM + " ") + reasons, ""))
    if outputs is None:
        return _excel(_result_cells(np.broadcast_to(np.asarray(result, dtype=float), shape), errors))
    values = np.stack([np.broadcast_to(np.asarray(getattr(result, o), dtype=float), shape) for o in outputs], -1)
    values, errors = _scenario_rows(values, errors, shape, len(outputs))
    return _excel(_result_cells(values, errors))


def per_cell(function, texts: dict, *, count=None):
    """Call ``function(**one_name_per_argument)`` for every cell of broadcast text arguments.

    ``function`` returns a value (or ``count`` values per scenario); its errors become that cell's text.
    """
    names = _single_texts(texts)
    if names is not None:  # one name per argument (a one-cell formula): no grids, the same cells
        try:
            value = function(**names)
        except Exception as exc:  # noqa: BLE001 - per-cell error text
            cells = [error_text(exc)] * (count or 1)
        else:
            cells = [_one_value(v) for v in (value if count else (value,))]
        return cells[0] if len(cells) == 1 else [cells]
    named = {name: text_cells(name, value) for name, value in texts.items()}
    shape = broadcast_shape(named)
    errors = _first_error(named, shape)
    columns = {name: np.broadcast_to(cells.values, shape) for name, cells in named.items()}
    width = count or 1
    out = np.full(shape + (width,), "", dtype=object)
    for index in np.ndindex(shape):
        if errors[index]:
            out[index] = errors[index]
            continue
        try:
            value = function(**{name: column[index] for name, column in columns.items()})
        except Exception as exc:  # noqa: BLE001 - per-cell error text
            out[index] = error_text(exc)
            continue
        out[index] = [_one_value(v) for v in (value if count else (value,))]
    if count is None:
        return _excel(out[..., 0])
    flat_errors = np.full(shape, "", dtype=object)  # errors are already in place in ``out``
    cells, _ = _scenario_rows(out, flat_errors, shape, width)
    return _excel(cells)


def _single_texts(texts: dict, defaults=None) -> dict | None:
    """Argument name -> stripped text when every argument is one usable name (not an error cell, not empty unless
    ``defaults`` maps its name to the text an empty cell means), else None."""
    names = {}
    for name, value in texts.items():
        while type(value) is list and len(value) == 1:
            value = value[0]
        if type(value) is str:
            text = value.strip()
        elif value is None:
            text = ""
        else:
            return None
        if not text:
            text = defaults.get(name) if defaults else None
            if text is None:
                return None
        elif _excel_error_code(text):
            return None
        names[name] = text
    return names


def _one_value(value):
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
        value = float(value)
        if np.isnan(value):
            return f"{NA} not available"
        return value
    if value is None:
        return f"{NA} not available"
    return str(value)

