"""The look of every xlcalc workbook, as data: named styles, number formats, and helpers that apply them.

Input cells are pale yellow and unlocked; formulas are locked (sheets are protected without a password, so
a user can unprotect them to edit); key outputs are pale green. Every input cell gets a workbook-level
defined name starting ``in_`` and every key output one starting ``out_``, made by :func:`define`.
"""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import absolute_coordinate, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

#: Number formats by kind of quantity.
FORMATS = {
    "count": "#,##0",
    "big": "0.000E+00",  # params, tokens, FLOPs
    "usd": "$#,##0",
    "usd_cents": "$#,##0.00",
    "usd_precise": "$#,##0.0000",
    "ratio": "0.000",
    "percent": "0.0%",
    "loss": "0.000000",
    "decimal": "#,##0.00",
    "text": "@",
    "date": "yyyy-mm-dd",
}

_thin = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)

STYLES = {
    "xl_input": dict(
        fill=PatternFill("solid", fgColor="FFF2CC"),
        font=Font(color="1F4E79", bold=True),
        border=_BORDER,
        protection=Protection(locked=False),
    ),
    "xl_formula": dict(border=_BORDER, protection=Protection(locked=True)),
    "xl_output": dict(
        fill=PatternFill("solid", fgColor="E2EFDA"),
        font=Font(bold=True),
        border=_BORDER,
        protection=Protection(locked=True),
    ),
    "xl_header": dict(
        fill=PatternFill("solid", fgColor="1F4E79"),
        font=Font(color="FFFFFF", bold=True),
        alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        protection=Protection(locked=True),
    ),
    "xl_label": dict(protection=Protection(locked=True)),
    "xl_note": dict(font=Font(italic=True, color="595959"), protection=Protection(locked=True)),
    "xl_title": dict(font=Font(bold=True, size=14, color="1F4E79"), protection=Protection(locked=True)),
}


def register_styles(workbook) -> None:
    """Add xlcalc's named styles to a workbook (once)."""
    existing = set(workbook.named_styles)
    for name, attributes in STYLES.items():
        if name not in existing:
            workbook.add_named_style(NamedStyle(name=name, **attributes))


def apply(cell, style: str, number_format: str | None = None):
    """Give a cell one of xlcalc's named styles and, optionally, a number format from FORMATS (or literal)."""
    cell.style = style
    if number_format is not None:
        cell.number_format = FORMATS.get(number_format, number_format)
    return cell


def reference(sheet_title: str, coordinate: str) -> str:
    """An absolute reference such as ``'Price sheet'!$B$4`` (quoted when needed)."""
    return f"{quote_sheetname(sheet_title)}!{absolute_coordinate(coordinate)}"


def define(workbook, name: str, sheet_title: str, coordinate: str) -> str:
    """Create a workbook-level defined name for a cell or range and return the name."""
    if name in workbook.defined_names:
        raise ValueError(f"defined name {name!r} is used twice")
    workbook.defined_names[name] = DefinedName(name, attr_text=reference(sheet_title, coordinate))
    return name


def protect(sheet) -> None:
    """Protect a sheet without a password: formulas are locked, inputs (unlocked) stay editable."""
    sheet.protection.sheet = True
    sheet.protection.formatCells = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.insertRows = False
    sheet.protection.sort = False
    sheet.protection.autoFilter = False


def set_widths(sheet, widths: dict) -> None:
    """Column widths by letter, e.g. {"A": 34, "B": 16}."""
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width


def straight(chart):
    """Turn smoothing off on every series of a chart (charts draw straight segments)."""
    for series in chart.series:
        series.smooth = False
    return chart


def scatter_chart(sheet, title: str, x_ref: Reference, y_refs, *, x_title: str, y_title: str,
                  log_x: bool = False, log_y: bool = False, series_from_header: bool = True) -> ScatterChart:
    """A straight-line scatter chart of y columns against an x column (titles from their header cells)."""
    chart = ScatterChart()
    chart.title = title
    chart.style = 13
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if log_x:
        chart.x_axis.scaling.logBase = 10
    if log_y:
        chart.y_axis.scaling.logBase = 10
    for y_ref in y_refs:
        series = Series(y_ref, x_ref, title_from_data=series_from_header)
        series.marker.symbol = "none"
        chart.series.append(series)
    chart.width, chart.height = 18, 9
    return straight(chart)


def line_chart(title: str, data_ref: Reference, categories: Reference, *, y_title: str, x_title: str) -> LineChart:
    """A straight-line chart of columns (with header rows) against category labels."""
    chart = LineChart()
    chart.title = title
    chart.y_axis.title = y_title
    chart.x_axis.title = x_title
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.add_data(data_ref, titles_from_data=True)
    chart.set_categories(categories)
    chart.width, chart.height = 18, 9
    return straight(chart)


def readme_sheet(workbook, title: str, paragraphs: list[str], *, index: int = 0):
    """A Read-me sheet: a title and one paragraph per row, wrapped, locked."""
    sheet = workbook.create_sheet("Read me", index)
    register_styles(workbook)
    apply(sheet["A1"], "xl_title").value = title
    sheet.column_dimensions["A"].width = 110
    for row, text in enumerate(paragraphs, start=3):
        cell = sheet.cell(row=row, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    protect(sheet)
    return sheet
