"""Training and serving economics: FLOPs, training cost, monthly serving cost and GPUs, owned hardware, break-even, ratios.

Training costs 6ND FLOPs and inference 2N FLOPs per token. Serving throughput comes from the roofline
model of :mod:`xlcalc.serving`. Every function broadcasts like numpy; scalar in, float out.

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

from ._checks import Checked, overflow_checked
from .laws import DEFAULT_FIT, _chinchilla_tokens, get_fit
from .units import CEIL_SLACK, FLOPS_PER_TFLOPS, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from .serving import (
    _checked_decode,
    _prefill_tokens_per_sec,
    _valid_step_s,
)

HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8760.0          # 365 days: amortisation counts calendar hours
HOURS_PER_MONTH = 730.0          # 8760 / 12
WATTS_PER_KW = 1000.0
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


@dataclasses.dataclass(frozen=True)
class MonthlyCost:
    """Serving a month of traffic: usd for the GPUs provisioned, busy gpu_hours, gpus, busy_usd, avg_tokens_per_sec."""

    usd: float | np.ndarray
    gpu_hours: float | np.ndarray
    gpus: float | np.ndarray
    busy_usd: float | np.ndarray
    avg_tokens_per_sec: float | np.ndarray


# ----------------------------------------------------------------------------------------------
# FLOPs


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
    c = Checked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(6.0 * c.valid("params") * c.valid("tokens"))


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
    c = Checked(params=params, tokens=tokens)
    c.model_size("params")
    c.non_negative("tokens")
    return c.finish(2.0 * c.valid("params") * c.valid("tokens"))


# ----------------------------------------------------------------------------------------------
# Training cost


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
    c = Checked(params=params, tokens=tokens, usd_per_hour=usd_per_hour, peak_tflops=peak_tflops, mfu=mfu, gpus=gpus)
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
# Monthly serving cost


_MONTHLY_RENAMES = {"mfu": "mfu_decode", "gpus": "gpus_per_replica"}


def _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
             bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor, utilisation, gpus_per_replica,
             kv_bytes_per_token, context_tokens, hours_per_month, memory_gb):
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus_per_replica, mfu_decode, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb, renames=_MONTHLY_RENAMES,
                        requests_per_month=requests_per_month, input_tokens=input_tokens, output_tokens=output_tokens,
                        usd_per_hour=usd_per_hour, mfu_prefill=mfu_prefill, peak_factor=peak_factor,
                        utilisation=utilisation, hours_per_month=hours_per_month)
    c.non_negative("requests_per_month", "input_tokens", "output_tokens")
    c.require("output_tokens", c["input_tokens"] + c["output_tokens"] > 0,
              "input_tokens + output_tokens must be > 0", shown=c["output_tokens"])
    c.positive("usd_per_hour", "hours_per_month")
    c.fraction("mfu_prefill", "utilisation")
    c.require("peak_factor", np.isfinite(c["peak_factor"]) & (c["peak_factor"] >= 1),
              "must be a number >= 1 (peak traffic over average traffic)")
    v = {name: c.valid(name) for name in c.values}
    group = v["gpus_per_replica"]            # GPUs one copy of the model runs on
    prefill = _prefill_tokens_per_sec(v["params"], v["peak_tflops"], group, v["mfu_prefill"])
    decode = v["batch"] / _valid_step_s(c, _MONTHLY_RENAMES)
    replica_seconds = v["requests_per_month"] * (v["input_tokens"] / prefill + v["output_tokens"] / decode)
    gpu_hours = replica_seconds * group / SECONDS_PER_HOUR
    average_gpus = gpu_hours / v["hours_per_month"]
    replicas = np.ceil(average_gpus / group * v["peak_factor"] / v["utilisation"] * (1.0 - CEIL_SLACK))
    gpus = replicas * group
    avg_tokens_per_sec = (v["requests_per_month"] * (v["input_tokens"] + v["output_tokens"])
                          / (v["hours_per_month"] * SECONDS_PER_HOUR))
    return c, gpus, gpu_hours, v, avg_tokens_per_sec


def monthly_cost(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                 bytes_per_param=2, batch=1, mfu_prefill=0.5, mfu_decode=1.0, bw_eff=1.0, peak_factor=1.0,
                 utilisation=1.0, gpus_per_replica=1, kv_bytes_per_token=0, context_tokens=0, *,
                 hours_per_month=HOURS_PER_MONTH, memory_gb=None) -> MonthlyCost:
    """Monthly cost of serving `requests_per_month` requests of `input_tokens` + `output_tokens` tokens at $ `usd_per_hour` per GPU-hour.

    Parameters
    ----------
    params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, bw_eff, kv_bytes_per_token, context_tokens :
        as in :func:`xlcalc.serving.tokens_per_sec`.
    requests_per_month, input_tokens, output_tokens : traffic; tokens are per request.
    usd_per_hour : $ per GPU-hour.
    mfu_prefill, mfu_decode : achieved fraction of peak FLOP/s in prefill and in decode.
    peak_factor : peak traffic over average traffic (>= 1); capacity is sized for the peak.
    utilisation : target busy fraction of the provisioned GPUs at peak, in (0, 1].
    gpus_per_replica : GPUs that one copy of the model is split over (e.g. 2 for 70B FP16 on 80 GB GPUs).
    hours_per_month : 730 by default (8760 / 12).
    memory_gb : GB per GPU; when given, a replica that does not hold the weights and KV cache is an error.

    Returns
    -------
    MonthlyCost with ``usd`` (the provisioned GPUs for the whole month), ``gpu_hours`` (GPU-hours the
    traffic keeps busy), ``gpus`` (GPUs to provision, whole replicas), ``busy_usd`` (gpu_hours x
    usd_per_hour: the cost if you paid only for busy time) and ``avg_tokens_per_sec`` (input + output).

    Notes
    -----
    GPU-seconds per request = gpus_per_replica (input / prefill tokens/s + output / decode tokens/s),
    with both rates those of one replica; gpus = gpus_per_replica ceil(gpu_hours / hours_per_month /
    gpus_per_replica x peak_factor / utilisation); usd = gpus hours_per_month usd_per_hour.

    Examples
    --------
    >>> m = monthly_cost(7e9, 10e6, 0, 500, 2.0, 312, 2.0)  # the handbook: 10M requests, 5B tokens, batch 1
    >>> round(m.gpu_hours), m.gpus, round(m.busy_usd)
    (9722, 14.0, 19444)
    """
    c, gpus, gpu_hours, v, rate = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour,
                                           peak_tflops, mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode,
                                           bw_eff, peak_factor, utilisation, gpus_per_replica, kv_bytes_per_token,
                                           context_tokens, hours_per_month, memory_gb)
    usd, hours, g, busy, avg = c.finish(gpus * v["hours_per_month"] * v["usd_per_hour"], gpu_hours, gpus,
                                        gpu_hours * v["usd_per_hour"], rate)
    return MonthlyCost(usd, hours, g, busy, avg)


def gpus_needed(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                bytes_per_param=2, batch=1, mfu_prefill=0.5, mfu_decode=1.0, bw_eff=1.0, peak_factor=1.0,
                utilisation=1.0, gpus_per_replica=1, kv_bytes_per_token=0, context_tokens=0, *,
                hours_per_month=HOURS_PER_MONTH, memory_gb=None):
    """Whole GPUs to provision for a month of traffic, sized for peak_factor x average load at the target utilisation; arguments as monthly_cost.

    Notes
    -----
    gpus = gpus_per_replica ceil(gpu_hours / hours_per_month / gpus_per_replica x peak_factor /
    utilisation); see :func:`monthly_cost`. ``usd_per_hour`` does not change the answer; it is taken
    so that both functions share one argument list.

    Examples
    --------
    >>> gpus_needed(7e9, 10e6, 0, 500, 2.0, 312, 2.0, peak_factor=3, utilisation=0.8)
    50.0
    """
    c, gpus, *_ = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops,
                           mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor,
                           utilisation, gpus_per_replica, kv_bytes_per_token, context_tokens, hours_per_month,
                           memory_gb)
    return c.finish(gpus)


# ----------------------------------------------------------------------------------------------
# Owned hardware and energy


def owned_usd_per_hour(purchase_usd, years, tdp_w, pue=1.2, usd_per_kwh=0.10, utilisation=1.0):
    """$ per busy GPU-hour of owned hardware: purchase price amortised over `years` plus power at TDP x PUE x $/kWh.

    Notes
    -----
    usd_per_hour = purchase_usd / (years 8760 utilisation) + tdp_w / 1000 pue usd_per_kwh. The
    purchase is spread over the hours the GPU is busy; power is paid while busy (idle power ignored).

    Examples
    --------
    >>> round(owned_usd_per_hour(30000, 4, 700), 4)  # a $30,000 H100 over 4 years, 700 W, PUE 1.2, $0.10/kWh
    0.9402
    """
    c = Checked(purchase_usd=purchase_usd, years=years, tdp_w=tdp_w, pue=pue, usd_per_kwh=usd_per_kwh,
                utilisation=utilisation)
    c.non_negative("purchase_usd", "usd_per_kwh")
    c.positive("years", "tdp_w")
    c.require("pue", np.isfinite(c["pue"]) & (c["pue"] >= 1), "must be a number >= 1 (facility power / IT power)")
    c.fraction("utilisation")
    amortised = c.valid("purchase_usd") / (c.valid("years") * HOURS_PER_YEAR * c.valid("utilisation"))
    power = c.valid("tdp_w") / WATTS_PER_KW * c.valid("pue") * c.valid("usd_per_kwh")
    return c.finish(amortised + power)


def energy_kwh_per_mtok(params, tdp_w, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0,
                        bw_eff=1.0, kv_bytes_per_token=0, context_tokens=0, pue=1.2):
    """kWh per million generated tokens at TDP x PUE: gpus x tdp_w x pue / 1000 x 1e6 / (tokens_per_sec x 3600).

    Notes
    -----
    energy = gpus tdp_w pue / 1000 kW x 1e6 / tokens_per_sec / 3600 h, with the roofline decode
    throughput of :func:`xlcalc.serving.tokens_per_sec`. TDP is an upper bound on board power.

    Examples
    --------
    >>> round(energy_kwh_per_mtok(7e9, 400, 312, 2.0), 4)  # 7B on a 400 W A100 at batch 1
    0.9333
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, tdp_w=tdp_w, pue=pue)
    c.positive("tdp_w")
    c.require("pue", np.isfinite(c["pue"]) & (c["pue"] >= 1), "must be a number >= 1 (facility power / IT power)")
    rate = c.valid("batch") / _valid_step_s(c)
    kw = c.valid("gpus") * c.valid("tdp_w") * c.valid("pue") / WATTS_PER_KW
    return c.finish(kw * TOKENS_PER_MTOK / rate / SECONDS_PER_HOUR)


# ----------------------------------------------------------------------------------------------
# Break-even between a smaller, longer-trained model and a larger one


def _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio, **more) -> Checked:
    c = Checked(params_a=params_a, tokens_a=tokens_a, params_b=params_b, tokens_b=tokens_b,
                inference_cost_ratio=inference_cost_ratio, **more)
    c.model_size("params_a", "tokens_a", "params_b", "tokens_b")
    c.positive("inference_cost_ratio")
    c.require("params_b", c["params_a"] != c["params_b"],
              "must differ from params_a (models of equal size never break even: their inference costs the same)")
    return c


def _breakeven_tokens(c: Checked):
    n_a, d_a, n_b, d_b = (c.valid(name) for name in ("params_a", "tokens_a", "params_b", "tokens_b"))
    small_first = n_a < n_b
    n_small, d_small = np.where(small_first, n_a, n_b), np.where(small_first, d_a, d_b)
    n_big, d_big = np.where(small_first, n_b, n_a), np.where(small_first, d_b, d_a)
    extra = 6.0 * n_small * d_small - 6.0 * n_big * d_big
    return np.maximum(extra, 0.0) / (2.0 * c.valid("inference_cost_ratio") * (n_big - n_small))


def breakeven_tokens(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio=1.0):
    """Lifetime inference tokens after which the smaller model (trained longer) costs less in training plus inference; 0 if it is also cheaper to train.

    Notes
    -----
    T = (6 N_small D_small - 6 N_big D_big) / (2 r (N_big - N_small)), and 0 when that is negative;
    r = ``inference_cost_ratio`` is the cost of an inference FLOP relative to a training FLOP (above 1
    when decoding runs at a lower MFU than training). Equal sizes are an error. Either model may come first.

    Examples
    --------
    >>> f"{breakeven_tokens(7e9, 4e12, 70e9, 1.4e12):.4g}"  # 7B on 4T is cheaper to train than 70B on 1.4T
    '0'
    >>> f"{breakeven_tokens(7e9, 2e13, 70e9, 1.4e12):.4g}"  # 7B on 20T: 2.52e23 extra FLOPs
    '2e+12'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio)
    return c.finish(_breakeven_tokens(c))


def breakeven_requests(params_a, tokens_a, params_b, tokens_b, tokens_per_request, inference_cost_ratio=1.0):
    """Break-even point of :func:`breakeven_tokens` in requests of `tokens_per_request` tokens (input + output).

    Notes
    -----
    requests = breakeven_tokens / tokens_per_request.

    Examples
    --------
    >>> f"{breakeven_requests(7e9, 2e13, 70e9, 1.4e12, 500):.4g}"
    '4e+09'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio,
                           tokens_per_request=tokens_per_request)
    c.positive("tokens_per_request")
    return c.finish(_breakeven_tokens(c) / c.valid("tokens_per_request"))


def breakeven_days(params_a, tokens_a, params_b, tokens_b, tokens_per_request, requests_per_day,
                   inference_cost_ratio=1.0):
    """Days of traffic at `requests_per_day` requests of `tokens_per_request` tokens until the smaller model breaks even (years = days / 365.25).

    Notes
    -----
    days = breakeven_tokens / (tokens_per_request requests_per_day).

    Examples
    --------
    >>> f"{breakeven_days(7e9, 2e13, 70e9, 1.4e12, 500, 10_000 * 10):.4g}"  # 10,000 users x 10 requests/day
    '4e+04'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio,
                           tokens_per_request=tokens_per_request, requests_per_day=requests_per_day)
    c.positive("tokens_per_request", "requests_per_day")
    return c.finish(_breakeven_tokens(c) / (c.valid("tokens_per_request") * c.valid("requests_per_day")))


# ----------------------------------------------------------------------------------------------
# Ratios


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
    c = Checked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(c.valid("tokens") / (CHINCHILLA_TOKENS_PER_PARAM * c.valid("params")))


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
    c = Checked(params=params, tokens=tokens)
    c.model_size("params", "tokens")
    return c.finish(c.valid("tokens") / _chinchilla_tokens(f, c.valid("params")))


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
    c = Checked(inference_tokens=inference_tokens, train_tokens=train_tokens)
    c.non_negative("inference_tokens")
    c.model_size("train_tokens")
    return c.finish(c.valid("inference_tokens") / (3.0 * c.valid("train_tokens")))
