"""Layout helpers shared by the workbooks: labelled forms, per-row tables, the Read me sheet and print settings.

A sheet module describes its content as data (:class:`Row` for a labelled form, :class:`Column` for a table
whose every row holds the same formula) and these helpers write it with xlcalc's styles (:mod:`.style`),
defined names and print settings, so a new sheet reads like a description of the sheet.
"""

from __future__ import annotations

import dataclasses
import math

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from . import checks, style

#: Points per line of wrapped 11 pt text, and the characters of a column width unit that fit in a line.
LINE_HEIGHT_PT = 15.0
CHARS_PER_WIDTH = 1.05


@dataclasses.dataclass(frozen=True)
class Row:
    """One labelled row of a form: label in A, value in B, optional defined name, extra cells from C on."""

    label: str
    value: object = None
    style: str = "xl_formula"
    number_format: str | None = None
    name: str | None = None
    note: str = ""
    extra: tuple = ()  # (value, style, number_format) for columns C, D, ...


def header_row(label: str, *more: str) -> Row:
    """A header row of a form: a block title and the headers of the value columns."""
    return Row(label, more[0] if more else None, "xl_header", extra=tuple(more[1:]))


def header(sheet, row: int, texts, first_column: int = 1, width: float = 15, label_first: bool = False) -> None:
    """Header cells from ``first_column`` on, the row tall enough for the longest text wrapped ``width`` wide
    (``label_first``: the first text is a block title in the wide label column, left out of that measure)."""
    # bold header text is wider than the body text wrapped_height measures: count three quarters of the width
    measured = list(texts)[1:] if label_first else list(texts)
    tallest = max((wrapped_height(str(text), width * 0.75) for text in measured), default=LINE_HEIGHT_PT)
    if tallest > LINE_HEIGHT_PT + 4:
        sheet.row_dimensions[row].height = max(sheet.row_dimensions[row].height or 0, tallest)
    for offset, text in enumerate(texts):
        style.apply(sheet.cell(row=row, column=first_column + offset, value=text), "xl_header")


def title(sheet, text: str, note: str = "") -> None:
    """The sheet's title in A1 and a note under it."""
    style.apply(sheet["A1"], "xl_title").value = text
    if note:
        style.apply(sheet["A2"], "xl_note").value = note


def form(workbook, sheet, first_row: int, rows, note_column: int) -> dict:
    """Write labelled rows from ``first_row`` (None: an empty row); returns {defined name or label: value cell}."""
    where = {}
    for offset, row in enumerate(rows):
        r = first_row + offset
        if row is None:
            continue
        if row.style == "xl_header":
            header(sheet, r, [row.label, *([row.value] if row.value is not None else []), *row.extra],
                   label_first=True)
            continue
        style.apply(sheet.cell(row=r, column=1, value=row.label), "xl_label")
        cell = style.apply(sheet.cell(row=r, column=2), row.style, row.number_format)
        cell.value = row.value
        if isinstance(row.value, str) and not row.value.startswith("="):
            cell.data_type = "s"
        for index, (value, extra_style, extra_format) in enumerate(row.extra, start=3):
            style.apply(sheet.cell(row=r, column=index, value=value), extra_style, extra_format)
        if row.note:
            style.apply(sheet.cell(row=r, column=note_column, value=row.note), "xl_note")
        where[row.name or row.label] = cell.coordinate
        if row.name:
            style.define(workbook, row.name, sheet.title, cell.coordinate)
    return where


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a per-row table: key, header, number format, and a formula template.

    The template is a formula text with ``{key}`` placeholders for other columns of the same row and
    ``{i}`` for the 0-based row index; None leaves the value to the caller.
    """

    key: str
    header: str
    number_format: str
    template: str | None
    style: str = "xl_formula"


def table(sheet, header_row: int, columns, rows: int, first_column: int = 1, values=None) -> dict:
    """Write a per-row table; returns {key: column letter}. ``values[key][i]`` fills columns without a template."""
    letters = {c.key: get_column_letter(first_column + j) for j, c in enumerate(columns)}
    header(sheet, header_row, [c.header for c in columns], first_column)
    for i in range(rows):
        r = header_row + 1 + i
        cells = {key: f"{letter}{r}" for key, letter in letters.items()}
        for c in columns:
            cell = style.apply(sheet[cells[c.key]], c.style, c.number_format)
            cell.value = values[c.key][i] if c.template is None else "=" + c.template.format(i=i, **cells)
    return letters


def newton_columns(prefix: str, label: str, start: str, step: str, steps: int) -> list[Column]:
    """Columns x0..x<steps> of a per-row Newton solve: ``start`` and ``step`` are templates, step with {x}."""
    columns = [Column(f"{prefix}0", f"{label} x0", "0.000000000000", start)]
    for k in range(1, steps + 1):
        previous = "{" + f"{prefix}{k - 1}" + "}"
        columns.append(Column(f"{prefix}{k}", f"{label} x{k}", "0.000000000000", step.replace("{x}", previous)))
    return columns


def hide_columns(sheet, first: str, last: str) -> None:
    """Group columns first..last in a collapsed outline (the + above the sheet shows them)."""
    sheet.column_dimensions.group(first, last, hidden=True, outline_level=1)


def guard(workbook, sheets, unguarded: set, fill_outputs: str) -> None:
    """Wrap every computed cell of ``sheets`` in IF(inputs_status="OK", ..., ""): one message, no error cells.

    out_ cells show ``fill_outputs`` instead of "". ``unguarded`` holds defined names left as they are (the
    status cells and what they read); chart-feed cells (names starting ``chart_``) are left as they are too.
    """
    skip, outputs = set(), set()
    for name, definition in workbook.defined_names.items():
        for sheet, ref in definition.destinations:
            cells = _cells(ref)
            if name in unguarded or name.startswith(CHART_PREFIX):
                skip |= {(sheet, c) for c in cells}
            elif name.startswith("out_"):
                outputs |= {(sheet, c) for c in cells}
    for title_ in sheets:
        for row in workbook[title_].iter_rows():
            for cell in row:
                if cell.data_type != "f" or (title_, cell.coordinate) in skip:
                    continue
                fill = fill_outputs if (title_, cell.coordinate) in outputs else ""
                cell.value = "=" + checks.guarded(cell.value[1:], fill)


def _cells(ref: str) -> list[str]:
    from openpyxl.utils.cell import range_boundaries

    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    return [f"{get_column_letter(c)}{r}" for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


# ----------------------------------------------------------------------------------------------
# Chart-feed cells: the only cells that may hold #N/A (a gap in a chart)

#: Defined names of chart-feed ranges start with this; tests allow #N/A there and nowhere else.
CHART_PREFIX = "chart_"
#: The header note of every chart-feed block.
CHART_FEED_NOTE = "Chart data (#N/A = no value: the chart leaves a gap)"


def chart_feed(workbook, sheet, header_row: int, first_column: int, columns, rows: int, name: str,
               values=None) -> dict:
    """A block of chart-feed columns (Column templates), labelled as such and named ``chart_<name>``.

    Returns {key: column letter}. The templates should give #N/A (NA()) where there is no value.
    """
    letters = table(sheet, header_row, columns, rows, first_column, values)
    note = sheet.cell(row=header_row - 1, column=first_column, value=CHART_FEED_NOTE)
    style.apply(note, "xl_note")
    first, last = letters[columns[0].key], letters[columns[-1].key]
    style.define(workbook, CHART_PREFIX + name, sheet.title, f"{first}{header_row + 1}:{last}{header_row + rows}")
    return letters


# ----------------------------------------------------------------------------------------------
# Text that wraps, the Read me sheet


def wrapped_height(text: str, width: float, size_pt: float = 11.0) -> float:
    """The row height (points) that shows ``text`` whole when wrapped in a column ``width`` characters wide.

    >>> wrapped_height("one line", 80), wrapped_height("Compute-optimal", 10)
    (19, 34)
    """
    per_line = max(1, int(width * CHARS_PER_WIDTH * 11.0 / size_pt))
    lines = 0
    for paragraph in str(text).split("\n"):
        words, length = paragraph.split(), 0
        lines += 1
        for word in words:
            if length and length + 1 + len(word) > per_line:
                lines += 1
                length = len(word)
            else:
                length += (1 if length else 0) + len(word)
            if length > per_line:  # a word longer than the line breaks (at a hyphen, or anywhere)
                lines += (length - 1) // per_line
                length = (length - 1) % per_line + 1
    return math.ceil(lines * LINE_HEIGHT_PT * size_pt / 11.0 + 4)


def wrap(sheet, cell, width: float) -> None:
    """Wrap a cell's text and make its row tall enough to show it whole."""
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    height = wrapped_height(cell.value, width)
    current = sheet.row_dimensions[cell.row].height or LINE_HEIGHT_PT
    sheet.row_dimensions[cell.row].height = max(current, height)


#: Width (characters) of the Read me column: a readable line that fits a portrait page.
README_WIDTH = 80


@dataclasses.dataclass(frozen=True)
class Section:
    """A part of the Read me: a heading and its paragraphs (numbered when ``steps``)."""

    heading: str
    paragraphs: tuple
    steps: bool = False

    def lines(self) -> list[str]:
        """The paragraphs as printed (numbered steps start with '1. ')."""
        if not self.steps:
            return list(self.paragraphs)
        return [f"{i}. {text}" for i, text in enumerate(self.paragraphs, start=1)]


def readme_sheet(workbook, title_text: str, sections, *, index: int = 0):
    """A Read me sheet: a title, then per section a bold heading and its paragraphs, wrapped at a readable width."""
    sheet = workbook.create_sheet("Read me", index)
    style.register_styles(workbook)
    style.apply(sheet["A1"], "xl_title").value = title_text
    sheet.column_dimensions["A"].width = README_WIDTH
    row = 3
    for section in sections:
        heading = sheet.cell(row=row, column=1, value=section.heading)
        style.apply(heading, "xl_label")
        heading.font = Font(bold=True, size=12, color="1F4E79")
        row += 1
        for text in section.lines():
            cell = style.apply(sheet.cell(row=row, column=1, value=text), "xl_label")
            cell.data_type = "s"
            wrap(sheet, cell, README_WIDTH)
            row += 1
        row += 1
    set_print(sheet, f"A1:A{row}", landscape=False, title_rows=None)
    style.protect(sheet)
    return sheet


def readme_paragraphs(sections) -> list[str]:
    """Every printed paragraph of the Read me, in order (headings included)."""
    return [text for section in sections for text in (section.heading, *section.lines())]


# ----------------------------------------------------------------------------------------------
# Print settings


def set_print(sheet, area: str, *, landscape: bool, title_rows: str | None, pages_tall: int = 0) -> None:
    """Print ``area`` fitted to one page wide (and ``pages_tall`` pages tall, 0: as many as needed).

    Pages carry the sheet's name in the header (tests find a sheet's pages by it) and "page x of y" below;
    ``title_rows`` ("1:4") repeat at the top of every page.
    """
    sheet.print_area = area
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = pages_tall
    if title_rows:
        sheet.print_title_rows = title_rows
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.75
    sheet.page_margins.header = sheet.page_margins.footer = 0.3
    sheet.oddHeader.left.text = "&A"
    sheet.oddHeader.right.text = "&F"
    sheet.oddFooter.right.text = "Page &P of &N"
