"""What a call of the lifetime optima runs: fused kernels that write a chunk's results in place, and their twins on floats.

The plain kernels in xlcalc.core._lifetime_kernels are the reference (tests/test_lifetime.py compares these
with them at 1e-13, and with 50-digit mpmath). What the fused form buys, on 1e6 scenarios:
- every result is written into the caller's output slice (``out``), in a few chunk-sized buffers, with
  no temporary array and no copy (the reference makes ~25 arrays a chunk, then they are copied);
- transcendentals once: the Newton start's logarithms give the Chinchilla reference by one exp each
  (np.power costs an exp, a log and more), and params come from exp/log, not np.power;
- the fixed-budget solves run unbracketed Newton on convex forms of their equations (one exp and one log
  a step, no bisection bookkeeping), which converge monotonically after the first step;
- a chunk reports whether any of its results is non-finite or a tiny model, so the whole-array scans
  for those run only when one is.

Each ``*_one`` does the same floating-point operations in the same order as its chunk version, with
numpy's exp and log on floats (Python's math module rounds differently in about one case in twenty)
and Python's + - * / (the same IEEE results as numpy's), so a scalar call gets the same digits as its
element of an array call (tests/test_scalar_paths.py). Each scenario stops by its own test.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._solve import MAX_ITERATIONS as MAX_NEWTON_STEPS
from ._solve import X_TOLERANCE
from .laws import Fit

_LN2 = math.log(2.0)
_LN6 = math.log(6.0)
_exp, _log, _power = np.exp, np.log, np.power


def _last_step(curvature: float) -> float:
    """The step size after which Newton stops, for an equation with |f''| / (2 |f'|) <= ``curvature``.

    Newton's error after a step of size e is at most curvature * e^2, so once a step is below
    sqrt(X_TOLERANCE / curvature) the error left is under X_TOLERANCE in ln units (a few parts in 1e15 of
    the tokens, rounding level): the loop stops after that step, where the reference loops take one more
    step to see that it is that small (same digits to rounding; one step fewer of about four)."""
    return math.sqrt(X_TOLERANCE / curvature) if np.ndim(curvature) == 0 else np.sqrt(X_TOLERANCE / curvature)


def _divide(x: float, y: float) -> float:
    """x / y on floats with numpy's result where y is 0 (inf or NaN; Python raises); for divisors that can be 0."""
    return x / y if y else float(np.divide(x, y))

# ----------------------------------------------------------------------------------------------
# Compute- and cost-optimal: minimise N(D) (D + s) on the iso-loss curve (xlcalc.core.lifetime's Notes).
# The results are N, D, total, train, inference, saving and the Chinchilla reference's N, D, total with
# train = kt N D and inference = N m: kt = 6 and m = 2T for FLOPs, kt = 6 k_train and m = $ per param.
# Needs a fit of scalar constants (xlcalc.core.uncertainty's arrays of fits run the reference kernels).


def _middle_offset(b):
    """:func:`_middle_offset_of` for a fit's beta, or for an array of them (xlcalc.core.uncertainty's sampled fits)."""
    if np.ndim(b) == 0:
        return _middle_offset_of(b)
    u = math.log(2.0) / (2 * b)
    for _ in range(MAX_NEWTON_STEPS):
        low, high = np.exp(-b * u), np.exp(-(1 + b) * u)
        step = (low + high - 1) / (b * low + (1 + b) * high)
        u = u + step
        if np.all(np.abs(step) <= 1e-12 * u):
            break
    return u


@functools.lru_cache(maxsize=64)
def _middle_offset_of(b: float) -> float:
    """u with e^(-beta u) + e^(-(1+beta) u) = 1: how far the root lies right of Newton's start x0 when the two
    terms of the equation are equal there (the farthest it lies, at most ln 2 / beta).

    The start is x0 + u / (1 + d^2), d = the gap between the two one-term roots: that cuts the steps from
    up to 5 to up to 4 on the benchmark's scenarios (3.2 on average); Newton from the right of the root of a
    convex decreasing function lands left of it in one step, so any start converges."""
    u = math.log(2.0) / (2 * b)
    for _ in range(MAX_NEWTON_STEPS):
        low, high = math.exp(-b * u), math.exp(-(1 + b) * u)
        step = (low + high - 1) / (b * low + (1 + b) * high)
        u += step
        if abs(step) <= 1e-12 * u:
            break
    return u


def _curve_constants(f: Fit) -> tuple:
    """Per-fit constants: P = B (alpha+beta), ln P, ln A, the start's middle
    offset and the last step (arrays for arrays of fits; cached for a fit of floats, a scalar call's 2 us)."""
    if type(f.beta) is float and type(f.alpha) is float and type(f.A) is float and type(f.B) is float:
        return _curve_constants_of(f.A, f.B, f.alpha, f.beta)
    a, b = f.alpha, f.beta
    p = f.B * (a + b)
    return p, np.log(p), np.log(f.A), _middle_offset(b), _last_step(1 / (8 * b))


@functools.lru_cache(maxsize=64)
def _curve_constants_of(A: float, B: float, a: float, b: float) -> tuple:
    p = B * (a + b)
    return p, math.log(p), math.log(A), _middle_offset_of(b), _last_step(1 / (8 * b))


def curve_optimum_one(f: Fit, loss: float, s: float, kt: float, m: float) -> tuple:
    """The nine results for one scenario (floats): :func:`curve_optimum_into` step for step."""
    a, b = f.alpha, f.beta
    p, log_p, log_a, middle, last = _curve_constants(f)
    c = loss - f.E
    log_q = float(_log((f.B * b) * s)) if s > 0 else -math.inf
    log_r = float(_log(a * c))
    ch_log_tokens = (log_p - log_r) / b
    other = (log_q - log_r) / (1 + b)
    gap = ch_log_tokens - other
    x = max(ch_log_tokens, other) + middle / (gap * gap + 1.0)      # last: h'' <= 1/4, -h' >= beta
    for k in range(MAX_NEWTON_STEPS):
        tail = float(_exp(log_q - x))                              # Q e^(-x)
        total = p + tail
        step = (float(_log(total)) - (x * b + log_r)) / (tail / total + b)  # -h / h'
        x += step
        if k and not abs(step) > last:  # no test after the first step (see _stop); NaN stops (stays NaN)
            break
    else:
        x = math.nan  # not reached for valid inputs; NaN becomes an invalid element with its reason
    tokens = float(_exp(x))
    params = float(_exp((log_a - float(_log(c - f.B * float(_exp(x * -b))))) / a))
    ch_params, ch_tokens = _chinchilla_for_loss_one(f, c)
    train, infer = kt * params * tokens, params * m
    total = train + infer
    ch_total = kt * ch_params * ch_tokens + ch_params * m
    saving = max(_divide(ch_total - total, ch_total), 0.0)
    return params, tokens, total, train, infer, saving, ch_params, ch_tokens, ch_total


def _chinchilla_for_loss_one(f: Fit, c: float) -> tuple:
    """xlcalc.core.laws._chinchilla_for_loss on floats, the same operations (so a result's Chinchilla reference equals
    xlcalc.chinchilla_for_loss bit for bit; exp of the start's logarithms would be faster by two powers)."""
    a, b = f.alpha, f.beta
    return (float(_power(f.A * (a + b) / (b * c), 1.0 / a)), float(_power(f.B * (a + b) / (a * c), 1.0 / b)))


def curve_optimum(f: Fit, loss, s, kt, m) -> tuple:
    """:func:`curve_optimum_into` into new arrays of the broadcast shape (of the arguments and the fit's constants)."""
    shape = np.broadcast_shapes(*(np.shape(v) for v in (loss, s, kt, m, f.E, f.A, f.B, f.alpha, f.beta)))
    out = [np.empty(shape) for _ in range(9)]
    curve_optimum_into(f, loss, s, kt, m, out)
    return tuple(out)


def curve_optimum_into(f: Fit, loss, s, kt, m, out) -> bool:
    """Write the nine results for a chunk into ``out`` (nine arrays of its length). True when all are finite
    and no model (the optimum or the reference) has under one parameter or token: nothing to reject."""
    a, b = f.alpha, f.beta
    p, log_p, log_a, middle, last = _curve_constants(f)
    params, tokens, total, train, infer, saving, ch_params, ch_tokens, ch_total = out
    log_r, x = train, infer                         # the outputs serve as buffers until their turn
    log_q, tail, step = np.empty_like(x), np.empty_like(x), total
    active = np.ones_like(x)                         # 1.0 until a scenario stops, then 0.0 (see _stop)
    np.multiply(s, f.B * b, out=log_q)
    np.log(log_q, out=log_q)                        # s = 0: -inf, and the tail e^(ln Q - x) is 0
    np.subtract(loss, f.E, out=log_r)
    log_r *= a
    np.log(log_r, out=log_r)
    np.subtract(log_p, log_r, out=ch_tokens)
    ch_tokens /= b                                  # ln of the Chinchilla tokens, exp'd below
    np.subtract(log_q, log_r, out=x)
    x /= 1 + b
    np.subtract(ch_tokens, x, out=tail)             # the gap of _middle_offset
    tail *= tail
    tail += 1.0
    np.divide(middle, tail, out=tail)
    np.maximum(x, ch_tokens, out=x)
    x += tail
    for k in range(MAX_NEWTON_STEPS):
        np.subtract(log_q, x, out=tail)
        np.exp(tail, out=tail)
        np.add(tail, p, out=params)                 # total
        np.divide(tail, params, out=tail)
        tail += b                                   # -h'
        np.log(params, out=params)
        np.multiply(x, b, out=step)
        step += log_r
        np.subtract(params, step, out=step)         # h
        step /= tail
        if _take_step(k, x, step, active, last):
            break
    for reference, constant, weight, power in ((ch_params, f.A, b, 1.0 / a), (ch_tokens, f.B, a, 1.0 / b)):
        np.subtract(loss, f.E, out=tail)            # as xlcalc.core.laws._chinchilla_for_loss (see its _one)
        tail *= weight
        np.divide(constant * (a + b), tail, out=reference)
        _power(reference, power, out=reference)
    np.multiply(x, -b, out=params)
    np.exp(params, out=params)
    params *= f.B
    np.subtract(loss, f.E, out=tail)
    np.subtract(tail, params, out=params)
    np.log(params, out=params)
    np.subtract(log_a, params, out=params)
    params /= a
    np.exp(params, out=params)
    np.exp(x, out=tokens)
    np.multiply(params, kt, out=train)
    train *= tokens
    np.multiply(params, m, out=infer)
    np.add(train, infer, out=total)
    np.multiply(ch_params, kt, out=ch_total)
    ch_total *= ch_tokens
    np.multiply(ch_params, m, out=tail)
    ch_total += tail
    np.subtract(ch_total, total, out=saving)
    saving /= ch_total
    np.maximum(saving, 0.0, out=saving)
    return _all_fine(out, (params, tokens, ch_params, ch_tokens))


def _take_step(k: int, x, step, active, last: float) -> bool:
    """Take Newton step ``k`` (from 0) where still active, and from the second step on stop the scenarios
    whose step was at most ``last`` (or NaN); True when none is left. No test after the first step: on the
    benchmark's scenarios none stops there, and the test is 4 of a step's 15 passes. Masks by multiplying with 1.0 or 0.0: np.copyto(where=) on a mixed
    mask costs 20-30 ns an element (a mispredicted branch each), 100 times a multiply."""
    if not k:
        x += step
        return False
    step *= active
    x += step
    np.abs(step, out=step)
    np.greater(step, last, out=active)
    if k == MAX_NEWTON_STEPS - 1:
        np.copyto(x, np.nan, where=active > 0)  # not reached for valid inputs, as in the scalar twins
    return not active.any()


def _all_fine(out, models) -> bool:
    """Every result finite (max < inf is false for NaN) and every model size >= 1."""
    return all(o.max() < math.inf for o in out) and all(v.min() >= 1.0 for v in models)


# ----------------------------------------------------------------------------------------------
# Fixed total budget: lowest loss with 6ND + 2NT = C. With x = ln D and T3 = T/3 the optimum solves
#   g(x) = ln(beta B / (alpha A)) + alpha ln(C/6) - (1+beta) x + (1-alpha) ln(e^x + T3) = 0,
# (xlcalc.core.lifetime's Notes, with ln(1 + T3/D) = ln(D + T3) - x), which is decreasing (slope at most
# -(alpha+beta)) and, for alpha < 1, convex: Newton from the training-only Chinchilla optimum lands at or
# left of the root in one step and then climbs to it. The Chinchilla-proportioned reference N = e^z solves
#   G(z) = z + ln(6k N^(alpha/beta) + 2T) - ln C = 0 (D_chin = k N^(alpha/beta)),
# increasing and convex: Newton from the right end of the bracket (no lower) descends to it.
# A fit with alpha >= 1 (no published one) runs the bracketed reference kernels.


@functools.lru_cache(maxsize=64)
def _budget_constants(f: Fit) -> tuple:
    """ln(beta B / (alpha A)), ln 6k, alpha/beta, 1 + alpha/beta, and the last steps (:func:`_last_step`) of
    the two equations: g'' <= (1-alpha)/4 with -g' >= alpha+beta, and G'' <= (alpha/beta)^2/4 with G' >= 1."""
    a, b = f.alpha, f.beta
    log_ratio = math.log(b * f.B) - math.log(a * f.A)
    log_6k = _LN6 + math.log(b * f.B / (a * f.A)) / b
    return log_ratio, log_6k, a / b, 1.0 + a / b, _last_step((1 - a) / (8 * (a + b))), _last_step((a / b) ** 2 / 8)


def budget_optimum_one(f: Fit, total_flops: float, inference_tokens: float) -> tuple:
    """The eight results for one scenario (floats): :func:`budget_optimum_into` step for step."""
    a, b = f.alpha, f.beta
    log_ratio, log_6k, a_b, power, last, last_z = _budget_constants(f)
    third, two_t = inference_tokens / 3.0, 2.0 * inference_tokens
    log_c = float(_log(total_flops))
    offset = log_ratio + a * (log_c - _LN6)
    x = (log_c - _LN6) * (a / (a + b)) - log_ratio / (a + b)  # ln of the training-only Chinchilla tokens
    for k in range(MAX_NEWTON_STEPS):
        d = float(_exp(x))
        s = d + third
        step = (((1 - a) * float(_log(s)) + offset) - (1 + b) * x) / ((1 + b) - (1 - a) * _divide(d, s))  # -g/g'
        x += step
        if k and not abs(step) > last:  # no test after the first step (see _stop); NaN stops (stays NaN)
            break
    else:
        x = math.nan
    log_2t = float(_log(two_t)) if two_t > 0 else -math.inf
    z = min((log_c - log_6k) / power, log_c - log_2t)
    for k in range(MAX_NEWTON_STEPS):
        u = float(_exp(log_6k + a_b * z))
        s = u + two_t
        step = (z + float(_log(s)) - log_c) / (1.0 + a_b * _divide(u, s))   # G / G'
        z -= step
        if k and not abs(step) > last_z:
            break
    else:
        z = math.nan
    tokens = float(_exp(x))
    params = _divide(total_flops, 6.0 * tokens + two_t)
    log_params = float(_log(params))
    loss = f.E + f.A * float(_exp(log_params * -a)) + f.B * float(_exp(x * -b))
    ch_log_tokens = (log_ratio + a * z) / b
    ch_params, ch_tokens = float(_exp(z)), float(_exp(ch_log_tokens))
    ch_loss = (f.E + f.A * float(_exp(z * -a))) + f.B * float(_exp(ch_log_tokens * -b))
    train = 6.0 * params * tokens
    return params, tokens, loss, train, params * two_t, ch_params, ch_tokens, ch_loss


def budget_optimum_into(f: Fit, total_flops, inference_tokens, out) -> bool:
    """Write the eight results for a chunk into ``out``; True when nothing is to be rejected (as
    :func:`curve_optimum_into`: all finite, and the optimum has at least one parameter and token)."""
    a, b = f.alpha, f.beta
    log_ratio, log_6k, a_b, power, last, last_z = _budget_constants(f)
    params, tokens, loss, train, infer, ch_params, ch_tokens, ch_loss = out
    log_c, x, third, offset, d, step, two_t = params, tokens, loss, train, infer, ch_params, ch_tokens
    active = np.ones_like(x)
    s, z = np.empty_like(x), np.empty_like(x)
    np.log(total_flops, out=log_c)
    np.divide(inference_tokens, 3.0, out=third)
    np.subtract(log_c, _LN6, out=offset)
    np.multiply(offset, a / (a + b), out=x)
    x -= log_ratio / (a + b)
    offset *= a
    offset += log_ratio
    for k in range(MAX_NEWTON_STEPS):
        np.exp(x, out=d)
        np.add(d, third, out=s)
        np.divide(d, s, out=d)
        d *= -(1 - a)
        d += 1 + b                                  # -g'
        np.log(s, out=s)
        s *= 1 - a
        s += offset
        np.multiply(x, 1 + b, out=step)
        np.subtract(s, step, out=step)              # g
        step /= d
        if _take_step(k, x, step, active, last):
            break
    u, log_2t = third, d                            # third no longer needed
    np.multiply(inference_tokens, 2.0, out=two_t)
    np.log(two_t, out=log_2t)
    np.subtract(log_c, log_2t, out=s)
    np.subtract(log_c, log_6k, out=z)
    z /= power
    np.minimum(z, s, out=z)
    active[...] = 1.0
    for k in range(MAX_NEWTON_STEPS):
        np.multiply(z, a_b, out=u)
        u += log_6k
        np.exp(u, out=u)
        np.add(u, two_t, out=s)
        np.divide(u, s, out=u)
        u *= a_b
        u += 1.0                                    # G'
        np.log(s, out=s)
        s += z
        np.subtract(s, log_c, out=step)             # G
        step /= u
        if _take_step(k, z, np.negative(step, out=step), active, last_z):
            break
    # results: tokens holds x until its exp; two_t (in ch_tokens) is used before ch_tokens is written
    np.multiply(x, -b, out=s)
    np.exp(s, out=s)
    s *= f.B                                        # B D^-beta
    np.exp(x, out=tokens)
    np.multiply(tokens, 6.0, out=params)
    params += two_t
    np.divide(total_flops, params, out=params)
    np.multiply(params, two_t, out=infer)
    np.multiply(params, 6.0, out=train)
    train *= tokens
    np.log(params, out=loss)
    loss *= -a
    np.exp(loss, out=loss)
    loss *= f.A
    loss += f.E
    loss += s
    np.multiply(z, a, out=ch_tokens)
    ch_tokens += log_ratio
    ch_tokens /= b                                  # ln of the reference's tokens
    np.multiply(z, -a, out=s)
    np.exp(s, out=s)
    s *= f.A
    s += f.E
    np.multiply(ch_tokens, -b, out=ch_loss)
    np.exp(ch_loss, out=ch_loss)
    ch_loss *= f.B
    ch_loss += s
    np.exp(ch_tokens, out=ch_tokens)
    np.exp(z, out=ch_params)
    return _all_fine(out, (params, tokens))
