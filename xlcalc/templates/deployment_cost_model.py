"""Workbook 2, deployment_cost_model.xlsx: what serving up to three candidate models costs, month by month.

Sheets: "Read me"; "Model" (traffic, training hardware, three model candidates with their serving choices,
and the results per candidate); "Projection" (24 months of traffic growth: GPUs, monthly and cumulative
cost, charts); "Hardware prices" (the shared price sheet, :mod:`.price_sheet`). Every input cell has an
``in_`` name and every key output an ``out_`` name; the formulas use only defined names.

The serving model is the roofline of :mod:`xlcalc.serving`. For candidate k:

- one copy of the model needs replica = max(1, ceil((bytes_per_param N + batch context kv) / 1e9 / memory_gb))
  GPUs (weights plus the KV cache of a full batch);
- decode: step_s = max(2 N batch / (replica peak 1e12 mfu_decode), (bytes_per_param N + batch context kv) /
  (replica bw 1e12 bw_eff)); tokens/s per GPU = batch / step_s / replica;
- prefill tokens/s per GPU = peak 1e12 mfu_prefill / (2N); $ per 1M tokens = $/GPU-hour / (tokens/s 3600) 1e6;
- GPU-seconds per request = input_tokens / prefill + output_tokens / decode (both per GPU);
- GPUs in month m = replica ceil(requests_m gpu_s / (730 3600) peak_factor / utilisation / replica),
  with requests_m = requests (1 + growth)^(m-1); monthly $ = GPUs $/GPU-hour 730;
- training $ = 6 N D / (train_peak 1e12 mfu_train) / 3600 x train $/GPU-hour; cumulative $ = training $ plus
  the monthly $ so far;
- candidate B overtakes candidate A (both chosen on the sheet) in the first month at whose end B's cumulative
  $ is below A's (out_crossover_month; the text "not within 24 months" when it never is).

:func:`expected_outputs` computes the same outputs with :mod:`xlcalc.serving` and :mod:`xlcalc.economics`
(the workbook's formulas are checked against it in LibreOffice by the tests and by ``xlcalc check``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter

from .. import economics, invalid_reasons, serving
from ..economics import HOURS_PER_MONTH
from ..errors import InvalidInputError
from ..serving import CEIL_SLACK  # relative slack before rounding GPU counts up: 140 GB on 70 GB GPUs is 2, not 3
from . import checks, price_sheet, style

FILENAME = "deployment_cost_model.xlsx"
TITLE = "xlcalc deployment cost model"
MODEL_SHEET = "Model"
PROJECTION_SHEET = "Projection"
CANDIDATES = (1, 2, 3)
MONTHS = 24
NEVER = f"not within {MONTHS} months"
#: What a result shows when it cannot be computed (a missing price or spec, or an unusable input): never $0.
NOT_AVAILABLE = checks.NOT_AVAILABLE
#: Defined name of the overall input status (Model!C3): the first unusable input, or OK.
STATUS = checks.STATUS
OK = checks.OK


# ----------------------------------------------------------------------------------------------
# Layout as data


@dataclasses.dataclass(frozen=True)
class Input:
    """An input cell: key (named in_<key>, or in_c<k>_<key> per candidate), label, unit, format, rule, default(s)."""

    key: str
    label: str
    unit: str
    number_format: str
    rule: str
    default: object  # one value, or a tuple with one value per candidate
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Formula:
    """A computed cell: key, label, unit, format, formula (str.format fields are keys), out_ name or calc_ name."""

    key: str
    label: str
    unit: str
    number_format: str
    formula: str
    output: bool = True
    note: str = ""
    needs: str | None = None  # a key of NEEDS: shown as NOT_AVAILABLE unless that condition holds


TRAFFIC = (
    Input("requests_per_month", "Requests in month 1", "requests/month", "count", "non_negative", 1e8,
          "0 is allowed: no GPUs, no serving cost, and n/a for the effective $ per million tokens"),
    Input("input_tokens", "Prompt (input) tokens per request", "tokens", "count", "non_negative", 1000),
    Input("output_tokens", "Generated (output) tokens per request", "tokens", "count", "positive", 250),
    Input("monthly_growth", "Traffic growth per month", "fraction", "percent", "growth", 0.08,
          "0.08 = 8% more requests each month; negative for a decline"),
    Input("peak_factor", "Peak traffic / average traffic", "x", "ratio", "at_least_one", 2.0,
          "GPUs are provisioned for the peak hour"),
    Input("utilisation", "Target utilisation at peak", "fraction", "percent", "fraction", 0.7,
          "headroom: GPUs run at this fraction of their roofline throughput at peak"),
)

TRAINING = (
    Input("train_gpu", "Training accelerator", "", "text", "gpu", "H100 SXM5",
          "pick from the Hardware prices sheet (BF16 peak is used)"),
    Input("mfu_train", "Training MFU", "fraction", "percent", "fraction", 0.4),
)


def _listed(key: str, gpu: str) -> str:
    """A price-sheet field of an accelerator, or the text 'not listed' (no #N/A) when it is not in the sheet."""
    return price_sheet.price_formula((key,), gpu)


TRAINING_FORMULAS = (
    Formula("train_usd_per_hour", "Training $ per GPU-hour", "$/GPU-hour", "$#,##0.000",
            _listed("usd_per_hour", "{train_gpu}"), output=False),
    Formula("train_peak_tflops", "Training peak (BF16, dense)", "TFLOP/s", "#,##0.0",
            _listed("peak_tflops_bf16", "{train_gpu}"), output=False),
    Formula("hours_per_month", "Hours in a month (8760 / 12)", "hours", "count", f"{HOURS_PER_MONTH:g}",
            output=False),
    Formula("train_peak_ok", "Training peak found?", "", "General", "AND(ISNUMBER({train_peak_tflops}),{train_peak_tflops}>0)",
            output=False),
    Formula("train_ok", "Training price and peak found?", "", "General",
            "AND({train_peak_ok},ISNUMBER({train_usd_per_hour}),{train_usd_per_hour}>0)", output=False,
            note="FALSE: training $ and totals show n/a (never $0)"),
)

CANDIDATE_INPUTS = (
    Input("name", "Candidate", "", "text", "text",
          ("70B, Chinchilla-trained", "30B, over-trained", "8B, heavily over-trained")),
    Input("params", "Parameters N", "params", "big", "positive", (70e9, 30e9, 8e9)),
    Input("train_tokens", "Training tokens D", "tokens", "big", "positive", (1.4e12, 6e12, 15e12)),
    Input("precision", "Arithmetic precision", "", "text", "precision", ("bf16", "fp8", "fp8"),
          "bf16, fp8 or int8: which peak of the accelerator the FLOPs run at (BF16 where the chip has none)"),
    Input("bytes_per_param", "Bytes per weight", "bytes", "decimal", "positive", (2.0, 1.0, 1.0),
          "2 for BF16, 1 for FP8/INT8, 0.5 for 4-bit weights"),
    Input("kv_bytes_per_token", "KV cache per token of context", "bytes", "count", "non_negative",
          (327680, 245760, 131072), "2 x layers x KV heads x head dim x bytes per value"),
    Input("gpu", "Serving accelerator", "", "text", "gpu", ("H100 SXM5", "H100 SXM5", "L40S")),
    Input("batch", "Batch (sequences decoded together)", "sequences", "count", "whole", (32, 64, 64)),
    Input("context_tokens", "Context held per sequence", "tokens", "count", "non_negative", (1250, 1250, 1250),
          "prompt plus generated tokens in the KV cache"),
    Input("mfu_prefill", "MFU in prefill", "fraction", "percent", "fraction", (0.5, 0.5, 0.5)),
    Input("mfu_decode", "MFU in decode (compute-bound limit)", "fraction", "percent", "fraction", (0.5, 0.5, 0.5)),
    Input("bw_eff", "Memory bandwidth efficiency", "fraction", "percent", "fraction", (0.8, 0.8, 0.8)),
)

#: The peak field used at each precision, with the BF16 peak where the chip has none (bf16: only that).
PEAK_FIELDS = {"fp8": ("peak_tflops_fp8", "peak_tflops_bf16"), "int8": ("peak_tflops_int8", "peak_tflops_bf16"),
               "bf16": ("peak_tflops_bf16",)}
_PEAK = (f'IFERROR(IF({{precision}}="fp8",{price_sheet.price_choice(PEAK_FIELDS["fp8"], "{gpu}")},'
         f'IF({{precision}}="int8",{price_sheet.price_choice(PEAK_FIELDS["int8"], "{gpu}")},'
         f'{price_sheet.price_choice(PEAK_FIELDS["bf16"], "{gpu}")})),"{checks.NOT_LISTED}")')

CANDIDATE_FORMULAS = (
    Formula("status", "Status", "", "text",
            'IF(ISNA(MATCH({gpu},hw_names,0)),"pick an accelerator listed in Hardware prices",'
            'IF(NOT({spec_ok}),'
            '"type this accelerator\'s peak TFLOP/s, memory and bandwidth in Hardware prices",'
            'IF(NOT({price_ok}),"no $ per GPU-hour for this accelerator: type one in Hardware prices",'
            'IF(NOT({train_ok}),"no $ per GPU-hour for the training accelerator","ok"))))',
            output=False),
    Formula("usd_per_hour", "$ per GPU-hour", "$/GPU-hour", "$#,##0.000", _listed("usd_per_hour", "{gpu}"),
            output=False),
    Formula("peak_tflops", "Peak at this precision (dense)", "TFLOP/s", "#,##0.0",
            _PEAK,
            output=False),
    Formula("mem_bw_tbs", "Memory bandwidth", "TB/s", "0.000", _listed("mem_bw_tbs", "{gpu}"), output=False),
    Formula("gpu_memory_gb", "Memory per GPU", "GB", "#,##0", _listed("memory_gb", "{gpu}"), output=False),
    Formula("spec_ok", "Specs found?", "", "General",
            "AND(ISNUMBER({peak_tflops}),{peak_tflops}>0,ISNUMBER({mem_bw_tbs}),{mem_bw_tbs}>0,"
            "ISNUMBER({gpu_memory_gb}),{gpu_memory_gb}>0)", output=False,
            note="FALSE: throughput, GPUs and costs show n/a"),
    Formula("price_ok", "Price found?", "", "General", "AND(ISNUMBER({usd_per_hour}),{usd_per_hour}>0)", output=False,
            note="FALSE: costs show n/a (never $0)"),
    Formula("memory_gb", "Memory for weights + full-batch KV cache", "GB", "#,##0.0",
            "({bytes_per_param}*{params}+{batch}*{context_tokens}*{kv_bytes_per_token})/1e9", needs="inputs"),
    Formula("replica_gpus", "GPUs per copy of the model", "GPUs", "count",
            f"MAX(1,ROUNDUP({{memory_gb}}/{{gpu_memory_gb}}*(1-{CEIL_SLACK!r}),0))", needs="spec"),
    Formula("s_per_token", "Decode step (time per output token)", "s", "0.00000",
            "MAX(2*{params}*{batch}/({replica_gpus}*{peak_tflops}*1e12*{mfu_decode}),"
            "({bytes_per_param}*{params}+{batch}*{context_tokens}*{kv_bytes_per_token})"
            "/({replica_gpus}*{mem_bw_tbs}*1e12*{bw_eff}))", needs="spec"),
    Formula("tokens_per_sec", "Decode tokens/s per GPU", "tokens/s", "#,##0.0",
            "{batch}/{s_per_token}/{replica_gpus}", needs="spec"),
    Formula("prefill_tokens_per_sec", "Prefill tokens/s per GPU", "tokens/s", "#,##0",
            "{peak_tflops}*1e12*{mfu_prefill}/(2*{params})", needs="spec"),
    Formula("usd_per_mtok_input", "$ per million input tokens", "$/1M tokens", "usd_precise",
            "{usd_per_hour}/({prefill_tokens_per_sec}*3600)*1e6", needs="cost"),
    Formula("usd_per_mtok_output", "$ per million output tokens", "$/1M tokens", "usd_precise",
            "{usd_per_hour}/({tokens_per_sec}*3600)*1e6", needs="cost"),
    Formula("gpu_s_per_request", "GPU-seconds per request", "GPU-s", "0.000000",
            "{input_tokens}/{prefill_tokens_per_sec}+{output_tokens}/{tokens_per_sec}", output=False, needs="spec"),
    Formula("gpus", "GPUs needed in month 1", "GPUs", "count", "INDEX({proj_gpus},1)", needs="spec"),
    Formula("monthly_usd", "Serving cost in month 1", "$", "usd", "INDEX({proj_monthly_usd},1)", needs="cost"),
    Formula("usd_per_mtok_effective", "Effective $ per million tokens in month 1 (paid GPUs)", "$/1M tokens",
            "usd_precise", "{monthly_usd}/({requests_per_month}*({input_tokens}+{output_tokens}))*1e6", needs="effective"),
    Formula("train_gpu_hours", "Training GPU-hours", "GPU-hours", "count",
            "6*{params}*{train_tokens}/({train_peak_tflops}*1e12*{mfu_train})/3600", needs="train_peak"),
    Formula("train_usd", "Training cost (up front)", "$", "usd", "{train_gpu_hours}*{train_usd_per_hour}", needs="train"),
    Formula("gpus_month24", f"GPUs needed in month {MONTHS}", "GPUs", "count", f"INDEX({{proj_gpus}},{MONTHS})", needs="spec"),
    Formula("monthly_usd_month24", f"Serving cost in month {MONTHS}", "$", "usd",
            f"INDEX({{proj_monthly_usd}},{MONTHS})", needs="cost"),
    Formula("total_usd", f"Total cost over {MONTHS} months (training + serving)", "$", "usd",
            f"INDEX({{proj_cumulative_usd}},{MONTHS})", needs="total"),
)

CROSSOVER_INPUTS = (
    Input("crossover_from", "Compare candidate A", "1, 2 or 3", "0", "candidate", 1),
    Input("crossover_to", "with candidate B", "1, 2 or 3", "0", "candidate", 2),
)


def _choose(selector: str, key: str) -> str:
    return f"CHOOSE({selector}," + ",".join(f"out_c{k}_{key}" for k in CANDIDATES) + ")"


CROSSOVER_FORMULAS = (
    Formula("crossover_month", "First month B's cumulative cost is below A's", "month", "0",
            f'IF(COUNT(proj_crossover)=0,"{NEVER}",MIN(proj_crossover))', needs="crossover"),
    Formula("crossover_saving_usd", f"A's total minus B's total after {MONTHS} months", "$", "usd",
            f"{_choose('in_crossover_from', 'total_usd')}-{_choose('in_crossover_to', 'total_usd')}", needs="crossover"),
)

#: Conditions (formula templates over the candidate's names) under which a result can be computed.
NEEDS = {
    "inputs": None,
    "spec": "{spec_ok}",
    "cost": "AND({spec_ok},{price_ok})",
    "effective": "AND({spec_ok},{price_ok},{requests_per_month}*({input_tokens}+{output_tokens})>0)",
    "train_peak": "{train_peak_ok}",
    "train": "{train_ok}",
    "total": "AND({spec_ok},{price_ok},{train_ok})",
    "crossover": ("AND(ISNUMBER(" + _choose("in_crossover_from", "total_usd") + "),ISNUMBER("
                  + _choose("in_crossover_to", "total_usd") + "))"),
}

#: Input rules (see :mod:`.checks`): the shared kinds, a precision, a candidate number and an accelerator.
#: An input whose rule is not listed ("text") is not checked.
RULES = checks.RULES | {
    "precision": checks.Rule('OR({x}="bf16",{x}="fp8",{x}="int8")', "must be bf16, fp8 or int8",
                             lambda value, _: isinstance(value, str) and value.casefold() in PEAK_FIELDS,
                             checks.Validation("list", '"bf16,fp8,int8"', error="Pick bf16, fp8 or int8.")),
    "candidate": checks.Rule("OR({x}=1,{x}=2,{x}=3)", "must be 1, 2 or 3",
                             lambda value, _: checks.is_number(value) and value in CANDIDATES,
                             checks.Validation("list", '"1,2,3"', error="Pick candidate 1, 2 or 3.")),
    "gpu": price_sheet.ACCELERATOR,
}


def _checked(specs, k=None) -> list:
    """The checks of the inputs in ``specs`` that have a rule (candidate k's names for per-candidate inputs)."""
    return [checks.Check(input_name(spec.key, k), spec.label, RULES[spec.rule]) for spec in specs
            if isinstance(spec, Input) and spec.rule in RULES]


def _check_blocks() -> dict:
    """The input checks of each block, by the defined name of its status cell, in the order of the sheet."""
    blocks = {"calc_traffic_check": _checked(TRAFFIC), "calc_training_check": _checked(TRAINING)}
    blocks |= {f"calc_c{k}_input_check": _checked(CANDIDATE_INPUTS, k) for k in CANDIDATES}
    return blocks | {"calc_crossover_check": _checked(CROSSOVER_INPUTS)}


#: Columns of the Projection sheet: key, header, format, width. Candidate columns repeat per candidate.
PROJECTION_FIRST_ROW = 4
PROJECTION_HEADER_ROW = 3
PROJECTION_SERIES = (("gpus", "GPUs", "count"), ("monthly_usd", "monthly $", "usd"),
                     ("cumulative_usd", "cumulative $", "usd"))


def _projection_columns() -> dict:
    """Column letter of every Projection column: month, requests, (series, k) for each candidate, crossover."""
    columns = {"month": "A", "requests": "B"}
    index = 3
    for series, _, _ in PROJECTION_SERIES:
        for k in CANDIDATES:
            columns[(series, k)] = get_column_letter(index)
            index += 1
    columns["crossover"] = get_column_letter(index)
    return columns


PROJECTION_COLUMNS = _projection_columns()
PROJECTION_LAST_ROW = PROJECTION_FIRST_ROW + MONTHS - 1

# Model sheet: label, unit, one value column per candidate (C, D, E), note.
LABEL_COLUMN, UNIT_COLUMN, NOTE_COLUMN = "A", "B", "F"
VALUE_COLUMNS = {k: get_column_letter(2 + k) for k in CANDIDATES}

READ_ME = [
    "What serving a model costs, for up to three candidate models side by side, and when a model that costs more "
    "to train (a smaller, over-trained one) pays for itself through cheaper serving.",
    "Use: on the Model sheet, type your traffic (requests in the first month, tokens per request, growth, peak "
    "factor, target utilisation), the training accelerator and MFU, and for each candidate its size, training "
    "tokens, precision, KV cache per token and serving choices (accelerator from the drop-down, batch, "
    "efficiencies). Yellow cells are inputs; everything else is computed and locked (the sheets are protected "
    "without a password). The Projection sheet shows 24 months of GPUs, monthly and cumulative cost, with charts.",
    "Checks: each input block has a Check row naming its first unusable input (empty, text, or out of range), "
    "and 'All inputs' at the top of the Model sheet shows the first of them; until it reads OK every result shows "
    "n/a. The Status row under each candidate says what is missing when its results cannot be computed (an "
    "accelerator not in the price sheet, or one without a price or specs): throughput and GPUs need the specs, "
    "costs also need a price, and what cannot be computed shows n/a, never $0 (the projection leaves those "
    "cells empty, and the crossover shows n/a when either compared candidate has no total).",
    "Hardware: the Hardware prices sheet lists xlcalc's accelerator catalog (dense peak FLOP/s, memory, bandwidth, "
    "TDP) with the lowest on-demand $ per GPU-hour found and where and when it was seen. Correct a price or add "
    "your own accelerator in an empty row; it then appears in the drop-downs.",
    "Model: decode runs at the roofline, step time = max(2 N batch / (GPUs peak MFU), (bytes per weight N + batch "
    "context KV bytes) / (GPUs bandwidth efficiency)), on as many GPUs as one copy of the weights plus a full "
    "batch's KV cache needs; prefill is compute-bound, peak MFU / 2N tokens/s per GPU. Each month needs enough "
    "whole copies to carry the peak hour at the target utilisation; a month is 730 hours. Training costs 6 N D "
    "FLOPs at the training accelerator's BF16 peak times its MFU.",
    "Names: every input cell has a defined name starting in_ (e.g. in_c1_params, in_requests_per_month) and every "
    "key output one starting out_ (e.g. out_c1_tokens_per_sec, out_c1_usd_per_mtok_output, out_c1_gpus, "
    "out_c1_monthly_usd, out_c1_train_usd, out_crossover_month); the price table's columns are hw_names, "
    "hw_usd_per_hour, hw_peak_tflops, hw_mem_bw_tbs, hw_memory_gb and others.",
    "Not modelled: activation memory and framework overhead (leave headroom through the utilisation), tensor-"
    "parallel communication, speculative decoding, discounts for reserved capacity, and the cost of idle copies "
    "below one per month.",
    "Regenerate: `xlcalc build` writes this template to workbooks/; `xlcalc refresh BOOK.xlsx` rebuilds your copy "
    "from today's template keeping your inputs and your price rows (with a backup); `xlcalc check BOOK.xlsx` "
    "recalculates it in LibreOffice and reports any output that disagrees with xlcalc's Python functions.",
    "Sources: roofline serving model and prices from xlcalc (xlcalc.serving, xlcalc.economics, xlcalc.hardware); "
    "the question of over-training smaller models for cheaper inference follows Sardana et al. 2024, "
    "'Beyond Chinchilla-Optimal' (arXiv 2401.00448).",
]


# ----------------------------------------------------------------------------------------------
# Names


def input_name(key: str, k: int | None = None) -> str:
    """The defined name of an input: in_<key>, or in_c<k>_<key> for candidate k."""
    return f"in_{key}" if k is None else f"in_c{k}_{key}"


def formula_name(formula: Formula, k: int | None = None) -> str:
    """The defined name of a computed cell: out_/calc_ <key>, with c<k>_ for candidate k."""
    prefix = "out_" if formula.output else "calc_"
    return f"{prefix}{formula.key}" if k is None else f"{prefix}c{k}_{formula.key}"


def _names(k: int | None = None) -> dict:
    """Field key -> defined name, for the formulas of candidate k (global names when k is None)."""
    names = {i.key: input_name(i.key) for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS}
    names.update({f.key: formula_name(f) for f in TRAINING_FORMULAS + CROSSOVER_FORMULAS})
    if k is not None:
        names.update({i.key: input_name(i.key, k) for i in CANDIDATE_INPUTS})
        names.update({f.key: formula_name(f, k) for f in CANDIDATE_FORMULAS})
        names.update({f"proj_{series}": f"proj_c{k}_{series}" for series, _, _ in PROJECTION_SERIES})
        names["k"] = k
    return names


def input_names() -> list[str]:
    """Every in_ name of the workbook."""
    names = [input_name(i.key) for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS]
    names += [input_name(i.key, k) for k in CANDIDATES for i in CANDIDATE_INPUTS]
    return names


def output_names() -> list[str]:
    """Every out_ name of the workbook."""
    names = [formula_name(f, k) for k in CANDIDATES for f in CANDIDATE_FORMULAS if f.output]
    return names + [formula_name(f) for f in CROSSOVER_FORMULAS]


def default_inputs() -> dict:
    """The template's input values by in_ name."""
    values = {input_name(i.key): i.default for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS}
    for k in CANDIDATES:
        values.update({input_name(i.key, k): i.default[k - 1] for i in CANDIDATE_INPUTS})
    return values


# ----------------------------------------------------------------------------------------------
# Building


def _label_row(sheet, row: int, label: str, unit: str, note: str = "") -> None:
    style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_label").value = label
    style.apply(sheet[f"{UNIT_COLUMN}{row}"], "xl_note").value = unit or None
    if note:
        style.apply(sheet[f"{NOTE_COLUMN}{row}"], "xl_note").value = note


def _section(sheet, row: int, title: str, headers=()) -> None:
    style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_header").value = title
    style.apply(sheet[f"{UNIT_COLUMN}{row}"], "xl_header").value = "unit"
    for k in CANDIDATES:
        cell = style.apply(sheet[f"{VALUE_COLUMNS[k]}{row}"], "xl_header")
        cell.value = headers[k - 1] if headers else None


def _write_input(workbook, sheet, spec: Input, row: int, k: int | None, value) -> None:
    column = VALUE_COLUMNS[k or 1]
    cell = style.apply(sheet[f"{column}{row}"], "xl_input", spec.number_format)
    price_sheet.put(cell, value)
    style.define(workbook, input_name(spec.key, k), MODEL_SHEET, cell.coordinate)


def _write_formula(workbook, sheet, spec: Formula, row: int, k: int | None) -> None:
    column = VALUE_COLUMNS[k or 1]
    cell = style.apply(sheet[f"{column}{row}"], "xl_output" if spec.output else "xl_formula", spec.number_format)
    names = _names(k)
    formula = spec.formula.format_map(names)
    if spec.needs is not None:
        if NEEDS[spec.needs] is not None:
            formula = f'IF({NEEDS[spec.needs].format_map(names)},{formula},"{NOT_AVAILABLE}")'
        formula = checks.guarded(formula, NOT_AVAILABLE)
    cell.value = "=" + formula
    style.define(workbook, formula_name(spec, k), MODEL_SHEET, cell.coordinate)


def _model_blocks():
    """The blocks of the Model sheet, top to bottom: title, column headers, cells, one column per candidate?"""
    return (
        ("Traffic", (), TRAFFIC + (CHECK_FORMULAS["traffic"],), False),
        ("Training", (), TRAINING + (CHECK_FORMULAS["training"],) + TRAINING_FORMULAS, False),
        ("Model candidates and serving choices", [f"Candidate {k}" for k in CANDIDATES],
         CANDIDATE_INPUTS + (CHECK_FORMULAS["candidate"],), True),
        ("Results per candidate", [f"={input_name('name', k)}" for k in CANDIDATES], CANDIDATE_FORMULAS, True),
        ("When does one candidate overtake another?", (),
         CROSSOVER_INPUTS + (CHECK_FORMULAS["crossover"],) + CROSSOVER_FORMULAS, False),
    )


#: The Check row of each input block: the first unusable input of the block, or OK.
CHECK_FORMULAS = {
    "traffic": Formula("traffic_check", "Check", "", "text", checks.status_formula(_checked(TRAFFIC)), output=False),
    "training": Formula("training_check", "Check", "", "text", checks.status_formula(_checked(TRAINING)),
                        output=False),
    # written for candidate 0, then made a template over {k} (braces of the text escaped first)
    "candidate": Formula("input_check", "Check", "", "text",
                         checks.status_formula(_checked(CANDIDATE_INPUTS, 0)).replace("{", "{{").replace("}", "}}")
                         .replace("in_c0_", "in_c{k}_"), output=False),
    "crossover": Formula("crossover_check", "Check", "", "text", checks.status_formula(_checked(CROSSOVER_INPUTS)),
                         output=False),
}


def _model_sheet(workbook):
    sheet = workbook.create_sheet(MODEL_SHEET)
    style.apply(sheet["A1"], "xl_title").value = TITLE
    style.apply(sheet["A2"], "xl_note").value = ("Yellow cells are inputs. Results per candidate are below the "
                                                 "inputs; the month-by-month projection is on the Projection sheet.")
    style.apply(sheet[f"{LABEL_COLUMN}3"], "xl_label").value = "All inputs (first unusable one, or OK)"
    style.apply(sheet[f"{VALUE_COLUMNS[1]}3"], "xl_output", "text").value = "=" + checks.overall_status(_check_blocks())
    style.define(workbook, STATUS, MODEL_SHEET, f"{VALUE_COLUMNS[1]}3")
    row = 2
    for title, headers, specs, per_candidate in _model_blocks():
        row += 2
        _section(sheet, row, title, headers)
        for spec in specs:
            row += 1
            _label_row(sheet, row, spec.label, spec.unit, spec.note)
            for k in CANDIDATES if per_candidate else (None,):
                if isinstance(spec, Input):
                    default = spec.default[k - 1] if per_candidate else spec.default
                    _write_input(workbook, sheet, spec, row, k, default)
                else:
                    _write_formula(workbook, sheet, spec, row, k)
    row += 1
    note = style.apply(sheet[f"{LABEL_COLUMN}{row}"], "xl_note")
    note.value = ("B overtakes A in the first month at whose end B's cumulative cost (training plus serving so "
                  "far) is below A's; see the cumulative-cost chart on the Projection sheet.")
    style.set_widths(sheet, {LABEL_COLUMN: 50, UNIT_COLUMN: 14, NOTE_COLUMN: 70}
                     | {VALUE_COLUMNS[k]: 24 for k in CANDIDATES})
    sheet.freeze_panes = "C4"
    style.protect(sheet)
    return sheet


def _projection_formulas(row: int) -> dict:
    """The formulas of one month's row of the Projection sheet, by column key ("" where not computable)."""
    c = PROJECTION_COLUMNS
    month = f"${c['month']}{row}"

    def when(condition: str | None, formula: str) -> str:
        inner = formula if condition is None else f'IF({condition},{formula},"")'
        return "=" + checks.guarded(inner)

    formulas = {"month": row - PROJECTION_FIRST_ROW + 1,
                "requests": when(None, f"in_requests_per_month*(1+in_monthly_growth)^({month}-1)")}
    for k in CANDIDATES:
        names = _names(k)
        replica = names["replica_gpus"]
        formulas[("gpus", k)] = when(NEEDS["spec"].format_map(names), (
            f"{replica}*ROUNDUP({c['requests']}{row}*{names['gpu_s_per_request']}"
            f"/(calc_hours_per_month*3600)*in_peak_factor/in_utilisation/{replica}*(1-{CEIL_SLACK!r}),0)"))
        formulas[("monthly_usd", k)] = when(NEEDS["cost"].format_map(names),
                                            f"{c[('gpus', k)]}{row}*{names['usd_per_hour']}*calc_hours_per_month")
        previous = f"{c[('cumulative_usd', k)]}{row - 1}" if row > PROJECTION_FIRST_ROW else names["train_usd"]
        formulas[("cumulative_usd", k)] = when(NEEDS["total"].format_map(names),
                                               f"{previous}+{c[('monthly_usd', k)]}{row}")
    cumulative = ",".join(f"{c[('cumulative_usd', k)]}{row}" for k in CANDIDATES)
    a, b = f"CHOOSE(in_crossover_from,{cumulative})", f"CHOOSE(in_crossover_to,{cumulative})"
    formulas["crossover"] = when(f"AND(ISNUMBER({a}),ISNUMBER({b}))", f'IF({b}<{a},{month},"")')
    return formulas


def _projection_layout() -> dict:
    """Header, number format and defined name of every Projection column, by column key."""
    layout = {"month": ("Month", "0", "proj_month"), "requests": ("Requests", "count", "proj_requests")}
    for series, label, number_format in PROJECTION_SERIES:
        for k in CANDIDATES:
            layout[(series, k)] = (f'={input_name("name", k)}&" {label}"', number_format, f"proj_c{k}_{series}")
    layout["crossover"] = ("Month B is below A", "0", "proj_crossover")
    return layout


#: The Projection sheet's charts: series plotted, title, y-axis title.
PROJECTION_CHARTS = (("monthly_usd", "Serving cost per month", "$ per month"),
                     ("cumulative_usd", "Cumulative cost (training + serving)", "$ so far"))


def _projection_sheet(workbook):
    sheet = workbook.create_sheet(PROJECTION_SHEET)
    columns = PROJECTION_COLUMNS
    style.apply(sheet["A1"], "xl_title").value = f"{MONTHS}-month projection"
    style.apply(sheet["A2"], "xl_note").value = ("Requests grow by in_monthly_growth each month; cumulative cost "
                                                 "starts with each candidate's training cost.")
    formulas = {row: _projection_formulas(row) for row in range(PROJECTION_FIRST_ROW, PROJECTION_LAST_ROW + 1)}
    for key, (header, number_format, name) in _projection_layout().items():
        letter = columns[key]
        style.apply(sheet[f"{letter}{PROJECTION_HEADER_ROW}"], "xl_header").value = header
        for row, row_formulas in formulas.items():
            style.apply(sheet[f"{letter}{row}"], "xl_formula", number_format).value = row_formulas[key]
        style.define(workbook, name, PROJECTION_SHEET, f"{letter}{PROJECTION_FIRST_ROW}:{letter}{PROJECTION_LAST_ROW}")
        sheet.column_dimensions[letter].width = 8 if key == "month" else 17
    sheet.row_dimensions[PROJECTION_HEADER_ROW].height = 45
    sheet.freeze_panes = f"B{PROJECTION_FIRST_ROW}"
    months = Reference(sheet, min_col=1, min_row=PROJECTION_FIRST_ROW, max_row=PROJECTION_LAST_ROW)
    anchor = get_column_letter(len(columns) + 2)
    for position, (series, title, y_title) in enumerate(PROJECTION_CHARTS):
        indices = [sheet[f"{columns[(series, k)]}1"].column for k in CANDIDATES]
        data = Reference(sheet, min_col=min(indices), max_col=max(indices), min_row=PROJECTION_HEADER_ROW,
                         max_row=PROJECTION_LAST_ROW)
        chart = style.line_chart(title, data, months, y_title=y_title, x_title="month")
        sheet.add_chart(chart, f"{anchor}{PROJECTION_HEADER_ROW + position * 20}")
    style.protect(sheet)
    return sheet


def build() -> Workbook:
    """The deployment cost model with its default inputs (deterministic: same content on every call)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    style.register_styles(workbook)
    style.readme_sheet(workbook, TITLE, READ_ME)
    model = _model_sheet(workbook)
    _projection_sheet(workbook)
    price_sheet.add_price_sheet(workbook)
    checks.add_validations(workbook, [check for block in _check_blocks().values() for check in block])
    workbook.active = workbook.index(model)
    return workbook


# ----------------------------------------------------------------------------------------------
# The same outputs in Python


def _hardware(table: dict, name, field: str) -> float:
    """A field of a listed accelerator as the sheet's lookup gives it (empty: 0; text: NaN, failing every test)."""
    return price_sheet.price_value(table, name, (field,))


def input_problem(values: dict, table: dict) -> str | None:
    """The first unusable input, worded as the sheet's Check rows (Model!C3) word it; None when all are usable."""
    return checks.first_problem(_check_blocks().values(), values, {"prices": table})


def expected_outputs(inputs: dict, prices=None) -> dict:
    """The out_ values for the in_ values ``inputs``, computed with xlcalc.serving and xlcalc.economics.

    ``prices`` are the rows of the workbook's price sheet ({field key: value}, see
    :func:`.price_sheet.read_rows`); by default the catalog's. Missing inputs take the template's defaults.
    An unusable input raises InvalidInputError with the sheet's Check text (the sheet shows it in Model!C3
    and NOT_AVAILABLE in its results). A result that needs a price or spec the price sheet lacks, or a ratio
    with nothing to divide by, is NOT_AVAILABLE, as in the sheet: never a silent $0.

    Examples
    --------
    >>> out = expected_outputs({"in_c1_gpu": "GB200 (per GPU)"})  # listed, but no price in the catalog
    >>> out["out_c1_gpus"], out["out_c1_monthly_usd"], out["out_crossover_month"]
    (33.0, 'n/a', 'n/a')
    >>> expected_outputs({"in_requests_per_month": None})
    Traceback (most recent call last):
    ...
    xlcalc.errors.InvalidInputError: Requests in month 1 (in_requests_per_month) must be a number of 0 or more
    """
    values = default_inputs() | {k: v for k, v in inputs.items() if k.startswith("in_")}
    table = price_sheet.price_table(price_sheet.catalog_rows() if prices is None else prices)
    problem = input_problem(values, table)
    if problem is not None:
        raise InvalidInputError(problem)
    number = lambda name: float(values[name])  # noqa: E731
    requests = number("in_requests_per_month")
    n_in, n_out = number("in_input_tokens"), number("in_output_tokens")
    peak_factor, utilisation = number("in_peak_factor"), number("in_utilisation")
    train_gpu = values["in_train_gpu"]
    train_usd_per_hour = _hardware(table, train_gpu, "usd_per_hour")
    train_peak = _hardware(table, train_gpu, "peak_tflops_bf16")
    train_peak_ok = train_peak > 0
    train_ok = train_peak_ok and train_usd_per_hour > 0
    months = np.arange(1, MONTHS + 1, dtype=float)
    monthly_requests = requests * (1.0 + number("in_monthly_growth")) ** (months - 1.0)

    out, cumulative = {}, {}
    for k in CANDIDATES:
        get = lambda key: values[input_name(key, k)]  # noqa: E731
        params, batch = float(get("params")), float(get("batch"))
        bpp, kv, context = float(get("bytes_per_param")), float(get("kv_bytes_per_token")), float(get("context_tokens"))
        gpu = get("gpu")
        usd_per_hour = _hardware(table, gpu, "usd_per_hour")
        peak = price_sheet.price_value(table, gpu, PEAK_FIELDS.get(str(get("precision")).casefold(), ()))
        bandwidth = _hardware(table, gpu, "mem_bw_tbs")
        gpu_memory = _hardware(table, gpu, "memory_gb")
        spec_ok = peak > 0 and bandwidth > 0 and gpu_memory > 0
        price_ok = usd_per_hour > 0
        mfu_prefill, mfu_decode, bw_eff = float(get("mfu_prefill")), float(get("mfu_decode")), float(get("bw_eff"))
        prefix = f"out_c{k}_"
        out[prefix + "memory_gb"] = serving.memory_needed_gb(params, bpp, batch, context, kv)
        train_gpu_hours = NOT_AVAILABLE
        if train_peak_ok:
            train_gpu_hours = economics.train_cost(params, float(get("train_tokens")), 1.0, train_peak,
                                                   mfu=number("in_mfu_train")).gpu_hours
        train_usd = train_gpu_hours * train_usd_per_hour if train_ok else NOT_AVAILABLE
        out |= {prefix + "train_gpu_hours": train_gpu_hours, prefix + "train_usd": train_usd}
        computed = ("replica_gpus", "s_per_token", "tokens_per_sec", "prefill_tokens_per_sec", "gpus", "gpus_month24",
                    "usd_per_mtok_input", "usd_per_mtok_output", "monthly_usd", "usd_per_mtok_effective",
                    "monthly_usd_month24", "total_usd")
        out |= {prefix + key: NOT_AVAILABLE for key in computed}
        if not spec_ok:
            continue
        replica = serving.gpus_to_fit(params, gpu_memory, bpp, batch, context, kv)
        decode_args = dict(bytes_per_param=bpp, batch=batch, gpus=replica, mfu=mfu_decode, bw_eff=bw_eff,
                           kv_bytes_per_token=kv, context_tokens=context)
        with invalid_reasons() as why:
            # a missing price changes no GPU count: count with $1/GPU-hour and show no $ (as the sheet)
            month = economics.monthly_cost(params, monthly_requests, n_in, n_out,
                                           usd_per_hour if price_ok else 1.0, peak, bandwidth,
                                           bpp, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor, utilisation,
                                           replica, kv, context, memory_gb=gpu_memory)
        if why.any:
            raise InvalidInputError(f"candidate {k}: {next(r for r in why.reasons if r)}")
        gpus = month.gpus
        out |= {
            prefix + "replica_gpus": replica,
            prefix + "s_per_token": serving.time_per_output_token_s(params, peak, bandwidth, **decode_args),
            prefix + "tokens_per_sec": serving.tokens_per_sec(params, peak, bandwidth, **decode_args) / replica,
            prefix + "prefill_tokens_per_sec": serving.prefill_tokens_per_sec(params, peak, 1, mfu_prefill),
            prefix + "gpus": float(gpus[0]),
            prefix + "gpus_month24": float(gpus[MONTHS - 1]),
        }
        if not price_ok:
            continue
        monthly = month.usd
        tokens = requests * (n_in + n_out)
        out |= {
            prefix + "usd_per_mtok_input": serving.input_cost_per_mtok(params, usd_per_hour, peak, 1, mfu_prefill),
            prefix + "usd_per_mtok_output": serving.cost_per_mtok(params, usd_per_hour, peak, bandwidth, **decode_args),
            prefix + "monthly_usd": float(monthly[0]),
            prefix + "usd_per_mtok_effective": float(monthly[0]) / tokens * 1e6 if tokens > 0 else NOT_AVAILABLE,
            prefix + "monthly_usd_month24": float(monthly[MONTHS - 1]),
        }
        if train_ok:
            cumulative[k] = train_usd + np.cumsum(monthly)
            out[prefix + "total_usd"] = float(cumulative[k][-1])
    a, b = int(number("in_crossover_from")), int(number("in_crossover_to"))
    if a in cumulative and b in cumulative:
        below = np.nonzero(cumulative[b] < cumulative[a])[0]
        out["out_crossover_month"] = float(below[0] + 1) if below.size else NEVER
        out["out_crossover_saving_usd"] = out[f"out_c{a}_total_usd"] - out[f"out_c{b}_total_usd"]
    else:
        out["out_crossover_month"] = out["out_crossover_saving_usd"] = NOT_AVAILABLE
    return out
