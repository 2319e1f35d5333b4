"""The deployment cost model as data: every input and computed cell of the Model sheet, its defined name, label,
unit, number format and formula, the conditions under which a result can be computed, and the input checks.

The sheet builders (:mod:`.model`, :mod:`.projection`) lay these out; :mod:`.expected` computes the same
outputs in Python. To add an input block (a latency target, say), add a tuple of :class:`Input` and
:class:`Formula` here and list it in :data:`MODEL_BLOCKS`.
"""

from __future__ import annotations

import dataclasses


from openpyxl.utils import get_column_letter

from ....core.economics import HOURS_PER_MONTH
from ....core.serving import CEIL_SLACK  # relative slack before rounding GPU counts up: 140 GB on 70 GB GPUs is 2, not 3
from .. import checks, price_sheet
from ..formulas import number
from . import latency_target
from .cells import Block, Formula, Input
from .shapes_sheet import MODEL

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
SLACK = number(CEIL_SLACK)


TRAFFIC = (
    Input("requests_per_month", "Requests in month 1", "requests/month", "big", "non_negative", 1e8,
          "0 is allowed: no GPUs, no serving cost, effective $ per 1M tokens n/a"),
    Input("input_tokens", "Prompt (input) tokens per request", "tokens", "count", "non_negative", 1000),
    Input("output_tokens", "Generated (output) tokens per request", "tokens", "count", "positive", 250),
    Input("monthly_growth", "Traffic growth per month", "% per month", "percent", "growth", 0.08,
          "8% more requests each month; negative for a decline"),
    Input("peak_factor", "Peak traffic / average traffic", "x", "ratio", "at_least_one", 2.0,
          "GPUs are provisioned for the peak hour"),
    Input("utilisation", "Target utilisation at peak", "%", "percent", "fraction", 0.7,
          "headroom: GPUs run at this share of their roofline throughput at peak"),
)

TRAINING = (
    Input("train_gpu", "Training accelerator", "", "text", "gpu", "H100 SXM5",
          "pick from the Hardware prices sheet (its BF16 peak is used)"),
    Input("mfu_train", "Training MFU", "%", "percent", "fraction", 0.4),
)


def _shown(key: str, gpu: str) -> str:
    """A price-sheet field of an accelerator, n/a where the sheet has none above 0, or 'not listed'."""
    return price_sheet.shown_price((key,), gpu)


TRAINING_FORMULAS = (
    Formula("train_usd_per_hour", "Training $ per GPU-hour", "$/GPU-hour", "usd_cents",
            _shown("usd_per_hour", "{train_gpu}"), output=False),
    Formula("train_peak_tflops", "Training peak (BF16, dense)", "TFLOP/s", "#,##0.0",
            _shown("peak_tflops_bf16", "{train_gpu}"), output=False),
)

#: Cells only the formulas read (flags and constants), shown in the Workings block at the foot of the sheet.
TRAINING_WORKINGS = (
    Formula("hours_per_month", "Hours in a month (8760 / 12)", "hours", "count", number(HOURS_PER_MONTH),
            output=False),
    Formula("train_peak_ok", "Training peak found", "", "yes_no",
            "IF(AND(ISNUMBER({train_peak_tflops}),{train_peak_tflops}>0),1,0)", output=False),
    Formula("train_ok", "Training price and peak found", "", "yes_no",
            "IF(AND({train_peak_ok},ISNUMBER({train_usd_per_hour}),{train_usd_per_hour}>0),1,0)", output=False,
            note="no: training $ and totals show n/a (never $0)"),
)

CANDIDATE_INPUTS = (
    Input("name", "Candidate", "", "text", "text",
          ("70B, Chinchilla-trained", "30B, over-trained", "8B, heavily over-trained")),
    Input("params", "Parameters N", "parameters", "big", "positive", (70e9, 30e9, 8e9)),
    Input("train_tokens", "Training tokens D", "tokens", "big", "positive", (1.4e12, 6e12, 15e12)),
    Input("precision", "Arithmetic precision", "", "text", "precision", ("bf16", "fp8", "fp8"),
          "bf16, fp8 or int8: the peak at that precision (BF16 where none)"),
    Input("bytes_per_param", "Bytes per weight", "bytes", "decimal", "positive", (2.0, 1.0, 1.0),
          "2 for BF16, 1 for FP8/INT8, 0.5 for 4-bit weights"),
    Input("kv_bytes_per_token", "KV cache per token of context", "bytes", "count", "non_negative",
          (327680, 245760, 131072), "2 x layers x KV heads x head dim x bytes per value"),
    Input("gpu", "Serving accelerator", "", "text", "gpu", ("H100 SXM5", "H100 SXM5", "L40S")),
    Input("batch", "Batch (sequences decoded together)", "sequences", "count", "whole", (32, 64, 64)),
    Input("context_tokens", "Context held per sequence", "tokens", "count", "non_negative", (1250, 1250, 1250),
          "prompt plus generated tokens in the KV cache"),
    Input("mfu_prefill", "MFU in prefill", "%", "percent", "fraction", (0.5, 0.5, 0.5)),
    Input("mfu_decode", "MFU in decode (compute-bound limit)", "%", "percent", "fraction", (0.5, 0.5, 0.5)),
    Input("bw_eff", "Memory bandwidth efficiency", "%", "percent", "fraction", (0.8, 0.8, 0.8)),
)

#: The peak field used at each precision, with the BF16 peak where the chip has none (bf16: only that).
PEAK_FIELDS = {"fp8": ("peak_tflops_fp8", "peak_tflops_bf16"), "int8": ("peak_tflops_int8", "peak_tflops_bf16"),
               "bf16": ("peak_tflops_bf16",)}
_PEAK = (f'IF({{precision}}="fp8",{price_sheet.shown_price(PEAK_FIELDS["fp8"], "{gpu}")},'
         f'IF({{precision}}="int8",{price_sheet.shown_price(PEAK_FIELDS["int8"], "{gpu}")},'
         f'{price_sheet.shown_price(PEAK_FIELDS["bf16"], "{gpu}")}))')

#: The status texts of a candidate (all fit a 3-line cell).
CANDIDATE_STATUS = {
    "unlisted": "pick an accelerator listed in Hardware prices",
    "no_spec": "type this accelerator's peak, memory and bandwidth in Hardware prices",
    "no_price": "no $ per GPU-hour for this accelerator: type one in Hardware prices",
    "no_train_price": "no $ per GPU-hour for the training accelerator",
}

CANDIDATE_FORMULAS = (
    Formula("status", "Status", "", "text",
            f'IF(ISNA(MATCH({{gpu}},hw_names,0)),"{CANDIDATE_STATUS["unlisted"]}",'
            f'IF(NOT({{spec_ok}}),"{CANDIDATE_STATUS["no_spec"]}",'
            f'IF(NOT({{price_ok}}),"{CANDIDATE_STATUS["no_price"]}",'
            f'IF(NOT({{train_ok}}),"{CANDIDATE_STATUS["no_train_price"]}","{OK}"))))',
            output=False, wrap=True),
    Formula("usd_per_hour", "$ per GPU-hour", "$/GPU-hour", "usd_cents", _shown("usd_per_hour", "{gpu}"),
            output=False),
    Formula("peak_tflops", "Peak at this precision (dense)", "TFLOP/s", "#,##0.0", _PEAK, output=False),
    Formula("mem_bw_tbs", "Memory bandwidth", "TB/s", "0.000", _shown("mem_bw_tbs", "{gpu}"), output=False),
    Formula("gpu_memory_gb", "Memory per GPU", "GB", "#,##0", _shown("memory_gb", "{gpu}"), output=False),
    Formula("memory_gb", "Memory for weights + full-batch KV cache", "GB", "#,##0.0",
            "({bytes_per_param}*{params}+{batch}*{context_tokens}*{kv_bytes_per_token})/1E+9", needs="inputs"),
    Formula("replica_gpus", "GPUs per copy of the model", "GPUs", "count",
            f"MAX(1,ROUNDUP({{memory_gb}}/{{gpu_memory_gb}}*(1-{SLACK}),0))", needs="spec"),
    Formula("s_per_token", "Decode step (time per output token)", "s", "seconds",
            "MAX(2*{params}*{batch}/({replica_gpus}*{peak_tflops}*1E+12*{mfu_decode}),"
            "({bytes_per_param}*{params}+{batch}*{context_tokens}*{kv_bytes_per_token})"
            "/({replica_gpus}*{mem_bw_tbs}*1E+12*{bw_eff}))", needs="spec"),
    Formula("tokens_per_sec", "Decode tokens/s per GPU", "tokens/s", "#,##0.0",
            "{batch}/{s_per_token}/{replica_gpus}", needs="spec"),
    Formula("prefill_tokens_per_sec", "Prefill tokens/s per GPU", "tokens/s", "#,##0",
            "{peak_tflops}*1E+12*{mfu_prefill}/(2*{params})", needs="spec"),
    Formula("usd_per_mtok_input", "$ per million input tokens", "$/1M tokens", "usd_precise",
            "{usd_per_hour}/({prefill_tokens_per_sec}*3600)*1E+6", needs="cost"),
    Formula("usd_per_mtok_output", "$ per million output tokens", "$/1M tokens", "usd_precise",
            "{usd_per_hour}/({tokens_per_sec}*3600)*1E+6", needs="cost"),
    Formula("gpus", "GPUs needed in month 1", "GPUs", "count", "INDEX({proj_gpus},1)", needs="spec"),
    Formula("monthly_usd", "Serving cost in month 1", "$", "usd", "INDEX({proj_monthly_usd},1)", needs="cost"),
    Formula("usd_per_mtok_effective", "Effective $ per million tokens in month 1 (GPUs paid)", "$/1M tokens",
            "usd_precise", "{monthly_usd}/({requests_per_month}*({input_tokens}+{output_tokens}))*1E+6",
            needs="effective"),
    Formula("train_gpu_hours", "Training GPU-hours", "GPU-hours", "count",
            "6*{params}*{train_tokens}/({train_peak_tflops}*1E+12*{mfu_train})/3600", needs="train_peak"),
    Formula("train_usd", "Training cost (up front)", "$", "usd", "{train_gpu_hours}*{train_usd_per_hour}",
            needs="train"),
    Formula("gpus_month24", f"GPUs needed in month {MONTHS}", "GPUs", "count", f"INDEX({{proj_gpus}},{MONTHS})",
            needs="spec"),
    Formula("monthly_usd_month24", f"Serving cost in month {MONTHS}", "$", "usd",
            f"INDEX({{proj_monthly_usd}},{MONTHS})", needs="cost"),
    Formula("total_usd", f"Total cost over {MONTHS} months (training + serving)", "$", "usd",
            f"INDEX({{proj_cumulative_usd}},{MONTHS})", needs="total"),
)

CANDIDATE_WORKINGS = (
    Formula("spec_ok", "Specs found", "", "yes_no",
            "IF(AND(ISNUMBER({peak_tflops}),ISNUMBER({mem_bw_tbs}),ISNUMBER({gpu_memory_gb})),1,0)", output=False,
            note="no: throughput, GPUs and costs show n/a"),
    Formula("price_ok", "Price found", "", "yes_no", "IF(ISNUMBER({usd_per_hour}),1,0)", output=False,
            note="no: costs show n/a (never $0)"),
    Formula("gpu_s_per_request", "GPU-seconds per request", "GPU-s", "0.000000",
            "{input_tokens}/{prefill_tokens_per_sec}+{output_tokens}/{tokens_per_sec}", output=False, needs="spec"),
)

CROSSOVER_INPUTS = (
    Input("crossover_from", "Compare candidate A", "1, 2 or 3", "0", "candidate", 1),
    Input("crossover_to", "with candidate B", "1, 2 or 3", "0", "candidate", 2),
)


def choose(selector: str, key: str) -> str:
    """CHOOSE(selector, out_c1_<key>, out_c2_<key>, out_c3_<key>)."""
    return f"CHOOSE({selector}," + ",".join(f"out_c{k}_{key}" for k in CANDIDATES) + ")"


CROSSOVER_FORMULAS = (
    Formula("crossover_month", "First month B's cumulative cost is below A's", "month", "0",
            f'IF(COUNT(proj_crossover)=0,"{NEVER}",MIN(proj_crossover))', needs="crossover"),
    Formula("crossover_saving_usd", f"A's total minus B's total after {MONTHS} months", "$", "usd",
            f"{choose('in_crossover_from', 'total_usd')}-{choose('in_crossover_to', 'total_usd')}", needs="crossover"),
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
    **latency_target.NEEDS,
    "crossover": ("AND(ISNUMBER(" + choose("in_crossover_from", "total_usd") + "),ISNUMBER("
                  + choose("in_crossover_to", "total_usd") + "))"),
}

#: Input rules (see :mod:`..checks`): the shared kinds, a precision, a candidate number and an accelerator.
#: An input whose rule is not listed ("text") is not checked.
RULES = checks.RULES | {
    "precision": checks.Rule('OR({x}="bf16",{x}="fp8",{x}="int8")', "must be bf16, fp8 or int8",
                             lambda value, _: isinstance(value, str) and value.casefold() in PEAK_FIELDS,
                             checks.Validation("list", '"bf16,fp8,int8"', error="Pick bf16, fp8 or int8.")),
    "candidate": checks.Rule("OR({x}=1,{x}=2,{x}=3)", "must be 1, 2 or 3",
                             lambda value, _: checks.is_number(value) and value in CANDIDATES,
                             checks.Validation("list", '"1,2,3"', error="Pick candidate 1, 2 or 3.")),
    "gpu": price_sheet.ACCELERATOR,
    "model": MODEL,
    "optional_target": dataclasses.replace(
        checks.RULES["override"], allowed="must be empty (no target) or a number greater than 0",
        validation=dataclasses.replace(checks.RULES["override"].validation,
                                       error="Type a time in ms greater than 0, or clear the cell for no target.")),
}


# ----------------------------------------------------------------------------------------------
# Names


def input_name(key: str, k: int | None = None) -> str:
    """The defined name of an input: in_<key>, or in_c<k>_<key> for candidate k."""
    return f"in_{key}" if k is None else f"in_c{k}_{key}"


def formula_name(formula: Formula, k: int | None = None) -> str:
    """The defined name of a computed cell: out_/calc_ <key>, with c<k>_ for candidate k."""
    prefix = "out_" if formula.output else "calc_"
    return f"{prefix}{formula.key}" if k is None else f"{prefix}c{k}_{formula.key}"


GLOBAL_FORMULAS = TRAINING_FORMULAS + TRAINING_WORKINGS + CROSSOVER_FORMULAS
PER_CANDIDATE_FORMULAS = (CANDIDATE_FORMULAS + CANDIDATE_WORKINGS + latency_target.RESULTS
                          + latency_target.WORKINGS)
#: The inputs typed once per candidate.
PER_CANDIDATE_INPUTS = CANDIDATE_INPUTS + latency_target.INPUTS

#: The series of the Projection sheet: key, header suffix, number format.
PROJECTION_SERIES = (("gpus", "GPUs", "count"), ("monthly_usd", "monthly $", "usd"),
                     ("cumulative_usd", "cumulative $", "usd"))


def names(k: int | None = None) -> dict:
    """Field key -> defined name, for the formulas of candidate k (global names when k is None)."""
    found = {i.key: input_name(i.key) for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS}
    found.update({f.key: formula_name(f) for f in GLOBAL_FORMULAS})
    if k is not None:
        found.update({i.key: input_name(i.key, k) for i in PER_CANDIDATE_INPUTS})
        found.update({f.key: formula_name(f, k) for f in PER_CANDIDATE_FORMULAS})
        found.update({f"proj_{series}": f"proj_c{k}_{series}" for series, _, _ in PROJECTION_SERIES})
        found["k"] = k
    return found


def input_names() -> list[str]:
    """Every in_ name of the workbook."""
    found = [input_name(i.key) for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS]
    return found + [input_name(i.key, k) for k in CANDIDATES for i in PER_CANDIDATE_INPUTS]


def output_names() -> list[str]:
    """Every out_ name of the workbook."""
    found = [formula_name(f, k) for k in CANDIDATES for f in CANDIDATE_FORMULAS + latency_target.RESULTS if f.output]
    return found + [formula_name(f) for f in CROSSOVER_FORMULAS]


def default_inputs() -> dict:
    """The template's input values by in_ name."""
    values = {input_name(i.key): i.default for i in TRAFFIC + TRAINING + CROSSOVER_INPUTS}
    for k in CANDIDATES:
        values.update({input_name(i.key, k): i.default[k - 1] for i in PER_CANDIDATE_INPUTS})
    return values


# ----------------------------------------------------------------------------------------------
# Checks


def _per_candidate_check(key: str, specs) -> Formula:
    """A Check row written for candidate 0, then made a template over {k} (braces of the text escaped first)."""
    return Formula(key, "Check", "", "text", checks.status_formula(checked(specs, 0)).replace("{", "{{")
                   .replace("}", "}}").replace("in_c0_", "in_c{k}_"), output=False, wrap=True)


def checked(specs, k=None) -> list:
    """The checks of the inputs in ``specs`` that have a rule (candidate k's names for per-candidate inputs)."""
    return [checks.Check(input_name(spec.key, k), spec.label, RULES[spec.rule]) for spec in specs
            if isinstance(spec, Input) and spec.rule in RULES]


def check_blocks() -> dict:
    """The input checks of each block, by the defined name of its status cell, in the order of the sheet."""
    blocks = {"calc_traffic_check": checked(TRAFFIC), "calc_training_check": checked(TRAINING)}
    blocks |= {f"calc_c{k}_input_check": checked(CANDIDATE_INPUTS, k) for k in CANDIDATES}
    blocks |= {f"calc_c{k}_latency_check": checked(latency_target.INPUTS, k) for k in CANDIDATES}
    return blocks | {"calc_crossover_check": checked(CROSSOVER_INPUTS)}


#: The Check row of each input block: the first unusable input of the block, or OK.
CHECK_FORMULAS = {
    "traffic": Formula("traffic_check", "Check", "", "text", checks.status_formula(checked(TRAFFIC)), output=False),
    "training": Formula("training_check", "Check", "", "text", checks.status_formula(checked(TRAINING)),
                        output=False),
    "candidate": _per_candidate_check("input_check", CANDIDATE_INPUTS),
    "latency": _per_candidate_check("latency_check", latency_target.INPUTS),
    "crossover": Formula("crossover_check", "Check", "", "text", checks.status_formula(checked(CROSSOVER_INPUTS)),
                         output=False),
}


def model_blocks() -> tuple:
    """The blocks of the Model sheet, top to bottom."""
    return (
        Block("Traffic", (), TRAFFIC + (CHECK_FORMULAS["traffic"],), False),
        Block("Training", (), TRAINING + (CHECK_FORMULAS["training"],) + TRAINING_FORMULAS, False),
        Block("Model candidates and serving choices", tuple(f"Candidate {k}" for k in CANDIDATES),
              CANDIDATE_INPUTS + (CHECK_FORMULAS["candidate"],), True),
        Block("Latency target (the batch follows from it)", tuple(f"Candidate {k}" for k in CANDIDATES),
              latency_target.INPUTS + (CHECK_FORMULAS["latency"],), True),
        Block("Results per candidate (at the batch typed above)",
              tuple(f"={input_name('name', k)}" for k in CANDIDATES),
              CANDIDATE_FORMULAS, True),
        Block("Serving within the latency target", tuple(f"={input_name('name', k)}" for k in CANDIDATES),
              latency_target.RESULTS, True),
        Block("When does one candidate overtake another?", (),
              CROSSOVER_INPUTS + (CHECK_FORMULAS["crossover"],) + CROSSOVER_FORMULAS, False),
        Block("Workings (nothing to type)", (), TRAINING_WORKINGS, False),
        Block("Workings per candidate", tuple(f"Candidate {k}" for k in CANDIDATES), CANDIDATE_WORKINGS, True),
        Block("Workings: largest batch within the latency target", tuple(f"Candidate {k}" for k in CANDIDATES),
              latency_target.WORKINGS, True),
    )


# Model sheet: label, unit, one value column per candidate (C, D, E), note.
LABEL_COLUMN, UNIT_COLUMN, NOTE_COLUMN = "A", "B", "F"
VALUE_COLUMNS = {k: get_column_letter(2 + k) for k in CANDIDATES}
