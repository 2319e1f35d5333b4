"""The bytes of the .xlsx files xlcalc writes: numbers that read back bit for bit, and a reproducible zip.

openpyxl writes a cell's number with ``"%.16g"``, which drops the 17th significant digit some doubles need
(2.0123456789012346 comes back as 2.012345678901235, 0.30000000000000004 as 0.3); :func:`workbook_bytes`
writes the shortest text that reads back as the same double (Python's ``repr``). :func:`repack` rewrites
the archive with fixed timestamps and the members in openpyxl's order, so the same workbook gives the same
bytes on every run; with ``fixed_time`` the document's created/modified properties are fixed too.
:func:`sheet_parts` maps sheet titles to their XML parts.
"""

from __future__ import annotations

import contextlib
import io
import math
import posixpath
import re
import zipfile
from xml.etree import ElementTree

#: The timestamp of every member, and of the document properties when fixed: the zip format's epoch.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_DOCUMENT_TIME = "1980-01-01T00:00:00Z"

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DOCUMENT_TIMES = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def number_text(value) -> str:
    """Text for a cell's number that reads back as the same double: '2.0123456789012346', '5e-324', '70'.

    Whole numbers below 2**53 are written without a decimal point, as openpyxl and Excel write them.

    >>> number_text(0.1 + 0.2), number_text(True), number_text(7e10), number_text(10**20), number_text(-0.0)
    ('0.30000000000000004', '1', '70000000000', '1e+20', '-0.0')
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    try:
        value = float(value)
    except (OverflowError, TypeError, ValueError):
        return ""
    if math.isnan(value) or math.isinf(value):
        return ""
    if value.is_integer() and abs(value) < 2**53 and math.copysign(1, value) > 0:
        return str(int(value))
    return repr(value)


def _cell_text(value):
    """openpyxl's safe_string for cell values, with numbers written exactly."""
    from openpyxl.compat import NUMERIC_TYPES, safe_string

    return number_text(value) if isinstance(value, NUMERIC_TYPES) else safe_string(value)


@contextlib.contextmanager
def _exact_numbers():
    from openpyxl.cell import _writer

    original = _writer.safe_string
    _writer.safe_string = _cell_text
    try:
        yield
    finally:
        _writer.safe_string = original


def workbook_bytes(workbook) -> bytes:
    """An openpyxl workbook saved to bytes, every number written so that it reads back bit for bit."""
    buffer = io.BytesIO()
    with _exact_numbers():
        workbook.save(buffer)
    return buffer.getvalue()


def repack(data: bytes, replacements=None, *, fixed_time: bool = False) -> bytes:
    """The archive ``data`` rewritten reproducibly: fixed timestamps, same member order, parts replaced.

    ``replacements`` maps member names to new contents. With ``fixed_time`` the created and modified
    dates in docProps/core.xml are set to FIXED_DOCUMENT_TIME, so rebuilding unchanged content gives
    identical bytes.
    """
    replacements = dict(replacements or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = replacements.pop(member.filename, None)
            content = source.read(member) if content is None else content
            if fixed_time and member.filename == "docProps/core.xml":
                content = _DOCUMENT_TIMES.sub(rb"\g<1>" + FIXED_DOCUMENT_TIME.encode() + rb"\g<3>", content)
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, content)
    if replacements:
        raise KeyError(f"no such parts in the archive: {sorted(replacements)}")
    return out.getvalue()


def sheet_parts(archive: zipfile.ZipFile) -> dict:
    """{sheet title: XML part name} of an open .xlsx archive, from xl/workbook.xml and its relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in relations}
    parts = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(_RELATIONSHIP_ID), "")
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
    return parts
