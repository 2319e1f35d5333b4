"""lifetime_sizing.xlsx: the serving-aware least-$, least-kWh and least-CO2 models, recalculated in LibreOffice (and
Gnumeric) with changed inputs, equal xlcalc.lifetime_optimal (serving='roofline') to 1e-9."""

import math
import re

import numpy as np
import openpyxl
from openpyxl.formula.translate import Translator
import pytest

from xlcalc.core import laws
from xlcalc import lifetime_optimal
from xlcalc.workbooks import recalc
from xlcalc.workbooks.templates import lifetime_sizing as ls
from xlcalc.workbooks.templates import price_sheet
from xlcalc.workbooks.templates.lifetime_sizing import objectives_solver
from xlcalc.workbooks.templates.lifetime_sizing.expected_objectives import serving_hardware_in_use, solver_arguments
from xlcalc.workbooks.templates.lifetime_sizing.objective_results import OBJECTIVE_OUTPUTS, PREFIXES
from xlcalc.workbooks.templates.lifetime_sizing.serving_inputs import DEFAULT_CALL, SERVING_BLOCK
from xlcalc.workbooks.check import read_price_rows

from test_lifetime_sizing import set_inputs
from workbook_views import errors_outside_chart_feeds

REL = 1e-9
#: Gnumeric writes no default cell style; openpyxl says so when reading its files.
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")
LONG = {"in_input_tokens": 2000.0, "in_output_tokens": 500.0}

#: Input changes per scenario, and what each must show (out_ name: value) so that it tests what it says.
SCENARIOS = {
    "default": ({}, {"out_serving_cost_binding": "memory bandwidth", "out_serving_cost_gpus": 1}),
    "latency_binds": ({**LONG, "in_tpot_ms": 20.0, "in_batch": None, "in_max_gpus": 1},
                      {"out_serving_cost_binding": "latency", "out_carbon_opt_binding": "latency"}),
    "latency_eight_gpus": ({**LONG, "in_tpot_ms": 20.0, "in_batch": None},
                           {"out_serving_cost_binding": "latency", "out_serving_cost_gpus": 8}),
    "memory_capacity": ({"in_input_tokens": 6000.0, "in_output_tokens": 2000.0, "in_tpot_ms": 1000.0,
                         "in_batch": None, "in_max_gpus": 1},
                        {"out_serving_cost_binding": "memory capacity", "out_energy_opt_binding": "memory capacity"}),
    "weights_fill_the_gpu": ({"in_infer_memory_gb": 16.0, "in_max_gpus": 1},
                             {"out_serving_cost_binding": "memory capacity", "out_carbon_opt_binding": "memory bandwidth"}),
    "compute_bound": ({"in_tpot_ms": 20.0, "in_batch": None}, {"out_serving_cost_binding": "compute"}),
    "data_cap_binds": ({"in_unique_tokens": 3e11}, {"out_serving_cost_data_binds": 1, "out_carbon_opt_data_binds": 1}),
    "data_cap_loose": ({"in_unique_tokens": 1e14}, {"out_serving_cost_data_binds": 0, "out_serving_cost_epochs": None}),
    "clean_serving_grid": ({"in_infer_g_per_kwh": 20.0, "in_train_g_per_kwh": 500.0, "in_infer_pue": 1.05}, {}),
    "h100_typed_power": ({"in_infer_hardware": "H100 SXM5", "in_train_tdp_w": 450.0, "in_serving_bytes_per_param": 2.0,
                          "in_kv_bytes_per_param": 0.0, "in_bw_eff": 0.6}, {"out_serving_cost_gpus": 1}),
    "no_power_figure": ({"in_infer_hardware": "TPU v5e"},
                        {"out_energy_opt_params": "n/a", "out_serving_cost_kwh": "n/a", "out_serving_cost_usd": None}),
    "cannot_be_served": ({"in_infer_memory_gb": 2.0, "in_max_gpus": 1},
                         {name: "n/a" for name in OBJECTIVE_OUTPUTS}),
}

#: Unusable serving inputs: the message the sheet shows (Sizing!B3 and the block's Check row).
def random_scenarios(count: int, seed: int = 12) -> dict:
    """Input sets drawn at random (seeded) over the serving, power, carbon and data inputs and the demand."""
    rng = np.random.default_rng(seed)
    fit = laws.get_fit(laws.DEFAULT_FIT)
    drawn = {}
    for i in range(count):
        size = 10 ** rng.uniform(9, 11)
        loss = float(laws.loss(size, laws.chinchilla_tokens(size)))
        floor_tokens = (fit.B / (loss - fit.E)) ** (1 / fit.beta) / (1 + 15.387756)   # the cap must reach the loss
        batch = None if rng.random() < 0.4 else float(rng.integers(1, 512))
        tpot = float(rng.uniform(5, 200)) if batch is None or rng.random() < 0.4 else None
        drawn[f"random_{i}"] = {
            "in_loss": loss, "in_requests": float(10 ** rng.uniform(7, 12)),
            "in_input_tokens": float(rng.integers(0, 4000)), "in_output_tokens": float(rng.integers(1, 1500)),
            "in_batch": batch, "in_tpot_ms": tpot, "in_max_gpus": float(rng.integers(1, 9)),
            "in_serving_bytes_per_param": float(rng.choice([0.5, 1.0, 2.0])),
            "in_kv_bytes_per_param": float(rng.choice([0.0, rng.uniform(1e-6, 2e-5)])),
            "in_unique_tokens": None if rng.random() < 0.5 else float(floor_tokens * 10 ** rng.uniform(0.05, 2)),
            "in_train_g_per_kwh": float(rng.uniform(1, 800)), "in_infer_g_per_kwh": float(rng.uniform(0, 800)),
            "in_bw_eff": float(rng.uniform(0.3, 1)), "in_serving_mfu_decode": float(rng.uniform(0.1, 0.9)),
            "in_infer_hardware": str(rng.choice(["A100-40GB SXM4", "H100 SXM5", "L4", "B200 (HGX)"])),
        }
    return drawn


#: Twelve random input sets, each compared in full (what they show is not fixed).
SCENARIOS |= {name: (changes, {}) for name, changes in random_scenarios(12).items()}

INVALID = {
    "negative_intensity": ({"in_infer_g_per_kwh": -5.0},
                           "Grid intensity where serving runs, g CO2e/kWh must be a number of 0 or more"),
    "zero_training_intensity": ({"in_train_g_per_kwh": 0.0},
                                "Grid intensity where training runs, g CO2e/kWh must be a number greater than 0"),
    "zero_unique_tokens": ({"in_unique_tokens": 0.0},
                           "Unique training tokens (empty: unlimited) must be empty (none) or a number greater than 0"),
    "unreachable_with_cap": ({"in_unique_tokens": 1e9},
                             "Unique training tokens (empty: unlimited) are too few: no model size and no number of "
                             "epochs reaches the target loss (see 'Lowest loss reachable with these unique tokens')"),
    "no_batch_no_target": ({"in_batch": None}, "Batch cap per replica (empty: none) and the time-per-token target are "
                                               "both empty: give a batch cap, a target or both"),
    "sixteen_gpus": ({"in_max_gpus": 16.0}, "Max GPUs per replica (1 to 8) must be a whole number from 1 to 8"),
    "pue_below_one": ({"in_train_pue": 0.9}, "PUE of the training data centre must be a number of 1 or more"),
}


def inputs_of(changes: dict) -> dict:
    return {**ls.DEFAULT_INPUTS, **changes}


def write(template, folder, cases: dict) -> dict:
    """{case: path} of the template with each case's inputs typed in (as test_lifetime_sizing types them)."""
    paths = {name: folder / f"{name}.xlsx" for name in cases}
    for name, changes in cases.items():
        workbook = openpyxl.load_workbook(template)
        set_inputs(workbook, changes)
        workbook.save(paths[name])
    return paths


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    template = tmp_path_factory.mktemp("template") / ls.FILENAME
    ls.build().save(template)
    cases = {name: changes for name, (changes, _) in SCENARIOS.items()} | {
        name: changes for name, (changes, _) in INVALID.items()}
    return write(template, tmp_path_factory.mktemp("scenarios"), cases)


@pytest.fixture(scope="module")
def libreoffice(sources, tmp_path_factory):
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
    done = recalc.recalculate(list(sources.values()), tmp_path_factory.mktemp("libreoffice"))
    return dict(zip(sources, done))


@pytest.fixture(scope="module")
def gnumeric(sources, tmp_path_factory):
    if recalc.ssconvert_path() is None:
        pytest.skip(f"Gnumeric is not installed: {recalc.GNUMERIC_INSTALL_HINT}")
    names = list(SCENARIOS)
    done = recalc.recalculate_gnumeric([sources[n] for n in names], tmp_path_factory.mktemp("gnumeric"))
    return dict(zip(names, done))


def compare(path, scenario):
    """(out name, sheet value, Python value) wherever the sheet and xlcalc.lifetime_optimal differ."""
    names = recalc.read_names(path)
    inputs = {k: v for k, v in names.items() if k.startswith("in_")}
    typed = SCENARIOS[scenario][0]
    texts = {k for k, v in typed.items() if not isinstance(v, float)}   # text and empty cells: exact
    assert {k: inputs[k] for k in texts} == {k: typed[k] for k in texts}
    assert {k: inputs[k] for k in typed if k not in texts} == pytest.approx(
        {k: v for k, v in typed.items() if k not in texts}, rel=1e-14)
    expected = ls.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(path)))
    wrong = []
    for name in OBJECTIVE_OUTPUTS:
        got, want = names[name], expected[name]
        same = got == want if isinstance(want, str) or isinstance(got, str) else math.isclose(got, want, rel_tol=REL)
        if not same:
            wrong.append((name, got, want))
    return wrong, names


class TestSheetEqualsPython:
    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_every_new_out_cell_equals_lifetime_optimal(self, libreoffice, scenario):
        wrong, names = compare(libreoffice[scenario], scenario)
        assert wrong == []
        for name, value in SCENARIOS[scenario][1].items():
            if value is None:   # a number, whatever it is
                assert isinstance(names[name], (int, float)), name
            else:
                assert names[name] == value, name

    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_no_error_cells(self, libreoffice, scenario):
        assert errors_outside_chart_feeds(libreoffice[scenario]) == []

    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_gnumeric_agrees(self, gnumeric, scenario):
        wrong, _ = compare(gnumeric[scenario], scenario)
        assert wrong == []

    def test_each_objective_is_least_in_its_own_figure(self, libreoffice):
        names = recalc.read_names(libreoffice["default"])
        for own, figure in (("out_serving_cost", "usd"), ("out_energy_opt", "kwh"), ("out_carbon_opt", "co2_kg")):
            for other in PREFIXES.values():
                assert names[f"{own}_{figure}"] <= names[f"{other}_{figure}"] * (1 + 1e-12), (own, other)

    @pytest.mark.parametrize("scenario", ["default", "latency_eight_gpus", "data_cap_binds", "weights_fill_the_gpu"])
    def test_bisection_has_converged_in_every_used_piece(self, libreoffice, scenario):
        """The final bracket of each usable piece is below 1e-12 wide: the fixed number of steps is enough."""
        book = openpyxl.load_workbook(libreoffice[scenario], data_only=True)
        sheet = book[objectives_solver.OBJECTIVES_SOLVER]
        solutions = [r for r in range(1, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == "solution"]
        assert len(solutions) == 12
        for r in solutions:
            lo, hi = sheet.cell(row=r, column=2).value, sheet.cell(row=r, column=3).value
            if isinstance(lo, float) and isinstance(hi, float):
                assert hi - lo <= 1e-12 * max(1.0, abs(lo)), r


class TestInputs:
    @pytest.mark.parametrize("scenario", INVALID)
    def test_a_bad_serving_input_is_named_by_its_label(self, libreoffice, scenario):
        changes, message = INVALID[scenario]
        names = recalc.read_names(libreoffice[scenario], ("out_", ls.STATUS, SERVING_BLOCK))
        assert names[ls.STATUS] == message
        assert names[SERVING_BLOCK] == message
        assert {v for k, v in names.items() if k.startswith("out_")} == {ls.NOT_USABLE}
        table = price_sheet.price_table(price_sheet.catalog_rows())
        assert ls.input_problem(inputs_of(changes), table) == message
        assert errors_outside_chart_feeds(libreoffice[scenario]) == []

    def test_the_defaults_are_the_documented_call(self):
        """serving_inputs.DEFAULT_CALL (the README's call) is what the default inputs give the solver."""
        table = price_sheet.price_table(price_sheet.catalog_rows())
        hardware = {k: float(v) for k, v in ls.hardware_in_use(ls.DEFAULT_INPUTS, table).items()}
        arguments = solver_arguments(ls.DEFAULT_INPUTS, hardware, serving_hardware_in_use(ls.DEFAULT_INPUTS, table),
                                     laws.get_fit(laws.DEFAULT_FIT))
        documented = dict(train_peak_tflops=312, infer_peak_tflops=624, train_usd_per_hour=1.39,
                          infer_usd_per_hour=1.10, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.5,
                          reference_mfu_decode=0.01, train_tdp_w=400, infer_tdp_w=400, train_pue=1.1, infer_pue=1.3,
                          train_g_per_kwh=50, infer_g_per_kwh=400, infer_mem_bw_tbs=1.555, infer_memory_gb=40,
                          bw_eff=0.8, bytes_per_param=1, kv_bytes_per_param=5.6e-6, input_tokens_per_request=70,
                          output_tokens_per_request=215, batch=64, headroom=0.1, max_gpus=8,
                          tpot_target_s=math.inf, unique_tokens=math.inf)
        assert {k: arguments[k] for k in documented} == documented
        assert arguments["input_tokens"] == 1.754e10 * 70 and arguments["serving"] == "roofline"
        written = dict(re.findall(r"(\w+)=([0-9][0-9.e+-]*)", DEFAULT_CALL))
        assert {k: float(v) for k, v in written.items()} == {k: v for k, v in documented.items() if math.isfinite(v)}

    def test_the_default_kv_bytes_are_a_30b_models(self):
        from xlcalc.data.model_shapes import model_shape

        shape = model_shape(30e9)
        assert 2 * shape.layers * shape.kv_dim * 1.0 / 30e9 == pytest.approx(ls.DEFAULT_INPUTS["in_kv_bytes_per_param"],
                                                                             rel=0.01)

    def test_without_a_cap_the_fixed_mfu_reference_is_the_paper_cost_optimum(self, libreoffice):
        """The serving-aware optimum's own fixed-MFU reference is the Sizing sheet's cost-optimal column."""
        path = libreoffice["default"]
        names = recalc.read_names(path)
        inputs = {k: v for k, v in names.items() if k.startswith("in_")}
        table = price_sheet.price_table(read_price_rows(openpyxl.load_workbook(path)))
        hardware = {k: float(v) for k, v in ls.hardware_in_use(inputs, table).items()}
        arguments = solver_arguments(inputs, hardware, serving_hardware_in_use(inputs, table),
                                     ls.fit_from_inputs(inputs))
        o = lifetime_optimal(**arguments)
        assert o.fixed_mfu.params == pytest.approx(names["out_cost_opt_params"], rel=REL)
        assert o.fixed_mfu.tokens == pytest.approx(names["out_cost_opt_tokens"], rel=REL)
        assert names["out_serving_cost_params"] > 1.5 * names["out_cost_opt_params"]   # serving moves it (2x here)

    def test_carbon_scales_with_intensity_at_a_fixed_model(self):
        """Doubling both intensities doubles kg CO2e and leaves the least-carbon model where it was."""
        base = ls.expected_outputs(ls.DEFAULT_INPUTS)
        double = ls.expected_outputs({**ls.DEFAULT_INPUTS, "in_train_g_per_kwh": 100.0, "in_infer_g_per_kwh": 800.0})
        assert double["out_carbon_opt_params"] == pytest.approx(base["out_carbon_opt_params"], rel=1e-12)
        assert double["out_carbon_opt_co2_kg"] == pytest.approx(2 * base["out_carbon_opt_co2_kg"], rel=1e-12)


class TestLayout:
    @pytest.fixture(scope="class")
    @classmethod
    def book(cls, sources):
        return openpyxl.load_workbook(sources["default"])

    def test_new_results_sit_under_the_three_optima_on_sizing(self, book):
        for name in OBJECTIVE_OUTPUTS:
            (sheet, ref), = book.defined_names[name].destinations
            assert sheet == ls.SIZING and ":" not in ref
        (_, cost), = book.defined_names["out_cost_opt_params"].destinations
        (_, serving), = book.defined_names["out_serving_cost_params"].destinations
        assert int(serving.split("$")[-1]) > int(cost.split("$")[-1])

    def test_sizing_prints_one_page_wide(self, book):
        sheet = book[ls.SIZING]
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        (_, last), = book.defined_names["serving_result"].destinations
        assert int(sheet.print_area.split("$")[-1]) >= int(last.split("$")[-1])

    def test_the_solver_tables_are_one_formula_per_column(self, book):
        sheet = book[objectives_solver.OBJECTIVES_SOLVER]
        steps = [r for r in range(1, sheet.max_row + 1) if sheet.cell(row=r, column=1).value in (5, 6)]
        assert len(steps) == 24
        for column in range(2, 17):   # lo .. F(x): the same formula in every step, shifted one row
            first = sheet.cell(row=steps[0], column=column)
            second = sheet.cell(row=steps[1], column=column)
            assert Translator(first.value, origin=first.coordinate).translate_formula(second.coordinate) == \
                second.value, column
