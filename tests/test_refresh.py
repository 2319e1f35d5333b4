"""`xlcalc refresh` and safe writing: user data kept, text stays text, backups, locks, foreign files refused."""

import errno
import functools
import os
import re
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlcalc.workbooks import recalc, files as workbook_files
from xlcalc.errors import WorkbookError, WorkbookWriteError
from xlcalc.workbooks import refresh as refresh_module
from xlcalc.workbooks.templates import price_sheet
from xlcalc.workbooks.templates.price_sheet import PRICE_FIRST_ROW, PRICE_SHEET_TITLE, read_rows
from xlcalc.workbooks.check import check_workbook
from xlcalc.workbooks.files import named_cells, save_workbook, template_workbook

# Computed values need a LibreOffice run per write; they are tested in test_cached_values.py, so here refresh
# and the test workbooks skip them.
refresh = functools.partial(refresh_module.refresh, values=False)

EVIL = "=cmd|' /C calc'!A0"
USER_ROW = {"name": "Our own box", "peak_tflops_bf16": 700, "memory_gb": 96, "mem_bw_tbs": 4.0,
            "usd_per_hour": 1.23, "price_provider": "in house", "price_date": "2026-11-01", "price_source": EVIL}
# in_ values a user changed, per template (each still a valid input)
EDITS = {
    "deployment_cost_model": {"in_c1_params": 65e9, "in_c2_name": EVIL, "in_requests_per_month": 3.5e7,
                              "in_c3_gpu": "Our own box", "in_monthly_growth": 0.02},
    "lifetime_sizing": {"in_requests": 3e10, "in_input_tokens": 120, "in_train_usd_per_hour": 1.75,
                        "in_fit": "chinchilla"},
}


def build(folder, template, name=None):
    path = folder / (name or workbook_files.template_module(template).FILENAME)
    save_workbook(template_workbook(template), path, backup=False, values=False)
    return path


def edit(path, inputs, rows=(), price_changes=None):
    """Type values into in_ cells, add price rows after the catalog, change catalog prices, as a user would."""
    workbook = openpyxl.load_workbook(path)
    for name, value in inputs.items():
        price_sheet.put(named_cells(workbook, name)[0], value)
    sheet = workbook[PRICE_SHEET_TITLE]
    last = max(row for row, _ in read_rows(sheet))
    price_sheet.write_rows(sheet, list(rows), first_row=last + 3)  # leave a gap, as people do
    for row, (column, value) in (price_changes or {}).items():
        sheet[f"{column}{row}"] = value
    workbook.save(path)
    return last + 3


def inputs_of(path):
    workbook = openpyxl.load_workbook(path)
    return {n: named_cells(workbook, n)[0] for n in workbook.defined_names if n.startswith("in_")}


def delete_first_catalog_row(path):
    """Clear the price sheet's first row, as a user deleting it would: (workbook, price sheet, its name)."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[PRICE_SHEET_TITLE]
    name = sheet.cell(row=PRICE_FIRST_ROW, column=1).value
    for column in range(1, len(price_sheet.PRICE_COLUMNS) + 1):
        sheet.cell(row=PRICE_FIRST_ROW, column=column).value = None
    return workbook, sheet, name


@pytest.fixture(params=sorted(EDITS))
def edited(request, tmp_path):
    template = request.param
    path = build(tmp_path, template, "BOOK.xlsx")
    user_row = edit(path, EDITS[template], [USER_ROW], {PRICE_FIRST_ROW + 2: ("H", 0.99)})
    return template, path, user_row


class TestRefreshKeepsUserData:
    def test_inputs_kept_and_text_stays_text(self, edited):
        template, path, _ = edited
        done = refresh(path)
        assert done.template == template and done.path == path
        cells = inputs_of(path)
        for name, value in EDITS[template].items():
            assert cells[name].value == value
            if isinstance(value, str):
                assert cells[name].data_type == "s"
        assert done.inputs_kept == len(cells)

    def test_price_rows_kept_in_place(self, edited):
        _, path, user_row = edited
        done = refresh(path)
        rows = dict(read_rows(openpyxl.load_workbook(path)[PRICE_SHEET_TITLE]))
        assert rows[user_row]["name"] == "Our own box" and rows[user_row]["usd_per_hour"] == 1.23
        assert rows[user_row]["price_source"] == EVIL
        assert rows[PRICE_FIRST_ROW + 2]["usd_per_hour"] == 0.99
        name = rows[PRICE_FIRST_ROW + 2]["name"]
        assert any("1 price row(s) differ from today's catalog" in w and f"{name} (yours 0.99, catalog" in w
                   for w in done.warnings)
        sheet = openpyxl.load_workbook(path)[PRICE_SHEET_TITLE]
        assert sheet.cell(row=user_row, column=len(price_sheet.PRICE_COLUMNS) - 1).data_type == "s"
        assert done.price_rows_kept == len(rows) and done.price_rows_added == 0

    def test_backup_is_the_old_file_and_no_temporary_file_is_left(self, edited):
        _, path, _ = edited
        before = path.read_bytes()
        done = refresh(path)
        assert re.fullmatch(r"BOOK\.backup-\d{8}-\d{6}\.xlsx", done.backup.name)
        assert done.backup.read_bytes() == before
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(["BOOK.xlsx", done.backup.name])
        assert workbook_files.identify(openpyxl.load_workbook(done.backup))[0] == edited[0]  # it opens as a workbook

    def test_a_second_refresh_keeps_the_first_backup(self, edited):
        _, path, _ = edited
        first = refresh(path)
        kept, between = first.backup.read_bytes(), path.read_bytes()
        second = refresh(path)
        assert second.backup != first.backup and first.backup.read_bytes() == kept
        assert second.backup.read_bytes() == between

    def test_output_elsewhere_leaves_the_input_untouched(self, edited, tmp_path):
        _, path, _ = edited
        before = path.read_bytes()
        out = tmp_path / "sub" / "NEW.xlsx"
        out.parent.mkdir()
        done = refresh(path, out)
        assert done.path == out and done.backup is None and path.read_bytes() == before
        assert sorted(p.name for p in path.parent.iterdir()) == ["BOOK.xlsx", "sub"]
        assert inputs_of(out)[next(iter(EDITS[done.template]))].value == next(iter(EDITS[done.template].values()))

    def test_refreshed_workbook_agrees_with_the_solver(self, edited):
        if recalc.soffice_path() is None:
            pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
        _, path, _ = edited
        refresh(path)
        result = check_workbook(path)
        assert result.ok, (result.mismatches, result.errors, result.input_problem)


class TestRefreshDetails:
    def test_a_workbook_saved_by_libreoffice_refreshes_and_checks(self, tmp_path):
        if recalc.soffice_path() is None:
            pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        edit(path, {"in_c1_batch": 48}, [USER_ROW])
        (saved,) = recalc.recalculate([path], tmp_path / "saved_by_libreoffice")
        done = refresh(saved, tmp_path / "refreshed.xlsx")
        assert done.template == "deployment_cost_model" and inputs_of(done.path)["in_c1_batch"].value == 48
        assert "Our own box" in [v["name"] for _, v in read_rows(openpyxl.load_workbook(done.path)[PRICE_SHEET_TITLE])]
        result = check_workbook(done.path)
        assert result.ok, (result.mismatches, result.errors, result.input_problem)

    def test_a_deleted_catalog_row_comes_back_below(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        workbook, _, name = delete_first_catalog_row(path)
        workbook.save(path)
        done = refresh(path)
        rows = read_rows(openpyxl.load_workbook(path)[PRICE_SHEET_TITLE])
        assert done.price_rows_added == 1 and rows[-1][1]["name"] == name
        assert rows[0][0] == PRICE_FIRST_ROW + 1
        assert any(f"not in your price sheet and were added in row(s) {rows[-1][0]}: {name}" in w
                   for w in done.warnings)

    def test_rows_at_the_bottom_keep_their_row_and_the_notes_beside_them(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        workbook, sheet, deleted = delete_first_catalog_row(path)
        bottom = price_sheet.PRICE_LAST_ROW - 1
        price_sheet.write_rows(sheet, [USER_ROW, dict(USER_ROW, name="Second box")], first_row=bottom)
        sheet[f"M{bottom}"], sheet[f"M{bottom + 1}"] = "quote from vendor A", "quote from vendor B"
        workbook.save(path)
        done = refresh(path)
        sheet = openpyxl.load_workbook(path)[PRICE_SHEET_TITLE]
        assert [sheet[f"A{bottom}"].value, sheet[f"M{bottom}"].value] == ["Our own box", "quote from vendor A"]
        assert [sheet[f"A{bottom + 1}"].value, sheet[f"M{bottom + 1}"].value] == ["Second box", "quote from vendor B"]
        assert sheet.cell(row=PRICE_FIRST_ROW, column=1).value == deleted  # the only free row left
        assert done.price_rows_added == 1
        assert any(f"were added in row(s) {PRICE_FIRST_ROW}: {deleted}" in w and "on purpose" in w
                   for w in done.warnings)

    def test_a_formula_typed_into_an_input_is_not_carried_as_a_formula(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        workbook = openpyxl.load_workbook(path)
        named_cells(workbook, "in_c1_batch")[0].value = "=2*8"
        workbook.save(path)
        done = refresh(path)
        cell = inputs_of(path)["in_c1_batch"]
        assert cell.value == 32 and cell.data_type == "n"  # no saved result: today's default
        assert any("in_c1_batch held the formula '=2*8' with no saved result" in w for w in done.warnings)

    def test_an_input_the_template_dropped_is_reported(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        workbook = openpyxl.load_workbook(path)
        workbook.defined_names["in_retired"] = openpyxl.workbook.defined_name.DefinedName(
            "in_retired", attr_text="'Model'!$H$1")
        workbook["Model"]["H1"] = 7
        workbook.save(path)
        done = refresh(path)
        assert any("in_retired is not in today's template; its value 7" in w for w in done.warnings)


    def test_notes_and_own_sheets_are_carried_and_typed_over_formulas_reported(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        workbook = openpyxl.load_workbook(path)
        workbook["Model"]["H2"] = "ask finance about reserved pricing"
        (gpus,) = named_cells(workbook, "out_c1_gpus")
        gpus.value = 12
        own = workbook.create_sheet("My notes")
        own["A1"], own["B1"] = "yearly serving $", "=out_c1_monthly_usd*12"
        own["A2"] = EVIL
        own["A2"].data_type = "s"
        workbook.save(path)
        done = refresh(path)
        book = openpyxl.load_workbook(path)
        assert book["Model"]["H2"].value == "ask finance about reserved pricing"
        assert book["My notes"]["B1"].value == "=out_c1_monthly_usd*12" and book["My notes"]["B1"].data_type == "f"
        assert book["My notes"]["A2"].value == EVIL and book["My notes"]["A2"].data_type == "s"
        assert named_cells(book, "out_c1_gpus")[0].data_type == "f"
        assert done.other_cells_kept == 4
        assert any(f"Model!{gpus.coordinate}" in w and "the formula is used" in w for w in done.warnings)
        assert any("sheet 'My notes' is not part of the template" in w for w in done.warnings)


class TestRefusals:
    def test_excel_lock_file(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        (tmp_path / "~$BOOK.xlsx").write_bytes(b"\x00")
        before = path.read_bytes()
        with pytest.raises(WorkbookError, match=r"is open in a spreadsheet program \(lock file ~\$BOOK.xlsx exists\)"):
            refresh(path)
        assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 2

    def test_libreoffice_lock_file_on_the_output(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        (tmp_path / ".~lock.OUT.xlsx#").write_text("x")
        with pytest.raises(WorkbookError, match="lock file .~lock.OUT.xlsx# exists"):
            refresh(path, tmp_path / "OUT.xlsx")
        assert not (tmp_path / "OUT.xlsx").exists()

    def test_a_workbook_xlcalc_did_not_make(self, tmp_path):
        path = tmp_path / "budget.xlsx"
        openpyxl.Workbook().save(path)
        with pytest.raises(WorkbookError, match="'.*budget.xlsx' is not an xlcalc workbook"):
            refresh(path)

    def test_a_file_that_is_not_a_workbook(self, tmp_path):
        path = tmp_path / "notes.xlsx"
        path.write_text("hello")
        with pytest.raises(WorkbookError, match="is not an .xlsx workbook that xlcalc can read"):
            refresh(path)

    def test_a_missing_file(self, tmp_path):
        with pytest.raises(WorkbookError, match="does not exist"):
            refresh(tmp_path / "nothing.xlsx")

    def test_an_unknown_template(self, tmp_path):
        path = tmp_path / "odd.xlsx"
        workbook = openpyxl.Workbook()
        workbook_files.mark(workbook, "pension_plan")
        workbook.save(path)
        with pytest.raises(WorkbookError, match="template 'pension_plan' is not known to this xlcalc; known: "):
            refresh(path)


class TestSaveWorkbook:
    def test_failed_write_leaves_the_old_file_and_no_temporary(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        before = path.read_bytes()

        class Failing:
            def save(self, target):
                target.write(b"half a workbook")
                raise OSError("disk full")

        with pytest.raises(OSError, match="disk full"):
            save_workbook(Failing(), path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["BOOK.xlsx"]

    @pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS])
    def test_a_full_or_read_only_disk_gives_one_line_and_leaves_the_old_file(self, tmp_path, monkeypatch, error):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        before = path.read_bytes()

        def refuse(_):  # what the kernel answers when the disk is full, or the folder read-only, at the last write
            raise OSError(error, os.strerror(error))

        monkeypatch.setattr(os, "fsync", refuse)
        with pytest.raises(WorkbookWriteError) as raised:
            save_workbook(template_workbook("deployment_cost_model"), path, values=False)
        assert str(raised.value) == f"could not write {str(path)!r}: {os.strerror(error)}"
        assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["BOOK.xlsx"]

    def test_temporary_files_of_killed_runs_are_removed_and_live_ones_kept(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        finished = subprocess.Popen(["true"])
        finished.wait()  # a process id that no longer runs, as after a SIGKILL
        stale = tmp_path / f".BOOK.xlcalc-{finished.pid}-abc.xlsx.tmp"
        live = tmp_path / f".BOOK.xlcalc-{os.getpid()}-def.xlsx.tmp"
        for leftover in (stale, live):
            leftover.write_bytes(b"half a workbook")
        save_workbook(template_workbook("deployment_cost_model"), path, values=False, backup=False)
        assert not stale.exists() and live.exists()

    def test_through_a_symlink_the_target_is_written(self, tmp_path):
        real = build(tmp_path, "deployment_cost_model", "REAL.xlsx")
        link = tmp_path / "LINK.xlsx"
        link.symlink_to(real)
        done = refresh(link)
        assert link.is_symlink() and done.path == real and done.backup.parent == tmp_path
        assert workbook_files.identify(openpyxl.load_workbook(link))[0] == "deployment_cost_model"

    def test_a_file_that_is_not_a_workbook_is_never_replaced(self, tmp_path):
        other = tmp_path / "notes.xlsx"
        other.write_text("my notes")
        with pytest.raises(WorkbookError, match="exists and is not an .xlsx workbook: xlcalc will not replace it"):
            save_workbook(template_workbook("deployment_cost_model"), other, values=False)
        assert other.read_text() == "my notes"

    def test_refuses_other_suffixes_and_missing_folders(self, tmp_path):
        with pytest.raises(WorkbookError, match="must end in .xlsx"):
            save_workbook(openpyxl.Workbook(), tmp_path / "book.xls")
        with pytest.raises(WorkbookError, match="does not exist"):
            save_workbook(openpyxl.Workbook(), tmp_path / "no" / "book.xlsx")

    def test_new_file_gets_ordinary_permissions(self, tmp_path):
        umask = os.umask(0o022)
        try:
            saved = save_workbook(openpyxl.Workbook(), tmp_path / "new.xlsx")
        finally:
            os.umask(umask)
        assert saved.backup is None and saved.path.stat().st_mode & 0o777 == 0o644  # mkstemp alone gives 0600

    def test_identify_reads_the_marker(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model")
        template, version = workbook_files.identify(openpyxl.load_workbook(path))
        import xlcalc

        assert template == "deployment_cost_model" and version == xlcalc.__version__


def link_to_other_workbook(workbook, target="other.xlsx", value="21"):
    """Give an openpyxl workbook a link to another workbook ([1] in formulas) whose cached Sheet1!A1 is ``value``."""
    from openpyxl.packaging.relationship import Relationship
    from openpyxl.workbook.external_link import external as xl

    data = xl.ExternalSheetDataSet(sheetData=[xl.ExternalSheetData(
        sheetId=0, row=[xl.ExternalRow(r=1, cell=[xl.ExternalCell(r="A1", v=value)])])])
    link = xl.ExternalLink(externalBook=xl.ExternalBook(sheetNames=xl.ExternalSheetNames(sheetName=["Sheet1"]),
                                                        sheetDataSet=data))
    link.file_link = Relationship(type="externalLinkPath", Target=target, TargetMode="External")
    workbook._external_links.append(link)


class TestWhatRefreshCannotSilentlyDrop:
    def test_links_to_other_workbooks_are_carried_with_the_formulas_that_use_them(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        workbook = openpyxl.load_workbook(path)
        workbook.create_sheet("Mine")["A1"] = "=[1]Sheet1!$A$1*2"
        link_to_other_workbook(workbook)
        workbook.save(path)
        done = refresh(path)
        assert any("links to 1 other workbook(s) were carried for the formulas that use them: Mine!A1" in w
                   for w in done.warnings)
        again = openpyxl.load_workbook(path)
        assert again["Mine"]["A1"].value == "=[1]Sheet1!$A$1*2"
        assert [link.file_link.Target for link in again._external_links] == ["other.xlsx"]
        # the link's own part, with the other workbook's cached value, as Excel needs it to resolve [1]
        # (LibreOffice cannot evaluate links written by openpyxl at all, so it cannot check this one)
        with zipfile.ZipFile(path) as archive:
            assert b"<v>21</v>" in archive.read("xl/externalLinks/externalLink1.xml")
            assert b"<externalReference " in archive.read("xl/workbook.xml")

    def test_a_vba_project_is_reported(self, tmp_path):
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macros")
        done = refresh(path)
        assert any("BOOK.xlsx holds a VBA project (macros, xl/vbaProject.bin)" in w and "still has them" in w
                   for w in done.warnings)
        assert zipfile.ZipFile(done.backup).read("xl/vbaProject.bin").endswith(b"macros")


class TestKilledRefresh:
    def test_the_book_survives_kills_at_random_moments_and_the_next_run_tidies_up(self, tmp_path):
        """SIGKILL a refresh at seeded random moments: BOOK.xlsx is always a whole workbook with the user's input."""
        import random
        import signal
        import sys
        import time

        root = Path(__file__).resolve().parents[1]
        path = build(tmp_path, "deployment_cost_model", "BOOK.xlsx")
        edit(path, {"in_requests_per_month": 12345678.5})
        command = [sys.executable, "-m", "xlcalc.cli", "refresh", str(path), "--no-values"]
        generator = random.Random(11)
        for _ in range(8):
            process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(generator.uniform(0.3, 3.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert inputs_of(path)["in_requests_per_month"].value == 12345678.5
        assert subprocess.run(command, cwd=root, capture_output=True).returncode == 0
        left = [p.name for p in tmp_path.iterdir() if p.name != "BOOK.xlsx" and not p.name.startswith("BOOK.backup-")]
        assert left == [] and inputs_of(path)["in_requests_per_month"].value == 12345678.5
