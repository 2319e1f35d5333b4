"""The "Hardware prices" sheet both workbooks share: the catalog's accelerators, editable, with whole-column names.

One row per accelerator (specs, the lowest listed on-demand $ per GPU-hour, where and when that price was
seen, and the sources), as input cells so a user can correct a price or add a row below the catalog. Every
column of the table has a workbook-level defined name over rows PRICE_FIRST_ROW..PRICE_LAST_ROW (hw_names,
hw_peak_tflops, hw_usd_per_hour, ...), so other sheets look values up by accelerator name:

    INDEX(hw_usd_per_hour, MATCH(name_cell, hw_names, 0))

and offer the names in a drop-down (data validation list ``hw_names``: OOXML stores list formulas without
the leading '=', as the fit drop-down does); see :func:`lookup` and
:func:`accelerator_dropdown`. The layout is data (:data:`PRICE_COLUMNS`), which is also what
:mod:`xlcalc.workbooks.refresh` uses to carry a user's rows into a rebuilt workbook.
"""

from __future__ import annotations

import dataclasses
import math

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import checks, style

PRICE_SHEET_TITLE = "Hardware prices"
PRICE_HEADER_ROW = 1
PRICE_FIRST_ROW = 2
PRICE_LAST_ROW = 200
NOTES_COLUMN = "N"


@dataclasses.dataclass(frozen=True)
class PriceColumn:
    """One column of the price table: catalog field, header text, defined name, number format, width."""

    key: str
    header: str
    name: str
    number_format: str
    width: float
    numeric: bool = True


#: The columns of the price table, left to right (column A first).
PRICE_COLUMNS = (
    PriceColumn("name", "Accelerator", "hw_names", "text", 24, numeric=False),
    PriceColumn("peak_tflops_bf16", "Peak BF16 TFLOP/s (dense)", "hw_peak_tflops", "#,##0.0", 13),
    PriceColumn("peak_tflops_fp8", "Peak FP8 TFLOP/s (dense)", "hw_peak_fp8_tflops", "#,##0.0", 13),
    PriceColumn("peak_tflops_int8", "Peak INT8 TOP/s (dense)", "hw_peak_int8_tops", "#,##0.0", 13),
    PriceColumn("memory_gb", "Memory GB", "hw_memory_gb", "#,##0", 10),
    PriceColumn("mem_bw_tbs", "Memory bandwidth TB/s", "hw_mem_bw_tbs", "0.000", 13),
    PriceColumn("tdp_w", "TDP W", "hw_tdp_w", "#,##0", 8),
    PriceColumn("usd_per_hour", "$ per GPU-hour (on demand)", "hw_usd_per_hour", "$#,##0.000", 13),
    PriceColumn("price_provider", "Price from", "hw_price_provider", "text", 16, numeric=False),
    PriceColumn("price_date", "Price seen", "hw_price_date", "text", 16, numeric=False),
    PriceColumn("price_source", "Price source", "hw_price_source", "text", 40, numeric=False),
    PriceColumn("source", "Spec source", "hw_spec_source", "text", 60, numeric=False),
)

#: Column letter of each field, e.g. COLUMN_LETTERS["usd_per_hour"] == "H".
COLUMN_LETTERS = {column.key: get_column_letter(i) for i, column in enumerate(PRICE_COLUMNS, start=1)}

#: The defined name over each field's column.
COLUMN_NAMES = {column.key: column.name for column in PRICE_COLUMNS}

NOTES = (
    "How to use this sheet",
    "Yellow cells are inputs: correct a price, or add your own accelerator in an empty row below the catalog "
    f"(up to row {PRICE_LAST_ROW}). Other sheets find rows by the name in column A (case does not matter), so "
    "keep names unique; the first row with a name wins.",
    "Peak FLOP/s are dense (without sparsity). $ per GPU-hour is the lowest on-demand price listed in xlcalc's "
    "catalog when the workbook was built; leave it empty where no price is known.",
    "Rebuilding the workbook with `xlcalc refresh BOOK.xlsx` keeps every row you added or edited here.",
)


def put(cell, value):
    """Write ``value`` to a cell as data: None and NaN leave it empty, and text is always text.

    A string that starts with '=' is stored as a string (never as a formula), so text from a catalog or
    from a user's workbook cannot become a live formula. An empty string leaves the cell empty.
    """
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        cell.value = None
        return cell
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def catalog_rows(catalog=None) -> list[dict]:
    """The catalog's accelerators as rows of the price table: {field key: value} (NaN where unknown)."""
    from ...data import hardware  # the catalog module, imported where used

    rows = []
    for name in hardware.gpu_names(catalog=catalog):
        accelerator = hardware.gpu(name, catalog=catalog)
        rows.append({column.key: getattr(accelerator, column.key, None) for column in PRICE_COLUMNS})
    return rows


def column_range(key: str) -> str:
    """The cell range of a field's column in the table, e.g. ``$H$2:$H$200``."""
    letter = COLUMN_LETTERS[key]
    return f"${letter}${PRICE_FIRST_ROW}:${letter}${PRICE_LAST_ROW}"


def write_rows(sheet, rows, first_row: int = PRICE_FIRST_ROW) -> int:
    """Write price rows ({field key: value}) from ``first_row`` down; returns the row after the last one."""
    row = first_row
    for values in rows:
        if row > PRICE_LAST_ROW:
            raise ValueError(f"the price sheet holds at most {PRICE_LAST_ROW - PRICE_FIRST_ROW + 1} rows")
        for index, column in enumerate(PRICE_COLUMNS, start=1):
            put(sheet.cell(row=row, column=index), values.get(column.key))
        row += 1
    return row


def read_rows(sheet) -> list[tuple[int, dict]]:
    """The non-empty rows of a price table: [(row number, {field key: value})], values as stored."""
    found = []
    last = max(sheet.max_row, PRICE_FIRST_ROW)
    for row in range(PRICE_FIRST_ROW, last + 1):
        values = {column.key: sheet.cell(row=row, column=index).value
                  for index, column in enumerate(PRICE_COLUMNS, start=1)}
        if any(v is not None and v != "" for v in values.values()):
            found.append((row, values))
    return found


def add_price_sheet(workbook, catalog=None, *, rows=None, index=None):
    """Create the "Hardware prices" sheet from the catalog (or from ``rows``) with its defined names.

    ``catalog`` is an :mod:`xlcalc.data.hardware` catalog (default: the packaged one); ``rows`` (a list of
    {field key: value}) replaces the catalog when given. Rows PRICE_FIRST_ROW..PRICE_LAST_ROW are input
    cells; the sheet is protected without a password. Returns the sheet.
    """
    style.register_styles(workbook)
    sheet = workbook.create_sheet(PRICE_SHEET_TITLE, index)
    for index_, column in enumerate(PRICE_COLUMNS, start=1):
        style.apply(sheet.cell(row=PRICE_HEADER_ROW, column=index_, value=column.header), "xl_header")
        for row in range(PRICE_FIRST_ROW, PRICE_LAST_ROW + 1):
            style.apply(sheet.cell(row=row, column=index_), "xl_input", column.number_format)
        style.define(workbook, column.name, PRICE_SHEET_TITLE, column_range(column.key).replace("$", ""))
    write_rows(sheet, catalog_rows(catalog) if rows is None else rows)
    sheet.row_dimensions[PRICE_HEADER_ROW].height = 45
    sheet.freeze_panes = sheet.cell(row=PRICE_FIRST_ROW, column=2)
    style.set_widths(sheet, {COLUMN_LETTERS[c.key]: c.width for c in PRICE_COLUMNS} | {NOTES_COLUMN: 70})
    for offset, text in enumerate(NOTES):
        cell = sheet[f"{NOTES_COLUMN}{PRICE_HEADER_ROW + offset}"]
        style.apply(cell, "xl_title" if offset == 0 else "xl_note").value = text
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    style.protect(sheet)
    return sheet


def set_print_settings(sheet) -> None:
    """Print the filled rows of the table up to the price's date (landscape, one page wide, the header row
    repeated): the long source texts stay on screen, where they wrap in no row."""
    from . import layout  # layout imports checks and style only

    last = max(PRICE_FIRST_ROW, *(row for row, _ in read_rows(sheet)))
    layout.set_print(sheet, f"A1:{COLUMN_LETTERS['price_date']}{last}", landscape=True,
                     title_rows=f"{PRICE_HEADER_ROW}:{PRICE_HEADER_ROW}")


def lookup(key: str, name_formula: str) -> str:
    """A formula fragment giving field ``key`` of the accelerator named by ``name_formula`` (a cell or name).

    >>> lookup("usd_per_hour", "in_c1_gpu")
    'INDEX(hw_usd_per_hour,MATCH(in_c1_gpu,hw_names,0))'
    """
    return f"INDEX({COLUMN_NAMES[key]},MATCH({name_formula},{COLUMN_NAMES['name']},0))"


def price_choice(fields, name_formula: str) -> str:
    """A formula fragment: the first of ``fields`` above 0 for the accelerator named by ``name_formula``, else the
    last field's value (an empty cell looks up as 0); #N/A when the sheet does not list the name.

    >>> price_choice(("usd_per_hour",), "g")
    'INDEX(hw_usd_per_hour,MATCH(g,hw_names,0))'
    >>> price_choice(("tdp_w", "memory_gb"), "g").startswith("IF(INDEX(hw_tdp_w,MATCH(g,hw_names,0))>0,")
    True
    """
    value = lookup(fields[-1], name_formula)
    for field in reversed(fields[:-1]):
        first = lookup(field, name_formula)
        value = f"IF({first}>0,{first},{value})"
    return value


def price_formula(fields, name_formula: str) -> str:
    """:func:`price_choice` showing the text NOT_LISTED (never #N/A) for a name the sheet does not list.

    >>> price_formula(("usd_per_hour",), "in_c1_gpu")
    'IFERROR(INDEX(hw_usd_per_hour,MATCH(in_c1_gpu,hw_names,0)),"not listed")'
    """
    return f'IFERROR({price_choice(fields, name_formula)},"{checks.NOT_LISTED}")'


def shown_price(fields, name_formula: str) -> str:
    """:func:`price_choice` as a result shows it: the number where it is above 0, the text n/a where the sheet has
    none above 0 (an empty or text cell: never $0), and NOT_LISTED for a name the sheet does not list.

    >>> shown_price(("usd_per_hour",), "g").count("n/a"), shown_price(("usd_per_hour",), "g").endswith('"not listed")')
    (2, True)
    """
    value = price_choice(fields, name_formula)
    missing = checks.NOT_AVAILABLE
    return f'IFERROR(IF(ISNUMBER({value}),IF({value}>0,{value},"{missing}"),"{missing}"),"{checks.NOT_LISTED}")'


def price_value(table: dict, name, fields) -> float:
    """Python's twin of :func:`price_formula` over :func:`price_table`: the first field above 0, else the last
    field's value; an empty cell is 0, and NaN stands where the sheet shows text (a text cell, or a name the
    price sheet does not list), so every "above 0" test fails on it as the sheet's ISNUMBER tests do.

    >>> table = price_table([{"name": "X", "peak_tflops_int8": None, "peak_tflops_bf16": 9}])
    >>> price_value(table, "x", ("peak_tflops_int8", "peak_tflops_bf16")), price_value(table, "Y", ("tdp_w",))
    (9.0, nan)
    """
    row = table.get(name.casefold()) if isinstance(name, str) else None
    if row is None:
        return math.nan
    value = math.nan
    for field in fields:
        value = _looked_up(row.get(field))
        if value > 0:
            return value
    return value


def _looked_up(cell) -> float:
    """A price-sheet cell as a lookup reads it: its number, 0 when empty (None, "" or NaN), NaN for text."""
    if checks.is_number(cell):
        return float(cell)
    return 0.0 if checks.is_empty(cell) or (isinstance(cell, float) and math.isnan(cell)) else math.nan


#: The rule of an accelerator-name input: a name listed on the price sheet (any case), offered as a drop-down.
ACCELERATOR = checks.Rule(
    f"ISNUMBER(MATCH({{x}},{COLUMN_NAMES['name']},0))", f"must be an accelerator listed in {PRICE_SHEET_TITLE}",
    lambda value, context: isinstance(value, str) and value.casefold() in context["prices"],
    checks.Validation("list", COLUMN_NAMES["name"], error=f"Pick an accelerator listed in the '{PRICE_SHEET_TITLE}' "
                      "sheet (add a row there for a new one).", error_title="Unknown accelerator",
                      prompt=f"Accelerators come from the '{PRICE_SHEET_TITLE}' sheet."))


def accelerator_dropdown(sheet, *coordinates: str) -> DataValidation:
    """A drop-down of the price sheet's accelerator names on the given cells (typing other text is refused)."""
    return ACCELERATOR.validation.add_to(sheet, coordinates)


def price_table(rows) -> dict:
    """Rows of a price table as a lookup {name casefolded: row}, keeping the first row of each name (as MATCH does)."""
    table = {}
    for values in rows:
        values = values[1] if isinstance(values, tuple) else values
        name = values.get("name")
        if isinstance(name, str) and name.strip() and name.casefold() not in table:
            table[name.casefold()] = values
    return table
