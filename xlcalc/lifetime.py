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
-beta, which gives a bracket from any starting point.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._checks import Checked, overflow_checked
from ._solve import MAX_ITERATIONS as MAX_NEWTON_STEPS
from ._solve import X_TOLERANCE, solve_decreasing
from .laws import DEFAULT_FIT, Fit, _chinchilla_for_loss, _chinchilla_tokens, _loss, get_fit
from .laws import _check_loss_above_floor
from .units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR


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
# Kernels (valid inputs only, flat arrays)


def _optimal_tokens_on_curve(f: Fit, loss, s):
    """ln D of the minimum of N(D) (D + s) on the iso-loss curve L = loss (see the module Notes).

    h(x) = -beta x + ln(P + Q e^(-x)) - ln R with P = B (alpha+beta), Q = B beta s, R = alpha c is convex
    and decreasing, so Newton steps from the left end of the bracket never overshoot the root: a plain
    Newton loop over the whole array is safe, with one exp and one log per step.
    """
    loss, s = np.broadcast_arrays(np.asarray(loss, dtype=float), np.asarray(s, dtype=float))
    a, b = f.alpha, f.beta
    p = f.B * (a + b)
    q = (f.B * b) * s
    log_r = np.log(a * (loss - f.E))
    with np.errstate(divide="ignore"):
        x = np.maximum((math.log(p) - log_r) / b, (np.log(q) - log_r) / (1 + b))  # log(0) = -inf when s = 0
    for _ in range(MAX_NEWTON_STEPS):
        tail = q * np.exp(-x)                      # Q e^(-x)
        total = p + tail
        h = np.log(total) - b * x - log_r
        step = h / (b + tail / total)              # -h / h'
        x += step
        # absolute near x = 0 (D near 1 token), relative elsewhere
        unconverged = np.abs(step) > X_TOLERANCE * np.maximum(1.0, np.abs(x))
        if not np.any(unconverged):
            return x
    # Not reached for valid inputs (convergence is monotone and quadratic); never return an unconverged
    # number: NaN here becomes an invalid element with its reason in Checked.finish.
    return np.where(unconverged, np.nan, x)


def _params_at(f: Fit, loss, log_tokens):
    return (f.A / (loss - f.E - f.B * np.exp(-f.beta * log_tokens))) ** (1.0 / f.alpha)


def _minimise_on_curve(f: Fit, loss, s):
    """(params, tokens) minimising N (D + s) at the given loss."""
    log_tokens = _optimal_tokens_on_curve(f, loss, s)
    return _params_at(f, loss, log_tokens), np.exp(log_tokens)


def _usd_per_flop(usd_per_hour, peak_tflops, mfu):
    return usd_per_hour / (SECONDS_PER_HOUR * peak_tflops * FLOPS_PER_TFLOPS * mfu)


def _saving(optimum, reference):
    """Fraction saved against the reference. The reference lies on the same iso-loss curve, so the exact
    saving is never negative; rounding at near-zero demand can give -1e-15, which is clamped to 0."""
    return np.maximum((reference - optimum) / reference, 0.0)


def _budget_optimum(f: Fit, total_flops, inference_tokens):
    """(params, tokens) of the lowest loss with 6ND + 2NT = C."""
    C, T = np.broadcast_arrays(np.asarray(total_flops, float), np.asarray(inference_tokens, float))
    a, b = f.alpha, f.beta
    third = T / 3.0
    log_ab = math.log(b * f.B) - math.log(a * f.A)

    def value_and_slope(x, i):
        d = np.exp(x)
        t = third[i]
        ratio = t / d
        # ln(beta B D^-beta (1 + T/(3D))) - ln(alpha A (6(D + T/3)/C)^alpha)
        g = log_ab - b * x + np.log1p(ratio) - a * (np.log(6.0 * (d + t)) - np.log(C[i]))
        slope = -b - ratio / (1.0 + ratio) - a * d / (d + t)
        return g, slope

    # Start from the training-only Chinchilla optimum for the whole budget, then bracket by the slope bounds.
    g0 = (a * f.A / (b * f.B)) ** (1.0 / (a + b))
    n0 = g0 * (C / 6.0) ** (b / (a + b))
    x0 = np.log(C / (6.0 * n0))
    value0, _ = value_and_slope(x0, np.arange(x0.size).reshape(x0.shape))
    width = np.abs(value0) / b * (1 + 1e-12) + 1e-12
    lo = np.where(value0 > 0, x0, x0 - width)
    hi = np.where(value0 > 0, x0 + width, x0)
    log_tokens, _ = solve_decreasing(value_and_slope, lo.ravel(), hi.ravel(), x0=x0.ravel())
    tokens = np.exp(log_tokens).reshape(C.shape)
    return C / (6.0 * tokens + 2.0 * T), tokens


def _chinchilla_within_budget(f: Fit, total_flops, inference_tokens):
    """(params, tokens) of the Chinchilla-proportioned model with 6 N D_chin(N) + 2 N T = C."""
    C, T = np.broadcast_arrays(np.asarray(total_flops, float), np.asarray(inference_tokens, float))
    a, b = f.alpha, f.beta
    # D_chin(N) = k N^(alpha/beta); g(z) = ln(6k e^((1+alpha/beta) z) + 2T e^z) - ln C is increasing in z = ln N.
    log_6k = math.log(6.0) + math.log(b * f.B / (a * f.A)) / b
    power = 1.0 + a / b
    with np.errstate(divide="ignore"):
        log_2t = np.log(2.0 * T)
    log_c = np.log(C)
    hi = np.minimum((log_c - log_6k) / power, log_c - log_2t)
    lo = hi - math.log(2.0)

    def value_and_slope(z, i):  # negated so that it decreases
        first, second = log_6k + power * z, log_2t[i] + z
        total = np.logaddexp(first, second)
        w_first = np.exp(first - total)
        return -(total - log_c[i]), -(power * w_first + (1.0 - w_first))

    log_params, _ = solve_decreasing(value_and_slope, lo.ravel(), hi.ravel(), x0=hi.ravel())
    params = np.exp(log_params).reshape(C.shape)
    return params, _chinchilla_tokens(f, params)


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
    c = Checked(loss=loss, inference_tokens=inference_tokens)
    _check_loss_above_floor(c, f)
    c.non_negative("inference_tokens")
    lo, d_inf = c.valid("loss"), c.valid("inference_tokens")
    params, tokens = _minimise_on_curve(f, lo, d_inf / 3.0)
    ch_params, ch_tokens = _chinchilla_for_loss(f, lo)
    c.reject_tiny_models((params, tokens), (ch_params, ch_tokens), reason="lower the loss")
    train, infer = 6.0 * params * tokens, 2.0 * params * d_inf
    ch_flops = 6.0 * ch_params * ch_tokens + 2.0 * ch_params * d_inf
    saving = _saving(train + infer, ch_flops)
    n, d, fl, tr, inf, sv, cn, cd, cf = c.finish(params, tokens, train + infer, train, infer, saving,
                                                 ch_params, ch_tokens, ch_flops)
    return ComputeOptimum(n, d, fl, tr, inf, sv, ComputeReference(cn, cd, cf))


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
    c = Checked(loss=loss, input_tokens=input_tokens, output_tokens=output_tokens,
                train_usd_per_hour=train_usd_per_hour, train_peak_tflops=train_peak_tflops,
                infer_usd_per_hour=infer_usd_per_hour, infer_peak_tflops=infer_peak_tflops,
                mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode)
    c.non_negative("input_tokens", "output_tokens")
    return _cost_optimum(c, f, lambda: (c.valid("input_tokens"), c.valid("output_tokens")))


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
    c = Checked(loss=loss, requests=requests, input_tokens_per_request=input_tokens_per_request,
                output_tokens_per_request=output_tokens_per_request,
                train_usd_per_hour=train_usd_per_hour, train_peak_tflops=train_peak_tflops,
                infer_usd_per_hour=infer_usd_per_hour, infer_peak_tflops=infer_peak_tflops,
                mfu_train=mfu_train, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode)
    c.non_negative("requests", "input_tokens_per_request", "output_tokens_per_request")

    def lifetime_tokens():
        requests = c.valid("requests")
        return requests * c.valid("input_tokens_per_request"), requests * c.valid("output_tokens_per_request")

    return _cost_optimum(c, f, lifetime_tokens)


def _cost_optimum(c: Checked, f: Fit, lifetime_tokens) -> CostOptimum:
    """The cost optimum once the token arguments are checked; ``lifetime_tokens()`` gives (input, output)
    lifetime totals over the valid elements, called after every check."""
    _check_loss_above_floor(c, f)
    c.positive("train_usd_per_hour", "train_peak_tflops", "infer_usd_per_hour", "infer_peak_tflops")
    c.fraction("mfu_train", "mfu_prefill", "mfu_decode")
    v = {name: c.valid(name) for name in c.values}
    v["input_tokens"], v["output_tokens"] = lifetime_tokens()
    k_train = _usd_per_flop(v["train_usd_per_hour"], v["train_peak_tflops"], v["mfu_train"])
    k_prefill = _usd_per_flop(v["infer_usd_per_hour"], v["infer_peak_tflops"], v["mfu_prefill"])
    k_decode = _usd_per_flop(v["infer_usd_per_hour"], v["infer_peak_tflops"], v["mfu_decode"])
    usd_per_param = 2.0 * (v["input_tokens"] * k_prefill + v["output_tokens"] * k_decode)
    params, tokens = _minimise_on_curve(f, v["loss"], usd_per_param / (6.0 * k_train))
    ch_params, ch_tokens = _chinchilla_for_loss(f, v["loss"])
    c.reject_tiny_models((params, tokens), (ch_params, ch_tokens), reason="lower the loss")
    train, infer = 6.0 * k_train * params * tokens, params * usd_per_param
    ch_usd = 6.0 * k_train * ch_params * ch_tokens + ch_params * usd_per_param
    saving = _saving(train + infer, ch_usd)
    n, d, usd, tr, inf, sv, cn, cd, cu = c.finish(params, tokens, train + infer, train, infer, saving,
                                                  ch_params, ch_tokens, ch_usd)
    return CostOptimum(n, d, usd, tr, inf, sv, CostReference(cn, cd, cu))


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
    c = Checked(total_flops=total_flops, inference_tokens=inference_tokens)
    c.positive("total_flops")
    c.non_negative("inference_tokens")
    C, T = c.valid("total_flops"), c.valid("inference_tokens")
    params, tokens = _budget_optimum(f, C, T)
    c.reject_results((params < 1.0) | (tokens < 1.0),
                     "cannot be met: the budget barely covers the inference, leaving a model of under one "
                     "parameter or one training token; raise total_flops or lower inference_tokens")
    ch_params, ch_tokens = _chinchilla_within_budget(f, C, T)
    n, d, lo, tr, inf, cn, cd, cl = c.finish(params, tokens, _loss(f, params, tokens), 6.0 * params * tokens,
                                             2.0 * params * T, ch_params, ch_tokens, _loss(f, ch_params, ch_tokens))
    return BudgetOptimum(n, d, lo, tr, inf, BudgetReference(cn, cd, cl))
