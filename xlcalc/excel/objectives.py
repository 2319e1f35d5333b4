"""Excel functions for the lifetime optimum under usd, kWh or CO2 and for limited unique data; :mod:`xlcalc.udfs` brings them in.

LIFETIME_OPT (fixed decode MFU, hardware typed), SERVING_LIFETIME_OPT (roofline serving with a batch and a
latency target on catalog accelerators) and EFFECTIVE_TOKENS. Same conventions as the other functions:
ranges broadcast, one core call per range, each cell gets its own error text. ``objective`` and ``serving``
are one text cell for the whole call.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np
import xlwings as xw

from . import _convert as xl
from ..core import data_limits, objectives
from ..data import hardware
from .._checks import invalid_reasons
from ._arguments import CATEGORY, FIT, LOSS, _arguments
from .serving import PRECISION, _first_errors, _hardware_arrays, _text_or_default

__all__ = ["LIFETIME_OPT", "SERVING_LIFETIME_OPT", "EFFECTIVE_TOKENS"]

OBJECTIVE = ("What to minimise: usd (lifetime $), kwh (energy), co2 (kg CO2e) or flops (fixed MFU only); optional, "
             "empty = usd")
OPTIMUM_OUTPUTS = ("params", "tokens", "value", "usd", "kwh", "co2_kg", "epochs")
SERVING_OUTPUTS = ("params", "tokens", "value", "usd", "kwh", "co2_kg", "epochs", "gpus", "batch", "binding")
COMMON_DOCS = dict(
    loss=LOSS,
    input_tokens="Lifetime prompt (input) tokens served, >= 0",
    output_tokens="Lifetime generated (output) tokens served, >= 0",
    objective=OBJECTIVE,
    unique_tokens="Unique training tokens available (> 0); repeats count as Muennighoff et al. 2023's effective "
                  "tokens; optional, empty = unlimited",
    train_pue="Training data-centre PUE (>= 1); optional, empty = 1",
    infer_pue="Serving data-centre PUE (>= 1); optional, empty = 1",
    train_g_per_kwh="Training grid intensity in g CO2e per kWh (> 0 for co2); optional, empty = not given",
    infer_g_per_kwh="Serving grid intensity in g CO2e per kWh (>= 0); optional, empty = not given",
    fit=FIT,
)

LIFETIME_DOCS = dict(
    train_usd_per_hour="Training price in $ per GPU-hour (needed for usd)",
    train_peak_tflops="Training GPU dense peak TFLOP/s",
    infer_usd_per_hour="Inference price in $ per GPU-hour (needed for usd)",
    infer_peak_tflops="Inference GPU dense peak TFLOP/s at the precision served",
    train_tdp_w="Training GPU power in W (needed for kwh and co2; see GPU_SPEC(name, \"tdp_w\")); "
                "optional, empty = not given",
    infer_tdp_w="Inference GPU power in W (needed for kwh and co2); optional, empty = not given",
    mfu_train="Training MFU, in (0, 1]; optional, empty = 0.5",
    mfu_prefill="Prefill MFU, in (0, 1]; optional, empty = 0.5",
    mfu_decode="Decode MFU, in (0, 1]; optional, empty = 0.01",
    **COMMON_DOCS,
)
SERVING_DOCS = dict(
    train_gpu="Training accelerator as in GPU_LIST (peak, price and TDP from the catalog)",
    infer_gpu="Serving accelerator as in GPU_LIST (peak, bandwidth, memory, price, TDP from the catalog)",
    input_tokens_per_request="Prompt tokens per request (>= 0): context and KV cache",
    output_tokens_per_request="Generated tokens per request (>= 0)",
    batch="Sequences decoded together, or the cap under a latency target (whole >= 1); optional, empty = none "
          "(then give tpot_ms)",
    tpot_ms="Target time per output token in ms (> 0); optional, empty = no target",
    precision=PRECISION,
    train_tdp_w="Training GPU power in W; optional, empty = the catalog's TDP",
    infer_tdp_w="Serving GPU power in W; optional, empty = the catalog's TDP",
    max_gpus="Largest replica in GPUs (powers of two are used); optional, empty = 8",
    **COMMON_DOCS,
)


def _documented(docs):
    """_arguments with the descriptions in the order of the function's own arguments."""

    def decorate(udf):
        names = list(inspect.signature(udf).parameters)
        return _arguments(**{name: docs[name] for name in names})(udf)

    return decorate


def _objective_text(value, name="objective", allowed=objectives.OBJECTIVES, default="usd") -> str:
    cells = [cell for row in xl.grid(value) for cell in row]
    if len(cells) != 1:
        raise xl.ExcelError(xl.VALUE, f"{name} must be one cell: {', '.join(allowed)}")
    cell = cells[0]
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return default
    text = str(cell).strip().lower().replace("-", "_")
    if text not in allowed:
        raise xl.ExcelError(xl.VALUE, f"{name} = {cell!r} is not allowed: must be one of {', '.join(allowed)}")
    return text


@xw.func(category=CATEGORY)
@_arguments(tokens="Training tokens D, repeats included (> 0)", unique_tokens="Unique tokens U among them (> 0)")
@xl.cell_errors
def EFFECTIVE_TOKENS(tokens, unique_tokens):
    """Effective training tokens D' = U + U R* (1 - exp(-(D/U - 1)/R*)), R* = 15.39 (Muennighoff et al. 2023); D' = D when D <= U."""
    return xl.compute(data_limits.effective_tokens, {"tokens": tokens, "unique_tokens": unique_tokens})


@xw.func(category=CATEGORY)
@_documented(LIFETIME_DOCS)
@xl.cell_errors
def LIFETIME_OPT(loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                 infer_peak_tflops, objective=None, train_tdp_w=None, infer_tdp_w=None, train_pue=None, infer_pue=None,
                 train_g_per_kwh=None, infer_g_per_kwh=None, unique_tokens=None, mfu_train=None, mfu_prefill=None,
                 mfu_decode=None, fit=None):
    """Model reaching loss at the lowest lifetime $, kWh or kg CO2e (fixed MFU): a row params, tokens, objective, $, kWh, kg CO2e, epochs."""
    key = _objective_text(objective)
    core = _lifetime_core(key)
    numbers = dict(loss=loss, input_tokens=input_tokens, output_tokens=output_tokens,
                   train_usd_per_hour=train_usd_per_hour, train_peak_tflops=train_peak_tflops,
                   infer_usd_per_hour=infer_usd_per_hour, infer_peak_tflops=infer_peak_tflops,
                   train_tdp_w=train_tdp_w, infer_tdp_w=infer_tdp_w, train_pue=train_pue, infer_pue=infer_pue,
                   train_g_per_kwh=train_g_per_kwh, infer_g_per_kwh=infer_g_per_kwh, unique_tokens=unique_tokens,
                   mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode)
    floats = xl._single_numbers(core, numbers)
    if floats is not None:   # one cell each: the core's float twins, their figures as xl.compute would show them
        figures = objectives.fixed_mfu_figures(xl._one_fit(fit), key, dict(floats, reference_mfu_decode=np.nan))
        if figures is not None:
            return [[xl._one_number(figures[i]) for i in _OPTIMUM_POSITIONS]]
    return xl.compute(core, numbers, fit=fit, outputs=OPTIMUM_OUTPUTS)


_OPTIMUM_POSITIONS = [[field.name for field in dataclasses.fields(objectives.LifetimeOptimum)].index(name)
                      for name in OPTIMUM_OUTPUTS]


@functools.lru_cache(maxsize=None)
def _lifetime_core(objective: str):
    """lifetime_optimal with the objective set: one object per objective, so that _convert's caches of its
    signature hit (a new partial per call read the signature each time, 100 us, and grew those caches)."""
    return functools.partial(objectives.lifetime_optimal, objective=objective)


@xw.func(category=CATEGORY)
@_documented(SERVING_DOCS)
@xl.cell_errors
def SERVING_LIFETIME_OPT(loss, input_tokens, output_tokens, train_gpu, infer_gpu, input_tokens_per_request,
                         output_tokens_per_request, batch=None, tpot_ms=None, objective=None, unique_tokens=None,
                         precision=None, train_pue=None, infer_pue=None, train_g_per_kwh=None, infer_g_per_kwh=None,
                         train_tdp_w=None, infer_tdp_w=None, max_gpus=None, fit=None):
    """Lifetime optimum with roofline serving (batch, memory, latency target): a row params, tokens, objective, $, kWh, kg CO2e, epochs, GPUs, batch, binding (1 compute 2 bandwidth 3 memory 4 latency)."""
    key = _objective_text(objective)
    f = xl.fit_value(fit)
    numbers = dict(loss=loss, input_tokens=input_tokens, output_tokens=output_tokens,
                   input_tokens_per_request=input_tokens_per_request,
                   output_tokens_per_request=output_tokens_per_request, batch=batch, tpot_ms=tpot_ms,
                   unique_tokens=unique_tokens, train_pue=train_pue, infer_pue=infer_pue,
                   train_g_per_kwh=train_g_per_kwh, infer_g_per_kwh=infer_g_per_kwh, train_tdp_w=train_tdp_w,
                   infer_tdp_w=infer_tdp_w, max_gpus=max_gpus)
    defaults = dict(loss=xl.REQUIRED, input_tokens=xl.REQUIRED, output_tokens=xl.REQUIRED,
                    input_tokens_per_request=xl.REQUIRED, output_tokens_per_request=xl.REQUIRED, batch=np.inf,
                    tpot_ms=np.inf, unique_tokens=np.inf, train_pue=1.0, infer_pue=1.0, train_g_per_kwh=np.nan,
                    infer_g_per_kwh=np.nan, train_tdp_w=np.nan, infer_tdp_w=np.nan, max_gpus=8.0)
    named = {"train_gpu": xl.text_cells("train_gpu", train_gpu), "infer_gpu": xl.text_cells("infer_gpu", infer_gpu),
             "precision": _text_or_default("precision", precision, "bf16")}
    named.update({name: xl.number_cells(name, value, defaults[name]) for name, value in numbers.items()})
    shape = xl.broadcast_shape(named)
    errors = _first_errors(named, shape)
    precisions = np.broadcast_to(named["precision"].values, shape)
    train = _hardware_arrays(np.broadcast_to(named["train_gpu"].values, shape), precisions, errors)
    infer = _hardware_arrays(np.broadcast_to(named["infer_gpu"].values, shape), precisions, errors)
    n = {name: np.where(errors == "", np.broadcast_to(named[name].values, shape), np.nan) for name in numbers}
    for side in ("train", "infer"):
        tdp = _tdp(np.broadcast_to(named[f"{side}_gpu"].values, shape), errors)
        n[f"{side}_tdp_w"] = np.where(np.isnan(n[f"{side}_tdp_w"]), tdp, n[f"{side}_tdp_w"])
    with invalid_reasons() as why, np.errstate(all="ignore"):
        result = objectives.lifetime_optimal(
            n["loss"], n["input_tokens"], n["output_tokens"], objective=key, serving="roofline",
            train_peak_tflops=train["peak_tflops"], infer_peak_tflops=infer["peak_tflops"],
            train_usd_per_hour=train["usd_per_hour"], infer_usd_per_hour=infer["usd_per_hour"],
            mfu_prefill=infer["mfu_prefill"], mfu_decode=infer["mfu_decode"], bw_eff=infer["bw_eff"],
            train_tdp_w=n["train_tdp_w"], infer_tdp_w=n["infer_tdp_w"], train_pue=n["train_pue"],
            infer_pue=n["infer_pue"], train_g_per_kwh=n["train_g_per_kwh"], infer_g_per_kwh=n["infer_g_per_kwh"],
            infer_mem_bw_tbs=infer["mem_bw_tbs"], infer_memory_gb=infer["memory_gb"], bytes_per_param=infer["bytes"],
            input_tokens_per_request=n["input_tokens_per_request"],
            output_tokens_per_request=n["output_tokens_per_request"], batch=n["batch"],
            tpot_target_s=n["tpot_ms"] / 1e3, max_gpus=n["max_gpus"], unique_tokens=n["unique_tokens"], fit=f)
    if why.reasons is not None:
        found = np.broadcast_to(np.asarray(why.reasons, dtype=object), shape)
        found = np.char.replace(found.astype(str), "tpot_target_s", "tpot_ms (in s)").astype(object)
        errors = np.where(errors != "", errors, np.where(found != "", xl.NUM + " " + found, ""))
    values = np.stack([np.broadcast_to(np.asarray(getattr(result, o), dtype=float), shape) for o in SERVING_OUTPUTS],
                      -1)
    values, errors = xl._scenario_rows(values, errors, shape, len(SERVING_OUTPUTS))
    return xl._excel(xl._result_cells(values, errors))


def _tdp(names: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Catalog TDP per cell (NaN where the catalog has none: the core then says to type one)."""
    out = np.full(names.shape, np.nan)
    usable = errors == ""
    for name in set(names[usable]):
        try:
            out[usable & (names == name)] = hardware.gpu(name).tdp_w
        except Exception:  # noqa: BLE001 - the name's error is already in ``errors`` from _hardware_arrays
            continue
    return out
