"""The lifetime optimum under any cost: dollars, energy (kWh) or carbon (kg CO2e), with serving from the roofline or a fixed MFU, and limited unique data.

One function, :func:`lifetime_optimal`, says what is minimised (``objective``), how inference is priced
(``serving``: the paper's fixed decode MFU, or :mod:`xlcalc.core.lifetime_costs`' roofline with batch, memory and a
latency target) and how much unique data there is (``unique_tokens``, :mod:`xlcalc.core.data_limits`).

Every objective weighs each phase's GPU-hours:

    usd    = train GPU-hours x train_usd_per_hour + inference GPU-hours x infer_usd_per_hour
    kwh    = sum over phases of GPU-hours x tdp_w / 1000 x pue        (the accelerator draws its TDP while busy)
    co2_kg = sum over phases of kWh x g_per_kwh / 1000                (intensity per phase: regions differ)

    train GPU-hours     = 6 N D / (3600 train_peak_tflops 1e12 mfu_train)
    inference GPU-hours = (2 N input_tokens / (infer_peak 1e12 mfu_prefill) + output_tokens psi(N)) / 3600

with psi(N) the GPU-seconds per output token of the serving model (:mod:`xlcalc.core.lifetime_costs`). Power is
never guessed: an accelerator without a published TDP must be given a typed ``*_tdp_w`` for the kWh and CO2
figures (which are NaN when not asked for, an error when the objective needs them).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import lifetime_costs as lc
from . import _objective_scalar as _scalar
from .._checks import Checked, DeferredReasons, _collector, _plain_floats, _plain_number, finite_everywhere, repeated_value
from .._reasons import format_floats
from ..errors import InvalidInputError
from .data_limits import R_D_STAR
from .laws import DEFAULT_FIT, chinchilla_for_loss, get_fit
from ._objective_checks import check_arguments
from ..data.model_shapes import shape_arrays
from ._objective_solve import optimum as _optimum
from ..units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR

OBJECTIVES = ("usd", "kwh", "co2", "flops")
SERVING = ("fixed_mfu", "roofline")
WATTS_PER_KW = 1000.0
GRAMS_PER_KG = 1000.0
_ROOFLINE_ONLY = ("infer_mem_bw_tbs", "infer_memory_gb", "bw_eff", "bytes_per_param", "kv_bytes_per_param",
                  "input_tokens_per_request", "output_tokens_per_request", "batch", "tpot_target_s", "headroom",
                  "max_gpus")


@dataclasses.dataclass(frozen=True)
class Reference:
    """Another optimum for comparison: params, tokens and its value of the same objective."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    value: float | np.ndarray


@dataclasses.dataclass(frozen=True)
class LifetimeOptimum:
    """The model reaching a loss at the lowest lifetime usd, kWh or kg CO2e, with all three figures and the references.

    ``binding`` is an index into :data:`xlcalc.core.lifetime_costs.BINDINGS` (what limits decode at the optimum);
    ``fixed_mfu`` the same objective's optimum with the paper's fixed decode MFU; ``unlimited`` the optimum
    with unlimited unique data.
    """

    params: float | np.ndarray
    tokens: float | np.ndarray
    value: float | np.ndarray
    usd: float | np.ndarray
    kwh: float | np.ndarray
    co2_kg: float | np.ndarray
    train_gpu_hours: float | np.ndarray
    inference_gpu_hours: float | np.ndarray
    effective_tokens: float | np.ndarray
    epochs: float | np.ndarray
    data_binds: float | np.ndarray
    gpus: float | np.ndarray
    batch: float | np.ndarray
    binding: float | np.ndarray
    fixed_mfu: Reference
    unlimited: Reference


def lifetime_optimal(loss, input_tokens, output_tokens, *, objective="usd", serving="fixed_mfu",
                     train_peak_tflops, infer_peak_tflops, train_usd_per_hour=np.nan, infer_usd_per_hour=np.nan,
                     mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01,
                     train_tdp_w=np.nan, infer_tdp_w=np.nan, train_pue=1.0, infer_pue=1.0,
                     train_g_per_kwh=np.nan, infer_g_per_kwh=np.nan,
                     infer_mem_bw_tbs=np.nan, infer_memory_gb=np.nan, bw_eff=1.0, bytes_per_param=2.0,
                     kv_bytes_per_param=np.nan, input_tokens_per_request=0.0, output_tokens_per_request=0.0,
                     batch=np.inf, tpot_target_s=np.inf, headroom=0.1, max_gpus=8,
                     unique_tokens=np.inf, reference_mfu_decode=np.nan, fit=DEFAULT_FIT) -> LifetimeOptimum:
    """Params and tokens that reach `loss` at the lowest lifetime usd, kWh or kg CO2e of training plus serving.

    Parameters
    ----------
    loss : target loss, above the fit's E (and reachable with ``unique_tokens``).
    input_tokens, output_tokens : lifetime prompt and generated tokens served, >= 0.
    objective : 'usd', 'kwh', 'co2' (kg CO2e) or 'flops' (6ND + 2N per token, fixed MFU only: with no
        inference it is the Chinchilla model, so with ``unique_tokens`` the data-constrained Chinchilla).
    serving : 'fixed_mfu' (the paper: decode at ``mfu_decode`` of peak for every size) or 'roofline'
        (decode step max(compute, weights + KV streaming) at a batch, memory and latency target; see
        :mod:`xlcalc.core.lifetime_costs`).
    train_peak_tflops, infer_peak_tflops : dense peak TFLOP/s per accelerator at the precision used.
    train_usd_per_hour, infer_usd_per_hour : $ per accelerator-hour (needed for 'usd'; else NaN usd).
    mfu_train, mfu_prefill, mfu_decode : fractions of peak, in (0, 1]; with 'roofline' mfu_decode is the
        compute-bound decode efficiency.
    train_tdp_w, infer_tdp_w : power per accelerator in W (needed for 'kwh' and 'co2').
    train_pue, infer_pue : data-centre power usage effectiveness, >= 1.
    train_g_per_kwh, infer_g_per_kwh : grid carbon intensity in g CO2e per kWh, >= 0 (needed for 'co2').
    infer_mem_bw_tbs, infer_memory_gb, bw_eff, bytes_per_param, kv_bytes_per_param : roofline hardware; KV
        bytes per token per parameter default (NaN) to those of :func:`xlcalc.model_shape` for the size of the
        Chinchilla-optimal model of the target loss (``kv_bytes_per_token / params``, the same for every
        objective; 0 for no KV cache). It is held fixed along the iso-loss curve.
    input_tokens_per_request, output_tokens_per_request : one request, for the KV cache and context.
    batch : the batch (roofline; a cap when a latency target is given; inf = none); tpot_target_s : the
        time-per-output-token target in s (inf = none); headroom : memory kept free; max_gpus : largest
        replica (GPUs are powers of two).
    unique_tokens : unique training tokens (inf = unlimited): repeated tokens count as Muennighoff et al.'s D'.
    fit : scaling-law fit name or five numbers.

    Returns
    -------
    LifetimeOptimum: params, tokens (training tokens, repeats included), value (of the objective), usd, kwh,
    co2_kg, GPU-hours per phase, effective_tokens, epochs (tokens / unique tokens), data_binds (1 when the
    tokens exceed the unique tokens), gpus and batch of a replica (roofline), binding, and the ``fixed_mfu``
    and ``unlimited`` references (params, tokens, value).

    Examples
    --------
    >>> o = lifetime_optimal(1.947, 1e13, 2.5e12, train_peak_tflops=312, infer_peak_tflops=624,
    ...                      train_usd_per_hour=1.4, infer_usd_per_hour=0.6, mfu_prefill=0.4, mfu_decode=0.2)
    >>> f"{o.params:.4g} {o.tokens:.4g}"   # the paper's cost_optimal.py example (as xlcalc.cost_optimal)
    '2.053e+10 3.302e+12'
    """
    key = str(objective).strip().lower()
    if key not in OBJECTIVES:
        raise _bad("objective", objective, f"must be one of {', '.join(OBJECTIVES)}")
    mode = str(serving).strip().lower().replace("-", "_")
    if mode not in SERVING:
        raise _bad("serving", serving, f"must be one of {', '.join(SERVING)}")
    f = get_fit(fit)
    if mode == "fixed_mfu":   # a scalar call: the float twins when every argument is valid
        floats = _plain_floats(dict(
            loss=loss, input_tokens=input_tokens, output_tokens=output_tokens, train_peak_tflops=train_peak_tflops,
            infer_peak_tflops=infer_peak_tflops, train_usd_per_hour=train_usd_per_hour,
            infer_usd_per_hour=infer_usd_per_hour, mfu_train=mfu_train, mfu_prefill=mfu_prefill,
            mfu_decode=mfu_decode, train_tdp_w=train_tdp_w, infer_tdp_w=infer_tdp_w, train_pue=train_pue,
            infer_pue=infer_pue, train_g_per_kwh=train_g_per_kwh, infer_g_per_kwh=infer_g_per_kwh,
            unique_tokens=unique_tokens, reference_mfu_decode=reference_mfu_decode))
        if floats is not None and all(map(_plain_number, (  # unused with a fixed MFU, but must be numbers
                infer_mem_bw_tbs, infer_memory_gb, bw_eff, bytes_per_param, kv_bytes_per_param,
                input_tokens_per_request, output_tokens_per_request, batch, tpot_target_s, headroom, max_gpus))):
            optimum = _fixed_mfu_one(f, key, floats)
            if optimum is not None:
                return optimum
    with np.errstate(all="ignore"):   # an inf or NaN becomes an error with its reason (Checked.finish)
        c = Checked(loss=loss, input_tokens=input_tokens, output_tokens=output_tokens,
                    train_peak_tflops=train_peak_tflops, infer_peak_tflops=infer_peak_tflops,
                    train_usd_per_hour=train_usd_per_hour, infer_usd_per_hour=infer_usd_per_hour,
                    mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode, train_tdp_w=train_tdp_w,
                    infer_tdp_w=infer_tdp_w, train_pue=train_pue, infer_pue=infer_pue, train_g_per_kwh=train_g_per_kwh,
                    infer_g_per_kwh=infer_g_per_kwh, infer_mem_bw_tbs=infer_mem_bw_tbs, infer_memory_gb=infer_memory_gb,
                    bw_eff=bw_eff, bytes_per_param=bytes_per_param, kv_bytes_per_param=kv_bytes_per_param,
                    input_tokens_per_request=input_tokens_per_request,
                    output_tokens_per_request=output_tokens_per_request, batch=batch, tpot_target_s=tpot_target_s,
                    headroom=headroom, max_gpus=max_gpus, unique_tokens=unique_tokens,
                    reference_mfu_decode=reference_mfu_decode)
        if key == "flops" and mode == "roofline":
            raise _bad("objective", objective, "'flops' counts 6ND + 2N per token, which needs serving='fixed_mfu'")
        check_arguments(c, f, key, mode == "roofline")
        skip = () if mode == "roofline" else _ROOFLINE_ONLY
        v = {name: _valid_flat(c, name) for name in c.values if name not in skip}  # the solver indexes scenarios
        v["roofline"] = np.full(v["loss"].shape, mode == "roofline")
        return _solve_all(c, f, key, v)


def _valid_flat(c: Checked, name):
    """The valid elements of an argument, flat; a single value given for an array call stays one value (a
    read-only broadcast view: no copy per scenario, which for some 30 arguments was 240 bytes a scenario)."""
    if not c.scalar:
        one = repeated_value(c.values[name])
        if one is not None:
            return np.broadcast_to(one, (int(c.bad.size - np.count_nonzero(c.bad)),))
    return np.atleast_1d(c.valid(name))


def _bad(name, value, allowed):
    shown = " ".join(repr(value).split())  # one line, whatever was passed
    return InvalidInputError(f"{name} = {shown[:80] + ('...' if len(shown) > 80 else '')} is not allowed: {allowed}")


# ----------------------------------------------------------------------------------------------
# The scalar fast path (fixed MFU): check_arguments and _solve_all on Python floats, with the float twins of
# xlcalc.core._objective_scalar. Anything it does not take (a bad argument, a failed or non-finite result,
# a Python division by zero) goes to the array path, which gives the error; tests/test_scalar_objectives.py
# compares the two over thousands of random scenarios, bit for bit.


_FIELDS = {cls: tuple(field.name for field in dataclasses.fields(cls)) for cls in (LifetimeOptimum, Reference)}


def _valid_one(f, objective, v) -> bool:
    """True when :func:`check_arguments` marks none of these floats (fixed MFU): its tests, in the same floating point."""
    loss, unique = v["loss"], v["unique_tokens"]
    if not (f.E < loss < math.inf and unique > 0.0):
        return False
    if unique != math.inf:   # check_arguments' floor (E with unlimited data)
        try:
            floor = f.E + f.B / (unique * (1.0 + R_D_STAR)) ** f.beta   # Python's pow: numpy's may differ by an ulp
        except (OverflowError, ZeroDivisionError):
            floor = math.nan
        if not abs(loss - floor) > 1e-9 * abs(loss):   # near it: exactly as a scalar call of the array path
            floor = f.E + f.B / (np.float64(unique) * (1.0 + R_D_STAR)) ** f.beta
        if loss <= floor:
            return False
    r = v["reference_mfu_decode"]
    if not (0.0 <= v["input_tokens"] < math.inf and 0.0 <= v["output_tokens"] < math.inf
            and 0.0 < v["train_peak_tflops"] < math.inf and 0.0 < v["infer_peak_tflops"] < math.inf
            and 0.0 < v["mfu_train"] <= 1.0 and 0.0 < v["mfu_prefill"] <= 1.0 and 0.0 < v["mfu_decode"] <= 1.0
            and (r != r or 0.0 < r <= 1.0) and 1.0 <= v["train_pue"] < math.inf
            and 1.0 <= v["infer_pue"] < math.inf):
        return False
    needs = {"usd": ("train_usd_per_hour", "infer_usd_per_hour"), "kwh": ("train_tdp_w", "infer_tdp_w"),
             "co2": ("train_tdp_w", "infer_tdp_w", "train_g_per_kwh", "infer_g_per_kwh"), "flops": ()}[objective]
    for name in needs:
        if v[name] != v[name]:
            return False
    for name in ("train_usd_per_hour", "infer_usd_per_hour", "train_tdp_w", "infer_tdp_w"):
        if v[name] == v[name] and not 0.0 < v[name] < math.inf:
            return False
    for name in ("train_g_per_kwh", "infer_g_per_kwh"):
        if v[name] == v[name] and not 0.0 <= v[name] < math.inf:
            return False
    return objective != "co2" or v["train_g_per_kwh"] > 0.0


def fixed_mfu_figures(f, objective, v):
    """The 20 figures of :func:`lifetime_optimal` (fields of LifetimeOptimum, then those of its two references) for
    one fixed-MFU scenario of floats ``v``, or None where the array path must run (a bad argument, a failure)."""
    if type(f.beta) is not float:
        return None
    with np.errstate(all="ignore"):
        if not _valid_one(f, objective, v):
            return None
        try:
            return _solve_one(f, objective, dict(v, roofline=False))
        except (ZeroDivisionError, OverflowError):
            return None


def _fixed_mfu_one(f, objective, v):
    """:func:`lifetime_optimal` for one valid fixed-MFU scenario of floats, or None (then the array path runs)."""
    out = fixed_mfu_figures(f, objective, v)
    if out is None:
        return None
    collector = _collector.get()
    if collector is not None:
        collector.reasons = ""
    return _filled(LifetimeOptimum, out[:14] + [_filled(Reference, out[14:17]), _filled(Reference, out[17:20])])


def _filled(cls, values):
    """``cls(*values)`` for a frozen dataclass without its __init__'s object.__setattr__ per field (4 us of a
    one-cell call for the 20 figures here): the same fields, equality and repr."""
    instance = object.__new__(cls)
    instance.__dict__.update(zip(_FIELDS[cls], values))
    return instance


def _solve_one(f, objective, v):
    """:func:`_solve_all` for one fixed-MFU scenario of floats: its 20 figures, or None where it would mark an error."""
    decode_mfu = v["mfu_decode"]
    if objective == "flops":
        v = dict(v, mfu_decode=v["mfu_prefill"], reference_mfu_decode=math.nan)
    (w_t, w_i), all_weights = _weights(v, objective)
    reference = v["reference_mfu_decode"]
    paper = dict(v, mfu_decode=v["mfu_decode"] if reference != reference else reference)
    n, d, value, x, gpus, batch, code, hours_t, hours_i, closed_form = _scalar.optimum_one(f, paper, w_t, w_i)
    if objective == "flops":
        hours_i = (2.0 * n / (v["infer_peak_tflops"] * FLOPS_PER_TFLOPS) / SECONDS_PER_HOUR
                   * (v["input_tokens"] / v["mfu_prefill"] + v["output_tokens"] / decode_mfu))
    unique = v["unique_tokens"]
    effective = float(np.exp(x))
    if closed_form and effective / unique <= 1.0:
        free = (n, d, value)   # the unlimited solve does the same operations: same s, no repeats, D = D' = e^x
    else:
        free = _scalar.optimum_one(f, dict(paper, unique_tokens=math.inf), w_t, w_i)[:3]
    if not (math.isfinite(value) and math.isfinite(n)):
        return None
    metrics = [w[0] * hours_t + w[1] * hours_i for w in all_weights.values()]
    out = [n, d, value, *(m if math.isfinite(m) else 0.0 for m in metrics), hours_t, hours_i, effective,
           d / unique, float(d > unique * (1 + 1e-12)), 0.0, 0.0, float(code), n, d, value, *free]
    if not all(map(math.isfinite, out)):
        return None
    tdp = v["train_tdp_w"] + v["infer_tdp_w"]   # NaN when either is missing
    prices, intensity = v["train_usd_per_hour"] + v["infer_usd_per_hour"], v["train_g_per_kwh"] + v["infer_g_per_kwh"]
    if prices != prices:   # a figure whose inputs are missing is NaN (all inputs are >= 0: a sum is NaN only then)
        out[3] = math.nan
    if tdp != tdp:
        out[4] = math.nan
    if tdp + intensity != tdp + intensity:
        out[5] = math.nan
    out[11] = out[12] = math.nan   # no replica with a fixed MFU
    return out


def _weights(v, objective):
    """Weight of one GPU-hour of (training, inference) for each objective: $, kWh, kg CO2e."""
    kwh_t = v["train_tdp_w"] / WATTS_PER_KW * v["train_pue"]
    kwh_i = v["infer_tdp_w"] / WATTS_PER_KW * v["infer_pue"]
    all_weights = {"usd": (v["train_usd_per_hour"], v["infer_usd_per_hour"]), "kwh": (kwh_t, kwh_i),
                   "co2": (kwh_t * v["train_g_per_kwh"] / GRAMS_PER_KG, kwh_i * v["infer_g_per_kwh"] / GRAMS_PER_KG)}
    if objective == "flops":   # FLOPs per GPU-hour of each phase (decode is set to the prefill MFU by the caller)
        return (SECONDS_PER_HOUR * FLOPS_PER_TFLOPS * v["train_peak_tflops"] * v["mfu_train"],
                SECONDS_PER_HOUR * FLOPS_PER_TFLOPS * v["infer_peak_tflops"] * v["mfu_prefill"]), all_weights
    return all_weights[objective], all_weights


def _solve_all(c: Checked, f, objective, v) -> LifetimeOptimum:
    """The optimum and its references for the valid scenarios ``v`` (flat), finished into a LifetimeOptimum.

    The solver's outputs are new arrays of this call: they are changed in place (NaN to 0 where finish needs
    finite numbers; stand-ins where a scenario failed) and handed to :meth:`Checked.finish` as fresh, which
    returns them reshaped instead of copying them (an array given twice, such as the optimum doubling as the
    unlimited reference, is copied once, so every output is an array of its own)."""
    decode_mfu = v["mfu_decode"]
    if objective == "flops":   # 6ND + 2N per token whatever the MFU: price every inference GPU-hour alike
        v = dict(v, mfu_decode=v["mfu_prefill"], reference_mfu_decode=np.full(v["loss"].shape, np.nan))
    size = v["loss"].shape
    # a weight from single values is one value, not an array a scenario (the same products and quotients)
    (w_t, w_i), all_weights = _weights({name: _single(a) for name, a in v.items()}, objective)
    w_t, w_i = (np.broadcast_to(w, size) if np.ndim(w) == 0 else w for w in (w_t, w_i))
    roofline = bool(v["roofline"].any())
    reference = v["reference_mfu_decode"]
    paper = dict(v, roofline=v["roofline"] if not roofline else np.zeros(size, dtype=bool),
                 mfu_decode=_paper_mfu(reference, v["mfu_decode"]))
    *result, free_x = _optimum(f, paper, w_t, w_i, brief=roofline)   # brief: a reference, N, D, F only
    ref_n, ref_d, ref_value = result[:3]
    if roofline:
        result = paper = None   # the paper solve's other figures: freed before the next solve
        k = v["kv_bytes_per_param"]
        if np.isnan(k).any():   # the same for every objective: the shape of the loss's Chinchilla model
            sizes = np.atleast_1d(chinchilla_for_loss(v["loss"][np.isnan(k)], fit=f).params)
            shapes, _ = shape_arrays(sizes)
            k = k.copy()
            k[np.isnan(k)] = 2.0 * shapes.layers * shapes.kv_dim * v["bytes_per_param"][np.isnan(k)] / shapes.params
            v = dict(v, kv_bytes_per_param=k)
        *result, _ = _optimum(f, v, w_t, w_i)
    n, d, value, x, gpus, batch, code, hours_t, hours_i = result
    del result
    if objective == "flops":   # the $, kWh and CO2 of that model at the decode MFU given
        hours_i = (2.0 * n / (v["infer_peak_tflops"] * FLOPS_PER_TFLOPS) / SECONDS_PER_HOUR
                   * (v["input_tokens"] / v["mfu_prefill"] + v["output_tokens"] / decode_mfu))
    unique = _single(v["unique_tokens"])
    if np.isfinite(unique).any():
        # the same serving as the optimum itself (with a fixed MFU: the paper's, at reference_mfu_decode if given),
        # so that a scenario's figures do not depend on whether another scenario of the call has a data cap
        if roofline:
            free_n, free_d, free_value = _unlimited_roofline(f, v, w_t, w_i, x, n, d, value)
        else:   # the capped solve started from the unlimited optimum's x: given back, not solved again
            unlimited = dict(paper, unique_tokens=np.broadcast_to(np.inf, n.shape))
            free_n, free_d, free_value = _optimum(f, unlimited, w_t, w_i, free_x, brief=True)[:3]
            del unlimited
    else:
        free_n, free_d, free_value = n, d, value
    del paper
    if not (finite_everywhere(value) and finite_everywhere(n)):
        failed = ~np.isfinite(value) | ~np.isfinite(n)
        if failed.any():
            solved = c.ok
            failed_at = np.flatnonzero(failed)   # once: faster than the mask for each array
            _explain_unservable(c, f, v, solved, failed, failed_at)
            c._valid_at_solve = solved   # finish: the results are those of these scenarios, NaN where now invalid
            for a in (n, d, value, x, gpus, batch, code, hours_t, hours_i, ref_n, ref_d, ref_value,
                      free_n, free_d, free_value):
                a[failed_at] = 0   # a finite stand-in, so that finish does not mark them again
        del failed
    metrics = [_metric(w, hours_t, hours_i) for w in all_weights.values()]
    del all_weights, w_t, w_i
    np.exp(x, out=x)   # effective tokens
    np.copyto(gpus, 0.0, where=np.isnan(gpus))
    np.copyto(batch, 0.0, where=np.isnan(batch))
    out = list(c.finish(n, d, value, *metrics, hours_t, hours_i, x, d / unique,
                        np.greater(d, unique * (1 + 1e-12), out=np.empty(size)), gpus, batch, code.astype(float),
                        ref_n, ref_d, ref_value, free_n, free_d, free_value, fresh=True))
    for position, inputs in ((3, ("train_usd_per_hour", "infer_usd_per_hour")), (4, ("train_tdp_w", "infer_tdp_w")),
                             (5, ("train_tdp_w", "infer_tdp_w", "train_g_per_kwh", "infer_g_per_kwh"))):
        if any(np.isnan(c.as_given(name)).any() for name in inputs):   # a figure whose inputs are missing is NaN
            missing = np.zeros(c.shape, dtype=bool)
            for name in inputs:
                missing |= np.isnan(c[name])
            out[position] = _nan_where(out[position], missing)
    if not roofline:   # no replica with a fixed MFU
        out[11] = _nan_where(out[11], True)
        out[12] = _nan_where(out[12], True)
    return LifetimeOptimum(*out[:14], Reference(*out[14:17]), Reference(*out[17:20]))


def _unlimited_roofline(f, v, w_t, w_i, x, n, d, value):
    """(N, D, F) of the roofline optimum with unlimited data, from the one with the data cap (at x = ln D': N, D, F).

    F with the cap is at least F without it, and equal where D' <= U, so where the capped minimum lies below
    ln U (no data repeated) it is also the unlimited one (F is convex): only the scenarios that repeat data (or
    failed) are solved again, with the same serving."""
    with np.errstate(invalid="ignore", divide="ignore"):
        again = np.flatnonzero(~(x < np.log(v["unique_tokens"])))
    if 2 * again.size > n.size:   # most: solve them all, without a copy of every argument for the subset
        free_n, free_d, free_value = _optimum(f, dict(v, unique_tokens=np.broadcast_to(np.inf, n.shape)), w_t, w_i,
                                              brief=True)[:3]
        keep = np.ones(n.shape, dtype=bool)
        keep[again] = False
        for free, capped in ((free_n, n), (free_d, d), (free_value, value)):
            free[keep] = capped[keep]
        return free_n, free_d, free_value
    free_n, free_d, free_value = n.copy(), d.copy(), value.copy()
    if again.size:
        rows = {name: a[again] for name, a in v.items()}
        rows["unique_tokens"] = np.broadcast_to(np.inf, again.shape)
        solved = _optimum(f, rows, w_t[again], w_i[again], brief=True)
        free_n[again], free_d[again], free_value[again] = solved[:3]
    return free_n, free_d, free_value


def _metric(weights, hours_t, hours_i):
    """usd, kWh or kg CO2e of the GPU-hours (0 where not finite: finish makes a missing figure NaN afterwards)."""
    metric = weights[0] * hours_t
    metric += weights[1] * hours_i
    if not finite_everywhere(metric):
        np.copyto(metric, 0.0, where=~np.isfinite(metric))
    return metric


def _paper_mfu(reference, mfu_decode):
    """The decode MFU of the paper's serving: reference_mfu_decode where given, else mfu_decode (one value when
    both are single values)."""
    one = _single(reference), _single(mfu_decode)
    if np.ndim(one[0]) == 0 and np.ndim(one[1]) == 0:
        return np.broadcast_to(one[1] if np.isnan(one[0]) else one[0], reference.shape)
    return np.where(np.isnan(reference), mfu_decode, reference)


def _single(a):
    """A per-scenario array of one value repeated (a broadcast view) as that value (a numpy float); else ``a``."""
    one = repeated_value(a)
    return a if one is None else one


def _explain_unservable(c: Checked, f, v, solved, failed, rows) -> None:
    """Mark the scenarios where no model reaching the loss fits the largest replica, saying what would
    (texts made only when asked for: the first for the warning, all in an invalid_reasons block). ``failed``:
    a mask over the scenarios solved, ``rows``: its positions."""
    new = np.zeros(c.shape, dtype=bool)
    new[solved] = failed
    if not v["roofline"].any():   # the fixed-MFU solve only fails when its numbers overflow
        text = "these inputs give a result outside the floating-point range (too extreme)"
        c.mark(new, DeferredReasons(lambda ranks: [text] * len(ranks)))
        return
    at = {name: a[rows] for name, a in v.items()}   # the failed scenarios (rows: their positions), in marked order
    q = lc.serving_numbers(at)["q"]
    excess = at["loss"] - f.E - f.B / (at["unique_tokens"] * (1.0 + R_D_STAR)) ** f.beta
    smallest = (f.A / excess) ** (1.0 / f.alpha)
    largest = q * at["max_gpus"]
    capped = np.isfinite(at["unique_tokens"])

    def texts(ranks):
        shown = zip(*(format_floats(a[ranks]) for a in (at["loss"], at["max_gpus"], largest, smallest)),
                    capped[ranks].tolist())
        return [f"no model reaching loss = {loss} can be served on up to {gpus} GPUs: the largest that holds one "
                f"sequence and meets the target at batch 1 has {most} params, and the loss needs more than {least}"
                f"{' with these unique tokens' if cap else ''}; raise max_gpus or infer_memory_gb, relax "
                "tpot_target_s, or aim for a higher loss" for loss, gpus, most, least, cap in shown]

    c.mark(new, DeferredReasons(texts))


def _nan_where(value, mask):
    """``value`` with NaN where ``mask`` (in place: an output array of finish is this call's own)."""
    if np.ndim(value) == 0:
        return float("nan") if bool(np.asarray(mask).any()) else value
    value[np.broadcast_to(mask, value.shape)] = np.nan
    return value


__all__ = ["OBJECTIVES", "SERVING", "LifetimeOptimum", "Reference", "lifetime_optimal"]
