"""The largest batch within a latency target (time per output token and/or time to first token), its GPUs and cost.

Both times of :mod:`xlcalc.core.latency` are convex and piecewise linear in the batch B (a maximum of two lines
plus a line), so "time <= target" is a handful of linear inequalities i + s B <= target and the memory fit
one more: the largest batch is the floor of the smallest bound, exact, for a whole range of scenarios at
once. With the GPUs per replica left open, 1, 2, 4 and 8 are solved and the cheapest kept.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .._checks import Checked, _plain_floats, format_value
from .._reasons import _collector
from .._scalar_checks import float_fast_path, maximum
from ..data.model_shapes import ModelShape
from ..errors import InvalidInputError
from .latency import (
    _EFFICIENCY_DEFAULTS,
    ACTIVATION_BYTES,
    BYTES_PER_GBS,
    SECONDS_PER_US,
    _checked,
    _isfinite,
    _not,
    _decode_context,
    _decode_lines,
    _decode_step,
    _model_numbers,
    _kv_bytes,
    _prefill_lines,
    _prefill_only,
    _ttft,
)
from ..units import BYTES_PER_GB, BYTES_PER_TBS, CEIL_SLACK, FLOPS_PER_TFLOPS, SECONDS_PER_HOUR, TOKENS_PER_MTOK

GPU_COUNTS = (1, 2, 4, 8)    # tensor-parallel degrees tried when the GPUs per replica are left open
HEADROOM = 0.1               # fraction of GPU memory kept free for activations, fragmentation, runtime


class TargetUnreachableError(InvalidInputError):
    """No batch meets the latency target (or fits) on the GPUs allowed; the message says what would."""


# ----------------------------------------------------------------------------------------------
# Bounds on the batch


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
    x = x * (1.0 + CEIL_SLACK) + CEIL_SLACK
    if type(x) is float:
        return float(math.floor(x)) if math.isfinite(x) else x
    return np.floor(x)



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
    hardware, serving = _grouped(peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, tpot_target_s,
                       ttft_target_s, gpus, usd_per_hour, bytes_per_param, kv_bytes_per_value, mfu_prefill,
                       mfu_decode, bw_eff, link_gbs, link_latency_us, headroom, max_gpus)
    v = _valid_floats(model, hardware, serving)
    if v is not None:  # one valid scenario of plain floats (a one-cell formula): no Checked, when the outputs are finite
        try:
            outputs = _best_one(v)
        except (ZeroDivisionError, OverflowError):  # a denominator underflowed: the general path says so
            outputs = None
        if outputs is not None and all(map(math.isfinite, outputs)):
            collector = _collector.get()
            if collector is not None:  # as Checked.finish: the scenario is valid
                collector.reasons = ""
            return SloServing(*outputs)
    return _max_batch_checked(model, peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, tpot_target_s,
                              ttft_target_s, gpus, usd_per_hour, bytes_per_param, kv_bytes_per_value, mfu_prefill,
                              mfu_decode, bw_eff, link_gbs, link_latency_us, headroom, max_gpus)


def _grouped(peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, tpot_target_s, ttft_target_s, gpus,
             usd_per_hour, bytes_per_param, kv_bytes_per_value, mfu_prefill, mfu_decode, bw_eff, link_gbs,
             link_latency_us, headroom, max_gpus) -> tuple[dict, dict]:
    """The arguments of :func:`max_batch` as (hardware, serving) for :func:`latency._checked`."""
    return (dict(peak_tflops=peak_tflops, mem_bw_tbs=mem_bw_tbs, memory_gb=memory_gb, link_gbs=link_gbs,
                 link_latency_us=link_latency_us, usd_per_hour=usd_per_hour),
            dict(input_tokens=input_tokens, output_tokens=output_tokens, tpot_target_s=tpot_target_s,
                 ttft_target_s=ttft_target_s, gpus=gpus, bytes_per_param=bytes_per_param,
                 kv_bytes_per_value=kv_bytes_per_value, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode,
                 bw_eff=bw_eff, headroom=headroom, max_gpus=max_gpus))


@functools.partial(float_fast_path, skip=1)  # the model: a name, a count or a shape
def _max_batch_checked(model, peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, tpot_target_s,
                       ttft_target_s, gpus, usd_per_hour, bytes_per_param, kv_bytes_per_value, mfu_prefill,
                       mfu_decode, bw_eff, link_gbs, link_latency_us, headroom, max_gpus) -> SloServing:
    """:func:`max_batch` through :class:`Checked`: arrays, bad values (their reasons), no batch meeting the target."""
    hardware, serving = _grouped(peak_tflops, mem_bw_tbs, memory_gb, input_tokens, output_tokens, tpot_target_s,
                       ttft_target_s, gpus, usd_per_hour, bytes_per_param, kv_bytes_per_value, mfu_prefill,
                       mfu_decode, bw_eff, link_gbs, link_latency_us, headroom, max_gpus)
    c = _checked_slo(model, hardware, serving)
    v = c.valid_all()
    if type(v["gpus"]) is float:  # one valid scenario on Python floats: the same steps without arrays
        outputs = _best_one(v)
        if outputs is None:
            _explain(c, v, True)
            outputs = (0.0,) * 8  # as below: NaN after finish, with the reason
        return SloServing(*c.finish(*outputs))
    batch, gpus_used, cost = _best(v)
    failed = batch < 1
    any_failed = failed.any()
    if any_failed:
        _explain(c, v, failed)
    batch, gpus_used = np.where(failed, 1.0, batch), np.where(failed, 1.0, gpus_used)
    tpot = _decode_step(v, gpus_used, batch, _decode_context(v))
    ttft = _ttft(v, gpus_used, batch)
    usd_input = (v["usd_per_hour"] * gpus_used * _prefill_only(v, gpus_used, batch)
                 / np.maximum(batch * v["input_tokens"], 1e-300) / SECONDS_PER_HOUR * TOKENS_PER_MTOK)
    usd_input = np.where(v["input_tokens"] > 0, usd_input, 0.0)
    used = ((v["params"] * v["bytes_per_param"] + batch * (v["input_tokens"] + v["output_tokens"]) * _kv_bytes(v))
            / (gpus_used * v["memory_gb"] * BYTES_PER_GB))
    outputs = (batch, gpus_used, tpot, ttft, batch / tpot, usd_input, cost, used)
    if any_failed:  # NaN after finish; finite, so that its reason (from _explain) is not replaced by "too extreme"
        outputs = tuple(np.where(failed, 0.0, x) for x in outputs)
    return SloServing(*c.finish(*outputs))


_CANDIDATES = GPU_COUNTS + (16, 32, 64)


def _best_one(v) -> tuple | None:
    """The outputs of :func:`max_batch` for one valid scenario on Python floats, or None when no batch meets the target.

    The same operations in the same order as :func:`_best` (:func:`_batch_at`, :func:`_output_usd_per_mtok`) and
    the times of :func:`max_batch` at the batch found (so the same digits; tests/test_scalar_slo.py compares them
    over thousands of scenarios), written out with what does not depend on the GPU count computed once: a
    one-cell MAX_BATCH tries four GPU counts, and the general kernels' calls and tuples cost about three times
    the arithmetic.
    """
    layers, q_dim, matmul, per_param = v["layers"], v["q_dim"], v["matmul_params"], v["bytes_per_param"]
    prompt, context = v["input_tokens"], v["input_tokens"] + v["output_tokens"] / 2.0
    kv = 2.0 * layers * v["kv_dim"] * v["kv_bytes_per_value"]
    decode_flops = 2.0 * matmul + 4.0 * layers * q_dim * context
    prefill_flops = prompt * (2.0 * matmul + 4.0 * layers * q_dim * (prompt + 1.0) / 2.0)
    first_flops = 2.0 * matmul + 4.0 * layers * q_dim * prompt
    matmul_bytes, context_kv, prompt_kv = matmul * per_param, context * kv, prompt * kv
    per_sequence = (prompt + v["output_tokens"]) * kv
    weights_bytes, free_fraction = v["params"] * per_param, 1.0 - v["headroom"]
    tpot_target, ttft_target = v["tpot_target_s"], v["ttft_target_s"]
    peak_tflops, mem_bw_tbs, bw_eff, mfu_decode, mfu_prefill = (v["peak_tflops"], v["mem_bw_tbs"], v["bw_eff"],
                                                                 v["mfu_decode"], v["mfu_prefill"])
    two_layers, link_latency_us, link_gbs, d_model = 2.0 * layers, v["link_latency_us"], v["link_gbs"], v["d_model"]
    memory_gb, usd_per_hour = v["memory_gb"], v["usd_per_hour"]
    inf, nan = math.inf, math.nan
    auto = v["gpus"] == 0
    best_batch, best_gpus, best_cost = -1.0, math.nan if auto else v["gpus"], math.inf
    for g in (None, *_CANDIDATES):
        if g is None:
            if auto:
                continue
            gpus = v["gpus"]
        elif not (auto and g <= v["max_gpus"]):
            continue
        else:
            gpus = float(g)
        peak = gpus * peak_tflops * FLOPS_PER_TFLOPS
        bandwidth = gpus * mem_bw_tbs * BYTES_PER_TBS * bw_eff
        weights = matmul_bytes / bandwidth
        if gpus > 1:  # the all-reduce lines of latency._allreduce_lines
            ring = 2.0 * (gpus - 1.0)
            k0 = two_layers * ring * link_latency_us * SECONDS_PER_US
            link = link_gbs * BYTES_PER_GBS
            k1 = two_layers * ring / gpus * 1.0 * d_model * ACTIVATION_BYTES / link
            a1 = two_layers * ring / gpus * prompt * d_model * ACTIVATION_BYTES / link
        else:
            k0 = k1 = a1 = 0.0
        # time per output token at the mean context; time to first token (prefill, then a decode step at the prompt)
        c1 = decode_flops / (peak * mfu_decode)
        m1 = context_kv / bandwidth
        p1 = prefill_flops / (peak * mfu_prefill)
        q1 = prompt_kv / bandwidth
        d1 = first_flops / (peak * mfu_decode)
        # _largest over the lines (intercept, slope) of each target, then the memory fit, as one running minimum
        # (np.minimum's rule: NaN if any is NaN), written out: this loop is most of a one-cell MAX_BATCH
        intercept, slope = k0, c1 + k1
        bound = (tpot_target - intercept) / slope if slope > 0 else inf if intercept <= tpot_target else -1.0
        intercept, slope = weights + k0, m1 + k1
        limit = (tpot_target - intercept) / slope if slope > 0 else inf if intercept <= tpot_target else -1.0
        bound = bound if bound <= limit else limit if limit <= bound else nan
        intercept, slope = 0.0 + 0.0 + k0 + k0, p1 + d1 + a1 + k1
        limit = (ttft_target - intercept) / slope if slope > 0 else inf if intercept <= ttft_target else -1.0
        bound = bound if bound <= limit else limit if limit <= bound else nan
        intercept, slope = 0.0 + weights + k0 + k0, p1 + q1 + a1 + k1
        limit = (ttft_target - intercept) / slope if slope > 0 else inf if intercept <= ttft_target else -1.0
        bound = bound if bound <= limit else limit if limit <= bound else nan
        intercept, slope = weights + 0.0 + k0 + k0, q1 + d1 + a1 + k1
        limit = (ttft_target - intercept) / slope if slope > 0 else inf if intercept <= ttft_target else -1.0
        bound = bound if bound <= limit else limit if limit <= bound else nan
        intercept, slope = weights + weights + k0 + k0, q1 + q1 + a1 + k1
        limit = (ttft_target - intercept) / slope if slope > 0 else inf if intercept <= ttft_target else -1.0
        bound = bound if bound <= limit else limit if limit <= bound else nan
        free = gpus * memory_gb * BYTES_PER_GB * free_fraction - weights_bytes
        limit = -1.0 if free < 0 else free / per_sequence if per_sequence > 0 else inf
        batch = _floor(bound if bound <= limit else limit if limit <= bound else nan)
        b = batch if batch >= 1.0 else 1.0 if 1.0 >= batch else math.nan  # maximum(batch, 1.0)
        step = maximum(c1 * b, weights + m1 * b) + k0 + k1 * b
        cost = usd_per_hour * gpus * step / b / SECONDS_PER_HOUR * TOKENS_PER_MTOK
        if batch >= 1 and cost < best_cost:
            best_batch, best_gpus, best_cost, best = batch, gpus, cost, (step, weights, k0, k1, a1, p1, q1, d1)
    if not best_batch >= 1:
        return None
    b, gpus = best_batch, best_gpus
    tpot, weights, k0, k1, a1, p1, q1, d1 = best  # tpot: the decode step at the mean context, batch b >= 1
    prefill = maximum(p1 * b, weights + q1 * b) + k0 + a1 * b
    ttft = prefill + (maximum(d1 * b, weights + q1 * b) + k0 + k1 * b)
    usd_input = (v["usd_per_hour"] * gpus * prefill / maximum(b * prompt, 1e-300) / SECONDS_PER_HOUR * TOKENS_PER_MTOK
                 if prompt > 0 else 0.0)
    used = (weights_bytes + b * (prompt + v["output_tokens"]) * kv) / (gpus * v["memory_gb"] * BYTES_PER_GB)
    return b, gpus, tpot, ttft, b / tpot, usd_input, best_cost, used


def _best(v) -> tuple:
    """(batch, gpus, $ per million output tokens) of the cheapest GPU count per scenario; batch -1 where none."""
    auto = v["gpus"] == 0
    candidates = _CANDIDATES
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
    return best["batch"], best["gpus"], best["cost"]


def _batch_at(v, gpus):
    tpot, ttft, memory = _batch_limits(v, gpus)
    return _floor(np.minimum(np.minimum(tpot, ttft), memory))


def _output_usd_per_mtok(v, gpus, batch):
    step = _decode_step(v, gpus, batch, _decode_context(v))
    return v["usd_per_hour"] * gpus * step / batch / SECONDS_PER_HOUR * TOKENS_PER_MTOK


def _valid_floats(model, hardware: dict, serving: dict) -> dict | None:
    """The arguments of :func:`max_batch` as Python floats when they are plain numbers and pass every check, else None."""
    if not isinstance(model, (str, float, int, ModelShape)) or isinstance(model, bool):
        return None  # many models, or a bad one: the general path
    f = _plain_floats({**hardware, **serving})
    if f is None:
        return None
    f.update(_model_numbers(model)[0])  # floats
    return f if _all_checks_pass(f) else None


def _checked_slo(model, hardware, serving) -> Checked:
    c = _checked(model, hardware, serving, auto_gpus=True)
    f = c.floats
    if f is not None and not c.bad and _slo_floats_pass(f):
        return c  # every check below would pass: nothing to mark
    for name in ("tpot_target_s", "ttft_target_s"):
        value = c[name]
        c.require(name, (value > 0) & _not(value != value), "must be a time > 0 (or no target)")
    c.require("tpot_target_s", _isfinite(c["tpot_target_s"]) | _isfinite(c["ttft_target_s"]),
              "give a time-per-token target, a time-to-first-token target or both", shown=c["tpot_target_s"])
    c.require("headroom", (c["headroom"] >= 0) & (c["headroom"] < 1), "must be in [0, 1)")
    c.at_least_one("max_gpus")
    return c


def _all_checks_pass(f: dict) -> bool:
    """True when every check of :func:`_checked_slo` (with :func:`latency._checked`'s: latency._floats_pass for
    these arguments) passes on one scenario of Python floats: one test in place of about twenty."""
    inf, gpus = math.inf, f["gpus"]
    return (0.0 < f["params"] < inf and 0.0 < f["peak_tflops"] < inf and 0.0 < f["mem_bw_tbs"] < inf
            and 0.0 < f["memory_gb"] < inf and 0.0 < f["usd_per_hour"] < inf and 0.0 < f["bytes_per_param"] < inf
            and 0.0 < f["kv_bytes_per_value"] < inf and 0.0 < f["mfu_prefill"] <= 1.0
            and 0.0 < f["mfu_decode"] <= 1.0 and 0.0 < f["bw_eff"] <= 1.0 and 0.0 <= f["input_tokens"] < inf
            and 0.0 <= f["output_tokens"] < inf and 0.0 <= gpus < inf and gpus.is_integer()
            and (gpus == 1.0 or (0.0 < f["link_gbs"] < inf and 0.0 <= f["link_latency_us"] < inf))
            and _slo_floats_pass(f))


def _slo_floats_pass(f: dict) -> bool:
    """True when every check of :func:`_checked_slo` after :func:`_checked` passes on one scenario of Python floats."""
    tpot, ttft = f["tpot_target_s"], f["ttft_target_s"]
    return (tpot > 0 and ttft > 0 and (tpot < math.inf or ttft < math.inf) and 0.0 <= f["headroom"] < 1.0
            and 1.0 <= f["max_gpus"] < math.inf and f["max_gpus"].is_integer())


def _explain(c: Checked, v, failed) -> None:
    """Mark the failed elements invalid with why nothing meets the target and what would (a scalar call raises)."""
    valid = ~c.bad
    c._valid_at_solve = valid  # the kernels computed on these elements; finish scatters back to them
    reasons = np.full(c.shape, "", dtype=object)
    positions = np.argwhere(valid) if c.shape else [()]
    for i in np.flatnonzero(failed):  # flat: also for a scalar call's 0-d mask
        one = {k: np.atleast_1d(np.asarray(x, dtype=float))[i:i + 1] for k, x in v.items()}
        with np.errstate(all="ignore"):  # a time that overflows is shown as inf in the advice
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
