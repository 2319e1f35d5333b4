"""The serving-aware, least-kWh and least-CO2 models of the Sizing sheet, by xlcalc.lifetime_optimal: the sheet's twin."""

from __future__ import annotations

import math

from ....core import objectives
from ...._checks import invalid_reasons
from ....errors import InvalidInputError
from .. import checks, price_sheet
from .objective_results import OBJECTIVE_OUTPUTS, PREFIXES
from .objectives_solver import BINDING_WORDS
from .serving_inputs import SERVING_HARDWARE, tokens_or_inf

#: The objective xlcalc.lifetime_optimal minimises for each column.
OBJECTIVE_NAMES = {"usd": "usd", "kwh": "kwh", "carbon": "co2"}


def serving_hardware_in_use(inputs: dict, table: dict) -> dict:
    """Memory, bandwidth and power in use: the override where typed, else the price sheet's (NaN where none > 0)."""
    used = {}
    for key, (hardware, field, _) in SERVING_HARDWARE.items():
        override = inputs[f"in_{key}"]
        value = float(override) if not checks.is_empty(override) else price_sheet.price_value(table, inputs[hardware],
                                                                                              (field,))
        used[key] = value if math.isfinite(value) and value > 0 else math.nan
    return used


def solver_arguments(inputs: dict, hardware: dict, serving: dict, fit) -> dict:
    """The keyword arguments of xlcalc.lifetime_optimal that the sheet's inputs stand for (objective aside)."""
    requests = float(inputs["in_requests"])
    tpot = inputs["in_tpot_ms"]
    return dict(
        loss=float(inputs["in_loss"]), input_tokens=requests * float(inputs["in_input_tokens"]),
        output_tokens=requests * float(inputs["in_output_tokens"]), serving="roofline",
        train_peak_tflops=hardware["train_peak_tflops"], infer_peak_tflops=hardware["infer_peak_tflops"],
        train_usd_per_hour=hardware["train_usd_per_hour"], infer_usd_per_hour=hardware["infer_usd_per_hour"],
        mfu_train=float(inputs["in_mfu_train"]), mfu_prefill=float(inputs["in_mfu_prefill"]),
        mfu_decode=float(inputs["in_serving_mfu_decode"]), reference_mfu_decode=float(inputs["in_mfu_decode"]),
        train_tdp_w=serving["train_tdp_w"], infer_tdp_w=serving["infer_tdp_w"],
        train_pue=float(inputs["in_train_pue"]), infer_pue=float(inputs["in_infer_pue"]),
        train_g_per_kwh=float(inputs["in_train_g_per_kwh"]), infer_g_per_kwh=float(inputs["in_infer_g_per_kwh"]),
        infer_mem_bw_tbs=serving["infer_mem_bw_tbs"], infer_memory_gb=serving["infer_memory_gb"],
        bw_eff=float(inputs["in_bw_eff"]), bytes_per_param=float(inputs["in_serving_bytes_per_param"]),
        kv_bytes_per_param=float(inputs["in_kv_bytes_per_param"]),
        input_tokens_per_request=float(inputs["in_input_tokens"]),
        output_tokens_per_request=float(inputs["in_output_tokens"]), batch=tokens_or_inf(inputs["in_batch"]),
        tpot_target_s=math.inf if checks.is_empty(tpot) else float(tpot) / 1000,
        headroom=float(inputs["in_headroom"]), max_gpus=float(inputs["in_max_gpus"]),
        unique_tokens=tokens_or_inf(inputs["in_unique_tokens"]), fit=fit)


def objective_outputs(inputs: dict, hardware: dict, table: dict, fit, priced: bool) -> dict:
    """The out_ values of the three serving-aware models (n/a where the sheet shows n/a).

    ``hardware`` holds the figures in use of :func:`.expected.hardware_in_use` (floats) and ``priced`` says
    whether every one is above 0. A model no replica of up to Max GPUs can serve is n/a in every row.
    """
    serving = serving_hardware_in_use(inputs, table)
    out = dict.fromkeys(OBJECTIVE_OUTPUTS, checks.NOT_AVAILABLE)
    if not (priced and all(math.isfinite(serving[k]) for k in ("infer_memory_gb", "infer_mem_bw_tbs"))):
        return out
    powered = all(math.isfinite(serving[k]) for k in ("train_tdp_w", "infer_tdp_w"))
    arguments = solver_arguments(inputs, hardware, serving, fit)
    capped = math.isfinite(arguments["unique_tokens"])
    for key, prefix in PREFIXES.items():
        if key != "usd" and not powered:
            continue
        # One-element arrays: xlcalc.core.objectives raises a ValueError of numpy's instead of the "cannot be served"
        # message for a scalar call (reported); with arrays the reason is collected per element.
        with invalid_reasons() as why:
            o = objectives.lifetime_optimal(objective=OBJECTIVE_NAMES[key], **dict(arguments, loss=[arguments["loss"]]))
        if why.any:
            reason = str(why.reasons[0])
            if "can be served" not in reason:  # anything but "no replica of up to Max GPUs serves it"
                raise InvalidInputError(reason)
            continue
        found = {"params": o.params[0], "tokens": o.tokens[0], "usd": o.usd[0], "kwh": o.kwh[0],
                 "co2_kg": o.co2_kg[0], "gpus": o.gpus[0], "batch": o.batch[0],
                 "binding": BINDING_WORDS[int(o.binding[0])]}
        if capped:
            found |= {"epochs": o.epochs[0], "data_binds": o.data_binds[0]}
        for suffix, value in found.items():
            if isinstance(value, str) or not math.isnan(value):
                out[f"{prefix}_{suffix}"] = value if isinstance(value, str) else float(value)
    return out


__all__ = ["objective_outputs", "serving_hardware_in_use", "solver_arguments"]
