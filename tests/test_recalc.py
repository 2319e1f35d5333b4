"""xlcalc.workbooks.recalc: headless recalculation in LibreOffice, reading names back, finding error cells."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from xlcalc.workbooks import recalc
from xlcalc.errors import RecalcError, WorkbookError, WorkbookWriteError
from xlcalc.workbooks.files import save_workbook, template_workbook

ROOT = Path(__file__).resolve().parents[1]


def small_workbook(path, formula="=in_x*3"):
    """A workbook with an input, a named formula output, and a formula on a second sheet."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Main"
    sheet["A1"], sheet["B1"] = 2.5, formula
    sheet["C1"] = "=B1+1"
    other = workbook.create_sheet("Other sheet")
    other["A1"] = "=SUM(Main!A1:C1)"
    workbook.defined_names["in_x"] = DefinedName("in_x", attr_text="Main!$A$1")
    workbook.defined_names["out_y"] = DefinedName("out_y", attr_text="Main!$B$1")
    workbook.defined_names["helper"] = DefinedName("helper", attr_text="Main!$C$1")
    workbook.save(path)
    return path


@pytest.fixture(scope="module")
def needs_libreoffice():
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")


@pytest.fixture(scope="module")
def recalculated(needs_libreoffice, tmp_path_factory):
    """Two workbooks recalculated in one run: a good one and one with errors."""
    source = tmp_path_factory.mktemp("source")
    good = small_workbook(source / "good.xlsx")
    bad = small_workbook(source / "bad.xlsx", formula="=in_x/0")
    out = tmp_path_factory.mktemp("out")
    return dict(zip(("good", "bad"), recalc.recalculate([good, bad], out))), source


class TestRecalculate:
    def test_formulas_get_computed_values(self, recalculated):
        done, _ = recalculated
        assert done["good"].name == "good.xlsx"
        values = openpyxl.load_workbook(done["good"], data_only=True)
        assert values["Main"]["B1"].value == 7.5
        assert values["Main"]["C1"].value == 8.5
        assert values["Other sheet"]["A1"].value == 18.5

    def test_the_source_keeps_its_formulas(self, recalculated):
        _, source = recalculated
        assert openpyxl.load_workbook(source / "good.xlsx")["Main"]["B1"].value == "=in_x*3"

    def test_one_path_is_accepted(self, needs_libreoffice, tmp_path):
        path = small_workbook(tmp_path / "one.xlsx", formula="=in_x^2")
        (done,) = recalc.recalculate(path, tmp_path / "out")
        assert recalc.read_names(done) == {"in_x": 2.5, "out_y": 6.25}


class TestReadNames:
    def test_in_and_out_names_only_by_default(self, recalculated):
        done, _ = recalculated
        assert recalc.read_names(done["good"]) == {"in_x": 2.5, "out_y": 7.5}

    def test_other_prefixes(self, recalculated):
        done, _ = recalculated
        assert recalc.read_names(done["good"], prefixes=("help",)) == {"helper": 8.5}


class TestErrorCells:
    def test_a_clean_workbook_has_none(self, recalculated):
        done, _ = recalculated
        assert recalc.error_cells(done["good"]) == []

    def test_errors_are_found_on_every_sheet(self, recalculated):
        done, _ = recalculated
        found = recalc.error_cells(done["bad"])
        assert ("Main", "B1", "#DIV/0!") in found
        assert {(sheet, cell) for sheet, cell, _ in found} == {("Main", "B1"), ("Main", "C1"), ("Other sheet", "A1")}

    @pytest.mark.parametrize("value", ["#DIV/0!", "#VALUE!", "#NAME?", "#N/A", "#REF!", "#NUM!", "Err:502"])
    def test_error_texts(self, value):
        assert recalc.is_error_value(value)

    @pytest.mark.parametrize("value", ["OK", "", None, 0.0, "# of GPUs"])
    def test_not_errors(self, value):
        assert not recalc.is_error_value(value)


class TestRecalculateErrors:
    def test_missing_file(self, tmp_path):
        with pytest.raises(WorkbookError, match="does not exist"):
            recalc.recalculate(tmp_path / "nope.xlsx", tmp_path / "out")

    def test_missing_libreoffice(self, tmp_path, monkeypatch):
        path = small_workbook(tmp_path / "book.xlsx")
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        assert recalc.soffice_path() is None
        with pytest.raises(RecalcError, match="LibreOffice is needed.*apt-get install"):
            recalc.recalculate(path, tmp_path / "out")

    def test_same_file_names_refused(self, tmp_path):
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        paths = [small_workbook(tmp_path / folder / "book.xlsx") for folder in "ab"]
        with pytest.raises(WorkbookError, match="different file names"):
            recalc.recalculate(paths, tmp_path / "out")

    def test_output_folder_must_differ_from_the_source_folder(self, needs_libreoffice, tmp_path):
        path = small_workbook(tmp_path / "book.xlsx")
        with pytest.raises(WorkbookError, match="out_dir must differ"):
            recalc.recalculate(path, tmp_path)


class TestNothingLeftInTheTemporaryFolder:
    """`xlcalc check` leaves no LibreOffice profile or workbook copy behind, even after a killed run."""

    @staticmethod
    def check(book, temporary, **popen):
        environment = dict(os.environ, TMPDIR=str(temporary))
        return subprocess.Popen([sys.executable, "-m", "xlcalc.cli", "check", str(book)], env=environment,
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)

    def test_a_finished_run_and_the_leftovers_of_a_killed_one(self, needs_libreoffice, tmp_path):
        book = tmp_path / "book.xlsx"
        save_workbook(template_workbook("deployment_cost_model"), book, values=False)
        temporary = tmp_path / "tmp"
        temporary.mkdir()
        assert self.check(book, temporary).wait(timeout=300) == 0
        assert list(temporary.iterdir()) == []
        killed = self.check(book, temporary, start_new_session=True)
        deadline = time.monotonic() + 120
        while not (list(temporary.glob("xlcalc-check-*/in/workbook.xlsx"))
                   and list(temporary.glob("xlcalc-lo-profile-*/tmp"))) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # LibreOffice has started (it takes seconds to finish)
        os.killpg(killed.pid, signal.SIGKILL)  # the command and its LibreOffice, as a crash or `kill -9` would
        killed.wait()
        left = sorted(p.name.rsplit("-", 1)[0] for p in temporary.iterdir())
        assert left == [f"xlcalc-check-{killed.pid}", f"xlcalc-lo-profile-{killed.pid}"]
        assert self.check(book, temporary).wait(timeout=300) == 0
        assert list(temporary.iterdir()) == []


class TestRemoveStale:
    def test_only_entries_of_processes_that_are_gone(self, tmp_path):
        gone = subprocess.Popen(["true"])
        gone.wait()
        (tmp_path / f"xlcalc-x-{gone.pid}-a").mkdir()
        (tmp_path / f"xlcalc-x-{os.getpid()}-b").mkdir()
        (tmp_path / "xlcalc-x-notapid-c").mkdir()
        (tmp_path / f"other-{gone.pid}-d").mkdir()
        removed = recalc.remove_stale(tmp_path, "xlcalc-x-")
        assert [p.name for p in removed] == [f"xlcalc-x-{gone.pid}-a"]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [f"xlcalc-x-{os.getpid()}-b", "xlcalc-x-notapid-c", f"other-{gone.pid}-d"])

    def test_a_temporary_folder_that_cannot_be_written_gives_one_error(self, monkeypatch):
        monkeypatch.setattr(tempfile, "tempdir", "/proc")  # as a full or read-only temporary folder answers
        with pytest.raises(WorkbookWriteError, match="could not create a folder in the temporary folder '/proc': "):
            with recalc.scratch_folder("check"):
                pass
