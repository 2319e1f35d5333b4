"""Fast exact minimum of a lifetime objective along the iso-loss curve: safeguarded Newton on one smooth branch.

The reference solver (:func:`xlcalc.core.lifetime_costs.minimise_piece`, run by ``_objective_solve._pieces_reference``)
minimises F_g on every GPU-count piece by bracket walks and Illinois iterations, about 25 evaluations of F'
a piece and many more where a kink of the serving cost puts the root at a jump of F'. This one gives the
same minimum (tests/test_objective_kernels.py compares them on thousands of scenarios) with fewer and
cheaper evaluations, for three reasons:

1. One piece only. psi_g(N) = max(compute, (b N u_g(N) + C k N) / W) and every term of u_g falls as g grows
   (more memory and a longer latency budget per replica), so F_g >= F_G pointwise for g <= G (the largest
   count allowed), and the domain N <= q g of F_g lies inside that of F_G: min over g of min F_g = min F_G.
   The GPUs reported are the fewest with the same value at that x (the reference's tie rule).
2. The kinks are known in closed form. Each term of u is 1/cap, S k N/(gM' - bN), C k N/(tau g W - bN) or
   2N/(tau g P): any two cross at most once, at an N solving a linear equation, and memory = compute where
   u(N) = (2W/P - C k)/b, again linear in N per term. With ln U (where the data cap starts to bend D), these
   at most ten points are every place where F can stop being twice differentiable. F' at them (F is convex)
   leaves a bracket [a, b] with no kink inside, on which one branch (compute-bound, or memory-bound with one
   term of u) is F exactly.
3. Where that branch makes psi linear in N (compute-bound, or memory-bound at the batch asked for) and there
   is no data cap, F is the paper's N (a_t D + s) on it, so compute_optimal's kernel gives the branch's
   minimum, clipped to [a, b]. Elsewhere F'' is closed-form (F' in :mod:`xlcalc.core.lifetime_costs`' notes, F''
   below), so Newton steps (on ln P - ln Q rather than on F', see :func:`_slopes`) safeguarded by the
   bracket (bisection when a step leaves it or does not halve the last one, Numerical Recipes' rtsafe rule)
   converge quadratically: 4-7 evaluations. It works in chunks of CHUNK scenarios so that its temporaries
   stay in cache.

    F''(x) = a_t N D ((l + d)^2 + l' + d') + N (l' + l^2) (a_in + a_out psi'(N)) + a_out psi''(N) (l N)^2
    l' = (beta^2/alpha) y c / (c - y)^2        d' = d (1 - d + (D'/U) / (R* (1 - z)))   (0 below D' = U)
    psi' = 2/P (compute-bound) or (b u + b N u' + C k)/W; psi'' = 0 or (2 b u' + b N u'')/W
    u1 = S k N/(G - bN): u1' = S k G/(G - bN)^2, u1'' = 2 b u1'/(G - bN) (G = g M'; u2 likewise with C, tau g W)
"""

from __future__ import annotations

import numpy as np

from ._lifetime_kernels import optimal_log_tokens
from . import data_limits
from .data_limits import R_D_STAR
from .laws import _chinchilla_for_loss
from .lifetime_costs import _first_max, x_bounds, x_of_params

CHUNK = 16384
MAX_STEPS = 100
X_TOLERANCE = 4e-15


# ----------------------------------------------------------------------------------------------
# Constants of one chunk


def _chunk_constants(f, p, rows, g):
    """Per-scenario constants of F on g GPUs for the scenarios ``rows`` (a slice), as flat arrays."""
    s = p["serving"]
    k = dict(c=p["c"][rows], unique=p["unique"][rows], a_t=p["a_t"][rows], a_in=p["a_in"][rows],
             a_out=p["a_out"][rows], peak=s["peak"][rows])
    k["capped"] = bool(np.isfinite(k["unique"]).any())
    if k["capped"]:
        with np.errstate(divide="ignore"):
            k["log_unique"] = np.log(k["unique"])
    k["roof"] = bool(np.any(s["roofline"][rows]))
    if not k["roof"]:   # F' / (a_t N) of a fixed MFU: serving costs s N per unit of a_t (see _fixed_slopes)
        k["s"] = (k["a_in"] + k["a_out"] * 2.0 / k["peak"]) / k["a_t"]   # the paper's s, as _objective_solve._pieces
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            k.update(b=s["b"][rows], kv=s["k"][rows], seq=s["seq"][rows], ctx=s["ctx"][rows], bw=s["bw"][rows],
                     u0=s["inv_cap"][rows], g_mem=g * s["mem"][rows], h_lat=g * s["tau"][rows] * s["bw"][rows],
                     t3=0.5 * g * s["tau"][rows] * s["peak"][rows])
    return k


def _take(k, i):
    """The constants of the scenarios at positions ``i`` (a mask, or increasing positions as from np.flatnonzero)
    of the chunk: ``k`` itself when that is all of them (no copy)."""
    if i.size == k["c"].size and (i.all() if i.dtype == bool else True):
        return k
    return {name: (a[i] if isinstance(a, np.ndarray) else a) for name, a in k.items()}


# ----------------------------------------------------------------------------------------------
# The branches of psi and F', F'' on one branch


def _u_terms(k, n, which=(1, 2, 3), derivatives=True):
    """(u0..u3, their first and second derivatives in N) as three lists of arrays (module notes); the terms
    not in ``which`` (the batch cap u0 is always there), and the derivatives unless asked for, are None."""
    b, kv = k["b"], k["kv"]
    zero = np.zeros(n.shape)
    u, du, ddu = [np.broadcast_to(k["u0"], n.shape), None, None, None], [zero, None, None, None], [zero] + [None] * 3
    cache = kv > 0   # without a KV cache u1 = u2 = 0, also at N = q g where the free memory may be 0 (0/0)
    every = bool(cache.all())   # then no row needs the choice (the usual case: it saves three passes a term)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j, size, scale in ((1, k["g_mem"], k["seq"]), (2, k["h_lat"], k["ctx"])):
            if j in which:
                free = size - b * n
                uj = scale * kv * n / free
                u[j] = uj if every else np.where(cache, uj, 0.0)
                if derivatives:
                    dj = scale * kv / free / (1.0 - b * n / size)
                    ddj = 2.0 * b * dj / free
                    du[j], ddu[j] = (dj, ddj) if every else (np.where(cache, t, 0.0) for t in (dj, ddj))
        if 3 in which:
            u[3] = n / k["t3"]
            if derivatives:
                du[3], ddu[3] = 1.0 / k["t3"] + zero, zero
    return u, du, ddu


def _branch(k, n):
    """Which branch of psi holds at N: 0 compute-bound, 1 + j memory-bound with the batch set by u_j."""
    if not k["roof"]:
        return np.zeros(n.shape, dtype=np.int8)
    u, _, _ = _u_terms(k, n, derivatives=False)
    largest, which = _first_max(u)
    memory = (k["b"] * n * largest + k["ctx"] * k["kv"] * n) / k["bw"]
    return np.where(2.0 * n / k["peak"] >= memory, 0, 1 + which).astype(np.int8)


def _psi_slopes(k, n, branch):
    """(psi', psi'') at N on the given branch."""
    if not k["roof"]:
        return 2.0 / k["peak"], 0.0
    present = np.bincount(branch.ravel(), minlength=5) > 0 if branch.size else np.zeros(5, dtype=bool)
    which = tuple(j for j in (1, 2, 3) if present[j + 1])   # only the terms some row's branch uses
    u, du, ddu = _u_terms(k, n, which)
    uj, duj, dduj = u[0], du[0], ddu[0]
    for j in which:   # np.where is several times faster than np.choose on a list of arrays
        on = branch == j + 1
        if on.all():   # every row on this term (the usual case on a kink-free bracket): no choice to make
            uj, duj, dduj = u[j], du[j], ddu[j]
        else:
            uj, duj, dduj = np.where(on, u[j], uj), np.where(on, du[j], duj), np.where(on, ddu[j], dduj)
    b = k["b"]
    memory_bound = branch > 0
    first = (b * uj + b * n * duj + k["ctx"] * k["kv"]) / k["bw"]
    second = (2.0 * b * duj + b * n * dduj) / k["bw"]
    if not memory_bound.all():
        first, second = np.where(memory_bound, first, 2.0 / k["peak"]), np.where(memory_bound, second, 0.0)
    return first, second


def _slopes(f, k, x, branch=None, second=True):
    """(F', Newton step) at x (the step only when ``second``) on ``branch`` (None: the branch that holds at x).

    The step is Newton's on G = ln P - ln Q, where F' = P - Q with P = a_t N D (l + d) (training) and
    Q = -l N (a_in + a_out psi') (serving): G has the sign of F' and is nearly linear in x (ln D and ln N
    are), so the steps converge from far away, where Newton on F' itself (exponential in x) crawls. Where
    P <= 0 or Q = 0 it is Newton's step on F'."""
    if not k["roof"]:
        return _fixed_slopes(f, k, x, second)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y = f.B * np.exp(-f.beta * x)
        rest = k["c"] - y
        n = (f.A / rest) ** (1.0 / f.alpha)
        l = -(f.beta / f.alpha) * y / rest
        if k["capped"]:   # data_limits._log_tokens_of_effective, with D'/U and D/U kept for F'' below
            effective = np.exp(x)
            ratio = effective / k["unique"]
            repeated = ratio > 1.0
            z = np.where(repeated, np.minimum((ratio - 1.0) / R_D_STAR, 1.0), 0.0)
            epochs = 1.0 - R_D_STAR * np.log1p(-z)                          # D/U when repeated
            tokens = np.where(repeated, k["unique"] * epochs, effective)
            unused = 1.0 - z
            d = np.where(repeated, ratio / (epochs * unused), 1.0)
        else:
            tokens, d = np.exp(x), 1.0
        if branch is None:
            branch = _branch(k, n)
        dpsi, ddpsi = _psi_slopes(k, n, branch)
        train = k["a_t"] * n * tokens
        serve = k["a_in"] + k["a_out"] * dpsi
        both = l + d
        gain = train * both             # P
        loss = -l * n * serve           # Q
        slope = gain - loss
        if not second:
            return slope, None
        dl = (f.beta * f.beta / f.alpha) * y * k["c"] / (rest * rest)
        if k["capped"]:
            dd = np.where(repeated, d * (1.0 - d + ratio / (R_D_STAR * unused)), 0.0)
        else:
            dd = 0.0
        d_gain = train * (both ** 2 + dl + dd)
        d_loss = -(n * (dl + l * l) * serve + k["a_out"] * ddpsi * (l * n) ** 2)
        logs = (gain > 0) & (loss > 0)
        g_value = np.log(gain) - np.log(loss)
        g_slope = d_gain / gain - d_loss / loss
        step = -g_value / g_slope
        if not logs.all():
            step = np.where(logs, step, -slope / (d_gain - d_loss))
        if k["capped"]:
            # Past D' = U, G is nearly linear in the epochs w = D/U (ln D' saturates): Newton's step in w,
            # w' = w - G (D'/U) / (G' (1 - z)), mapped back to x = ln D'(w')
            w = epochs - g_value * ratio / (g_slope * unused)
            ratio_new = np.where(w > 1.0, 1.0 + R_D_STAR * (-np.expm1(-(w - 1.0) / R_D_STAR)), w)
            step = np.where(logs & repeated & (z < 1.0), k["log_unique"] + np.log(ratio_new) - x, step)
    return slope, step


def _fixed_slopes(f, k, x, second=True):
    """:func:`_slopes` with a fixed MFU, where psi' = 2/P is constant: F' / (a_t N) and the same Newton step.

    F' = a_t N (D (l + d) + l s) with s = (a_in + a_out 2/P) / a_t, so N, its power and a_t cancel from the
    sign of F' and from G = ln P - ln Q = ln(D (l + d) / (-l s)), G' = ((l + d)^2 + l' + d') / (l + d) - (l' + l^2) / l;
    the step where P <= 0 or Q = 0 is Newton's on F' / (a_t N) (the same step as on F': its factor cancels).
    Where every row repeats data (the usual case once the bracket starts at ln U), the per-row choices
    between the branches are skipped: the same operations on each row, so the same digits."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y = f.B * np.exp(-f.beta * x)
        rest = k["c"] - y
        l = -(f.beta / f.alpha) * y / rest
        if k["capped"]:   # data_limits._log_tokens_of_effective, with D'/U and D/U kept for d' below
            effective = np.exp(x)
            ratio = effective / k["unique"]
            repeated = ratio > 1.0
            every = bool(repeated.all())
            z = np.minimum((ratio - 1.0) / R_D_STAR, 1.0)
            if not every:
                z = np.where(repeated, z, 0.0)
            unused = 1.0 - z
            epochs = 1.0 - R_D_STAR * np.log1p(-z)                          # D/U when repeated
            tokens = k["unique"] * epochs
            d = ratio / (epochs * unused)
            if not every:
                tokens, d = np.where(repeated, tokens, effective), np.where(repeated, d, 1.0)
        else:
            tokens, d = np.exp(x), 1.0
        both = l + d
        gain = tokens * both            # P / (a_t N)
        loss = -l * k["s"]              # Q / (a_t N)
        slope = gain - loss
        if not second:
            return slope, None
        dl = (f.beta * f.beta / f.alpha) * y * k["c"] / (rest * rest)
        curve = both * both + dl
        if k["capped"]:
            bent = d * (1.0 - d + ratio / (R_D_STAR * unused))
            curve += bent if every else np.where(repeated, bent, 0.0)
        bend = dl + l * l
        logs = (gain > 0) & (loss > 0)
        g_value = np.log(gain / loss)
        g_slope = curve / both - bend / l
        # Past D' = U, G is nearly linear in the epochs w = D/U (ln D' saturates): Newton's step in w,
        # w' = w - G (D'/U) / (G' (1 - z)), mapped back to x = ln D'(w')
        w_step = logs & repeated & (z < 1.0) if k["capped"] else None
        if w_step is not None and w_step.all():
            return slope, _epochs_step(k, x, g_value, g_slope, ratio, epochs, unused)
        step = -g_value / g_slope
        if not logs.all():
            step = np.where(logs, step, -slope / (tokens * curve + bend * k["s"]))
        if w_step is not None and w_step.any():
            step = np.where(w_step, _epochs_step(k, x, g_value, g_slope, ratio, epochs, unused), step)
    return slope, step


def _epochs_step(k, x, g_value, g_slope, ratio, epochs, unused):
    """The Newton step on G in the epochs w (past D' = U), as a step in x (see :func:`_fixed_slopes`)."""
    w = epochs - g_value * ratio / (g_slope * unused)
    ratio_new = 1.0 + R_D_STAR * (-np.expm1(-(w - 1.0) / R_D_STAR))
    if not (w > 1.0).all():
        ratio_new = np.where(w > 1.0, ratio_new, w)
    return k["log_unique"] + np.log(ratio_new) - x


# ----------------------------------------------------------------------------------------------
# Kinks


def _kinks(f, k):
    """x of every point where F may not be twice differentiable (columns; NaN where none)."""
    columns = []
    if k["capped"]:
        with np.errstate(divide="ignore"):
            columns.append(k["log_unique"])
    if k["roof"]:
        b, kv, seq, ctx, u0 = k["b"], k["kv"], k["seq"], k["ctx"], k["u0"]
        g_mem, h_lat, t3 = k["g_mem"], k["h_lat"], k["t3"]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            u_star = (2.0 * k["bw"] / k["peak"] - ctx * kv) / b     # memory = compute where u(N) = u*
            sizes = [u0 * g_mem / (seq * kv + u0 * b), u0 * h_lat / (ctx * kv + u0 * b), u0 * t3,
                     (seq * h_lat - ctx * g_mem) / (b * (seq - ctx)), (g_mem - seq * kv * t3) / b,
                     (h_lat - ctx * kv * t3) / b,
                     u_star * g_mem / (seq * kv + u_star * b), u_star * h_lat / (ctx * kv + u_star * b),
                     u_star * t3]
            terms = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (1,), (2,), (3,)]
            for size, which in zip(sizes, terms):
                good = np.isfinite(size) & (size > 0)
                good[good] = _on_envelope(k, size[good], which, good)
                if good.any():
                    columns.append(np.where(good, x_of_params(f, k["c"], np.where(good, size, 1.0)), np.nan))
    return columns


def _on_envelope(k, n, which, rows, slack=1e-9):
    """Whether the crossing at N of the terms ``which`` of u (one term: where memory = compute) is a kink of psi:
    the terms are the largest of u there, and psi is memory-bound. A crossing below the envelope changes
    nothing; ``slack`` keeps the borderline ones (an extra point costs one evaluation, a lost kink the answer)."""
    b, kv = k["b"][rows], k["kv"][rows]
    cache = kv > 0
    u = [np.broadcast_to(k["u0"][rows], n.shape),
         np.where(cache, k["seq"][rows] * kv * n / (k["g_mem"][rows] - b * n), 0.0),
         np.where(cache, k["ctx"][rows] * kv * n / (k["h_lat"][rows] - b * n), 0.0),
         n / k["t3"][rows]]
    top = np.maximum(np.maximum(u[0], u[1]), np.maximum(u[2], u[3])) * (1.0 - slack)
    keep = np.ones(n.shape, dtype=bool)
    for j in which:
        keep &= u[j] >= top
    if len(which) == 2:
        memory = (b * n * np.maximum(u[which[0]], u[which[1]]) + k["ctx"][rows] * kv * n) / k["bw"][rows]
        keep &= memory >= 2.0 * n / k["peak"][rows] * (1.0 - slack)
    return keep


# ----------------------------------------------------------------------------------------------
# The solve


def _bracket(f, k, lo, hi, lo_open, hi_open):
    """(a, b, F'(a), F'(b), found): a bracket with no kink inside (found: x where F' = 0 exactly at a kink, else NaN).

    F' at an end is NaN where it is not known yet: a closed end, or a kink of psi (F' there is taken on the
    branch inside the bracket, which the caller knows only later). At an open end (the asymptote, where F'
    -> -inf, or a finite data cap, where F' -> +inf) it is that infinity, the sign F' has there; without
    psi's kinks (fixed MFU) F' at the kink ln U is the value computed here, the one F has on either side."""
    a, b = lo.copy(), hi.copy()
    slope_a = np.where(lo_open, -np.inf, np.nan)
    slope_b = np.where(hi_open & np.isfinite(hi), np.inf, np.nan)
    found = np.full(lo.shape, np.nan)
    for point in _kinks(f, k):
        inside = np.flatnonzero((point > lo) & (point < hi))
        if not inside.size:
            continue
        slope, _ = _slopes(f, _take(k, inside), point[inside], second=False)
        x = point[inside]
        left = (slope < 0) & (x > a[inside])
        right = (slope > 0) & (x < b[inside])
        a[inside[left]], b[inside[right]] = x[left], x[right]
        slope_a[inside[left]] = slope[left] if not k["roof"] else np.nan
        slope_b[inside[right]] = slope[right] if not k["roof"] else np.nan
        found[inside[slope == 0]] = x[slope == 0]
    return a, b, slope_a, slope_b, found


def _walk(f, k, branch, a, b, slope_a, slope_b):
    """Close an open end at +inf (no data cap): step out from a by doubling strides until F' >= 0.

    A finite open end (the asymptote, where F' -> -inf, or the data cap, where F' -> +inf) is a bracket
    end as it is: the Newton iteration never evaluates F' there. F' at the new ends is kept (in place)."""
    stride = np.ones(a.shape)
    for _ in range(MAX_STEPS):
        todo = np.flatnonzero(np.isinf(b))
        if not todo.size:
            return a, b
        x = a[todo] + stride[todo]
        stride[todo] *= 2.0
        slope, _ = _slopes(f, _take(k, todo), x, branch[todo], second=False)
        neg, pos = slope < 0, slope >= 0
        a[todo[neg]], slope_a[todo[neg]] = x[neg], slope[neg]
        b[todo[pos]], slope_b[todo[pos]] = x[pos], slope[pos]
    return a, np.where(np.isinf(b), np.nan, b)


def minimise(f, p, rows, lo, hi, lo_open, hi_open, g, start=None):
    """Argmin of F_g on [lo, hi] for the scenarios ``rows`` (at most CHUNK indices); NaN where lo >= hi."""
    k = _chunk_constants(f, p, rows, g)
    x = np.full(lo.shape, np.nan)
    usable = np.flatnonzero(np.isfinite(lo) & (lo < hi))
    if not usable.size:
        return x
    k = _take(k, usable)
    lo, hi, lo_open, hi_open = lo[usable], hi[usable], lo_open[usable], hi_open[usable]
    start = None if start is None else start[usable]
    floor = None
    if k["roof"]:
        root, floor = _branch_root(f, k, lo, hi)
        known = ~np.isnan(root)
        if known.any():
            x[usable[known]] = root[known]
            rest = np.flatnonzero(~known)
            if not rest.size:
                return x
            usable, k, floor = usable[rest], _take(k, rest), floor[rest]
            lo, hi, lo_open, hi_open = lo[rest], hi[rest], lo_open[rest], hi_open[rest]
            start = None if start is None else start[rest]
    x[usable] = _bracketed(f, k, lo, hi, lo_open, hi_open, start, floor)
    return x


def _bracketed(f, k, lo, hi, lo_open, hi_open, start=None, floor=None):
    """:func:`minimise` on usable rows (lo < hi): a bracket without kinks, then its branch's closed form or Newton.

    ``floor``: an x where F' < 0 is known (:func:`_branch_root`), which raises the bracket's lower end."""
    a, b, slope_a, slope_b, found = _bracket(f, k, lo, hi, lo_open, hi_open)
    if floor is not None:
        with np.errstate(invalid="ignore"):
            raise_a = (floor > a) & (floor < b)
        a[raise_a], slope_a[raise_a] = floor[raise_a], -np.inf
    # the branch inside (a, b): at its middle, or one past a finite a towards an open infinite end
    if k["roof"]:
        middle = np.where(np.isfinite(b), 0.5 * (a + b), a + 1.0)
        y = f.B * np.exp(-f.beta * middle)
        with np.errstate(invalid="ignore"):
            branch = _branch(k, (f.A / (k["c"] - y)) ** (1.0 / f.alpha))
    else:
        branch = np.zeros(a.shape, dtype=np.int8)
    out = np.full(a.shape, np.nan)
    linear = _linear_branch(k, branch)
    if linear.any():   # psi linear in N and D = D': the paper's problem, solved by compute_optimal's kernel
        out[linear] = np.clip(_paper_root(f, _take(k, linear), branch[linear]), a[linear], b[linear])
        rest = np.flatnonzero(~linear)
        k, branch, a, b, slope_a, slope_b = _take(k, rest), branch[rest], a[rest], b[rest], slope_a[rest], slope_b[rest]
        start = None if start is None else start[rest]
    else:
        rest = slice(None)
    a, b = _walk(f, k, branch, a, b, slope_a, slope_b)
    out[rest] = _newton(f, k, branch, a, b, slope_a, slope_b, start)
    return np.where(np.isnan(found), out, found)


def _branch_root(f, k, lo, hi):
    """The minimum where it lies on a branch of psi linear in N (NaN elsewhere: unsure).

    psi >= 2 N / P and psi >= (b N / batch + C k N) / W everywhere (psi is the larger of compute and memory, and
    u >= 1/batch), so F >= F_j for both linear branches j. Where the minimum of F_j lies inside (lo, hi) and F
    is on branch j there, F = F_j there: that point is F's minimum, found without psi's kinks. Elsewhere it is
    still a lower bound of the minimum: psi - psi_j is N times a nondecreasing function of N, so F' <= F_j'
    everywhere (in x, where N falls) and F' <= 0 at F_j's minimum. Returns (minimum or NaN, F_j's minimum). F_j is the
    fixed-MFU objective with psi' = psi_j': without a data cap the paper's problem (:func:`_paper_root`), with
    one the fixed-MFU capped solve (:func:`_fixed_slopes`, from the uncapped root as _objective_solve._pieces
    starts). The branch tried is the one that holds at the batch asked for: memory-bound when
    b / batch + C k >= 2 W / P."""
    with np.errstate(invalid="ignore"):
        branch = ((k["b"] * k["u0"] + k["ctx"] * k["kv"]) / k["bw"] >= 2.0 / k["peak"]).astype(np.int8)
    x = _paper_root(f, k, branch)
    if k["capped"]:
        with np.errstate(invalid="ignore"):
            repeats = np.flatnonzero(~(x <= k["log_unique"]))
        if repeats.size:
            x[repeats] = _fixed_minimum(f, _take(k, repeats), branch[repeats], x[repeats])
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        n = (f.A / (k["c"] - f.B * np.exp(-f.beta * x))) ** (1.0 / f.alpha)
    good = (x > lo) & (x < hi)
    good[good] = _branch(_take(k, good), n[good]) == branch[good]
    return np.where(good, x, np.nan), x


def _fixed_minimum(f, k, branch, free_x):
    """Argmin of F_j (psi linear in N on ``branch``) with a data cap, from the uncapped root ``free_x``: the
    fixed-MFU solve with that branch's psi' in s."""
    unique = k["unique"]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        slope = np.where(branch == 0, 2.0 / k["peak"], (k["b"] * k["u0"] + k["ctx"] * k["kv"]) / k["bw"])
        fixed = dict(c=k["c"], unique=unique, log_unique=k["log_unique"], capped=True, roof=False,
                     s=(k["a_in"] + k["a_out"] * slope) / k["a_t"])
        start = np.log(data_limits._effective(np.exp(free_x), unique))
    lo, hi = x_bounds(f, k["c"], unique)
    x = np.full(lo.shape, np.nan)
    usable = np.flatnonzero(np.isfinite(lo) & (lo < hi))
    if usable.size:
        ends = np.ones(usable.size, dtype=bool)
        x[usable] = _bracketed(f, _take(fixed, usable), lo[usable], hi[usable], ends, ends, start[usable])
    return x


def _linear_branch(k, branch):
    """Where psi is linear in N on the branch (compute-bound, or memory-bound at the batch asked for) and D = D'."""
    return (branch <= 1) & np.isinf(k["unique"])


def _paper_root(f, k, branch):
    """The minimum of a_t N D + (a_in + a_out psi'(N)) N with psi' constant: optimal_log_tokens with s = that / a_t.

    On the branch's whole curve F is convex with this one minimum, so its minimum on [a, b], where the branch
    is F, is this point clipped to [a, b]."""
    if k["roof"]:
        slope = np.where(branch == 0, 2.0 / k["peak"], (k["b"] * k["u0"] + k["ctx"] * k["kv"]) / k["bw"])
    else:
        slope = 2.0 / k["peak"]
    s = (k["a_in"] + k["a_out"] * slope) / k["a_t"]
    return optimal_log_tokens(f, k["c"] + f.E, s)


def _newton(f, k, branch, a, b, slope_a, slope_b, start=None):
    """Root of the branch's F' in [a, b] by Newton safeguarded with bisection, or an end where F' points out.

    ``slope_a`` and ``slope_b`` are F' at the ends where already known (NaN: evaluated here, in place). At an
    open end (the asymptote, the cap) F' is NaN or has the sign that points inwards, so the end tests below
    never pick one. The iteration starts at ``start`` where that lies inside (a, b), else midway."""
    x = np.full(a.shape, np.nan)
    for end, slope_end in ((a, slope_a), (b, slope_b)):
        unknown = np.flatnonzero(np.isnan(slope_end))
        if unknown.size == end.size:
            slope_end[:] = _slopes(f, k, end, branch, second=False)[0]
        elif unknown.size:
            slope_end[unknown] = _slopes(f, _take(k, unknown), end[unknown], branch[unknown], second=False)[0]
    at_a, at_b = slope_a >= 0, (slope_b <= 0) & ~(slope_a >= 0)
    x[at_a], x[at_b] = a[at_a], b[at_b]
    closed = ~(at_a | at_b) & (b <= a)     # a kink a rounding error from the other end: nothing between
    x[closed] = a[closed]
    todo = np.flatnonzero(~(at_a | at_b) & (b > a))
    if not todo.size:
        return x
    if not k["roof"]:   # only what _fixed_slopes reads: fewer arrays to compact as rows finish
        k = {name: k[name] for name in ("c", "unique", "log_unique", "s", "capped", "roof") if name in k}
    k = _take(k, todo)
    br, a, b = branch[todo], a[todo], b[todo]
    # The roofline's minimum tends to lie near the bracket's lower end (where F leaves a linear branch, or just
    # above F_j's minimum): a start a tenth into the bracket takes 12% fewer evaluations than its middle on
    # benchmarks/objectives.py's scenarios. Any start converges: the steps are safeguarded by the bracket.
    guess = a + 0.1 * (b - a) if k["roof"] else 0.5 * (a + b)
    if start is not None:
        start = start[todo]
        guess = np.where((start > a) & (start < b), start, guess)
    last = b - a
    live = np.ones(a.size, dtype=bool)
    for _ in range(MAX_STEPS):
        slope, step = _slopes(f, k, guess, br)
        low = slope < 0
        a, b = np.where(low, guess, a), np.where(low, b, guess)
        tolerance = X_TOLERANCE * np.maximum(1.0, np.abs(guess))
        # a step below the tolerance ends the row first: it may round to no move, which the bracket test
        # below would take for a step out of the bracket and bisect
        size = np.abs(step)
        width = b - a
        stop = (slope == 0) | (size <= tolerance) | (width <= tolerance)
        nxt = guess + step
        size *= 2.0                     # |2 step|: doubling is exact
        bisect = ~((nxt > a) & (nxt < b)) | (size > last)
        nxt = np.where(bisect, 0.5 * (a + b), nxt)
        last = np.where(bisect, width, np.abs(step))    # |the step taken|: only its size is compared
        done = np.flatnonzero(stop & live)
        if done.size:
            x[todo[done]] = np.where(slope[done] == 0, guess[done], np.clip(guess[done] + step[done], a[done], b[done]))
        live &= ~stop
        guess = nxt
        left = np.count_nonzero(live)
        if not left:
            return x
        if left < 0.5 * live.size:   # drop the finished rows only when they are many: a copy costs a step
            keep = np.flatnonzero(live)
            todo, br, a, b, guess, last = (t[keep] for t in (todo, br, a, b, guess, last))
            live = np.ones(keep.size, dtype=bool)
            k = _take(k, keep)
    return x   # rows never converged stay NaN (not reached for valid inputs)


def paper_log_tokens(f, loss, s):
    """x = ln D minimising N (D + s), the fixed-MFU optimum without a data cap, by xlcalc.compute_optimal's kernel.

    It gets inference_tokens / 3 = (3 s) / 3 there, so the digits are those of compute_optimal(loss, 3 s);
    as there, a model or Chinchilla reference of under one parameter or token is no answer (NaN)."""
    x = np.empty(loss.size)
    for start in range(0, loss.size, CHUNK):
        part = slice(start, start + CHUNK)
        x[part] = optimal_log_tokens(f, loss[part], np.divide(3.0 * s[part], 3.0))
    with np.errstate(invalid="ignore", over="ignore"):
        params = np.power(f.A / (loss - f.E - f.B * np.exp(-f.beta * x)), 1.0 / f.alpha)
        ch_params, ch_tokens = _chinchilla_for_loss(f, loss)
        tiny = (params < 1.0) | (x < 0.0) | (ch_params < 1.0) | (ch_tokens < 1.0)
    return np.where(tiny, np.nan, x)


def bounds(f, p, g):
    """(lo, hi, lo_open, hi_open) of the curve on g GPUs per replica (the whole curve with fixed MFU)."""
    asymptote, cap = x_bounds(f, p["c"], p["unique"])
    if np.any(p["serving"]["roofline"]):
        lo = np.maximum(x_of_params(f, p["c"], g * p["serving"]["q"]), asymptote)
        return lo, cap, lo <= asymptote, np.ones(lo.shape, dtype=bool)
    return asymptote, cap, np.ones(cap.shape, dtype=bool), np.ones(cap.shape, dtype=bool)


def minimum(f, p, g, rows=None, start=None):
    """Argmin x over the whole curve on g GPUs per replica for the scenarios ``rows`` (all: None), chunk by chunk."""
    lo, hi, lo_open, hi_open = bounds(f, p, g)
    rows = np.arange(lo.size) if rows is None else rows
    g = np.broadcast_to(g, lo.shape)
    x = np.empty(rows.size)
    for first in range(0, rows.size, CHUNK):
        part = slice(first, first + CHUNK)
        i = rows[part]
        x[part] = minimise(f, p, i, lo[i], hi[i], lo_open[i], hi_open[i], g[i],
                           None if start is None else start[part])
    return x
