"""Monthly serving cost and GPUs to provision: a month of traffic on the roofline model of :mod:`xlcalc.core.serving`.

Every function broadcasts like numpy; scalar in, float out (the scalar fast path of
:class:`~xlcalc._checks.Checked` gives the same digits and errors as an array call).

Notes
-----
The handbook chapter "Inference Scaling" has the monthly costs 1000x off ($140 / $1,400 for 7B and 70B on
A100s; right: 9,722 and 97,222 GPU-hours; shared REFERENCE.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._scalar_checks import ceil, float_fast_path
from .serving import _checked_decode, _prefill_tokens_per_sec, _step_s_of
from ..units import CEIL_SLACK, SECONDS_PER_HOUR
from ._chunks import chunked

HOURS_PER_MONTH = 730.0          # 8760 / 12


@dataclasses.dataclass(frozen=True)
class MonthlyCost:
    """Serving a month of traffic: usd for the GPUs provisioned, busy gpu_hours, gpus, busy_usd, avg_tokens_per_sec."""

    usd: float | np.ndarray
    gpu_hours: float | np.ndarray
    gpus: float | np.ndarray
    busy_usd: float | np.ndarray
    avg_tokens_per_sec: float | np.ndarray


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
    c.at_least("peak_factor", 1.0, "must be a number >= 1 (peak traffic over average traffic)")
    v = c.valid_all()
    group = v["gpus_per_replica"]            # GPUs one copy of the model runs on
    prefill = _prefill_tokens_per_sec(v["params"], v["peak_tflops"], group, v["mfu_prefill"])
    decode = v["batch"] / _step_s_of(v, _MONTHLY_RENAMES)
    replica_seconds = v["requests_per_month"] * (v["input_tokens"] / prefill + v["output_tokens"] / decode)
    gpu_hours = replica_seconds * group / SECONDS_PER_HOUR
    average_gpus = gpu_hours / v["hours_per_month"]
    replicas = ceil(average_gpus / group * v["peak_factor"] / v["utilisation"] * (1.0 - CEIL_SLACK))
    gpus = replicas * group
    avg_tokens_per_sec = (v["requests_per_month"] * (v["input_tokens"] + v["output_tokens"])
                          / (v["hours_per_month"] * SECONDS_PER_HOUR))
    return c, gpus, gpu_hours, v, avg_tokens_per_sec


@chunked
@float_fast_path
def monthly_cost(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                 bytes_per_param=2, batch=1, mfu_prefill=0.5, mfu_decode=1.0, bw_eff=1.0, peak_factor=1.0,
                 utilisation=1.0, gpus_per_replica=1, kv_bytes_per_token=0, context_tokens=0, *,
                 hours_per_month=HOURS_PER_MONTH, memory_gb=None) -> MonthlyCost:
    """Monthly cost of serving `requests_per_month` requests of `input_tokens` + `output_tokens` tokens at $ `usd_per_hour` per GPU-hour.

    Parameters
    ----------
    params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, bw_eff, kv_bytes_per_token, context_tokens :
        as in :func:`xlcalc.core.serving.tokens_per_sec`.
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


@chunked
@float_fast_path
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

