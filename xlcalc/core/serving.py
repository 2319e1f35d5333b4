"""Serving throughput and cost from a roofline model: decode and prefill tokens/s, memory fit, $ per million tokens.

One decode step of a batch of ``batch`` sequences reads every weight once and each sequence's KV cache,
and does 2N FLOPs per sequence; it takes as long as the slower of the two:

    step_s = max(2 N batch / (gpus peak mfu), (bytes_per_param N + batch context kv) / (gpus bw bw_eff))

and yields ``batch`` tokens. Prefill (the prompt) is compute-bound: gpus peak mfu / (2N) tokens/s.
Units: ``peak_tflops`` in 1e12 FLOP/s per GPU, ``mem_bw_tbs`` in 1e12 bytes/s per GPU, memory in GB of
1e9 bytes, prices in $ per GPU-hour. Every function broadcasts like numpy; scalar in, float out.
"""

from __future__ import annotations

import numpy as np

from .._checks import Checked, DeferredReasons
from .._reasons import format_floats
from .._scalar_checks import FloatChecked, ceil, float_fast_path, maximum
from ..errors import DoesNotFitError

from ..units import BYTES_PER_GB, BYTES_PER_TBS, CEIL_SLACK, FLOPS_PER_TFLOPS, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from ._chunks import chunked


# ----------------------------------------------------------------------------------------------
# Kernels (valid inputs only), shared with xlcalc.core.economics


def _decode_step_s(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                   kv_bytes_per_token, context_tokens):
    """Seconds per decode step of the whole batch (the roofline max of compute and memory time)."""
    compute = 2.0 * params * batch / (gpus * peak_tflops * FLOPS_PER_TFLOPS * mfu)
    moved = bytes_per_param * params + batch * context_tokens * kv_bytes_per_token
    memory = moved / (gpus * mem_bw_tbs * BYTES_PER_TBS * bw_eff)
    return maximum(compute, memory)


def _prefill_tokens_per_sec(params, peak_tflops, gpus, mfu):
    return gpus * peak_tflops * FLOPS_PER_TFLOPS * mfu / (2.0 * params)


def _memory_needed_gb(params, bytes_per_param, batch, context_tokens, kv_bytes_per_token):
    return (bytes_per_param * params + batch * context_tokens * kv_bytes_per_token) / BYTES_PER_GB


def _gpus_to_fit(needed_gb, memory_gb):
    return maximum(ceil(needed_gb / memory_gb * (1.0 - CEIL_SLACK)), 1.0)


_DECODE = ("params", "peak_tflops", "mem_bw_tbs", "bytes_per_param", "batch", "gpus", "mfu", "bw_eff",
           "kv_bytes_per_token", "context_tokens")


def _require_fit(c: Checked, name=None) -> None:
    """Mark elements whose weights plus KV cache exceed gpus x memory_gb; a scalar raises DoesNotFitError.

    ``name`` maps the decode argument names to those in ``c`` (see :func:`_checked_decode`). The reasons are made
    when read (:class:`~xlcalc._checks.DeferredReasons`): the first alone for the warning or a scalar's error,
    all of them inside :func:`xlcalc.invalid_reasons` (300,000 in 0.2 s, not 2.6 s one at a time).
    """
    name = _names(name)
    with np.errstate(all="ignore"):
        values = c.values  # numpy values (indexed below), also in the scalar fast path
        needed = _memory_needed_gb(values[name["params"]], values[name["bytes_per_param"]], values[name["batch"]],
                                   values[name["context_tokens"]], values[name["kv_bytes_per_token"]])
        misfit = ~c.bad & (needed > values[name["gpus"]] * values["memory_gb"])
        if not misfit.any():
            return
        at = [np.broadcast_to(v, misfit.shape)[misfit]   # the values of the elements that do not fit, in order
              for v in (needed, values[name["gpus"]], values["memory_gb"], _gpus_to_fit(needed, values["memory_gb"]))]
    c.mark(misfit, DeferredReasons(lambda ranks: _misfit_reasons(*(a[ranks] for a in at))), DoesNotFitError)


def _misfit_reasons(needed_gb, gpus, memory_gb, need_gpus) -> list:
    """The reason of each element that does not fit, from 1-D arrays of those elements' values."""
    one = (gpus == 1).tolist()
    columns = [format_floats(v) for v in (needed_gb, gpus, memory_gb, gpus * memory_gb, need_gpus)]
    return [f"the model needs {needed} GB for weights and KV cache but {count} GPU{'' if single else 's'} of "
            f"{memory} GB hold{'s' if single else ''} {held} GB: it needs at least {need} GPUs of {memory} GB"
            for needed, count, memory, held, need, single in zip(*columns, one)]


def _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                    kv_bytes_per_token, context_tokens, memory_gb=None, *, renames=None, **more) -> Checked:
    """Broadcast and check the decode arguments (plus ``more``, which the caller checks); memory fit if given.

    ``renames`` maps a decode argument to the name it has in the caller's signature (for example
    ``{"mfu": "mfu_decode"}`` where a prefill MFU is also taken), so that messages name what the user
    typed; :func:`_valid_step_s` needs the same mapping.
    """
    name = _names(renames)
    arguments = dict(zip(name.values(), (params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                                         kv_bytes_per_token, context_tokens)))  # name is in the order of _DECODE
    if memory_gb is not None:
        arguments["memory_gb"] = memory_gb
    c = FloatChecked(**arguments, **more)
    c.model_size(name["params"])
    c.positive(name["peak_tflops"], name["mem_bw_tbs"], name["bytes_per_param"])
    c.at_least_one(name["batch"], name["gpus"])
    c.fraction(name["mfu"], name["bw_eff"])
    c.non_negative(name["kv_bytes_per_token"], name["context_tokens"])
    if memory_gb is not None:
        c.positive("memory_gb")
        _require_fit(c, name)
    return c


_NAME_MAPS: dict = {}


def _names(renames) -> dict:
    """Decode argument -> its name in the caller, for a ``renames`` such as ``{"mfu": "mfu_decode"}`` (remembered)."""
    key = tuple(sorted(renames.items())) if renames else ()
    name = _NAME_MAPS.get(key)
    if name is None:
        name = _NAME_MAPS[key] = {k: (renames or {}).get(k, k) for k in _DECODE}
    return name


def _valid_step_s(c: Checked, renames=None):
    return _step_s_of(c.valid_all(), renames)


def _step_s_of(valid: dict, renames=None):
    """:func:`_decode_step_s` of the valid arguments (``c.valid_all()``), named as in the caller (see _names)."""
    name = _names(renames)
    return _decode_step_s(*[valid[name[key]] for key in _DECODE])


# ----------------------------------------------------------------------------------------------
# Decode throughput


@chunked
@float_fast_path
def tokens_per_sec(params, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0, bw_eff=1.0,
                   kv_bytes_per_token=0, context_tokens=0, *, memory_gb=None):
    """Aggregate decode tokens/s of `batch` sequences on `gpus` GPUs (peak in TFLOP/s, bandwidth in TB/s) by the roofline model.

    Parameters
    ----------
    params : model parameters N.
    peak_tflops : dense peak TFLOP/s of one GPU at the precision used.
    mem_bw_tbs : memory bandwidth of one GPU in TB/s (1e12 bytes/s).
    bytes_per_param : bytes per weight (2 for FP16/BF16, 1 for FP8/INT8).
    batch, gpus : sequences decoded together, and GPUs the model is split over (whole numbers >= 1).
    mfu, bw_eff : achieved fraction of peak FLOP/s and of peak bandwidth, in (0, 1].
    kv_bytes_per_token : KV-cache bytes per token of context (see :func:`kv_bytes_per_token`).
    context_tokens : tokens of context each sequence holds in its KV cache.
    memory_gb : memory of one GPU in GB; when given, a model whose weights plus KV cache do not fit
        in gpus x memory_gb is an error (:class:`~xlcalc.errors.DoesNotFitError`) saying how many GPUs it needs.

    Notes
    -----
    step_s = max(2 N batch / (gpus peak 1e12 mfu), (bytes_per_param N + batch context kv) /
    (gpus bw 1e12 bw_eff)); tokens/s = batch / step_s.

    Examples
    --------
    >>> round(tokens_per_sec(7e9, 312, 2.0), 1)  # 7B FP16 on an A100 at batch 1: memory-bound
    142.9
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb)
    return c.finish(c.valid("batch") / _valid_step_s(c))


@chunked
@float_fast_path
def time_per_output_token_s(params, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0,
                            bw_eff=1.0, kv_bytes_per_token=0, context_tokens=0, *, memory_gb=None):
    """Seconds per decode step (time per output token each sequence sees) by the roofline model; same arguments as tokens_per_sec.

    Notes
    -----
    step_s = max(2 N batch / (gpus peak 1e12 mfu), (bytes_per_param N + batch context kv) /
    (gpus bw 1e12 bw_eff)).

    Examples
    --------
    >>> round(time_per_output_token_s(7e9, 312, 2.0) * 1e3, 3)  # ms: 14 GB of weights at 2 TB/s
    7.0
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb)
    return c.finish(_valid_step_s(c))


@chunked
@float_fast_path
def decode_mfu(params, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0, bw_eff=1.0,
               kv_bytes_per_token=0, context_tokens=0, *, memory_gb=None):
    """Fraction of peak FLOP/s that decoding uses at the roofline throughput: 2N tokens_per_sec / (gpus peak); same arguments as tokens_per_sec.

    Notes
    -----
    decode_mfu = 2 N tokens_per_sec / (gpus peak 1e12). It equals ``mfu`` when decode is compute-bound
    and is far lower at small batches, where decode is memory-bound.

    Examples
    --------
    >>> round(decode_mfu(7e9, 312, 2.0), 5)  # batch 1 uses 0.64% of an A100
    0.00641
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb)
    n, peak, gpu = c.valid("params"), c.valid("peak_tflops"), c.valid("gpus")
    rate = c.valid("batch") / _valid_step_s(c)
    return c.finish(2.0 * n * rate / (gpu * peak * FLOPS_PER_TFLOPS))


@chunked
@float_fast_path
def prefill_tokens_per_sec(params, peak_tflops, gpus=1, mfu=0.5):
    """Prompt (prefill) tokens/s on `gpus` GPUs of `peak_tflops` TFLOP/s at `mfu`: compute-bound, gpus peak mfu / (2N).

    Notes
    -----
    prefill tokens/s = gpus peak 1e12 mfu / (2 N). Prefill processes many tokens per weight read, so
    it is limited by FLOPs, not bandwidth.

    Examples
    --------
    >>> round(prefill_tokens_per_sec(7e9, 312))  # A100, MFU 0.5
    11143
    """
    c = FloatChecked(params=params, peak_tflops=peak_tflops, gpus=gpus, mfu=mfu)
    c.model_size("params")
    c.positive("peak_tflops")
    c.at_least_one("gpus")
    c.fraction("mfu")
    return c.finish(_prefill_tokens_per_sec(c.valid("params"), c.valid("peak_tflops"), c.valid("gpus"), c.valid("mfu")))


# ----------------------------------------------------------------------------------------------
# Memory


@chunked
@float_fast_path
def kv_bytes_per_token(layers, kv_heads, head_dim, bytes_per_value=2):
    """KV-cache bytes per token of context: 2 (K and V) x layers x kv_heads x head_dim x bytes_per_value.

    Notes
    -----
    kv = 2 layers kv_heads head_dim bytes_per_value. With grouped-query attention, ``kv_heads`` is the
    number of key/value heads, not of query heads.

    Examples
    --------
    >>> kv_bytes_per_token(32, 32, 128)  # Llama-2-7B in FP16: 0.5 MiB per token
    524288.0
    >>> kv_bytes_per_token(80, 8, 128)   # Llama-2-70B (GQA, 8 KV heads)
    327680.0
    """
    c = FloatChecked(layers=layers, kv_heads=kv_heads, head_dim=head_dim, bytes_per_value=bytes_per_value)
    c.at_least_one("layers", "kv_heads", "head_dim")
    c.positive("bytes_per_value")
    return c.finish(2.0 * c.valid("layers") * c.valid("kv_heads") * c.valid("head_dim") * c.valid("bytes_per_value"))


def _checked_memory(params, bytes_per_param, batch, context_tokens, kv_bytes_per_token, **more) -> Checked:
    c = FloatChecked(params=params, bytes_per_param=bytes_per_param, batch=batch, context_tokens=context_tokens,
                kv_bytes_per_token=kv_bytes_per_token, **more)
    c.model_size("params")
    c.positive("bytes_per_param")
    c.at_least_one("batch")
    c.non_negative("context_tokens", "kv_bytes_per_token")
    return c


def _valid_memory_gb(c: Checked):
    return _memory_needed_gb(c.valid("params"), c.valid("bytes_per_param"), c.valid("batch"),
                             c.valid("context_tokens"), c.valid("kv_bytes_per_token"))


@chunked
@float_fast_path
def memory_needed_gb(params, bytes_per_param=2, batch=1, context_tokens=0, kv_bytes_per_token=0):
    """GB (1e9 bytes) that the weights plus the KV cache of `batch` sequences of `context_tokens` tokens need.

    Notes
    -----
    memory = (bytes_per_param N + batch context kv) / 1e9. Activations and framework overhead are not
    included: leave headroom.

    Examples
    --------
    >>> memory_needed_gb(70e9)  # 70B in FP16
    140.0
    """
    c = _checked_memory(params, bytes_per_param, batch, context_tokens, kv_bytes_per_token)
    return c.finish(_valid_memory_gb(c))


@chunked
@float_fast_path
def gpus_to_fit(params, memory_gb, bytes_per_param=2, batch=1, context_tokens=0, kv_bytes_per_token=0):
    """Fewest GPUs of `memory_gb` GB each that hold the weights plus the KV cache: ceil(memory_needed_gb / memory_gb).

    Notes
    -----
    gpus = max(1, ceil((bytes_per_param N + batch context kv) / 1e9 / memory_gb)).

    Examples
    --------
    >>> gpus_to_fit(70e9, 80)  # 140 GB of FP16 weights on 80 GB GPUs
    2.0
    """
    c = _checked_memory(params, bytes_per_param, batch, context_tokens, kv_bytes_per_token, memory_gb=memory_gb)
    c.positive("memory_gb")
    return c.finish(_gpus_to_fit(_valid_memory_gb(c), c.valid("memory_gb")))


@chunked
@float_fast_path
def check_fits(params, memory_gb, gpus=1, bytes_per_param=2, batch=1, context_tokens=0, kv_bytes_per_token=0):
    """Fraction of gpus x memory_gb that weights plus KV cache use; a model that does not fit raises DoesNotFitError (NaN in arrays).

    Notes
    -----
    used = (bytes_per_param N + batch context kv) / 1e9 / (gpus memory_gb), which must be <= 1. The
    error message says how many GPUs of that size the model needs.

    Examples
    --------
    >>> check_fits(7e9, 80)
    0.175
    >>> check_fits(70e9, 80)
    Traceback (most recent call last):
    ...
    xlcalc.errors.DoesNotFitError: the model needs 140 GB for weights and KV cache but 1 GPU of 80 GB holds 80 GB: it needs at least 2 GPUs of 80 GB
    """
    c = _checked_memory(params, bytes_per_param, batch, context_tokens, kv_bytes_per_token, memory_gb=memory_gb, gpus=gpus)
    c.positive("memory_gb")
    c.at_least_one("gpus")
    _require_fit(c)
    return c.finish(_valid_memory_gb(c) / (c.valid("gpus") * c.valid("memory_gb")))


# ----------------------------------------------------------------------------------------------
# Cost per million tokens


@chunked
@float_fast_path
def cost_per_mtok(params, usd_per_hour, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0,
                  bw_eff=1.0, kv_bytes_per_token=0, context_tokens=0, *, memory_gb=None):
    """$ per million generated (output) tokens: usd_per_hour x gpus / (tokens_per_sec x 3600) x 1e6, with $ per GPU-hour.

    Notes
    -----
    cost = usd_per_hour gpus / (tokens_per_sec 3600) 1e6, where tokens_per_sec is the roofline decode
    throughput (see :func:`tokens_per_sec`, whose other arguments this takes).

    Examples
    --------
    >>> round(cost_per_mtok(7e9, 1.0, 312, 2.0), 4)  # 7B on an A100 at batch 1: 1.944 x ($/GPU-hour)
    1.9444
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb, usd_per_hour=usd_per_hour)
    c.positive("usd_per_hour")
    rate = c.valid("batch") / _valid_step_s(c)
    return c.finish(c.valid("usd_per_hour") * c.valid("gpus") / (rate * SECONDS_PER_HOUR) * TOKENS_PER_MTOK)


@chunked
@float_fast_path
def input_cost_per_mtok(params, usd_per_hour, peak_tflops, gpus=1, mfu=0.5):
    """$ per million prompt (input) tokens, processed by compute-bound prefill: usd_per_hour x gpus / (prefill tokens/s x 3600) x 1e6.

    Notes
    -----
    cost = usd_per_hour gpus / (prefill_tokens_per_sec 3600) 1e6 = usd_per_hour 2 N / (peak 1e12 mfu 3600) 1e6;
    the GPU count cancels.

    Examples
    --------
    >>> round(input_cost_per_mtok(7e9, 1.0, 312), 4)  # $/h 1.00, A100, MFU 0.5
    0.0249
    """
    c = FloatChecked(params=params, usd_per_hour=usd_per_hour, peak_tflops=peak_tflops, gpus=gpus, mfu=mfu)
    c.model_size("params")
    c.positive("usd_per_hour", "peak_tflops")
    c.at_least_one("gpus")
    c.fraction("mfu")
    gpu = c.valid("gpus")
    rate = _prefill_tokens_per_sec(c.valid("params"), c.valid("peak_tflops"), gpu, c.valid("mfu"))
    return c.finish(c.valid("usd_per_hour") * gpu / (rate * SECONDS_PER_HOUR) * TOKENS_PER_MTOK)


@chunked
@float_fast_path
def blended_cost_per_mtok(params, usd_per_hour, peak_tflops, mem_bw_tbs, input_tokens, output_tokens,
                          bytes_per_param=2, batch=1, gpus=1, mfu_prefill=0.5, mfu_decode=1.0, bw_eff=1.0,
                          kv_bytes_per_token=0, context_tokens=0, *, memory_gb=None):
    """$ per million tokens (input + output) for requests of `input_tokens` prompt and `output_tokens` generated tokens.

    Notes
    -----
    GPU-seconds per request = input / prefill_tokens_per_sec + output / tokens_per_sec (both aggregate
    over the gpus); cost = usd_per_hour gpus GPU-seconds / 3600 / (input + output) 1e6. This is the
    token-weighted mean of :func:`input_cost_per_mtok` and :func:`cost_per_mtok`.

    Examples
    --------
    >>> round(blended_cost_per_mtok(7e9, 1.0, 312, 2.0, 500, 0), 4) == round(input_cost_per_mtok(7e9, 1.0, 312), 4)
    True
    >>> round(blended_cost_per_mtok(7e9, 1.0, 312, 2.0, 1000, 250), 4)  # 1000 in + 250 out, batch 1
    0.4088
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu_decode, bw_eff,
                        kv_bytes_per_token, context_tokens, memory_gb, renames={"mfu": "mfu_decode"}, usd_per_hour=usd_per_hour,
                        input_tokens=input_tokens, output_tokens=output_tokens, mfu_prefill=mfu_prefill)
    c.positive("usd_per_hour")
    c.fraction("mfu_prefill")
    c.non_negative("input_tokens", "output_tokens")
    c.require("output_tokens", c["input_tokens"] + c["output_tokens"] > 0,
              "input_tokens + output_tokens must be > 0", shown=c["output_tokens"])
    gpu = c.valid("gpus")
    n_in, n_out = c.valid("input_tokens"), c.valid("output_tokens")
    prefill = _prefill_tokens_per_sec(c.valid("params"), c.valid("peak_tflops"), gpu, c.valid("mfu_prefill"))
    decode = c.valid("batch") / _valid_step_s(c, {"mfu": "mfu_decode"})
    seconds = n_in / prefill + n_out / decode
    return c.finish(c.valid("usd_per_hour") * gpu * seconds / SECONDS_PER_HOUR / (n_in + n_out) * TOKENS_PER_MTOK)
