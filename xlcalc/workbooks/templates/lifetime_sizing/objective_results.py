"""The Sizing sheet's serving, energy, carbon and data inputs, and the serving-aware, least-kWh and least-CO2 models."""

from __future__ import annotations

from openpyxl.styles import Alignment

from ....core.data_limits import R_D_STAR
from .. import checks, layout, price_sheet, style
from ..layout import Row, header_row
from .inputs import CHECKS, DEFAULT_INPUTS, FIT_IN_USE, LABELS, NOT_USABLE, SIZING
from .objectives_solver import OBJECTIVES, POWER_FOUND, SERVING_FOUND, binding_word, ready
from .serving_inputs import SERVING_BLOCK, SERVING_HARDWARE

#: The three models: out_ prefix per objective key.
PREFIXES = {"usd": "out_serving_cost", "kwh": "out_energy_opt", "carbon": "out_carbon_opt"}

#: Rows of the results: label, formula template over {k} (objective key), format, out_ suffix, needs power.
RESULT_ROWS = (
    ("Parameters", "opt_{k}_params", "big", "params", False),
    ("Training tokens", "opt_{k}_tokens", "big", "tokens", False),
    ("Tokens per parameter", "opt_{k}_tokens/opt_{k}_params", "decimal", None, False),
    ("Lifetime $", "use_train_usd_per_hour*opt_{k}_hours_t+use_infer_usd_per_hour*opt_{k}_hours_i", "usd", "usd",
     False),
    ("Lifetime kWh", "(use_train_tdp_w/1000*in_train_pue)*opt_{k}_hours_t+(use_infer_tdp_w/1000*in_infer_pue)"
     "*opt_{k}_hours_i", "count", "kwh", True),
    ("Lifetime kg CO2e", "(use_train_tdp_w/1000*in_train_pue*in_train_g_per_kwh/1000)*opt_{k}_hours_t"
     "+(use_infer_tdp_w/1000*in_infer_pue*in_infer_g_per_kwh/1000)*opt_{k}_hours_i", "count", "co2_kg", True),
    ("Training GPU-hours", "opt_{k}_hours_t", "count", None, False),
    ("Inference GPU-hours", "opt_{k}_hours_i", "count", None, False),
    ("Epochs over the unique tokens", 'IF(opt_has_cap=1,opt_{k}_tokens/in_unique_tokens,"n/a")', "decimal", "epochs",
     False),
    ("Data cap binds (repeats data)",
     'IF(opt_has_cap=1,IF(opt_{k}_tokens>in_unique_tokens*(1+1E-12),1,0),"n/a")', "yes_no", "data_binds", False),
    ("GPUs per replica", "opt_{k}_gpus", "count", "gpus", False),
    ("Batch per replica", "opt_{k}_batch", "decimal", "batch", False),
    ("What limits decode", binding_word("opt_{k}_code"), "text", "binding", False),
    ("Parameters vs cost-optimal (paper's fixed MFU)", "opt_{k}_params/cost_params", "percent", None, False),
    ("Training tokens vs cost-optimal", "opt_{k}_tokens/cost_tokens", "percent", None, False),
)

#: Every out_ name of the three models, in sheet order.
OBJECTIVE_OUTPUTS = tuple(f"{PREFIXES[key]}_{suffix}" for _, _, _, suffix, _ in RESULT_ROWS if suffix
                          for key, *_ in OBJECTIVES)


def _hardware_row(key: str) -> Row:
    """Override in B, the value used in C (the override, else the price sheet's for the accelerator), the price
    sheet's in D."""
    hardware, field, _ = SERVING_HARDWARE[key]
    name = f"in_{key}"
    price = price_sheet.shown_price((field,), hardware)
    note = "from the price sheet's row of the accelerator chosen above; type a figure to override it"
    fmt = "0.000" if field == "mem_bw_tbs" else "count"
    return Row(LABELS[name], DEFAULT_INPUTS[name], "xl_input", fmt, name, note,
               extra=((f"=IF(ISBLANK({name}),{price},{name})", "xl_output", fmt), ("=" + price, "xl_formula", fmt)))


def input_rows() -> list:
    """The serving, energy, carbon and data inputs of the Sizing sheet (None: an empty row)."""
    d, fit = DEFAULT_INPUTS, FIT_IN_USE

    def typed(name, fmt, note=""):
        return Row(LABELS[name], d[name], "xl_input", fmt, name, note)

    found = ",".join(f"ISNUMBER(use_{key})" for key in ("infer_memory_gb", "infer_mem_bw_tbs"))
    power = ",".join(f"ISNUMBER(use_{key})" for key in ("train_tdp_w", "infer_tdp_w"))
    return [
        header_row("Serving, energy, carbon and data", "override (typed)", "value used", "price sheet"),
        *(_hardware_row(key) for key in SERVING_HARDWARE),
        Row("Memory and bandwidth found", f"=IF(AND({found}),1,0)", "xl_formula", "yes_no", SERVING_FOUND,
            f"no: the serving-aware models show {NOT_USABLE}"),
        Row("Power found for both accelerators", f"=IF(AND({power}),1,0)", "xl_formula", "yes_no", POWER_FOUND,
            f"no (an accelerator without a published TDP): kWh and CO2 show {NOT_USABLE}; type its power above"),
        typed("in_train_pue", "ratio", "power usage effectiveness of the data centre, 1 or more"),
        typed("in_infer_pue", "ratio"),
        typed("in_train_g_per_kwh", "count", "grid carbon intensity, above 0 (training and serving may run in "
                                             "different regions)"),
        typed("in_infer_g_per_kwh", "count", "0 or more"),
        typed("in_serving_bytes_per_param", "decimal", "bytes of a weight when serving (the inference peak in "
                                                       "use is INT8 where listed)"),
        typed("in_kv_bytes_per_param", "0.000E+00", "KV cache per token / params: 5.6E-06 is a 30B model's "
                                                    "(xlcalc.model_shape, 1 byte)"),
        typed("in_serving_mfu_decode", "percent", "decode efficiency where a step is compute-bound"),
        typed("in_bw_eff", "percent", "fraction of the memory bandwidth reached"),
        typed("in_headroom", "percent", "memory not used for weights or KV cache"),
        typed("in_batch", "count", "sequences decoded together (a cap when a target is given)"),
        typed("in_tpot_ms", "decimal", "each generated token within this time; a smaller batch, more GPUs"),
        typed("in_max_gpus", "count", "GPUs per replica are 1, 2, 4 or 8, up to this"),
        typed("in_unique_tokens", "big", "repeated tokens count less (Muennighoff et al. 2023): empty for unlimited"),
        Row("Lowest loss reachable with these unique tokens",
            f'=IF(ISNUMBER(in_unique_tokens),{fit["E"]}+{fit["B"]}/(in_unique_tokens*(1+{R_D_STAR}))^{fit["beta"]},'
            f'"no cap")', "xl_formula", "loss", "data_floor_loss", "E + B / (U (1 + R*_D))^beta: any size, any "
                                                                      "number of epochs"),
        Row("Check", "=" + checks.status_formula(CHECKS[SERVING_BLOCK]), "xl_formula", "text", SERVING_BLOCK),
    ]


def _status() -> str:
    """One line under the results: OK, or why a column shows n/a."""
    return (f'IF({ready("usd")}=0,"n/a: a price, peak, memory or bandwidth of the accelerators chosen is missing",'
            'IF(opt_usd_gpus=0,"No model reaching the target loss can be served on up to Max GPUs per replica '
            '(memory, or the time-per-token target at batch 1): raise Max GPUs or the memory, relax the target, or '
            'aim for a higher loss",'
            f'IF({ready("kwh")}=0,"kWh and CO2 n/a: an accelerator has no power (TDP) figure; type one above","OK")))')


def results_table(workbook, sheet, first_row: int) -> int:
    """The three serving-aware models from ``first_row``; returns the last row used."""
    layout.header(sheet, first_row, ["Serving-aware models (roofline serving, data cap)",
                                     *(label for _, label, _, _ in OBJECTIVES)], label_first=True)
    for i, (label, template, fmt, suffix, needs_power) in enumerate(RESULT_ROWS, start=1):
        r = first_row + i
        style.apply(sheet.cell(row=r, column=1, value=label), "xl_label")
        for j, (key, *_) in enumerate(OBJECTIVES, start=2):
            formula = template.format(k=key)
            if needs_power:
                formula = f'IF({POWER_FOUND}=1,{formula},"{NOT_USABLE}")'
            formula = f'IF({ready(key)}=1,IF(opt_{key}_gpus>0,{formula},"{NOT_USABLE}"),"{NOT_USABLE}")'
            cell = style.apply(sheet.cell(row=r, column=j), "xl_output" if suffix else "xl_formula", fmt)
            cell.value = "=" + formula
            if suffix == "binding":   # "memory bandwidth" takes two lines of a 15-wide column
                cell.alignment = Alignment(horizontal="right", wrap_text=True)
                sheet.row_dimensions[r].height = 30
            if suffix:
                style.define(workbook, f"{PREFIXES[key]}_{suffix}", SIZING, cell.coordinate)
    r = first_row + len(RESULT_ROWS) + 1
    style.apply(sheet.cell(row=r, column=1, value="Serving-aware models"), "xl_label")
    cell = style.apply(sheet.cell(row=r, column=2, value="=" + _status()), "xl_formula", "text")
    style.define(workbook, "serving_result", SIZING, cell.coordinate)
    note = r + 1
    for offset, text in enumerate((
            "Serving-aware: inference priced by the roofline (batch, memory, time-per-token target, whole GPUs per "
            "replica), not a fixed decode MFU. Least kWh: power x PUE. Least CO2: x grid intensity per phase.",
            "Solved live on the Objectives solver sheet, as xlcalc.lifetime_optimal(..., serving='roofline'); the "
            "percentages compare with the cost-optimal column above (no data cap).")):
        style.apply(sheet.cell(row=note + offset, column=1), "xl_note").value = text
    note += 1
    return note
