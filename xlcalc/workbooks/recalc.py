"""Headless recalculation of workbooks with LibreOffice, and reading back what the engine computed.

openpyxl writes formulas without cached values, and a spreadsheet engine only recomputes a file's stale
cache on load when told to. :func:`recalculate` runs LibreOffice Calc headless with a private user profile
whose settings say "recalculate on load: always" for both OOXML and ODF files, converts the workbook to a
new .xlsx (which then holds the computed values), and :func:`read_names` / :func:`error_cells` read them.

Install LibreOffice on Debian/Ubuntu with ``apt-get install -y --no-install-recommends
libreoffice-calc-nogui``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from ..errors import EXCEL_ERRORS, RecalcError, WorkbookError, WorkbookWriteError

#: How long one LibreOffice run may take before it is stopped, in seconds.
TIMEOUT_S = 300

INSTALL_HINT = "install LibreOffice: apt-get install -y --no-install-recommends libreoffice-calc-nogui"

# Calc's "Recalculation on file load" settings: 0 = always, 1 = never, 2 = prompt.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

_profile_lock = threading.Lock()
_profile_dir: Path | None = None

#: Values a spreadsheet engine writes into a cell that holds an error.
ERROR_VALUES = EXCEL_ERRORS + ("Err:",)  # LibreOffice shows some errors as Err:5xx


def soffice_path() -> str | None:
    """The LibreOffice executable (``soffice``), or None when LibreOffice is not installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(folder, prefix: str, suffix: str = "") -> list[Path]:
    """Remove what killed xlcalc runs left in ``folder``: entries ``<prefix><pid>-*<suffix>`` whose process is gone.

    Only entries owned by this user whose process id no longer runs are removed (a live process of that
    id keeps its files). Returns what was removed.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            pid = name[len(prefix):].split("-", 1)[0]
            try:
                if not pid.isdigit() or entry.lstat().st_uid != os.getuid() or _process_alive(int(pid)):
                    continue
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                removed.append(entry)
            except OSError:
                continue
    return removed


def _make_temporary_folder(prefix: str) -> Path:
    """A new folder <prefix><pid>-<random> in the temporary folder; WorkbookWriteError when none can be made."""
    try:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    except OSError as exc:
        raise WorkbookWriteError(f"could not create a folder in the temporary folder {tempfile.gettempdir()!r}: "
                                 f"{exc.strerror or exc}") from None


@contextlib.contextmanager
def scratch_folder(kind: str):
    """A temporary folder xlcalc-<kind>-<pid>-<random> removed afterwards; leftovers of killed runs go first."""
    prefix = f"xlcalc-{kind}-"
    remove_stale(tempfile.gettempdir(), prefix)
    folder = _make_temporary_folder(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_profile() -> None:
    if _profile_dir is not None:
        shutil.rmtree(_profile_dir, ignore_errors=True)


def _profile() -> Path:
    """A private LibreOffice user profile (one per process, removed at exit) that recalculates every file on load.

    It lives in the temporary folder as xlcalc-lo-profile-<pid>-<random>; profiles of processes that were
    killed before they could remove theirs are removed when the next one is made.
    """
    global _profile_dir
    if _profile_dir is None or not _profile_dir.exists():
        prefix = "xlcalc-lo-profile-"
        remove_stale(tempfile.gettempdir(), prefix)
        base = _make_temporary_folder(prefix)
        try:
            (base / "user").mkdir()
            (base / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS, encoding="utf-8")
        except OSError as exc:
            shutil.rmtree(base, ignore_errors=True)
            raise WorkbookWriteError(f"could not write a LibreOffice profile in {str(base)!r}: "
                                     f"{exc.strerror or exc}") from None
        if _profile_dir is None:
            atexit.register(_remove_profile)
        _profile_dir = base
    return _profile_dir


def recalculate(workbooks, out_dir) -> list[Path]:
    """Recalculate each workbook in LibreOffice and write the result (with computed values) to ``out_dir``.

    ``workbooks`` is one path or a list of paths; all are converted in one LibreOffice run. Returns the
    paths of the recalculated copies (same file names, in ``out_dir``). The inputs are not changed.
    Raises :class:`~xlcalc.errors.WorkbookError` for a bad argument and
    :class:`~xlcalc.errors.RecalcError` when LibreOffice is missing, fails or times out.
    """
    paths = [Path(workbooks)] if isinstance(workbooks, (str, os.PathLike)) else [Path(p) for p in workbooks]
    for path in paths:
        if not path.is_file():
            raise WorkbookError(f"workbook {str(path)!r} does not exist")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise WorkbookError("workbooks recalculated together must have different file names")
    soffice = soffice_path()
    if soffice is None:
        raise RecalcError(f"LibreOffice is needed to recalculate workbooks and was not found: {INSTALL_HINT}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(p.resolve().parent == out_dir.resolve() for p in paths):
        raise WorkbookError("out_dir must differ from the folder of the workbooks (they would be overwritten)")
    with _profile_lock:
        profile = _profile()
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out_dir),
            *[str(p) for p in paths],
        ]
        try:
            # LibreOffice's own temporary files go inside the profile, so they leave with it
            (profile / "tmp").mkdir(exist_ok=True)
            environment = dict(os.environ, TMPDIR=str(profile / "tmp"))
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                                  env=environment)
        except subprocess.TimeoutExpired:
            raise RecalcError(f"LibreOffice did not finish recalculating within {TIMEOUT_S} s") from None
    results = [out_dir / name for name in names]
    missing = [str(r) for r in results if not r.is_file()]
    if done.returncode != 0 or missing:
        detail = (done.stderr or done.stdout).strip()[-500:]
        raise RecalcError(f"LibreOffice failed to recalculate {', '.join(missing) or names}: {detail}")
    return results


def is_error_value(value) -> bool:
    """True when a cell value read back from a recalculated workbook is a spreadsheet error."""
    return isinstance(value, str) and value.startswith(ERROR_VALUES)


def _open_values(path):
    import openpyxl  # outer-layer dependency, imported where used

    return openpyxl.load_workbook(path, data_only=True)


def read_names(path, prefixes=("in_", "out_")) -> dict:
    """Values of the workbook-level defined names starting with one of ``prefixes`` (one cell each)."""
    from .files import named_cells

    workbook = _open_values(path)
    values = {}
    for name in workbook.defined_names:
        cells = named_cells(workbook, name) if name.startswith(tuple(prefixes)) else []
        if len(cells) == 1:
            values[name] = cells[0].value
    return values


def error_cells(path) -> list[tuple[str, str, str]]:
    """Every cell that holds an error value after recalculation: (sheet, cell, value)."""
    from .files import filled_cells

    workbook = _open_values(path)
    found = []
    for sheet in workbook.worksheets:
        for cell in filled_cells(sheet):
            if cell.data_type == "e" or is_error_value(cell.value):
                found.append((sheet.title, cell.coordinate, str(cell.value)))
    return found


# ----------------------------------------------------------------------------------------------
# A second engine (Gnumeric) and printing to PDF (LibreOffice): the tests look at workbooks as a reader does

GNUMERIC_INSTALL_HINT = "install Gnumeric: apt-get install -y --no-install-recommends gnumeric"


def ssconvert_path() -> str | None:
    """Gnumeric's command-line converter (``ssconvert``), or None when Gnumeric is not installed."""
    return shutil.which("ssconvert")


def _checked_paths(workbooks, out_dir) -> tuple[list[Path], Path]:
    paths = [Path(workbooks)] if isinstance(workbooks, (str, os.PathLike)) else [Path(p) for p in workbooks]
    for path in paths:
        if not path.is_file():
            raise WorkbookError(f"workbook {str(path)!r} does not exist")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(p.resolve().parent == out_dir.resolve() for p in paths):
        raise WorkbookError("out_dir must differ from the folder of the workbooks (they would be overwritten)")
    return paths, out_dir


def recalculate_gnumeric(workbooks, out_dir) -> list[Path]:
    """Recalculate each workbook with Gnumeric (``ssconvert --recalc``) into ``out_dir`` (same file names).

    An independent engine for the tests: its values are read back with :func:`read_names` and
    :func:`error_cells` as LibreOffice's are. Raises RecalcError when Gnumeric is missing, fails or times out.
    """
    paths, out_dir = _checked_paths(workbooks, out_dir)
    ssconvert = ssconvert_path()
    if ssconvert is None:
        raise RecalcError(f"Gnumeric is needed for this and was not found: {GNUMERIC_INSTALL_HINT}")
    results = []
    for path in paths:
        target = out_dir / path.name
        command = [ssconvert, "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(path), str(target)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise RecalcError(f"Gnumeric did not finish recalculating {path.name} within {TIMEOUT_S} s") from None
        if done.returncode != 0 or not target.is_file():
            raise RecalcError(f"Gnumeric failed to recalculate {path.name}: {(done.stderr or done.stdout).strip()[-500:]}")
        results.append(target)
    return results


def export_pdf(workbooks, out_dir) -> list[Path]:
    """Print each workbook to PDF with LibreOffice (recalculated on load; every sheet, by its print settings).

    Returns the PDF paths (the workbooks' names with .pdf, in ``out_dir``).
    """
    paths, out_dir = _checked_paths(workbooks, out_dir)
    soffice = soffice_path()
    if soffice is None:
        raise RecalcError(f"LibreOffice is needed to print workbooks and was not found: {INSTALL_HINT}")
    with _profile_lock:
        command = [soffice, f"-env:UserInstallation={_profile().as_uri()}", "--headless", "--norestore",
                   "--nolockcheck", "--convert-to", "pdf:calc_pdf_Export", "--outdir", str(out_dir),
                   *[str(p) for p in paths]]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise RecalcError(f"LibreOffice did not finish printing within {TIMEOUT_S} s") from None
    results = [out_dir / (p.stem + ".pdf") for p in paths]
    missing = [str(r) for r in results if not r.is_file()]
    if done.returncode != 0 or missing:
        raise RecalcError(f"LibreOffice failed to print {', '.join(missing)}: {(done.stderr or done.stdout).strip()[-500:]}")
    return results


def chart_feed_cells(path) -> set[tuple[str, str]]:
    """(sheet, cell) of every chart-feed cell of a workbook (defined names ``chart_*``, see
    :data:`xlcalc.workbooks.templates.layout.CHART_PREFIX`): the only cells where a template puts #N/A, a gap in a chart."""
    import openpyxl  # outer-layer dependency, imported where used

    from .templates.layout import CHART_PREFIX

    workbook = openpyxl.load_workbook(path)
    found = set()
    for name, definition in workbook.defined_names.items():
        if name.startswith(CHART_PREFIX):
            for sheet, ref in definition.destinations:
                cells = workbook[sheet][ref.replace("$", "")]
                rows = cells if isinstance(cells, tuple) else ((cells,),)
                found |= {(sheet, cell.coordinate) for row in rows
                          for cell in (row if isinstance(row, tuple) else (row,))}
    return found


def error_cells_outside_chart_feeds(path) -> list[tuple[str, str, str]]:
    """:func:`error_cells` without the #N/A of chart-feed cells (a gap in a chart is not an error)."""
    feeds = chart_feed_cells(path)
    return [(sheet, cell, value) for sheet, cell, value in error_cells(path)
            if not (value == "#N/A" and (sheet, cell) in feeds)]
