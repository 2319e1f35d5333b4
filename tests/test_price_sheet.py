"""The shared "Hardware prices" sheet: catalog rows, input cells, whole-column names, lookups in LibreOffice."""

import math

import openpyxl
import pytest

from xlcalc.workbooks import recalc
from xlcalc.data.hardware import gpu, gpu_names
from xlcalc.workbooks.templates import style
from xlcalc.workbooks.templates.price_sheet import (
    PRICE_COLUMNS,
    PRICE_FIRST_ROW,
    PRICE_LAST_ROW,
    PRICE_SHEET_TITLE,
    accelerator_dropdown,
    add_price_sheet,
    catalog_rows,
    lookup,
    price_table,
    put,
    read_rows,
    write_rows,
)

USER_ROW = {"name": "Lab GPU 9000", "peak_tflops_bf16": 1234.5, "memory_gb": 64, "mem_bw_tbs": 3.21,
            "usd_per_hour": 0.77, "price_provider": "our lab", "price_date": "2026-11-25",
            "price_source": "=HYPERLINK(\"http://example.com\")"}


def workbook_with_prices(rows=None):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Uses"
    add_price_sheet(workbook, rows=rows)
    return workbook


def reload(workbook, path):
    workbook.save(path)
    return openpyxl.load_workbook(path)


class TestCatalogRows:
    def test_one_row_per_catalog_accelerator_in_order(self):
        rows = catalog_rows()
        assert [r["name"] for r in rows] == gpu_names()
        h100 = next(r for r in rows if r["name"] == "H100 SXM5")
        spec = gpu("H100 SXM5")
        assert h100["peak_tflops_bf16"] == 989.5 and h100["mem_bw_tbs"] == 3.35 and h100["memory_gb"] == 80
        assert h100["usd_per_hour"] == spec.usd_per_hour and h100["price_provider"] == spec.price_provider

    def test_every_column_is_a_catalog_field(self):
        accelerator = gpu("L4")
        assert all(hasattr(accelerator, column.key) for column in PRICE_COLUMNS)


class TestAddPriceSheet:
    @pytest.fixture(scope="class")
    @classmethod
    def book(cls, tmp_path_factory):
        return reload(workbook_with_prices(), tmp_path_factory.mktemp("prices") / "p.xlsx")

    def test_rows_hold_the_catalog(self, book):
        rows = read_rows(book[PRICE_SHEET_TITLE])
        assert [values["name"] for _, values in rows] == gpu_names()
        assert rows[0][0] == PRICE_FIRST_ROW
        first = rows[0][1]
        spec = gpu(first["name"])
        assert first["peak_tflops_bf16"] == spec.peak_tflops_bf16 and first["usd_per_hour"] == spec.usd_per_hour

    def test_unknown_values_are_empty_cells(self, book):
        rows = dict((values["name"], values) for _, values in read_rows(book[PRICE_SHEET_TITLE]))
        assert math.isnan(gpu("GB200 (per GPU)").usd_per_hour)
        assert rows["GB200 (per GPU)"]["usd_per_hour"] is None
        assert rows["GB200 (per GPU)"]["price_provider"] is None
        assert rows["A100-40GB SXM4"]["peak_tflops_fp8"] is None

    def test_whole_column_names(self, book):
        for index, column in enumerate(PRICE_COLUMNS, start=1):
            letter = openpyxl.utils.get_column_letter(index)
            assert book.defined_names[column.name].attr_text == (
                f"'{PRICE_SHEET_TITLE}'!${letter}${PRICE_FIRST_ROW}:${letter}${PRICE_LAST_ROW}")
        for name in ("hw_names", "hw_peak_tflops", "hw_mem_bw_tbs", "hw_memory_gb", "hw_tdp_w", "hw_usd_per_hour"):
            assert name in book.defined_names

    def test_every_table_cell_is_an_editable_input_down_to_the_last_row(self, book):
        sheet = book[PRICE_SHEET_TITLE]
        for row in (PRICE_FIRST_ROW, PRICE_FIRST_ROW + len(gpu_names()), PRICE_LAST_ROW):
            for index in range(1, len(PRICE_COLUMNS) + 1):
                cell = sheet.cell(row=row, column=index)
                assert cell.style == "xl_input" and not cell.protection.locked
        assert sheet.cell(row=PRICE_LAST_ROW + 1, column=1).style == "Normal"
        assert sheet.protection.sheet and not sheet.protection.password
        assert sheet.cell(row=1, column=1).style == "xl_header"

    def test_rows_instead_of_the_catalog(self, tmp_path):
        book = reload(workbook_with_prices([USER_ROW]), tmp_path / "own.xlsx")
        rows = read_rows(book[PRICE_SHEET_TITLE])
        assert len(rows) == 1 and rows[0][1]["name"] == "Lab GPU 9000"

    def test_too_many_rows(self):
        with pytest.raises(ValueError, match="at most 199 rows"):
            workbook_with_prices([USER_ROW] * 200)


class TestPut:
    def test_text_that_looks_like_a_formula_stays_text(self, tmp_path):
        workbook = workbook_with_prices([USER_ROW])
        book = reload(workbook, tmp_path / "text.xlsx")
        cell = book[PRICE_SHEET_TITLE].cell(row=PRICE_FIRST_ROW, column=len(PRICE_COLUMNS) - 1)
        assert cell.value == USER_ROW["price_source"] and cell.data_type == "s"

    @pytest.mark.parametrize("value", [None, "", math.nan])
    def test_nothing_leaves_the_cell_empty(self, value):
        cell = openpyxl.Workbook().active["A1"]
        cell.value = 5
        assert put(cell, value).value is None

    def test_numbers_stay_numbers(self):
        cell = put(openpyxl.Workbook().active["A1"], 2.5)
        assert cell.value == 2.5 and cell.data_type == "n"


class TestLookupHelpers:
    def test_lookup_formula(self):
        assert lookup("mem_bw_tbs", "$B$1") == "INDEX(hw_mem_bw_tbs,MATCH($B$1,hw_names,0))"

    def test_dropdown_lists_the_names(self):
        workbook = workbook_with_prices()
        validation = accelerator_dropdown(workbook["Uses"], "B1", "B2")
        # OOXML list formulas carry no leading '=' (as the fit drop-down's "fit_names")
        assert validation.type == "list" and validation.formula1 == "hw_names"
        assert "B2" in validation.sqref and validation.showErrorMessage

    def test_price_table_matches_names_like_match_does(self):
        rows = [dict(USER_ROW), dict(USER_ROW, usd_per_hour=9.0), {"name": None}, {"name": "  "}]
        table = price_table(rows)
        assert list(table) == ["lab gpu 9000"] and table["lab gpu 9000"]["usd_per_hour"] == 0.77

    def test_write_rows_returns_the_next_row(self):
        sheet = openpyxl.Workbook().active
        assert write_rows(sheet, [USER_ROW, USER_ROW], first_row=10) == 12
        assert sheet["A11"].value == "Lab GPU 9000"


class TestInLibreOffice:
    def test_lookups_and_dropdown_values_recalculate(self, tmp_path):
        if recalc.soffice_path() is None:
            pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
        workbook = workbook_with_prices()
        sheet = workbook[PRICE_SHEET_TITLE]
        write_rows(sheet, [USER_ROW], first_row=PRICE_FIRST_ROW + len(gpu_names()))
        uses = workbook["Uses"]
        style.register_styles(workbook)
        names = ["h100 sxm5", "Lab GPU 9000", "TPU v6e"]
        for row, name in enumerate(names, start=1):
            uses.cell(row=row, column=1, value=name)
            for column, key in enumerate(("usd_per_hour", "mem_bw_tbs", "peak_tflops_bf16", "tdp_w"), start=2):
                uses.cell(row=row, column=column, value="=" + lookup(key, f"A{row}"))
        accelerator_dropdown(uses, "A1", "A2", "A3")
        workbook.save(tmp_path / "lookups.xlsx")
        (done,) = recalc.recalculate([tmp_path / "lookups.xlsx"], tmp_path / "out")
        assert recalc.error_cells(done) == []
        values = openpyxl.load_workbook(done, data_only=True)["Uses"]
        h100, v6e = gpu("H100 SXM5"), gpu("TPU v6e")
        assert [c.value for c in values[1]][1:4] == [h100.usd_per_hour, h100.mem_bw_tbs, h100.peak_tflops_bf16]
        assert [c.value for c in values[2]][1:5] == [0.77, 3.21, 1234.5, 0]  # an empty cell looks up as 0
        # LibreOffice reads the drop-down's list formula as the defined name and writes it back the same way
        saved = openpyxl.load_workbook(done)["Uses"].data_validations.dataValidation
        assert [(dv.type, dv.formula1, str(dv.sqref)) for dv in saved] == [("list", "hw_names", "A1:A3")]
        assert values["B3"].value == v6e.usd_per_hour
