"""`xlcalc build`, `xlcalc refresh` and `xlcalc check`: the template workbooks from the shell.

- ``build [--out DIR] [--check] [--no-values]`` writes every template workbook (default folder: workbooks/),
  or with --check compares their content with the files there and exits 1 when any differs or a rebuild
  would still change its bytes (no computed values, varying zip timestamps). Unchanged templates give
  byte-identical files.
- ``refresh BOOK.xlsx [-o OUT.xlsx] [--no-values]`` rebuilds a user's workbook from today's template,
  keeping its inputs and price rows (temporary file, backup, rename).

Both store a computed value for every formula (recalculated in LibreOffice), so readers that do not
recalculate (pandas, previews) see the results; without LibreOffice they say so in a warning line, and
``--no-values`` skips the step deliberately.
- ``check BOOK.xlsx`` recalculates a workbook in LibreOffice and reports outputs that disagree with the
  Python solver and cells holding errors; exits 1 when it finds any.

Progress lines go to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import WorkbookError, WorkbookWriteError
from ._output import print_json

DEFAULT_FOLDER = Path("workbooks")
#: How many mismatches and error cells `check` prints (the count of the rest follows; --json lists all).
SHOWN = 20


def _progress(text: str) -> None:
    print(f"xlcalc: {text} ...", file=sys.stderr, flush=True)


def _path(text: str) -> Path:
    """A path argument; an empty one is a usage error (argparse names the argument)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"the path is empty ({text!r}): give a file or folder name")
    return Path(text)


def _warn_values_missing(path, reason) -> None:
    from ..workbooks.recalc import INSTALL_HINT

    if reason:
        print(f"warning: {path} was written without computed values ({reason}): Excel and LibreOffice compute "
              "them on opening, but pandas and file previews show empty results; "
              f"{INSTALL_HINT}, or pass --no-values to skip this step", file=sys.stderr)


_NO_VALUES_HELP = "do not compute and store formula values with LibreOffice (readers that do not recalculate see none)"


def register(subparsers) -> None:
    """Add the workbook commands: build, refresh and check."""
    p = subparsers.add_parser("build", help="write the template workbooks (or check the committed ones)",
                              description="Write every template workbook to a folder (default: workbooks/). With "
                                          "--check, write nothing and exit 1 when the files there differ in content "
                                          "from what the templates make today, or lack computed values.")
    p.add_argument("--out", type=_path, default=DEFAULT_FOLDER, metavar="DIR", help="folder (default: workbooks/)")
    p.add_argument("--check", action="store_true", help="compare with the files in DIR instead of writing")
    p.add_argument("--no-values", action="store_true", help=_NO_VALUES_HELP)
    p.set_defaults(handler=_build)

    p = subparsers.add_parser("refresh", help="rebuild a workbook from today's template, keeping your inputs",
                              description="Rebuild an xlcalc workbook from today's template, keeping every in_ "
                                          "value and every row of its Hardware prices sheet. Writes a temporary "
                                          "file and renames it into place, keeping a backup "
                                          "(BOOK.backup-<time>.xlsx) of the file it replaces; refuses a file that "
                                          "Excel has open.")
    p.add_argument("book", type=_path, metavar="BOOK.xlsx", help="the workbook to refresh")
    p.add_argument("-o", "--out", type=_path, metavar="OUT.xlsx", help="write here instead of over BOOK.xlsx")
    p.add_argument("--no-values", action="store_true", help=_NO_VALUES_HELP)
    p.set_defaults(handler=_refresh)

    p = subparsers.add_parser("check", help="recalculate a workbook and compare its outputs with the solver",
                              description="Recalculate an xlcalc workbook in LibreOffice, compare every out_ cell "
                                          "with xlcalc's Python functions (relative 1e-9) and list cells holding "
                                          "errors. Exit status 1 when anything is off.")
    p.add_argument("book", type=_path, metavar="BOOK.xlsx", help="the workbook to check")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(handler=_check)


def _user_edited(path: Path, template: str, new) -> bool:
    """True when the file at ``path`` holds data a plain build of ``template`` would not write.

    That is: it is not this template's xlcalc workbook, or its in_ values, price rows or sheet names differ
    from today's build. Changed formulas or layout alone (a newer template) do not count.
    """
    from ..workbooks import files as workbook_files
    from ..workbooks.check import read_price_rows, reload

    try:
        old = workbook_files.load(path)
        found, _ = workbook_files.identify(old, path)
    except WorkbookError:
        return True
    new = reload(new)  # numbers as they read back from a file
    if found != template or old.sheetnames != new.sheetnames or read_price_rows(old) != read_price_rows(new):
        return True
    for name in [n for n in new.defined_names if n.startswith("in_")]:
        values = [[c.value for c in workbook_files.named_cells(book, name)] for book in (old, new)]
        if values[0] != values[1]:
            return True
    return False


def _make_folder(folder: Path) -> None:
    """Create the --out folder; a usage error when the path names a file, WorkbookWriteError when it cannot be made."""
    if folder.exists() and not folder.is_dir():
        raise WorkbookError(f"--out {str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise WorkbookError(f"--out {str(folder)!r}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise WorkbookWriteError(f"could not create the folder --out {str(folder)!r}: {exc.strerror or exc}") from None


def _build(args) -> int:
    from ..workbooks import files as workbook_files  # zipfile and friends only when a workbook is built (not for --help)
    from ..workbooks.check import compare_content, packaging_problem

    folder: Path = args.out
    templates = workbook_files.available_templates()
    if not templates:
        raise WorkbookError("no template modules are installed")
    if not args.check:
        _make_folder(folder)
    differing = 0
    for name, module in templates.items():
        _progress(f"building {module.FILENAME}")
        workbook = workbook_files.template_workbook(name)
        target = folder / module.FILENAME
        if args.check:
            if not target.is_file():
                print(f"{target}: missing (run `xlcalc build --out {folder}`)")
                differing += 1
                continue
            differences = compare_content(workbook, target)
            packaging = None if differences else packaging_problem(target, values=not args.no_values)
            if differences:
                differing += 1
                print(f"{target}: differs from the {name} template; first differences:")
                for line in differences:
                    print(f"  {line}")
            elif packaging:
                differing += 1
                print(f"{target}: content up to date, but {packaging}: run `xlcalc build --out {folder}`")
            else:
                print(f"{target}: up to date")
            continue
        backup = target.exists() and _user_edited(target, name, workbook)
        saved = workbook_files.save_workbook(workbook, target, backup=backup, values=not args.no_values,
                                             fixed_time=True, progress=_progress)
        kept = f" (your previous file is kept as {saved.backup.name})" if saved.backup else ""
        print(f"wrote {saved.path}{kept}")
        _warn_values_missing(saved.path, saved.values_missing)
    return 1 if differing else 0


def _refresh(args) -> int:
    from ..workbooks.refresh import refresh

    done = refresh(args.book, args.out, progress=_progress, values=not args.no_values)
    for warning in done.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _warn_values_missing(done.path, done.values_missing)
    backup = f"; the previous file is kept as {done.backup}" if done.backup else ""
    print(f"refreshed {args.book} -> {done.path} ({done.template}): kept {done.inputs_kept} inputs, "
          f"{done.price_rows_kept} price rows and {done.other_cells_kept} other cells you filled; added "
          f"{done.price_rows_added} accelerators from today's catalog{backup}")
    return 0


def _check(args) -> int:
    from ..workbooks.check import check_workbook

    result = check_workbook(args.book, progress=_progress)
    if args.json:
        print_json({"workbook": str(args.book), "template": result.template, "ok": result.ok,
                    "outputs_compared": result.compared, "input_problem": result.input_problem,
                    "mismatches": [{"name": m.name, "workbook": m.got, "solver": m.expected} for m in result.mismatches],
                    "error_cells": [{"sheet": s, "cell": c, "value": v} for s, c, v in result.errors]})
        return 0 if result.ok else 1
    if result.input_problem:  # first: a bad input explains the rest
        print(f"{args.book}: {result.input_problem}")
    for mismatch in result.mismatches[:SHOWN]:
        print(f"{args.book}: {mismatch.describe()}")
    if len(result.mismatches) > SHOWN:
        print(f"{args.book}: ... and {len(result.mismatches) - SHOWN} more outputs that disagree")
    for sheet, cell, value in result.errors[:SHOWN]:
        print(f"{args.book}: {sheet}!{cell} holds the error {value}")
    if len(result.errors) > SHOWN:
        print(f"{args.book}: ... and {len(result.errors) - SHOWN} more error cells "
              f"({len(result.errors)} in all; --json lists every one)")
    if result.ok:
        print(f"{args.book}: all {result.compared} outputs agree with the solver ({result.template}); "
              "no error cells")
        return 0
    problems = len(result.mismatches) + len(result.errors) + (result.input_problem is not None)
    print(f"{args.book}: {problems} problem{'s' if problems != 1 else ''} found")
    return 1
