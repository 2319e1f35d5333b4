"""The lifetime sizing workbook's Ranges sheet, recalculated in LibreOffice and Gnumeric: its tornado is Python's."""

import openpyxl
import pytest

from xlcalc import cost_optimal, cost_sensitivity, laws, recalc
from xlcalc.laws import Fit
from xlcalc.templates import lifetime_sizing
from xlcalc.templates.lifetime_sizing.ranges import ROWS, SWUNG, high_name, low_name
from workbook_views import errors_outside_chart_feeds

HARDWARE = ("train_usd_per_hour", "train_peak_tflops", "infer_usd_per_hour", "infer_peak_tflops")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("ranges") / "lifetime_sizing.xlsx"
    book = lifetime_sizing.build()
    sheet = book["Ranges"]
    sheet[book.defined_names[high_name("infer_usd_per_hour")].attr_text.split("!")[1].replace("$", "")] = 2.0
    book.save(path)
    return path


@pytest.fixture(scope="module", params=["libreoffice", "gnumeric"])
def recalculated(request, template, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "libreoffice":
        if recalc.soffice_path() is None:
            pytest.skip("LibreOffice is not installed")
        (path,) = recalc.recalculate([template], out)
    else:
        if recalc.ssconvert_path() is None:
            pytest.skip("Gnumeric is not installed")
        (path,) = recalc.recalculate_gnumeric([template], out)
    return path


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


class TestRangesSheet:
    def test_tornado_equals_python_sensitivity(self, recalculated):
        book = openpyxl.load_workbook(recalculated, data_only=True)
        fit = Fit(*(_cell(book, f"fit_{k}") for k in ("E", "A", "B", "alpha", "beta")))
        base = _base(book)
        ranges = {}
        for key, *_ in SWUNG:
            low, high = _cell(book, low_name(key)), _cell(book, high_name(key))
            if key == "loss":
                ranges[key] = (fit.E + low * (base[key] - fit.E), fit.E + high * (base[key] - fit.E))
            else:
                ranges[key] = (low * base[key], high * base[key])
        table = {row.name: row for row in cost_sensitivity(**base, fit=fit, ranges=ranges).rows}
        params, usd, saving = (_column(book, f"rng_{k}") for k in ("params", "usd", "saving"))
        assert len(params) == ROWS
        python = cost_sensitivity(**base, fit=fit, ranges=ranges).base
        assert params[0] == pytest.approx(python["params"], rel=1e-9)
        assert usd[0] == pytest.approx(python["usd"], rel=1e-9)
        for j, (key, *_) in enumerate(SWUNG):
            row = table[key]
            for end, at in ((0, 1 + 2 * j), (1, 2 + 2 * j)):
                assert params[at] == pytest.approx(row.params[end], rel=1e-9), (key, end)
                assert usd[at] == pytest.approx(row.usd[end], rel=1e-9), (key, end)
                assert saving[at] == pytest.approx(row.saving[end], rel=1e-9, abs=1e-12), (key, end)

    def test_which_fit_equals_python_per_fit(self, recalculated):
        book = openpyxl.load_workbook(recalculated, data_only=True)
        base = _base(book)
        params, usd = _column(book, "rng_fit_params"), _column(book, "rng_fit_usd")
        assert len(params) == len(laws.FITS)
        for i, name in enumerate(laws.FITS):
            opt = cost_optimal(**base, fit=name)
            assert params[i] == pytest.approx(opt.params, rel=1e-9), name
            assert usd[i] == pytest.approx(opt.usd, rel=1e-9), name

    def test_check_is_ok_and_no_error_cells(self, recalculated):
        book = openpyxl.load_workbook(recalculated, data_only=True)
        assert _cell(book, "ranges_ok") == "OK"
        assert [e for e in errors_outside_chart_feeds(recalculated) if "Ranges" in str(e)] == []


def test_a_bad_factor_is_named_and_shows_n_a(tmp_path):
    if recalc.soffice_path() is None:
        pytest.skip("LibreOffice is not installed")
    book = lifetime_sizing.build()
    ref = book.defined_names[low_name("mfu_decode")].attr_text.split("!")[1].replace("$", "")
    book["Ranges"][ref] = 1.5
    book.save(tmp_path / "bad.xlsx")
    (path,) = recalc.recalculate([tmp_path / "bad.xlsx"], tmp_path / "out")
    values = openpyxl.load_workbook(path, data_only=True)
    assert _cell(values, "ranges_ok").startswith("Give each swing")
    assert set(_column(values, "rng_usd")) == {"n/a"}
