"""Where the data-capped fixed-MFU minimum lies, to start Newton from: a table for each pair of fit exponents.

With a fixed MFU and U unique tokens, the minimum of N (D + s) along the iso-loss curve solves (F' = 0 in the
notes of :mod:`xlcalc.core._objective_slopes`, in the epochs w = D/U = 1 + R* h)

    ln r + h - ln(-l) - ln(w + sigma) = 0,    r = D'/U = 1 + R* (1 - e^-h),
    -l = (beta/alpha) y / (1 - y),  y = q r^-beta,

with sigma = s / U and q = B U^-beta / (L - E). So the minimum's h depends on (sigma, q) and the exponents
alpha, beta only. The table holds it on a grid of ln sigma and t = q (1 + R*)^-beta (the share of L - E the
data term takes at the most effective data, U (1 + R*): in (0, 1) where the loss is reachable), solved by
bisection once for each pair of exponents (about 30 ms on first use, then cached); a scenario's start is the bilinear
interpolation of its h. On benchmarks/objectives.py's capped scenarios the start lies within 3e-3 of the
minimum in ln D' (the uncapped optimum's D', the start before, lay 0.1-0.18 away) and the Newton solve takes
3.3 evaluations a row instead of 5.2. It is only a start: Newton's safeguarded steps from it are the solve.
"""

from __future__ import annotations

import functools

import numpy as np

from .data_limits import R_D_STAR

LOG_SIGMA_FIRST, LOG_SIGMA_STEP, LOG_SIGMA_POINTS = -40.0, 100.0 / 255, 256   # ln(s / U) from -40 to 60
SHARE_POINTS = 128                                                            # t = (j + 1) / 129, j < 128
SHARE_FIRST, SHARE_STEP = 1.0 / (SHARE_POINTS + 1), 1.0 / (SHARE_POINTS + 1)
H_MOST = 40.0        # w = 1 + 40 R* = 616 epochs: D' is U (1 + R*) to rounding well before
BISECTIONS = 32   # h to 40 / 2^32 = 1e-8: far below the interpolation's error (a start needs no more)


def _balance(h, q, sigma, alpha, beta):
    """ln r + h - ln(-l) - ln(w + sigma): the sign of F' at h (-inf where the loss is out of reach)."""
    r = 1.0 + R_D_STAR * -np.expm1(-h)
    y = q * r ** -beta
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.log(r) + h - np.log(beta / alpha * y / (1.0 - y)) - np.log(1.0 + R_D_STAR * h + sigma)
    return np.where(y < 1.0, value, -np.inf)


@functools.lru_cache(maxsize=8)
def table(alpha: float, beta: float) -> np.ndarray:
    """h of the minimum on the grid (LOG_SIGMA_POINTS x SHARE_POINTS), by bisection on [0, H_MOST]: 0 where the
    minimum repeats no data, H_MOST where it lies past the grid's most epochs (read-only)."""
    sigma = np.exp(LOG_SIGMA_FIRST + LOG_SIGMA_STEP * np.arange(LOG_SIGMA_POINTS))[:, None]
    q = (SHARE_FIRST + SHARE_STEP * np.arange(SHARE_POINTS))[None, :] * (1.0 + R_D_STAR) ** beta
    lo = np.zeros((LOG_SIGMA_POINTS, SHARE_POINTS))
    hi = np.full(lo.shape, H_MOST)
    for _ in range(BISECTIONS):
        middle = 0.5 * (lo + hi)
        past = _balance(middle, q, sigma, alpha, beta) > 0.0
        hi, lo = np.where(past, middle, hi), np.where(past, lo, middle)
    h = 0.5 * (lo + hi)
    h.flags.writeable = False
    return h


def start_log_effective(f, c, unique, log_unique, s):
    """ln D' to start the capped fixed-MFU solve from, for loss - E = ``c``, U = ``unique`` (ln U: ``log_unique``)
    and s = ``s`` (flat arrays; the fit's constants are numbers, as xlcalc.core.laws.Fit holds them)."""
    h = table(f.alpha, f.beta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = (np.log(s / unique) - LOG_SIGMA_FIRST) / LOG_SIGMA_STEP
        v = (f.B * np.exp(-f.beta * log_unique) / c * (1.0 + R_D_STAR) ** -f.beta - SHARE_FIRST) / SHARE_STEP
    # on the grid (NaN: its first point; it is only a start), then the four corners of its cell
    u = np.minimum(np.where(u >= 0.0, u, 0.0), LOG_SIGMA_POINTS - 1.0)
    v = np.minimum(np.where(v >= 0.0, v, 0.0), SHARE_POINTS - 1.0)
    i = np.minimum(u.astype(np.intp), LOG_SIGMA_POINTS - 2)
    j = np.minimum(v.astype(np.intp), SHARE_POINTS - 2)
    du, dv = u - i, v - j
    flat = h.ravel()
    corner = i * SHARE_POINTS + j
    h00, h10 = flat.take(corner), flat.take(corner + SHARE_POINTS)
    corner += 1
    h01, h11 = flat.take(corner), flat.take(corner + SHARE_POINTS)
    low = h00 + du * (h10 - h00)
    high = h01 + du * (h11 - h01)
    guess = low + dv * (high - low)
    return log_unique + np.log(1.0 + R_D_STAR * -np.expm1(-guess))


def start_log_effective_one(f, c: float, unique: float, log_unique: float, s: float) -> float:
    """:func:`start_log_effective` for one scenario on floats, with the same operations (the same digits)."""
    h = table(f.alpha, f.beta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = float((np.log(np.float64(s) / unique) - LOG_SIGMA_FIRST) / LOG_SIGMA_STEP)
        v = float((f.B * np.exp(np.float64(-f.beta * log_unique)) / c * (1.0 + R_D_STAR) ** -f.beta - SHARE_FIRST)
                  / SHARE_STEP)
    u = min(u if u >= 0.0 else 0.0, LOG_SIGMA_POINTS - 1.0)
    v = min(v if v >= 0.0 else 0.0, SHARE_POINTS - 1.0)
    i = min(int(u), LOG_SIGMA_POINTS - 2)
    j = min(int(v), SHARE_POINTS - 2)
    du, dv = u - i, v - j
    flat = h.ravel()
    corner = i * SHARE_POINTS + j
    h00, h10 = float(flat[corner]), float(flat[corner + SHARE_POINTS])
    h01, h11 = float(flat[corner + 1]), float(flat[corner + 1 + SHARE_POINTS])
    low = h00 + du * (h10 - h00)
    high = h01 + du * (h11 - h01)
    guess = low + dv * (high - low)
    return log_unique + float(np.log(1.0 + R_D_STAR * -float(np.expm1(-guess))))
