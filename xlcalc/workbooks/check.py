"""Checking workbooks: content comparison for ``xlcalc build --check``, and ``xlcalc check`` of a user's workbook.

:func:`compare_content` compares two workbooks by what they hold, not by their bytes (zip timestamps and
document properties differ on every save): sheets, every cell's value or formula, style, number format and
lock, defined names, data validations, sheet protection, merged cells and charts.

:func:`check_workbook` recalculates a (possibly hand-edited) xlcalc workbook in LibreOffice, computes
every ``out_`` value again in Python from the workbook's own ``in_`` values (and its price sheet) with the
template's ``expected_outputs``, and lists each output that disagrees beyond a relative 1e-9 and every
cell that holds an error value.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
from pathlib import Path

from . import recalc, files as workbook_files, xlsx_bytes
from ..errors import RecalcError, XlcalcError
from .templates import checks, price_sheet

#: Relative tolerance between a recalculated out_ value and the Python solver.
REL_TOLERANCE = 1e-9


# ----------------------------------------------------------------------------------------------
# Content comparison


def reload(workbook):
    """An openpyxl workbook as it reads back from a file (so both sides of a comparison look alike)."""
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(xlsx_bytes.workbook_bytes(workbook)))


def style_name(cell) -> str:
    """A cell's named style ('Normal' for none); '?' where a file's style table does not name it."""
    try:
        return cell.style
    except IndexError:  # files saved by some programs refer to named styles openpyxl cannot list
        return "?"


def _cells(sheet) -> dict:
    found = {}
    for cell in workbook_files.filled_cells(sheet):
        name = style_name(cell)
        if cell.value is None and name == "Normal" and cell.number_format == "General":
            continue
        found[cell.coordinate] = (repr(cell.value), cell.data_type, name, cell.number_format,
                                  bool(cell.protection.locked))
    return found


def _validations(sheet) -> list:
    return sorted((dv.type or "", dv.operator or "", dv.formula1 or "", dv.formula2 or "", str(dv.sqref))
                  for dv in sheet.data_validations.dataValidation)


def _charts(sheet) -> list:
    found = []
    for chart in sheet._charts:
        series = []
        for s in chart.series:
            values = s.val.numRef.f if s.val is not None and s.val.numRef is not None else None
            x_values = s.xVal.numRef.f if getattr(s, "xVal", None) is not None and s.xVal.numRef is not None else None
            title = s.tx.strRef.f if s.tx is not None and s.tx.strRef is not None else None
            series.append((values, x_values, title, s.smooth))
        found.append((type(chart).__name__, series))
    return found


def _reference(text: str | None) -> str:
    """A defined name's text without optional quotes around plain sheet names ('Solver'!$B$1 is Solver!$B$1)."""
    return re.sub(r"'([A-Za-z_][A-Za-z0-9_.]*)'!", r"\1!", text or "")


_CELL_PARTS = ("value", "type", "style", "number format", "locked")


def compare_content(expected, actual, *, limit: int = 20) -> list[str]:
    """Differences in content between two workbooks (openpyxl Workbooks or paths), at most ``limit``; [] if alike."""
    from_file = lambda wb: workbook_files.load(wb) if isinstance(wb, (str, Path)) else reload(wb)  # noqa: E731
    left, right = from_file(expected), from_file(actual)
    differences: list[str] = []

    def note(text):
        differences.append(text)
        return len(differences) >= limit

    if left.sheetnames != right.sheetnames:
        if note(f"sheets: expected {left.sheetnames}, found {right.sheetnames}"):
            return differences
    names_left = {n: _reference(d.attr_text) for n, d in left.defined_names.items()}
    names_right = {n: _reference(d.attr_text) for n, d in right.defined_names.items()}
    for name in sorted(set(names_left) | set(names_right)):
        if names_left.get(name) != names_right.get(name):
            if note(f"defined name {name}: expected {names_left.get(name, 'missing')}, "
                    f"found {names_right.get(name, 'missing')}"):
                return differences
    for title in [t for t in left.sheetnames if t in right.sheetnames]:
        a, b = left[title], right[title]
        cells_a, cells_b = _cells(a), _cells(b)
        for coordinate in sorted(set(cells_a) | set(cells_b), key=lambda c: (len(c), c)):
            x, y = cells_a.get(coordinate), cells_b.get(coordinate)
            if x == y:
                continue
            if x is None or y is None:
                what = f"expected {x[0] if x else 'empty'}, found {y[0] if y else 'empty'}"
            else:
                part = next(i for i in range(len(x)) if x[i] != y[i])
                what = f"{_CELL_PARTS[part]} expected {x[part]}, found {y[part]}"
            if note(f"{title}!{coordinate}: {what}"):
                return differences
        for label, get in (("data validations", _validations), ("charts", _charts),
                           ("merged cells", lambda s: sorted(str(r) for r in s.merged_cells.ranges)),
                           ("protection", lambda s: bool(s.protection.sheet))):
            if get(a) != get(b) and note(f"{title}: {label} differ"):
                return differences
    return differences


def packaging_problem(path, *, values: bool = True) -> str | None:
    """Why a rebuild of an up-to-date workbook would still change its bytes, or None.

    That is: zip timestamps that are not xlcalc's fixed ones (a file from an older xlcalc or another
    program), or, with ``values``, formula cells without a computed value.
    """
    import zipfile

    from . import cached_values

    with zipfile.ZipFile(path) as archive:
        if any(member.date_time != xlsx_bytes.FIXED_ZIP_TIME for member in archive.infolist()):
            return "it was not written reproducibly (its zip timestamps vary)"
        if values:
            missing = sum(len(cached_values.cells_without_value(archive.read(part)))
                          for part in xlsx_bytes.sheet_parts(archive).values())
            if missing:
                return f"{missing} formula cells carry no computed value"
    return None


# ----------------------------------------------------------------------------------------------
# Checking a user's workbook against the solver


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """An out_ cell whose recalculated value disagrees with the solver (got None when the name is missing)."""

    name: str
    got: object
    expected: object

    def describe(self) -> str:
        """One line: the output, the workbook's value, the solver's, and their relative difference."""
        if self.got is None:
            return f"{self.name}: missing from the workbook (expected {_show(self.expected)})"
        detail = ""
        if checks.is_real(self.got) and checks.is_real(self.expected) and self.expected != 0:
            detail = f" (relative difference {abs(self.got - self.expected) / abs(self.expected):.3g})"
        return f"{self.name}: workbook {_show(self.got)}, solver {_show(self.expected)}{detail}"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What :func:`check_workbook` found: the template, outputs compared, mismatches, error cells, input problem."""

    path: Path
    template: str
    compared: int
    mismatches: list
    errors: list  # (sheet, cell, value)
    input_problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every output agrees, no cell holds an error and the solver could use the inputs."""
        return not self.mismatches and not self.errors and self.input_problem is None


def _show(value) -> str:
    return f"{float(value):.10g}" if checks.is_real(value) else repr(value)


def agrees(got, expected, rel: float = REL_TOLERANCE) -> bool:
    """True when a recalculated value matches the solver's: numbers within ``rel`` relatively, text exactly."""
    if checks.is_real(expected):
        if not checks.is_real(got):
            return False
        got, expected = float(got), float(expected)
        if math.isnan(expected):
            return math.isnan(got)
        return abs(got - expected) <= rel * max(abs(expected), abs(got)) or got == expected
    return got == expected


def workbook_inputs(values: dict) -> dict:
    """The in_ entries of a {name: value} mapping."""
    return {name: value for name, value in values.items() if name.startswith("in_")}


def solver_outputs(module, inputs: dict, price_rows=None) -> dict:
    """``module.expected_outputs`` for the inputs and the workbook's price rows (None: the catalog's)."""
    return module.expected_outputs(inputs, prices=price_rows)


def price_rows(sheet) -> list[tuple[int, dict]]:
    """The non-empty rows of a user's price table: [(row number, {field key: value})], values as stored.

    Like :func:`xlcalc.workbooks.templates.price_sheet.read_rows`, but visits only the cells the file holds, so a
    note typed far down the sheet costs nothing.
    """
    keys = [column.key for column in price_sheet.PRICE_COLUMNS]
    rows: dict = {}
    for cell in workbook_files.filled_cells(sheet):
        if cell.row >= price_sheet.PRICE_FIRST_ROW and cell.column <= len(keys) and cell.value not in (None, ""):
            rows.setdefault(cell.row, dict.fromkeys(keys))
    for row, values in rows.items():
        for index, key in enumerate(keys, start=1):
            values[key] = sheet.cell(row=row, column=index).value
    return sorted(rows.items())


def read_price_rows(workbook) -> list | None:
    """The rows of a workbook's price sheet ({field key: value}), or None when it has none."""
    if price_sheet.PRICE_SHEET_TITLE not in workbook.sheetnames:
        return None
    return [values for _, values in price_rows(workbook[price_sheet.PRICE_SHEET_TITLE])]


def input_problem(exc: BaseException, inputs: dict) -> str:
    """One line saying why the solver cannot use a workbook's inputs, naming the in_ cell where it can.

    xlcalc's own errors already name the input; for any other exception the first in_ name its message
    mentions is used, else the message is given as it is.

    >>> input_problem(ZeroDivisionError("float division by zero"), {"in_requests": 0})
    "the solver cannot use this workbook's inputs: float division by zero (ZeroDivisionError)"
    """
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, XlcalcError):
        named = [name for name in inputs if re.search(rf"\b{re.escape(name)}\b", text)]
        text = f"{text} ({type(exc).__name__})" if not named else f"{named[0]}: {text}"
    return f"the solver cannot use this workbook's inputs: {text}"


def check_workbook(path, *, progress=None, rel: float = REL_TOLERANCE) -> CheckResult:
    """Recalculate an xlcalc workbook in LibreOffice and compare its out_ cells with the solver; list error cells.

    ``progress`` is called with a line of text before the slow step. Raises WorkbookError when the file
    is not an xlcalc workbook, and xlcalc.errors.RecalcError when LibreOffice is missing or fails.
    """
    path = Path(path)
    _, template, module = workbook_files.open_xlcalc(path)
    if recalc.soffice_path() is None:
        raise RecalcError(f"LibreOffice is needed to check a workbook and was not found: {recalc.INSTALL_HINT}")
    with recalc.scratch_folder("check") as folder:
        if progress:
            progress(f"recalculating {path.name} in LibreOffice")
        # copy under a plain name: LibreOffice reads the copy, the user's file is never touched
        source = folder / "in" / "workbook.xlsx"
        source.parent.mkdir()
        source.write_bytes(path.read_bytes())
        recalculated = recalc.recalculate([source], folder / "out")[0]
        values = recalc.read_names(recalculated)
        errors = recalc.error_cells_outside_chart_feeds(recalculated)  # #N/A in a chart-feed cell is a gap
        prices = read_price_rows(workbook_files.load(recalculated, data_only=True))
    inputs = workbook_inputs(values)
    try:
        expected = solver_outputs(module, inputs, prices)
    except Exception as exc:  # noqa: BLE001 - any failure on a hand-edited workbook is reported, never a traceback
        return CheckResult(path, template, 0, [], errors, input_problem(exc, inputs))
    mismatches = [Mismatch(name, values.get(name), value) for name, value in expected.items()
                  if not agrees(values.get(name), value, rel)]
    return CheckResult(path, template, len(expected), mismatches, errors)

