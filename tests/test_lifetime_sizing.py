"""The lifetime sizing workbook, recalculated in LibreOffice and compared with xlcalc's Python solver."""

import math
import re

import numpy as np
import openpyxl
import pytest

from xlcalc.core import laws, lifetime
from xlcalc.workbooks import recalc
from xlcalc.errors import InvalidInputError, WorkbookError
from xlcalc.data.hardware import gpu
from xlcalc.workbooks.templates import lifetime_sizing as ls
from xlcalc.workbooks.templates import checks, layout, price_sheet
from xlcalc.workbooks.check import read_price_rows

from reference import TABLE_1, TABLE_2
from workbook_views import chart_feed_labels_missing, errors_outside_chart_feeds
from rule_probes import PROBES, cell_validations, disagreements, expected_validations, probed, sheet_verdicts

REL = 1e-9

REQUIRED_NAMES = (
    "in_loss", "in_requests", "in_input_tokens", "in_output_tokens", "in_hardware_source", "in_train_usd_per_hour", "in_train_peak_tflops",
    "in_infer_usd_per_hour", "in_infer_peak_tflops", "in_mfu_train", "in_mfu_prefill", "in_mfu_decode",
    "out_chinchilla_params", "out_chinchilla_tokens", "out_compute_opt_params", "out_compute_opt_tokens",
    "out_compute_opt_flops", "out_cost_opt_params", "out_cost_opt_tokens", "out_cost_opt_usd", "out_chinchilla_usd",
)

EPOCH = laws.FITS["epoch2024"]

#: Input changes per scenario (applied to the template's defaults).
SCENARIOS = {
    "default": {},
    "paper": {"in_hardware_source": ls.PAPER_SOURCE},
    "override_typed": {"in_train_usd_per_hour": 1.25, "in_train_hardware": "H100 SXM5"},
    "paper_override": {"in_hardware_source": ls.PAPER_SOURCE, "in_infer_peak_tflops": 500.0},
    "unpriced_training": {"in_train_hardware": "TPU v5p"},
    "unlisted_price_cleared": {"in_infer_hardware": "GB200 (per GPU)"},
    "loss_near_E": {"in_loss": laws.FITS["chinchilla"].E + 1e-6},
    "loss_high": {"in_loss": 3.5, "in_chinchilla_size_params": 1e6},
    "tiny_demand": {"in_requests": 1.0, "in_input_tokens": 1.0, "in_output_tokens": 1.0, "in_budget_flops": 1e18},
    "no_demand": {"in_requests": 0.0},
    "huge_demand": {"in_requests": 1e15, "in_input_tokens": 1000.0, "in_output_tokens": 1000.0,
                    "in_budget_flops": 1e26, "in_requests_per_month": 1e12},
    "custom_fit": {"in_fit": "custom", "in_custom_E": 1.8, "in_custom_A": 500.0, "in_custom_B": 1500.0,
                   "in_custom_alpha": 0.3, "in_custom_beta": 0.35, "in_loss": 2.1, "in_breakeven_fraction": 0.3},
    "epoch_fit_h100": {"in_fit": "epoch2024", "in_loss": EPOCH.E + 0.4, "in_train_hardware": "H100 SXM5",
                       "in_train_usd_per_hour": 2.69, "in_train_peak_tflops": 989.5, "in_infer_hardware": "L4",
                       "in_infer_usd_per_hour": 0.8, "in_infer_peak_tflops": 242.5, "in_mfu_train": 0.4,
                       "in_mfu_prefill": 0.6, "in_mfu_decode": 0.05, "in_input_tokens": 1000.0,
                       "in_output_tokens": 250.0, "in_budget_flops": 3e23, "in_breakeven_fraction": 0.8},
    "muennighoff_fit": {"in_fit": "muennighoff2023", "in_loss": 2.3, "in_requests": 3e9, "in_budget_flops": 1e21},
    "breakeven_unusable": {"in_breakeven_fraction": 0.05},
    # hardware picked from the price sheet: empty overrides use the chosen accelerators' rows
    "price_sheet_h100": {**dict.fromkeys(ls.HARDWARE_OVERRIDES), "in_train_hardware": "H100 SXM5",
                         "in_infer_hardware": "L4"},
    "price_sheet_b200": {**dict.fromkeys(ls.HARDWARE_OVERRIDES), "in_train_hardware": "B200 (HGX)",
                         "in_infer_hardware": "L4"},
    "no_requests_per_month": {"in_requests_per_month": 0.0},
    "no_tokens_per_request": {"in_input_tokens": 0.0, "in_output_tokens": 0.0},
    "budget_too_small": {"in_budget_flops": 1.0},
}

#: Unusable inputs: the sheet names the input (Sizing!B3, as expected_outputs does) and shows n/a, no errors.
INVALID = {
    "empty_requests": ({"in_requests": None}, "Requests over the model's life must be a number of 0 or more"),
    "text_loss": ({"in_loss": "two"}, "Target loss must be a number greater than 0"),
    "zero_mfu": ({"in_mfu_decode": 0.0},
                 "MFU inference decode (output tokens) must be a fraction greater than 0 and at most 1"),
    "unknown_fit": ({"in_fit": "gpt5"}, "Fit must be a fit listed on the Fits sheet, or custom"),
    "loss_below_E": ({"in_loss": 1.5}, "Target loss must exceed the fit's E (the loss no model size reaches; see "
                     "Constants in use)"),
    "text_override": ({"in_infer_usd_per_hour": "cheap"}, "Inference $ per GPU-hour must be empty (to use the price "
                      "sheet) or a number greater than 0"),
    "empty_sweep_max": ({"in_sweep_max_tokens": None}, "Most lifetime inference tokens must be a number greater "
                        "than 0"),
    "unknown_source": ({"in_hardware_source": "cloud"}, "Hardware figures from must be price sheet or paper's Table 2"),
}

#: The block whose Check row names each invalid scenario's input (the others read OK).
INVALID_BLOCK = {"empty_requests": ls.DEMAND_BLOCK, "text_loss": ls.QUALITY_BLOCK, "zero_mfu": ls.HARDWARE_BLOCK,
                 "unknown_fit": ls.FIT_BLOCK, "loss_below_E": ls.QUALITY_BLOCK, "text_override": ls.HARDWARE_BLOCK,
                 "empty_sweep_max": ls.SWEEP_BLOCK, "unknown_source": ls.HARDWARE_BLOCK}


def set_inputs(workbook, values: dict) -> None:
    """Type values into the cells of in_ names, as a user would."""
    for name, value in values.items():
        (sheet, ref), = workbook.defined_names[name].destinations
        workbook[sheet][ref.replace("$", "")].value = value


def scenario_inputs(name: str) -> dict:
    return {**ls.DEFAULT_INPUTS, **SCENARIOS[name]}


def write_scenarios(template, folder) -> dict:
    """{scenario: path} of the template with each scenario's (and each invalid case's) inputs typed in."""
    paths = {}
    for name, changes in (SCENARIOS | {name: changes for name, (changes, _) in INVALID.items()}).items():
        workbook = openpyxl.load_workbook(template)
        set_inputs(workbook, changes)
        paths[name] = folder / f"{name}.xlsx"
        workbook.save(paths[name])
    return paths


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / ls.FILENAME
    ls.build().save(path)
    return path


@pytest.fixture(scope="module")
def recalculated(template, tmp_path_factory):
    """{scenario: recalculated workbook}, all recalculated in one LibreOffice run."""
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
    paths = write_scenarios(template, tmp_path_factory.mktemp("scenarios"))
    done = recalc.recalculate(list(paths.values()), tmp_path_factory.mktemp("recalculated"))
    return dict(zip(paths, done))


@pytest.fixture(scope="module")
def values(recalculated):
    """{scenario: openpyxl workbook of computed values}."""
    return {name: openpyxl.load_workbook(path, data_only=True) for name, path in recalculated.items()}


def named_value(workbook, name):
    (sheet, ref), = workbook.defined_names[name].destinations
    return workbook[sheet][ref.replace("$", "")].value


class TestOutputsMatchSolver:
    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_every_out_name_equals_the_python_solver(self, recalculated, scenario):
        names = recalc.read_names(recalculated[scenario])
        inputs = {k: v for k, v in names.items() if k.startswith("in_")}
        typed = scenario_inputs(scenario)
        texts = {k: v for k, v in typed.items() if not isinstance(v, (int, float))}  # text and empty cells: exact
        assert {k: inputs[k] for k in texts} == texts
        assert {k: v for k, v in inputs.items() if k not in texts} == pytest.approx(
            {k: v for k, v in typed.items() if k not in texts}, rel=1e-14)
        expected = ls.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(recalculated[scenario])))
        outputs = {k: v for k, v in names.items() if k.startswith("out_")}
        assert set(outputs) == set(expected)
        for name, value in expected.items():
            if not isinstance(value, (int, float)):  # text, and None for an empty cell: exact
                assert outputs[name] == value, name
            else:
                assert outputs[name] == pytest.approx(value, rel=REL), name

    def test_the_scenarios_reach_the_extremes(self):
        near = ls.expected_outputs(scenario_inputs("loss_near_E"))
        assert near["out_chinchilla_params"] > 1e25
        huge = ls.expected_outputs(scenario_inputs("huge_demand"))
        assert huge["out_compute_opt_tokens"] / huge["out_chinchilla_tokens"] > 100
        tiny = ls.expected_outputs(scenario_inputs("tiny_demand"))
        assert tiny["out_compute_opt_params"] == pytest.approx(tiny["out_chinchilla_params"], rel=1e-9)

    def test_the_paper_preset_reproduces_table_2(self, values):
        """'Hardware figures from' = the paper's Table 2: row 4 (30B quality, 1.754e10 requests)."""
        requests, n_chin, usd_chin, n_opt, d_opt, usd_opt, saving = TABLE_2[3]
        book = values["paper"]
        assert named_value(book, "in_requests") == requests
        assert named_value(book, "out_chinchilla_params") == pytest.approx(n_chin, rel=1e-12)
        assert named_value(book, "out_chinchilla_usd") == pytest.approx(usd_chin, rel=5e-4)
        assert named_value(book, "out_cost_opt_params") == pytest.approx(n_opt, rel=5e-4)
        assert named_value(book, "out_cost_opt_tokens") == pytest.approx(d_opt, rel=5e-4)
        assert named_value(book, "out_cost_opt_usd") == pytest.approx(usd_opt, rel=5e-4)
        assert 1 - usd_opt / usd_chin == pytest.approx(saving, rel=1e-3)

    @pytest.mark.parametrize("scenario", ["loss_near_E", "huge_demand", "tiny_demand", "custom_fit"])
    def test_newton_columns_have_converged_before_the_last_step(self, values, scenario):
        sheet = values[scenario][ls.SOLVER]
        (_, ref), = values[scenario].defined_names["compute_x"].destinations
        last_row = int(re.sub(r"\D", "", ref))
        for column in "BCDE":
            last, before = sheet[f"{column}{last_row}"].value, sheet[f"{column}{last_row - 3}"].value
            assert last == pytest.approx(before, rel=1e-14, abs=1e-13), column


class TestNoErrorCells:
    @pytest.mark.parametrize("scenario", [*SCENARIOS, *INVALID])
    def test_no_sheet_holds_an_error(self, recalculated, scenario):
        assert errors_outside_chart_feeds(recalculated[scenario]) == []

    def test_chart_feeds_are_labelled(self, template):
        """Each chart-feed block has a header row and, above it, the note saying what #N/A means there."""
        assert len([n for n in openpyxl.load_workbook(template).defined_names if n.startswith("chart_")]) == 4  # + Ranges
        assert chart_feed_labels_missing(template) == []


class TestHardwareFromThePriceSheet:
    def test_overrides_are_empty_and_the_price_sheet_drives_the_default(self, template, values):
        book = openpyxl.load_workbook(template)
        assert all(named_value(book, name) is None for name in ls.HARDWARE_OVERRIDES)
        assert named_value(values["default"], "use_train_usd_per_hour") == gpu(ls.TRAIN_HARDWARE).usd_per_hour
        assert named_value(values["default"], "override_note").startswith("Hardware: the price sheet's figures")

    def test_picking_another_accelerator_changes_the_dollar_results(self, values):
        """The trap of the review: H100 for training left every result unchanged (overrides pre-filled)."""
        default, h100 = values["default"], values["price_sheet_h100"]
        for name in ("out_cost_opt_usd", "out_chinchilla_usd", "out_cost_opt_params", "out_breakeven_requests"):
            assert named_value(h100, name) != pytest.approx(named_value(default, name), rel=1e-3), name

    def test_a_typed_override_is_named_in_the_results_header(self, values):
        book = values["override_typed"]
        price = gpu("H100 SXM5").usd_per_hour
        assert named_value(book, "use_train_usd_per_hour") == 1.25
        assert named_value(book, "override_note") == (
            f"Typed override: training $/GPU-hour typed: 1.25, not the price sheet's {price:.2f}. ")
        assert named_value(values["paper_override"], "override_note") == (
            "Typed override: inference peak TFLOP/s typed: 500.0, not the paper's 624.0. ")
        assert named_value(values["paper"], "override_note").startswith("Hardware: the paper's Table 2")

    def test_a_missing_price_is_n_a_where_a_price_is_needed_only(self, values):
        for scenario in ("unpriced_training", "unlisted_price_cleared"):
            book = values[scenario]
            assert named_value(book, ls.STATUS) == ls.OK
            assert named_value(book, "hardware_ok") == 0
            for name in ("out_cost_opt_usd", "out_chinchilla_usd", "out_cost_opt_params", "out_breakeven_months"):
                assert named_value(book, name) == ls.NOT_USABLE, (scenario, name)
            for name in ("out_chinchilla_params", "out_compute_opt_flops", "out_budget_loss", "out_breakeven_tokens"):
                assert isinstance(named_value(book, name), float), (scenario, name)
        assert named_value(values["unpriced_training"], "use_train_usd_per_hour") == ls.NOT_USABLE

    def test_a_missing_price_draws_no_zero_in_any_chart(self, recalculated):
        for scenario in ("unpriced_training", "unlisted_price_cleared"):
            book = openpyxl.load_workbook(recalculated[scenario], data_only=True)
            for sheet, ref in (("Demand sweep", "chart_sweep"), ("Break-even", "chart_breakeven_lines")):
                (_, cells), = book.defined_names[ref].destinations
                values_ = [c.value for row in book[sheet][cells.replace("$", "")] for c in row]
                assert 0 not in values_ and 0.0 not in values_, (scenario, ref)
            (_, cells), = book.defined_names["chart_sweep"].destinations
            cost_columns = [row[3:] for row in book["Demand sweep"][cells.replace("$", "")]]
            assert {c.value for row in cost_columns for c in row} == {"#N/A"}

    def test_a_price_changed_on_the_price_sheet_flows_to_every_result(self, recalculated, tmp_path):
        """Halving the A100-80GB price on the price sheet changes every $ result and no FLOP result."""
        book = openpyxl.load_workbook(recalculated["default"])
        sheet = book[price_sheet.PRICE_SHEET_TITLE]
        row = next(r for r, v in price_sheet.read_rows(sheet) if v["name"] == ls.TRAIN_HARDWARE)
        cell = sheet[f"{price_sheet.COLUMN_LETTERS['usd_per_hour']}{row}"]
        cell.value = cell.value / 2
        book.save(tmp_path / "cheaper.xlsx")
        (done,) = recalc.recalculate([tmp_path / "cheaper.xlsx"], tmp_path / "out")
        before, after = recalc.read_names(recalculated["default"]), recalc.read_names(done)
        expected = ls.expected_outputs({k: v for k, v in after.items() if k.startswith("in_")},
                                       prices=read_price_rows(openpyxl.load_workbook(done)))
        for name in expected:
            if expected[name] is None or isinstance(expected[name], str):  # words (what binds) and n/a: exactly
                assert after[name] == expected[name], name
                continue
            assert after[name] == pytest.approx(expected[name], rel=REL), name
            if name in ls.PRICED_OUTPUTS and name != "out_breakeven_months":
                assert after[name] != pytest.approx(before[name], rel=1e-6), name
        assert after["out_chinchilla_params"] == pytest.approx(before["out_chinchilla_params"], rel=1e-12)

    def test_the_accelerator_drives_the_values_used(self, values):
        for scenario, train in (("price_sheet_h100", "H100 SXM5"), ("price_sheet_b200", "B200 (HGX)")):
            book = values[scenario]
            assert named_value(book, "use_train_usd_per_hour") == gpu(train).usd_per_hour
            assert named_value(book, "use_train_peak_tflops") == gpu(train).peak_tflops_bf16
            assert named_value(book, "use_infer_peak_tflops") == gpu("L4").peak_tflops_int8  # INT8 where listed
        costs = [named_value(values[s], "out_cost_opt_usd") for s in ("default", "price_sheet_h100", "price_sheet_b200")]
        assert len(set(costs)) == 3  # picking hardware changes the result (each matches the solver above)

    def test_typed_overrides_win_over_the_price_sheet(self, values):
        book = values["override_typed"]
        assert named_value(book, "use_train_usd_per_hour") == 1.25 != gpu("H100 SXM5").usd_per_hour
        assert named_value(book, "price_train_usd_per_hour") == gpu("H100 SXM5").usd_per_hour

    def test_expected_outputs_reads_the_workbooks_price_rows(self):
        inputs = scenario_inputs("price_sheet_h100")
        rows = [dict(r, usd_per_hour=1.0) if r["name"] == "H100 SXM5" else r for r in price_sheet.catalog_rows()]
        assert ls.expected_outputs(inputs, prices=rows)["out_cost_opt_usd"] < ls.expected_outputs(inputs)["out_cost_opt_usd"]


class TestUnusableInputs:
    @pytest.mark.parametrize("scenario", INVALID)
    def test_the_sheet_names_the_input_and_shows_n_a(self, recalculated, scenario):
        changes, message = INVALID[scenario]
        names = recalc.read_names(recalculated[scenario], ("in_", "out_", ls.STATUS))
        assert names[ls.STATUS] == message
        assert {v for k, v in names.items() if k.startswith("out_")} == {ls.NOT_USABLE}
        inputs = {k: v for k, v in names.items() if k.startswith("in_")}
        with pytest.raises(InvalidInputError) as raised:
            ls.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(recalculated[scenario])))
        assert str(raised.value) == message

    @pytest.mark.parametrize("scenario", INVALID)
    def test_the_check_row_of_the_inputs_block_says_so(self, values, scenario):
        """A loss of 1.5 is the Target quality block's problem, not the Scaling law block's."""
        book = values[scenario]
        for block in ls.CHECKS:
            expected = INVALID[scenario][1] if block == INVALID_BLOCK[scenario] else ls.OK
            assert named_value(book, block) == expected, block

    def test_messages_name_rows_by_their_label_not_their_defined_name(self, template):
        book = openpyxl.load_workbook(template)
        labels = {cell.value for sheet in book.worksheets for row in sheet.iter_rows(max_col=1) for cell in row}
        for check in (*(c for block in ls.CHECKS.values() for c in block), *ls.LOCAL_CHECKS):
            assert any(check.label.startswith(str(label)) for label in labels if label), check.name
            assert check.name not in check.message(), check.name

    def test_zero_requests_per_month_gives_n_a_months(self, recalculated):
        names = recalc.read_names(recalculated["no_requests_per_month"])
        assert names["out_breakeven_months"] == ls.NOT_USABLE and names["out_breakeven_requests"] > 0

    def test_a_budget_too_small_for_the_demand_says_so(self, values, recalculated):
        names = recalc.read_names(recalculated["budget_too_small"])
        assert {names[k] for k in names if k.startswith("out_budget")} == {ls.NOT_USABLE}
        assert named_value(values["budget_too_small"], "budget_result") == ls.BUDGET_TOO_SMALL
        assert named_value(values["default"], "budget_result") == ls.OK


class TestDemandSweep:
    @pytest.mark.parametrize("scenario", ["default", "custom_fit", "epoch_fit_h100"])
    def test_ratios_equal_the_vectorised_solver(self, values, scenario):
        inputs = scenario_inputs(scenario)
        fit = ls._fit_from_inputs(inputs)
        sheet = values[scenario][ls.SWEEP]
        header = next(r for r in range(1, 20) if sheet[f"A{r}"].value == "Lifetime inference tokens")
        heads = [c.value for c in sheet[header]]
        rows = [[c.value for c in sheet[header + 1 + i]] for i in range(ls.SWEEP_ROWS)]
        table = {h: np.array([row[j] for row in rows], dtype=float) for j, h in enumerate(heads[:8])}
        tokens = table["Lifetime inference tokens"]
        np.testing.assert_allclose(tokens, np.geomspace(1e8, 1e14, ls.SWEEP_ROWS), rtol=1e-12)
        per_request = inputs["in_input_tokens"] + inputs["in_output_tokens"]
        requests = tokens / per_request
        catalog = price_sheet.price_table(price_sheet.catalog_rows())
        hardware = ls.hardware_in_use(inputs, catalog) | {k: inputs[f"in_{k}"]
                                                         for k in ("mfu_train", "mfu_prefill", "mfu_decode")}
        compute = lifetime.compute_optimal(inputs["in_loss"], tokens, fit=fit)
        cost = lifetime.cost_optimal(inputs["in_loss"], requests * inputs["in_input_tokens"],
                                     requests * inputs["in_output_tokens"], fit=fit, **hardware)
        expected = {
            "Compute-optimal: parameters / Chinchilla": compute.params / compute.chinchilla.params,
            "Compute-optimal: training tokens / Chinchilla": compute.tokens / compute.chinchilla.tokens,
            "Compute-optimal: lifetime FLOPs / Chinchilla": compute.flops / compute.chinchilla.flops,
            "Cost-optimal: parameters / Chinchilla": cost.params / cost.chinchilla.params,
            "Cost-optimal: training tokens / Chinchilla": cost.tokens / cost.chinchilla.tokens,
            "Cost-optimal: lifetime $ / Chinchilla": cost.usd / cost.chinchilla.usd,
        }
        for header_text, ratio in expected.items():
            np.testing.assert_allclose(table[header_text], ratio, rtol=REL, err_msg=header_text)

    def test_figures_plot_the_ratio_columns_on_a_log_axis(self, template):
        sheet = openpyxl.load_workbook(template)[ls.SWEEP]
        assert len(sheet._charts) == 2
        for chart in sheet._charts:
            assert chart.x_axis.scaling.logBase == 10
            assert len(chart.series) == 3


class TestFixedBudget:
    @pytest.mark.parametrize("scenario", ["default", "huge_demand", "muennighoff_fit"])
    def test_the_optimum_is_the_lowest_point_of_the_served_curve(self, values, scenario):
        book = values[scenario]
        sheet = book[ls.BUDGET]
        header = next(r for r in range(1, 60) if sheet[f"A{r}"].value == "Parameters" and sheet[f"B{r}"].value ==
                      "Loss if nothing were served")
        curve = [[c.value for c in sheet[header + 1 + i]][:3] for i in range(ls.CURVE_ROWS)]
        inputs = scenario_inputs(scenario)
        fit = ls._fit_from_inputs(inputs)
        budget = inputs["in_budget_flops"]
        served_tokens = inputs["in_requests"] * (inputs["in_input_tokens"] + inputs["in_output_tokens"])
        n = np.array([row[0] for row in curve])
        np.testing.assert_allclose([row[1] for row in curve], laws.loss(n, budget / (6 * n), fit=fit), rtol=1e-12)
        served = laws.loss(n, (budget - 2 * n * served_tokens) / (6 * n), fit=fit)
        np.testing.assert_allclose([row[2] for row in curve], served, rtol=1e-12)
        assert named_value(book, "out_budget_loss") <= min(served) * (1 + 1e-12)
        assert min(row[1] for row in curve) <= min(served)


class TestBreakEven:
    def test_unusable_fraction_shows_not_usable_not_errors(self, values):
        book = values["breakeven_unusable"]
        assert named_value(book, "breakeven_ok") == 0
        assert named_value(book, "out_breakeven_tokens") == ls.NOT_USABLE
        assert ls.expected_outputs(scenario_inputs("breakeven_unusable"))["out_breakeven_tokens"] == ls.NOT_USABLE

    @pytest.mark.parametrize("scenario", ["default", "epoch_fit_h100"])
    def test_cost_lines_cross_at_the_break_even(self, values, scenario):
        book = values[scenario]
        sheet = book[ls.BREAKEVEN]
        header = next(r for r in range(1, 60) if sheet[f"A{r}"].value == "Lifetime requests")
        lines = [[sheet.cell(row=header + 1 + i, column=c).value for c in (1, 2, 3)] for i in range(ls.BREAKEVEN_ROWS)]
        (r0, big0, small0), (r1, big1, small1) = lines[0], lines[-1]
        # both lines are straight in requests: they cross where the difference is 0
        crossing = r0 + (r1 - r0) * (small0 - big0) / ((small0 - big0) - (small1 - big1))
        assert crossing == pytest.approx(named_value(book, "out_breakeven_requests"), rel=1e-9)
        round_end = r1 / 0.95  # the axis ends at a round number 5% beyond the last point
        assert 2 * crossing <= round_end <= 20 * crossing and float(f"{round_end:.1g}") == pytest.approx(round_end)
        first, last = [[sheet.cell(row=r, column=c).value for c in (2, 3)] for r in (header + 1, header + ls.BREAKEVEN_ROWS)]
        assert first[1] > first[0] and last[1] < last[0]  # dearer to train, cheaper to serve

    def test_break_even_is_where_lifetime_flops_are_equal(self):
        out = ls.expected_outputs(ls.DEFAULT_INPUTS)
        loss, fraction = ls.DEFAULT_INPUTS["in_loss"], ls.DEFAULT_INPUTS["in_breakeven_fraction"]
        big = laws.chinchilla_for_loss(loss)
        small_n = fraction * big.params
        small_d = laws.tokens_for_loss(loss, small_n)
        t = out["out_breakeven_tokens"]
        assert 6 * small_n * small_d + 2 * small_n * t == pytest.approx(big.flops + 2 * big.params * t, rel=1e-12)


class TestValidationSheet:
    def test_printed_values_are_table_1(self, template):
        sheet = openpyxl.load_workbook(template)[ls.VALIDATION]
        for i, row in enumerate(TABLE_1):
            assert [c.value for c in sheet[8 + i]][:9] == list(row)

    def test_live_values_match_table_1(self, values):
        sheet = values["custom_fit"][ls.VALIDATION]  # uses the default fit whatever the Sizing sheet picks
        for i, row in enumerate(TABLE_1):
            live = [c.value for c in sheet[8 + i]][9:16]
            assert live == pytest.approx(list(row[2:]), rel=5e-4)
            assert sheet.cell(row=8 + i, column=18).value == "OK"
        assert named_value(values["custom_fit"], "validation_status") == "OK"


class TestInputRulesAgree:
    """Every in_ cell: its data validation, its sheet check and its Python check come from one rule and agree."""

    @pytest.fixture(scope="class")
    @classmethod
    def book(cls, template):
        return openpyxl.load_workbook(template)

    @pytest.fixture(scope="class")
    @classmethod
    def verdicts(cls, tmp_path_factory):
        return sheet_verdicts(probed(ls.RULES), tmp_path_factory.mktemp("probes"))

    ALL_CHECKS = (*(check for block in ls.CHECKS.values() for check in block), *ls.LOCAL_CHECKS)

    @pytest.mark.parametrize("name", ls.DEFAULT_INPUTS)
    def test_the_cells_validation_is_its_checks_rule(self, book, name):
        mine = [check for check in self.ALL_CHECKS if check.name == name]
        assert mine, f"{name} has no check"
        assert cell_validations(book, name) == expected_validations(mine) != []

    @pytest.mark.parametrize("name", ls.DEFAULT_INPUTS)
    def test_sheet_python_and_validation_agree_on_typed_values(self, verdicts, name):
        mine = [check for check in self.ALL_CHECKS if check.name == name]
        assert disagreements(mine, probed(ls.RULES), verdicts) == []

    def test_status_cells_test_every_check_in_order(self, book):
        for block, block_checks in ls.CHECKS.items():
            (title, ref), = book.defined_names[block].destinations
            formula = book[title][ref.replace("$", "")].value
            assert formula == "=" + checks.status_formula(block_checks)
            for check in block_checks:
                assert f"IF({check.sheet_test()}," in formula and f'"{check.message()}"' in formula, check.name

    def test_zero_requests_per_month_is_allowed_everywhere(self, book, verdicts, values):
        # the review's bug: the check and the note allowed 0 but the data validation refused it
        (check,) = [c for c in self.ALL_CHECKS if c.name == "in_requests_per_month"]
        assert check.rule.accepts(0, {}) and check.rule.validation.allows(0)
        assert cell_validations(book, "in_requests_per_month") == [("decimal", "greaterThanOrEqual", "0", None)]
        assert verdicts["non_negative"][PROBES.index(0)] is True
        assert named_value(values["no_requests_per_month"], ls.STATUS) == ls.OK
        assert ls.input_problem({**ls.DEFAULT_INPUTS, "in_requests_per_month": 0},
                                price_sheet.price_table(price_sheet.catalog_rows())) is None


class TestWorkbookStructure:
    @pytest.fixture(scope="class")
    @classmethod
    def book(cls, template):
        return openpyxl.load_workbook(template)

    def test_required_names_exist_and_are_single_cells(self, book):
        for name in REQUIRED_NAMES:
            (sheet, ref), = book.defined_names[name].destinations
            assert ":" not in ref, name

    def test_inputs_are_unlocked_and_styled_outputs_locked(self, book):
        names = [n for n in book.defined_names if n.startswith(("in_", "out_"))]
        assert {n for n in names if n.startswith("in_")} == set(ls.DEFAULT_INPUTS)
        for name in names:
            (sheet, ref), = book.defined_names[name].destinations
            cell = book[sheet][ref.replace("$", "")]
            if name.startswith("in_"):
                assert cell.style == "xl_input" and cell.protection.locked is False, name
                assert not str(cell.value).startswith("="), name
            else:
                assert cell.protection.locked is True and str(cell.value).startswith("="), name

    def test_every_sheet_is_protected_without_password(self, book):
        for sheet in book.worksheets:
            assert sheet.protection.sheet is True, sheet.title
            assert not sheet.protection.password, sheet.title

    def test_charts_draw_straight_lines(self, book):
        charts = [chart for sheet in book.worksheets for chart in sheet._charts]
        assert len(charts) >= 3
        for chart in charts:
            if chart.tagname == "barChart":  # the Ranges tornado: bars have no lines to smooth
                continue
            assert all(series.smooth is False for series in chart.series)

    def test_formulas_use_only_functions_every_engine_has(self, book):
        used = set()
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        used |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", cell.value))
        assert used <= ls.ALLOWED_FUNCTIONS, used - ls.ALLOWED_FUNCTIONS
        assert {"EXP", "LN", "INDEX", "MATCH"} <= used

    def test_drop_downs_offer_fits_and_accelerators(self, book):
        sheet = book[ls.SIZING]
        lists = {dv.formula1: str(dv.sqref) for dv in sheet.data_validations.dataValidation if dv.type == "list"}
        (_, fit_cell), = book.defined_names["in_fit"].destinations
        assert lists["fit_names"] == fit_cell.replace("$", "")
        assert len(lists["hw_names"].split()) == 2  # both list formulas in the OOXML form, without '='

    def test_every_numeric_input_has_a_number_rule(self, book):
        ruled = {}
        for sheet in book.worksheets:
            for dv in sheet.data_validations.dataValidation:
                if dv.type in ("decimal", "whole"):  # whole: the batch cap and the GPUs per replica
                    for cell in str(dv.sqref).split():
                        ruled[(sheet.title, cell)] = (dv.operator, dv.formula1, dv.formula2)
        for name, value in ls.DEFAULT_INPUTS.items():
            (sheet, ref), = book.defined_names[name].destinations
            rule = ruled.get((sheet, ref.replace("$", "")))
            assert (rule is None) == isinstance(value, str), name
        assert ruled[(ls.SIZING, book.defined_names["in_mfu_decode"].attr_text.split("!")[1].replace("$", ""))] == \
            ("between", "1E-12", "1")

    def test_fits_sheet_lists_every_named_fit_and_custom(self, book):
        sheet = book[ls.FITS]
        names = [sheet.cell(row=r, column=1).value for r in range(5, 5 + len(laws.FITS) + 1)]
        assert names == [*laws.FITS, "custom"]
        for r, fit in enumerate(laws.FITS.values(), start=5):
            # openpyxl writes 16 significant digits: exact up to one unit in the last place
            assert [sheet.cell(row=r, column=c).value for c in range(2, 7)] == pytest.approx(fit.constants, rel=1e-15)

    def test_build_is_deterministic(self, book, tmp_path):
        ls.build().save(tmp_path / ls.FILENAME)
        again = openpyxl.load_workbook(tmp_path / ls.FILENAME)
        for sheet in book.worksheets:
            other = again[sheet.title]
            assert [[c.value for c in row] for row in sheet.iter_rows()] == \
                   [[c.value for c in row] for row in other.iter_rows()], sheet.title

    def test_read_me_explains_regeneration(self, book):
        text = " ".join(str(c.value) for row in book["Read me"].iter_rows() for c in row if c.value)
        assert "xlcalc build" in text and "xlcalc refresh" in text and "arXiv 2401.00448" in text


class TestExpectedOutputs:
    def test_missing_inputs_are_named(self):
        inputs = dict(ls.DEFAULT_INPUTS)
        del inputs["in_mfu_decode"]
        with pytest.raises(WorkbookError, match="in_mfu_decode"):
            ls.expected_outputs(inputs)

    def test_unknown_fit_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"Fit must be a fit listed on the Fits sheet"):
            ls.expected_outputs({**ls.DEFAULT_INPUTS, "in_fit": "gpt5"})

    @pytest.mark.parametrize("name,value,message", [
        ("in_requests", None, r"Requests over the model's life must be a number of 0 or more"),
        ("in_input_tokens", "", r"Input \(prompt\) tokens per request must be a number of 0 or more"),
        ("in_mfu_train", True, r"MFU training must be a fraction"),
        ("in_custom_beta", "x", None),  # only checked when the fit is custom
    ])
    def test_empty_or_text_inputs_are_named_not_python_errors(self, name, value, message):
        inputs = {**ls.DEFAULT_INPUTS, name: value}
        if message is None:
            assert ls.expected_outputs(inputs) == ls.expected_outputs(ls.DEFAULT_INPUTS)
            with pytest.raises(InvalidInputError, match=r"Custom constants \(used if Fit = custom\), beta must be"):
                ls.expected_outputs({**inputs, "in_fit": "Custom"})
        else:
            with pytest.raises(InvalidInputError, match=message):
                ls.expected_outputs(inputs)

    def test_zero_requests_per_month_and_tiny_budget_give_n_a(self):
        out = ls.expected_outputs({**ls.DEFAULT_INPUTS, "in_requests_per_month": 0, "in_budget_flops": 1.0})
        assert out["out_breakeven_months"] == ls.NOT_USABLE and out["out_breakeven_requests"] > 0
        assert out["out_budget_params"] == out["out_budget_chinchilla_loss"] == ls.NOT_USABLE
        assert isinstance(out["out_cost_opt_usd"], float)

    def test_custom_fit_uses_the_typed_constants(self):
        inputs = scenario_inputs("custom_fit")
        out = ls.expected_outputs(inputs)
        fit = laws.Fit(1.8, 500.0, 1500.0, 0.3, 0.35)
        assert out["out_chinchilla_params"] == laws.chinchilla_for_loss(2.1, fit=fit).params

    def test_defaults_match_the_paper_hardware(self):
        from reference import TABLE_2_HARDWARE

        paper = ls.PAPER_HARDWARE | {k: ls.DEFAULT_INPUTS[f"in_{k}"] for k in ("mfu_train", "mfu_prefill", "mfu_decode")}
        assert paper == TABLE_2_HARDWARE
        assert math.isclose(ls.DEFAULT_INPUTS["in_loss"], 1.958253360475841, rel_tol=1e-15)
