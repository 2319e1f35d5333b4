"""The Cost band and Band by month sheets: low / base / high traffic, serving price and serving efficiency, the
serving cost of the low-cost corner, the base and the high-cost corner per candidate, and the 24-month band of
GPUs, monthly and cumulative cost with charts (the data is :mod:`.band_spec`).

The charts read chart-feed columns (#N/A where a value is missing: a gap, never a $0 line); the tables show n/a.
"""

from __future__ import annotations

from openpyxl.chart import Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from .. import charts, checks, formulas, layout, price_sheet, style
from ..layout import Column
from .band_spec import (
    BAND_CHECK,
    BAND_SHEET,
    CANDIDATE_CELLS,
    CASE_HEADERS,
    CASES,
    MONTH_SHEET,
    RANGED,
    REQUESTS,
    SERIES,
    band_checks,
    band_formula,
    case_factor,
    case_names,
    cell_name,
    factor_name,
    month_name,
    order_formula,
    order_name,
    when,
)
from .projection import gpus_formula, monthly_usd_formula, requests_formula
from .spec import CANDIDATES, MONTHS, NEEDS, input_name, names

# Cost band sheet: label, unit, low / base / high (C, D, E), note
CASE_COLUMNS = dict(zip(CASES, "CDE"))
NOTE_COLUMN = "F"
VALUE_WIDTH = 18
FIRST_INPUT_ROW = 5

# Band by month sheet: one block per candidate (its name, the table, two charts), a page each
MONTH_COLUMN = "A"
BLOCK_ROWS = 52
TABLE_COLUMNS = {(series, case): get_column_letter(2 + 3 * s + c)
                 for s, (series, *_) in enumerate(SERIES) for c, case in enumerate(CASES)}
LAST_TABLE_COLUMN = get_column_letter(1 + 3 * len(SERIES))
#: The chart-feed columns start after one empty column (outside the print area).
FEED_FIRST_COLUMN = 3 + 3 * len(SERIES)
#: The charts of each block: series, title, y-axis title.
BAND_CHARTS = (("monthly_usd", "serving $ per month", "$ per month"),
               ("cumulative_usd", "cumulative $, training + serving", "$ so far"))


def header_row(k: int) -> int:
    """The header row of candidate k's table on the Band by month sheet (months follow)."""
    return 5 + (k - 1) * BLOCK_ROWS


def _header(sheet, row: int, title: str, headers, note: str = "") -> None:
    texts = [title, "unit", *headers] + ([note] if note else [])
    layout.header(sheet, row, texts, width=VALUE_WIDTH, label_first=True)


def _value(sheet, row: int, case: str, formula: str, output: bool, number_format: str, name: str, workbook):
    cell = style.apply(sheet[f"{CASE_COLUMNS[case]}{row}"], "xl_output" if output else "xl_formula", number_format)
    cell.value = "=" + formula
    style.define(workbook, name, BAND_SHEET, cell.coordinate)


def _label(sheet, row: int, label: str, unit: str, note: str = "") -> None:
    style.apply(sheet[f"A{row}"], "xl_label").value = label
    style.apply(sheet[f"B{row}"], "xl_note").value = unit or None
    if note:
        style.apply(sheet[f"{NOTE_COLUMN}{row}"], "xl_note").value = note


def _inputs(workbook, sheet, values: dict) -> int:
    """The low / high factors (inputs, base 1 between them) and their Check row; returns the last row."""
    _header(sheet, FIRST_INPUT_ROW - 1, "Ranges: factors of the Model sheet's values", ("low", "base", "high"),
            "what it scales")
    row = FIRST_INPUT_ROW
    for ranged in RANGED:
        _label(sheet, row, ranged.label, "x base", ranged.note)
        for end, column in (("low", "C"), ("high", "E")):
            cell = style.apply(sheet[f"{column}{row}"], "xl_input", "0.00")
            price_sheet.put(cell, values[factor_name(ranged.key, end)])
            style.define(workbook, factor_name(ranged.key, end), BAND_SHEET, cell.coordinate)
        style.apply(sheet[f"D{row}"], "xl_formula", "0.00").value = 1
        row += 1
    _label(sheet, row, "Check (the first unusable factor, or OK)", "")
    check = style.apply(sheet[f"C{row}"], "xl_formula", "text")
    check.value = "=" + checks.status_formula(band_checks())
    check.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(f"C{row}:E{row}")
    sheet[f"A{row}"].alignment = Alignment(vertical="top")
    longest = max((c.message() for c in band_checks()), key=len)
    sheet.row_dimensions[row].height = layout.wrapped_height(longest, 3 * VALUE_WIDTH)
    style.define(workbook, BAND_CHECK, BAND_SHEET, check.coordinate)
    return row


def _cases(workbook, sheet, row: int) -> int:
    """The factor of each ranged input in each cost case, and the requests in month 1; returns the last row."""
    row += 2
    _header(sheet, row, "Cost cases", [CASE_HEADERS[c] for c in CASES], "")
    for ranged in RANGED:
        row += 1
        picks = {"low": "low" if ranged.cost_rises else "high", "high": "high" if ranged.cost_rises else "low"}
        note = "" if ranged.cost_rises else "the low-cost case takes the high efficiency"
        _label(sheet, row, f"{ranged.label.split(':')[0]} factor", "x base", note)
        for case in CASES:
            typed = factor_name(ranged.key, picks.get(case, "low"))
            formula = "1" if case == "base" else f"IF(ISNUMBER({typed}),{typed},1)"
            _value(sheet, row, case, when(None, formula), False, "0.00", case_factor(ranged.key, case), workbook)
    row += 1
    _label(sheet, row, "Requests in month 1", "requests/month")
    for case in CASES:
        _value(sheet, row, case, when(None, f"in_requests_per_month*{case_factor('traffic', case)}"), False, "big",
               cell_name(REQUESTS, case), workbook)
    return row


def _candidates(workbook, sheet, row: int) -> int:
    """Per candidate: its price and throughput in each case, and the band's key results; returns the last row."""
    for k in CANDIDATES:
        row += 2
        _header(sheet, row, f"={input_name('name', k)}", [CASE_HEADERS[c] for c in CASES], "")
        for spec in CANDIDATE_CELLS:
            row += 1
            _label(sheet, row, spec.label, spec.unit)
            for case in CASES:
                _value(sheet, row, case, band_formula(spec, k, case), spec.output, spec.number_format,
                       cell_name(spec.key, case, k, spec.output), workbook)
        row += 1
        _label(sheet, row, f"Check: low <= base <= high in all {MONTHS} months", "")
        check = style.apply(sheet[f"C{row}"], "xl_formula", "text")
        check.value = "=" + order_formula(k)
        sheet.merge_cells(f"C{row}:E{row}")
        style.define(workbook, order_name(k), BAND_SHEET, check.coordinate)
    return row


def add_band_sheet(workbook, values: dict):
    """Add the Cost band sheet (typed factors from ``values``, by in_ name); returns it."""
    sheet = workbook.create_sheet(BAND_SHEET)
    layout.title(sheet, f"Cost band: low, base and high traffic, price and efficiency over {MONTHS} months",
                 "Low cost = low traffic, low price, high efficiency; high cost = high traffic, high price, low "
                 "efficiency; base = the Model sheet (an empty factor is 1, the base). Month by month: the Band by "
                 "month sheet.")
    row = _candidates(workbook, sheet, _cases(workbook, sheet, _inputs(workbook, sheet, values)))
    row += 2
    style.apply(sheet[f"A{row}"], "xl_note").value = (
        "n/a: a factor the Check row names, an unusable input on the Model sheet, or no price or spec for that "
        "accelerator (the Model sheet's Status row says which).")
    style.set_widths(sheet, {"A": 46, "B": 13, NOTE_COLUMN: 62} | {c: VALUE_WIDTH for c in CASE_COLUMNS.values()})
    sheet.freeze_panes = "C5"
    layout.set_print(sheet, f"A1:{NOTE_COLUMN}{row}", landscape=True, title_rows="1:2", pages_tall=1)
    style.protect(sheet)
    return sheet


# ----------------------------------------------------------------------------------------------
# Band by month


def _month_formulas(k: int, row: int) -> dict:
    """The formulas of one month's row of candidate k, by (series, case) (n/a where not computable)."""
    month = f"${MONTH_COLUMN}{row}"
    found = {}
    for case in CASES:
        n = case_names(k, case)
        gpus, monthly, cumulative = (f"{TABLE_COLUMNS[(s, case)]}{row}" for s, *_ in SERIES)
        found[("gpus", case)] = when(NEEDS["spec"].format_map(n),
                                     gpus_formula(n, requests_formula(n["requests"], month)))
        found[("monthly_usd", case)] = when(NEEDS["cost"].format_map(n), monthly_usd_formula(n, gpus))
        first = row == header_row(k) + 1
        previous = names(k)["train_usd"] if first else f"{TABLE_COLUMNS[('cumulative_usd', case)]}{row - 1}"
        found[("cumulative_usd", case)] = when(NEEDS["total"].format_map(n), f"{previous}+{monthly}")
    return found


def _month_block(workbook, sheet, k: int) -> None:
    """Candidate k's table of months, its chart feed and its two charts."""
    top = header_row(k)
    name = style.apply(sheet[f"A{top - 1}"], "xl_label")
    name.value = f'="Candidate {k}: "&{input_name("name", k)}'
    name.font = Font(bold=True, size=12, color="1F4E79")
    headers = ["Month"] + [f"{label[0].upper()}{label[1:]}: {CASE_HEADERS[case].lower()}" for _, label, _ in SERIES
                           for case in CASES]
    layout.header(sheet, top, headers)
    first, last = top + 1, top + MONTHS
    for row in range(first, last + 1):
        style.apply(sheet[f"{MONTH_COLUMN}{row}"], "xl_formula", "0").value = row - first + 1
        for (series, case), formula in _month_formulas(k, row).items():
            number_format = next(f for s, _, f in SERIES if s == series)
            style.apply(sheet[f"{TABLE_COLUMNS[(series, case)]}{row}"], "xl_formula", number_format).value = \
                "=" + formula
    for series, *_ in SERIES:
        for case in CASES:
            letter = TABLE_COLUMNS[(series, case)]
            style.define(workbook, month_name(k, series, case), MONTH_SHEET, f"{letter}{first}:{letter}{last}")
    columns = [Column(f"{series}_{case}", CASE_HEADERS[case], "usd", None) for series, *_ in BAND_CHARTS
               for case in ("base", "low", "high")]
    values = {c.key: ["=" + formulas.chart_value(f"{TABLE_COLUMNS[tuple(c.key.rsplit('_', 1))]}{row}")
                      for row in range(first, last + 1)] for c in columns}
    letters = layout.chart_feed(workbook, sheet, top, FEED_FIRST_COLUMN, columns, MONTHS, f"band_c{k}", values)
    months = Reference(sheet, min_col=1, min_row=first, max_row=last)
    for position, (series, title, y_title) in enumerate(BAND_CHARTS):
        y_refs = [Reference(sheet, range_string=f"'{MONTH_SHEET}'!{letters[f'{series}_{case}']}{top}:"
                                                f"{letters[f'{series}_{case}']}{last}")
                  for case in ("base", "low", "high")]
        chart = charts.scatter_chart(f"Candidate {k}: {title}", months, y_refs, x_title="Month", y_title=y_title,
                                     x_format="month", y_format="usd")
        chart.x_axis.scaling.min, chart.x_axis.scaling.max, chart.x_axis.majorUnit = 0, MONTHS, 3
        chart.width, chart.height = 12.2, 11
        sheet.add_chart(chart, f"{'A' if position == 0 else 'F'}{last + 2}")


def add_month_sheet(workbook):
    """Add the Band by month sheet (after the Cost band sheet); returns it."""
    sheet = workbook.create_sheet(MONTH_SHEET)
    layout.title(sheet, f"Cost band by month: {MONTHS} months of GPUs and cost per candidate, low / base / high",
                 "The base columns equal the Projection sheet; low and high use the Cost band sheet's cost cases.")
    for k in CANDIDATES:
        _month_block(workbook, sheet, k)
        if k > 1:
            sheet.row_breaks.append(Break(id=header_row(k) - 2))
    style.set_widths(sheet, {MONTH_COLUMN: 8} | {letter: 15 for letter in TABLE_COLUMNS.values()})
    last = header_row(CANDIDATES[-1]) + BLOCK_ROWS - 3
    layout.set_print(sheet, f"A1:{LAST_TABLE_COLUMN}{last}", landscape=False, title_rows="1:2")
    style.protect(sheet)
    return sheet
