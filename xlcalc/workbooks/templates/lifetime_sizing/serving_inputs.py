"""The inputs of the serving-aware, energy and carbon optima: names, labels, defaults and checks.

:mod:`.inputs` merges them into the workbook's inputs (one more block on the Sizing sheet); the workings are
:mod:`.objectives_solver`, the results :mod:`.objective_results`, the Python twin :mod:`.expected_objectives`.
The defaults are those of the documented call :data:`DEFAULT_CALL` (tested against the sheet's defaults).
"""

from __future__ import annotations

import math

from ....core.data_limits import R_D_STAR
from .. import checks

SERVING_BLOCK = "status_serving"

#: Hardware figures of the serving model with an override cell: key -> (accelerator input, price-sheet field, label).
SERVING_HARDWARE = {
    "infer_memory_gb": ("in_infer_hardware", "memory_gb", "Inference memory GB per GPU"),
    "infer_mem_bw_tbs": ("in_infer_hardware", "mem_bw_tbs", "Inference memory bandwidth TB/s"),
    "train_tdp_w": ("in_train_hardware", "tdp_w", "Training power per GPU W (TDP)"),
    "infer_tdp_w": ("in_infer_hardware", "tdp_w", "Inference power per GPU W (TDP)"),
}

#: KV-cache bytes per token per parameter of xlcalc.model_shape(30e9) at 1 byte per value: 2 x layers x KV
#: width / params = 5.578e-6, rounded as a user would type it.
DEFAULT_KV_BYTES_PER_PARAM = 5.6e-6

SERVING_DEFAULTS = {
    **{f"in_{key}": None for key in SERVING_HARDWARE},
    "in_train_pue": 1.1,
    "in_infer_pue": 1.3,
    "in_train_g_per_kwh": 50.0,
    "in_infer_g_per_kwh": 400.0,
    "in_serving_bytes_per_param": 1.0,
    "in_kv_bytes_per_param": DEFAULT_KV_BYTES_PER_PARAM,
    "in_serving_mfu_decode": 0.5,
    "in_bw_eff": 0.8,
    "in_headroom": 0.1,
    "in_batch": 64.0,
    "in_tpot_ms": None,
    "in_max_gpus": 8.0,
    "in_unique_tokens": None,
}

SERVING_LABELS = {
    **{f"in_{key}": label for key, (_, _, label) in SERVING_HARDWARE.items()},
    "in_train_pue": "PUE of the training data centre",
    "in_infer_pue": "PUE of the serving data centre",
    "in_train_g_per_kwh": "Grid intensity where training runs, g CO2e/kWh",
    "in_infer_g_per_kwh": "Grid intensity where serving runs, g CO2e/kWh",
    "in_serving_bytes_per_param": "Serving bytes per parameter (1 = INT8)",
    "in_kv_bytes_per_param": "KV-cache bytes per token per parameter",
    "in_serving_mfu_decode": "MFU decode when compute-bound",
    "in_bw_eff": "Memory bandwidth efficiency",
    "in_headroom": "Memory kept free (headroom)",
    "in_batch": "Batch cap per replica (empty: none)",
    "in_tpot_ms": "Time-per-token target, ms (empty: none)",
    "in_max_gpus": "Max GPUs per replica (1 to 8)",
    "in_unique_tokens": "Unique training tokens (empty: unlimited)",
}

#: The Python call the defaults stand for (with the price sheet's A100 figures and the demand of the Sizing sheet).
DEFAULT_CALL = ("xlcalc.lifetime_optimal(loss, requests * 70, requests * 215, objective=..., serving='roofline', "
                "train_peak_tflops=312, infer_peak_tflops=624, train_usd_per_hour=1.39, infer_usd_per_hour=1.10, "
                "mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.5, reference_mfu_decode=0.01, train_tdp_w=400, "
                "infer_tdp_w=400, train_pue=1.1, infer_pue=1.3, train_g_per_kwh=50, infer_g_per_kwh=400, "
                "infer_mem_bw_tbs=1.555, infer_memory_gb=40, bw_eff=0.8, bytes_per_param=1, "
                "kv_bytes_per_param=5.6e-6, input_tokens_per_request=70, output_tokens_per_request=215, batch=64, "
                "headroom=0.1, max_gpus=8)")


def _fit_floor(inputs: dict):
    """The lowest loss reachable with the typed unique tokens (None when the fit or the tokens are not usable)."""
    from .inputs import fit_from_inputs  # the fit rule lives there; imported late (inputs imports this module)

    unique = inputs.get("in_unique_tokens")
    try:
        fit = fit_from_inputs(inputs)
    except Exception:  # an unusable fit is the Scaling law block's problem
        return None
    if not (checks.is_number(unique) and unique > 0):
        return None
    return fit.E + fit.B / (unique * (1.0 + R_D_STAR)) ** fit.beta


def _reachable(value, context) -> bool:
    inputs = context.get("inputs", {})
    floor = _fit_floor({**inputs, "in_unique_tokens": value})
    loss = inputs.get("in_loss")
    return floor is None or not checks.is_number(loss) or loss > floor


def _lookup(field: str) -> str:
    """The picked fit's constant, looked up (not the guarded fit_ cells: the status reads this rule)."""
    return f"INDEX(fits_{field},MATCH(in_fit,fit_names,0))"


SERVING_RULES = {
    "optional_positive": checks.Rule(
        "IF(ISBLANK({x}),TRUE,IF(ISNUMBER({x}),{x}>0,FALSE))", "must be empty (none) or a number greater than 0",
        lambda v, _: checks.is_empty(v) or (checks.is_number(v) and v > 0),
        checks.Validation("decimal", "0", "greaterThan", error="Type a number greater than 0, or clear the cell for "
                          "none.", allow_blank=True)),
    "optional_whole": checks.Rule(
        "IF(ISBLANK({x}),TRUE,IF(ISNUMBER({x}),AND({x}>=1,{x}=INT({x})),FALSE))",
        "must be empty (none) or a whole number of 1 or more",
        lambda v, _: checks.is_empty(v) or (checks.is_number(v) and v >= 1 and float(v).is_integer()),
        checks.Validation("whole", "1", "greaterThanOrEqual", error="Type a whole number of 1 or more, or clear the "
                          "cell for none.", allow_blank=True)),
    "gpus": checks.Rule(
        "IF(ISNUMBER({x}),AND({x}>=1,{x}<=8,{x}=INT({x})),FALSE)", "must be a whole number from 1 to 8",
        lambda v, _: checks.is_number(v) and 1 <= v <= 8 and float(v).is_integer(),
        checks.Validation("whole", "1", "between", "8", error="Type a whole number from 1 to 8.")),
    "headroom": checks.Rule(
        "IF(ISNUMBER({x}),AND({x}>=0,{x}<1),FALSE)", "must be a fraction of 0 or more and below 1",
        lambda v, _: checks.is_number(v) and 0 <= v < 1,
        checks.Validation("decimal", "0", "between", "0.999999999999", error="Type a fraction from 0% to below 100%.")),
    # Cross-input tests: no data validation (they depend on other cells).
    "batch_or_target": checks.Rule(
        "OR(NOT(ISBLANK({x})),NOT(ISBLANK(in_tpot_ms)))",
        "and the time-per-token target are both empty: give a batch cap, a target or both",
        lambda v, context: not checks.is_empty(v) or not checks.is_empty(context.get("inputs", {}).get("in_tpot_ms"))),
    "reachable": checks.Rule(
        f"IFERROR(IF(ISNUMBER({{x}}),in_loss>{_lookup('E')}+{_lookup('B')}/({{x}}*(1+{R_D_STAR}))^{_lookup('beta')},"
        "TRUE),TRUE)",
        "are too few: no model size and no number of epochs reaches the target loss (see 'Lowest loss reachable "
        "with these unique tokens')", _reachable),
}


def serving_checks(labels: dict, rules: dict) -> tuple:
    """The Check rows of the serving block, in the order shown."""
    def check(name, kind):
        return checks.Check(name, labels[name], rules[kind])

    return (
        *(check(f"in_{key}", "override") for key in SERVING_HARDWARE),
        check("in_train_pue", "at_least_one"), check("in_infer_pue", "at_least_one"),
        check("in_train_g_per_kwh", "positive"), check("in_infer_g_per_kwh", "non_negative"),
        check("in_serving_bytes_per_param", "positive"), check("in_kv_bytes_per_param", "non_negative"),
        check("in_serving_mfu_decode", "fraction"), check("in_bw_eff", "fraction"), check("in_headroom", "headroom"),
        check("in_batch", "optional_whole"), check("in_batch", "batch_or_target"),
        check("in_tpot_ms", "optional_positive"), check("in_max_gpus", "gpus"),
        check("in_unique_tokens", "optional_positive"), check("in_unique_tokens", "reachable"),
    )


def tokens_or_inf(value) -> float:
    """An optional input as the Python solver takes it: the number, or inf when the cell is empty."""
    return math.inf if checks.is_empty(value) else float(value)
