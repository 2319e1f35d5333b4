"""Kernels of the lifetime optima (xlcalc.core.lifetime): valid inputs only, one scenario or one chunk of them.

Each solve comes twice: a plain loop over one scenario (floats), which is the reference and what a scalar
call runs, and an array version over a chunk of scenarios. Both do the same floating-point operations in
the same order with numpy's ufuncs (np.exp, np.log, np.power also on floats: Python's ``**`` and the
math module round differently from numpy's vectorised loops in about one case in twenty), and each
scenario stops by its own test, so a scenario gets the same digits alone or in any array
(tests/test_scalar_paths.py checks this bit for bit).

The closed-form parts after a solve (``*_results``) are single expressions that take floats or chunks.
"""

from __future__ import annotations

import math

import numpy as np

from ._solve import MAX_ITERATIONS as MAX_NEWTON_STEPS
from ._solve import X_TOLERANCE, solve_decreasing, solve_decreasing_one
from .laws import Fit, _chinchilla_for_loss, _chinchilla_tokens, _loss
from ..units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR

# ----------------------------------------------------------------------------------------------
# Compute- and cost-optimal: minimise N(D) (D + s) on the iso-loss curve (see xlcalc.core.lifetime's Notes)


def _start_and_tolerance(f: Fit, log_q, log_r):
    """Newton's start x0 (left end of the bracket [x0, x0 + ln 2 / beta]) and the step below which it stops.

    The iterates climb from x0 to the root, so |x| <= max(|x0|, |x0 + ln 2/beta|) along the way: the
    step tolerance, relative to that bound, is never tighter than X_TOLERANCE relative to x.
    A fit whose constants are arrays (xlcalc.core.uncertainty: one row of constants per sample) broadcasts
    through the solve; only this logarithm of constants needs numpy's log for it."""
    b = f.beta
    log_p = math.log(f.B * (f.alpha + b)) if np.ndim(b) == 0 else np.log(f.B * (f.alpha + b))  # arrays: see below
    x0 = np.maximum((log_p - log_r) / b, (log_q - log_r) / (1 + b))  # p as above
    tolerance = X_TOLERANCE * np.maximum(np.maximum(1.0, np.abs(x0)), np.abs(x0 + math.log(2.0) / b))
    return x0, tolerance


def optimal_log_tokens_one(f: Fit, loss: np.float64, s: np.float64) -> np.float64:
    """ln D minimising N(D) (D + s) at one loss: the reference Newton loop (one exp and one log a step).

    h(x) = ln(P + Q e^(-x)) - beta x - ln R with P = B (alpha+beta), Q = B beta s, R = alpha (loss - E) is
    convex and decreasing, so Newton steps from the left end of the bracket never overshoot the root.
    The loop runs on Python floats, which is several times faster than numpy floats: it cannot divide by
    zero (total >= P > 0 and -h' >= beta > 0; an overflow gives inf and then NaN, as in an array).
    """
    b, p = f.beta, f.B * (f.alpha + f.beta)
    log_q = float(np.log((f.B * b) * s)) if s > 0 else -math.inf
    log_r = float(np.log(f.alpha * (loss - f.E)))
    # _start_and_tolerance for one value (max and abs are exact: the digits of np.maximum and np.abs)
    x = max((math.log(p) - log_r) / b, (log_q - log_r) / (1 + b))
    tolerance = X_TOLERANCE * max(max(1.0, abs(x)), abs(x + math.log(2.0) / b))
    exp, log = np.exp, np.log
    for _ in range(MAX_NEWTON_STEPS):
        tail = float(exp(log_q - x))                                   # Q e^(-x)
        total = p + tail
        step = (float(log(total)) - x * b - log_r) / (tail / total + b)   # -h / h'
        x += step
        if abs(step) <= tolerance:
            return np.float64(x)
    return np.float64(math.nan)  # not reached for valid inputs; NaN becomes an invalid element with its reason


def optimal_log_tokens(f: Fit, loss: np.ndarray, s: np.ndarray) -> np.ndarray:
    """:func:`optimal_log_tokens_one` for a chunk, in place in five chunk-sized buffers.

    What the in-place form buys: the plain whole-array loop made about 20 temporary arrays a step
    (150-245 bytes a scenario, slower at 1e7 than at 1e6); this makes none, so a chunk stays in cache.
    A scenario that has converged keeps its x (its step is zeroed), as the reference stops.
    """
    b, p = f.beta, f.B * (f.alpha + f.beta)
    loss, s = np.broadcast_arrays(np.asarray(loss, dtype=float), np.asarray(s, dtype=float))
    with np.errstate(divide="ignore"):  # s = 0: ln Q = -inf, and the tail e^(ln Q - x) is 0
        log_q = np.log((f.B * b) * s)
    log_r = np.log(f.alpha * (loss - f.E))
    x, tolerance = _start_and_tolerance(f, log_q, log_r)
    tail, total, step = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    done, small = np.zeros(x.shape, dtype=bool), np.empty(x.shape, dtype=bool)
    for _ in range(MAX_NEWTON_STEPS):
        np.subtract(log_q, x, out=tail)
        np.exp(tail, out=tail)
        np.add(tail, p, out=total)
        np.divide(tail, total, out=tail)
        tail += b                                   # -h'
        np.log(total, out=total)
        np.multiply(x, b, out=step)
        np.subtract(total, step, out=step)
        step -= log_r                               # h
        step /= tail
        np.copyto(step, 0.0, where=done)
        x += step
        np.abs(step, out=step)
        np.less_equal(step, tolerance, out=small)
        done |= small
        if done.all():
            return x
    return np.where(done, x, np.nan)


def _params_at(f: Fit, loss, log_tokens):
    return np.power(f.A / (loss - f.E - f.B * np.exp(-f.beta * log_tokens)), 1.0 / f.alpha)


def _saving(optimum, reference):
    """Fraction saved against the reference. The reference lies on the same iso-loss curve, so the exact
    saving is never negative; rounding at near-zero demand can give -1e-15, which is clamped to 0."""
    saving = (reference - optimum) / reference
    return max(saving, 0.0) if saving.ndim == 0 else np.maximum(saving, 0.0)  # the same value; max is faster


def compute_results(f: Fit, loss, inference_tokens, log_tokens) -> tuple:
    """ComputeOptimum's nine numbers from the solved ln D."""
    params, tokens = _params_at(f, loss, log_tokens), np.exp(log_tokens)
    ch_params, ch_tokens = _chinchilla_for_loss(f, loss)
    train, infer = 6.0 * params * tokens, 2.0 * params * inference_tokens
    ch_flops = 6.0 * ch_params * ch_tokens + 2.0 * ch_params * inference_tokens
    return (params, tokens, train + infer, train, infer, _saving(train + infer, ch_flops),
            ch_params, ch_tokens, ch_flops)


def usd_per_flop(usd_per_hour, peak_tflops, mfu):
    """Dollars per FLOP of an accelerator at a price, a peak and an achieved fraction of it."""
    return usd_per_hour / (SECONDS_PER_HOUR * peak_tflops * FLOPS_PER_TFLOPS * mfu)


def cost_prices(input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode):
    """(k_train, usd_per_param): $ per training FLOP and lifetime serving $ per parameter."""
    k_train = usd_per_flop(train_usd_per_hour, train_peak_tflops, mfu_train)
    k_prefill = usd_per_flop(infer_usd_per_hour, infer_peak_tflops, mfu_prefill)
    k_decode = usd_per_flop(infer_usd_per_hour, infer_peak_tflops, mfu_decode)
    return k_train, 2.0 * (input_tokens * k_prefill + output_tokens * k_decode)


def cost_results(f: Fit, loss, k_train, usd_per_param, log_tokens) -> tuple:
    """CostOptimum's nine numbers from the solved ln D."""
    params, tokens = _params_at(f, loss, log_tokens), np.exp(log_tokens)
    ch_params, ch_tokens = _chinchilla_for_loss(f, loss)
    train, infer = 6.0 * k_train * params * tokens, params * usd_per_param
    ch_usd = 6.0 * k_train * ch_params * ch_tokens + ch_params * usd_per_param
    return (params, tokens, train + infer, train, infer, _saving(train + infer, ch_usd),
            ch_params, ch_tokens, ch_usd)


# ----------------------------------------------------------------------------------------------
# Fixed total budget: lowest loss with 6ND + 2NT = C


def _budget_value_and_slope(f: Fit, x, third, log_c):
    """g(x) = ln(beta B D^-beta (1 + T/(3D))) - ln(alpha A (6(D + T/3)/C)^alpha) at x = ln D, and dg/dx."""
    a, b = f.alpha, f.beta
    d = np.exp(x)
    ratio = third / d
    g = (math.log(b * f.B) - math.log(a * f.A)) - b * x + np.log1p(ratio) - a * (np.log(6.0 * (d + third)) - log_c)
    return g, -b - ratio / (1.0 + ratio) - a * d / (d + third)


def _budget_value_and_slope_one(f: Fit, x: float, third: float, log_c: float) -> tuple:
    """_budget_value_and_slope on Python floats, the same operations (a third of the time on numpy floats).

    Python raises where numpy gives inf on a division by zero, so D = 0 (e^x underflows) goes to numpy."""
    a, b = f.alpha, f.beta
    d = float(np.exp(x))
    if d == 0.0:
        return tuple(float(v) for v in _budget_value_and_slope(f, np.float64(x), np.float64(third), np.float64(log_c)))
    ratio = third / d
    g = (math.log(b * f.B) - math.log(a * f.A)) - b * x + float(np.log1p(ratio)) \
        - a * (float(np.log(6.0 * (d + third))) - log_c)
    return g, -b - ratio / (1.0 + ratio) - a * d / (d + third)


def _budget_bracket(f: Fit, total_flops, third, log_c):
    """Start (the training-only Chinchilla optimum for the whole budget) and a bracket from the slope bounds."""
    a, b = f.alpha, f.beta
    g0 = np.power(a * f.A / (b * f.B), 1.0 / (a + b))
    n0 = g0 * np.power(total_flops / 6.0, b / (a + b))
    x0 = np.log(total_flops / (6.0 * n0))
    value0, _ = _budget_value_and_slope(f, x0, third, log_c)
    width = np.abs(value0) / b * (1 + 1e-12) + 1e-12
    return x0, np.where(value0 > 0, x0, x0 - width), np.where(value0 > 0, x0 + width, x0)


def _chinchilla_bracket(f: Fit, total_flops, inference_tokens):
    """For the Chinchilla-proportioned model in the budget: ln 6k, the power of N, ln 2T, ln C, and a bracket
    of z = ln N; g(z) = ln(6k e^((1+alpha/beta) z) + 2T e^z) - ln C is increasing (D_chin(N) = k N^(alpha/beta))."""
    a, b = f.alpha, f.beta
    log_6k = math.log(6.0) + math.log(b * f.B / (a * f.A)) / b
    power = 1.0 + a / b
    with np.errstate(divide="ignore"):
        log_2t = np.log(2.0 * inference_tokens)
    log_c = np.log(total_flops)
    hi = np.minimum((log_c - log_6k) / power, log_c - log_2t)
    return log_6k, power, log_2t, log_c, hi - math.log(2.0), hi


def _chinchilla_value_and_slope(z, log_6k, power, log_2t, log_c):  # negated so that it decreases
    first, second = log_6k + power * z, log_2t + z
    total = np.logaddexp(first, second)
    w_first = np.exp(first - total)
    return -(total - log_c), -(power * w_first + (1.0 - w_first))


def _chinchilla_value_and_slope_one(z: float, log_6k: float, power: float, log_2t: float, log_c: float) -> tuple:
    """_chinchilla_value_and_slope on Python floats (no division: nothing for Python to raise on)."""
    first, second = log_6k + power * z, log_2t + z
    total = float(np.logaddexp(first, second))
    w_first = float(np.exp(first - total))
    return -(total - log_c), -(power * w_first + (1.0 - w_first))


def _budget_results(f: Fit, total_flops, inference_tokens, tokens, log_params) -> tuple:
    params = total_flops / (6.0 * tokens + 2.0 * inference_tokens)
    ch_params = np.exp(log_params)
    ch_tokens = _chinchilla_tokens(f, ch_params)
    return (params, tokens, _loss(f, params, tokens), 6.0 * params * tokens, 2.0 * params * inference_tokens,
            ch_params, ch_tokens, _loss(f, ch_params, ch_tokens))


def budget_results_one(f: Fit, total_flops: np.float64, inference_tokens: np.float64) -> tuple:
    """BudgetOptimum's eight numbers for one scenario (numpy floats in and out; the solves run on Python floats).

    The brackets are those of _budget_bracket and _chinchilla_bracket for one value (where, max, min
    and abs pick or negate, which is exact, so the digits are the same)."""
    a, b = f.alpha, f.beta
    third, log_c = float(inference_tokens / 3.0), float(np.log(total_flops))
    n0 = np.power(a * f.A / (b * f.B), 1.0 / (a + b)) * np.power(total_flops / 6.0, b / (a + b))
    x0 = float(np.log(total_flops / (6.0 * n0)))
    value0 = _budget_value_and_slope_one(f, x0, third, log_c)[0]
    width = abs(value0) / b * (1 + 1e-12) + 1e-12
    lo, hi = (x0, x0 + width) if value0 > 0 else (x0 - width, x0)
    log_tokens, _ = solve_decreasing_one(lambda x: _budget_value_and_slope_one(f, x, third, log_c), lo, hi, x0)
    log_6k = math.log(6.0) + math.log(b * f.B / (a * f.A)) / b
    power = 1.0 + a / b
    log_2t = float(np.log(2.0 * inference_tokens)) if inference_tokens > 0 else -math.inf
    hi = min((log_c - log_6k) / power, log_c - log_2t)
    lo = hi - math.log(2.0)
    log_params, _ = solve_decreasing_one(lambda z: _chinchilla_value_and_slope_one(z, log_6k, power, log_2t, log_c),
                                         lo, hi, hi)
    return _budget_results(f, total_flops, inference_tokens, np.exp(np.float64(log_tokens)), np.float64(log_params))


def budget_results(f: Fit, total_flops, inference_tokens) -> tuple:
    """:func:`budget_results_one` for a chunk (each scenario stops by its own test, as there)."""
    total_flops, inference_tokens = np.broadcast_arrays(np.asarray(total_flops, float), np.asarray(inference_tokens, float))
    third, log_c = inference_tokens / 3.0, np.log(total_flops)
    x0, lo, hi = _budget_bracket(f, total_flops, third, log_c)
    log_tokens, _ = solve_decreasing(lambda x, i: _budget_value_and_slope(f, x, third[i], log_c[i]), lo, hi, x0=x0)
    log_6k, power, log_2t, log_c, lo, hi = _chinchilla_bracket(f, total_flops, inference_tokens)
    log_params, _ = solve_decreasing(
        lambda z, i: _chinchilla_value_and_slope(z, log_6k, power, log_2t[i], log_c[i]), lo, hi, x0=hi)
    return _budget_results(f, total_flops, inference_tokens, np.exp(log_tokens), log_params)
