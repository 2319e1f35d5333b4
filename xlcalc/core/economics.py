"""Training economics: FLOPs, training cost, over-training and inference ratios; the serving economics by name.

Training costs 6ND FLOPs and inference 2N FLOPs per token. Every function broadcasts like numpy; scalar
in, float out. The rest of the economics lives in one module per concept and is importable from here as
before: :mod:`xlcalc.core.monthly_serving` (monthly_cost, gpus_needed), :mod:`xlcalc.core.owned_hardware`
(owned_usd_per_hour, energy_kwh_per_mtok) and :mod:`xlcalc.core.breakeven` (breakeven_tokens, _requests, _days).

Notes
-----
The handbook chapter "Inference Scaling" that these functions reproduce has several wrong figures
(shared REFERENCE.md): its throughputs (143,000 and 14,000 tokens/s for 7B and 70B on an A100 at batch 1)
and monthly costs ($140 / $1,400) are 1000x off (right: 142.9 and 14.29 tokens/s, 9,722 and 97,222
GPU-hours), its break-even request count is 12.6e9 where 8e23 extra FLOPs give 1.270e10, and its
break-even time of 3.4 years is 100x off (about 350 years at 10,000 users x 10 requests a day).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import overflow_checked
from .._scalar_checks import FloatChecked, float_fast_path
from .breakeven import breakeven_days, breakeven_requests, breakeven_tokens  # noqa: F401 - re-exported
from .laws import DEFAULT_FIT, _chinchilla_tokens, get_fit
from .monthly_serving import HOURS_PER_MONTH, MonthlyCost, gpus_needed, monthly_cost  # noqa: F401 - re-exported
from .owned_hardware import HOURS_PER_YEAR, WATTS_PER_KW, energy_kwh_per_mtok, owned_usd_per_hour  # noqa: F401
from ..units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR
from ._chunks import chunked

HOURS_PER_DAY = 24.0
CHINCHILLA_TOKENS_PER_PARAM = 20.0


# ----------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class TrainCost:
    """Cost of a training run: usd, gpu_hours, wall-clock days on the GPUs given, and flops (6ND)."""

    usd: float | np.ndarray
    gpu_hours: float | np.ndarray
    days: float | np.ndarray
    flops: float | np.ndarray


# ----------------------------------------------------------------------------------------------
# FLOPs


@chunked
@float_fast_path
def train_flops(params, tokens):
    """Training FLOPs of a model of `params` parameters on `tokens` tokens: 6ND.

    Notes
    -----
    C = 6 N D (2ND forward, 4ND backward).

    Examples
    --------
    >>> train_flops(70e9, 1.4e12)  # the handbook's 70B on 1.4T tokens
    5.88e+23
    """
    c = FloatChecked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(6.0 * c.valid("params") * c.valid("tokens"))


@chunked
@float_fast_path
def inference_flops(params, tokens):
    """Inference FLOPs of a model of `params` parameters processing `tokens` tokens (input + output): 2ND.

    Notes
    -----
    C = 2 N D (one forward pass per token).

    Examples
    --------
    >>> inference_flops(7e9, 1e12)
    1.4e+22
    """
    c = FloatChecked(params=params, tokens=tokens)
    c.model_size("params")
    c.non_negative("tokens")
    return c.finish(2.0 * c.valid("params") * c.valid("tokens"))


# ----------------------------------------------------------------------------------------------
# Training cost


@chunked
@float_fast_path
def train_cost(params, tokens, usd_per_hour, peak_tflops, mfu=0.5, gpus=1) -> TrainCost:
    """Training cost of `params` parameters on `tokens` tokens at $ `usd_per_hour` per GPU-hour: usd, gpu_hours, days on `gpus` GPUs, flops.

    Notes
    -----
    flops = 6 N D; gpu_hours = flops / (peak_tflops 1e12 mfu 3600); usd = gpu_hours usd_per_hour;
    days = gpu_hours / gpus / 24 (perfect scaling across GPUs).

    Examples
    --------
    >>> run = train_cost(70e9, 1.4e12, 1.50, 312, mfu=0.5, gpus=2048)  # A100s at $1.50/h
    >>> f"{run.gpu_hours:.4g} GPU-h, ${run.usd:.4g}, {run.days:.1f} days"
    '1.047e+06 GPU-h, $1.571e+06, 21.3 days'
    """
    c = FloatChecked(params=params, tokens=tokens, usd_per_hour=usd_per_hour, peak_tflops=peak_tflops, mfu=mfu, gpus=gpus)
    c.model_size("params", "tokens")
    c.positive("usd_per_hour", "peak_tflops")
    c.fraction("mfu")
    c.at_least_one("gpus")
    flops = 6.0 * c.valid("params") * c.valid("tokens")
    gpu_hours = flops / (c.valid("peak_tflops") * FLOPS_PER_TFLOPS * c.valid("mfu") * SECONDS_PER_HOUR)
    usd, hours, days, fl = c.finish(gpu_hours * c.valid("usd_per_hour"), gpu_hours,
                                    gpu_hours / c.valid("gpus") / HOURS_PER_DAY, flops)
    return TrainCost(usd, hours, days, fl)


# ----------------------------------------------------------------------------------------------
# Ratios


@chunked
@float_fast_path
def overtrain_ratio(params, tokens):
    """Over-training ratio against the 20-tokens-per-parameter rule of thumb: D / (20 N).

    Notes
    -----
    ratio = D / (20 N); 1 is "Chinchilla-optimal" by the rule of thumb. :func:`fit_overtrain_ratio`
    uses a fit's own optimum instead.

    Examples
    --------
    >>> round(overtrain_ratio(2.7e9, 1.4e12), 1)  # Phi-2: 2.7B parameters, 1.4T tokens
    25.9
    """
    c = FloatChecked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(c.valid("tokens") / (CHINCHILLA_TOKENS_PER_PARAM * c.valid("params")))


@chunked
@overflow_checked
def fit_overtrain_ratio(params, tokens, *, fit=DEFAULT_FIT):
    """Over-training ratio against the fit's own Chinchilla-optimal tokens: D / chinchilla_tokens(N).

    Notes
    -----
    ratio = D / D_chin(N) with D_chin(N) = (beta B N^alpha / (alpha A))^(1/beta).

    Examples
    --------
    >>> round(fit_overtrain_ratio(30e9, 1.556e12), 3)  # 30B on its Chinchilla tokens
    1.0
    """
    f = get_fit(fit)
    c = FloatChecked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(c.valid("tokens") / _chinchilla_tokens(f, c.valid("params")))


@chunked
@float_fast_path
def inference_factor(inference_tokens, train_tokens):
    """Lifetime inference FLOPs over training FLOPs for one model: (2 N D_inf) / (6 N D_train) = D_inf / (3 D_train).

    Notes
    -----
    factor = D_inf / (3 D_train); above 1, serving costs more FLOPs than training did.

    Examples
    --------
    >>> round(inference_factor(1e15, 1e12), 1)  # 1000x the training tokens served
    333.3
    """
    c = FloatChecked(inference_tokens=inference_tokens, train_tokens=train_tokens)
    c.non_negative("inference_tokens")
    c.model_size("train_tokens")
    return c.finish(c.valid("inference_tokens") / (3.0 * c.valid("train_tokens")))
