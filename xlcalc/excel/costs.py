"""Excel functions of serving and training costs: roofline tokens/s, $ per million tokens, monthly cost, GPUs, FLOPs.

Import them through ``xlcalc.udfs`` (the module xlwings is given); conventions as described there.
"""

from __future__ import annotations

import xlwings as xw

from . import _convert as xl
from ..core import economics, monthly_serving, serving
from ._arguments import (
    CATEGORY,
    INFERENCE_TOKENS,
    MEM_BW_TBS,
    PARAMS,
    PEAK_TFLOPS,
    TOKENS,
    USD_PER_HOUR,
    _arguments,
    _decode_arguments,
    _optional,
)

__all__ = ["TOKENS_PER_SEC", "COST_PER_MTOK", "MONTHLY_COST", "GPUS_NEEDED", "TRAIN_COST", "OVERTRAIN_RATIO", "INFERENCE_FACTOR", "TRAIN_FLOPS", "INFER_FLOPS"]


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS, **_decode_arguments(serving.tokens_per_sec))
@xl.cell_errors
def TOKENS_PER_SEC(params, peak_tflops, mem_bw_tbs, bytes_per_param=None, batch=None, gpus=None, mfu=None,
                   bw_eff=None):
    """Aggregate decode throughput in output tokens/s by the roofline model (peak in TFLOP/s, bandwidth in TB/s)."""
    return xl.compute(serving.tokens_per_sec, {"params": params, "peak_tflops": peak_tflops,
                                               "mem_bw_tbs": mem_bw_tbs, "bytes_per_param": bytes_per_param,
                                               "batch": batch, "gpus": gpus, "mfu": mfu, "bw_eff": bw_eff})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS,
            **_decode_arguments(serving.cost_per_mtok))
@xl.cell_errors
def COST_PER_MTOK(params, usd_per_hour, peak_tflops, mem_bw_tbs, bytes_per_param=None, batch=None, gpus=None,
                  mfu=None, bw_eff=None):
    """$ per million output tokens: usd_per_hour x gpus / (roofline decode tokens/s x 3600) x 1e6."""
    return xl.compute(serving.cost_per_mtok, {"params": params, "usd_per_hour": usd_per_hour,
                                              "peak_tflops": peak_tflops, "mem_bw_tbs": mem_bw_tbs,
                                              "bytes_per_param": bytes_per_param, "batch": batch, "gpus": gpus,
                                              "mfu": mfu, "bw_eff": bw_eff})


def _monthly_arguments(core):
    return dict(
        params=PARAMS,
        requests_per_month="Requests served per month (730 hours)",
        input_tokens="Prompt (input) tokens per request",
        output_tokens="Generated (output) tokens per request",
        usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS,
        bytes_per_param=_optional("Bytes per weight: 2 for FP16/BF16, 1 for FP8/INT8", core, "bytes_per_param"),
        batch=_optional("Sequences decoded together (whole number >= 1)", core, "batch"),
        mfu_prefill=_optional("Prefill MFU, in (0, 1]", core, "mfu_prefill"),
        mfu_decode=_optional("Decode MFU, in (0, 1]", core, "mfu_decode"),
        bw_eff=_optional("Achieved fraction of peak memory bandwidth, in (0, 1]", core, "bw_eff"),
        peak_factor=_optional("Peak demand / average demand (GPUs are sized for the peak), >= 1", core,
                              "peak_factor"),
        utilisation=_optional("Target busy fraction of the provisioned GPUs at peak, in (0, 1]", core,
                              "utilisation"),
        gpus_per_replica=_optional("GPUs one copy of the model is split over (e.g. 2 for 70B FP16 on 80 GB)", core,
                                   "gpus_per_replica"),
    )


def _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
             bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor, utilisation, gpus_per_replica):
    return dict(params=params, requests_per_month=requests_per_month, input_tokens=input_tokens,
                output_tokens=output_tokens, usd_per_hour=usd_per_hour, peak_tflops=peak_tflops,
                mem_bw_tbs=mem_bw_tbs, bytes_per_param=bytes_per_param, batch=batch, mfu_prefill=mfu_prefill,
                mfu_decode=mfu_decode, bw_eff=bw_eff, peak_factor=peak_factor, utilisation=utilisation,
                gpus_per_replica=gpus_per_replica)


@xw.func(category=CATEGORY)
@_arguments(**_monthly_arguments(monthly_serving.monthly_cost))
@xl.cell_errors
def MONTHLY_COST(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                 bytes_per_param=None, batch=None, mfu_prefill=None, mfu_decode=None, bw_eff=None, peak_factor=None,
                 utilisation=None, gpus_per_replica=None):
    """Monthly serving cost (730 h): a row of $ per month for the GPUs provisioned, busy GPU-hours, whole GPUs, $ of the busy GPU-hours only."""
    arguments = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops,
                         mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor,
                         utilisation, gpus_per_replica)
    return xl.compute(monthly_serving.monthly_cost, arguments, outputs=("usd", "gpu_hours", "gpus", "busy_usd"))


@xw.func(category=CATEGORY)
@_arguments(**_monthly_arguments(monthly_serving.gpus_needed))
@xl.cell_errors
def GPUS_NEEDED(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                bytes_per_param=None, batch=None, mfu_prefill=None, mfu_decode=None, bw_eff=None, peak_factor=None,
                utilisation=None, gpus_per_replica=None):
    """Whole GPUs needed to serve requests_per_month requests (730 h a month) at the peak demand."""
    arguments = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops,
                         mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor,
                         utilisation, gpus_per_replica)
    return xl.compute(monthly_serving.gpus_needed, arguments)


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS, usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS,
            mfu=_optional("Training MFU, in (0, 1]", economics.train_cost, "mfu"),
            gpus=_optional("GPUs training in parallel (whole number >= 1)", economics.train_cost, "gpus"))
@xl.cell_errors
def TRAIN_COST(params, tokens, usd_per_hour, peak_tflops, mfu=None, gpus=None):
    """Training cost of 6ND FLOPs: a row of $, GPU-hours, days of wall-clock time, FLOPs."""
    return xl.compute(economics.train_cost, {"params": params, "tokens": tokens, "usd_per_hour": usd_per_hour,
                                             "peak_tflops": peak_tflops, "mfu": mfu, "gpus": gpus},
                      outputs=("usd", "gpu_hours", "days", "flops"))


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS)
@xl.cell_errors
def OVERTRAIN_RATIO(params, tokens):
    """Over-training ratio D / (20 N): training tokens per parameter over the 20 of the Chinchilla rule of thumb."""
    return xl.compute(economics.overtrain_ratio, {"params": params, "tokens": tokens})


@xw.func(category=CATEGORY)
@_arguments(inference_tokens=INFERENCE_TOKENS, train_tokens="Training tokens D of the model")
@xl.cell_errors
def INFERENCE_FACTOR(inference_tokens, train_tokens):
    """Lifetime inference FLOPs over training FLOPs: (2 N D_inf) / (6 N D_train) = D_inf / (3 D_train)."""
    return xl.compute(economics.inference_factor,
                      {"inference_tokens": inference_tokens, "train_tokens": train_tokens})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS)
@xl.cell_errors
def TRAIN_FLOPS(params, tokens):
    """Training compute in FLOPs: 6 N D."""
    return xl.compute(economics.train_flops, {"params": params, "tokens": tokens})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens="Inference tokens processed (input + output); a cell or a range")
@xl.cell_errors
def INFER_FLOPS(params, tokens):
    """Inference compute in FLOPs: 2 N per token processed, 2 N D."""
    return xl.compute(economics.inference_flops, {"params": params, "tokens": tokens})
