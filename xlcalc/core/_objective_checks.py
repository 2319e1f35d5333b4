"""The argument checks of :func:`xlcalc.core.objectives.lifetime_optimal`: what each argument allows, and the losses no
model reaches with the unique data given.

A single value given for an array call is tested once (:meth:`xlcalc._checks.Checked.require_each`), not once a
scenario; the masks of the broadcast shape are made only where some element fails.
"""

from __future__ import annotations

import numpy as np

from .._checks import Checked, format_value, repeated_value
from .data_limits import R_D_STAR
from .laws import _check_loss_above_floor


def check_arguments(c: Checked, f, objective, roofline) -> None:
    """Mark the invalid elements of the arguments of :func:`xlcalc.core.objectives.lifetime_optimal`, with reasons."""
    _check_loss_above_floor(c, f)
    c.require_each("unique_tokens", lambda u: (u > 0) & ~np.isnan(u),
                   "must be a number of unique training tokens > 0 (or empty for unlimited data)")
    _check_reachable(c, f)
    c.non_negative("input_tokens", "output_tokens")
    c.positive("train_peak_tflops", "infer_peak_tflops")
    c.fraction("mfu_train", "mfu_prefill", "mfu_decode")
    c.require_each("reference_mfu_decode", lambda r: np.isnan(r) | ((r > 0) & (r <= 1)),
                   "must be in (0, 1] (or empty: mfu_decode)")
    needs = {"usd": ("train_usd_per_hour", "infer_usd_per_hour"),
             "kwh": ("train_tdp_w", "infer_tdp_w"),
             "co2": ("train_tdp_w", "infer_tdp_w"), "flops": ()}[objective]
    for name in ("train_usd_per_hour", "infer_usd_per_hour", "train_tdp_w", "infer_tdp_w"):
        what = "a power in W > 0 (the accelerator has no published TDP: type one)" if "tdp" in name \
            else "a price in $ per GPU-hour > 0"
        if name in needs:
            _check_given(c, name, f"objective '{objective}' needs {what}")
        c.require_each(name, lambda x: np.isnan(x) | (np.isfinite(x) & (x > 0)), f"must be {what}")
    for name in ("train_pue", "infer_pue"):
        c.require_each(name, lambda x: np.isfinite(x) & (x >= 1), "must be a power usage effectiveness >= 1")
    for name in ("train_g_per_kwh", "infer_g_per_kwh"):
        if objective == "co2":
            _check_given(c, name, "objective 'co2' needs a grid carbon intensity in g CO2e per kWh")
        c.require_each(name, lambda x: np.isnan(x) | (np.isfinite(x) & (x >= 0)),
                       "must be a grid carbon intensity in g CO2e per kWh >= 0")
    if objective == "co2":
        c.require_each("train_g_per_kwh", lambda x: x > 0,
                       "must be > 0 for objective 'co2': with carbon-free training the least-carbon model would "
                       "train forever on ever more tokens")
    if roofline:
        c.positive("infer_mem_bw_tbs", "infer_memory_gb", "bytes_per_param")
        c.fraction("bw_eff")
        c.require_each("kv_bytes_per_param", lambda k: np.isnan(k) | (np.isfinite(k) & (k >= 0)),
                       "must be KV bytes per token per parameter >= 0 (empty: from the model shape)")
        c.non_negative("input_tokens_per_request", "output_tokens_per_request")
        c.require_each("batch", lambda b: (b == np.inf) | ((b >= 1) & (b == np.floor(b))),
                       "must be a whole number >= 1 (or none)")
        c.require_each("tpot_target_s", lambda t: (t > 0) & ~np.isnan(t), "must be a time in s > 0 (or none)")
        if not (np.isfinite(c.as_given("batch")).all() or np.isfinite(c.as_given("tpot_target_s")).all()):
            c.require("batch", np.isfinite(c["batch"]) | np.isfinite(c["tpot_target_s"]),
                      "give a batch, a time-per-token target or both", shown=c["batch"])
        c.require_each("headroom", lambda h: (h >= 0) & (h < 1), "must be in [0, 1)")
        c.at_least_one("max_gpus")


def _check_given(c: Checked, name, needs) -> None:
    """Mark the elements where ``name`` is missing (NaN) but needed: '<name> is missing: <needs>'."""
    if not np.isnan(c.as_given(name)).any():
        return
    missing = np.isnan(c[name]) & ~c.bad
    if missing.any():
        c.mark(missing, lambda index: f"{name} is missing: {needs}")


def _check_reachable(c: Checked, f) -> None:
    """Mark the losses that no model reaches with the unique tokens given, however large and however many epochs."""
    unique = c["unique_tokens"]
    one = repeated_value(unique)
    single = one is not None
    if single:   # one value for every element: its floor once (on a 1-element array: the digits of an array's)
        unique = np.full(1, one)
    with np.errstate(divide="ignore"):   # f.E + f.B / (U (1 + R*_D))^beta, in one array
        floor = unique * (1.0 + R_D_STAR)
        if np.ndim(floor):
            np.power(floor, f.beta, out=floor)
            np.divide(f.B, floor, out=floor)
            np.add(f.E, floor, out=floor)
        else:
            floor = f.E + f.B / floor ** f.beta
    if single:
        floor = floor[0]
        if c.all_within("loss", floor):   # every loss above it (or already invalid: NaN, inf)
            return
    lowest = np.broadcast_to(floor, c.shape)
    unreachable = (c["loss"] <= floor) & ~c.bad
    if unreachable.any():
        c.mark(unreachable, lambda index: (
            f"loss = {format_value(c['loss'][index])} is not reachable with unique_tokens = "
            f"{format_value(c['unique_tokens'][index])}: however large the model and however many epochs, "
            f"the lowest reachable loss is {format_value(lowest[index])} (E + B / (U (1 + R*_D))^beta)"))
