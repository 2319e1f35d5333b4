"""Computed values in the workbooks xlcalc writes, so that readers that do not recalculate see the results.

openpyxl writes formulas without a cached value: ``pandas.read_excel``, openpyxl with ``data_only=True``,
file previews and any pipeline that reads results without a spreadsheet engine see empty cells.
:func:`with_cached_values` recalculates the file xlcalc wrote in LibreOffice and puts each formula's
computed value into that same file (a ``<v>`` beside each ``<f>``, typed as number, text, boolean or error):
nothing else in it changes, so styles, names, validation, protection and charts stay exactly as built, and
the workbook still tells Excel to recalculate everything on load (``fullCalcOnLoad``).
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from xml.sax.saxutils import escape

from . import recalc, files as workbook_files, xlsx_bytes

# a formula cell as openpyxl writes it: <c r="B7" s="3"><f>...</f><v /></c> (formula text is escaped: no '<')
_FORMULA_CELL = re.compile(rb'<c r="(?P<ref>[A-Z]+[0-9]+)"(?P<attributes>[^>]*)>'
                           rb"(?P<formula><f[^>]*>[^<]*</f>|<f[^>]*/>)<v ?/></c>")


def _value_xml(value, is_error: bool) -> tuple[bytes, bytes]:
    """(type attribute, <v> content) for a computed value."""
    if is_error:
        return b' t="e"', escape(str(value)).encode()
    if isinstance(value, bool):
        return b' t="b"', b"1" if value else b"0"
    if isinstance(value, (int, float)):
        return b"", xlsx_bytes.number_text(value).encode()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)):
        from openpyxl.utils.datetime import to_excel

        return b"", xlsx_bytes.number_text(to_excel(value)).encode()
    return b' t="str"', escape("" if value is None else str(value)).encode()


def insert_values(sheet_xml: bytes, values: dict) -> tuple[bytes, int]:
    """A sheet part with each formula cell's computed value from ``values`` ({ref: (value, is_error)}).

    Returns the new XML and how many formula cells got a value.
    """
    count = 0

    def fill(found):
        nonlocal count
        computed = values.get(found.group("ref").decode())
        if computed is None:
            return found.group(0)
        count += 1
        kind, text = _value_xml(*computed)
        return (b'<c r="' + found.group("ref") + b'"' + found.group("attributes") + kind + b">"
                + found.group("formula") + b"<v>" + text + b"</v></c>")

    return _FORMULA_CELL.sub(fill, sheet_xml), count


def computed_values(recalculated) -> dict:
    """{sheet title: {ref: (value, is_error)}} of every formula cell a recalculated workbook holds a value for."""
    import openpyxl

    formulas = openpyxl.load_workbook(recalculated)
    values = openpyxl.load_workbook(recalculated, data_only=True)
    found = {}
    for sheet in formulas.worksheets:
        computed = values[sheet.title]
        found[sheet.title] = {
            cell.coordinate: (computed[cell.coordinate].value, computed[cell.coordinate].data_type == "e")
            for cell in workbook_files.filled_cells(sheet) if cell.data_type == "f"}
    return found


def cells_without_value(sheet_xml: bytes) -> list[str]:
    """References of the formula cells of a sheet part (as xlcalc writes them) that hold no computed value."""
    return [found.group("ref").decode() for found in _FORMULA_CELL.finditer(sheet_xml)]


def with_cached_values(data: bytes, *, fixed_time: bool = False) -> bytes:
    """The .xlsx file ``data`` (as xlcalc wrote it) with a computed value for every formula, from LibreOffice.

    Raises :class:`~xlcalc.errors.RecalcError` when LibreOffice is missing or fails; then the caller
    decides whether to write the file without values (and says so).
    """
    with recalc.scratch_folder("values") as folder:
        source = folder / "in" / "workbook.xlsx"
        source.parent.mkdir()
        source.write_bytes(data)
        (recalculated,) = recalc.recalculate([source], folder / "out")
        values = computed_values(recalculated)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        replacements = {}
        for title, part in xlsx_bytes.sheet_parts(archive).items():
            if values.get(title):
                replacements[part], _ = insert_values(archive.read(part), values[title])
    return xlsx_bytes.repack(data, replacements, fixed_time=fixed_time)
