"""The cost band of deployment_cost_model.xlsx (Cost band and Band by month sheets): every figure recalculated in
LibreOffice and Gnumeric against the Python twin (xlcalc.core.economics.monthly_cost with scaled inputs), collapsed
ranges, wrong orders, missing prices, and the layout."""

import shutil

import numpy as np
import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from xlcalc.workbooks import recalc
from xlcalc.errors import InvalidInputError
from xlcalc.workbooks.templates import checks, layout, price_sheet
from xlcalc.workbooks.templates import deployment_cost_model as dcm
from xlcalc.workbooks.templates.deployment_cost_model import band, band_spec
from xlcalc.workbooks.check import agrees, read_price_rows
from xlcalc.workbooks.files import named_cells

from test_deployment_cost_model import SCENARIOS, write_scenario
from workbook_views import chart_feed_labels_missing, errors_outside_chart_feeds

FACTORS = band_spec.input_names()
COLLAPSED = {name: 1 for name in FACTORS[:4]} | {name: None for name in FACTORS[4:]}  # typed 1s and empty cells
WRONG_ORDER = "Traffic: requests per month: low must be empty (the base) or a factor greater than 0 and at most 1 " \
              "(low <= base <= high)"
CAP = "Serving efficiency: MFUs and bandwidth efficiency: high times each candidate's MFUs and bandwidth " \
      "efficiency must stay at most 100%"

BAND_SCENARIOS = {
    "defaults": ({}, []),
    "collapsed": (COLLAPSED, []),
    "wide_and_lopsided": ({"in_band_traffic_low": 0.1, "in_band_traffic_high": 10, "in_band_price_low": 1,
                           "in_band_price_high": 3.5, "in_band_efficiency_low": 0.25, "in_band_efficiency_high": None,
                           "in_monthly_growth": -0.05}, []),
    # the price and traffic factors move the band; efficiencies near 1 with a high factor that keeps them at 100%
    "efficiency_at_the_cap": ({"in_c1_bw_eff": 0.8, "in_c2_mfu_decode": 0.8, "in_band_efficiency_high": 1.25}, []),
    "wrong_order": ({"in_band_traffic_low": 1.5}, []),
    "high_below_base": ({"in_band_price_high": 0.9}, []),
    "over_the_cap": ({"in_c3_bw_eff": 0.9}, []),
    "text_factor": ({"in_band_efficiency_low": "low"}, []),
    "unpriced_candidate_3": SCENARIOS["unpriced_candidate_3"],
    "unusable_model_input": ({"in_c2_batch": None}, []),
    "random_0": SCENARIOS["random_0"],
    "random_1": SCENARIOS["random_1"],
    "zero_requests": SCENARIOS["zero_requests"],
}
BAND_PROBLEMS = {"wrong_order": WRONG_ORDER,
                 "high_below_base": "Serving price: $ per GPU-hour: high must be empty (the base) or a factor of 1 or "
                                    "more (low <= base <= high)",
                 "over_the_cap": CAP,
                 "text_factor": "Serving efficiency: MFUs and bandwidth efficiency: low must be empty (the base) or a "
                                "factor greater than 0 and at most 1 (low <= base <= high)"}
NUMBERED = [name for name in BAND_SCENARIOS if name not in BAND_PROBLEMS and name != "unusable_model_input"]


def month_values(book, k, series, case) -> list:
    """The 24 values of a Band by month column (by its defined name)."""
    (sheet, ref), = book.defined_names[band_spec.month_name(k, series, case)].destinations
    return [row[0].value for row in book[sheet][ref.replace("$", "")]]


def band_mismatches(path, rel=1e-9) -> list:
    """(candidate, series, case, month, sheet, Python) wherever a Band by month figure disagrees with the twin."""
    book = openpyxl.load_workbook(path, data_only=True)
    inputs = {k: v for k, v in recalc.read_names(path, ("in_",)).items()}
    expected = dcm.expected_band(inputs, prices=read_price_rows(book))
    assert set(expected) == {(k, s, c) for k in dcm.CANDIDATES for s, *_ in band_spec.SERIES for c in band_spec.CASES}
    wrong = []
    for (k, series, case), values in expected.items():
        for month, (got, want) in enumerate(zip(month_values(book, k, series, case), values), start=1):
            if not agrees(got, want, rel):
                wrong.append((k, series, case, month, got, want))
    return wrong


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Every band scenario written and recalculated in one LibreOffice run: {name: path}."""
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
    folder = tmp_path_factory.mktemp("band")
    paths = [write_scenario(folder, name, inputs, rows) for name, (inputs, rows) in BAND_SCENARIOS.items()]
    forced = dcm.build()  # a number typed over month 5 of candidate 2's low-cost $: the order check must see it
    (sheet, ref), = forced.defined_names[band_spec.month_name(2, "monthly_usd", "low")].destinations
    forced[sheet][ref.replace("$", "")][4][0].value = 1e12
    paths.append(write_scenario(folder, "forced_disorder", {}, [], workbook=forced))
    return dict(zip([*BAND_SCENARIOS, "forced_disorder"], recalc.recalculate(paths, folder / "recalculated")))


@pytest.fixture(scope="module")
def gnumeric(tmp_path_factory):
    """Some band scenarios recalculated by Gnumeric (ssconvert --recalc): {name: path}."""
    if shutil.which("ssconvert") is None:
        pytest.skip("Gnumeric (ssconvert) is not installed")
    folder = tmp_path_factory.mktemp("band_gnumeric")
    chosen = ("defaults", "collapsed", "wide_and_lopsided", "wrong_order", "unpriced_candidate_3", "random_0")
    paths = [write_scenario(folder, name, *BAND_SCENARIOS[name]) for name in chosen]
    return dict(zip(chosen, recalc.recalculate_gnumeric(paths, folder / "recalculated")))


@pytest.fixture(scope="module")
def template():
    return dcm.build()


class TestBandRecalculated:
    @pytest.mark.parametrize("name", NUMBERED)
    def test_every_band_figure_matches_the_twin(self, recalculated, name):
        assert band_mismatches(recalculated[name]) == []

    @pytest.mark.parametrize("name", list(BAND_SCENARIOS))
    def test_every_out_cell_matches_the_twin_and_no_error_cells(self, recalculated, name):
        path = recalculated[name]
        values = recalc.read_names(path)
        inputs = {k: v for k, v in values.items() if k.startswith("in_")}
        assert errors_outside_chart_feeds(path) == []
        if name == "unusable_model_input":
            assert {values[k] for k in band_spec.output_names()} == {dcm.NOT_AVAILABLE}
            with pytest.raises(InvalidInputError):
                dcm.expected_outputs(inputs)
            return
        expected = dcm.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(path, data_only=True)))
        assert {k: (values.get(k), v) for k, v in expected.items() if not agrees(values.get(k), v, 1e-9)} == {}

    @pytest.mark.parametrize("name", ["defaults", "wide_and_lopsided", "random_0", "random_1"])
    def test_low_base_high_in_order_every_month(self, recalculated, name):
        book = openpyxl.load_workbook(recalculated[name], data_only=True)
        for k in dcm.CANDIDATES:
            for series, *_ in band_spec.SERIES:
                low, base, high = (month_values(book, k, series, case) for case in band_spec.CASES)
                if dcm.NOT_AVAILABLE in base:
                    continue
                assert all(a <= b <= c for a, b, c in zip(low, base, high)), (k, series)
                if series == "cumulative_usd" and name != "random_1":
                    assert low[-1] < base[-1] < high[-1], k

    def test_the_order_check_row_sees_a_month_out_of_order(self, recalculated):
        for name in ("defaults", "collapsed", "wide_and_lopsided", "unpriced_candidate_3", "random_1"):
            values = recalc.read_names(recalculated[name], ("calc_c",))
            assert [values[band_spec.order_name(k)] for k in dcm.CANDIDATES] == [dcm.OK] * 3, name
        values = recalc.read_names(recalculated["forced_disorder"], ("calc_c",))
        assert [values[band_spec.order_name(k)] for k in dcm.CANDIDATES] == [dcm.OK, band_spec.OUT_OF_ORDER, dcm.OK]

    def test_the_base_is_the_projection(self, recalculated):
        book = openpyxl.load_workbook(recalculated["defaults"], data_only=True)
        projection = book[dcm.PROJECTION_SHEET]
        rows = range(dcm.PROJECTION_FIRST_ROW, dcm.PROJECTION_LAST_ROW + 1)
        for k in dcm.CANDIDATES:
            for series, *_ in band_spec.SERIES:
                shown = [projection[f"{dcm.PROJECTION_COLUMNS[(series, k)]}{r}"].value for r in rows]
                assert month_values(book, k, series, "base") == shown, (k, series)
        values = recalc.read_names(recalculated["defaults"])
        for k in dcm.CANDIDATES:
            assert values[f"out_c{k}_band_total_usd_base"] == values[f"out_c{k}_total_usd"]
            assert values[f"out_c{k}_band_monthly_usd_base"] == values[f"out_c{k}_monthly_usd"]

    def test_a_collapsed_range_gives_exactly_the_base(self, recalculated):
        book = openpyxl.load_workbook(recalculated["collapsed"], data_only=True)
        for k in dcm.CANDIDATES:
            for series, *_ in band_spec.SERIES:
                low, base, high = (month_values(book, k, series, case) for case in band_spec.CASES)
                assert low == base == high and all(isinstance(v, float | int) for v in base), (k, series)
        values = recalc.read_names(recalculated["collapsed"])
        assert values["in_band_efficiency_high"] is None  # an empty factor stays empty: 1, the base
        for name in band_spec.output_names():
            assert values[name] == values[name.replace("_low", "_base").replace("_high", "_base")], name

    @pytest.mark.parametrize("name", list(BAND_PROBLEMS))
    def test_an_unusable_factor_is_named_and_only_the_band_shows_n_a(self, recalculated, name):
        path = recalculated[name]
        values = recalc.read_names(path, ("in_", "out_", band_spec.BAND_CHECK, dcm.STATUS))
        assert values[band_spec.BAND_CHECK] == BAND_PROBLEMS[name] == band_spec.band_problem(values)
        assert values[dcm.STATUS] == dcm.OK  # the Model sheet's inputs are fine: its results stand
        assert isinstance(values["out_c1_total_usd"], float)
        assert {values[k] for k in band_spec.output_names()} == {dcm.NOT_AVAILABLE}
        book = openpyxl.load_workbook(path, data_only=True)
        assert {v for k in dcm.CANDIDATES for v in month_values(book, k, "cumulative_usd", "high")} == \
            {dcm.NOT_AVAILABLE}
        (sheet, ref), = book.defined_names[f"{layout.CHART_PREFIX}band_c1"].destinations
        assert {cell.value for row in book[sheet][ref.replace("$", "")] for cell in row} == {"#N/A"}  # no $0 line

    def test_a_missing_price_is_a_gap_never_zero(self, recalculated):
        book = openpyxl.load_workbook(recalculated["unpriced_candidate_3"], data_only=True)
        for case in band_spec.CASES:
            assert all(g > 0 for g in month_values(book, 3, "gpus", case))  # capacity needs no price
            assert set(month_values(book, 3, "monthly_usd", case)) == {dcm.NOT_AVAILABLE}
        (sheet, ref), = book.defined_names[f"{layout.CHART_PREFIX}band_c3"].destinations
        assert {cell.value for row in book[sheet][ref.replace("$", "")] for cell in row} == {"#N/A"}
        (sheet, ref), = book.defined_names[f"{layout.CHART_PREFIX}band_c1"].destinations
        assert all(cell.value > 0 for row in book[sheet][ref.replace("$", "")] for cell in row)

    def test_factors_move_the_band_as_the_corners_say(self, recalculated):
        base = recalc.read_names(recalculated["defaults"])
        wide = recalc.read_names(recalculated["wide_and_lopsided"], ("calc_", "out_"))
        # traffic x10 at price x3.5 and efficiency x0.25 (decode and prefill 4x slower): month 1 on whole GPUs
        assert wide["calc_band_traffic_high"] == 10 and wide["calc_band_efficiency_high"] == 0.25
        assert wide["calc_band_efficiency_low"] == 1  # an empty high factor is the base
        assert wide["calc_c1_band_usd_per_hour_high"] == pytest.approx(3.5 * wide["calc_c1_band_usd_per_hour_base"])
        slow, usual = wide["calc_c1_band_tokens_per_sec_high"], wide["calc_c1_band_tokens_per_sec_base"]
        assert slow == pytest.approx(0.25 * usual)
        assert wide["out_c1_band_monthly_usd_base"] == base["out_c1_monthly_usd"]

    @pytest.mark.parametrize("name", ["defaults", "collapsed", "wide_and_lopsided", "unpriced_candidate_3",
                                      "random_0"])
    def test_gnumeric_agrees(self, gnumeric, name):
        assert band_mismatches(gnumeric[name]) == []
        values = recalc.read_names(gnumeric[name])
        expected = dcm.expected_outputs({k: v for k, v in values.items() if k.startswith("in_")},
                                        prices=read_price_rows(openpyxl.load_workbook(gnumeric[name], data_only=True)))
        assert {k for k in band_spec.output_names() if not agrees(values.get(k), expected[k], 1e-9)} == set()

    def test_gnumeric_names_the_wrong_order(self, gnumeric):
        values = recalc.read_names(gnumeric["wrong_order"], ("out_", band_spec.BAND_CHECK))
        assert values[band_spec.BAND_CHECK] == WRONG_ORDER
        assert {values[k] for k in band_spec.output_names()} == {dcm.NOT_AVAILABLE}


class TestBandTwin:
    def test_collapsed_is_exactly_the_point_answer(self):
        out, band_months = dcm.expected_outputs(COLLAPSED), dcm.expected_band(COLLAPSED)
        point = dcm.expected_outputs({})
        for k in dcm.CANDIDATES:
            for case in band_spec.CASES:
                assert out[f"out_c{k}_band_total_usd_{case}"] == point[f"out_c{k}_total_usd"]
                assert out[f"out_c{k}_band_gpus_month24_{case}"] == point[f"out_c{k}_gpus_month24"]
            for series, *_ in band_spec.SERIES:
                assert band_months[(k, series, "low")] == band_months[(k, series, "base")] == \
                    band_months[(k, series, "high")]

    def test_corners_are_monthly_cost_with_scaled_inputs(self):
        """The high case of candidate 2 is xlcalc.core.economics.monthly_cost with x2 traffic, x1.25 price, x0.8
        efficiencies (the defaults), computed here from the catalog directly."""
        from xlcalc.core import economics, serving
        from xlcalc.data.hardware import gpu

        h100, d = gpu("H100 SXM5"), dcm.default_inputs()
        params, bpp, batch, kv, context = 30e9, 1.0, 64, 245760, 1250
        replica = serving.gpus_to_fit(params, h100.memory_gb, bpp, batch, context, kv)
        requests = 2.0 * d["in_requests_per_month"] * (1 + d["in_monthly_growth"]) ** np.arange(24)
        month = economics.monthly_cost(params, requests, 1000, 250, 1.25 * h100.usd_per_hour, h100.peak_tflops_fp8,
                                       h100.mem_bw_tbs, bpp, batch, 0.5 * 0.8, 0.5 * 0.8, 0.8 * 0.8, 2.0, 0.7,
                                       replica, kv, context)
        band_months = dcm.expected_band({})
        assert band_months[(2, "monthly_usd", "high")] == pytest.approx(list(month.usd), rel=1e-12)
        assert band_months[(2, "gpus", "high")] == list(month.gpus)

    @pytest.mark.parametrize("name", list(BAND_PROBLEMS))
    def test_band_problems_are_worded_as_the_sheet(self, name):
        values = dcm.default_inputs() | BAND_SCENARIOS[name][0]
        assert band_spec.band_problem(values) == BAND_PROBLEMS[name]
        out = dcm.expected_outputs(values)
        assert {out[k] for k in band_spec.output_names()} == {dcm.NOT_AVAILABLE}
        assert isinstance(out["out_c1_total_usd"], float)

    def test_factors_pick_the_corners(self):
        f = band_spec.factors(dcm.default_inputs())
        assert (f[("traffic", "low")], f[("traffic", "high")]) == (0.5, 2.0)
        assert (f[("efficiency", "low")], f[("efficiency", "high")]) == (1.2, 0.8)  # low cost: high efficiency
        assert {f[(key, "base")] for key in ("traffic", "price", "efficiency")} == {1.0}


def _inside(box, boxes) -> bool:
    return any(b[0] <= box[0] and box[2] <= b[2] and b[1] - 1 <= box[1] and box[3] <= b[3] for b in boxes)


class TestBandLayout:
    def test_factors_are_inputs_with_their_checks_rules(self, template):
        for name in FACTORS:
            (cell,) = named_cells(template, name)
            assert cell.style == "xl_input" and not cell.protection.locked, name
            assert cell.parent.title == band_spec.BAND_SHEET
        (cell,) = named_cells(template, band_spec.BAND_CHECK)
        assert cell.value == "=" + checks.status_formula(band_spec.band_checks())

    def test_outputs_are_named_styled_and_locked(self, template):
        for name in band_spec.output_names():
            (cell,) = named_cells(template, name)
            assert cell.style == "xl_output" and cell.protection.locked and cell.data_type == "f", name

    def test_charts_draw_the_band_as_three_straight_series(self, template):
        sheet = template[band_spec.MONTH_SHEET]
        feeds = [range_boundaries(ref.replace("$", "")) for k in dcm.CANDIDATES
                 for _, ref in template.defined_names[f"{layout.CHART_PREFIX}band_c{k}"].destinations]
        assert len(sheet._charts) == 2 * len(dcm.CANDIDATES)
        for chart in sheet._charts:
            assert chart.tagname == "scatterChart" and len(chart.series) == 3
            assert all(series.smooth is False for series in chart.series)
            for series in chart.series:  # each series reads a labelled chart-feed column
                where, ref = series.yVal.numRef.f.split("!")
                assert where.strip("'") == band_spec.MONTH_SHEET
                assert _inside(range_boundaries(ref.replace("$", "")), feeds), ref

    def test_chart_feeds_say_what_n_a_means(self, tmp_path, template):
        template.save(tmp_path / "band.xlsx")
        assert chart_feed_labels_missing(tmp_path / "band.xlsx") == []

    def test_each_candidate_prints_on_its_own_page(self, template):
        sheet = template[band_spec.MONTH_SHEET]
        assert [b.id for b in sheet.row_breaks.brk] == [band.header_row(k) - 2 for k in dcm.CANDIDATES[1:]]
        assert template[band_spec.BAND_SHEET].page_setup.fitToHeight == 1

    def test_price_sheet_rows_are_untouched(self, template):
        assert [r["name"] for r in read_price_rows(template)] == [r["name"] for r in price_sheet.catalog_rows()]
