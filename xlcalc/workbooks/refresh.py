"""``xlcalc refresh``: rebuild a user's workbook from today's template, keeping their inputs and price rows.

The new workbook is today's template (new formulas, layout, catalog) with, carried over from the user's
file: the value of every ``in_`` cell, and every non-empty row of the "Hardware prices" sheet at the row it
was in (rows the user added or edited, and catalog rows as they were; no row moves, so notes beside a row
stay beside it). Accelerators that today's catalog has and the user's sheet lacks are added in empty rows
below the last one (then in gaps) and listed in a warning, since the user may have deleted them on
purpose. Cells the user filled where today's template has nothing (notes, own calculations) and whole sheets the user added are carried over too; a number typed
over one of the template's formulas is not (today's formula is used) and is reported.

Text read from the workbook is written back as text, never as a formula (a cell reading ``=cmd|...``
stays that text). An input or price cell in which the user typed a formula keeps its last computed value
where the file has one.

Links to other workbooks (``=[1]Sheet1!$A$1*2`` in a cell the user filled) are carried with the cells
that use them; a VBA project cannot be (an .xlsx file holds no macros) and is reported.

Writing goes through :func:`xlcalc.workbooks.files.save_workbook`: temporary file, backup, rename, a
computed value for every formula; a file open in Excel is refused; through a symbolic link, the file it
points at is written.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import zipfile
from pathlib import Path

from . import files as workbook_files
from ..errors import WorkbookError
from .templates import price_sheet
from .check import price_rows, style_name


@dataclasses.dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh` did: output path, backup of the replaced file, counts, and warnings for the user."""

    path: Path
    backup: Path | None
    template: str
    inputs_kept: int
    price_rows_kept: int
    price_rows_added: int
    other_cells_kept: int
    warnings: list
    values_missing: str | None = None


def _value_of(cell, cached_cell, what: str, warnings: list):
    """The value to carry over from a user's cell: constants as they are, formulas as their cached value."""
    if cell.data_type != "f":
        return True, cell.value
    cached = cached_cell.value if cached_cell is not None else None
    if cached is None:
        warnings.append(f"{what} held the formula {cell.value!r} with no saved result; today's template value is used")
        return False, None
    warnings.append(f"{what} held the formula {cell.value!r}; its last result {cached!r} is kept as a value")
    return True, cached


def _copy_inputs(old, cached, new, warnings: list) -> int:
    kept = 0
    old_inputs = {n for n in old.defined_names if n.startswith("in_")}
    for name in [n for n in new.defined_names if n.startswith("in_")]:
        if name not in old_inputs:
            continue
        targets, sources = workbook_files.named_cells(new, name), workbook_files.named_cells(old, name)
        cached_sources = workbook_files.named_cells(cached, name)
        if len(targets) != len(sources) or not targets:
            warnings.append(f"{name} has a different shape in today's template; its value was not carried over")
            continue
        cached_sources = cached_sources if len(cached_sources) == len(sources) else [None] * len(sources)
        for target, source, cached_source in zip(targets, sources, cached_sources):
            if source.data_type == "f" and target.data_type == "f":
                continue  # a template formula in an input cell (e.g. a lookup): today's formula is kept
            use, value = _value_of(source, cached_source, name, warnings)
            if use:
                price_sheet.put(target, value)
        kept += 1
    for name in sorted(old_inputs - set(new.defined_names)):
        values = [c.value for c in workbook_files.named_cells(old, name)]
        warnings.append(f"{name} is not in today's template; its value {values[0] if len(values) == 1 else values!r} "
                        "was not carried over")
    return kept


def _report_price_differences(rows, catalog, warnings: list) -> None:
    """Warn about kept rows whose $ per GPU-hour differs from today's catalog (the user's value is kept)."""
    today = price_sheet.price_table(catalog)
    differ = []
    for _, values in rows:
        name = values.get("name")
        now = today.get(name.casefold()) if isinstance(name, str) else None
        if now is not None and values.get("usd_per_hour") != now.get("usd_per_hour"):
            differ.append(f"{name} (yours {values.get('usd_per_hour')!r}, catalog {now.get('usd_per_hour')!r})")
    if differ:
        shown = "; ".join(differ[:5]) + (f"; and {len(differ) - 5} more" if len(differ) > 5 else "")
        warnings.append(f"{len(differ)} price row(s) differ from today's catalog in $ per GPU-hour and were kept "
                        f"as they are in your sheet: {shown}")


def _copy_prices(old, cached, new, warnings: list) -> tuple[int, int]:
    title = price_sheet.PRICE_SHEET_TITLE
    if title not in new.sheetnames:
        return 0, 0
    sheet = new[title]
    catalog = [values for _, values in price_sheet.read_rows(sheet)]
    if title not in old.sheetnames:
        return 0, len(catalog)
    cached_sheet = cached[title] if title in cached.sheetnames else None
    rows = []
    for row, values in price_rows(old[title]):
        for index, column in enumerate(price_sheet.PRICE_COLUMNS, start=1):
            cell = old[title].cell(row=row, column=index)
            if cell.data_type == "f":
                cached_cell = cached_sheet.cell(row=row, column=index) if cached_sheet is not None else None
                use, value = _value_of(cell, cached_cell, f"{title}!{cell.coordinate}", warnings)
                values[column.key] = value if use else str(cell.value)
        rows.append((row, values))
    names = {str(v.get("name")).casefold() for _, v in rows if v.get("name") is not None}
    _report_price_differences(rows, catalog, warnings)
    missing = [v for v in catalog if str(v.get("name")).casefold() not in names]
    capacity = price_sheet.PRICE_LAST_ROW - price_sheet.PRICE_FIRST_ROW + 1
    inside = [row for row, _ in rows if row <= price_sheet.PRICE_LAST_ROW]
    if len(inside) + len(missing) > capacity:
        raise WorkbookError(f"the price sheet has {len(inside)} rows and today's catalog adds {len(missing)}, more "
                            f"than the {capacity} rows the template holds: remove some rows first")
    for row in range(price_sheet.PRICE_FIRST_ROW, price_sheet.PRICE_LAST_ROW + 1):
        for index in range(1, len(price_sheet.PRICE_COLUMNS) + 1):
            sheet.cell(row=row, column=index).value = None
    # every row stays at its row number, so notes the user wrote beside it (carried cell by cell) still line up
    for row, values in rows:
        for index, column in enumerate(price_sheet.PRICE_COLUMNS, start=1):
            price_sheet.put(sheet.cell(row=row, column=index), values.get(column.key))
    outside = [row for row, _ in rows if row > price_sheet.PRICE_LAST_ROW]
    if outside:
        warnings.append(f"price rows below row {price_sheet.PRICE_LAST_ROW} ({_row_list(outside)}) were kept where "
                        f"they are, but the lookups read rows {price_sheet.PRICE_FIRST_ROW}..{price_sheet.PRICE_LAST_ROW}"
                        " only: move them into an empty row of the table to use them")
    free = _free_rows({row for row, _ in rows}, len(missing))
    for row, values in zip(free, missing):
        price_sheet.write_rows(sheet, [values], first_row=row)
    if missing:
        shown = ", ".join(str(v.get("name")) for v in missing)
        warnings.append(f"{len(missing)} accelerator(s) of today's catalog were not in your price sheet and were "
                        f"added in row(s) {_row_list(free)}: {shown}; delete those rows again if you had removed "
                        "them on purpose")
    return len(rows), len(missing)


def _free_rows(used: set, count: int) -> list[int]:
    """``count`` empty rows of the price table: below the last used row first, then gaps from the top."""
    rows = range(price_sheet.PRICE_FIRST_ROW, price_sheet.PRICE_LAST_ROW + 1)
    last = max([row for row in used if row <= price_sheet.PRICE_LAST_ROW], default=price_sheet.PRICE_FIRST_ROW - 1)
    below = [row for row in rows if row > last]
    gaps = [row for row in rows if row < last and row not in used]
    return (below + gaps)[:count]


def _row_list(rows) -> str:
    """Row numbers as short text: '5, 7, 9' (at most ten, then a count)."""
    rows = list(rows)
    return ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


#: Cells with one of these named styles were written by a template (see xlcalc.workbooks.templates.style), not typed.
TEMPLATE_STYLE_PREFIX = "xl_"


def _copy_cell(source, target) -> None:
    """Copy a cell's content and look to another workbook: text as text, the user's own formulas as formulas."""
    if source.data_type == "f":
        target.value = source.value
    else:
        price_sheet.put(target, source.value)
    for attribute in ("font", "fill", "border", "alignment", "protection"):
        setattr(target, attribute, copy.copy(getattr(source, attribute)))
    target.number_format = source.number_format


def _protected_cells(old) -> set:
    """(sheet, coordinate) of the cells refresh carries in its own way: in_ cells and the price table."""
    cells = {(c.parent.title, c.coordinate) for n in old.defined_names if n.startswith("in_")
             for c in workbook_files.named_cells(old, n)}
    if price_sheet.PRICE_SHEET_TITLE in old.sheetnames:
        cells |= {(price_sheet.PRICE_SHEET_TITLE, c.coordinate)
                  for c in workbook_files.filled_cells(old[price_sheet.PRICE_SHEET_TITLE])
                  if c.row >= price_sheet.PRICE_FIRST_ROW and c.column <= len(price_sheet.PRICE_COLUMNS)}
    return cells


def _copy_other_cells(old, new, warnings: list) -> int:
    """Carry what the user typed elsewhere: cells left empty by today's template, and sheets it does not have.

    Cells in a template sheet that carry a template style (an older template's layout) are not carried.

    Returns how many cells were carried. A constant typed over one of the template's formulas is not carried
    (today's formula wins) and is reported.
    """
    skip = _protected_cells(old)
    carried, replaced = 0, []
    for sheet in old.worksheets:
        if sheet.title not in new.sheetnames:
            target = new.create_sheet(sheet.title)
            for cell in workbook_files.filled_cells(sheet):
                if cell.value is not None:
                    _copy_cell(cell, target[cell.coordinate])
                    carried += 1
            for letter, dimension in sheet.column_dimensions.items():
                target.column_dimensions[letter].width = dimension.width
            for merged in sheet.merged_cells.ranges:
                target.merge_cells(str(merged))
            warnings.append(f"sheet {sheet.title!r} is not part of the template: its cells were carried over "
                            "(charts and images are not)")
            continue
        target = new[sheet.title]
        for cell in workbook_files.filled_cells(sheet):
            if cell.value is None or (sheet.title, cell.coordinate) in skip:
                continue
            new_cell = target[cell.coordinate]
            if new_cell.value is None and not style_name(cell).startswith(TEMPLATE_STYLE_PREFIX):
                _copy_cell(cell, new_cell)
                carried += 1
            elif cell.data_type != "f" and new_cell.data_type == "f":
                replaced.append(f"{sheet.title}!{cell.coordinate}")
    if replaced:
        shown = ", ".join(replaced[:5]) + (f" and {len(replaced) - 5} more" if len(replaced) > 5 else "")
        warnings.append(f"{len(replaced)} cell(s) held a typed value where today's template has a formula; the "
                        f"formula is used: {shown}")
    return carried


#: A reference to another workbook in formula text: [1]Sheet1!A1 or '[2]My sheet'!B3 (openpyxl numbers the links).
_EXTERNAL_REFERENCE = re.compile(r"\[(\d+)\]")


def _carry_external_links(old, new, warnings: list) -> None:
    """Give ``new`` the links to other workbooks that the user's formulas carried into it use ([1], [2], ...)."""
    links = list(getattr(old, "_external_links", []))
    if not links:
        return
    users = [f"{sheet.title}!{cell.coordinate}"
             for sheet in new.worksheets for cell in workbook_files.filled_cells(sheet)
             if cell.data_type == "f" and isinstance(cell.value, str) and _EXTERNAL_REFERENCE.search(cell.value)]
    if new._external_links:  # today's template has links of its own: the user's numbers would point at them
        warnings.append(f"your workbook links to {len(links)} other workbook(s), which today's template cannot "
                        f"carry; the formulas that use them ({_cell_list(users)}) will show #REF!")
        return
    new._external_links = links
    if users:
        warnings.append(f"the links to {len(links)} other workbook(s) were carried for the formulas that use them: "
                        f"{_cell_list(users)}")


def _cell_list(cells) -> str:
    cells = list(cells)
    return ", ".join(cells[:5]) + (f" and {len(cells) - 5} more" if len(cells) > 5 else "") if cells else "none"


def _report_macros(path: Path, warnings: list) -> None:
    with zipfile.ZipFile(path) as archive:
        macros = [n for n in archive.namelist() if n.lower().endswith("vbaproject.bin")]
    if macros:
        warnings.append(f"{path.name} holds a VBA project (macros, {macros[0]}), which an .xlsx workbook cannot "
                        "hold: the refreshed workbook has no macros; your previous file (kept as the backup, or "
                        "left as it is with -o) still has them")


def refresh(path, out=None, *, progress=None, values: bool = True) -> Refreshed:
    """Rebuild the xlcalc workbook at ``path`` from today's template into ``out`` (default: ``path`` itself).

    Keeps every in_ value and every row of the price sheet; writes atomically with a backup of the file it
    replaces, with computed values for every formula when ``values`` (and LibreOffice is there). Raises
    WorkbookError for a file that is not an xlcalc workbook or that Excel has open.
    """
    path = Path(path)
    target = Path(out) if out is not None else path
    old, template, _ = workbook_files.open_xlcalc(path)
    workbook_files.check_target(target)  # before the slow part: a path that cannot be written fails at once
    cached = workbook_files.load(path, data_only=True)
    if progress:
        progress(f"rebuilding {path.name} from today's {template} template")
    new = workbook_files.template_workbook(template)
    warnings: list[str] = []
    inputs = _copy_inputs(old, cached, new, warnings)
    kept, added = _copy_prices(old, cached, new, warnings)
    others = _copy_other_cells(old, new, warnings)
    _carry_external_links(old, new, warnings)
    _report_macros(path, warnings)
    saved = workbook_files.save_workbook(new, target, values=values, progress=progress)
    return Refreshed(saved.path, saved.backup, template, inputs, kept, added, others, warnings, saved.values_missing)
