"""Fitting L(N, D) = E + A/N^alpha + B/D^beta to your own training runs (Hoffmann et al.'s method, vectorised).

The objective is the one of Hoffmann et al. 2022 (Approach 3) and of the public code of Sardana et al. 2024
(huber_optimize.py): the Huber loss, delta = 1e-3, of the log residuals
r_i = logsumexp(a - alpha log N_i, b - beta log D_i, e) - log L_i, summed over the runs, minimised from a
grid of 4,500 starting points; E = e^e, A = e^a, B = e^b. Every start is a local minimisation and the fit
is the end point with the lowest objective, as in the paper's code.

Notes
-----
Instead of one scipy L-BFGS-B run per start with a finite-difference gradient, all starts are minimised
at once as one (starts, 5) array by a damped Newton method (Levenberg-Marquardt on the exact Hessian):
per start, (H + mu I) s = -g is solved by a batched 5x5 Cholesky factorisation, and mu grows when the
step is not a descent step or the objective falls by less than 10% of what the quadratic model
predicted, and shrinks when the model is good. Gradient and Hessian are analytic. With w_k the softmax
weights of the three terms, psi(r) = clip(r, -delta, delta) and g_r = dr/dtheta,

  gradient = sum_i psi(r_i) g_r,i
  Hessian  = sum_i [1(|r_i| <= delta) - psi(r_i)] g_r,i g_r,i^T + psi(r_i) sum_k w_k,i J_k,i J_k,i^T

where J_k is the derivative of the k-th logsumexp term. Internally a and b are shifted by alpha and beta
times the mean log N and log D (an exact reparametrisation that makes the Hessian far better
conditioned). Starts stop when the model predicts a relative decrease below 1e-10; the starts that end
within 1e-6 of the best objective are then polished to a predicted relative decrease of 1e-15 and the
best of them is the fit.

On flat valleys: with delta = 1e-3 most residuals are in the linear part of the Huber loss, and the
objective is nearly flat along a valley in which A and B trade off with alpha and beta. On the 47
MosaicML runs it changes by 2.4e-9 (4e-6 relative) between the paper's published fit (A = 33.47) and the
minimum (A = 35.39), about scipy's default stopping threshold ftol * max(|f|, 1) = 2.2e-9, so L-BFGS-B
stops somewhere along the valley depending on its start and on rounding. This module goes on to the
minimum (gradient 1e-15, positive definite Hessian); the losses both fits predict for the runs differ
by less than 0.1%.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers

import numpy as np

from ._checks import as_float_array, format_value
from .errors import InvalidInputError
from .laws import Fit

HUBER_DELTA = 1e-3
PARAMETERS = ("E", "A", "B", "alpha", "beta")

# The starting grid of the paper's code (alpha, beta, e, a, b): 5 * 5 * 5 * 6 * 6 = 4,500 starts.
GRID_AXES = (
    (0.0, 0.5, 1.0, 1.5, 2.0),                # alpha
    (0.0, 0.5, 1.0, 1.5, 2.0),                # beta
    (-1.0, -0.5, 0.0, 0.5, 1.0),              # e = log E
    (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),       # a = log A
    (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),       # b = log B
)

SEARCH_TOLERANCE = 1e-10     # stop a start when the predicted relative decrease is below this
POLISH_TOLERANCE = 1e-15     # the same, for the polish of the best end points
POLISH_MARGIN = 1e-6         # end points within this relative margin of the best are polished
MAX_ITERATIONS = 2000
MAX_STEP = 10.0              # longest Newton step, in log units
BOOTSTRAP_STARTS = 8         # distinct local minima of the full fit used as starts for each resample
MAX_BOOTSTRAP = 100_000      # resamples; refitted in chunks of BOOTSTRAP_CHUNK to bound memory
BOOTSTRAP_CHUNK = 500
LOG_FLOAT_MAX = math.log(np.finfo(float).max)   # 709.78: exp of anything larger overflows


def paper_grid() -> np.ndarray:
    """The 4,500 starting points of the paper's code, as rows (alpha, beta, e, a, b).

    >>> paper_grid().shape
    (4500, 5)
    """
    return np.array(list(itertools.product(*GRID_AXES)), dtype=float)


# ----------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class ScalingFitResult:
    """A law fitted to runs: E, A, B, alpha, beta, Huber objective, starts, residuals (log L_pred - log L)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float
    starts: int
    converged: int
    residuals: np.ndarray
    predicted_losses: np.ndarray
    delta: float = HUBER_DELTA
    confidence: float | None = None
    intervals: dict | None = None
    bootstrap_constants: np.ndarray | None = None
    law: dataclasses.InitVar[Fit | None] = None  # the Fit of these constants, as fit_scaling_law built it

    def __post_init__(self, law):
        object.__setattr__(self, "_law", law)

    @property
    def constants(self) -> tuple[float, float, float, float, float]:
        """(E, A, B, alpha, beta): the row an Excel range or ``fit=`` takes."""
        return (self.E, self.A, self.B, self.alpha, self.beta)

    @property
    def fit(self) -> Fit:
        """The fit as a :class:`~xlcalc.laws.Fit`, to pass as ``fit=`` to every other function."""
        if self._law is None:  # a result made without its Fit: build (and check) it once
            object.__setattr__(self, "_law", _usable_fit(self.constants, self.residuals.size, self.delta))
        return self._law


# ----------------------------------------------------------------------------------------------
# Kernels: the objective with its gradient and Hessian, and the batched damped Newton method.


class _Problem:
    """The runs, centred in log space, and the Huber objective over a batch of points q (starts, 5).

    q = (alpha, beta, e, a', b') with a' = a - alpha * mean(log N), b' = b - beta * mean(log D).
    ``weights`` is (n,) or (starts, n): how many times each run counts (bootstrap resamples).
    """

    def __init__(self, params, tokens, losses, delta):
        log_n, log_d = np.log(params), np.log(tokens)
        self.mean_n, self.mean_d = log_n.mean(), log_d.mean()
        self.x, self.y = log_n - self.mean_n, log_d - self.mean_d
        self.log_loss = np.log(losses)
        self.delta = delta

    def internal(self, p):
        q = np.array(p, dtype=float, copy=True)
        q[:, 3] -= q[:, 0] * self.mean_n
        q[:, 4] -= q[:, 1] * self.mean_d
        return q

    def external(self, q):
        p = np.array(q, dtype=float, copy=True)
        p[:, 3] += p[:, 0] * self.mean_n
        p[:, 4] += p[:, 1] * self.mean_d
        return p

    def residuals(self, q):
        """log L_pred - log L for each point (rows) and run (columns), with the softmax weights of the terms."""
        t0 = q[:, 3:4] - q[:, 0:1] * self.x
        t1 = q[:, 4:5] - q[:, 1:2] * self.y
        t2 = q[:, 2:3]
        top = np.maximum(np.maximum(t0, t1), t2)
        w0, w1, w2 = np.exp(t0 - top), np.exp(t1 - top), np.exp(t2 - top)
        total = w0 + w1 + w2
        return top + np.log(total) - self.log_loss, (w0 / total, w1 / total, w2 / total)

    def evaluate(self, q, weights):
        """Objective (starts,), gradient (starts, 5) and Hessian (starts, 5, 5) at q."""
        d = self.delta
        r, (w0, w1, w2) = self.residuals(q)
        size = np.abs(r)
        inside = size <= d
        f = (weights * np.where(inside, 0.5 * r * r, d * (size - 0.5 * d))).sum(1)
        psi = weights * np.clip(r, -d, d)
        dr = np.stack((-w0 * self.x, -w1 * self.y, w2, w0, w1), axis=1)     # dr/dq, (starts, 5, runs)
        g = np.einsum("sn,sin->si", psi, dr)
        c = weights * inside - psi
        h = np.einsum("sin,sjn->sij", dr * c[:, None, :], dr, optimize=True)
        p0, p1 = psi * w0, psi * w1
        s0, s1 = (p0 * self.x).sum(1), (p1 * self.y).sum(1)
        h[:, 0, 0] += (p0 * self.x * self.x).sum(1)
        h[:, 1, 1] += (p1 * self.y * self.y).sum(1)
        h[:, 2, 2] += (psi * w2).sum(1)
        h[:, 3, 3] += p0.sum(1)
        h[:, 4, 4] += p1.sum(1)
        h[:, 0, 3] -= s0
        h[:, 3, 0] -= s0
        h[:, 1, 4] -= s1
        h[:, 4, 1] -= s1
        return f, g, h


def _cholesky_solve(a, b):
    """Solve a s = b for a batch of symmetric matrices; ``ok`` is False where a is not positive definite."""
    n = a.shape[-1]
    low = np.zeros_like(a)
    ok = np.ones(a.shape[0], dtype=bool)
    for j in range(n):
        pivot = a[:, j, j] - (low[:, j, :j] ** 2).sum(1)
        ok &= pivot > 0
        root = np.sqrt(np.where(pivot > 0, pivot, 1.0))
        low[:, j, j] = root
        for i in range(j + 1, n):
            low[:, i, j] = (a[:, i, j] - (low[:, i, :j] * low[:, j, :j]).sum(1)) / root
    z = np.empty_like(b)
    for i in range(n):
        z[:, i] = (b[:, i] - (low[:, i, :i] * z[:, :i]).sum(1)) / low[:, i, i]
    s = np.empty_like(b)
    for i in reversed(range(n)):
        s[:, i] = (z[:, i] - (low[:, i + 1:, i] * s[:, i + 1:]).sum(1)) / low[:, i, i]
    return s, ok


def _minimise(problem: _Problem, q, weights, tolerance):
    """Damped Newton from every row of q at once; returns (q, objective, converged)."""
    q = np.array(q, dtype=float, copy=True)
    weights = np.broadcast_to(weights, (q.shape[0], problem.x.size))
    f, g, h = problem.evaluate(q, weights)
    mu = np.full(q.shape[0], 1e-3)
    converged = np.zeros(q.shape[0], dtype=bool)
    active = np.arange(q.shape[0])
    identity = np.eye(5)
    floor = 1e-28 * problem.x.size    # rounding level of a perfect fit
    for _ in range(MAX_ITERATIONS):
        if not active.size:
            break
        ga, ha = g[active], h[active]
        step, ok = _cholesky_solve(ha + mu[active, None, None] * identity, -ga)
        length = np.sqrt((step * step).sum(1))
        step *= np.minimum(1.0, MAX_STEP / np.where(ok & (length > 0), length, 1.0))[:, None]
        predicted = -((ga * step).sum(1) + 0.5 * np.einsum("si,sij,sj->s", step, ha, step))
        ok &= predicted >= 0
        done = ok & (predicted <= tolerance * f[active] + floor)
        converged[active[done]] = True
        mu[active[~ok]] *= 4.0
        trial = ok & ~done
        tried = active[trial]
        ft, gt, ht = problem.evaluate(q[tried] + step[trial], weights[tried])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (f[tried] - ft) / predicted[trial]
        better = (ft < f[tried]) & (ratio > 0.1)
        moved = tried[better]
        q[moved] += step[trial][better]
        f[moved], g[moved], h[moved] = ft[better], gt[better], ht[better]
        # a good model shrinks the damping; a poor one, a rejected step or an overflow (NaN) grows it
        mu[tried] *= np.where(better & (ratio > 0.75), 1.0 / 3.0, np.where(better & (ratio >= 0.25), 1.0, 4.0))
        np.clip(mu, 1e-15, None, out=mu)
        stalled = mu[active] > 1e12                     # no descent step left: not converged
        active = active[~done & ~stalled]
    return q, f, converged


def _distinct(q, f, count):
    """Up to ``count`` rows of q with the lowest f, one per end point (rounded to 1e-6)."""
    order = np.argsort(f, kind="stable")
    _, first = np.unique(np.round(q[order], 6), axis=0, return_index=True)
    return order[np.sort(first)][:count]


def _best(problem, q0, weights):
    """Search from q0 and polish the end points near the best.

    Returns the best point, its objective, how many searches converged, and every end point with its objective.
    """
    q, f, converged = _minimise(problem, q0, weights, SEARCH_TOLERANCE)
    f = np.where(np.isfinite(f), f, np.inf)
    if not np.isfinite(f.min()):
        raise InvalidInputError("no starting point gives a finite objective: check the grid")
    near = np.flatnonzero(f <= f.min() * (1 + POLISH_MARGIN) + 1e-300)
    candidates = near[_distinct(q[near], f[near], near.size)]
    qp, fp, _ = _minimise(problem, q[candidates], weights, POLISH_TOLERANCE)
    best = int(np.argmin(fp))
    return qp[best], float(fp[best]), int(converged.sum()), q, f


# ----------------------------------------------------------------------------------------------
# Input checks


def _runs_argument(name, value) -> np.ndarray:
    array = as_float_array(name, value).ravel()
    bad = np.flatnonzero(~(np.isfinite(array) & (array > 0)))
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(f"{name}[{i}] = {format_value(array[i])} is not allowed: must be a number > 0"
                                + (f" ({bad.size} such values)" if bad.size > 1 else ""))
    return array


def _check_grid(grid) -> np.ndarray:
    if grid is None:
        return paper_grid()
    array = as_float_array("grid", grid)
    if array.ndim == 1 and array.size == 5:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 5 or array.shape[0] == 0:
        raise InvalidInputError(f"grid has shape {array.shape}: must be rows of five starting values "
                                "(alpha, beta, e, a, b)")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError("grid has a value that is not a finite number")
    too_big = np.abs(array[:, 2:]) > LOG_FLOAT_MAX
    if too_big.any():
        row, column = (int(i) for i in np.argwhere(too_big)[0])
        raise InvalidInputError(f"grid row {row + 1} has {'eab'[column]} = {format_value(array[row, 2 + column])}: "
                                f"e, a and b are the logs of E, A and B and must lie within +-{LOG_FLOAT_MAX:.2f} "
                                "(beyond, their exponential overflows)")
    return array


def _count(name, value, minimum, maximum=None) -> int:
    """A whole number (an int, or a float such as 2.0 as Excel passes it) in [minimum, maximum]."""
    whole = (isinstance(value, numbers.Integral)
             or (isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()))
    if isinstance(value, bool) or not whole or value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"
        shown = str(int(value)) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else (
            format_value(value))
        raise InvalidInputError(f"{name} = {shown} is not allowed: must be a whole number {allowed}")
    return int(value)


def _seed(seed) -> int | None:
    if seed is None:
        return None
    try:
        return _count("seed", seed, 0)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc} (or None for a fresh seed)") from None


def _check_spread(params, tokens) -> None:
    """The runs must vary both params and tokens, at 5 or more distinct (params, tokens) points."""
    for name, values in (("params", params), ("tokens", tokens)):
        distinct = np.unique(values)
        if distinct.size < 2:
            raise InvalidInputError(f"{name} has a single value ({format_value(distinct[0])}) in every run: the law "
                                    "cannot be determined; vary both params and tokens across the runs")
    points = np.unique(np.column_stack((params, tokens)), axis=0).shape[0]
    if points < len(PARAMETERS):
        raise InvalidInputError(f"the runs have only {points} distinct (params, tokens) points: fitting E, A, B, "
                                f"alpha and beta needs at least {len(PARAMETERS)}")


def _usable_fit(constants, runs: int, delta: float) -> Fit:
    """The fitted constants as a Fit, or an InvalidInputError saying why the runs do not determine a law.

    The constants are checked here with the rules of :class:`~xlcalc.laws.Fit` (E finite >= 0; A, B, alpha
    and beta finite > 0), so that the message can say which constant of the best fit breaks which rule.
    """
    for name, value in zip(PARAMETERS, constants):
        allowed = ">= 0" if name == "E" else "> 0"
        if not (math.isfinite(value) and (value >= 0 if name == "E" else value > 0)):
            raise InvalidInputError(f"the runs do not determine a scaling law: the best fit has {name} = "
                                    f"{format_value(value)} (must be a finite number {allowed}): losses must "
                                    "fall as params and tokens grow; vary both params and tokens")
    return Fit(*constants, name="fitted", source=f"fit_scaling_law on {runs} runs (Huber delta {delta:g})")


# ----------------------------------------------------------------------------------------------
# Public function


def fit_scaling_law(params, tokens, losses, *, delta=HUBER_DELTA, grid=None, bootstrap=0, seed=None,
                    confidence=0.95) -> ScalingFitResult:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta to training runs (params, tokens, final loss in nats/token) by Huber loss.

    Parameters
    ----------
    params, tokens, losses : array_like
        One value per run: parameters N, training tokens D, final (smoothed) training loss L.
    delta : float
        Huber threshold on the log residuals (1e-3 in Hoffmann et al. and in the paper's code).
    grid : array_like, optional
        Starting points as rows (alpha, beta, e, a, b); default the paper's 4,500 (:func:`paper_grid`).
    bootstrap : int
        Number of bootstrap resamples of the runs (with replacement) for confidence intervals; 0 for none,
        at most 100,000 (a whole float such as 2.0, as Excel passes it, counts as 2).
        Each resample is refitted from the full fit's best distinct local minima (up to 8), not the grid.
    seed : int, optional
        Seed of the resampling, a whole number >= 0 (None: a fresh one each call).
    confidence : float
        Level of the percentile intervals (0.95: the 2.5% and 97.5% quantiles of the refits).

    Returns
    -------
    ScalingFitResult
        ``E, A, B, alpha, beta``, ``objective`` (the summed Huber loss), ``starts``, ``converged``,
        ``residuals`` (log L_pred - log L per run), ``predicted_losses``, and with ``bootstrap`` the
        ``intervals`` {name: (low, high)} and the refitted ``bootstrap_constants`` (rows E, A, B, alpha,
        beta). ``.fit`` is an :class:`~xlcalc.laws.Fit` for ``fit=``; ``.constants`` is the row.

    Raises
    ------
    InvalidInputError
        For arguments that are not allowed, and for runs that do not determine a law: fewer than 5 runs or
        5 distinct (params, tokens) points, a single value of params or of tokens, or a best fit that is not
        a valid :class:`~xlcalc.laws.Fit` (for example alpha <= 0 when losses do not fall with size).

    Notes
    -----
    Minimises sum_i Huber_delta(logsumexp(a - alpha log N_i, b - beta log D_i, e) - log L_i) over
    (alpha, beta, e, a, b) from every start, and keeps the end point with the lowest objective;
    E = e^e, A = e^a, B = e^b, with Huber_delta(r) = r^2/2 for |r| <= delta and delta (|r| - delta/2)
    beyond (scipy.special.huber, as in the paper's code). See the module Notes for the method.

    Examples
    --------
    >>> import numpy as np
    >>> from xlcalc.laws import loss
    >>> n, d = np.meshgrid([1e8, 3e8, 1e9, 3e9], [2e9, 1e10, 5e10, 2e11])
    >>> result = fit_scaling_law(n, d, loss(n, d, fit="chinchilla"))
    >>> [round(x, 3) for x in result.constants]
    [1.69, 406.4, 410.7, 0.336, 0.283]
    """
    n = _runs_argument("params", params)
    d = _runs_argument("tokens", tokens)
    l = _runs_argument("losses", losses)
    if not n.size == d.size == l.size:
        raise InvalidInputError(f"params, tokens and losses must have one value per run: got {n.size}, "
                                f"{d.size} and {l.size} values")
    if n.size < len(PARAMETERS):
        raise InvalidInputError(f"{n.size} runs is too few: fitting E, A, B, alpha and beta needs at least "
                                f"{len(PARAMETERS)} runs")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (math.isfinite(delta) and delta > 0):
        raise InvalidInputError(f"delta = {format_value(delta)} is not allowed: must be a number > 0")
    bootstrap = _count("bootstrap", bootstrap, 0, MAX_BOOTSTRAP)
    seed = _seed(seed)
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise InvalidInputError(f"confidence = {format_value(confidence)} is not allowed: must be in (0, 1)")
    starts = _check_grid(grid)
    _check_spread(n, d)

    problem = _Problem(n, d, l, float(delta))
    ones = np.ones(n.size)
    with np.errstate(over="ignore", invalid="ignore"):  # starts far outside any sensible range overflow
        q, objective, converged, ends, end_objectives = _best(problem, problem.internal(starts), ones)
    e, a, b = problem.external(q[None, :])[0, 2:]
    residuals, _ = problem.residuals(q[None, :])
    residuals = residuals[0]
    with np.errstate(over="ignore"):
        E, A, B = (float(x) for x in np.exp([e, a, b]))
    law = _usable_fit((E, A, B, float(q[0]), float(q[1])), n.size, float(delta))

    intervals = samples = None
    if bootstrap:
        samples = _bootstrap(problem, ends, end_objectives, bootstrap, seed)
        tail = (1 - confidence) / 2
        low, high = np.quantile(samples, [tail, 1 - tail], axis=0)
        intervals = {name: (float(lo), float(hi)) for name, lo, hi in zip(PARAMETERS, low, high)}
    return ScalingFitResult(
        E=E, A=A, B=B, alpha=float(q[0]), beta=float(q[1]),
        objective=objective, starts=starts.shape[0], converged=converged,
        residuals=residuals, predicted_losses=l * np.exp(residuals), delta=float(delta),
        confidence=float(confidence) if bootstrap else None, intervals=intervals, bootstrap_constants=samples,
        law=law)


def _bootstrap(problem, ends, end_objectives, resamples, seed) -> np.ndarray:
    """Refit ``resamples`` resamples of the runs from the full fit's distinct minima; rows E, A, B, alpha, beta."""
    runs = problem.x.size
    starts = ends[_distinct(ends, end_objectives, BOOTSTRAP_STARTS)]
    counts = np.random.default_rng(seed).multinomial(runs, np.full(runs, 1.0 / runs), size=resamples)
    k = starts.shape[0]
    p = np.empty((resamples, 5))
    for first in range(0, resamples, BOOTSTRAP_CHUNK):  # every start is minimised on its own: chunks change nothing
        chunk = counts[first:first + BOOTSTRAP_CHUNK]
        size = chunk.shape[0]
        q0 = np.tile(starts, (size, 1))
        weights = np.repeat(chunk.astype(float), k, axis=0)
        q, f, _ = _minimise(problem, q0, weights, SEARCH_TOLERANCE)
        best = np.argmin(f.reshape(size, k), axis=1) + k * np.arange(size)
        p[first:first + size] = problem.external(q[best])
    with np.errstate(over="ignore"):
        return np.column_stack([np.exp(p[:, 2]), np.exp(p[:, 3]), np.exp(p[:, 4]), p[:, 0], p[:, 1]])
