"""Checking an .xlsx file before anything parses it: archive sizes, damage, XML entities, used ranges, names.

An .xlsx file is a zip archive of XML parts. A hostile or damaged one can make a reader hang or exhaust
memory (a few KB that expand to gigabytes of cells or whitespace, a cell typed at XFD1048576, a defined
name megabytes long, an XML entity bomb) or fail deep inside a library with a traceback (a flipped byte,
a truncated part). :func:`check_xlsx` reads the archive once, streaming, before openpyxl sees it, and
raises :class:`~xlcalc.errors.WorkbookError` with one line naming the file, the part and the limit or the
damage. The limits sit far above any real xlcalc workbook (the templates hold under 5,000 cells, 300 rows
and 40 columns per sheet, 150 KB per part), so only files no person made by hand are refused.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from xml.parsers import expat

from ..errors import WorkbookError

MAX_MEMBERS = 2_000
MAX_MEMBER_BYTES = 32 * 2**20
MAX_TOTAL_BYTES = 128 * 2**20
#: Uncompressed / compressed size above which a part larger than RATIO_FLOOR_BYTES is refused (XML: 5-20).
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 2**20
MAX_CELLS = 250_000
MAX_ROWS = 100_000
MAX_COLUMNS = 1_024
MAX_DEFINED_NAMES = 10_000
#: Excel's own limits: 255 characters for a name, 8,192 for the formula text it stands for.
MAX_NAME_LENGTH = 255
MAX_NAME_TEXT = 8_192

_CHUNK_BYTES = 2**20
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#: Parts read first: the sheet titles they give name the sheets in messages.
_FIRST_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
_CELL_REFERENCE = re.compile(r"\$?([A-Za-z]{1,4})\$?([0-9]{1,9})$")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _cell_position(reference: str) -> tuple[int, int] | None:
    """(row, column) of a reference like B7 or $XFD$1048576; None when it is not one."""
    found = _CELL_REFERENCE.match(reference.strip())
    return (int(found.group(2)), _column_number(found.group(1))) if found else None


class _Refused(Exception):
    """Raised inside the XML handlers to stop parsing; the message is the reason."""


class _PartReader:
    """Expat handlers for one XML part: refuse entities, count cells, check used ranges and defined names."""

    def __init__(self, part: str, totals: dict, label: str | None = None):
        self.part, self.totals, self.label = part, totals, label or part
        self.depth, self.worksheet = 0, False
        self.row, self.column = 0, 0
        self.name, self.name_text = None, 0
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self.parser = parser

    def _doctype(self, *_):
        raise _Refused(f"{self.part} declares a DOCTYPE, which no .xlsx part has: refused, since XML entity "
                       "declarations can expand to gigabytes (an entity bomb)")

    def _entity(self, name, *_):
        raise _Refused(f"{self.part} declares the XML entity {name!r}: refused, since entity declarations can "
                       "expand to gigabytes (an entity bomb); no .xlsx part declares entities")

    def _start(self, tag, attributes):
        local = tag.rsplit(" ", 1)[-1]
        self.depth += 1
        if self.depth == 1:
            self.worksheet = local == "worksheet"
        if self.worksheet:
            self._sheet_element(local, attributes)
        elif local == "definedName":
            self._defined_name(attributes.get("name", ""))
        elif local == "sheet" and "name" in attributes:  # xl/workbook.xml: sheet titles by relationship id
            self.totals["sheet ids"][attributes.get(f"{_RELATIONSHIPS} id", "")] = attributes["name"]
        elif local == "Relationship":
            self.totals["targets"][attributes.get("Id", "")] = attributes.get("Target", "")

    def _end(self, tag):
        self.depth -= 1
        if self.name is not None and tag.rsplit(" ", 1)[-1] == "definedName":
            self.name, self.parser.CharacterDataHandler = None, None

    def _sheet_element(self, local, attributes):
        if local == "row":
            self.row = int(attributes["r"]) if attributes.get("r", "").isdigit() else self.row + 1
            self.column = 0
            self._within("row", self.row, 1)
        elif local == "c":
            self.totals["cells"] += 1
            if self.totals["cells"] > MAX_CELLS:
                raise _Refused(f"it holds more than {MAX_CELLS:,} cells (the limit of what xlcalc reads; its "
                               "templates hold under 5,000)")
            position = _cell_position(attributes.get("r", ""))
            self.column = position[1] if position else self.column + 1
            self._within(f"a cell at {attributes.get('r', '')}".strip(), position[0] if position else self.row,
                         self.column)
        elif local == "dimension":
            last = attributes.get("ref", "").split(":")[-1]
            position = _cell_position(last)
            if position:
                self._within(f"its used range {attributes['ref']} (the sheet's <dimension>)", *position)

    def _within(self, what: str, row: int, column: int) -> None:
        if row > MAX_ROWS or column > MAX_COLUMNS:
            raise _Refused(f"{self.label} has {what}, beyond the {MAX_ROWS:,} rows and {MAX_COLUMNS:,} columns "
                           "xlcalc reads (its templates use under 300 rows and 40 columns): clear the far cells "
                           "(Ctrl+End shows the last one) and save again")

    def _defined_name(self, name: str):
        self.totals["names"] += 1
        if self.totals["names"] > MAX_DEFINED_NAMES:
            raise _Refused(f"{self.part} has more than {MAX_DEFINED_NAMES:,} defined names")
        if len(name) > MAX_NAME_LENGTH:
            raise _Refused(f"{self.part} has a defined name of {len(name):,} characters ({name[:20]!r}...); "
                           f"Excel allows {MAX_NAME_LENGTH}")
        self.name, self.name_text = name, 0
        self.parser.CharacterDataHandler = self._name_text

    def _name_text(self, text):
        self.name_text += len(text)
        if self.name_text > MAX_NAME_TEXT:
            raise _Refused(f"{self.part}: the defined name {self.name!r} stands for more than {MAX_NAME_TEXT:,} "
                           "characters of formula text, Excel's limit")


def _check_sizes(members) -> None:
    if len(members) > MAX_MEMBERS:
        raise _Refused(f"the archive holds {len(members):,} parts, more than the {MAX_MEMBERS:,} allowed")
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_MEMBER_BYTES:
            raise _Refused(f"{member.filename} expands to {member.file_size:,} bytes, more than the "
                           f"{MAX_MEMBER_BYTES:,} allowed for one part (a zip bomb?)")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
            raise _Refused(f"{member.filename} expands {ratio:,.0f} times (from {member.compress_size:,} to "
                           f"{member.file_size:,} bytes), more than the {MAX_RATIO} allowed (a zip bomb?)")
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"{member.filename} uses a compression method (number {member.compress_type}) that "
                           ".xlsx files do not use")
    if total > MAX_TOTAL_BYTES:
        raise _Refused(f"its parts expand to {total:,} bytes in all, more than the {MAX_TOTAL_BYTES:,} allowed "
                       "(a zip bomb?)")


def _read_part(archive, member, totals: dict) -> None:
    """Stream one part: every byte is decompressed (CRC checked); XML parts go through the checking parser."""
    is_xml = member.filename.lower().endswith((".xml", ".rels", ".vml"))
    reader = _PartReader(member.filename, totals, _sheet_label(member.filename, totals)) if is_xml else None
    read = 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                read += len(chunk)
                if read > member.file_size:  # zipfile stops at the declared size; belt and braces
                    raise _Refused(f"{member.filename} expands beyond its declared size")
                if reader is not None:
                    reader.parser.Parse(chunk, False)
            if reader is not None:
                reader.parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _Refused(f"{member.filename} is not well-formed XML ({expat.ErrorString(exc.code)} at line "
                       f"{exc.lineno}, column {exc.offset}): the file is damaged or was cut short") from None
    except (zlib.error, zipfile.BadZipFile, EOFError) as exc:
        raise _Refused(f"{member.filename} is damaged inside the zip archive ({exc})") from None


def _sheet_label(part: str, totals: dict) -> str | None:
    """'sheet 'Sizing' (xl/worksheets/sheet2.xml)' for a worksheet part, from the titles read so far."""
    for relation, target in totals["targets"].items():
        resolved = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if resolved == part and relation in totals["sheet ids"]:
            return f"sheet {totals['sheet ids'][relation]!r} ({part})"
    return None


def check_xlsx(path) -> None:
    """Refuse an .xlsx file that is damaged or too large to read safely; WorkbookError with one line saying why.

    Checks, before any parsing: the number of parts, each part's and the total uncompressed size, the
    compression ratio; then reads every part once (streaming, so memory stays small): each must
    decompress with a correct checksum, every XML part must be well-formed and declare no DOCTYPE or
    entity, every sheet must stay within MAX_ROWS x MAX_COLUMNS and the workbook within MAX_CELLS,
    and defined names within Excel's lengths.
    """
    path = Path(path)
    totals = {"cells": 0, "names": 0, "sheet ids": {}, "targets": {}}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes(members)
            members.sort(key=lambda m: m.filename not in _FIRST_PARTS)
            for member in members:
                if not member.is_dir():
                    _read_part(archive, member, totals)
    except _Refused as exc:
        raise WorkbookError(f"{str(path)!r} was refused: {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise WorkbookError(f"{str(path)!r} is not an .xlsx workbook that xlcalc can read: the zip archive is "
                            f"damaged or not a zip archive ({exc})") from None
    except OSError as exc:
        raise WorkbookError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from None
