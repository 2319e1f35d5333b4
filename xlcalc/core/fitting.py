"""Fitting L(N, D) = E + A/N^alpha + B/D^beta to your own training runs (Hoffmann et al.'s method, vectorised).

The objective is the one of Hoffmann et al. 2022 (Approach 3) and of the public code of Sardana et al. 2024
(huber_optimize.py): the Huber loss, delta = 1e-3, of the log residuals
r_i = logsumexp(a - alpha log N_i, b - beta log D_i, e) - log L_i, summed over the runs, minimised from a
grid of 4,500 starting points; E = e^e, A = e^a, B = e^b. Every start is a local minimisation and the fit
is the end point with the lowest objective, as in the paper's code.

Notes
-----
The search (:mod:`xlcalc.core.fit_search`) minimises from the starts with a batched damped Newton method on the
exact gradient and Hessian. By default it scores every start in one vectorised pass and descends only the
best-scored ones (``search="screened"``); ``search="full-grid"`` runs all 4,500 starts to convergence as
the paper does, and is the reference the tests compare the screened search with.

On flat valleys: with delta = 1e-3 most residuals are in the linear part of the Huber loss, and the
objective is nearly flat along a valley in which A and B trade off with alpha and beta. On the 47
MosaicML runs it changes by 2.4e-9 (4e-6 relative) between the paper's published fit (A = 33.47) and the
minimum (A = 35.39), about scipy's default stopping threshold ftol * max(|f|, 1) = 2.2e-9, so L-BFGS-B
stops somewhere along the valley depending on its start and on rounding. This module goes on to the
minimum (gradient 1e-15, positive definite Hessian); the losses both fits predict for the runs differ
by less than 0.1%.

A fit is refused as unreliable (an InvalidInputError that says why) when one of its three terms adds
less than MIN_TERM_SHARE (0.01%) to the predicted loss of every run, so that the runs do not determine it
(E -> 0, or a term pushed out of the data's range), or when an exponent ends outside EXPONENT_RANGE
(0.02 to 2: at the edges of the grid's 0 to 2). Runs outside physical ranges (params or tokens below 1,
params above 1e15, tokens above 1e18, losses above 100 nats) are refused before fitting.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from .._checks import as_float_array, format_value
from ..errors import InvalidInputError
from .fit_search import SEARCH_TOLERANCE, Problem, distinct, full_grid_search, minimise, paper_grid, screened_search
from .laws import Fit

HUBER_DELTA = 1e-3
MAX_DELTA = 100.0            # a log residual of 100 is a loss off by e^100: any larger delta is least squares
PARAMETERS = ("E", "A", "B", "alpha", "beta")
SEARCHES = {"screened": screened_search, "full-grid": full_grid_search}
RUN_LIMITS = {"params": (1.0, 1e15), "tokens": (1.0, 1e18), "losses": (0.0, 100.0)}  # (exclusive for 0) ranges
MIN_TERM_SHARE = 1e-4        # a term adding less than this to every run's predicted loss is not determined
EXPONENT_RANGE = (0.02, 2.0)  # fitted alpha or beta outside this (the grid's 0 to 2, less a sliver at 0): no fit
BOOTSTRAP_STARTS = 8         # distinct local minima of the full fit used as starts for each resample
MAX_BOOTSTRAP = 100_000      # resamples; refitted in chunks of BOOTSTRAP_CHUNK to bound memory
BOOTSTRAP_CHUNK = 50         # (also how often progress is reported)
LOG_FLOAT_MAX = math.log(np.finfo(float).max)   # 709.78: exp of anything larger overflows


# ----------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class ScalingFitResult:
    """A law fitted to runs: E, A, B, alpha, beta, Huber objective, starts, residuals (log L_pred - log L).

    ``bootstrap_constants`` holds the refitted constants of every bootstrap resample (rows E, A, B, alpha,
    beta), ``intervals`` their percentile intervals.
    """

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
    descended: int | None = None     # starts run to convergence (the screened search descends the best-scored)
    search: str = "screened"
    law: dataclasses.InitVar[Fit | None] = None  # the Fit of these constants, as fit_scaling_law built it

    def __post_init__(self, law):
        object.__setattr__(self, "_law", law)

    @property
    def constants(self) -> tuple[float, float, float, float, float]:
        """(E, A, B, alpha, beta): the row an Excel range or ``fit=`` takes."""
        return (self.E, self.A, self.B, self.alpha, self.beta)

    @property
    def fit(self) -> Fit:
        """The fit as a :class:`~xlcalc.core.laws.Fit`, to pass as ``fit=`` to every other function."""
        if self._law is None:  # a result made without its Fit: build (and check) it once
            object.__setattr__(self, "_law", _usable_fit(self.constants, self.residuals.size, self.delta))
        return self._law


# ----------------------------------------------------------------------------------------------
# Input checks


def _runs_argument(name, value) -> np.ndarray:
    array = as_float_array(name, value).ravel()
    low, high = RUN_LIMITS[name]
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.isfinite(array) & (array >= low) & (array <= high) & (array > 0)))
    if bad.size:
        i = int(bad[0])
        allowed = f"a number > 0 and at most {high:g}" if low == 0 else f"a number from {low:g} to {high:g}"
        raise InvalidInputError(f"{name}[{i}] = {format_value(array[i])} is not allowed: must be {allowed}"
                                + (f" ({bad.size} such values)" if bad.size > 1 else ""))
    return array


def _real(name, value, allowed) -> float:
    """A real number as a float, or an InvalidInputError naming it (also for integers beyond the float range)."""
    try:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError
        number = float(value)
    except (TypeError, OverflowError):
        raise InvalidInputError(f"{name} = {_shown(value)} is not allowed: must be {allowed}") from None
    return number


def _shown(value) -> str:
    """format_value, also for an integer too large for a float (10**400 shows as 1e+400)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value:
        exponent = int(math.log10(abs(value)))
        if exponent > 300:
            return f"{value / 10 ** exponent:.6g}e+{exponent}"
    return format_value(value)


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

    The constants are checked here with the rules of :class:`~xlcalc.core.laws.Fit` (E finite >= 0; A, B, alpha
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
                    confidence=0.95, search="screened", progress=None) -> ScalingFitResult:
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
    search : {"screened", "full-grid"}
        "screened" (default): score every start, descend the best-scored 64, polish the distinct basins;
        "full-grid": run every start to convergence (the paper's method: 10-50x slower, the same minimum
        on every data set the tests try).
    progress : callable, optional
        Called as progress(done, total) while the bootstrap resamples are refitted.

    Returns
    -------
    ScalingFitResult
        ``E, A, B, alpha, beta``, ``objective`` (the summed Huber loss), ``starts``, ``converged``,
        ``residuals`` (log L_pred - log L per run), ``predicted_losses``, and with ``bootstrap`` the
        ``intervals`` {name: (low, high)} and the refitted ``bootstrap_constants`` (rows E, A, B, alpha,
        beta). ``.fit`` is an :class:`~xlcalc.core.laws.Fit` for ``fit=``; ``.constants`` is the row.

    Raises
    ------
    InvalidInputError
        For arguments that are not allowed, and for runs that do not determine a law: fewer than 5 runs or
        5 distinct (params, tokens) points, a single value of params or of tokens, a best fit that is not
        a valid :class:`~xlcalc.core.laws.Fit` (for example alpha <= 0 when losses do not fall with size), or
        an unreliable one: a term adding under 0.01% to every run's loss (E -> 0), an exponent outside 0.02 to 2.

    Notes
    -----
    Minimises sum_i Huber_delta(logsumexp(a - alpha log N_i, b - beta log D_i, e) - log L_i) over
    (alpha, beta, e, a, b) from every start, and keeps the end point with the lowest objective;
    E = e^e, A = e^a, B = e^b, with Huber_delta(r) = r^2/2 for |r| <= delta and delta (|r| - delta/2)
    beyond (scipy.special.huber, as in the paper's code). See the module Notes for the method.

    Examples
    --------
    >>> import numpy as np
    >>> from xlcalc.core.laws import loss
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
    delta_allowed = f"a number > 0 and at most {MAX_DELTA:g} (beyond, the Huber loss is least squares already)"
    delta = _real("delta", delta, delta_allowed)
    if not 0 < delta <= MAX_DELTA:
        raise InvalidInputError(f"delta = {format_value(delta)} is not allowed: must be {delta_allowed}")
    bootstrap = _count("bootstrap", bootstrap, 0, MAX_BOOTSTRAP)
    seed = _seed(seed)
    if search not in SEARCHES:
        raise InvalidInputError(f"search = {format_value(search)} is not allowed: must be one of "
                                + ", ".join(repr(k) for k in SEARCHES))
    if progress is not None and not callable(progress):
        raise InvalidInputError(f"progress = {format_value(progress)} is not allowed: must be a function "
                                "progress(done, total) or None")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise InvalidInputError(f"confidence = {format_value(confidence)} is not allowed: must be in (0, 1)")
    starts = _check_grid(grid)
    _check_spread(n, d)

    problem = Problem(n, d, l, delta)
    with np.errstate(over="ignore", invalid="ignore"):  # starts far outside any sensible range overflow
        found = SEARCHES[search](problem, problem.internal(starts))
    if found.q is None:
        raise InvalidInputError("no starting point gives a finite objective: check the grid")
    q = found.q
    e, a, b = problem.external(q[None, :])[0, 2:]
    residuals, shares = problem.residuals(q[None, :])
    residuals = residuals[0]
    with np.errstate(over="ignore"):
        E, A, B = (float(x) for x in np.exp([e, a, b]))
        predicted = l * np.exp(residuals)
    constants = (E, A, B, float(q[0]), float(q[1]))
    law = _usable_fit(constants, n.size, delta)
    share_a, share_b, share_e = (share[0] for share in shares)
    _check_reliable(constants, (share_e, share_a, share_b), predicted)

    intervals = samples = None
    if bootstrap:
        samples = _bootstrap(problem, found.ends, found.end_objectives, bootstrap, seed, progress)
        tail = (1 - confidence) / 2
        low, high = np.quantile(samples, [tail, 1 - tail], axis=0)
        intervals = {name: (float(lo), float(hi)) for name, lo, hi in zip(PARAMETERS, low, high)}
    return ScalingFitResult(
        *constants, objective=found.objective, starts=starts.shape[0], converged=found.converged,
        residuals=residuals, predicted_losses=predicted, delta=delta,
        confidence=float(confidence) if bootstrap else None, intervals=intervals, bootstrap_constants=samples,
        descended=found.descended, search=search, law=law)


def _check_reliable(constants, shares, predicted) -> None:
    """Refuse a fit the runs do not pin down: a term that adds almost nothing to every run, an exponent far
    beyond the grid, or predicted losses that overflow. ``shares``: each term's share of every run's
    predicted loss, in the order E, A/N^alpha, B/D^beta."""
    E, A, B, alpha, beta = constants
    terms = (("E", f"E = {format_value(E)}", "the irreducible loss"),
             ("A", f"A/N^alpha (A = {format_value(A)}, alpha = {format_value(alpha)})", "the params term"),
             ("B", f"B/D^beta (B = {format_value(B)}, beta = {format_value(beta)})", "the tokens term"))
    for (name, shown, what), share in zip(terms, shares):
        if np.max(share) < MIN_TERM_SHARE:
            raise InvalidInputError(
                f"the runs do not determine a scaling law reliably: the best fit has {shown}, {what}, adding "
                f"less than {MIN_TERM_SHARE:.2%} to every run's predicted loss, so the runs do not determine it "
                "(it sits at the edge of the search); check the units and spread of params, tokens and losses")
    low, high = EXPONENT_RANGE
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not low <= value <= high:
            raise InvalidInputError(
                f"the runs do not determine a scaling law reliably: the best fit has {name} = {format_value(value)}, "
                f"outside {low:g} to {high:g} (at the edge of the starting grid, 0 to 2); check the units and "
                "spread of the runs")
    if not np.all(np.isfinite(predicted)):
        raise InvalidInputError("the runs do not determine a scaling law reliably: the best fit predicts a loss "
                                "that overflows for some run")


def _bootstrap(problem, ends, end_objectives, resamples, seed, progress) -> np.ndarray:
    """Refit ``resamples`` resamples of the runs from the full fit's distinct minima; rows E, A, B, alpha, beta."""
    runs = problem.runs
    starts = ends[distinct(ends, end_objectives, BOOTSTRAP_STARTS)]
    counts = np.random.default_rng(seed).multinomial(runs, np.full(runs, 1.0 / runs), size=resamples)
    k = starts.shape[0]
    p = np.empty((resamples, 5))
    for first in range(0, resamples, BOOTSTRAP_CHUNK):  # every start is minimised on its own: chunks change nothing
        chunk = counts[first:first + BOOTSTRAP_CHUNK]
        size = chunk.shape[0]
        q0 = np.tile(starts, (size, 1))
        weights = np.repeat(chunk.astype(float), k, axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            q, f, _ = minimise(problem, q0, weights, SEARCH_TOLERANCE)
        best = np.argmin(np.where(np.isfinite(f), f, np.inf).reshape(size, k), axis=1) + k * np.arange(size)
        p[first:first + size] = problem.external(q[best])
        if progress is not None:
            progress(first + size, resamples)
    with np.errstate(over="ignore"):
        return np.column_stack([np.exp(p[:, 2]), np.exp(p[:, 3]), np.exp(p[:, 4]), p[:, 0], p[:, 1]])
