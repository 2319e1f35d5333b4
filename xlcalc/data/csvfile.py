"""Reading the CSV data files (accelerator catalog, prices, training runs): one reader, one number parser.

:func:`read_table` reads a path or an open file as UTF-8 (a byte-order mark is dropped), skips blank lines,
rows of empty fields and lines starting with ``#`` between records, and parses the rest with the csv module
over the whole text, so a quoted field may hold commas and newlines. Each record keeps the number of the
line it starts on, and every problem is a :class:`~xlcalc.errors.DataFileError` naming the file and, where
there is one, the line. :func:`parse_number` parses a field that must be a number > 0.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import stat

from ..errors import DataFileError, InvalidInputError

DELIMITERS = (",", ";", "\t")   # the first wins a tie
NAN = float("nan")
# The largest data file read: the paper's 47 training runs are 4 KB and the accelerator catalog 10 KB.
MAX_BYTES = 64 * 2**20


class Table:
    """A CSV file read by :func:`read_table`: its header (stripped fields) and records as (line number, fields)."""

    def __init__(self, label: str, delimiter: str, records: list[tuple[int, list[str]]]):
        self.label = label
        self.delimiter = delimiter
        self.header_line, self.header = records[0] if records else (0, [])
        self.rows = records[1:]

    def where(self, line: int) -> str:
        """'<file> line <n>', the start of an error message about line ``line``."""
        return f"{self.label} line {line}"


def _is_skipped(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _decode(data: bytes, label: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode("utf-8")
        line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
        raise DataFileError(f"{label} line {line}: not a text CSV file (it is not UTF-8: byte "
                            f"0x{data[exc.start]:02x} cannot be decoded; save it as CSV UTF-8)") from None


def read_text(source, label: str) -> str:
    """The text of ``source`` (a path, or an open text or binary file) read as UTF-8 with an optional BOM.

    A path must name a regular file (not a folder, device, pipe or socket: /dev/zero or a FIFO would
    never end) of at most :data:`MAX_BYTES`; an open file is read up to that size."""
    if hasattr(source, "read"):
        try:
            data = source.read(MAX_BYTES + 1)
        except UnicodeDecodeError:
            raise DataFileError(f"{label}: not a text CSV file (it is not UTF-8)") from None
        if len(data) > MAX_BYTES:
            raise DataFileError(f"{label}: the file is larger than {MAX_BYTES // 2**20} MiB, far more than any "
                                "data file xlcalc reads")
        if isinstance(data, bytes):
            return _decode(data, label)
        return data[1:] if data.startswith("\ufeff") else data
    return _decode(_read_regular_file(source, label), label)


def _read_regular_file(path, label: str) -> bytes:
    """The bytes of the regular file at ``path``, at most MAX_BYTES; DataFileError naming ``label`` otherwise."""
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise InvalidInputError(f"the file name {label} is not a path: give a str or a pathlib.Path")
    if not os.fspath(path):
        raise DataFileError("the file name is empty: give the path of a CSV file")
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise DataFileError(f"{label}: no such file (cannot read the file)") from None
    except ValueError:  # a NUL character in the name
        raise DataFileError(f"{label}: not a valid file name") from None
    except OSError as exc:
        raise DataFileError(f"{label}: the file cannot be read ({exc.strerror or exc})") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise DataFileError(f"{label}: the file cannot be read (it is a folder, not a file)")
        raise DataFileError(f"{label}: the file cannot be read (it is a device, pipe or socket, not a regular "
                            "file): give a CSV file")
    if info.st_size > MAX_BYTES:
        os.close(descriptor)
        raise DataFileError(f"{label}: the file has {info.st_size:,} bytes, more than the {MAX_BYTES // 2**20} "
                            "MiB xlcalc reads (far more than any data file needs)")
    with os.fdopen(descriptor, "rb") as file:
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as exc:
            raise DataFileError(f"{label}: the file cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:  # it grew while being read
        raise DataFileError(f"{label}: the file is larger than {MAX_BYTES // 2**20} MiB, more than xlcalc reads")
    return data


def _delimiter(text: str, delimiters: tuple[str, ...]) -> str:
    """The delimiter that splits the header line (the first line that is not blank or a comment) the most."""
    header = next((line for line in io.StringIO(text, newline="") if not _is_skipped(line)), "")
    fields = {delimiter: len(next(csv.reader([header], delimiter=delimiter), [])) for delimiter in delimiters}
    return max(delimiters, key=lambda delimiter: fields[delimiter])


def read_table(source, label: str, *, delimiters: tuple[str, ...] = (",",), max_rows: int | None = None,
               rows_are: str = "rows") -> Table:
    """Read the CSV ``source`` (a path or an open file), split by the one of ``delimiters`` that splits the header most.

    Lines that are blank or start with '#' are skipped where a record would start (inside a quoted field
    they are part of it); so are records whose fields are all empty. Fields are stripped. More than
    ``max_rows`` records after the header is an error that counts them as ``rows_are``.

    Examples
    --------
    >>> table = read_table(io.StringIO('# source: me\\nname,note\\n\\nX,"two\\nlines"\\nY,one\\n'), "demo.csv")
    >>> table.header_line, table.header, table.rows
    (2, ['name', 'note'], [(4, ['X', 'two\\nlines']), (6, ['Y', 'one'])])
    """
    text = read_text(source, label)
    delimiter = _delimiter(text, delimiters)
    # The csv reader pulls one line at a time, so the lines it is fed between two records are the next
    # record's: skip the blank and comment ones there (only there) and note where the record starts.
    position = {"line": 0, "start": 0, "at_start": True}

    def lines():
        for line in io.StringIO(text, newline=""):
            position["line"] += 1
            if position["at_start"]:
                if _is_skipped(line):
                    continue
                position["start"], position["at_start"] = position["line"], False
            yield line

    records = []
    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        for fields in reader:
            position["at_start"] = True
            fields = [field.strip() for field in fields]
            if any(fields):
                records.append((position["start"], fields))
                if max_rows is not None and len(records) > max_rows + 1:
                    raise DataFileError(f"{label}: the file has more than {max_rows:,} {rows_are}, the most xlcalc "
                                        "reads (far more than any real data file)")
    except csv.Error as exc:
        raise DataFileError(f"{label} line {position['start']}: cannot read the line as CSV ({exc})") from None
    return Table(label, delimiter, records)


def parse_number(text: str, column: str, where: str, *, optional: bool = False, decimal_comma: bool = False,
                 plain: bool = False) -> float:
    """The number > 0 in the field ``text`` of ``column``; DataFileError starting with ``where`` ('<file> line <n>') if not.

    '_' digit separators are dropped; with ``decimal_comma`` a comma is the decimal mark and dots group
    thousands (``1.000,5`` is 1000.5). With ``optional`` an empty field is NaN. The message quotes the
    field (``x = 'abc' is not allowed: must be a number > 0``), or with ``plain``, as the runs reader
    says it, tells a text that is no number (``x = 'abc' is not a number``) from a number out of range
    (``x = -3 is not allowed: must be a number > 0``).

    Examples
    --------
    >>> parse_number("1,5e8", "params", "runs.csv line 2", decimal_comma=True)
    150000000.0
    >>> parse_number("-32", "memory_gb", "gpus.csv line 3")
    Traceback (most recent call last):
    ...
    xlcalc.errors.DataFileError: gpus.csv line 3: memory_gb = '-32' is not allowed: must be a number > 0
    """
    if optional and not text.strip():
        return NAN
    cleaned = text.strip().replace("_", "")
    if decimal_comma and ("," in cleaned or cleaned.count(".") > 1):  # 1,5 or 1.234,5 or 1.000.000 (dots group)
        cleaned = cleaned.replace(".", "").replace(",", ".")
    allowed = "a number > 0 or empty" if optional else "a number > 0"
    try:
        value = float(cleaned)
    except ValueError:
        if plain:
            raise DataFileError(f"{where}: {column} = {text!r} is not a number") from None
        value = NAN
    if not (math.isfinite(value) and value > 0):
        shown = text.strip() if plain else repr(text)
        raise DataFileError(f"{where}: {column} = {shown} is not allowed: must be {allowed}")
    return value
