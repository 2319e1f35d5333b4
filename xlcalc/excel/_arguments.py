"""What every Excel function module shares: the category, xlwings argument options, argument descriptions.

The descriptions are what Excel's Insert Function dialog shows for each argument; docs/functions.md is
generated from them (``python -m xlcalc.excel.docs docs/functions.md``).
"""

from __future__ import annotations

import xlwings as xw

from . import _convert as xl
from ..core import laws

CATEGORY = "xlcalc"
ARGUMENT_OPTIONS = {"ndim": 2, "err_to_str": True}  # every argument arrives as rows; error cells as '#DIV/0!'


def _arguments(**docs):
    """Describe every argument to Excel (``xw.arg(..., doc=...)``) and keep the descriptions for the docs."""

    def decorate(udf):
        for name, doc in docs.items():
            udf = xw.arg(name, doc=doc, **ARGUMENT_OPTIONS)(udf)
        udf.xlcalc_arguments = dict(docs)
        return udf

    return decorate


def _optional(text: str, core, name: str) -> str:
    """An optional argument's description, ending with the core function's default."""
    return f"{text}; optional, empty = {xl.default_of(core, name):g}"


FIT = (f"Scaling-law fit: a name ({', '.join(laws.FITS)}) or a range of 5 numbers E, A, B, alpha, beta; "
       f"empty = {laws.DEFAULT_FIT}")
PARAMS = "Model size N in parameters (e.g. 70E9); a cell or a range"
TOKENS = "Training tokens D (e.g. 1.4E12); a cell or a range"
LOSS = "Target loss in nats per token, above the fit's irreducible loss E; a cell or a range"
INFERENCE_TOKENS = "Lifetime inference tokens served (input + output), >= 0"
PEAK_TFLOPS = "Dense peak TFLOP/s of one GPU at the precision used (e.g. 312 for A100 BF16)"
MEM_BW_TBS = "Memory bandwidth of one GPU in TB/s (e.g. 2.0 for A100 80GB)"
USD_PER_HOUR = "Price in $ per GPU-hour"


def _decode_arguments(core):
    """Descriptions of the optional roofline arguments shared by the serving functions."""
    return dict(
        bytes_per_param=_optional("Bytes per weight: 2 for FP16/BF16, 1 for FP8/INT8", core, "bytes_per_param"),
        batch=_optional("Sequences decoded together (whole number >= 1)", core, "batch"),
        gpus=_optional("GPUs the model is split over (whole number >= 1)", core, "gpus"),
        mfu=_optional("Achieved fraction of peak FLOP/s in decode, in (0, 1]", core, "mfu"),
        bw_eff=_optional("Achieved fraction of peak memory bandwidth, in (0, 1]", core, "bw_eff"),
    )
