"""Latency of serving: time to first token and time per output token, with tensor-parallel all-reduce, from a model's shape.

A replica is one copy of the model split over ``gpus`` GPUs by tensor parallelism. For a batch of B
sequences, with the model's shape (see :mod:`xlcalc.data.model_shapes`), on GPUs of dense peak P (FLOP/s),
bandwidth W (bytes/s) and interconnect bandwidth I (bytes/s, one direction) and per-step latency a:

    decode step(B, C) = max(B flops(C) / (g P mfu_decode), (weights + B C kv) / (g W bw_eff)) + allreduce(B)
    allreduce(T)      = 2 layers (2 (g - 1) a + 2 (g - 1)/g T d_model act_bytes / I)    (0 on one GPU)
    prefill(B, S)     = max(B S flops(S/2) / (g P mfu_prefill), (weights + B S kv) / (g W bw_eff)) + allreduce(B S)
    TTFT              = prefill(B, prompt) + decode step(B, prompt)
    time per token    = decode step(B, prompt + output/2)        (the mean over the generation)

where weights = matmul params x bytes_per_param and allreduce(T) is a ring all-reduce of T tokens'
activations after attention and after the MLP of every layer. Each time is a maximum of two lines in B
plus a line, so it is convex and piecewise linear in B: :mod:`xlcalc.core.slo` solves "time <= target" for
the largest batch exactly. Units: seconds, TFLOP/s, TB/s, GB/s for the interconnect, microseconds for its
latency, GB of 1e9 bytes, $ per GPU-hour.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .._checks import Checked, overflow_checked
from .._scalar_checks import FloatChecked, float_fast_path, maximum
from ..errors import UnknownNameError
from ..data.model_shapes import ModelShape, ShapeArrays, model_shape, shape_arrays, shape_numbers
from ..units import BYTES_PER_TBS, FLOPS_PER_TFLOPS

BYTES_PER_GBS = 1e9          # interconnect bandwidth is in GB/s
SECONDS_PER_US = 1e-6        # interconnect latency is in microseconds
ACTIVATION_BYTES = 2.0       # activations are all-reduced in 16-bit whatever the weight precision


@dataclasses.dataclass(frozen=True)
class Efficiencies:
    """Achieved fractions of peak for one accelerator family: prefill MFU, decode MFU, memory bandwidth."""

    family: str
    mfu_prefill: float
    mfu_decode: float
    bw_eff: float
    note: str = ""


#: One set per accelerator family, calibrated on published measurements (tests/test_latency.py states
#: every anchor and its error). "other" is used for families without a published anchor.
EFFICIENCIES = {
    "Ampere": Efficiencies("Ampere", mfu_prefill=0.72, mfu_decode=0.5, bw_eff=0.68,
                           note="gpt-fast README of 2023-12-05 (A100-80GB at 330 W) and TensorRT-LLM 0.5 (A100)"),
    "Hopper": Efficiencies("Hopper", mfu_prefill=0.45, mfu_decode=0.35, bw_eff=0.52,
                           note="TensorRT-LLM 0.5 FP8 tables (H100 SXM)"),
    "other": Efficiencies("other", mfu_prefill=0.5, mfu_decode=0.35, bw_eff=0.6,
                          note="no published anchor: between the two calibrated families"),
}
_FAMILY_PREFIXES = {"A100": "Ampere", "A10": "Ampere", "H100": "Hopper", "H200": "Hopper", "GH200": "Hopper"}


def efficiencies_for(accelerator_name: str) -> Efficiencies:
    """The calibrated efficiencies of an accelerator's family (A100/A10G: Ampere; H100/H200: Hopper; else 'other')."""
    name = str(accelerator_name).upper().replace(" ", "")
    for prefix, family in _FAMILY_PREFIXES.items():
        if name.startswith(prefix):
            return EFFICIENCIES[family]
    return EFFICIENCIES["other"]


# ----------------------------------------------------------------------------------------------
# Arguments


_MODEL_FIELDS = ("params", "matmul_params", "layers", "d_model", "q_dim", "kv_dim")


def _model_numbers(model) -> tuple[dict, np.ndarray | None]:
    """The model's numbers: a ModelShape, ShapeArrays, a name, a count, or an array of names and counts.

    Returns (numbers, reasons) with reasons '' where usable (None when there is one model).
    """
    reasons = None
    if isinstance(model, (list, tuple, np.ndarray)) and not isinstance(model, str):
        model, reasons = shape_arrays(model)
    if isinstance(model, ShapeArrays):
        return {f: getattr(model, f) for f in _MODEL_FIELDS}, reasons
    if not isinstance(model, ModelShape):
        if isinstance(model, (str, float, int)) and not isinstance(model, bool):
            return dict(zip(_MODEL_FIELDS, shape_numbers(model, _MODEL_FIELDS))), None  # one look-up per name
        model = model_shape(model)
    return {f: float(getattr(model, f)) for f in _MODEL_FIELDS}, None


# The checks below take plain floats (the scalar fast path of FloatChecked) or arrays, with the same outcome.


def _isfinite(x):
    return math.isfinite(x) if type(x) is float else np.isfinite(x)


def _not(x):
    return not x if type(x) is bool else ~x


def _is_whole(x):
    return x == math.floor(x) if type(x) is float and math.isfinite(x) else x == np.floor(x)


def _floats_pass(f: dict, hardware: dict, serving: dict, auto_gpus: bool) -> bool:
    """True when every check of :func:`_checked` passes on one scenario of Python floats (the common one-cell call),
    so that they need not run one by one; False sends the scenario through them (and their messages)."""
    inf = math.inf
    if not 0.0 < f["params"] < inf:
        return False
    for name in hardware:  # all > 0 but the interconnect, checked with the GPUs
        if name != "link_gbs" and name != "link_latency_us" and not 0.0 < f[name] < inf:
            return False
    if not (0.0 < f["bytes_per_param"] < inf and 0.0 < f["kv_bytes_per_value"] < inf):
        return False
    for name in serving:
        x = f[name]
        if name in ("mfu_prefill", "mfu_decode", "bw_eff"):
            if not 0.0 < x <= 1.0:
                return False
        elif name in ("input_tokens", "output_tokens", "context_tokens"):
            if not 0.0 <= x < inf:
                return False
        elif name == "batch" or name == "gpus":
            if not ((0.0 if name == "gpus" and auto_gpus else 1.0) <= x < inf and x.is_integer()):
                return False
    return "gpus" not in serving or f["gpus"] == 1.0 or (0.0 < f["link_gbs"] < inf and 0.0 <= f["link_latency_us"] < inf)


def _checked(model, hardware: dict, serving: dict, *, auto_gpus=False) -> Checked:
    """Broadcast and check model numbers, hardware and serving arguments together (gpus 0 = choose, if ``auto_gpus``)."""
    numbers, reasons = _model_numbers(model)
    c = FloatChecked(**numbers, **hardware, **serving)
    if c.floats is not None and _floats_pass(c.floats, hardware, serving, auto_gpus):
        return c  # every check below would pass: nothing to mark
    if reasons is not None and (reasons != "").any():
        reasons = np.broadcast_to(reasons, c.shape)
        c.mark((reasons != "") & ~c.bad, lambda index: reasons[index], UnknownNameError)
    c.require("params", _isfinite(c["params"]) & (c["params"] > 0), "must be a model name or a count > 0")
    c.positive(*(k for k in hardware if k not in ("link_gbs", "link_latency_us", "usd_per_hour")))
    if "usd_per_hour" in hardware:
        c.positive("usd_per_hour")
    for name in ("mfu_prefill", "mfu_decode", "bw_eff"):
        if name in serving:
            c.fraction(name)
    if "batch" in serving:
        c.at_least_one("batch")
    if "gpus" in serving:
        if auto_gpus:
            g = c["gpus"]
            c.require("gpus", _isfinite(g) & (g >= 0) & _is_whole(g),
                      "must be a whole number >= 1, or 0 to choose the cheapest of 1, 2, 4, 8")
        else:
            c.at_least_one("gpus")
        single = _not(c["gpus"] != 1)
        c.require("link_gbs", single | (_isfinite(c["link_gbs"]) & (c["link_gbs"] > 0)),
                  "must be a number > 0 when gpus > 1 (the interconnect bandwidth in GB/s)")
        c.require("link_latency_us", single | (_isfinite(c["link_latency_us"]) & (c["link_latency_us"] >= 0)),
                  "must be a number >= 0 when gpus > 1 (microseconds)")
    c.positive("bytes_per_param", "kv_bytes_per_value")
    for name in ("input_tokens", "output_tokens", "context_tokens"):
        if name in serving:
            c.non_negative(name)
    return c


# ----------------------------------------------------------------------------------------------
# Kernels: each time is intercept + slope x batch, or the max of two such lines (valid inputs only)


def _kv_bytes(v):
    return 2.0 * v["layers"] * v["kv_dim"] * v["kv_bytes_per_value"]


def _allreduce_lines(v, gpus, tokens_per_sequence):
    """(intercept, slope per sequence) of the all-reduces of one forward pass: 2 per layer, ring algorithm."""
    ring = 2.0 * (gpus - 1.0)
    multi = gpus > 1
    if type(multi) is bool:  # Python floats: only the branch taken (the other may divide by zero)
        if not multi:
            return 0.0, 0.0
        return (2.0 * v["layers"] * ring * v["link_latency_us"] * SECONDS_PER_US,
                2.0 * v["layers"] * ring / gpus * tokens_per_sequence * v["d_model"] * ACTIVATION_BYTES
                / (v["link_gbs"] * BYTES_PER_GBS))
    with np.errstate(invalid="ignore", divide="ignore"):
        intercept = np.where(multi, 2.0 * v["layers"] * ring * v["link_latency_us"] * SECONDS_PER_US, 0.0)
        slope = np.where(multi, 2.0 * v["layers"] * ring / gpus * tokens_per_sequence * v["d_model"] * ACTIVATION_BYTES
                         / (v["link_gbs"] * BYTES_PER_GBS), 0.0)
    return intercept, slope


def _decode_lines(v, gpus, context):
    """Decode step = max(c1 B, m0 + m1 B) + k0 + k1 B: returns (c1, m0, m1, k0, k1)."""
    flops = 2.0 * v["matmul_params"] + 4.0 * v["layers"] * v["q_dim"] * context
    c1 = flops / (gpus * v["peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_decode"])
    bandwidth = gpus * v["mem_bw_tbs"] * BYTES_PER_TBS * v["bw_eff"]
    m0 = v["matmul_params"] * v["bytes_per_param"] / bandwidth
    m1 = context * _kv_bytes(v) / bandwidth
    k0, k1 = _allreduce_lines(v, gpus, 1.0)
    return c1, m0, m1, k0, k1


def _prefill_lines(v, gpus, prompt):
    """Prefill of B prompts = max(p1 B, q0 + q1 B) + a0 + a1 B: returns (p1, q0, q1, a0, a1)."""
    flops = prompt * (2.0 * v["matmul_params"] + 4.0 * v["layers"] * v["q_dim"] * (prompt + 1.0) / 2.0)
    p1 = flops / (gpus * v["peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_prefill"])
    bandwidth = gpus * v["mem_bw_tbs"] * BYTES_PER_TBS * v["bw_eff"]
    q0 = v["matmul_params"] * v["bytes_per_param"] / bandwidth
    q1 = prompt * _kv_bytes(v) / bandwidth
    a0, a1 = _allreduce_lines(v, gpus, prompt)
    return p1, q0, q1, a0, a1


def _decode_step(v, gpus, batch, context):
    c1, m0, m1, k0, k1 = _decode_lines(v, gpus, context)
    return maximum(c1 * batch, m0 + m1 * batch) + k0 + k1 * batch


def _ttft(v, gpus, batch):
    p1, q0, q1, a0, a1 = _prefill_lines(v, gpus, v["input_tokens"])
    prefill = maximum(p1 * batch, q0 + q1 * batch) + a0 + a1 * batch
    return prefill + _decode_step(v, gpus, batch, v["input_tokens"])


def _prefill_only(v, gpus, batch):
    p1, q0, q1, a0, a1 = _prefill_lines(v, gpus, v["input_tokens"])
    return maximum(p1 * batch, q0 + q1 * batch) + a0 + a1 * batch


def _decode_context(v):
    return v["input_tokens"] + v["output_tokens"] / 2.0


# ----------------------------------------------------------------------------------------------
# Times for a given batch


_EFFICIENCY_DEFAULTS = EFFICIENCIES["Ampere"]


@functools.partial(float_fast_path, skip=1)  # the model: a name, a count or a shape
def time_per_token_s(model, peak_tflops, mem_bw_tbs, context_tokens, *, batch=1, gpus=1, bytes_per_param=2,
                     kv_bytes_per_value=2, mfu_decode=_EFFICIENCY_DEFAULTS.mfu_decode,
                     bw_eff=_EFFICIENCY_DEFAULTS.bw_eff, link_gbs=np.nan, link_latency_us=0.0):
    """Seconds per decode step of `batch` sequences holding `context_tokens` of KV cache, with tensor-parallel all-reduce.

    Parameters
    ----------
    model : a catalog name, a parameter count, a :class:`~xlcalc.data.model_shapes.ModelShape` or ShapeArrays.
    peak_tflops, mem_bw_tbs : dense peak TFLOP/s at the precision used and memory TB/s of one GPU.
    context_tokens : tokens each sequence attends to (its KV cache).
    batch, gpus : sequences decoded together; GPUs of the replica (tensor parallelism).
    bytes_per_param, kv_bytes_per_value : bytes per weight and per cached K or V value.
    mfu_decode, bw_eff : achieved fractions of peak FLOP/s and bandwidth (defaults: the Ampere set).
    link_gbs, link_latency_us : interconnect GB/s (one direction) and per-step latency, needed when gpus > 1.

    Notes
    -----
    step = max(B flops(C) / (g P mfu), (matmul params bytes + B C kv) / (g W bw_eff)) + 2 layers
    (2 (g-1) latency + 2 (g-1)/g B d_model 2 / link).

    Examples
    --------
    >>> round(time_per_token_s("Llama-2-7B", 312, 2.039, 0, bw_eff=1.0) * 1e3, 3)  # weights only, full bandwidth
    6.481
    """
    c = _checked(model, dict(peak_tflops=peak_tflops, mem_bw_tbs=mem_bw_tbs, link_gbs=link_gbs,
                             link_latency_us=link_latency_us),
                 dict(context_tokens=context_tokens, batch=batch, gpus=gpus, bytes_per_param=bytes_per_param,
                      kv_bytes_per_value=kv_bytes_per_value, mfu_decode=mfu_decode, bw_eff=bw_eff))
    v = c.valid_all()
    return c.finish(_decode_step(v, v["gpus"], v["batch"], v["context_tokens"]))


@functools.partial(float_fast_path, skip=1)  # the model: a name, a count or a shape
def ttft_s(model, peak_tflops, mem_bw_tbs, input_tokens, *, batch=1, gpus=1, bytes_per_param=2,
           kv_bytes_per_value=2, mfu_prefill=_EFFICIENCY_DEFAULTS.mfu_prefill,
           mfu_decode=_EFFICIENCY_DEFAULTS.mfu_decode, bw_eff=_EFFICIENCY_DEFAULTS.bw_eff, link_gbs=np.nan,
           link_latency_us=0.0):
    """Seconds to the first token: prefill of `batch` prompts of `input_tokens` (compute-bound at mfu_prefill) plus one decode step.

    Same arguments as :func:`time_per_token_s`, with ``input_tokens`` (the prompt) for the context.

    Notes
    -----
    TTFT = max(B S flops(S/2) / (g P mfu_prefill), (weights + B S kv) / (g W bw_eff)) + all-reduce of B S
    tokens + decode step(B, S). The prompts of the batch are prefilled together.

    Examples
    --------
    >>> round(ttft_s("Llama-2-7B", 312, 2.039, 2048) * 1e3, 1)  # A100, 2,048-token prompt, batch 1
    135.7
    """
    c = _checked(model, dict(peak_tflops=peak_tflops, mem_bw_tbs=mem_bw_tbs, link_gbs=link_gbs,
                             link_latency_us=link_latency_us),
                 dict(input_tokens=input_tokens, batch=batch, gpus=gpus, bytes_per_param=bytes_per_param,
                      kv_bytes_per_value=kv_bytes_per_value, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode,
                      bw_eff=bw_eff))
    v = c.valid_all()
    return c.finish(_ttft(v, v["gpus"], v["batch"]))


@overflow_checked
def allreduce_s(d_model, layers, tokens, gpus, link_gbs, link_latency_us=0.0):
    """Seconds of the all-reduces of one forward pass over `gpus` GPUs: 2 per layer, ring, of tokens x d_model 16-bit values.

    Notes
    -----
    t = 2 layers (2 (g-1) latency + 2 (g-1)/g tokens d_model 2 bytes / link); 0 on one GPU.

    Examples
    --------
    >>> round(allreduce_s(8192, 80, 1, 8, 300, 0) * 1e6, 2)  # 70B, one token, 8 GPUs at 300 GB/s, no latency
    15.29
    """
    c = Checked(d_model=d_model, layers=layers, tokens=tokens, gpus=gpus, link_gbs=link_gbs,
                link_latency_us=link_latency_us)
    c.positive("d_model", "layers", "link_gbs")
    c.non_negative("tokens", "link_latency_us")
    c.at_least_one("gpus")
    v = {k: c.valid(k) for k in c.values}
    intercept, slope = _allreduce_lines(v, v["gpus"], v["tokens"])
    return c.finish(intercept + slope)
