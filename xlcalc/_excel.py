"""Plumbing of the Excel face: Excel values in, numbers out, and errors as Excel error text per cell.

The UDFs in :mod:`xlcalc.udfs` are one call each into this module. What it does, and nothing else:

- read what xlwings hands over (with ``ndim=2`` every argument is a list of rows; plain Python callers may
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

import datetime
import functools
import inspect
import math
import numbers

import numpy as np

from ._checks import _plain_number, format_value, invalid_reasons
from .errors import DataFileError, DoesNotFitError, InvalidInputError, UnknownNameError
from .laws import DEFAULT_FIT, FITS, Fit, get_fit
from .runs import MAX_RUNS

VALUE, NUM, NA = "#VALUE!", "#NUM!", "#N/A"
# What an error cell holds when xlwings reads it with err_to_str=True (Windows and Office.js alike).
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
REQUIRED = inspect.Parameter.empty
# Cells one call may compute: four whole worksheet columns (=F(A:A) is real use); a column of 3,000 against
# a row of 3,000 (9 million cells) is refused at once instead of computing for a minute.
MAX_CELLS = 4 * 1_048_576


class ExcelError(Exception):
    """An error for the whole call, shown in one cell as ``'<code> <reason>'``."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code} {reason}")
        self.code, self.reason = code, reason

    @property
    def text(self) -> str:
        """What the cell shows: the Excel error code, a space, the reason."""
        return f"{self.code} {self.reason}"


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
# Excel values -> grids


def grid(value) -> list[list]:
    """``value`` as a list of rows: a scalar is one cell, a 1-D sequence one row (as xlwings reads it)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return [[value.item()]]
        if value.ndim == 1:
            return [value.tolist()]
        if value.ndim == 2:
            return value.tolist()
        raise ExcelError(VALUE, f"a {value.ndim}-dimensional array cannot come from a worksheet range")
    if isinstance(value, (list, tuple)):
        if not value:
            return [[None]]
        if all(isinstance(row, (list, tuple)) for row in value):
            if len({len(row) for row in value}) != 1:
                raise ExcelError(VALUE, "the rows of a range must all have the same length")
            return [list(row) for row in value]
        return [list(value)]
    return [[value]]


def _size(shape) -> str:
    return f"{shape[0]}x{shape[1]}"


def _excel_error_code(text: str) -> str | None:
    head = text.split(" ", 1)[0]
    return head if head in EXCEL_ERRORS else None


def _number_or_reason(name: str, cell, default):
    """(float, '') for a usable cell, (nan, Excel error text) otherwise."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        if default is REQUIRED:
            return np.nan, f"{VALUE} {name} is empty: a number is required"
        if isinstance(default, numbers.Real) and not isinstance(default, bool):
            return float(default), ""
        return np.nan, f"{VALUE} {name} has no default"
    if isinstance(cell, bool):
        return np.nan, f"{VALUE} {name} = {str(cell).upper()} is not allowed: must be a number"
    if isinstance(cell, numbers.Real):
        try:
            return float(cell), ""
        except OverflowError:  # a Python integer beyond the float range, e.g. 10**400
            return np.nan, (f"{NUM} {name} is {format_value(cell)}, beyond the floating-point range: "
                            "must be a number below about 1.8e308")
    if isinstance(cell, str):
        code = _excel_error_code(cell.strip())
        if code:
            return np.nan, f"{code} {name} is an error cell ({cell.strip()})"
        try:
            return float(cell.strip()), ""
        except ValueError:
            return np.nan, f"{VALUE} {name} = {cell!r} is not allowed: must be a number"
    if isinstance(cell, (datetime.date, datetime.datetime)):
        return np.nan, f"{VALUE} {name} is a date: must be a number"
    return np.nan, f"{VALUE} {name} = {cell!r} is not allowed: must be a number"


class Cells:
    """A converted argument: ``values`` (2-D) and ``errors`` (2-D object array, '' where the cell is usable)."""

    def __init__(self, values: np.ndarray, errors: np.ndarray):
        self.values, self.errors = values, errors

    @property
    def shape(self):
        """Rows and columns of the cells."""
        return self.values.shape


def number_cells(name: str, value, default=REQUIRED) -> Cells:
    """An argument of numbers; empty cells take ``default`` (an error when it is REQUIRED)."""
    rows = grid(value)
    if all(type(cell) is float or type(cell) is int for row in rows for cell in row):  # the common, fast case
        try:
            values = np.array(rows, dtype=float)
        except OverflowError:  # an integer beyond the float range: the cell by cell path names it
            pass
        else:
            return Cells(values, np.full(values.shape, "", dtype=object))
    shape = (len(rows), len(rows[0]))
    values = np.empty(shape)
    errors = np.full(shape, "", dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            values[i, j], errors[i, j] = _number_or_reason(name, cell, default)
    return Cells(values, errors)


def text_cells(name: str, value) -> Cells:
    """An argument of names (text); empty or non-text cells are errors."""
    rows = grid(value)
    shape = (len(rows), len(rows[0]))
    values = np.full(shape, "", dtype=object)
    errors = np.full(shape, "", dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if isinstance(cell, str) and cell.strip():
                code = _excel_error_code(cell.strip())
                if code:
                    errors[i, j] = f"{code} {name} is an error cell ({cell.strip()})"
                else:
                    values[i, j] = cell.strip()
            elif cell is None or isinstance(cell, str):
                errors[i, j] = f"{VALUE} {name} is empty: a name is required"
            else:
                errors[i, j] = f"{VALUE} {name} = {format_value(cell)} is not allowed: must be text (a name)"
    return Cells(values, errors)


def fit_value(value) -> Fit:
    """The ``fit`` argument: empty = the default fit, a fit name, or a range of five numbers E, A, B, alpha, beta."""
    cells = [cell for row in grid(value) for cell in row]
    if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
        return get_fit(DEFAULT_FIT)
    if len(cells) == 1 and isinstance(cells[0], str):
        code = _excel_error_code(cells[0].strip())
        if code:
            raise ExcelError(code, f"fit is an error cell ({cells[0].strip()})")
        return get_fit(cells[0])
    if len(cells) == 1:
        raise ExcelError(VALUE, f"fit = {format_value(cells[0])} is not allowed: give a fit name "
                                f"({', '.join(FITS)}) or a range of five numbers E, A, B, alpha, beta")
    if len(cells) != 5:
        raise ExcelError(VALUE, f"fit has {len(cells)} cells: give a fit name or five numbers E, A, B, alpha, beta")
    converted = number_cells("fit", [cells])
    bad = converted.errors[converted.errors != ""]
    if bad.size:
        raise ExcelError(VALUE, bad[0].split(" ", 1)[1] + " (a fit range holds five numbers E, A, B, alpha, beta)")
    return get_fit(converted.values.ravel())


def broadcast_shape(named: dict[str, Cells]) -> tuple[int, int]:
    """The common shape of the arguments, or an ExcelError naming the sizes that do not fit together or
    a result of more than :data:`MAX_CELLS` cells."""
    try:
        shape = np.broadcast_shapes(*(cells.shape for cells in named.values()))
    except ValueError:
        sizes = ", ".join(f"{name} is {_size(cells.shape)}" for name, cells in named.items() if cells.shape != (1, 1))
        raise ExcelError(VALUE, f"ranges do not fit together ({sizes}): give ranges of the same size, "
                                "or single cells, or a column against a row") from None
    if shape[0] * shape[1] > MAX_CELLS:
        raise ExcelError(VALUE, f"the result would have {shape[0] * shape[1]:,} cells ({_size(shape)}): one call "
                                f"gives at most {MAX_CELLS:,} (four full worksheet columns); give smaller ranges")
    return shape


def _first_error(named: dict[str, Cells], shape) -> np.ndarray:
    errors = np.full(shape, "", dtype=object)
    for cells in named.values():
        theirs = np.broadcast_to(cells.errors, shape)
        errors = np.where(errors == "", theirs, errors)
    return errors


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


def _single_numbers(core, numbers: dict) -> dict | None:
    """Argument name -> float when every argument is one number (or an empty optional cell), else None."""
    floats = {}
    for name, value in numbers.items():
        while type(value) is list and len(value) == 1:  # [[x]]: one cell as xlwings passes it with ndim=2
            value = value[0]
        if _plain_number(value):
            floats[name] = float(value)
        elif value is None and isinstance(_default_of(core, name), (int, float)) \
                and not isinstance(_default_of(core, name), bool):
            floats[name] = float(_default_of(core, name))
        else:
            return None
    return floats


def _compute_one_cell(core, floats: dict, fit, outputs):
    """compute() for one cell of each argument: the core's scalar call, its value or error text."""
    kwargs = {}
    if fit is not None or "fit" in _parameters(core):
        kwargs["fit"] = fit_value(fit)
    with invalid_reasons() as why, np.errstate(all="ignore"):
        result = core(**floats, **kwargs)
    values = [result] if outputs is None else [getattr(result, o) for o in outputs]
    if why.reasons:
        cells = [f"{NUM} {why.reasons}"] * len(values)
    else:
        cells = [f"{NA} no result for these inputs" if v != v else
                 f"{NUM} the result is infinite for these inputs" if v in (math.inf, -math.inf) else float(v)
                 for v in values]
    return cells[0] if len(cells) == 1 else [cells]


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


def _one_value(value):
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
        value = float(value)
        if np.isnan(value):
            return f"{NA} not available"
        return value
    if value is None:
        return f"{NA} not available"
    return str(value)


def data_columns(named_values: dict) -> dict[str, np.ndarray]:
    """Columns of training data (same number of cells each); rows left wholly empty are dropped.

    Any other empty or non-numeric cell is an ExcelError naming the argument and the row.
    """
    named = {name: number_cells(name, value) for name, value in named_values.items()}
    sizes = {cells.values.size for cells in named.values()}
    if len(sizes) != 1:
        counts = ", ".join(f"{name} has {cells.values.size}" for name, cells in named.items())
        raise ExcelError(VALUE, f"the data ranges must have the same number of cells ({counts})")
    flat_values = {name: cells.values.ravel() for name, cells in named.items()}
    flat_errors = {name: cells.errors.ravel() for name, cells in named.items()}
    raw = {name: [c for row in grid(value) for c in row] for name, value in named_values.items()}
    empty = np.all([[c is None or (isinstance(c, str) and not c.strip()) for c in cells] for cells in raw.values()],
                   axis=0)
    for name, errors in flat_errors.items():
        bad = np.nonzero((errors != "") & ~empty)[0]
        if bad.size:
            raise ExcelError(VALUE, f"cell {bad[0] + 1} of the data: {errors[bad[0]].split(' ', 1)[1]}")
    if empty.all():
        raise ExcelError(VALUE, "the data ranges are empty")
    if int((~empty).sum()) > MAX_RUNS:
        raise ExcelError(VALUE, f"the data has {int((~empty).sum()):,} runs: at most {MAX_RUNS:,} can be fitted "
                                "(a fit holds every run for each of its 4,500 starts)")
    return {name: values[~empty] for name, values in flat_values.items()}
