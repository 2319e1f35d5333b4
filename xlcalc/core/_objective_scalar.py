"""Float twins of the lifetime-objective solve with a fixed decode MFU: one scenario on Python floats, same digits.

A one-cell ``LIFETIME_OPT`` (or a scalar :func:`xlcalc.lifetime_optimal` with ``serving='fixed_mfu'``) ran the
array solver on 1-element arrays: about 30 numpy calls of ~1 us overhead each per Newton step, 600 us a call.
These twins do the same floating-point operations in the same order as the array kernels, on Python floats,
with numpy's exp, log, log1p, expm1 and power called on floats (Python's math module rounds differently from
numpy's vectorised loops), so a scalar call gets the digits of its element of an array call bit for bit
(tests/test_scalar_objectives.py). Python's ``/`` raises on a zero divisor where numpy gives inf or NaN:
:func:`_divide` gives numpy's result where a zero divisor can occur for valid inputs (the curve's asymptote);
anywhere else the caller falls back to the array path (:func:`xlcalc.core.objectives.lifetime_optimal`).

What each twin mirrors (the kernels as of 2026-12-01, G = ln(D d) - ln(-l (D + s)); re-check after any change
to them):

- :func:`optimum_one`            ``_objective_solve.optimum`` and ``_objective_solve._pieces`` (fixed MFU)
- :func:`paper_log_tokens_one`   ``_objective_kernels.paper_log_tokens`` (Newton: ``_lifetime_kernels.optimal_log_tokens_one``)
- :func:`_repeats_one`           ``_objective_kernels.repeats_data``
- :func:`_minimise_one`          ``_objective_kernels.capped_minimum`` (``_capped``), ``_bracketed`` and ``_newton``
  on the fixed-MFU branch (the bracket starts at ln U: no kink inside, no walk), from
  ``_capped_start.start_log_effective`` (its twin there)
- :func:`_slopes_one`            ``_objective_slopes._fixed_slopes`` and ``_epochs_step``
- :func:`_objective_at_one`      ``lifetime_costs.objective_at``, ``curve_point``, ``psi`` (fixed MFU) and
  ``data_limits._log_tokens_of_effective``
- weights: ``lifetime_costs.objective_weights`` runs as it is on floats.

The roofline serving model (``serving='roofline'``) has no twin yet: it takes the array path.
"""

from __future__ import annotations

import math

import numpy as np

from ._capped_start import start_log_effective_one
from ._lifetime_fused import _chinchilla_for_loss_one, _divide
from ._lifetime_kernels import optimal_log_tokens_one
from ._objective_kernels import FREE_STEPS, MAX_STEPS, SETTLE, X_TOLERANCE
from .data_limits import R_D_STAR
from .lifetime_costs import objective_weights
from ..units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR

_exp, _log, _log1p, _expm1, _power = np.exp, np.log, np.log1p, np.expm1, np.power


def _ln(v: float) -> float:
    """np.log(v) on a float without numpy's warning: -inf at 0, NaN below 0 or for NaN."""
    if v > 0.0:
        return float(_log(v))
    return -math.inf if v == 0.0 else math.nan


def _maximum(a: float, b: float) -> float:
    """np.maximum on floats (NaN if either is NaN)."""
    return a if a >= b else b if b >= a else math.nan


def _minimum(a: float, b: float) -> float:
    """np.minimum on floats (NaN if either is NaN)."""
    return a if a <= b else b if b <= a else math.nan


# ----------------------------------------------------------------------------------------------
# The closed-form optimum without a data cap


def paper_log_tokens_one(f, loss: float, s: float) -> tuple:
    """_objective_kernels.paper_log_tokens for one scenario: (x = ln D minimising N (D + s), NaN for a tiny model;
    N at that x, which lifetime_costs.curve_point computes by the same operations)."""
    s = 3.0 * s / 3.0   # as there: compute_optimal's kernel gets inference_tokens / 3 = (3 s) / 3
    x = math.nan if s != s else float(optimal_log_tokens_one(f, loss, s))   # its log_q shortcut assumes s >= 0
    params = float(_power(_divide(f.A, loss - f.E - f.B * float(_exp(-f.beta * x))), 1.0 / f.alpha))
    if params < 1.0 or x < 0.0 or _chinchilla_tiny(f, loss - f.E):
        return math.nan, params
    return x, params


def _chinchilla_tiny(f, c: float) -> bool:
    """Whether the Chinchilla model of loss - E = c has under one parameter or token (_chinchilla_for_loss_one's
    powers of x^(1/alpha), x^(1/beta) are >= 1 exactly when x >= 1: the powers run only near 1, to decide there)."""
    a, b = f.alpha, f.beta
    if f.A * (a + b) / (b * c) > 1.0 + 1e-9 and f.B * (a + b) / (a * c) > 1.0 + 1e-9:
        return False
    ch_params, ch_tokens = _chinchilla_for_loss_one(f, c)
    return ch_params < 1.0 or ch_tokens < 1.0


# ----------------------------------------------------------------------------------------------
# The curve, the objective and its slopes (fixed MFU: psi(N) = 2 N / peak)


def _objective_at_one(p, x: float, n=None) -> tuple:
    """(F, N, D, psi) at x: lifetime_costs.objective_at with psi of the fixed MFU (``n``: N at x, if known)."""
    f = p["fit"]
    if n is None:
        n = float(_power(_divide(f.A, p["c"] - f.B * float(_exp(-f.beta * x))), 1.0 / f.alpha))
    unique = p["unique"]
    if unique == math.inf:
        d = float(_exp(x))
    else:   # data_limits._log_tokens_of_effective
        ratio = float(_exp(x)) / unique
        if ratio > 1.0:
            zc = _minimum((ratio - 1.0) / R_D_STAR, 1.0)
            tokens_per_unique = 1.0 - R_D_STAR * float(_log1p(-zc))
            d = float(_exp(_ln(unique) + _ln(tokens_per_unique)))
        else:
            d = float(_exp(x))
    psi = 2.0 * n / p["peak"]
    train = p["a_t"] * n * d
    return train + p["a_in"] * n + p["a_out"] * psi, n, d, psi


def _slopes_one(p, x: float, second: bool = True) -> tuple:
    """(F' / (a_t N), Newton step or None): _objective_slopes._fixed_slopes for one scenario."""
    f, unique, c = p["fit"], p["unique"], p["c"]
    y = f.B * float(_exp(-f.beta * x))
    rest = c - y
    l = _divide(-(f.beta / f.alpha) * y, rest)
    capped = unique != math.inf
    repeated = False
    if capped:
        effective = float(_exp(x))
        ratio = effective / unique
        repeated = ratio > 1.0
        z = _minimum((ratio - 1.0) / R_D_STAR, 1.0) if repeated else 0.0
        unused = 1.0 - z
        epochs = 1.0 - R_D_STAR * float(_log1p(-z))
        tokens = unique * epochs if repeated else effective
        d = _divide(ratio, epochs * unused) if repeated else 1.0
    else:
        tokens, d = float(_exp(x)), 1.0
    total = tokens + p["s"]
    gain = tokens * d
    loss = -l * total
    slope = gain - loss
    if not second:
        return slope, None
    dl = _divide((f.beta * f.beta / f.alpha) * y * c, rest * rest)
    g_slope = d - _divide(dl, l) - _divide(gain, total)
    bent = 0.0
    if repeated:
        bent = 1.0 - d + _divide(ratio, R_D_STAR * unused)
        g_slope += bent
    if gain > 0.0 and loss > 0.0:
        g_value = float(_log(gain / loss))
        if repeated and z < 1.0:   # _epochs_step
            w = epochs - _divide(g_value * ratio, g_slope * unused)
            ratio_new = 1.0 + R_D_STAR * (-float(_expm1(-(w - 1.0) / R_D_STAR))) if w > 1.0 else w
            return slope, _ln(unique) + _ln(ratio_new) - x
        return slope, _divide(-g_value, g_slope)
    both = l + d
    curve = both * both + dl
    if repeated:
        curve += d * bent
    return slope, _divide(-slope, tokens * curve + (dl + l * l) * p["s"])


# ----------------------------------------------------------------------------------------------
# The minimum with a data cap


def _repeats_one(f, c: float, unique: float, s: float) -> bool:
    """_objective_kernels.repeats_data for one scenario."""
    if unique == math.inf:
        return False
    y = f.B * float(_exp(-f.beta * _ln(unique)))
    rest = c - y
    l = _divide(-(f.beta / f.alpha) * y, rest)
    return not rest > 0.0 or not unique + l * (unique + s) >= 0.0


def _minimise_one(p) -> float:
    """_objective_kernels.capped_minimum for one scenario whose minimum without the cap repeats data: the bracket
    from ln U (or the asymptote above it) to the cap, both open ends (F' is not evaluated there), then Newton
    safeguarded by bisection (_newton) from _capped_start's table."""
    f, c, unique = p["fit"], p["c"], p["unique"]
    log_unique = _ln(unique)
    lo = _maximum(_divide(_ln(f.B / c), f.beta), log_unique)   # lifetime_costs.x_bounds, raised to ln U
    hi = _ln(unique * (1.0 + R_D_STAR))
    if not (lo - lo == 0.0 and lo < hi):
        return math.nan
    return _newton_one(p, lo, hi, start_log_effective_one(f, c, unique, log_unique, p["s"]))


def _newton_one(p, a: float, b: float, start: float) -> float:
    """_objective_kernels._newton for one scenario between open ends a < b (F' < 0 at a, > 0 at b)."""
    guess = 0.5 * (a + b)
    if a < start < b:
        guess = start
    last = b - a
    prev = math.nan
    for count in range(MAX_STEPS):
        slope, step = _slopes_one(p, guess)
        if slope < 0.0:
            a = guess
        else:
            b = guess
        tolerance = X_TOLERANCE * _maximum(1.0, abs(guess))
        size = abs(step)
        settled = 4.0 * size <= prev and size * size * size <= SETTLE * tolerance * prev * prev
        if slope == 0.0 or size <= tolerance or b - a <= tolerance or settled:
            return guess if slope == 0.0 else _minimum(_maximum(guess + step, a), b)
        nxt = guess + step
        if not a < nxt < b or (count >= FREE_STEPS and abs(2.0 * step) > abs(last)):
            nxt = 0.5 * (a + b)
            last = b - a
            prev = math.nan
        else:
            last = step
            prev = size
        guess = nxt
    return math.nan


# ----------------------------------------------------------------------------------------------
# The minimum and the figures at it


def optimum_one(f, v: dict, w_t: float, w_i: float):
    """_objective_solve.optimum for one fixed-MFU scenario (``v``: floats): (N, D, F, x, gpus, batch, code,
    train GPU-hours, inference GPU-hours, whether x is the closed form's, with no data repeated), or None for the
    roofline (no twin: the array path)."""
    if v["roofline"]:
        return None
    a_t, a_in, a_out = objective_weights(v, w_t, w_i)
    c = v["loss"] - f.E
    unique = v["unique_tokens"]
    peak = v["infer_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_decode"]   # lifetime_costs.serving_numbers
    s = _divide(a_in + a_out * 2.0 / peak, a_t)
    x, n = paper_log_tokens_one(f, v["loss"], s)
    p = dict(fit=f, c=c, unique=unique, a_t=a_t, a_in=a_in, a_out=a_out, peak=peak, s=s)
    closed_form = not _repeats_one(f, c, unique, s)
    if not closed_form:   # _pieces: the uncapped optimum repeats data
        x = _minimise_one(p)
    finite = x - x == 0.0
    value, n, d, value_psi = _objective_at_one(p, x if finite else 0.0, n if closed_form and finite else None)
    if x - x != 0.0:
        value = math.inf
    hours_t = 6.0 * n * d / (SECONDS_PER_HOUR * v["train_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_train"])
    hours_i = (2.0 * n * v["input_tokens"] / (v["infer_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_prefill"])
               + v["output_tokens"] * value_psi) / SECONDS_PER_HOUR
    return n, d, value, x, math.nan, math.nan, 0, hours_t, hours_i, closed_form
