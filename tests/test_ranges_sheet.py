"""The lifetime sizing workbook's Ranges sheet, recalculated in LibreOffice and Gnumeric: its tornado is Python's."""

import openpyxl
import pytest

from xlcalc import cost_optimal, cost_sensitivity
from xlcalc.core import laws
from xlcalc.workbooks import recalc
from xlcalc.core.laws import Fit
from xlcalc.core.lifetime import COST_ARGUMENTS
from xlcalc.workbooks.templates import lifetime_sizing
from xlcalc.workbooks.templates.lifetime_sizing.ranges import ROWS, SWUNG, TORNADO, high_name, low_name
from workbook_views import errors_outside_chart_feeds

HARDWARE = ("train_usd_per_hour", "train_peak_tflops", "infer_usd_per_hour", "infer_peak_tflops")
LABELS = {key: label for key, label, *_ in SWUNG}
#: Changed inputs that reorder the tornado: wide serving-price and decode-MFU swings, a narrow token swing.
CHANGED = {high_name("infer_usd_per_hour"): 3.0, low_name("mfu_decode"): 0.2, low_name("input_tokens"): 0.95,
           high_name("input_tokens"): 1.05, high_name("train_peak_tflops"): 3.0}


def _ref(book, name):
    return book.defined_names[name].attr_text.split("!")[1].replace("$", "")


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranges")
    paths = []
    for case, changes in (("default", {}), ("changed", CHANGED)):
        book = lifetime_sizing.build()
        for name, value in changes.items():
            book["Ranges"][_ref(book, name)] = value
        paths.append(folder / f"{case}.xlsx")
        book.save(paths[-1])
    return paths


@pytest.fixture(scope="module", params=["libreoffice", "gnumeric"])
def recalculated(request, templates, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "libreoffice":
        if recalc.soffice_path() is None:
            pytest.skip("LibreOffice is not installed")
        return dict(zip(("default", "changed"), recalc.recalculate(templates, out)))
    if recalc.ssconvert_path() is None:
        pytest.skip("Gnumeric is not installed")
    return dict(zip(("default", "changed"), recalc.recalculate_gnumeric(templates, out)))


def _column(book, name):
    sheet_name, ref = book.defined_names[name].attr_text.split("!")
    cells = book[sheet_name.strip("'")][ref.replace("$", "")]
    return [cells.value] if not isinstance(cells, tuple) else [row[0].value for row in cells]


def _cell(book, name):
    return _column(book, name)[0]


def _base(book) -> dict:
    """The base scenario of the sheet as xlcalc.cost_optimal's arguments, read from the recalculated values."""
    requests = _cell(book, "in_requests")
    return dict(loss=_cell(book, "in_loss"), input_tokens=requests * _cell(book, "in_input_tokens"),
                output_tokens=requests * _cell(book, "in_output_tokens"),
                **{k: _cell(book, f"use_{k}") for k in HARDWARE},
                **{k: _cell(book, f"in_{k}") for k in ("mfu_train", "mfu_prefill", "mfu_decode")})


def _python(book):
    """xlcalc.cost_sensitivity of the sheet's base, fit and swings (the factors read back from the sheet)."""
    fit = Fit(*(_cell(book, f"fit_{k}") for k in ("E", "A", "B", "alpha", "beta")))
    base = _base(book)
    ranges = {}
    for key, *_ in SWUNG:
        low, high = _cell(book, low_name(key)), _cell(book, high_name(key))
        if key == "loss":
            ranges[key] = (fit.E + low * (base[key] - fit.E), fit.E + high * (base[key] - fit.E))
        else:
            ranges[key] = (low * base[key], high * base[key])
    return cost_sensitivity(**base, fit=fit, ranges=ranges)


class TestRangesSheet:
    def test_sheet_swings_every_input_python_swings(self):
        assert [key for key, *_ in SWUNG] == list(COST_ARGUMENTS)

    @pytest.mark.parametrize("case", ["default", "changed"])
    def test_sorted_tornado_equals_python_sensitivity(self, recalculated, case):
        book = openpyxl.load_workbook(recalculated[case], data_only=True)
        table = _python(book)
        sheet = {key: _column(book, f"rng_tornado_{key}") for key in TORNADO}
        assert len(sheet["input"]) == len(table.rows) == len(COST_ARGUMENTS)
        swings = [row.usd_swing for row in table.rows]
        assert sheet["swing"] == pytest.approx(swings, rel=1e-9)
        assert sheet["swing"] == sorted(sheet["swing"], reverse=True)
        for place, row in enumerate(table.rows):
            # a swing equal to the next one within 1e-9 may sit on either side of it: the same table
            tied = any(abs(swings[place] - swings[other]) <= 1e-9 * swings[place]
                       for other in (place - 1, place + 1) if 0 <= other < len(swings))
            if not tied:
                assert sheet["input"][place] == LABELS[row.name], (case, place)
            at = sheet["input"].index(LABELS[row.name])
            assert (sheet["low"][at], sheet["high"][at]) == pytest.approx((row.low, row.high), rel=1e-12)
            for key in ("params", "usd", "saving"):
                values = (sheet[f"{key}_low"][at], sheet[f"{key}_high"][at])
                assert values == pytest.approx(getattr(row, key), rel=1e-9, abs=1e-12), (case, row.name, key)

    def test_changed_inputs_change_the_order(self, recalculated):
        orders = {case: _column(openpyxl.load_workbook(path, data_only=True), "rng_tornado_input")
                  for case, path in recalculated.items()}
        assert orders["default"] != orders["changed"]
        assert sorted(orders["default"]) == sorted(orders["changed"]) == sorted(LABELS.values())

    def test_scenarios_equal_python_point_answers(self, recalculated):
        book = openpyxl.load_workbook(recalculated["default"], data_only=True)
        table = {row.name: row for row in _python(book).rows}
        params, usd, saving = (_column(book, f"rng_{k}") for k in ("params", "usd", "saving"))
        assert len(params) == ROWS
        python = _python(book).base
        assert params[0] == pytest.approx(python["params"], rel=1e-9)
        assert usd[0] == pytest.approx(python["usd"], rel=1e-9)
        for j, (key, *_) in enumerate(SWUNG):
            row = table[key]
            for end, at in ((0, 1 + 2 * j), (1, 2 + 2 * j)):
                assert params[at] == pytest.approx(row.params[end], rel=1e-9), (key, end)
                assert usd[at] == pytest.approx(row.usd[end], rel=1e-9), (key, end)
                assert saving[at] == pytest.approx(row.saving[end], rel=1e-9, abs=1e-12), (key, end)

    def test_chart_feed_is_the_sorted_change_from_base(self, recalculated):
        book = openpyxl.load_workbook(recalculated["changed"], data_only=True)
        table = _python(book)
        sheet_name, ref = book.defined_names["chart_ranges_tornado"].attr_text.split("!")
        rows = [[c.value for c in row] for row in book[sheet_name.strip("'")][ref.replace("$", "")]]
        by_label = {LABELS[row.name]: row for row in table.rows}
        assert [values[0] for values in rows] == _column(book, "rng_tornado_input")
        for values in rows:
            row = by_label[values[0]]
            assert values[1:3] == pytest.approx([u - table.base["usd"] for u in row.usd], rel=1e-9, abs=1e-3)
            assert values[3:5] == pytest.approx([p - table.base["params"] for p in row.params], rel=1e-9, abs=1e-3)

    def test_which_fit_equals_python_per_fit(self, recalculated):
        book = openpyxl.load_workbook(recalculated["default"], data_only=True)
        base = _base(book)
        params, usd = _column(book, "rng_fit_params"), _column(book, "rng_fit_usd")
        assert len(params) == len(laws.FITS)
        for i, name in enumerate(laws.FITS):
            opt = cost_optimal(**base, fit=name)
            assert params[i] == pytest.approx(opt.params, rel=1e-9), name
            assert usd[i] == pytest.approx(opt.usd, rel=1e-9), name

    @pytest.mark.parametrize("case", ["default", "changed"])
    def test_check_is_ok_and_no_error_cells(self, recalculated, case):
        book = openpyxl.load_workbook(recalculated[case], data_only=True)
        assert _cell(book, "ranges_ok") == "OK"
        assert [e for e in errors_outside_chart_feeds(recalculated[case]) if "Ranges" in str(e)] == []


def test_a_bad_factor_is_named_and_shows_n_a(tmp_path):
    if recalc.soffice_path() is None:
        pytest.skip("LibreOffice is not installed")
    book = lifetime_sizing.build()
    book["Ranges"][_ref(book, low_name("mfu_decode"))] = 1.5
    book.save(tmp_path / "bad.xlsx")
    (path,) = recalc.recalculate([tmp_path / "bad.xlsx"], tmp_path / "out")
    values = openpyxl.load_workbook(path, data_only=True)
    assert _cell(values, "ranges_ok").startswith("Give each swing")
    assert set(_column(values, "rng_usd")) == {"n/a"}
    assert set(_column(values, "rng_tornado_swing")) == {"n/a"}
    assert errors_outside_chart_feeds(path) == []
