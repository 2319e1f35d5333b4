"""Reading and writing xlcalc workbooks safely: which template a file is, atomic saves with backups, Excel locks.

Every workbook xlcalc writes carries two hidden workbook-level defined names, ``xlcalc_template`` (the
template module's name, e.g. "deployment_cost_model") and ``xlcalc_version`` (the xlcalc version that wrote
it); :func:`identify` reads them, so ``refresh`` and ``check`` reject any other file with a clear message.
:func:`save_workbook` never leaves a half-written file: it writes a temporary file in the target's folder,
keeps a backup of the file it replaces (BOOK.backup-<date>-<time>.xlsx), and renames the new file into place
with :func:`os.replace`; it refuses to write over a file that Excel (``~$BOOK.xlsx``) or LibreOffice
(``.~lock.BOOK.xlsx#``) has open, writes through a symbolic link to the file it points at, and stores a
computed value for every formula (:mod:`xlcalc.workbooks.cached_values`) unless told not to. :func:`load` checks a
file with :func:`xlcalc.workbooks.limits.check_xlsx` before openpyxl parses it.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError

from .. import __version__
from . import recalc, xlsx_bytes
from ..errors import RecalcError, WorkbookError, WorkbookWriteError
from .limits import check_xlsx

#: The most cells a defined name may cover for :func:`named_cells` (the widest template name covers 199).
MAX_NAMED_CELLS = 10_000

TEMPLATE_KEY = "xlcalc_template"
VERSION_KEY = "xlcalc_version"


def available_templates() -> dict:
    """The template modules by name, in build order (imported on first use: they import openpyxl)."""
    from . import templates

    return {name: importlib.import_module(f"{templates.__name__}.{name}") for name in templates.TEMPLATE_MODULES}


def template_module(name: str):
    """The template module called ``name``; WorkbookError listing the known ones when there is none."""
    found = available_templates()
    if name not in found:
        raise WorkbookError(f"template {name!r} is not known to this xlcalc; known: {', '.join(found) or 'none'}")
    return found[name]


def mark(workbook, template: str) -> None:
    """Label a workbook as made from ``template`` (hidden defined names xlcalc_template and xlcalc_version)."""
    from openpyxl.workbook.defined_name import DefinedName  # openpyxl only when a workbook is written

    for key, value in ((TEMPLATE_KEY, template), (VERSION_KEY, __version__)):
        if key in workbook.defined_names:
            del workbook.defined_names[key]
        workbook.defined_names[key] = DefinedName(key, attr_text=f'"{value}"', hidden=True)


def template_workbook(name: str):
    """Today's template ``name`` built and marked, as an openpyxl Workbook."""
    workbook = template_module(name).build()
    mark(workbook, name)
    return workbook


def _marker(workbook, key: str) -> str | None:
    defined = workbook.defined_names.get(key)
    if defined is None:
        return None
    text = (defined.attr_text or "").strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else None


def load(path, *, data_only: bool = False):
    """Open an .xlsx file with openpyxl; WorkbookError when it is missing or is not an .xlsx workbook."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(path)
    if not path.is_file():
        raise WorkbookError(f"{str(path)!r} does not exist or is not a file")
    check_xlsx(path)
    try:
        return openpyxl.load_workbook(path, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, AttributeError,
            IndexError, EOFError, zlib.error, ParseError) as exc:
        raise WorkbookError(f"{str(path)!r} is not an .xlsx workbook that xlcalc can read ({exc})") from None


def filled_cells(sheet) -> list:
    """The cells a sheet holds, row by row: only those in the file, never the empty rectangle up to its far corner."""
    return sorted(sheet._cells.values(), key=lambda cell: (cell.row, cell.column))


def identify(workbook, path="the workbook") -> tuple[str, str]:
    """(template name, xlcalc version) of an xlcalc workbook; WorkbookError for any other workbook."""
    template = _marker(workbook, TEMPLATE_KEY)
    if template is None:
        raise WorkbookError(f"{str(path)!r} is not an xlcalc workbook (it has no hidden name {TEMPLATE_KEY}); "
                            "refresh and check work on workbooks written by `xlcalc build` or `xlcalc refresh`")
    template_module(template)
    return template, _marker(workbook, VERSION_KEY) or "unknown"


def open_xlcalc(path):
    """Open an xlcalc workbook: (openpyxl workbook, template name, template module)."""
    workbook = load(path)
    template, _ = identify(workbook, path)
    return workbook, template, template_module(template)


def named_cells(workbook, name: str) -> list:
    """The cells a single-sheet defined name refers to, row by row ([] when the name is missing or odd)."""
    defined = workbook.defined_names.get(name)
    if defined is None:
        return []
    destinations = list(defined.destinations)
    if len(destinations) != 1 or destinations[0][0] not in workbook.sheetnames:
        return []
    from openpyxl.utils.cell import range_boundaries

    sheet, ref = destinations[0]
    try:
        left, top, right, bottom = range_boundaries(ref.replace("$", ""))
    except (TypeError, ValueError):
        return []
    if None in (left, top, right, bottom) or (right - left + 1) * (bottom - top + 1) > MAX_NAMED_CELLS:
        return []
    found = workbook[sheet][ref.replace("$", "")]
    if not isinstance(found, tuple):
        return [found]
    return [cell for row in found for cell in (row if isinstance(row, tuple) else (row,))]


def lock_files(path) -> list[Path]:
    """The lock files of spreadsheet programs that have ``path`` open (Excel's ~$ file, LibreOffice's .~lock)."""
    path = Path(path)
    candidates = (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#"))
    return [p for p in candidates if p.exists()]


def check_not_open(path) -> None:
    """WorkbookError when a spreadsheet program has ``path`` open (its lock file exists)."""
    locks = lock_files(path)
    if locks:
        raise WorkbookError(f"{str(path)!r} is open in a spreadsheet program (lock file {locks[0].name} exists): "
                            "close it there first (or delete the lock file if that program crashed)")


def backup_path(path) -> Path:
    """Where the backup of ``path`` goes: BOOK.backup-<date>-<time>.xlsx beside it (opens in Excel; never reused)."""
    path = Path(path)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.stem}.backup-{stamp}{path.suffix}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = path.with_name(f"{path.stem}.backup-{stamp}-{counter}{path.suffix}")
    return candidate


def _default_mode() -> int:
    """The permissions a new file gets under the current umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@dataclasses.dataclass(frozen=True)
class Saved:
    """Where a workbook was written, the backup of the file it replaced, and why it has no computed values.

    ``values_missing`` is None when every formula carries its computed value (or none were asked for).
    """

    path: Path
    backup: Path | None
    values_missing: str | None = None


def temporary_prefix(path) -> str:
    """Start of the name of the temporary file save_workbook writes beside ``path``: .BOOK.xlcalc-<pid>-."""
    return f".{Path(path).stem}.xlcalc-"


def _could_not(what: str, path, exc: OSError) -> WorkbookWriteError:
    return WorkbookWriteError(f"could not {what} {str(path)!r}: {exc.strerror or exc}")


def _cannot_create(path: Path, exc: OSError) -> WorkbookWriteError:
    return WorkbookWriteError(f"could not write {str(path)!r}: no file can be created in {str(path.parent)!r} "
                              f"({exc.strerror or exc})")


def check_target(path) -> Path:
    """The file to write for ``path`` (a symbolic link's target), refusing what cannot or must not be replaced."""
    path = Path(path)
    if path.is_symlink():
        check_not_open(path)  # a program that opened the link keeps its lock file beside the link
        path = Path(os.path.realpath(path))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise WorkbookError(f"folder {str(folder)!r} does not exist" + (" (it is a file)" if folder.exists() else ""))
    if path.exists() and not path.is_file():
        raise WorkbookError(f"{str(path)!r} exists and is not a file")
    if path.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{str(path)!r} must end in .xlsx")
    if path.exists() and not zipfile.is_zipfile(path):
        raise WorkbookError(f"{str(path)!r} exists and is not an .xlsx workbook: xlcalc will not replace it")
    check_not_open(path)
    try:  # can a file be made there at all? (read-only or virtual file systems say no)
        with tempfile.TemporaryFile(dir=folder, prefix=f"{temporary_prefix(path)}{os.getpid()}-"):
            pass
    except OSError as exc:
        raise _cannot_create(path, exc) from None
    return path


def workbook_file_bytes(workbook, *, values: bool = True, fixed_time: bool = False, progress=None):
    """(bytes of the .xlsx file, reason values are missing or None): exact numbers, reproducible zip, values."""
    from . import cached_values

    data = xlsx_bytes.workbook_bytes(workbook)
    if not values:
        return xlsx_bytes.repack(data, fixed_time=fixed_time), None
    if recalc.soffice_path() is None:
        return xlsx_bytes.repack(data, fixed_time=fixed_time), "LibreOffice is not installed"
    if progress:
        progress("computing the values of its formulas in LibreOffice")
    try:
        return cached_values.with_cached_values(data, fixed_time=fixed_time), None
    except RecalcError as exc:
        return xlsx_bytes.repack(data, fixed_time=fixed_time), str(exc)


def save_workbook(workbook, path, *, backup: bool = True, values: bool = True, fixed_time: bool = False,
                  progress=None) -> Saved:
    """Write an openpyxl workbook to ``path`` atomically, keeping a backup of a file it replaces.

    The workbook goes to a temporary file in the same folder, which is renamed over ``path`` only once
    it is complete, so ``path`` is either the old file or the new one, never half of each; temporary
    files that killed runs left beside it are removed first. Through a symbolic link, the file it points
    at is written. Refuses when a spreadsheet program has ``path`` open, the folder does not exist or
    ``path`` is something other than a workbook. With ``values``, every formula carries its value as
    computed by LibreOffice (see ``Saved.values_missing`` when that was not possible); with ``fixed_time``
    the file's bytes depend on its content only. WorkbookWriteError when the disk refuses (read-only
    folder, full disk, no permission).
    """
    path = check_target(path)
    folder = path.parent
    recalc.remove_stale(folder, temporary_prefix(path), ".xlsx.tmp")
    data, values_missing = workbook_file_bytes(workbook, values=values, fixed_time=fixed_time, progress=progress)
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f"{temporary_prefix(path)}{os.getpid()}-",
                                             suffix=".xlsx.tmp")
    except OSError as exc:
        raise _cannot_create(path, exc) from None
    temporary = Path(temporary)
    kept = None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else _default_mode())
        if backup and path.exists():
            kept = backup_path(path)
            shutil.copy2(path, kept)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if kept is not None:
            kept.unlink(missing_ok=True)
        raise _could_not("write", path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return Saved(path, kept, values_missing)
