"""`xlcalc build`, `xlcalc refresh` and `xlcalc check` from the command line: output, exit status, files."""

import json
import pathlib

import openpyxl
import pytest

from xlcalc.workbooks import recalc, files as workbook_files
from xlcalc.cli import main
from xlcalc.workbooks.files import named_cells

TEMPLATES = workbook_files.available_templates()
FILENAMES = sorted(module.FILENAME for module in TEMPLATES.values())


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def needs_libreoffice():
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")


def set_named(path, name, value):
    """Type ``value`` into the cell named ``name`` of the workbook at ``path`` (saved); returns the path."""
    workbook = openpyxl.load_workbook(path)
    named_cells(workbook, name)[0].value = value
    workbook.save(path)
    return path


@pytest.fixture
def built(tmp_path, capsys):
    folder = tmp_path / "books"
    code, out, err = run(capsys, "build", "--out", folder, "--no-values")  # values: test_cached_values.py
    assert code == 0
    return folder, out, err


class TestBuild:
    def test_writes_every_template(self, built):
        folder, out, err = built
        assert sorted(p.name for p in folder.iterdir()) == FILENAMES
        assert all(f"wrote {folder / name}" in out for name in FILENAMES)
        assert "building deployment_cost_model.xlsx" in err  # progress goes to stderr
        for name in FILENAMES:
            template, _ = workbook_files.identify(openpyxl.load_workbook(folder / name))
            assert TEMPLATES[template].FILENAME == name

    def test_check_passes_on_a_fresh_build(self, built, capsys):
        folder, _, _ = built
        code, out, _ = run(capsys, "build", "--out", folder, "--check", "--no-values")
        assert code == 0 and out.count("up to date") == len(FILENAMES)

    def test_check_fails_when_a_rebuild_would_still_change_the_bytes(self, built, capsys):
        """--check agrees with a rebuild: same content but no computed values, or varying zip timestamps, is stale."""
        folder, _, _ = built
        code, out, _ = run(capsys, "build", "--out", folder, "--check")
        assert code == 1 and out.count("content up to date, but ") == len(FILENAMES)
        assert "formula cells carry no computed value: run `xlcalc build --out" in out
        path = folder / FILENAMES[0]
        openpyxl.load_workbook(path).save(path)  # as openpyxl alone writes it: today's date on every part
        code, out, _ = run(capsys, "build", "--out", folder, "--check", "--no-values")
        assert code == 1 and f"{path}: content up to date, but it was not written reproducibly" in out

    def test_check_names_the_first_differences(self, built, capsys):
        folder, _, _ = built
        path = folder / "deployment_cost_model.xlsx"
        workbook = openpyxl.load_workbook(path)
        cell = named_cells(workbook, "in_c1_batch")[0]
        cell.value = 99
        workbook.save(path)
        before = path.read_bytes()
        code, out, _ = run(capsys, "build", "--out", folder, "--check")
        assert code == 1
        assert f"Model!{cell.coordinate}: value expected 32, found 99" in out
        assert path.read_bytes() == before  # --check writes nothing

    def test_committed_workbooks_are_up_to_date(self, capsys):
        """The files under workbooks/ are what today's builder makes (run `xlcalc build` after a change)."""
        committed = pathlib.Path(__file__).resolve().parents[1] / "workbooks"
        code, out, _ = run(capsys, "build", "--out", committed, "--check")
        assert code == 0, f"{out}\nregenerate with: xlcalc build"
        assert out.count("up to date") == len(FILENAMES)

    def test_check_reports_a_missing_workbook(self, tmp_path, capsys):
        code, out, _ = run(capsys, "build", "--out", tmp_path, "--check")
        assert code == 1 and "deployment_cost_model.xlsx: missing" in out
        assert list(tmp_path.iterdir()) == []

    def test_rebuild_backs_up_only_a_file_with_the_users_inputs(self, built, capsys):
        folder, _, _ = built
        path = folder / "deployment_cost_model.xlsx"
        code, out, _ = run(capsys, "build", "--out", folder, "--no-values")
        assert code == 0 and "kept as" not in out and sorted(p.name for p in folder.iterdir()) == FILENAMES
        workbook = openpyxl.load_workbook(path)
        named_cells(workbook, "in_requests_per_month")[0].value = 12345
        workbook.save(path)
        code, out, _ = run(capsys, "build", "--out", folder, "--no-values")
        (backup,) = folder.glob("deployment_cost_model.backup-*.xlsx")
        assert code == 0 and f"your previous file is kept as {backup.name}" in out
        assert named_cells(openpyxl.load_workbook(backup), "in_requests_per_month")[0].value == 12345

    @pytest.mark.parametrize("change", ["price row", "own sheet", "not xlcalc"])
    def test_rebuild_backs_up_other_user_data(self, built, capsys, change):
        folder, _, _ = built
        path = folder / "deployment_cost_model.xlsx"
        workbook = openpyxl.load_workbook(path) if change != "not xlcalc" else openpyxl.Workbook()
        if change == "price row":
            workbook["Hardware prices"]["A150"] = "Our cluster"
        if change == "own sheet":
            workbook.create_sheet("Notes")
        workbook.save(path)
        code, out, _ = run(capsys, "build", "--out", folder, "--no-values")
        assert code == 0 and len(list(folder.glob("deployment_cost_model.backup-*.xlsx"))) == 1

    def test_build_refuses_a_file_open_in_excel(self, built, capsys):
        folder, _, _ = built
        (folder / "~$deployment_cost_model.xlsx").write_text("")
        code, _, err = run(capsys, "build", "--out", folder, "--no-values")
        assert code == 2 and "xlcalc build: error:" in err and "lock file ~$deployment_cost_model.xlsx" in err


class TestRefreshCommand:
    def test_refresh_in_place(self, built, capsys):
        folder, _, _ = built
        path = folder / "deployment_cost_model.xlsx"
        code, out, err = run(capsys, "refresh", path)
        assert code == 0 and "refreshed" in out and "kept 70 inputs" in out and "deployment_cost_model.backup-" in out
        assert "rebuilding deployment_cost_model.xlsx" in err

    def test_refresh_to_another_file(self, built, tmp_path, capsys):
        folder, _, _ = built
        path = folder / "deployment_cost_model.xlsx"
        before = path.read_bytes()
        code, out, _ = run(capsys, "refresh", path, "-o", tmp_path / "mine.xlsx", "--no-values")
        assert code == 0 and (tmp_path / "mine.xlsx").is_file() and path.read_bytes() == before

    @pytest.mark.parametrize("make,message", [
        (lambda p: None, "does not exist"),
        (lambda p: openpyxl.Workbook().save(p), "is not an xlcalc workbook"),
        (lambda p: p.write_text("a,b\n1,2\n"), "is not an .xlsx workbook"),
    ])
    def test_bad_files_give_one_line_and_status_2(self, tmp_path, capsys, make, message):
        path = tmp_path / "book.xlsx"
        make(path)
        for command in ("refresh", "check"):
            code, out, err = run(capsys, command, path)
            assert code == 2 and message in err and err.count("\n") == 1 and out == ""


class TestCheckCommand:
    def test_clean_workbooks_pass(self, built, capsys):
        needs_libreoffice()
        folder, _, _ = built
        for name in FILENAMES:
            code, out, err = run(capsys, "check", folder / name)
            assert code == 0, out
            assert "outputs agree with the solver" in out and "no error cells" in out
            assert "recalculating" in err

    @pytest.mark.parametrize("filename,name,value,messages", [
        ("deployment_cost_model.xlsx", "out_c2_tokens_per_sec", 1234.5,
         ["out_c2_tokens_per_sec: workbook 1234.5, solver 3453.830788",
          "out_c2_usd_per_mtok_output: workbook",  # what depends on it is wrong too
          "10 problems found"]),
        ("lifetime_sizing.xlsx", "out_chinchilla_params", 7e10, ["out_chinchilla_params: workbook 7e+10, solver"]),
    ])
    def test_a_formula_replaced_by_a_constant_is_reported(self, built, capsys, filename, name, value, messages):
        needs_libreoffice()
        path = set_named(built[0] / filename, name, value)
        code, out, _ = run(capsys, "check", path)
        assert code == 1 and all(message in out for message in messages) and "out_c1_" not in out

    def test_json_findings(self, built, capsys):
        needs_libreoffice()
        path = built[0] / "deployment_cost_model.xlsx"
        workbook = openpyxl.load_workbook(path)
        named_cells(workbook, "out_crossover_month")[0].value = "never"
        workbook.save(path)
        code, out, _ = run(capsys, "check", path, "--json")
        data = json.loads(out)
        assert code == 1 and data["ok"] is False and data["template"] == "deployment_cost_model"
        assert data["mismatches"] == [{"name": "out_crossover_month", "workbook": "never", "solver": 6.0}]
        assert data["error_cells"] == [] and data["outputs_compared"] == 104  # 68 + the cost band's 36

    def test_an_unusable_input_is_reported_first_and_floods_no_error_cells(self, built, capsys):
        needs_libreoffice()
        folder, _, _ = built
        path = set_named(folder / "deployment_cost_model.xlsx", "in_c3_gpu", "Z80")
        code, out, _ = run(capsys, "check", path)
        assert code == 1
        assert out.splitlines()[0] == (f"{path}: the solver cannot use this workbook's inputs: Serving accelerator "
                                       "must be an accelerator listed in Hardware prices")
        assert "holds the error" not in out and "1 problem found" in out

    def test_many_error_cells_are_listed_up_to_a_cap_with_a_count(self, built, capsys):
        needs_libreoffice()
        path = built[0] / "deployment_cost_model.xlsx"
        workbook = openpyxl.load_workbook(path)
        own = workbook.create_sheet("My sums")
        for row in range(1, 31):
            own[f"A{row}"] = "=1/0"
        workbook.save(path)
        code, out, _ = run(capsys, "check", path)
        assert code == 1 and out.count("holds the error #DIV/0!") == 20
        assert "... and 10 more error cells (30 in all; --json lists every one)" in out
        code, out, _ = run(capsys, "check", path, "--json")
        assert len(json.loads(out)["error_cells"]) == 30

    @pytest.mark.parametrize("filename,name,value,code,message", [
        ("lifetime_sizing.xlsx", "in_requests_per_month", 0, 0, "outputs agree with the solver"),
        ("deployment_cost_model.xlsx", "in_requests_per_month", 0, 0, "outputs agree with the solver"),
        ("lifetime_sizing.xlsx", "in_requests", None, 1,
         "inputs: Requests over the model's life must be a number of 0 or more"),
        ("lifetime_sizing.xlsx", "in_budget_flops", "lots", 1,
         "inputs: Total FLOP budget (training + inference) must be a number greater than 0"),
    ])
    def test_zero_empty_and_text_inputs_give_a_message_not_a_traceback(self, built, capsys, filename, name, value,
                                                                         code, message):
        needs_libreoffice()
        path = set_named(built[0] / filename, name, value)
        status, out, err = run(capsys, "check", path)
        assert (status, "Traceback" in out + err) == (code, False)
        assert message in out and "holds the error" not in out


class TestInputProblem:
    def test_other_exceptions_name_the_input_they_mention(self):
        from xlcalc.workbooks.check import input_problem

        text = input_problem(KeyError("in_c1_params"), {"in_c1_params": None, "in_c1": 1})
        assert text == "the solver cannot use this workbook's inputs: in_c1_params: 'in_c1_params'"
        assert input_problem(OverflowError(), {}).endswith("OverflowError (OverflowError)")


class TestPathsThatCannotBeUsed:
    """Every path that cannot be used gives one line naming it: exit 2 for a wrong argument, 1 when writing fails."""

    @pytest.fixture
    def book(self, built):
        return built[0] / "deployment_cost_model.xlsx"

    @pytest.mark.parametrize("argv,code,message", [
        (lambda book: ["build", "--out", book], 2, "--out '{book}' is a file, not a folder"),
        (lambda book: ["build", "--out", book / "sub"], 2, "--out '{book}/sub': a part of the path is a file"),
        (lambda book: ["build", "--out", "/proc/xlcalc-books"], 1,
         "could not create the folder --out '/proc/xlcalc-books'"),
        (lambda book: ["refresh", ""], 2, "argument BOOK.xlsx: the path is empty ('')"),
        (lambda book: ["check", " "], 2, "argument BOOK.xlsx: the path is empty (' ')"),
        (lambda book: ["refresh", book, "-o", ""], 2, "argument -o/--out: the path is empty ('')"),
        (lambda book: ["refresh", book, "-o", "/proc/out.xlsx"], 1,
         "could not write '/proc/out.xlsx': no file can be created in '/proc'"),
        (lambda book: ["refresh", book, "-o", "/sys/out.xlsx"], 1,
         "could not write '/sys/out.xlsx': no file can be created in '/sys'"),
        (lambda book: ["refresh", book, "-o", book / "out.xlsx"], 2, "folder '{book}' does not exist (it is a file)"),
    ])
    def test_one_line_naming_the_path(self, book, capsys, argv, code, message):
        before = book.read_bytes()
        try:
            status, out, err = run(capsys, *argv(book), "--no-values")
        except SystemExit as exc:  # argparse's usage errors end the parser with SystemExit(2)
            status, (out, err) = exc.code, capsys.readouterr()
        assert (status, out) == (code, "") and err.count("\n") == 1 and "Traceback" not in err
        assert message.format(book=book) in err
        assert book.read_bytes() == before

    def test_check_says_libreoffice_is_missing_before_recalculating(self, built, capsys, monkeypatch, tmp_path):
        monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without soffice, as on a machine without LibreOffice
        code, out, err = run(capsys, "check", built[0] / "deployment_cost_model.xlsx")
        assert code == 1 and out == "" and "recalculating" not in err
        assert err == ("xlcalc check: error: LibreOffice is needed to check a workbook and was not found: "
                       f"{recalc.INSTALL_HINT}\n")
