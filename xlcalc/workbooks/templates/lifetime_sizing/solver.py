"""The Solver sheet: the workings behind the Sizing results ($ per FLOP) and the Newton steps of every optimum."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from .. import formulas as f
from .. import layout, style
from ..layout import Row, header_row
from .inputs import FIT_IN_USE, NEWTON_STEPS, SOLVER, needs_hardware


def _workings() -> list:
    fit = FIT_IN_USE
    return [
        header_row("Prices per FLOP", "value"),
        Row("$ per training FLOP", "=" + needs_hardware(
            "use_train_usd_per_hour/(3600*use_train_peak_tflops*1E+12*in_mfu_train)"), "xl_formula", "usd_per_flop",
            "k_train"),
        Row("$ per prefill FLOP", "=" + needs_hardware(
            "use_infer_usd_per_hour/(3600*use_infer_peak_tflops*1E+12*in_mfu_prefill)"), "xl_formula",
            "usd_per_flop", "k_prefill"),
        Row("$ per decode FLOP", "=" + needs_hardware(
            "use_infer_usd_per_hour/(3600*use_infer_peak_tflops*1E+12*in_mfu_decode)"), "xl_formula",
            "usd_per_flop", "k_decode"),
        Row("Lifetime inference $ per parameter", "=" + needs_hardware(
            "2*(in_requests*in_input_tokens*k_prefill+in_requests*in_output_tokens*k_decode)"), "xl_formula",
            "usd_per_flop", "usd_per_param", "2 x (input tokens x $/prefill FLOP + output tokens x $/decode FLOP)"),
        None,
        header_row("Newton set-up", "value"),
        Row("P = B (alpha + beta)", "=" + f.newton_p(fit), "xl_formula", "0.000E+00", "newton_p"),
        Row("ln R = ln(alpha (loss - E))", "=" + f.newton_log_r("in_loss", fit), "xl_formula", "0.000000000",
            "newton_log_r"),
        Row("Compute-optimal: s = inference tokens / 3", "=inference_tokens/3", "xl_formula", "0.000E+00",
            "compute_s"),
        Row("Compute-optimal: Q = B beta s", "=" + f.newton_q("compute_s", fit), "xl_formula", "0.000E+00",
            "compute_q"),
        Row("Cost-optimal: s = $ per parameter / (6 x $ per training FLOP)",
            "=" + needs_hardware("usd_per_param/(6*k_train)"), "xl_formula", "0.000E+00", "cost_s"),
        Row("Cost-optimal: Q = B beta s", "=" + needs_hardware(f.newton_q("cost_s", fit)), "xl_formula",
            "0.000E+00", "cost_q"),
        Row("Budget: K = ln(beta B / (alpha A)) + alpha ln(C / 6)",
            f"=LN({fit['beta']}*{fit['B']})-LN({fit['alpha']}*{fit['A']})+{fit['alpha']}*LN(in_budget_flops/6)",
            "xl_formula", "0.000000000", "budget_k"),
        Row("Budget: t = inference tokens / 3", "=inference_tokens/3", "xl_formula", "0.000E+00", "budget_t"),
        Row("Within budget: ln 6k", f"=LN(6)+LN({fit['beta']}*{fit['B']}/({fit['alpha']}*{fit['A']}))/{fit['beta']}",
            "xl_formula", "0.000000000", "within_log_6k"),
        Row("Within budget: p = 1 + alpha / beta", f"=1+{fit['alpha']}/{fit['beta']}", "xl_formula", "0.000000000",
            "within_power"),
        Row("Within budget: ln C", "=LN(in_budget_flops)", "xl_formula", "0.000000000", "within_log_c"),
    ]


def _solves():
    """The Newton columns: key, header, start formula, step(x) formula, needs prices."""
    fit = FIT_IN_USE
    p, log_r, beta = "newton_p", "newton_log_r", fit["beta"]
    return (
        ("compute", "Compute-optimal ln D", f.newton_start("compute_q", p, log_r, beta),
         lambda x: f.newton_step(x, "compute_q", p, log_r, beta), False),
        ("cost", "Cost-optimal ln D", f.newton_start("cost_q", p, log_r, beta),
         lambda x: f.newton_step(x, "cost_q", p, log_r, beta), True),
        ("budget", "Fixed budget ln D", f.budget_start("budget_k", "budget_t", fit),
         lambda x: f.budget_step(x, "budget_k", "budget_t", fit), False),
        ("within", "Within budget ln N", f.within_budget_start("within_log_c", "within_log_6k", "within_power",
                                                               "inference_tokens"),
         lambda z: f.within_budget_step(z, "within_log_c", "within_log_6k", "within_power", "inference_tokens"),
         False),
    )


def _solutions() -> list:
    fit = FIT_IN_USE
    return [
        header_row("Solutions", "value"),
        Row("Chinchilla-style parameters", "=" + f.chinchilla_params_for_loss("in_loss", fit), "xl_formula", "big",
            "chin_params"),
        Row("Chinchilla-style training tokens", "=" + f.chinchilla_tokens_for_loss("in_loss", fit), "xl_formula",
            "big", "chin_tokens"),
        Row("Compute-optimal parameters", "=" + f.params_on_curve("in_loss", "compute_x", fit), "xl_formula", "big",
            "compute_params"),
        Row("Compute-optimal training tokens", "=EXP(compute_x)", "xl_formula", "big", "compute_tokens"),
        Row("Cost-optimal parameters", "=" + needs_hardware(f.params_on_curve("in_loss", "cost_x", fit)),
            "xl_formula", "big", "cost_params"),
        Row("Cost-optimal training tokens", "=" + needs_hardware("EXP(cost_x)"), "xl_formula", "big", "cost_tokens"),
        Row("Fixed budget: parameters (before the one-parameter check)",
            "=in_budget_flops/(6*EXP(budget_x)+2*inference_tokens)", "xl_formula", "big", "budget_raw_params"),
    ]


def add(workbook) -> None:
    """Add the Solver sheet."""
    sheet = workbook.create_sheet(SOLVER)
    layout.title(sheet, "Solver: workings and Newton steps behind the results (no input here)",
                 "Each Newton column climbs monotonically from its start (step 0) to the solution in its last row.")
    setup = _workings()
    layout.form(workbook, sheet, 4, setup, note_column=3)
    first_header = 4 + len(setup) + 1
    solves = _solves()
    layout.header(sheet, first_header, ["Newton step", *(s[1] for s in solves)], label_first=True)
    for k in range(NEWTON_STEPS + 1):
        r = first_header + 1 + k
        style.apply(sheet.cell(row=r, column=1, value=k), "xl_label", "0")
        for j, (_, _, start, step, prices) in enumerate(solves, start=2):
            formula = start if k == 0 else step(f"{get_column_letter(j)}{r - 1}")
            formula = needs_hardware(formula) if prices else formula
            style.apply(sheet.cell(row=r, column=j, value="=" + formula), "xl_formula", "0.000000000000")
    last = first_header + 1 + NEWTON_STEPS
    for j, (key, *_) in enumerate(solves, start=2):
        style.define(workbook, f"{key}_x", SOLVER, f"{get_column_letter(j)}{last}")
    results = _solutions()
    layout.form(workbook, sheet, last + 2, results, note_column=3)
    style.set_widths(sheet, {"A": 56, "B": 20, "C": 20, "D": 20, "E": 20})
    layout.set_print(sheet, f"A1:E{last + 1 + len(results)}", landscape=False, title_rows="1:2")
    style.protect(sheet)
