"""Render every sheet of the template workbooks to PNG images for a person to look at.

LibreOffice prints each workbook to PDF (recalculated, by the sheets' own print settings), and poppler's
pdftoppm turns every page into a PNG named <workbook>-<page>.png. Run from the repository root:

    python3 tools/render_workbooks.py                      # today's templates, into renders/
    python3 tools/render_workbooks.py BOOK.xlsx --out DIR  # your own workbooks
    python3 tools/render_workbooks.py --dpi 110            # sharper images

Each page's header names its sheet; the script lists the pages of every sheet.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlcalc.workbooks import recalc, files as workbook_files  # noqa: E402


def pdf_pages(pdf: Path) -> list[str]:
    """The text of every page of a PDF (pdftotext, layout kept), in order."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def sheet_of_page(page: str, sheet_names) -> str | None:
    """The sheet a printed page belongs to: the name in its header (the page's first non-empty line)."""
    first = next((line.strip() for line in page.splitlines() if line.strip()), "")
    return next((name for name in sorted(sheet_names, key=len, reverse=True) if first.startswith(name)), None)


def render(paths, out_dir: Path, dpi: int) -> dict:
    """PNG pages of every workbook in ``out_dir``; returns {workbook name: {sheet: [png paths]}}."""
    import openpyxl

    out_dir.mkdir(parents=True, exist_ok=True)
    pdfs = recalc.export_pdf(paths, out_dir)
    found = {}
    for path, pdf in zip(paths, pdfs):
        sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out_dir / path.stem)], check=True)
        pngs = sorted(out_dir.glob(f"{path.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        by_sheet = {}
        for page, png in zip(pdf_pages(pdf), pngs):
            by_sheet.setdefault(sheet_of_page(page, sheets) or "?", []).append(png)
        found[path.name] = by_sheet
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbooks", nargs="*", type=Path, help="workbooks to render (default: today's templates)")
    parser.add_argument("--out", type=Path, default=Path("renders"), help="folder for the PDFs and PNGs")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    for tool in ("pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install -y poppler-utils", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as folder:
        paths = list(args.workbooks)
        if not paths:
            for name, module in workbook_files.available_templates().items():
                paths.append(Path(folder) / module.FILENAME)
                workbook_files.template_workbook(name).save(paths[-1])
        for workbook, sheets in render(paths, args.out, args.dpi).items():
            print(workbook)
            for sheet, pngs in sheets.items():
                print(f"  {sheet}: {len(pngs)} page(s): {', '.join(p.name for p in pngs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
