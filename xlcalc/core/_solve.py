"""A vectorised root finder for strictly decreasing functions: Newton steps kept inside a bracket.

The fixed-budget optima in xlcalc reduce to one equation g(x) = 0 in x = log(tokens) with g strictly
decreasing and a bracket known in closed form, so the solve needs no initial guess from the user and
cannot diverge: a Newton step that leaves the bracket is replaced by bisection. (The compute- and
cost-optimal models need no bracket: their equation is also convex, and plain Newton from a closed-form
start converges monotonically; see xlcalc.core.lifetime. A call runs xlcalc.core._lifetime_fused, which solves a convex
form of the fixed-budget equation the same way when alpha < 1; this solver is the reference it is tested
against, and runs for a fit with alpha >= 1.)
"""

from __future__ import annotations

import math

import numpy as np

# Iterations stop when every step is below this, in natural-log units (relative 4e-15 in tokens).
X_TOLERANCE = 4e-15
MAX_ITERATIONS = 100


def solve_decreasing(value_and_slope, lo, hi, x0=None, *, xtol=X_TOLERANCE, maxiter=MAX_ITERATIONS):
    """Root of a strictly decreasing function with g(lo) >= 0 >= g(hi), for arrays of independent problems.

    ``value_and_slope(x, index)`` returns g and dg/dx at the points x of the problems ``index``.
    Returns ``(root, iterations)``; the root is NaN where the bracket was invalid.

    >>> import numpy as np
    >>> root, _ = solve_decreasing(lambda x, i: (2.0 - x**3, -3 * x**2), np.array([0.0]), np.array([2.0]))
    >>> float(root[0]) == float(2 ** (1 / 3))
    True
    """
    lo = np.array(lo, dtype=float, copy=True)
    hi = np.array(hi, dtype=float, copy=True)
    x = 0.5 * (lo + hi) if x0 is None else np.array(x0, dtype=float, copy=True)
    x = np.clip(x, lo, hi)
    active = np.flatnonzero(np.isfinite(lo) & np.isfinite(hi) & (lo <= hi))
    root = np.full(x.shape, np.nan)
    iterations = 0
    while active.size and iterations < maxiter:
        iterations += 1
        xa = x[active]
        g, slope = value_and_slope(xa, active)
        # Shrink the bracket with the sign of g, then take the Newton step if it stays inside.
        positive = g > 0
        lo[active] = np.where(positive, xa, lo[active])
        hi[active] = np.where(positive, hi[active], xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -g / slope
        candidate = xa + step
        la, ha = lo[active], hi[active]
        inside = np.isfinite(candidate) & (candidate >= la) & (candidate <= ha)
        new = np.where(inside, candidate, 0.5 * (la + ha))
        done = (g == 0) | (np.abs(new - xa) <= xtol * np.maximum(1.0, np.abs(xa))) | (ha - la <= xtol * np.maximum(1.0, np.abs(xa)))
        x[active] = new
        root[active[done]] = np.where(g[done] == 0, xa[done], new[done])
        active = active[~done]
    # Anything still active after maxiter is left NaN rather than returned unconverged.
    return root, iterations


def solve_decreasing_one(value_and_slope, lo: float, hi: float, x0: float, *, xtol=X_TOLERANCE,
                         maxiter=MAX_ITERATIONS):
    """:func:`solve_decreasing` for one problem on floats, step for step (the same digits; no arrays).

    ``value_and_slope(x)`` returns g and dg/dx at x (g' < 0, so the Newton step never divides by zero).
    Returns ``(root, iterations)``.
    """
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        return math.nan, 0
    x = min(max(x0, lo), hi)
    for iterations in range(1, maxiter + 1):
        g, slope = value_and_slope(x)
        if g > 0:
            lo = x
        else:
            hi = x
        candidate = x + -g / slope
        new = candidate if math.isfinite(candidate) and lo <= candidate <= hi else 0.5 * (lo + hi)
        scale = xtol * max(1.0, abs(x))
        if g == 0 or abs(new - x) <= scale or hi - lo <= scale:
            return (x if g == 0 else new), iterations
        x = new
    return math.nan, maxiter
