"""The look of every xlcalc workbook, as data: named styles, number formats, and helpers that apply them.

Input cells are pale yellow and unlocked; formulas are locked (sheets are protected without a password, so
a user can unprotect them to edit); key outputs are pale green. Every input cell gets a workbook-level
defined name starting ``in_`` and every key output one starting ``out_``, made by :func:`define`.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import absolute_coordinate, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

#: A count at a finance scale: 17.5B, 1.40T, 350,000,000 (the stored value stays exact). Two conditions and a
#: default section with thousands-scaling commas: Excel, LibreOffice, Gnumeric and Google Sheets all honour it.
SCALED = '[>=1E+12]#,##0.00,,,,"T";[>=1E+9]#,##0.0,,,"B";#,##0'

#: Number formats by kind of quantity.
FORMATS = {
    "count": "#,##0",
    "big": SCALED,  # params, tokens, requests
    "flops": "0.00E+00",  # FLOPs span 1e18..1e27: no word scale reaches them
    "usd": "$#,##0",
    "usd_cents": "$#,##0.00",
    "usd_precise": "$#,##0.0000",
    "usd_per_flop": "$0.000E+00",
    "ratio": "0.00",
    "percent": "0.0%",
    "loss": "0.0000",
    "decimal": "#,##0.00",
    "months": '#,##0.0 "months"',
    "seconds": '0.00000 "s"',
    "yes_no": '"yes";"yes";"no"',  # a 1/0 flag shown as yes/no (no TRUE/FALSE shown to users)
    "text": "@",
    "date": "yyyy-mm-dd",
}

RIGHT = Alignment(horizontal="right")

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
        if cell.number_format not in ("@", "General") and style != "xl_header":
            cell.alignment = RIGHT  # a text such as n/a lines up with the numbers of its column
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
