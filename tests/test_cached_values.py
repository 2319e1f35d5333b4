"""Workbooks xlcalc writes: every number reads back bit for bit, every formula carries its computed value, bytes repeat.

Values are read the way tools that do not recalculate read them (pandas.read_excel, openpyxl with
data_only=True) and compared with the Python solver, as `xlcalc check` does after a LibreOffice run.
"""

import io
import math
import random
import struct
import zipfile

import openpyxl
import pandas
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlcalc.workbooks import cached_values, recalc, files as workbook_files, xlsx_bytes
from xlcalc.cli import main
from xlcalc.workbooks.refresh import refresh
from xlcalc.workbooks.templates import checks, price_sheet
from xlcalc.workbooks.check import agrees, compare_content, read_price_rows, solver_outputs, workbook_inputs
from xlcalc.workbooks.files import named_cells, save_workbook, template_workbook

TEMPLATES = workbook_files.available_templates()
# the values issue 10 saw changed, subnormals, extremes, 17-digit values
HARD_DOUBLES = [2.0123456789012346, 1.7100000000000002, 0.30000000000000004, 5e-324, 1e-310, 2.2250738585072014e-308,
                1.7976931348623157e308, 9007199254740993.0, 0.1, 1 / 3, -2 / 3, 123456789.12345679, 1e22, 1e-7,
                -0.0, 4.35e-5, 6.02214076e23]


def bits(value) -> bytes:
    return struct.pack("<d", float(value))


def needs_libreoffice():
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")


def random_doubles(count, seed=20261130):
    """Doubles spread over every exponent: random bit patterns that are finite."""
    generator = random.Random(seed)
    found = []
    while len(found) < count:
        value = struct.unpack("<d", generator.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(value):
            found.append(value)
    return found


class TestNumbersReadBackBitForBit:
    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_number_text(self, value):
        assert bits(float(xlsx_bytes.number_text(value))) == bits(value)

    def test_a_saved_workbook(self, tmp_path):
        values = HARD_DOUBLES + random_doubles(2_000)
        workbook = openpyxl.Workbook()
        for row, value in enumerate(values, start=1):
            workbook.active.cell(row=row, column=1, value=value)
        path = save_workbook(workbook, tmp_path / "numbers.xlsx", values=False).path
        read = [c.value for c in openpyxl.load_workbook(path).active["A"]]
        assert [bits(v) for v in read] == [bits(v) for v in values]

    def test_typed_inputs_and_prices_survive_refresh(self, tmp_path):
        path = tmp_path / "BOOK.xlsx"
        save_workbook(template_workbook("lifetime_sizing"), path, values=False)
        workbook = openpyxl.load_workbook(path)
        named_cells(workbook, "in_train_usd_per_hour")[0].value = 2.0123456789012346
        named_cells(workbook, "in_input_tokens")[0].value = 0.30000000000000004
        prices = workbook[price_sheet.PRICE_SHEET_TITLE]
        prices.cell(row=price_sheet.PRICE_FIRST_ROW, column=8).value = 1.7100000000000002
        prices.cell(row=150, column=1).value = "Our box"
        prices.cell(row=150, column=8).value = 5e-324
        buffer = io.BytesIO(xlsx_bytes.workbook_bytes(workbook))  # as a user's program writes them: exactly
        path.write_bytes(buffer.getvalue())
        refresh(path, values=False)
        again = openpyxl.load_workbook(path)
        assert bits(named_cells(again, "in_train_usd_per_hour")[0].value) == bits(2.0123456789012346)
        assert bits(named_cells(again, "in_input_tokens")[0].value) == bits(0.30000000000000004)
        prices = again[price_sheet.PRICE_SHEET_TITLE]
        assert bits(prices.cell(row=price_sheet.PRICE_FIRST_ROW, column=8).value) == bits(1.7100000000000002)
        assert bits(prices.cell(row=150, column=8).value) == bits(5e-324)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def built_twice(tmp_path_factory):
    """The templates built with values into two folders, and once without values."""
    needs_libreoffice()
    folders = [tmp_path_factory.mktemp(name) for name in ("first", "second", "plain")]
    for folder in folders[:2]:
        assert main(["build", "--out", str(folder)]) == 0
    assert main(["build", "--out", str(folders[2]), "--no-values"]) == 0
    return folders


def solver_check(path, module):
    """(outputs compared, mismatches) of the cached values read by openpyxl and by pandas against the solver."""
    workbook = openpyxl.load_workbook(path, data_only=True)
    names = recalc.read_names(path)
    expected = solver_outputs(module, workbook_inputs(names), read_price_rows(workbook))
    sheets = pandas.read_excel(path, sheet_name=None, header=None)
    mismatches = []
    for name, value in expected.items():
        (cell,) = named_cells(workbook, name)
        from_pandas = sheets[cell.parent.title].iat[cell.row - 1, cell.column - 1]
        from_pandas = from_pandas.item() if hasattr(from_pandas, "item") else from_pandas
        # pandas reads the text n/a as NaN (one of its default na_values): what a pandas user expects
        pandas_na = value == checks.NOT_AVAILABLE and isinstance(from_pandas, float) and math.isnan(from_pandas)
        if not (agrees(cell.value, value) and (pandas_na or agrees(from_pandas, value))):
            mismatches.append((name, cell.value, from_pandas, value))
    return len(expected), mismatches


def formula_cells_without_value(path) -> list:
    """Formula cells whose stored <v> is missing (pandas and previews would show them empty)."""
    missing = []
    with zipfile.ZipFile(path) as archive:
        for title, part in xlsx_bytes.sheet_parts(archive).items():
            xml = archive.read(part)
            missing += [f"{title}!{ref}" for ref in cached_values.cells_without_value(xml)]
    return missing


class TestBuiltWorkbooksCarryValues:
    @pytest.mark.parametrize("template", sorted(TEMPLATES))
    def test_every_out_value_reads_without_recalculation(self, built_twice, template):
        path = built_twice[0] / TEMPLATES[template].FILENAME
        compared, mismatches = solver_check(path, TEMPLATES[template])
        assert compared >= 20 and mismatches == []
        assert formula_cells_without_value(path) == []

    @pytest.mark.parametrize("template", sorted(TEMPLATES))
    def test_nothing_else_changes_and_excel_still_recalculates(self, built_twice, template):
        with_values, plain = (folder / TEMPLATES[template].FILENAME for folder in (built_twice[0], built_twice[2]))
        assert compare_content(plain, with_values) == []
        with zipfile.ZipFile(with_values) as a, zipfile.ZipFile(plain) as b:
            assert a.namelist() == b.namelist()
            sheets = set(xlsx_bytes.sheet_parts(a).values())
            assert [n for n in a.namelist() if n not in sheets and a.read(n) != b.read(n)] == []
            assert b'fullCalcOnLoad="1"' in a.read("xl/workbook.xml")
        assert formula_cells_without_value(plain)  # without values the formulas have none: the test can fail

    @pytest.mark.parametrize("template", sorted(TEMPLATES))
    def test_rebuilding_gives_identical_bytes_and_check_agrees(self, built_twice, template, capsys):
        name = TEMPLATES[template].FILENAME
        assert (built_twice[0] / name).read_bytes() == (built_twice[1] / name).read_bytes()
        code, out, _ = _run(capsys, "build", "--out", built_twice[0], "--check")
        assert code == 0 and out.count("up to date") == len(TEMPLATES)

    def test_rebuilding_without_values_is_reproducible_too(self, built_twice, tmp_path, capsys):
        assert _run(capsys, "build", "--out", tmp_path, "--no-values")[0] == 0
        for module in TEMPLATES.values():
            assert (tmp_path / module.FILENAME).read_bytes() == (built_twice[2] / module.FILENAME).read_bytes()


class TestRefreshedWorkbooksCarryValues:
    @pytest.mark.parametrize("template,edits", [
        ("deployment_cost_model", {"in_requests_per_month": 3.5e7, "in_c1_batch": 48}),
        ("lifetime_sizing", {"in_requests": 3e10, "in_input_tokens": 120}),
    ])
    def test_values_follow_the_users_inputs(self, tmp_path, template, edits):
        needs_libreoffice()
        path = tmp_path / "BOOK.xlsx"
        save_workbook(template_workbook(template), path, values=False)
        workbook = openpyxl.load_workbook(path)
        for name, value in edits.items():
            named_cells(workbook, name)[0].value = value
        workbook.save(path)
        done = refresh(path)
        assert done.values_missing is None
        compared, mismatches = solver_check(path, TEMPLATES[template])
        assert compared >= 20 and mismatches == [] and formula_cells_without_value(path) == []
        assert {name: recalc.read_names(path)[name] for name in edits} == edits


class TestWithoutLibreOffice:
    def test_build_says_so_in_one_warning_line_and_no_values_is_quiet(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without soffice
        code, out, err = _run(capsys, "build", "--out", tmp_path / "books")
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        assert code == 0 and len(warnings) == len(TEMPLATES) and out.count("wrote") == len(TEMPLATES)
        assert all("was written without computed values (LibreOffice is not installed)" in w and "--no-values" in w
                   for w in warnings)
        code, _, err = _run(capsys, "build", "--out", tmp_path / "books", "--no-values")
        assert code == 0 and "warning" not in err

    def test_refresh_says_so(self, tmp_path, capsys, monkeypatch):
        path = tmp_path / "BOOK.xlsx"
        save_workbook(template_workbook("deployment_cost_model"), path, values=False)
        monkeypatch.setenv("PATH", str(tmp_path))
        code, _, err = _run(capsys, "refresh", path)
        assert code == 0 and f"warning: {path} was written without computed values" in err
