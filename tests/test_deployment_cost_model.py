"""Workbook 2 (deployment_cost_model.xlsx): layout, the Python outputs, and LibreOffice against the solver."""

import re

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcalc.workbooks import recalc
from xlcalc.errors import InvalidInputError
from xlcalc.data.hardware import gpu
from xlcalc.workbooks.templates import deployment_cost_model as dcm
from xlcalc.workbooks.templates import checks, price_sheet
from xlcalc.workbooks.check import agrees, compare_content, read_price_rows
from xlcalc.workbooks.files import named_cells, template_workbook

from xlcalc.workbooks.templates.deployment_cost_model import band_spec, latency_curve, latency_target
from xlcalc.workbooks.templates.formulas import ALLOWED_FUNCTIONS
from workbook_views import errors_outside_chart_feeds
from rule_probes import PROBES, cell_validations, disagreements, expected_validations, probed, sheet_verdicts

# A price-sheet row with the handbook's A100 (REFERENCE.md, "Inference Scaling"): 312 TFLOP/s, 2 TB/s, $1/h.
HANDBOOK_A100 = {"name": "Handbook A100", "peak_tflops_bf16": 312, "memory_gb": 80, "mem_bw_tbs": 2.0,
                 "usd_per_hour": 1.0, "price_provider": "REFERENCE.md", "price_date": "2026-11-25"}
# Handbook roofline at batch 1, FP16, efficiencies 1: 7B and 70B, 10M requests of 500 output tokens a month.
HANDBOOK = {
    "in_requests_per_month": 10e6, "in_input_tokens": 0, "in_output_tokens": 500, "in_monthly_growth": 0,
    "in_peak_factor": 1, "in_utilisation": 1,
    **{f"in_c{k}_{key}": value for k, params in ((1, 7e9), (2, 70e9), (3, 7e9)) for key, value in {
        "params": params, "precision": "bf16", "bytes_per_param": 2, "kv_bytes_per_token": 0,
        "gpu": "Handbook A100" if k < 3 else "handbook a100", "batch": 1, "context_tokens": 0,
        "mfu_decode": 1, "bw_eff": 1}.items()},
}

SCENARIOS = {
    "defaults": ({}, []),
    "handbook": (HANDBOOK, [HANDBOOK_A100]),
    "huge_traffic_fast_growth": ({"in_requests_per_month": 1e12, "in_monthly_growth": 0.5, "in_peak_factor": 5,
                                  "in_utilisation": 0.05}, []),
    "one_request_no_growth": ({"in_requests_per_month": 1, "in_monthly_growth": 0, "in_input_tokens": 0,
                               "in_output_tokens": 1}, []),
    "declining_long_context": ({"in_monthly_growth": -0.3, "in_c1_context_tokens": 128000, "in_c1_batch": 256,
                                "in_c2_context_tokens": 1e6, "in_c3_batch": 1}, []),
    "compute_bound_and_precisions": ({"in_c1_batch": 4096, "in_c1_params": 1e8, "in_c1_kv_bytes_per_token": 0,
                                      "in_c1_gpu": "A100-80GB SXM4", "in_c1_precision": "fp8",
                                      "in_c2_precision": "int8", "in_c2_gpu": "A100-40GB SXM4",
                                      "in_c3_params": 1e12, "in_c3_gpu": "L4", "in_train_gpu": "TPU v6e",
                                      "in_mfu_train": 1}, []),
    "never_overtakes": ({"in_crossover_from": 3, "in_crossover_to": 2}, []),
    "user_price_row_and_edited_price": ({"in_c2_gpu": "My accelerator", "in_c3_gpu": "h100 sxm5",
                                         "in_crossover_from": 2, "in_crossover_to": 3},
                                        [{"name": "My accelerator", "peak_tflops_bf16": 1500.5,
                                          "peak_tflops_fp8": 3001, "memory_gb": 100, "mem_bw_tbs": 4.4,
                                          "usd_per_hour": 0.37, "price_source": "=cmd|' /c calc'!A1"}]),
    # latency targets: none met (70B on L40S at 20 ms), too big for 8 GPUs, no first-token target, fp8 cache
    "latency_targets": ({"in_c1_gpu": "L40S", "in_c1_tpot_target_ms": 20, "in_c2_ttft_target_ms": None,
                         "in_c2_kv_bytes_per_value": 1, "in_c2_tpot_target_ms": 35.5, "in_c3_shape": "Llama-3.1-405B",
                         "in_c3_gpu": "L4", "in_c3_link_latency_us": 0}, []),
}



def random_scenarios(count, seed=20261125):
    """Inputs drawn log-uniformly over wide ranges (fixed seed: the same scenarios every run)."""
    rng = np.random.default_rng(seed)
    priced = [r["name"] for r in price_sheet.catalog_rows() if r["usd_per_hour"] == r["usd_per_hour"]]
    log_uniform = lambda low, high: float(10 ** rng.uniform(np.log10(low), np.log10(high)))  # noqa: E731
    scenarios = {}
    for i in range(count):
        inputs = {"in_requests_per_month": log_uniform(1, 1e12), "in_input_tokens": float(rng.integers(0, 100000)),
                  "in_output_tokens": float(rng.integers(1, 20000)), "in_monthly_growth": rng.uniform(-0.5, 1.0),
                  "in_peak_factor": log_uniform(1, 20), "in_utilisation": rng.uniform(0.01, 1.0),
                  "in_train_gpu": str(rng.choice(priced)), "in_mfu_train": rng.uniform(0.05, 1.0),
                  "in_crossover_from": int(rng.integers(1, 4)), "in_crossover_to": int(rng.integers(1, 4))}
        for k in dcm.CANDIDATES:
            inputs.update({f"in_c{k}_params": log_uniform(1e7, 2e12), f"in_c{k}_train_tokens": log_uniform(1e9, 1e14),
                           f"in_c{k}_precision": str(rng.choice(["bf16", "fp8", "int8"])),
                           f"in_c{k}_bytes_per_param": float(rng.choice([0.5, 1, 2, 4])),
                           f"in_c{k}_kv_bytes_per_token": float(rng.integers(0, 2_000_000)),
                           f"in_c{k}_gpu": str(rng.choice(priced)), f"in_c{k}_batch": int(rng.integers(1, 2048)),
                           f"in_c{k}_context_tokens": float(rng.integers(0, 1_000_000)),
                           f"in_c{k}_mfu_prefill": rng.uniform(0.01, 1.0), f"in_c{k}_mfu_decode": rng.uniform(0.01, 1.0),
                           f"in_c{k}_bw_eff": rng.uniform(0.05, 1.0)})
        scenarios[f"random_{i}"] = (inputs, [])
    return scenarios


SCENARIOS.update(random_scenarios(4))

# Inputs the Status row explains: what cannot be computed shows n/a (never $0), with no error cells
NO_SPECS = {"name": "Rumoured chip", "usd_per_hour": 3.0}
SCENARIOS |= {
    "status_unpriced_and_unspecified": ({"in_c1_gpu": "GB200 (per GPU)", "in_c2_gpu": "Rumoured chip",
                                         "in_train_gpu": "TPU v5p"}, [NO_SPECS]),
    # a price the user cleared (a row named like a catalog row replaces it in place); candidates 1 and 2 use it
    "cleared_price": ({"in_crossover_from": 1, "in_crossover_to": 3},
                      [dict(price_sheet.catalog_rows()[2], usd_per_hour=None)]),
    "unpriced_candidate_3": ({"in_c3_gpu": "MI325X", "in_crossover_from": 1, "in_crossover_to": 2}, []),
    "zero_requests": ({"in_requests_per_month": 0}, []),
    # the trap tests: a price edited on the price sheet, and another accelerator picked
    "cheaper_h100": ({}, [dict(next(r for r in price_sheet.catalog_rows() if r["name"] == "H100 SXM5"),
                               usd_per_hour=1.0)]),
    "c3_on_h200": ({"in_c3_gpu": "H200 SXM"}, []),
}

# Unusable inputs: the sheet names the first one in Model!C3 (expected_outputs raises the same text), all
# results show n/a, and no cell holds an error
INVALID = {
    "text_requests": ({"in_requests_per_month": "lots"},
                      "Requests in month 1 must be a number of 0 or more"),
    "empty_batch": ({"in_c2_batch": None}, "Batch (sequences decoded together) must be a whole number of 1 or more"),
    "unknown_accelerator": ({"in_c3_gpu": "Z80"}, "Serving accelerator must be an accelerator listed in Hardware prices"),
    "zero_mfu": ({"in_mfu_train": 0}, "Training MFU must be a fraction greater than 0 and at most 1"),
    "bad_precision": ({"in_c1_precision": "fp4"}, "Arithmetic precision must be bf16, fp8 or int8"),
    "zero_ms_target": ({"in_c2_tpot_target_ms": 0}, "Target time per output token must be a number greater than 0"),
    "zero_ms_first_token": ({"in_c3_ttft_target_ms": 0},
                            "Target time to first token (empty: none) must be empty (no target) or a number greater "
                            "than 0"),
    "negative_prompt": ({"in_input_tokens": -100}, "Prompt (input) tokens per request must be a number of 0 or more"),
    "unknown_model": ({"in_c1_shape": "Llama-9-1B"},
                      "Model shape (layers, widths, KV heads) must be a model listed in Model shapes"),
}


def write_scenario(folder, name, inputs, rows, workbook=None):
    """The template with ``inputs`` typed into its in_ cells and ``rows`` added to the price sheet, saved."""
    workbook = workbook or dcm.build()
    for key, value in inputs.items():
        (cell,) = named_cells(workbook, key)
        price_sheet.put(cell, value)
    sheet = workbook[price_sheet.PRICE_SHEET_TITLE]
    existing = {values["name"]: row for row, values in price_sheet.read_rows(sheet)}
    next_row = max(existing.values()) + 1
    for values in rows:
        if values["name"] in existing:  # an edited catalog row
            price_sheet.write_rows(sheet, [values], first_row=existing[values["name"]])
        else:
            next_row = price_sheet.write_rows(sheet, [values], first_row=next_row)
    path = folder / f"{name}.xlsx"
    workbook.save(path)
    return path


def curve_mismatches(path, rel=1e-9) -> list:
    """(candidate, target, cell, Python) wherever the Latency curve's $ disagrees with xlcalc.core.slo (via the twin)."""
    book = openpyxl.load_workbook(path, data_only=True)
    values = recalc.read_names(path)
    sheet = book[latency_curve.SHEET]
    targets = [sheet[f"A{row}"].value for row in range(latency_curve.FIRST_ROW, latency_curve.LAST_ROW + 1)]
    assert targets == list(latency_curve.TARGETS_MS)
    prices, wrong = read_price_rows(book), []
    for k in dcm.CANDIDATES:
        column = latency_curve.COLUMNS[("usd", k)]
        for row, target in enumerate(targets, start=latency_curve.FIRST_ROW):
            inputs = {n: v for n, v in values.items() if n.startswith("in_")} | {f"in_c{k}_tpot_target_ms": target}
            expected = dcm.expected_outputs(inputs, prices=prices)[f"out_c{k}_slo_usd_per_mtok_output"]
            expected = latency_curve.NONE_MEETS if expected == dcm.NOT_AVAILABLE else expected
            got = sheet[f"{column}{row}"].value
            if not agrees(got, expected, rel):
                wrong.append((k, target, got, expected))
    return wrong


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Every scenario written and recalculated in one LibreOffice run: {name: (inputs, rows, recalculated path)}."""
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
    folder = tmp_path_factory.mktemp("dcm")
    scenarios = SCENARIOS | {name: (inputs, []) for name, (inputs, _) in INVALID.items()}
    paths = [write_scenario(folder, name, inputs, rows) for name, (inputs, rows) in scenarios.items()]
    done = recalc.recalculate(paths, folder / "recalculated")
    return {name: (*scenarios[name], path) for name, path in zip(scenarios, done)}


@pytest.fixture(scope="module")
def template():
    return dcm.build()


class TestRecalculatedAgainstSolver:
    @pytest.mark.parametrize("name", list(SCENARIOS))
    def test_every_output_matches_the_solver(self, recalculated, name):
        _, _, path = recalculated[name]
        values = recalc.read_names(path)
        inputs = {k: v for k, v in values.items() if k.startswith("in_")}
        expected = dcm.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(path, data_only=True)))
        assert set(expected) == set(dcm.output_names())
        wrong = {k: (values.get(k), v) for k, v in expected.items() if not agrees(values.get(k), v, 1e-9)}
        assert not wrong

    @pytest.mark.parametrize("name", [*SCENARIOS, *INVALID])
    def test_no_error_cells(self, recalculated, name):
        assert errors_outside_chart_feeds(recalculated[name][2]) == []

    @pytest.mark.parametrize("name", list(INVALID))
    def test_an_unusable_input_is_named_once_and_results_show_n_a(self, recalculated, name):
        inputs, message = INVALID[name]
        path = recalculated[name][2]
        values = recalc.read_names(path, ("in_", "out_", dcm.STATUS))
        assert values[dcm.STATUS] == message
        assert {values[k] for k in dcm.output_names()} == {dcm.NOT_AVAILABLE}
        with pytest.raises(InvalidInputError) as raised:
            dcm.expected_outputs({k: v for k, v in values.items() if k.startswith("in_")},
                                 prices=read_price_rows(openpyxl.load_workbook(path, data_only=True)))
        assert str(raised.value) == message

    def test_a_missing_price_is_n_a_never_zero(self, recalculated):
        values = recalc.read_names(recalculated["unpriced_candidate_3"][2])
        assert values["out_c3_gpus"] > 0  # capacity needs no price
        for key in ("monthly_usd", "usd_per_mtok_output", "total_usd", "monthly_usd_month24"):
            assert values[f"out_c3_{key}"] == dcm.NOT_AVAILABLE, key
        assert 1 <= values["out_crossover_month"] <= dcm.MONTHS  # 1 against 2: both priced
        projection = openpyxl.load_workbook(recalculated["unpriced_candidate_3"][2], data_only=True)[dcm.PROJECTION_SHEET]
        months = range(dcm.PROJECTION_FIRST_ROW, dcm.PROJECTION_LAST_ROW + 1)
        for series in ("monthly_usd", "cumulative_usd"):
            shown, plotted = dcm.PROJECTION_COLUMNS[(series, 3)], dcm.PROJECTION_COLUMNS[("chart", series, 3)]
            assert {projection[f"{shown}{r}"].value for r in months} == {dcm.NOT_AVAILABLE}
            assert {projection[f"{plotted}{r}"].value for r in months} == {"#N/A"}  # a gap in the chart, not $0
            priced = dcm.PROJECTION_COLUMNS[("chart", series, 1)]
            assert all(projection[f"{priced}{r}"].value > 0 for r in months)
        cleared = recalc.read_names(recalculated["cleared_price"][2])
        assert cleared["out_c1_monthly_usd"] == cleared["out_crossover_month"] == dcm.NOT_AVAILABLE
        assert cleared["out_c3_monthly_usd"] > 0

    def test_a_price_changed_on_the_price_sheet_flows_to_every_result_that_uses_it(self, recalculated):
        before = recalc.read_names(recalculated["defaults"][2])
        after = recalc.read_names(recalculated["cheaper_h100"][2])
        priced = ("usd_per_mtok_input", "usd_per_mtok_output", "monthly_usd", "usd_per_mtok_effective", "train_usd",
                  "monthly_usd_month24", "total_usd")
        for k in dcm.CANDIDATES:
            for key in priced:  # candidates 1 and 2 serve on H100, and every candidate trains on it
                changed = after[f"out_c{k}_{key}"] != pytest.approx(before[f"out_c{k}_{key}"], rel=1e-9)
                assert changed == (k < 3 or key in ("train_usd", "total_usd")), (k, key)
            for key in ("gpus", "tokens_per_sec", "replica_gpus", "train_gpu_hours"):
                assert after[f"out_c{k}_{key}"] == before[f"out_c{k}_{key}"], (k, key)

    def test_picking_another_accelerator_changes_the_results(self, recalculated):
        before = recalc.read_names(recalculated["defaults"][2])
        after = recalc.read_names(recalculated["c3_on_h200"][2])
        for key in ("tokens_per_sec", "usd_per_mtok_output", "monthly_usd", "total_usd"):
            assert after[f"out_c3_{key}"] != pytest.approx(before[f"out_c3_{key}"], rel=1e-6), key
            assert after[f"out_c1_{key}"] == before[f"out_c1_{key}"], key

    def test_zero_requests_need_no_gpus_and_no_effective_price(self, recalculated):
        values = recalc.read_names(recalculated["zero_requests"][2])
        assert all(values[f"out_c{k}_gpus"] == 0 and values[f"out_c{k}_monthly_usd"] == 0 for k in dcm.CANDIDATES)
        assert values["out_c1_usd_per_mtok_effective"] == dcm.NOT_AVAILABLE

    def test_inputs_read_back_as_typed(self, recalculated):
        inputs, _, path = recalculated["user_price_row_and_edited_price"]
        values = recalc.read_names(path, ("in_",))
        assert all(values[k] == v for k, v in inputs.items())

    def test_handbook_roofline_figures(self, recalculated):
        values = recalc.read_names(recalculated["handbook"][2])
        # REFERENCE.md: 142.9 and 14.29 tokens/s; 1.944 and 19.44 x ($/GPU-hour) per million tokens
        assert values["out_c1_tokens_per_sec"] == pytest.approx(142.857142857, rel=1e-9)
        assert values["out_c2_tokens_per_sec"] == pytest.approx(14.2857142857, rel=1e-9)
        assert values["out_c1_usd_per_mtok_output"] == pytest.approx(1.9444444444, rel=1e-9)
        assert values["out_c2_usd_per_mtok_output"] == pytest.approx(19.444444444, rel=1e-9)
        # 9,722 GPU-hours a month is 13.3 GPUs busy: 14 provisioned; 70B needs 2 per copy and 97,222 GPU-hours
        assert values["out_c1_replica_gpus"] == 1 and values["out_c1_gpus"] == 14
        assert values["out_c2_replica_gpus"] == 2 and values["out_c2_gpus"] == 134
        assert values["out_c1_monthly_usd"] == pytest.approx(14 * 730.0, rel=1e-12)
        # the lower-case name finds the same row (MATCH ignores case)
        assert values["out_c3_tokens_per_sec"] == values["out_c1_tokens_per_sec"]

    def test_status_row(self, recalculated):
        def status(name):
            values = openpyxl.load_workbook(recalculated[name][2], data_only=True)
            return [named_cells(values, f"calc_c{k}_status")[0].value for k in dcm.CANDIDATES]

        assert status("defaults") == ["OK"] * 3
        assert status("status_unpriced_and_unspecified") == [
            "no $ per GPU-hour for this accelerator: type one in Hardware prices",
            "type this accelerator's peak, memory and bandwidth in Hardware prices",
            "no $ per GPU-hour for the training accelerator"]
        values = recalc.read_names(recalculated["status_unpriced_and_unspecified"][2], ("calc_",))
        assert values["calc_c1_usd_per_hour"] == dcm.NOT_AVAILABLE  # not "$0.000"

    def test_scenarios_reach_the_extremes(self, recalculated):
        never = recalc.read_names(recalculated["never_overtakes"][2])
        assert never["out_crossover_month"] == dcm.NEVER
        tiny = recalc.read_names(recalculated["one_request_no_growth"][2])
        assert all(tiny[f"out_c{k}_gpus"] == tiny[f"out_c{k}_replica_gpus"] for k in dcm.CANDIDATES)
        big = recalc.read_names(recalculated["compute_bound_and_precisions"][2])
        assert big["out_c3_replica_gpus"] == 43  # 1000 GB of FP8 weights + 10.5 GB of KV cache on 24 GB L4s
        defaults = recalc.read_names(recalculated["defaults"][2])
        assert 1 < defaults["out_crossover_month"] < dcm.MONTHS

    def test_a_latency_target_nothing_meets_is_said_in_words(self, recalculated):
        values = recalc.read_names(recalculated["latency_targets"][2], ("calc_", "out_"))
        assert values["calc_c1_slo_status"].startswith(latency_target.NO_BATCH)
        assert "ms per output token and" in values["calc_c1_slo_status"]
        assert values["calc_c3_slo_status"].startswith(latency_target.NO_FIT)
        assert values["calc_c2_slo_status"] == "OK" and values["out_c2_slo_batch"] >= 1
        for k in (1, 3):
            assert values[f"out_c{k}_slo_batch"] == values[f"out_c{k}_slo_usd_per_mtok_output"] == dcm.NOT_AVAILABLE
        # what the words say is reachable is: a target just above the fastest time per token has a batch
        fastest_ms = values["calc_c1_slo_fastest_s"] * 1e3
        inputs = {k: v for k, v in values.items() if k.startswith("in_")} | {"in_c1_tpot_target_ms": fastest_ms * 1.01,
                                                                            "in_c1_ttft_target_ms": None}
        assert dcm.expected_outputs(inputs)["out_c1_slo_batch"] >= 1

    @pytest.mark.parametrize("name", ["defaults", "latency_targets"])
    def test_latency_curve_matches_the_solver(self, recalculated, name):
        assert curve_mismatches(recalculated[name][2]) == []


class TestLayout:
    def test_names_the_issue_asks_for(self, template):
        for k in dcm.CANDIDATES:
            for key in ("tokens_per_sec", "usd_per_mtok_output", "usd_per_mtok_input", "gpus", "monthly_usd",
                        "train_usd", "total_usd"):
                assert f"out_c{k}_{key}" in template.defined_names
        assert "out_crossover_month" in template.defined_names
        assert set(dcm.input_names()) == {n for n in template.defined_names if n.startswith("in_")}
        assert set(dcm.output_names()) == {n for n in template.defined_names if n.startswith("out_")}

    def test_inputs_are_styled_unlocked_and_outputs_locked(self, template):
        for name in dcm.input_names():
            (cell,) = named_cells(template, name)
            assert cell.style == "xl_input" and not cell.protection.locked, name
        for name in dcm.output_names():
            (cell,) = named_cells(template, name)
            assert cell.style == "xl_output" and cell.protection.locked and cell.data_type == "f", name
        assert all(sheet.protection.sheet and not sheet.protection.password for sheet in template.worksheets)

    def test_accelerator_cells_have_the_drop_down(self, template):
        sheet = template[dcm.MODEL_SHEET]
        lists = [dv for dv in sheet.data_validations.dataValidation if dv.formula1 == "hw_names"]
        assert len(lists) == 1
        for name in ["in_train_gpu"] + [f"in_c{k}_gpu" for k in dcm.CANDIDATES]:
            assert named_cells(template, name)[0].coordinate in lists[0].sqref

    def test_charts_draw_straight_lines(self, template):
        charts = template[dcm.PROJECTION_SHEET]._charts
        assert len(charts) == 2
        assert all(series.smooth is False for chart in charts for series in chart.series)
        assert all(len(chart.series) == len(dcm.CANDIDATES) for chart in charts)

    def test_formulas_use_only_portable_functions(self, template):
        portable = ALLOWED_FUNCTIONS
        used = set()
        for sheet in template.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        used |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", re.sub(r'"[^"]*"', '""', cell.value)))
        assert used and used <= portable, used - portable

    def test_model_formulas_use_names_not_cell_addresses(self, template):
        for row in template[dcm.MODEL_SHEET].iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert not re.search(r"\$?[A-Z]{1,3}\$?[0-9]+", re.sub(r'"[^"]*"', '""', cell.value)), cell.value

    def test_build_is_deterministic(self, template):
        assert compare_content(template, dcm.build()) == []

    def test_price_sheet_is_the_catalog(self, template):
        rows = read_price_rows(template)
        assert [r["name"] for r in rows] == [r["name"] for r in price_sheet.catalog_rows()]


class TestInputRulesAgree:
    """Every in_ cell: its data validation, its sheet check and its Python check come from one rule and agree."""

    ALL_CHECKS = dcm.all_checks()

    @pytest.fixture(scope="class")
    @classmethod
    def verdicts(cls, tmp_path_factory):
        return sheet_verdicts(probed(dcm.RULES), tmp_path_factory.mktemp("probes"))

    @pytest.mark.parametrize("name", dcm.input_names())
    def test_the_cells_validation_is_its_checks_rule(self, template, name):
        mine = [check for check in self.ALL_CHECKS if check.name == name]
        assert cell_validations(template, name) == expected_validations(mine)
        assert bool(mine) == (not name.endswith("_name")), name  # only the candidates' names are free text

    @pytest.mark.parametrize("name", dcm.input_names())
    def test_sheet_python_and_validation_agree_on_typed_values(self, verdicts, name):
        mine = [check for check in self.ALL_CHECKS if check.name == name]
        assert disagreements(mine, probed(dcm.RULES), verdicts) == []

    def test_every_rule_kind_is_probed(self, verdicts):
        # the accelerator and model lists depend on the price and Model shapes sheets
        assert set(verdicts) == set(dcm.RULES) - {"gpu", "model"}
        assert verdicts["whole"][PROBES.index(2.5)] is False and verdicts["candidate"][PROBES.index(3)] is True

    def test_check_rows_test_every_check_in_order(self, template):
        for block, block_checks in (dcm._check_blocks() | {band_spec.BAND_CHECK: band_spec.band_checks()}).items():
            (cell,) = named_cells(template, block)
            assert cell.value == "=" + checks.status_formula(block_checks), block


class TestCommittedWorkbook:
    def test_matches_the_builder(self):
        from pathlib import Path

        committed = Path(__file__).resolve().parents[1] / "workbooks" / dcm.FILENAME
        assert compare_content(template_workbook("deployment_cost_model"), committed) == []


class TestExpectedOutputs:
    def test_handbook_values_without_a_spreadsheet(self):
        out = dcm.expected_outputs(HANDBOOK, prices=price_sheet.catalog_rows() + [HANDBOOK_A100])
        assert out["out_c1_tokens_per_sec"] == pytest.approx(142.857142857, rel=1e-9)
        assert out["out_c2_gpus"] == 134.0 and out["out_c1_gpus"] == 14.0
        # training on the default H100 SXM5 at MFU 0.4: 6ND / (peak MFU 3600) GPU-hours at its catalog price
        h100 = gpu("H100 SXM5")
        gpu_hours = 6 * 7e9 * 1.4e12 / (h100.peak_tflops_bf16 * 1e12 * 0.4) / 3600
        assert out["out_c1_train_usd"] == pytest.approx(gpu_hours * h100.usd_per_hour, rel=1e-12)

    def test_crossover_is_the_first_month_b_is_cheaper(self):
        out = dcm.expected_outputs({})
        month = int(out["out_crossover_month"])
        totals = {k: out[f"out_c{k}_total_usd"] for k in (1, 2)}
        assert totals[2] < totals[1]
        assert out["out_crossover_saving_usd"] == pytest.approx(totals[1] - totals[2], rel=1e-12)
        assert 1 < month < dcm.MONTHS

    def test_missing_price_uses_the_catalog_and_defaults(self):
        assert dcm.expected_outputs({}) == dcm.expected_outputs(dcm.default_inputs(), prices=price_sheet.catalog_rows())

    def test_unknown_accelerator(self):
        with pytest.raises(InvalidInputError, match=r"Serving accelerator must be an accelerator listed"):
            dcm.expected_outputs({"in_c2_gpu": "H999"})

    def test_accelerator_without_a_price(self):
        out = dcm.expected_outputs({"in_c1_gpu": "GB200 (per GPU)"})
        assert out["out_c1_gpus"] > 0 and out["out_c1_tokens_per_sec"] > 0
        assert out["out_c1_monthly_usd"] == out["out_c1_total_usd"] == out["out_crossover_month"] == dcm.NOT_AVAILABLE
        assert isinstance(out["out_c2_total_usd"], float)

    def test_training_accelerator_without_a_price(self):
        out = dcm.expected_outputs({"in_train_gpu": "TPU v5p"})
        assert out["out_c1_train_gpu_hours"] > 0 and out["out_c1_monthly_usd"] > 0
        assert out["out_c1_train_usd"] == out["out_c1_total_usd"] == dcm.NOT_AVAILABLE

    @pytest.mark.parametrize("name,value,message", [
        ("in_monthly_growth", -1, r"Traffic growth per month must be a number greater than -1"),
        ("in_crossover_from", 4, r"Compare candidate A must be 1, 2 or 3"),
        ("in_c1_params", None, r"Parameters N must be a number greater than 0"),
        ("in_peak_factor", "x", r"Peak traffic / average traffic must be a number of 1 or more"),
        ("in_c3_batch", 2.5, r"Batch \(sequences decoded together\) must be a whole number"),
    ])
    def test_unusable_inputs_are_named(self, name, value, message):
        with pytest.raises(InvalidInputError, match=message):
            dcm.expected_outputs({name: value})

    def test_first_row_of_a_name_wins(self):
        cheap = dict(price_sheet.catalog_rows()[2], usd_per_hour=0.5)
        rows = price_sheet.catalog_rows()
        doubled = dcm.expected_outputs({}, prices=rows + [cheap])
        first = dcm.expected_outputs({}, prices=[cheap] + rows)
        assert doubled == dcm.expected_outputs({})
        assert first["out_c1_monthly_usd"] < doubled["out_c1_monthly_usd"]


class TestExpectedOutputProperties:
    @settings(max_examples=40, deadline=None)
    @given(requests=st.floats(1, 1e12), growth=st.floats(0, 1), batch=st.integers(1, 4096),
           params=st.floats(1e7, 2e12), context=st.floats(0, 1e6), a=st.integers(1, 3), b=st.integers(1, 3))
    def test_capacity_and_costs_hang_together(self, requests, growth, batch, params, context, a, b):
        inputs = {"in_requests_per_month": requests, "in_monthly_growth": growth, "in_c2_batch": batch,
                  "in_c2_params": params, "in_c2_context_tokens": context, "in_crossover_from": a,
                  "in_crossover_to": b}
        out = dcm.expected_outputs(inputs)
        for k in dcm.CANDIDATES:
            replica = out[f"out_c{k}_replica_gpus"]
            assert out[f"out_c{k}_gpus"] % replica == 0 and out[f"out_c{k}_gpus"] >= replica
            assert out[f"out_c{k}_gpus_month24"] >= out[f"out_c{k}_gpus"]  # traffic does not shrink
            usd_per_hour = gpu(dcm.default_inputs()[f"in_c{k}_gpu"]).usd_per_hour
            assert out[f"out_c{k}_usd_per_mtok_output"] * out[f"out_c{k}_tokens_per_sec"] * 3600 / 1e6 == \
                pytest.approx(usd_per_hour, rel=1e-12)
            assert out[f"out_c{k}_monthly_usd"] == pytest.approx(out[f"out_c{k}_gpus"] * usd_per_hour * 730, rel=1e-12)
            assert out[f"out_c{k}_total_usd"] >= out[f"out_c{k}_train_usd"] + out[f"out_c{k}_monthly_usd_month24"]
        if out["out_crossover_month"] == dcm.NEVER:
            assert out["out_crossover_saving_usd"] <= 0
        else:
            assert a != b and 1 <= out["out_crossover_month"] <= dcm.MONTHS
