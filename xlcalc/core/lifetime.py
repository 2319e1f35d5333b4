"""Inference-aware optima: the model that reaches a loss most cheaply over its whole life, and the best loss for a budget.

Training costs 6ND FLOPs and serving costs 2N FLOPs per token (Sardana et al. 2024, "Beyond
Chinchilla-Optimal", arXiv 2401.00448). Every function broadcasts like numpy and takes ``fit=``.

Notes
-----
Compute- and cost-optimal models (Sardana Eq. 3/12 and Eq. 6) both minimise N(D) * (D + s) along the
iso-loss curve N(D) = (A / (loss - E - B/D^beta))^(1/alpha), where s is the lifetime inference work
expressed in training-token units: s = inference_tokens / 3 for FLOPs, and s = K / (6 k_train) for
dollars, with k the dollars per FLOP of each phase and K = 2 (input_tokens k_prefill + output_tokens
k_decode). With x = ln D, c = loss - E and y = B e^(-beta x), the optimum satisfies
y (alpha + beta + beta s e^(-x)) = alpha c. Its logarithm
h(x) = ln(B (alpha+beta) e^(-beta x) + B beta s e^(-(1+beta) x)) - ln(alpha c)
is strictly decreasing and convex, so it has one root, which lies between
x0 = max(ln(B (alpha+beta) / (alpha c)) / beta, ln(B beta s / (alpha c)) / (1+beta)) and
x0 + ln 2 / beta; Newton's method from x0 climbs to it monotonically.

The fixed-budget optimum minimises L(N, D) subject to 6ND + 2NT = C. With D as the unknown and
N = C / (6D + 2T), the optimum satisfies alpha A N^(-alpha) = beta B D^(-beta) (1 + T / (3D)); the log
of the ratio of the two sides is strictly decreasing in ln D with slope between -(1+alpha+beta) and
-beta, which gives a bracket from any starting point; for alpha < 1 it is also convex, so plain Newton
converges from any start (xlcalc.core._lifetime_fused, what a call runs; the bracketed solve of
xlcalc.core._lifetime_kernels is the reference, and runs for a fit with alpha >= 1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _lifetime_fused as fused
from . import _lifetime_kernels as kernels
from .._checks import Checked, _collector, _plain_number, overflow_checked
from .laws import DEFAULT_FIT, Fit, get_fit
from .laws import _check_loss_above_floor

_usd_per_flop = kernels.usd_per_flop  # the lifetime-sizing workbook states its prices with this


# ----------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class ComputeReference:
    """The equal-loss Chinchilla-style model with the same inference: params, tokens, lifetime flops."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    flops: float | np.ndarray


@dataclasses.dataclass(frozen=True)
class ComputeOptimum:
    """Lifetime-FLOP-optimal model: params, tokens, flops (training + inference), saving, and the Chinchilla reference."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    flops: float | np.ndarray
    train_flops: float | np.ndarray
    inference_flops: float | np.ndarray
    saving: float | np.ndarray
    chinchilla: ComputeReference


@dataclasses.dataclass(frozen=True)
class CostReference:
    """The equal-loss Chinchilla-style model with the same inference: params, tokens, lifetime usd."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    usd: float | np.ndarray


@dataclasses.dataclass(frozen=True)
class CostOptimum:
    """Lifetime-dollar-optimal model: params, tokens, usd (training + inference), saving, and the Chinchilla reference."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    usd: float | np.ndarray
    train_usd: float | np.ndarray
    inference_usd: float | np.ndarray
    saving: float | np.ndarray
    chinchilla: CostReference


@dataclasses.dataclass(frozen=True)
class BudgetReference:
    """The Chinchilla-proportioned model (D = the fit's Chinchilla tokens for N) that spends the same total budget."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    loss: float | np.ndarray


@dataclasses.dataclass(frozen=True)
class BudgetOptimum:
    """Lowest-loss model for a total budget of training plus inference FLOPs: params, tokens, loss, and the Chinchilla reference."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    loss: float | np.ndarray
    train_flops: float | np.ndarray
    inference_flops: float | np.ndarray
    chinchilla: BudgetReference


# ----------------------------------------------------------------------------------------------
# Public functions


@overflow_checked
def compute_optimal(loss, inference_tokens, *, fit=DEFAULT_FIT) -> ComputeOptimum:
    """Params and tokens that reach `loss` with the fewest lifetime FLOPs (6ND training + 2N per inference token).

    Parameters
    ----------
    loss : target loss, greater than the fit's E.
    inference_tokens : lifetime inference tokens (input + output), >= 0.
    fit : scaling-law fit name or five numbers E, A, B, alpha, beta.

    Returns
    -------
    ComputeOptimum with ``params``, ``tokens``, ``flops`` (training + inference), ``train_flops``,
    ``inference_flops``, ``saving`` (fraction of lifetime FLOPs saved against the Chinchilla-style model
    of equal loss serving the same tokens) and ``chinchilla`` (that model: ``params``, ``tokens``,
    ``flops``).

    Notes
    -----
    Sardana et al. 2024, Eq. 3 / Eq. 12: minimise 6ND + 2N D_inf subject to L(N, D) = loss; see the
    module docstring for the solution method.

    Examples
    --------
    >>> opt = compute_optimal(1.947, 2e12)  # the paper's compute_optimal.py README example
    >>> f"{opt.params:.4g} {opt.tokens:.4g} {opt.params / opt.chinchilla.params:.4f}"
    '2.418e+10 2.657e+12 0.7096'
    """
    f = get_fit(fit)
    if _plain_number(loss) and _plain_number(inference_tokens) and f.E < loss < math.inf \
            and 0 <= inference_tokens < math.inf:  # a valid scalar call: no Checked (a third of the call's time)
        r = _fine(_compute_one(f, float(loss), float(inference_tokens)))
        if r:
            return ComputeOptimum(*r[:6], ComputeReference(*r[6:]))
    c = Checked(loss=loss, inference_tokens=inference_tokens)
    _check_loss_above_floor(c, f)
    c.non_negative("inference_tokens")
    n, d, fl, tr, inf, sv, cn, cd, cf = _solved(c, _compute_one, _compute_chunk, 9, f, "loss", "inference_tokens")
    return ComputeOptimum(n, d, fl, tr, inf, sv, ComputeReference(cn, cd, cf))


def _fine(results: tuple):
    """``results`` of a valid scalar call when they need no rejection (all finite, no tiny model), else None
    (the checked path then computes them again and gives the error)."""
    if all(map(math.isfinite, results)) and min(results[0], results[1], results[6], results[7]) >= 1.0:
        collector = _collector.get()
        if collector is not None:
            collector.reasons = ""
        return results
    return None


def _solved(c: Checked, one, chunk, count: int, f: Fit, *names: str) -> tuple:
    """The ``count`` results of a checked call: ``one(f, *floats)`` for a scalar call,
    ``chunk(f, *arrays, out)`` a chunk at a time for an array call (True where nothing is to be
    rejected); NaN where invalid."""
    if c.scalar:
        if c.bad:  # only inside invalid_reasons(): a scalar call with a bad value raises before this
            return c.finish(*[math.nan] * count)
        results = one(f, *(float(c.floats[name] if c.floats else c[name]) for name in names))
        c.reject_where(np.array(_tiny_models(results)), _TINY_MODEL_REASON)
        return c.finish(*results)
    fine = []
    outputs = c.map_chunks(lambda *args: fine.append(chunk(f, *args)), count, *names, into=True)
    if all(fine):
        return c.finish_outputs(*outputs, all_finite=True)
    c.reject_where(_tiny_models(outputs), _TINY_MODEL_REASON)
    return c.finish_outputs(*outputs)


_TINY_MODEL_REASON = "give a model of under one parameter or under one training token, which is no real model: " \
                     "lower the loss"


def _tiny_models(results) -> np.ndarray:
    """Where the optimum (results 0, 1) or its Chinchilla reference (results 6, 7) has under one parameter or token."""
    return (np.less(results[0], 1.0) | np.less(results[1], 1.0) | np.less(results[6], 1.0)
            | np.less(results[7], 1.0))


def _compute_one(f: Fit, loss: float, inference_tokens: float) -> tuple:
    return fused.curve_optimum_one(f, loss, inference_tokens / 3.0, 6.0, 2.0 * inference_tokens)


def _compute_chunk(f: Fit, loss, inference_tokens, out) -> bool:
    return fused.curve_optimum_into(f, loss, np.divide(inference_tokens, 3.0), 6.0,
                                    np.multiply(inference_tokens, 2.0), out)


@overflow_checked
def cost_optimal(loss, input_tokens, output_tokens, *, train_usd_per_hour, train_peak_tflops,
                 infer_usd_per_hour, infer_peak_tflops, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01,
                 fit=DEFAULT_FIT) -> CostOptimum:
    """Params and tokens that reach `loss` at the lowest lifetime dollar cost of training plus serving.

    Parameters
    ----------
    loss : target loss, greater than the fit's E.
    input_tokens, output_tokens : lifetime totals of prompt (prefill) and generated (decode) tokens.
    train_usd_per_hour, infer_usd_per_hour : $ per accelerator-hour for training and for inference.
    train_peak_tflops, infer_peak_tflops : dense peak TFLOP/s of those accelerators at the precision used.
    mfu_train, mfu_prefill, mfu_decode : achieved fraction of peak in each phase, in (0, 1].
    fit : scaling-law fit name or five numbers E, A, B, alpha, beta.

    Returns
    -------
    CostOptimum with ``params``, ``tokens``, ``usd``, ``train_usd``, ``inference_usd``, ``saving``
    (fraction of lifetime $ saved against the Chinchilla-style model of equal loss) and ``chinchilla``.

    Notes
    -----
    Sardana et al. 2024, Eq. 6: cost = 6ND k_train + 2N (D_input k_prefill + D_output k_decode), with
    k = usd_per_hour / (3600 * peak_tflops * 1e12 * mfu) dollars per FLOP in each phase.

    Examples
    --------
    >>> opt = cost_optimal(1.947, 1e10 * 1000, 1e10 * 250, train_usd_per_hour=1.40, train_peak_tflops=312,
    ...                    infer_usd_per_hour=0.60, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2)
    >>> f"{opt.params:.4g} {opt.tokens:.4g} {1 - opt.saving:.4f}"  # the paper's cost_optimal.py example
    '2.053e+10 3.302e+12 0.8876'
    """
    f = get_fit(fit)
    if _plain_number(loss) and _plain_number(input_tokens) and _plain_number(output_tokens) \
            and _plain_number(train_usd_per_hour) and _plain_number(train_peak_tflops) \
            and _plain_number(infer_usd_per_hour) and _plain_number(infer_peak_tflops) and _plain_number(mfu_train) \
            and _plain_number(mfu_prefill) and _plain_number(mfu_decode) and f.E < loss < math.inf \
            and 0 <= input_tokens < math.inf and 0 <= output_tokens < math.inf \
            and 0 < train_usd_per_hour < math.inf and 0 < train_peak_tflops < math.inf \
            and 0 < infer_usd_per_hour < math.inf and 0 < infer_peak_tflops < math.inf \
            and 0 < mfu_train <= 1 and 0 < mfu_prefill <= 1 and 0 < mfu_decode <= 1:  # see compute_optimal
        r = _fine(_cost_one(f, *map(float, (loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops,
                                            infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill,
                                            mfu_decode))))
        if r:
            return CostOptimum(*r[:6], CostReference(*r[6:]))
    c = Checked(loss=loss, input_tokens=input_tokens, output_tokens=output_tokens,
                train_usd_per_hour=train_usd_per_hour, train_peak_tflops=train_peak_tflops,
                infer_usd_per_hour=infer_usd_per_hour, infer_peak_tflops=infer_peak_tflops,
                mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode)
    c.non_negative("input_tokens", "output_tokens")
    return _cost_optimum(c, f, ("input_tokens", "output_tokens"))


@overflow_checked
def cost_optimal_per_request(loss, requests, input_tokens_per_request, output_tokens_per_request, *,
                             train_usd_per_hour, train_peak_tflops, infer_usd_per_hour, infer_peak_tflops,
                             mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01, fit=DEFAULT_FIT) -> CostOptimum:
    """:func:`cost_optimal` for `requests` lifetime requests of so many prompt and generated tokens each.

    Lifetime totals are requests x tokens per request; a bad value is reported under the name given here
    (``requests``, ``input_tokens_per_request``, ``output_tokens_per_request``), not as a product.

    Examples
    --------
    >>> opt = cost_optimal_per_request(1.947, 1e10, 1000, 250, train_usd_per_hour=1.40, train_peak_tflops=312,
    ...                                infer_usd_per_hour=0.60, infer_peak_tflops=624, mfu_prefill=0.4,
    ...                                mfu_decode=0.2)
    >>> f"{opt.params:.4g} {opt.tokens:.4g}"  # the paper's cost_optimal.py example
    '2.053e+10 3.302e+12'
    """
    f = get_fit(fit)
    values = (loss, requests, input_tokens_per_request, output_tokens_per_request, train_usd_per_hour,
              train_peak_tflops, infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode)
    if all(map(_plain_number, values)) and f.E < loss < math.inf and 0 <= requests < math.inf \
            and 0 <= input_tokens_per_request < math.inf and 0 <= output_tokens_per_request < math.inf \
            and 0 < train_usd_per_hour < math.inf and 0 < train_peak_tflops < math.inf \
            and 0 < infer_usd_per_hour < math.inf and 0 < infer_peak_tflops < math.inf \
            and 0 < mfu_train <= 1 and 0 < mfu_prefill <= 1 and 0 < mfu_decode <= 1:  # see compute_optimal
        r = _fine(_cost_per_request_one(f, *map(float, values)))
        if r:
            return CostOptimum(*r[:6], CostReference(*r[6:]))
    c = Checked(loss=loss, requests=requests, input_tokens_per_request=input_tokens_per_request,
                output_tokens_per_request=output_tokens_per_request,
                train_usd_per_hour=train_usd_per_hour, train_peak_tflops=train_peak_tflops,
                infer_usd_per_hour=infer_usd_per_hour, infer_peak_tflops=infer_peak_tflops,
                mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode)
    c.non_negative("requests", "input_tokens_per_request", "output_tokens_per_request")
    return _cost_optimum(c, f, ("requests", "input_tokens_per_request", "output_tokens_per_request"))


COST_ARGUMENTS = ("loss", "input_tokens", "output_tokens", "train_usd_per_hour", "train_peak_tflops",
                  "infer_usd_per_hour", "infer_peak_tflops", "mfu_train", "mfu_prefill", "mfu_decode")


def _cost_optimum(c: Checked, f: Fit, token_names) -> CostOptimum:
    """The cost optimum once the token arguments are checked; ``token_names`` are the three arguments that
    give the lifetime input and output tokens (requests and tokens per request), or the two totals."""
    _check_loss_above_floor(c, f)
    c.positive("train_usd_per_hour", "train_peak_tflops", "infer_usd_per_hour", "infer_peak_tflops")
    c.fraction("mfu_train", "mfu_prefill", "mfu_decode")
    names = ("loss", *token_names, *COST_ARGUMENTS[3:])
    one = _cost_one if len(token_names) == 2 else _cost_per_request_one
    chunk = _cost_chunk if len(token_names) == 2 else _cost_per_request_chunk
    n, d, usd, tr, inf, sv, cn, cd, cu = _solved(c, one, chunk, 9, f, *names)
    return CostOptimum(n, d, usd, tr, inf, sv, CostReference(cn, cd, cu))


def _cost_one(f: Fit, loss: float, *tokens_and_prices: float) -> tuple:
    try:
        k_train, usd_per_param = kernels.cost_prices(*tokens_and_prices)
        s = usd_per_param / (6.0 * k_train)
    except ZeroDivisionError:  # a price of 0 $ per FLOP (underflow): numpy's inf or NaN, as in an array call
        k_train, usd_per_param = map(float, kernels.cost_prices(*map(np.float64, tokens_and_prices)))
        s = float(np.divide(usd_per_param, 6.0 * k_train))
    return fused.curve_optimum_one(f, loss, s, 6.0 * k_train, usd_per_param)


def _cost_chunk(f: Fit, loss, *tokens_prices_and_out) -> bool:
    *tokens_and_prices, out = tokens_prices_and_out
    k_train, usd_per_param = kernels.cost_prices(*tokens_and_prices)
    return fused.curve_optimum_into(f, loss, usd_per_param / (6.0 * k_train), 6.0 * k_train, usd_per_param, out)


def _cost_per_request_one(f: Fit, loss, requests, input_per_request, output_per_request, *prices) -> tuple:
    return _cost_one(f, loss, requests * input_per_request, requests * output_per_request, *prices)


def _cost_per_request_chunk(f: Fit, loss, requests, input_per_request, output_per_request, *prices_and_out) -> bool:
    return _cost_chunk(f, loss, np.multiply(requests, input_per_request), np.multiply(requests, output_per_request),
                       *prices_and_out)


@overflow_checked
def budget_optimal(total_flops, inference_tokens, *, fit=DEFAULT_FIT) -> BudgetOptimum:
    """Params and tokens with the lowest loss when training (6ND) plus serving (2N per token) must fit `total_flops`.

    Parameters
    ----------
    total_flops : lifetime FLOP budget for training and inference together, > 0.
    inference_tokens : lifetime inference tokens, >= 0.
    fit : scaling-law fit name or five numbers E, A, B, alpha, beta.

    Returns
    -------
    BudgetOptimum with ``params``, ``tokens``, ``loss``, ``train_flops``, ``inference_flops`` and
    ``chinchilla``: the Chinchilla-proportioned model that spends the same budget (``params``,
    ``tokens``, ``loss``).

    Notes
    -----
    Minimise E + A/N^alpha + B/D^beta subject to 6ND + 2NT = C; with zero inference this is the
    Chinchilla optimum. See the module docstring for the solution method.

    Examples
    --------
    >>> opt = budget_optimal(1e24, 0)
    >>> f"{opt.params:.6g}" == f"{__import__('xlcalc').chinchilla_optimal(1e24).params:.6g}"
    True
    """
    f = get_fit(fit)
    one, chunk = _budget_kernels(f)
    if _plain_number(total_flops) and _plain_number(inference_tokens) and 0 < total_flops < math.inf \
            and 0 <= inference_tokens < math.inf:  # see compute_optimal
        r = one(f, float(total_flops), float(inference_tokens))
        if all(map(math.isfinite, r)) and r[0] >= 1.0 and r[1] >= 1.0:
            collector = _collector.get()
            if collector is not None:
                collector.reasons = ""
            return BudgetOptimum(*r[:5], BudgetReference(*r[5:]))
    c = Checked(total_flops=total_flops, inference_tokens=inference_tokens)
    c.positive("total_flops")
    c.non_negative("inference_tokens")
    names = ("total_flops", "inference_tokens")
    reason = ("cannot be met: the budget barely covers the inference, leaving a model of under one parameter or "
              "one training token; raise total_flops or lower inference_tokens")
    if c.scalar:
        outputs = [math.nan] * 8 if c.bad else one(f, *(float(c.floats[name] if c.floats else c[name])
                                                         for name in names))
        if outputs[0] < 1.0 or outputs[1] < 1.0:
            c.reject_where(np.array(True), reason)
        n, d, lo, tr, inf, cn, cd, cl = c.finish(*outputs)
    else:
        fine = []
        outputs = c.map_chunks(lambda C, T, out: fine.append(chunk(f, C, T, out)), 8, *names, into=True)
        if not all(fine):
            c.reject_where((outputs[0] < 1.0) | (outputs[1] < 1.0), reason)
        n, d, lo, tr, inf, cn, cd, cl = c.finish_outputs(*outputs, all_finite=all(fine))
    return BudgetOptimum(n, d, lo, tr, inf, BudgetReference(cn, cd, cl))


def _budget_kernels(f: Fit) -> tuple:
    """(one, chunk) solving the fixed-budget optimum: the fused Newton kernels, whose equation is convex for
    alpha < 1 (every published fit), else the bracketed reference kernels."""
    if f.alpha < 1:
        return fused.budget_optimum_one, fused.budget_optimum_into
    return _budget_reference_one, _budget_reference_chunk


def _budget_reference_one(f: Fit, total_flops: float, inference_tokens: float) -> tuple:
    return tuple(map(float, kernels.budget_results_one(f, np.float64(total_flops), np.float64(inference_tokens))))


def _budget_reference_chunk(f: Fit, total_flops, inference_tokens, out) -> bool:
    for o, r in zip(out, kernels.budget_results(f, total_flops, inference_tokens)):
        o[...] = r
    return False
