"""Looking at recalculated template workbooks as a reader would: which cells feed charts (the only ones that may
hold #N/A), and error cells anywhere else. Shared by the workbook tests."""

import openpyxl

from xlcalc.workbooks import recalc
from xlcalc.workbooks.templates import layout


def chart_feed_cells(path) -> set:
    """(sheet, cell) of every chart-feed cell (defined names chart_*): the only cells that may hold #N/A."""
    return recalc.chart_feed_cells(path)


def errors_outside_chart_feeds(path) -> list:
    """(sheet, cell, value) of every error cell except #N/A in a chart-feed cell."""
    return recalc.error_cells_outside_chart_feeds(path)


def chart_feed_labels_missing(path) -> list:
    """The chart-feed names whose block lacks the note saying what #N/A means there (two rows above its first cell)."""
    book = openpyxl.load_workbook(path)
    missing = []
    for name, definition in book.defined_names.items():
        if name.startswith(layout.CHART_PREFIX):
            (sheet, ref), = definition.destinations
            first = ref.replace("$", "").split(":")[0]
            column = "".join(ch for ch in first if ch.isalpha())
            row = int(first[len(column):])
            if book[sheet][f"{column}{row - 2}"].value != layout.CHART_FEED_NOTE:
                missing.append(name)
    return missing
