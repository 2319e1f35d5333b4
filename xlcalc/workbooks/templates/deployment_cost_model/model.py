"""The Model sheet: traffic, training, three candidates with their serving choices, results, and the workings."""

from __future__ import annotations

from openpyxl.styles import Alignment

from .. import checks, layout, price_sheet, style
from . import latency_target
from .spec import (
    CANDIDATE_STATUS,
    CANDIDATES,
    LABEL_COLUMN,
    MODEL_SHEET,
    NEEDS,
    NOT_AVAILABLE,
    NOTE_COLUMN,
    STATUS,
    TITLE,
    UNIT_COLUMN,
    VALUE_COLUMNS,
    Formula,
    Input,
    check_blocks,
    formula_name,
    input_name,
    model_blocks,
    names,
)

VALUE_WIDTH = 24


def _label_row(sheet, row: int, label: str, unit: str, note: str = "") -> None:
    style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_label").value = label
    style.apply(sheet[f"{UNIT_COLUMN}{row}"], "xl_note").value = unit or None
    if note:
        style.apply(sheet[f"{NOTE_COLUMN}{row}"], "xl_note").value = note


def _section(sheet, row: int, title: str, headers=()) -> None:
    style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_header").value = title
    style.apply(sheet[f"{UNIT_COLUMN}{row}"], "xl_header").value = "unit"
    for k in CANDIDATES:
        cell = style.apply(sheet[f"{VALUE_COLUMNS[k]}{row}"], "xl_header")
        cell.value = headers[k - 1] if headers else None


def _write_input(workbook, sheet, spec: Input, row: int, k: int | None, value) -> None:
    column = VALUE_COLUMNS[k or 1]
    cell = style.apply(sheet[f"{column}{row}"], "xl_input", spec.number_format)
    price_sheet.put(cell, value)
    style.define(workbook, input_name(spec.key, k), MODEL_SHEET, cell.coordinate)


def _write_formula(workbook, sheet, spec: Formula, row: int, k: int | None) -> None:
    column = VALUE_COLUMNS[k or 1]
    cell = style.apply(sheet[f"{column}{row}"], "xl_output" if spec.output else "xl_formula", spec.number_format)
    found = names(k)
    formula = spec.formula.format_map(found)
    if spec.needs is not None:
        if NEEDS[spec.needs] is not None:
            formula = f'IF({NEEDS[spec.needs].format_map(found)},{formula},"{NOT_AVAILABLE}")'
        formula = checks.guarded(formula, NOT_AVAILABLE)
    cell.value = "=" + formula
    if spec.wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    style.define(workbook, formula_name(spec, k), MODEL_SHEET, cell.coordinate)


def _messages() -> list[str]:
    """Every text a wrapped cell (a candidate's Check or Status row) can show: the row fits the longest."""
    texts = [check.message() for key in ("calc_c1_input_check", "calc_c1_latency_check")
             for check in check_blocks()[key]]
    return texts + list(CANDIDATE_STATUS.values())


#: The longest text of the latency target's status row (its numbers at their widest).
_LATENCY_STATUS = (latency_target.NO_BATCH + "12,345.6 ms per output token and 12,345 ms to the first token: loosen "
                   "the targets to these")


def add(workbook):
    """Add the Model sheet; returns it."""
    sheet = workbook.create_sheet(MODEL_SHEET)
    style.apply(sheet["A1"], "xl_title").value = TITLE
    style.apply(sheet["A2"], "xl_note").value = ("Yellow cells are inputs. Results per candidate are below the "
                                                 "inputs; the month-by-month projection is on the Projection sheet.")
    style.apply(sheet[f"{LABEL_COLUMN}3"], "xl_label").value = "All inputs (the first unusable one, or OK)"
    status = style.apply(sheet[f"{VALUE_COLUMNS[1]}3"], "xl_output", "text")
    status.value = "=" + checks.overall_status(check_blocks())
    style.define(workbook, STATUS, MODEL_SHEET, f"{VALUE_COLUMNS[1]}3")
    tall = max(layout.wrapped_height(text, VALUE_WIDTH) for text in _messages())
    row = 2
    for block in model_blocks():
        row += 2
        _section(sheet, row, block.title, block.headers)
        for spec in block.cells:
            row += 1
            _label_row(sheet, row, spec.label, spec.unit, spec.note)
            for k in CANDIDATES if block.per_candidate else (None,):
                if isinstance(spec, Input):
                    default = spec.default[k - 1] if block.per_candidate else spec.default
                    _write_input(workbook, sheet, spec, row, k, default)
                else:
                    _write_formula(workbook, sheet, spec, row, k)
            if isinstance(spec, Formula) and spec.wrap:
                sheet.row_dimensions[row].height = (layout.wrapped_height(_LATENCY_STATUS, VALUE_WIDTH)
                                                    if spec.key == "slo_status" else tall)
                sheet[f"{LABEL_COLUMN}{row}"].alignment = Alignment(vertical="top")
    row += 2
    note = style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_note")
    note.value = ("B overtakes A in the first month at whose end B's cumulative cost (training plus serving so "
                  "far) is below A's; see the cumulative-cost chart on the Projection sheet.")
    style.set_widths(sheet, {LABEL_COLUMN: 46, UNIT_COLUMN: 13, NOTE_COLUMN: 70}
                     | {VALUE_COLUMNS[k]: VALUE_WIDTH for k in CANDIDATES})
    sheet.freeze_panes = "C4"
    layout.set_print(sheet, f"A1:{NOTE_COLUMN}{row}", landscape=True, title_rows="1:3", pages_tall=2)
    style.protect(sheet)
    return sheet
