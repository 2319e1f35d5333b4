"""The Sizing sheet: the inputs (quality, fit, demand, hardware, serving) and the models of equal loss side by side."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from .. import checks, formulas, layout, style
from ..layout import Row, header_row
from . import objective_results
from .serving_inputs import SERVING_HARDWARE
from .inputs import (
    CHECKS,
    DEFAULT_INPUTS,
    DEMAND_BLOCK,
    FIT_BLOCK,
    FIT_FIELDS,
    FIT_IN_USE,
    HARDWARE_BLOCK,
    HARDWARE_OK,
    HARDWARE_VALUES,
    LABELS,
    NOT_USABLE,
    PAPER_HARDWARE,
    PAPER_SOURCE,
    QUALITY_BLOCK,
    SIZING,
    STATUS,
    needs_hardware,
    price_formula,
    used_formula,
)

#: The three models of the results table: column header, params name, tokens name, out_ prefix, needs prices.
MODELS = (
    ("Chinchilla-style", "chin_params", "chin_tokens", "out_chinchilla", False),
    ("Compute-optimal", "compute_params", "compute_tokens", "out_compute_opt", False),
    ("Cost-optimal", "cost_params", "cost_tokens", "out_cost_opt", True),
)

#: Rows of the results table: label, formula template over {n} {d} and the Chinchilla column {cn} {cd},
#: number format, out_ suffix (None: no out_ name), needs prices.
RESULT_ROWS = (
    ("Parameters", "{n}", "big", "params", False),
    ("Training tokens", "{d}", "big", "tokens", False),
    ("Tokens per parameter", "{d}/{n}", "decimal", None, False),
    ("Training FLOPs (6ND)", "6*{n}*{d}", "flops", "train_flops", False),
    ("Inference FLOPs (2N per token)", "2*{n}*inference_tokens", "flops", "inference_flops", False),
    ("Lifetime FLOPs", "6*{n}*{d}+2*{n}*inference_tokens", "flops", "flops", False),
    ("Training $", "k_train*6*{n}*{d}", "usd", None, True),
    ("Inference $", "{n}*usd_per_param", "usd", None, True),
    ("Lifetime $", "6*k_train*{n}*{d}+{n}*usd_per_param", "usd", "usd", True),
    ("Parameters vs Chinchilla", "{n}/{cn}", "percent", None, False),
    ("Training tokens vs Chinchilla", "{d}/{cd}", "percent", None, False),
    ("Lifetime FLOPs saved vs Chinchilla",
     "1-(6*{n}*{d}+2*{n}*inference_tokens)/(6*{cn}*{cd}+2*{cn}*inference_tokens)", "percent", None, False),
    ("Lifetime $ saved vs Chinchilla",
     "1-(6*k_train*{n}*{d}+{n}*usd_per_param)/(6*k_train*{cn}*{cd}+{cn}*usd_per_param)", "percent", None, True),
)

#: Per hardware value: the short label of the override note and the TEXT format of its figures.
_NOTE_LABELS = {"train_usd_per_hour": ("training $/GPU-hour", "0.00"),
                "train_peak_tflops": ("training peak TFLOP/s", "0.0"),
                "infer_usd_per_hour": ("inference $/GPU-hour", "0.00"),
                "infer_peak_tflops": ("inference peak TFLOP/s", "0.0")}


def _override_note() -> str:
    """The results header's note: which hardware figures are typed overrides, and what they replace."""
    paper = f'in_hardware_source="{PAPER_SOURCE}"'
    parts = []
    for key, (label, fmt) in _NOTE_LABELS.items():
        source = f'IF({paper},"the paper\'s ","the price sheet\'s ")'
        replaced = f"IF({paper},paper_{key},price_{key})"
        parts.append(f'IF(ISBLANK(in_{key}),"","{label} typed: "&TEXT(in_{key},"{fmt}")&", not "&{source}&'
                     f'IF(ISNUMBER({replaced}),TEXT({replaced},"{fmt}"),"(none)")&". ")')
    typed = "&".join(parts)
    none_typed = (f'IF({paper},"Hardware: the paper\'s Table 2 figures (the accelerator choice is not used).",'
                  '"Hardware: the price sheet\'s figures for the accelerators chosen (no override typed).")')
    return f'IF(LEN({typed})=0,{none_typed},"Typed override: "&{typed})'


def _hardware_row(key: str, fmt: str, note: str) -> Row:
    """Override input (in_ name) in B, the value used in C, the price sheet's value in D, the paper's in E."""
    name = f"in_{key}"
    return Row(LABELS[name], DEFAULT_INPUTS[name], "xl_input", fmt, name, note,
               extra=(("=" + used_formula(key), "xl_output", fmt), ("=" + price_formula(key), "xl_formula", fmt),
                      (PAPER_HARDWARE[key], "xl_formula", fmt)))


def _check_row(block: str) -> Row:
    return Row("Check", "=" + checks.status_formula(CHECKS[block]), "xl_formula", "text", block)


def rows() -> list:
    """The input rows of the Sizing sheet, top to bottom (None: an empty row)."""
    d, fit = DEFAULT_INPUTS, FIT_IN_USE
    helper = "in_chinchilla_size_params"
    used = ",".join(f"ISNUMBER(use_{key})" for key in HARDWARE_VALUES)
    return [
        header_row("Target quality", "value"),
        Row(LABELS["in_loss"], d["in_loss"], "xl_input", "loss", "in_loss",
            "nats/token on the fit's data; must exceed the fit's E (type it, or copy the row below)"),
        Row(LABELS[helper], d[helper], "xl_input", "big", helper, "parameters; the row below gives its loss"),
        Row("Loss of that model (copy into Target loss)",
            "=" + formulas.power_law_loss(helper, formulas.chinchilla_tokens(helper, fit), fit), "xl_output", "loss",
            "helper_loss", "trained on the fit's Chinchilla-optimal tokens"),
        _check_row(QUALITY_BLOCK),
        None,
        header_row("Scaling law", "value"),
        Row(LABELS["in_fit"], d["in_fit"], "xl_input", "text", "in_fit",
            "pick a named fit, or 'custom' for the constants typed below (Fits sheet)"),
        header_row("Constants", *FIT_FIELDS),
        Row("Custom constants (used if Fit = custom)", d["in_custom_E"], "xl_input", "0.0000000", "in_custom_E",
            extra=tuple((d[f"in_custom_{k}"], "xl_input", "0.0000000") for k in FIT_FIELDS[1:])),
        Row("Constants in use", "=INDEX(fits_E,MATCH(in_fit,fit_names,0))", "xl_formula", "0.0000000", "fit_E",
            extra=tuple((f"=INDEX(fits_{k},MATCH(in_fit,fit_names,0))", "xl_formula", "0.0000000")
                        for k in FIT_FIELDS[1:])),
        _check_row(FIT_BLOCK),
        None,
        header_row("Lifetime demand", "value"),
        Row(LABELS["in_requests"], d["in_requests"], "xl_input", "big", "in_requests"),
        Row(LABELS["in_input_tokens"], d["in_input_tokens"], "xl_input", "count", "in_input_tokens"),
        Row(LABELS["in_output_tokens"], d["in_output_tokens"], "xl_input", "count", "in_output_tokens"),
        Row("Lifetime inference tokens", "=in_requests*(in_input_tokens+in_output_tokens)", "xl_formula", "big",
            "inference_tokens", "requests x (input + output)"),
        _check_row(DEMAND_BLOCK),
        None,
        header_row("Hardware", "override (typed)", "value used", "price sheet", "paper's Table 2"),
        Row(LABELS["in_hardware_source"], d["in_hardware_source"], "xl_input", "text", "in_hardware_source",
            "where figures come from when no override is typed"),
        Row(LABELS["in_train_hardware"], d["in_train_hardware"], "xl_input", "text", "in_train_hardware",
            "a row of the Hardware prices sheet ($/hour, BF16 peak)"),
        _hardware_row("train_usd_per_hour", "usd_cents", "leave empty to use the figure of 'Hardware figures from'"),
        _hardware_row("train_peak_tflops", "decimal", "price sheet: the BF16 peak"),
        Row(LABELS["in_infer_hardware"], d["in_infer_hardware"], "xl_input", "text", "in_infer_hardware",
            "a row of the Hardware prices sheet ($/hour, INT8 peak, else BF16)"),
        _hardware_row("infer_usd_per_hour", "usd_cents", "leave empty to use the figure of 'Hardware figures from'"),
        _hardware_row("infer_peak_tflops", "decimal", "price sheet: INT8 TOP/s (the paper serves in INT8), else BF16"),
        Row(LABELS["in_mfu_train"], d["in_mfu_train"], "xl_input", "percent", "in_mfu_train",
            "fraction of peak reached, above 0% and at most 100%"),
        Row(LABELS["in_mfu_prefill"], d["in_mfu_prefill"], "xl_input", "percent", "in_mfu_prefill"),
        Row(LABELS["in_mfu_decode"], d["in_mfu_decode"], "xl_input", "percent", "in_mfu_decode"),
        Row("Every price and peak found", f"=IF(AND({used}),1,0)", "xl_formula", "yes_no", HARDWARE_OK,
            f"no: $ results and the cost-optimal model show {NOT_USABLE}; add the figure on Hardware prices"),
        _check_row(HARDWARE_BLOCK),
        None,
        *objective_results.input_rows(),
    ]


def _results_table(workbook, sheet, first_row: int) -> int:
    """The override note, then the results of the three models; returns the last row used."""
    style.apply(sheet.cell(row=first_row, column=1, value="Hardware in use"), "xl_label")
    note = style.apply(sheet.cell(row=first_row, column=2), "xl_note")
    note.value = "=" + _override_note()
    style.define(workbook, "override_note", SIZING, note.coordinate)
    header = first_row + 1
    layout.header(sheet, header, ["Results (models of equal loss)", *(m[0] for m in MODELS)], label_first=True)
    chin_n, chin_d = MODELS[0][1], MODELS[0][2]
    for i, (label, template, fmt, suffix, row_needs_prices) in enumerate(RESULT_ROWS, start=1):
        r = header + i
        style.apply(sheet.cell(row=r, column=1, value=label), "xl_label")
        for j, (_, n, d, prefix, model_needs_prices) in enumerate(MODELS, start=2):
            cell = sheet.cell(row=r, column=j)
            style.apply(cell, "xl_output" if suffix else "xl_formula", fmt)
            formula = template.format(n=n, d=d, cn=chin_n, cd=chin_d)
            cell.value = "=" + (needs_hardware(formula) if row_needs_prices or model_needs_prices else formula)
            if suffix:
                style.define(workbook, f"{prefix}_{suffix}", SIZING, cell.coordinate)
    note = header + len(RESULT_ROWS) + 1
    style.apply(sheet.cell(row=note, column=1), "xl_note").value = (
        "Chinchilla-style: the least training compute for the loss. Compute-optimal: the fewest lifetime FLOPs "
        "(Sardana et al. Eq. 3). Cost-optimal: the lowest lifetime $ (Eq. 6); it may use more FLOPs than the "
        "Chinchilla model (a negative saving).")
    return note


def add(workbook) -> None:
    """Add the Sizing sheet."""
    sheet = workbook.create_sheet(SIZING)
    layout.title(sheet, "Lifetime sizing: the model that reaches a target loss most cheaply over its life",
                 "Yellow cells are inputs. Training costs 6ND FLOPs, serving 2N FLOPs per token (Sardana et al. "
                 "2024, arXiv 2401.00448).")
    input_rows = rows()
    where = layout.form(workbook, sheet, 4, input_rows, note_column=7)
    for key in HARDWARE_VALUES:
        row = where[f"in_{key}"][1:]
        for prefix, column in (("use", "C"), ("price", "D"), ("paper", "E")):
            style.define(workbook, f"{prefix}_{key}", SIZING, f"{column}{row}")
    for key in SERVING_HARDWARE:
        row = where[f"in_{key}"][1:]
        for prefix, column in (("use", "C"), ("price", "D")):
            style.define(workbook, f"{prefix}_{key}", SIZING, f"{column}{row}")
    style.apply(sheet["A3"], "xl_label").value = "All inputs"
    style.apply(sheet["B3"], "xl_output", "text").value = "=" + checks.overall_status(CHECKS)
    style.define(workbook, STATUS, SIZING, "B3")
    for name in ("in_custom_", "fit_"):
        row = int(where[f"{name}E"][1:])
        for j, field in enumerate(FIT_FIELDS[1:], start=3):
            style.define(workbook, f"{name}{field}", SIZING, f"{get_column_letter(j)}{row}")
    last = _results_table(workbook, sheet, 4 + len(input_rows) + 1)
    last = objective_results.results_table(workbook, sheet, last + 2)
    style.set_widths(sheet, {"A": 40, "B": 15, "C": 15, "D": 15, "E": 15, "F": 15, "G": 80})
    sheet.freeze_panes = "B4"
    layout.set_print(sheet, f"A1:G{last}", landscape=True, title_rows="1:3")
    style.protect(sheet)
