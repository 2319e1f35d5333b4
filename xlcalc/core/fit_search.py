"""The search behind fit_scaling_law: the Huber objective with exact derivatives, a batched damped Newton method,
and two ways to pick the minimum from the 4,500 starts (all of them run to convergence, or screened).

Notes
-----
Objective over q = (alpha, beta, e, a', b'), with a' = a - alpha * mean(log N) and b' = b - beta * mean(log D)
(an exact reparametrisation of the paper's (alpha, beta, e, a, b) that makes the Hessian far better
conditioned): sum_i w_i Huber_delta(r_i), r_i = logsumexp(a' - alpha x_i, b' - beta y_i, e) - log L_i with x, y
the centred log N and log D, and w_i how many times run i counts (1, or its bootstrap count).

Every start is minimised by a damped Newton method (Levenberg-Marquardt on the exact Hessian), all starts
at once as one (starts, 5) array: per start, (H + mu I) s = -g is solved by a batched 5x5 Cholesky
factorisation, and mu grows when the step is not a descent step or the objective falls by less than 10% of
what the quadratic model predicted, and shrinks when the model is good. With w_k the softmax weights of
the three terms, psi(r) = clip(r, -delta, delta) and g_r = dr/dq,

  gradient = sum_i psi(r_i) g_r,i
  Hessian  = sum_i [1(|r_i| <= delta) - psi(r_i)] g_r,i g_r,i^T + psi(r_i) sum_k w_k,i J_k,i J_k,i^T

where J_k is the derivative of the k-th logsumexp term. A start stops when the model predicts a relative
decrease below 1e-10; the end points within 1e-6 of the best objective are polished to a predicted
relative decrease of 1e-15 and the best of them is the fit.

:func:`full_grid_search` runs every start to convergence: the paper's method, and the reference the tests
compare :func:`screened_search` with. On the 47 MosaicML runs about 45% of the 4,500 starts end in the
global minimum, and the rest in a few degenerate basins where one term of the law is switched off (its
softmax weight ~0, so the objective is flat along it) that they crawl along for hundreds of iterations:
750k start-evaluations, nearly all spent on starts that lose. :func:`screened_search` scores every start
in one vectorised pass (objective only, no derivatives), descends the best-scored 64 to convergence and
polishes the distinct basins they reach. That buys 20-50x on 47 runs and makes 2,000 runs fit in seconds
in bounded memory (the full grid needs 1.3 GB there): with more than 256 runs the screen and the descent
run on a fixed random subset of 256 runs, and the subset's distinct minima are descended again on all runs.
The tests compare both searches on the 47 runs, on data shaped like Epoch's 240-point Chinchilla
extraction, and on noisy sets with several basins.
"""

from __future__ import annotations

import itertools

import numpy as np

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
SCREEN_DESCENTS = 64         # best-scored starts the screened search runs to convergence
PRUNE_AFTER = 200            # ... after this many iterations, stop those above PRUNE_FACTOR times the best
PRUNE_FACTOR = 1.5
SCREEN_ITERATIONS = 500      # ... and stop all of them after this many (the polish goes on from the best)
SCREEN_RUNS = 256            # above this many runs, screen and descend on a fixed random subset of this size
SUBSET_MINIMA = 16           # distinct minima of the subset descended again on all runs
SMALL_BATCH = 256            # up to this many matrices, cholesky_solve calls LAPACK
CHUNK_ELEMENTS = 1 << 20     # starts x runs per block when scoring, to bound memory


def paper_grid() -> np.ndarray:
    """The 4,500 starting points of the paper's code, as rows (alpha, beta, e, a, b).

    >>> paper_grid().shape
    (4500, 5)
    """
    return np.array(list(itertools.product(*GRID_AXES)), dtype=float)


class Problem:
    """The runs, centred in log space, and the Huber objective over a batch of points q (starts, 5).

    ``weights`` is (n,) or (starts, n): how many times each run counts (bootstrap resamples).
    """

    def __init__(self, params, tokens, losses, delta):
        log_n, log_d = np.log(params), np.log(tokens)
        self.mean_n, self.mean_d = log_n.mean(), log_d.mean()
        self.x, self.y = log_n - self.mean_n, log_d - self.mean_d
        self.log_loss = np.log(losses)
        self.delta = delta

    @property
    def runs(self) -> int:
        """Number of runs."""
        return self.x.size

    def subset(self, indices) -> "Problem":
        """The same problem on some of the runs, centred like this one (so that q means the same point)."""
        sub = object.__new__(Problem)
        sub.mean_n, sub.mean_d, sub.delta = self.mean_n, self.mean_d, self.delta
        sub.x, sub.y, sub.log_loss = self.x[indices], self.y[indices], self.log_loss[indices]
        return sub

    def internal(self, p):
        """Rows (alpha, beta, e, a, b) as the centred q."""
        q = np.array(p, dtype=float, copy=True)
        q[:, 3] -= q[:, 0] * self.mean_n
        q[:, 4] -= q[:, 1] * self.mean_d
        return q

    def external(self, q):
        """Centred rows q back as (alpha, beta, e, a, b)."""
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

    def objective(self, q):
        """The objective alone (unit weights) at every row of q, in blocks of starts to bound memory."""
        out = np.empty(q.shape[0])
        rows = max(1, CHUNK_ELEMENTS // self.runs)
        d = self.delta
        for first in range(0, q.shape[0], rows):
            r = np.abs(self.residuals(q[first:first + rows])[0])
            out[first:first + rows] = np.where(r <= d, 0.5 * r * r, d * (r - 0.5 * d)).sum(1)
        return out

    def evaluate(self, q, weights):
        """Objective (starts,), gradient (starts, 5) and Hessian (starts, 5, 5) at q."""
        d = self.delta
        r, (w0, w1, w2) = self.residuals(q)
        size = np.abs(r)
        inside = size <= d
        f = (weights * np.where(inside, 0.5 * r * r, d * (size - 0.5 * d))).sum(1)
        psi = weights * np.clip(r, -d, d)
        dr = np.stack((-w0 * self.x, -w1 * self.y, w2, w0, w1), axis=1)     # dr/dq, (starts, 5, runs)
        g = np.matmul(dr, psi[:, :, None])[:, :, 0]
        c = weights * inside - psi
        h = np.matmul(dr * c[:, None, :], dr.transpose(0, 2, 1))
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


def cholesky_solve(a, b):
    """Solve a s = b for a batch of symmetric matrices; ``ok`` is False where a is not positive definite.

    A small batch (the screened search) is tested by LAPACK's eigvalsh, one call for the batch, and solved
    where its smallest eigenvalue is > 0 (s is 0 elsewhere); a large one (the full grid) by a Cholesky
    factorisation vectorised across the batch, whose cost hardly grows with the batch (LAPACK's per-matrix
    cost would dominate at 4,500 matrices).
    """
    if a.shape[0] > SMALL_BATCH:
        return _cholesky_solve_each(a, b)
    ok = np.isfinite(a).all(axis=(1, 2))
    ok[ok] = np.linalg.eigvalsh(a[ok])[:, 0] > 0
    s = np.zeros_like(b)
    if ok.any():
        s[ok] = np.linalg.solve(a[ok], b[ok][:, :, None])[:, :, 0]
    return s, ok


def _cholesky_solve_each(a, b):
    """cholesky_solve by a Cholesky factorisation vectorised across the batch (a loop over the 5 columns)."""
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


def minimise(problem: Problem, q, weights, tolerance, prune_after=None, iterations=MAX_ITERATIONS):
    """Damped Newton from every row of q at once, for at most ``iterations``; returns (q, objective, converged).

    With ``prune_after`` (screening), a start still running after that many iterations stops (unconverged)
    once its objective is above PRUNE_FACTOR times the lowest one reached so far.
    """
    q = np.array(q, dtype=float, copy=True)
    weights = np.broadcast_to(weights, (q.shape[0], problem.runs))
    f, g, h = problem.evaluate(q, weights)
    mu = np.full(q.shape[0], 1e-3)
    converged = np.zeros(q.shape[0], dtype=bool)
    active = np.arange(q.shape[0])
    identity = np.eye(5)
    floor = 1e-28 * problem.runs    # rounding level of a perfect fit
    for iteration in range(iterations):
        if prune_after is not None and iteration >= prune_after:
            active = active[f[active] <= PRUNE_FACTOR * np.nanmin(f)]
        if not active.size:
            break
        ga, ha = g[active], h[active]
        step, ok = cholesky_solve(ha + mu[active, None, None] * identity, -ga)
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


def distinct(q, f, count):
    """Indices of up to ``count`` rows of q with the lowest f, one per end point (rounded to 1e-6)."""
    order = np.argsort(f, kind="stable")
    _, first = np.unique(np.round(q[order], 6), axis=0, return_index=True)
    return order[np.sort(first)][:count]


class Search:
    """What a search found: the best point and its objective, starts descended and converged, and every end point."""

    def __init__(self, q, objective, descended, converged, ends, end_objectives):
        self.q, self.objective = q, objective
        self.descended, self.converged = descended, converged
        self.ends, self.end_objectives = ends, end_objectives


def _polish(problem, ends, end_objectives, descended, converged, weights=1.0) -> Search:
    """Polish the distinct end points within POLISH_MARGIN of the best; the best of them is the fit."""
    f = np.where(np.isfinite(end_objectives), end_objectives, np.inf)
    if not np.isfinite(f).any():
        return Search(None, np.inf, descended, converged, ends, f)
    near = np.flatnonzero(f <= f.min() * (1 + POLISH_MARGIN) + 1e-300)
    candidates = near[distinct(ends[near], f[near], near.size)]
    qp, fp, _ = minimise(problem, ends[candidates], weights, POLISH_TOLERANCE)
    best = int(np.argmin(fp))
    return Search(qp[best], float(fp[best]), descended, converged, ends, f)


def full_grid_search(problem: Problem, starts) -> Search:
    """Every start (rows of centred q) run to convergence, then the polish: the paper's method, the reference."""
    q, f, converged = minimise(problem, starts, 1.0, SEARCH_TOLERANCE)
    return _polish(problem, q, f, starts.shape[0], int(converged.sum()))


def _descend_best_scored(problem: Problem, starts):
    """Score every start, descend the SCREEN_DESCENTS best-scored ones; returns (ends, objectives, converged)."""
    score = problem.objective(starts)
    score = np.where(np.isfinite(score), score, np.inf)
    keep = np.argsort(score, kind="stable")[:SCREEN_DESCENTS]
    keep = keep[np.isfinite(score[keep])]
    if not keep.size:
        return starts[:0], np.empty(0), np.zeros(0, dtype=bool)
    return minimise(problem, starts[keep], 1.0, SEARCH_TOLERANCE, prune_after=PRUNE_AFTER,
                    iterations=SCREEN_ITERATIONS)


def screened_search(problem: Problem, starts) -> Search:
    """Score every start in one pass, descend the best-scored, polish the distinct basins (see the module Notes)."""
    if problem.runs <= SCREEN_RUNS:
        q, f, converged = _descend_best_scored(problem, starts)
        return _polish(problem, q, f, q.shape[0], int(converged.sum()))
    subset = np.sort(np.random.default_rng(0).choice(problem.runs, SCREEN_RUNS, replace=False))
    q, f, _ = _descend_best_scored(problem.subset(subset), starts)
    f = np.where(np.isfinite(f), f, np.inf)
    seeds = q[distinct(q, f, SUBSET_MINIMA)] if q.shape[0] else q
    q, f, converged = minimise(problem, seeds, 1.0, SEARCH_TOLERANCE)
    return _polish(problem, q, f, seeds.shape[0], int(converged.sum()))
