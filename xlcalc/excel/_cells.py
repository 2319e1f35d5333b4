"""Excel values in: what xlwings hands over read as numbers, names or a fit, each cell's problem as Excel error text.

With ``ndim=2`` every argument is a list of rows; plain Python callers may pass scalars, 1-D lists or
arrays. Cells hold numbers, text, empty cells (``None``), error cells (``'#DIV/0!'`` with
``err_to_str=True``), TRUE/FALSE and dates. An empty optional cell means the core function's default; an
empty required cell is an error. :mod:`xlcalc.excel._convert` calls the core functions with what this reads.
"""

from __future__ import annotations

import datetime
import inspect
import numbers

import numpy as np

from .._checks import format_value
from ..errors import EXCEL_ERRORS
from ..core.laws import DEFAULT_FIT, FITS, Fit, get_fit
from ..data.runs import MAX_RUNS


VALUE, NUM, NA = "#VALUE!", "#NUM!", "#N/A"
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
