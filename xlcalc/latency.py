"""Serving at a latency target: time to first token, time per output token with tensor-parallel all-reduce, largest batch within an SLO.

A replica is one copy of the model split over ``gpus`` GPUs by tensor parallelism. For a batch of B
sequences, with the model's shape (see :mod:`xlcalc.model_shapes`), on GPUs of dense peak P (FLOP/s),
bandwidth W (bytes/s) and interconnect bandwidth I (bytes/s, one direction) and per-step latency a:

    decode step(B, C) = max(B flops(C) / (g P mfu_decode), (weights + B C kv) / (g W bw_eff)) + allreduce(B)
    allreduce(T)      = 2 layers (2 (g - 1) a + 2 (g - 1)/g T d_model act_bytes / I)    (0 on one GPU)
    prefill(B, S)     = max(B S flops(S/2) / (g P mfu_prefill), (weights + B S kv) / (g W bw_eff)) + allreduce(B S)
    TTFT              = prefill(B, prompt) + decode step(B, prompt)
    time per token    = decode step(B, prompt + output/2)        (the mean over the generation)

where weights = matmul params x bytes_per_param and allreduce(T) is a ring all-reduce of T tokens'
activations after attention and after the MLP of every layer. Each time is a maximum of two lines in B
plus a line, so it is convex and piecewise linear in B, and "time <= target" is a set of linear
inequalities: the largest batch is their floor, found exactly (:func:`max_batch`), for a whole range of
scenarios at once. Units: seconds, TFLOP/s, TB/s, GB/s for the interconnect, microseconds for its
latency, GB of 1e9 bytes, $ per GPU-hour.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._checks import Checked, format_value
from .errors import InvalidInputError, UnknownNameError
from .model_shapes import ModelShape, ShapeArrays, model_shape, shape_arrays
from .units import BYTES_PER_GB, BYTES_PER_TBS, CEIL_SLACK, FLOPS_PER_TFLOPS, SECONDS_PER_HOUR, TOKENS_PER_MTOK

BYTES_PER_GBS = 1e9          # interconnect bandwidth is in GB/s
SECONDS_PER_US = 1e-6        # interconnect latency is in microseconds
ACTIVATION_BYTES = 2.0       # activations are all-reduced in 16-bit whatever the weight precision
GPU_COUNTS = (1, 2, 4, 8)    # tensor-parallel degrees tried when the GPUs per replica are left open
HEADROOM = 0.1               # fraction of GPU memory kept free for activations, fragmentation, runtime


class TargetUnreachableError(InvalidInputError):
    """No batch meets the latency target (or fits) on the GPUs allowed; the message says what would."""


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
        model = model_shape(model)
    return {f: float(getattr(model, f)) for f in _MODEL_FIELDS}, None


def _checked(model, hardware: dict, serving: dict, *, auto_gpus=False) -> Checked:
    """Broadcast and check model numbers, hardware and serving arguments together (gpus 0 = choose, if ``auto_gpus``)."""
    numbers, reasons = _model_numbers(model)
    c = Checked(**numbers, **hardware, **serving)
    if reasons is not None and (reasons != "").any():
        reasons = np.broadcast_to(reasons, c.shape)
        c.mark((reasons != "") & ~c.bad, lambda index: reasons[index], UnknownNameError)
    c.require("params", np.isfinite(c["params"]) & (c["params"] > 0), "must be a model name or a count > 0")
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
            c.require("gpus", np.isfinite(g) & (g >= 0) & (g == np.floor(g)),
                      "must be a whole number >= 1, or 0 to choose the cheapest of 1, 2, 4, 8")
        else:
            c.at_least_one("gpus")
        multi = c["gpus"] != 1
        c.require("link_gbs", ~multi | (np.isfinite(c["link_gbs"]) & (c["link_gbs"] > 0)),
                  "must be a number > 0 when gpus > 1 (the interconnect bandwidth in GB/s)")
        c.require("link_latency_us", ~multi | (np.isfinite(c["link_latency_us"]) & (c["link_latency_us"] >= 0)),
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
    return np.maximum(c1 * batch, m0 + m1 * batch) + k0 + k1 * batch


def _ttft(v, gpus, batch):
    p1, q0, q1, a0, a1 = _prefill_lines(v, gpus, v["input_tokens"])
    prefill = np.maximum(p1 * batch, q0 + q1 * batch) + a0 + a1 * batch
    return prefill + _decode_step(v, gpus, batch, v["input_tokens"])


def _prefill_only(v, gpus, batch):
    p1, q0, q1, a0, a1 = _prefill_lines(v, gpus, v["input_tokens"])
    return np.maximum(p1 * batch, q0 + q1 * batch) + a0 + a1 * batch


def _decode_context(v):
    return v["input_tokens"] + v["output_tokens"] / 2.0


def _largest(target, lines):
    """Largest real B >= 0 with intercept + slope B <= target for every (intercept, slope) in ``lines``; -1 if none."""
    best = np.full(np.shape(target), np.inf)
    for intercept, slope in lines:
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = np.where(slope > 0, (target - intercept) / slope, np.where(intercept <= target, np.inf, -1.0))
        best = np.minimum(best, bound)
    return best


def _batch_limits(v, gpus):
    """(batch limit from the time per token, from the TTFT, from memory) as reals; floors taken by the caller."""
    c1, m0, m1, k0, k1 = _decode_lines(v, gpus, _decode_context(v))
    tpot = _largest(v["tpot_target_s"], [(k0, c1 + k1), (m0 + k0, m1 + k1)])
    p1, q0, q1, a0, a1 = _prefill_lines(v, gpus, v["input_tokens"])
    d1, n0, n1, j0, j1 = _decode_lines(v, gpus, v["input_tokens"])
    ttft = _largest(v["ttft_target_s"], [(pre0 + dec0 + a0 + j0, pre1 + dec1 + a1 + j1)
                                         for pre0, pre1 in ((0.0, p1), (q0, q1)) for dec0, dec1 in ((0.0, d1), (n0, n1))])
    usable = gpus * v["memory_gb"] * BYTES_PER_GB * (1.0 - v["headroom"])
    per_sequence = (v["input_tokens"] + v["output_tokens"]) * _kv_bytes(v)
    free = usable - v["params"] * v["bytes_per_param"]
    with np.errstate(divide="ignore", invalid="ignore"):
        memory = np.where(free < 0, -1.0, np.where(per_sequence > 0, free / per_sequence, np.inf))
    return tpot, ttft, memory


def _floor(x):
    return np.floor(x * (1.0 + CEIL_SLACK) + CEIL_SLACK)


# ----------------------------------------------------------------------------------------------
# Times for a given batch


_EFFICIENCY_DEFAULTS = EFFICIENCIES["Ampere"]


def time_per_token_s(model, peak_tflops, mem_bw_tbs, context_tokens, *, batch=1, gpus=1, bytes_per_param=2,
                     kv_bytes_per_value=2, mfu_decode=_EFFICIENCY_DEFAULTS.mfu_decode,
                     bw_eff=_EFFICIENCY_DEFAULTS.bw_eff, link_gbs=np.nan, link_latency_us=0.0):
    """Seconds per decode step of `batch` sequences holding `context_tokens` of KV cache, with tensor-parallel all-reduce.

    Parameters
    ----------
    model : a catalog name, a parameter count, a :class:`~xlcalc.model_shapes.ModelShape` or ShapeArrays.
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
    v = {k: c.valid(k) for k in c.values}
    return c.finish(_decode_step(v, v["gpus"], v["batch"], v["context_tokens"]))


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
    v = {k: c.valid(k) for k in c.values}
    return c.finish(_ttft(v, v["gpus"], v["batch"]))


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


# ----------------------------------------------------------------------------------------------
# The largest batch within a latency target


@dataclasses.dataclass(frozen=True)
class SloServing:
    """Serving at a latency target: the largest batch, GPUs per replica, its times, tokens/s and $ per million tokens."""

    batch: np.ndarray | float
    gpus: np.ndarray | float
    time_per_token_s: np.ndarray | float
    ttft_s: np.ndarray | float
    tokens_per_sec: np.ndarray | float
    usd_per_mtok_input: np.ndarray | float
    usd_per_mtok_output: np.ndarray | float
    memory_used: np.ndarray | float


def max_batch(model, peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, *, tpot_target_s=np.inf,
              ttft_target_s=np.inf, gpus=0, usd_per_hour=1.0, bytes_per_param=2, kv_bytes_per_value=2,
              mfu_prefill=_EFFICIENCY_DEFAULTS.mfu_prefill, mfu_decode=_EFFICIENCY_DEFAULTS.mfu_decode,
              bw_eff=_EFFICIENCY_DEFAULTS.bw_eff, link_gbs=np.nan, link_latency_us=0.0, headroom=HEADROOM,
              max_gpus=8) -> SloServing:
    """Largest batch meeting a time-per-output-token and/or time-to-first-token target and fitting in memory, with its cost.

    Parameters
    ----------
    model, peak_tflops, mem_bw_tbs : as :func:`time_per_token_s`; memory_gb : memory of one GPU.
    input_tokens, output_tokens : prompt and generated tokens per request (the KV cache holds both).
    tpot_target_s, ttft_target_s : targets in seconds (> 0); inf (the default) means no target. At least
        one must be finite.
    gpus : GPUs per replica (whole number >= 1), or 0 to choose among 1, 2, 4, 8 (up to ``max_gpus``) the
        one with the lowest $ per million output tokens (the fewest GPUs on a tie).
    usd_per_hour : $ per GPU-hour; headroom : fraction of memory kept free (default 0.1).

    Returns
    -------
    SloServing: batch, gpus, time_per_token_s and ttft_s at that batch, output tokens/s of the replica,
    $ per million input tokens (prefill time) and output tokens (decode time), fraction of memory used.
    When nothing meets the target, :class:`TargetUnreachableError` (NaN in arrays, with the reason in
    :func:`xlcalc.invalid_reasons`) says why and what would: how many GPUs, or which target is reachable.

    Notes
    -----
    Time per token and TTFT are convex piecewise-linear in the batch B (see the module notes), so
    time(B) <= target is a set of inequalities i + s B <= target, and the memory fit is
    g memory (1 - headroom) >= weights + B (input + output) kv. The batch is the floor of the smallest
    bound: exact, no search over B.

    Examples
    --------
    >>> r = max_batch("Llama-3.1-8B", 989.5, 3.35, 80, 1000, 200, tpot_target_s=0.03, ttft_target_s=1.0, gpus=1)
    >>> int(r.batch), round(r.time_per_token_s * 1e3, 2), round(r.ttft_s, 3)  # H100: the TTFT target binds
    (46, 9.5, 0.995)
    """
    hardware = dict(peak_tflops=peak_tflops, mem_bw_tbs=mem_bw_tbs, memory_gb=memory_gb, link_gbs=link_gbs,
                    link_latency_us=link_latency_us, usd_per_hour=usd_per_hour)
    serving = dict(input_tokens=input_tokens, output_tokens=output_tokens, tpot_target_s=tpot_target_s,
                   ttft_target_s=ttft_target_s, gpus=gpus, bytes_per_param=bytes_per_param,
                   kv_bytes_per_value=kv_bytes_per_value, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode,
                   bw_eff=bw_eff, headroom=headroom, max_gpus=max_gpus)
    c = _checked_slo(model, hardware, serving)
    v = {k: c.valid(k) for k in c.values}
    auto = v["gpus"] == 0
    candidates = GPU_COUNTS + (16, 32, 64)
    best = dict(batch=np.full(auto.shape, -1.0), gpus=np.where(auto, np.nan, v["gpus"]), cost=np.full(auto.shape, np.inf))
    for g in (None, *candidates):
        if g is None:
            gpus_now = np.where(auto, 1.0, v["gpus"])
            active = ~auto
        else:
            gpus_now = np.full(auto.shape, float(g))
            active = auto & (g <= v["max_gpus"])
            if not active.any():
                continue
        batch = _batch_at(v, gpus_now)
        cost = _output_usd_per_mtok(v, gpus_now, np.maximum(batch, 1.0))
        better = active & (batch >= 1) & (cost < best["cost"])
        best["batch"] = np.where(better, batch, best["batch"])
        best["gpus"] = np.where(better, gpus_now, best["gpus"])
        best["cost"] = np.where(better, cost, best["cost"])
    failed = best["batch"] < 1
    if failed.any():
        _explain(c, v, failed)
        best["cost"] = np.where(failed, 0.0, best["cost"])  # NaN after finish; finite so its reason is kept
    batch, gpus_used = np.where(failed, 1.0, best["batch"]), np.where(failed, 1.0, best["gpus"])
    tpot = _decode_step(v, gpus_used, batch, _decode_context(v))
    ttft = _ttft(v, gpus_used, batch)
    usd_input = (v["usd_per_hour"] * gpus_used * _prefill_only(v, gpus_used, batch)
                 / np.maximum(batch * v["input_tokens"], 1e-300) / SECONDS_PER_HOUR * TOKENS_PER_MTOK)
    usd_input = np.where(v["input_tokens"] > 0, usd_input, 0.0)
    used = ((v["params"] * v["bytes_per_param"] + batch * (v["input_tokens"] + v["output_tokens"]) * _kv_bytes(v))
            / (gpus_used * v["memory_gb"] * BYTES_PER_GB))
    return SloServing(*c.finish(batch, gpus_used, tpot, ttft, batch / tpot, usd_input, best["cost"], used))


def _batch_at(v, gpus):
    tpot, ttft, memory = _batch_limits(v, gpus)
    return _floor(np.minimum(np.minimum(tpot, ttft), memory))


def _output_usd_per_mtok(v, gpus, batch):
    step = _decode_step(v, gpus, batch, _decode_context(v))
    return v["usd_per_hour"] * gpus * step / batch / SECONDS_PER_HOUR * TOKENS_PER_MTOK


def _checked_slo(model, hardware, serving) -> Checked:
    c = _checked(model, hardware, serving, auto_gpus=True)
    for name in ("tpot_target_s", "ttft_target_s"):
        value = c[name]
        c.require(name, (value > 0) & ~np.isnan(value), "must be a time > 0 (or no target)")
    c.require("tpot_target_s", np.isfinite(c["tpot_target_s"]) | np.isfinite(c["ttft_target_s"]),
              "give a time-per-token target, a time-to-first-token target or both", shown=c["tpot_target_s"])
    c.require("headroom", (c["headroom"] >= 0) & (c["headroom"] < 1), "must be in [0, 1)")
    c.at_least_one("max_gpus")
    return c


def _explain(c: Checked, v, failed) -> None:
    """Mark the failed elements invalid with why nothing meets the target and what would (a scalar call raises)."""
    valid = ~c.bad
    c._valid_at_solve = valid  # the kernels computed on these elements; finish scatters back to them
    reasons = np.full(c.shape, "", dtype=object)
    positions = np.argwhere(valid) if c.shape else [()]
    for i in np.nonzero(failed)[0]:
        one = {k: np.asarray(x, dtype=float)[i:i + 1] for k, x in v.items()}
        reasons[tuple(positions[i])] = _why(one)
    new = np.zeros(c.shape, dtype=bool)
    new[valid] = failed
    c.mark(new, lambda index: reasons[index], TargetUnreachableError)


_TRIED_FOR_ADVICE = (1, 2, 4, 8, 16, 32, 64)


def _why(one) -> str:
    """Why no batch meets the target for one scenario, and what would: the GPUs needed, or the fastest reachable."""
    fixed = one["gpus"][0] != 0
    allowed = int(one["gpus"][0] if fixed else one["max_gpus"][0])
    where = f"{allowed} GPU{'s' if allowed > 1 else ''}" if fixed else f"up to {allowed} GPUs"
    targets = []
    if np.isfinite(one["tpot_target_s"][0]):
        targets.append(f"{format_value(one['tpot_target_s'][0] * 1e3)} ms per output token")
    if np.isfinite(one["ttft_target_s"][0]):
        targets.append(f"{format_value(one['ttft_target_s'][0] * 1e3)} ms to the first token")
    need = (one["params"] * one["bytes_per_param"] + (one["input_tokens"] + one["output_tokens"]) * _kv_bytes(one))[0]
    per_gpu = one["memory_gb"][0] * BYTES_PER_GB * (1.0 - one["headroom"][0])
    fit_gpus = max(1, int(np.ceil(need / per_gpu * (1 - CEIL_SLACK))))
    if fit_gpus > allowed:
        head = (f"the model does not fit on {where} of {format_value(one['memory_gb'][0])} GB: one sequence needs "
                f"{format_value(need / 1e9)} GB for weights and KV cache, {fit_gpus} GPUs' worth after "
                f"{format_value(one['headroom'][0] * 100)}% headroom")
    else:
        head = f"no batch meets {' and '.join(targets)} on {where}"
    for g in _TRIED_FOR_ADVICE:
        if g > allowed and _batch_at(one, np.array([float(g)]))[0] >= 1:
            return f"{head}; {g} GPUs per replica would meet the target"
    fits = [g for g in _TRIED_FOR_ADVICE if g >= fit_gpus]
    if not fits:
        return f"{head}; it fits on no replica of up to {_TRIED_FOR_ADVICE[-1]} GPUs"
    times = {g: (_decode_step(one, np.array([float(g)]), 1.0, _decode_context(one))[0],
                 _ttft(one, np.array([float(g)]), 1.0)[0]) for g in fits}
    fastest = min(fits, key=lambda g: times[g])
    tpot, ttft = times[fastest]
    return (f"{head}; no replica of up to {_TRIED_FOR_ADVICE[-1]} GPUs meets {' and '.join(targets)}: the fastest, "
            f"batch 1 on {fastest} "
            f"GPU{'s' if fastest > 1 else ''} gives {format_value(tpot * 1e3)} ms per output token and "
            f"{format_value(ttft * 1e3)} ms to the first token")
