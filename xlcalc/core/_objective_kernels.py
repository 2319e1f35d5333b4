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
   in :mod:`xlcalc.core._objective_slopes`), so Newton steps (on ln P - ln Q rather than on F') safeguarded by the
   bracket (bisection when a step leaves it or, after the first three, does not halve the last one: Numerical
   Recipes' rtsafe rule) converge quadratically: 4-7 evaluations. It works in chunks of CHUNK scenarios so
   that its temporaries stay in cache.
4. Most minima need none of that. psi >= psi_j for both branches j linear in N (compute-bound, and
   memory-bound at the batch asked for), so F >= F_j, the fixed-MFU objective with psi_j: where F_j's own
   minimum (closed form, or the capped fixed-MFU solve) lies on branch j of F, it is F's minimum
   (:func:`_branch_root`; 86% of benchmarks/objectives.py's roofline scenarios). Elsewhere it is still a lower
   end of the bracket (F' <= F_j'). With a fixed MFU, N cancels from the sign of F' and from the Newton step
   (:func:`xlcalc.core._objective_slopes._fixed_slopes`), so the step needs no power.
5. The capped fixed-MFU solve (:func:`_capped`) starts at a table of where its minimum lies
   (:mod:`xlcalc.core._capped_start`, within ~3e-3 in ln D') on a bracket from ln U, and a row stops once its
   next step would be below the tolerance (:func:`_newton`): 2.3-2.5 evaluations of F' a row.

F'' in closed form, psi's branches, the kinks and the Newton steps are in :mod:`xlcalc.core._objective_slopes`.
"""

from __future__ import annotations

import numpy as np

from ._lifetime_kernels import optimal_log_tokens
from . import _capped_start
from ._objective_slopes import _branch, _chunk_constants, _kinks, _slopes, _take
from .laws import _chinchilla_for_loss
from .lifetime_costs import x_bounds, x_of_params

CHUNK = 16384
MAX_STEPS = 100
X_TOLERANCE = 4e-15
FREE_STEPS = 3   # Newton steps taken without the halving test (inside the bracket): see _newton
SETTLE = 0.01    # a row stops once its next step would be below SETTLE x the tolerance: see _newton



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


class Later:
    """The roofline rows that need Newton's steps, pooled across chunks (see :func:`minimise`).

    A first pass collects their positions and floors (an x where F' < 0, from :func:`_branch_root`);
    ``Later(floor)`` gives the floors back in the second pass, one a row of its ``p``, in order."""

    def __init__(self, floor=None):
        self.floor = floor
        self.rows, self.floors = [], []


def minimise(f, p, rows, lo, hi, lo_open, hi_open, g, later=None):
    """Argmin of F_g on [lo, hi] for the scenarios ``rows`` of ``p`` (a slice of at most CHUNK); NaN where lo >= hi.

    ``later``: a :class:`Later`, or None. In a first pass, the roofline rows whose minimum is not on a linear
    branch (the bracketed Newton solve) are left NaN and their positions in ``p`` and floors collected, for
    the caller to solve together with those of other chunks: they are ~14% of a chunk, and Newton's steps on
    a few thousand rows cost their numpy calls' overhead more than their arithmetic (pooled: half the time).
    In the second (``later.floor`` given) every row is one of those: solved from its floor."""
    k = _chunk_constants(f, p, rows, g)
    x = np.full(lo.shape, np.nan)
    usable = np.flatnonzero(np.isfinite(lo) & (lo < hi))
    if not usable.size:
        return x
    k = _take(k, usable)
    lo, hi, lo_open, hi_open = lo[usable], hi[usable], lo_open[usable], hi_open[usable]
    floor = None
    if k["roof"] and later is not None and later.floor is not None:
        floor = later.floor[rows][usable]
    elif k["roof"]:
        root, floor = _branch_root(f, k, lo, hi)
        known = ~np.isnan(root)
        x[usable[known]] = root[known]
        rest = np.flatnonzero(~known)
        if later is not None and rest.size:
            later.rows.append(rows.start + usable[rest])   # positions in p (rows: a slice from 0 up)
            later.floors.append(floor[rest])
            return x
        if rest.size < known.size:
            if not rest.size:
                return x
            usable, k, floor = usable[rest], _take(k, rest), floor[rest]
            lo, hi, lo_open, hi_open = lo[rest], hi[rest], lo_open[rest], hi_open[rest]
    x[usable] = _bracketed(f, k, lo, hi, lo_open, hi_open, floor=floor)
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
    fixed-MFU objective with psi' = psi_j': the paper's problem (:func:`_paper_root`), or with a data cap, where
    that problem's minimum repeats data (:func:`repeats_data`), the fixed-MFU capped solve (:func:`_capped`).
    The branch tried is the one that holds at the batch asked for: memory-bound when
    b / batch + C k >= 2 W / P."""
    with np.errstate(invalid="ignore"):
        branch = ((k["b"] * k["u0"] + k["ctx"] * k["kv"]) / k["bw"] >= 2.0 / k["peak"]).astype(np.int8)
    if not k["capped"]:
        x = _paper_root(f, k, branch)
    else:
        s = _branch_s(k, branch)
        repeats = repeats_data(f, k["c"], k["unique"], k["log_unique"], s)
        x = np.empty(branch.shape)
        plain = np.flatnonzero(~repeats)
        if plain.size:
            x[plain] = _paper_root(f, _take(k, plain), branch[plain])
        rows = np.flatnonzero(repeats)
        if rows.size:
            fixed = dict(c=k["c"][rows], unique=k["unique"][rows], log_unique=k["log_unique"][rows], capped=True,
                         roof=False, s=s[rows])
            x[rows] = _capped(f, fixed)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        n = (f.A / (k["c"] - f.B * np.exp(-f.beta * x))) ** (1.0 / f.alpha)
        good = (x > lo) & (x < hi) & (_branch(k, n) == branch)   # on every row: no copy of the constants
    return np.where(good, x, np.nan), x


def repeats_data(f, c, unique, log_unique, s):
    """Where the fixed-MFU minimum without a cap, of N (D + s), lies beyond U tokens (a finite U): where its F'
    at D = U is negative, or U lies below the curve's asymptote. (The sign of F' / (a_t N) = D + l (D + s) at ln U,
    not the minimum itself: one evaluation instead of compute_optimal's Newton solve.)"""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        y = f.B * np.exp(-f.beta * log_unique)
        rest = c - y
        l = -(f.beta / f.alpha) * y / rest
        return np.isfinite(unique) & (~(rest > 0) | ~(unique + l * (unique + s) >= 0))


def capped_minimum(f, p, rows):
    """Argmin x of the fixed-MFU objective with a data cap for the scenarios ``rows`` of ``p`` (at most CHUNK
    positions) where the minimum without the cap repeats data (:func:`repeats_data`)."""
    return _capped(f, _chunk_constants(f, p, rows, 1.0))


def _capped(f, k):
    """:func:`capped_minimum` on fixed-MFU constants ``k`` (``s``: serving cost per unit of a_t).

    F equals the uncapped objective up to ln U, and that falls there (its minimum lies above ln U, or ln U below
    the curve's asymptote: :func:`repeats_data`), so the bracket starts at ln U or the asymptote, as an open
    end (F' is not evaluated at that kink). Newton starts from :mod:`xlcalc.core._capped_start`'s table."""
    unique = k["unique"]
    lo, hi = x_bounds(f, k["c"], unique)
    lo = np.maximum(lo, k["log_unique"])
    start = _capped_start.start_log_effective(f, k["c"], unique, k["log_unique"], k["s"])
    x = np.full(lo.shape, np.nan)
    usable = np.flatnonzero(np.isfinite(lo) & (lo < hi))
    if usable.size:
        ends = np.ones(usable.size, dtype=bool)
        x[usable] = _bracketed(f, _take(k, usable), lo[usable], hi[usable], ends, ends, start[usable])
    return x


def _linear_branch(k, branch):
    """Where psi is linear in N on the branch (compute-bound, or memory-bound at the batch asked for) and D = D'."""
    return (branch <= 1) & np.isinf(k["unique"])


def _paper_root(f, k, branch):
    """The minimum of a_t N D + (a_in + a_out psi'(N)) N with psi' constant: optimal_log_tokens with s = that / a_t.

    On the branch's whole curve F is convex with this one minimum, so its minimum on [a, b], where the branch
    is F, is this point clipped to [a, b]."""
    return optimal_log_tokens(f, k["c"] + f.E, _branch_s(k, branch))


def _branch_s(k, branch):
    """s = (a_in + a_out psi') / a_t of the branch of psi linear in N (a fixed MFU: psi' = 2/P)."""
    if k["roof"]:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            slope = np.where(branch == 0, 2.0 / k["peak"], (k["b"] * k["u0"] + k["ctx"] * k["kv"]) / k["bw"])
    else:
        slope = 2.0 / k["peak"]
    return (k["a_in"] + k["a_out"] * slope) / k["a_t"]


def _newton(f, k, branch, a, b, slope_a, slope_b, start=None):
    """Root of the branch's F' in [a, b] by Newton safeguarded with bisection, or an end where F' points out.

    ``slope_a`` and ``slope_b`` are F' at the ends where already known (NaN: evaluated here, in place). At an
    open end (the asymptote, the cap) F' is NaN or has the sign that points inwards, so the end tests below
    never pick one. The iteration starts at ``start`` where that lies inside (a, b), else midway.

    A step that leaves the bracket is replaced by bisection, and from the (FREE_STEPS + 1)-th on so is one that
    does not halve the step before (Numerical Recipes' rtsafe rule). The first steps are exempt: from a far
    start they often do not halve where psi bends (its latency term's pole), and bisecting there threw good
    steps away (benchmarks/objectives.py's roofline rows: 6.7 evaluations a row with the rule from the first
    step, 6.4 without it for the first three).

    A row stops when its step is within the tolerance, or when the step after it would be: a step s at most a
    quarter of the Newton step p before it, with s^3 <= SETTLE tolerance p^2. Where the steps converge
    quadratically (the next is K s^2 with K ~ s / p^2) the error left after taking s is then below SETTLE x
    the tolerance; where they shrink only linearly, by 1/4 or less a step, below 0.05 x the tolerance: as
    exact as waiting for a step within the tolerance, one evaluation sooner (3.3 evaluations a capped
    fixed-MFU row become 2.3 on benchmarks/objectives.py's scenarios)."""
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
    prev = np.full(a.size, np.nan)   # |the Newton step before| (NaN: none, or a bisection)
    live = np.ones(a.size, dtype=bool)
    for count in range(MAX_STEPS):
        slope, step = _slopes(f, k, guess, br)
        low = slope < 0
        a, b = np.where(low, guess, a), np.where(low, b, guess)
        tolerance = X_TOLERANCE * np.maximum(1.0, np.abs(guess))
        # a step below the tolerance ends the row first: it may round to no move, which the bracket test
        # below would take for a step out of the bracket and bisect
        size = np.abs(step)
        width = b - a
        settled = (4.0 * size <= prev) & (size * size * size <= SETTLE * tolerance * prev * prev)
        stop = (slope == 0) | (size <= tolerance) | (width <= tolerance) | settled
        nxt = guess + step
        bisect = ~((nxt > a) & (nxt < b))
        if count >= FREE_STEPS:
            bisect |= 2.0 * size > last     # |2 step|: doubling is exact
        bisect &= ~stop                     # a row that stops takes no next step
        if bisect.any():
            nxt = np.where(bisect, 0.5 * (a + b), nxt)
            last = np.where(bisect, width, size)    # |the step taken|: only its size is compared
            prev = np.where(bisect, np.nan, size)
        else:
            last = prev = size
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
            todo, br, a, b, guess, last, prev = (t[keep] for t in (todo, br, a, b, guess, last, prev))
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


def minimum(f, p, g, later=None):
    """Argmin x over the whole curve on g GPUs per replica (the roofline: with a fixed MFU, :func:`capped_minimum`
    or the closed form), chunk by chunk (``later``: see :func:`minimise`)."""
    lo, hi, lo_open, hi_open = bounds(f, p, g)
    g = np.broadcast_to(g, lo.shape)
    x = np.empty(lo.size)
    for first in range(0, lo.size, CHUNK):
        i = slice(first, first + CHUNK)   # a slice: the constants are views, not copies
        x[i] = minimise(f, p, i, lo[i], hi[i], lo_open[i], hi_open[i], g[i], later)
    return x
