"""The Model shapes sheet: xlcalc's catalog of published dense architectures, which the latency target reads.

Each column has a defined name (ms_names, ms_layers, ...); a candidate's "Model shape" must be one of the
names (the input rule :data:`MODEL`, its drop-down, and the Python twin agree).
"""

from __future__ import annotations

from ....data.model_shapes import shape_catalog
from .. import checks, layout, style

SHEET = "Model shapes"
FIRST_ROW = 4

#: key, header, number format, defined name: the columns of the sheet, left to right.
COLUMNS = (
    ("name", "Model", "text", "ms_names"),
    ("params", "Parameters", "big", "ms_params"),
    ("matmul_params", "In matrix multiplies", "big", "ms_matmul_params"),
    ("layers", "Layers", "count", "ms_layers"),
    ("d_model", "d_model", "count", "ms_d_model"),
    ("q_dim", "Query width", "count", "ms_q_dim"),
    ("kv_dim", "KV width", "count", "ms_kv_dim"),
    ("source", "Source", "text", None),
)


def model_names() -> list[str]:
    """The catalog's model names, as the sheet lists them."""
    return list(shape_catalog())


MODEL = checks.Rule(
    "ISNUMBER(MATCH({x},ms_names,0))", f"must be a model listed in {SHEET}",
    lambda value, _: isinstance(value, str) and value.casefold() in {n.casefold() for n in model_names()},
    checks.Validation("list", "ms_names", error=f"Pick a model listed in the '{SHEET}' sheet.",
                      error_title="Unknown model", prompt=f"Models come from the '{SHEET}' sheet."))


def add(workbook):
    """Add the Model shapes sheet (read-only: the catalog as built); returns it."""
    sheet = workbook.create_sheet(SHEET)
    style.apply(sheet["A1"], "xl_title").value = "Model shapes"
    style.apply(sheet["A2"], "xl_note").value = (
        "Published dense architectures (xlcalc's catalog): the latency target reads layers, widths and KV heads "
        "from here. Widths are heads x head dimension; parameters are computed from the shape.")
    shapes = list(shape_catalog().values())
    last = FIRST_ROW + len(shapes)
    for column, (key, header, number_format, name) in enumerate(COLUMNS, start=1):
        letter = sheet.cell(row=FIRST_ROW, column=column).column_letter
        style.apply(sheet.cell(row=FIRST_ROW, column=column), "xl_header").value = header
        for row, shape in enumerate(shapes, start=FIRST_ROW + 1):
            value = getattr(shape, key)
            cell = style.apply(sheet.cell(row=row, column=column), "xl_formula", number_format)
            cell.value = value if isinstance(value, str) else float(value)
        if name:
            style.define(workbook, name, SHEET, f"${letter}${FIRST_ROW + 1}:${letter}${last}")
    style.set_widths(sheet, {"A": 18, "B": 16, "C": 18, "D": 8, "E": 10, "F": 12, "G": 10, "H": 90})
    layout.set_print(sheet, f"A1:H{last}", landscape=True, title_rows=f"1:{FIRST_ROW}")
    style.protect(sheet)
    return sheet
