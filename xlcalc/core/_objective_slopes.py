"""F along one branch of the serving cost: a chunk's constants, psi's branches and kinks, F' and the Newton steps.

The pieces :mod:`xlcalc.core._objective_kernels` solves with (its notes say why each is there). F'' in closed form
(F' in :mod:`xlcalc.core.lifetime_costs`' notes):

    F''(x) = a_t N D ((l + d)^2 + l' + d') + N (l' + l^2) (a_in + a_out psi'(N)) + a_out psi''(N) (l N)^2
    (Newton's steps are taken on ln P - ln Q, F' = P - Q, with the derivatives of :func:`_slopes`; F'' only
    where P or Q is not positive)
    l' = (beta^2/alpha) y c / (c - y)^2        d' = d (1 - d + (D'/U) / (R* (1 - z)))   (0 below D' = U)
    psi' = 2/P (compute-bound) or (b u + b N u' + C k)/W; psi'' = 0 or (2 b u' + b N u'')/W
    u1 = S k N/(G - bN): u1' = S k G/(G - bN)^2, u1'' = 2 b u1'/(G - bN) (G = g M'; u2 likewise with C, tau g W)
"""

from __future__ import annotations

import numpy as np

from .data_limits import R_D_STAR
from .lifetime_costs import _first_max, x_of_params


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

    The step is Newton's on G = ln P - ln Q, where F' = P - Q with P = a_t N D d (the training tokens' gain)
    and Q = -l (a_t N D + N (a_in + a_out psi')) (what a larger model costs): both are positive wherever F is
    defined, so G has the sign of F' and no pole, and G is nearly linear in x (ln D, ln N and ln -l are), so
    the steps converge from far away, where Newton on F' itself (exponential in x) crawls. (An earlier split,
    P = a_t N D (l + d), has a pole of ln P where l + d = 0, next to the minimum when serving costs little: its
    steps overshot there, and those rows took up to 27 evaluations.) G' = d + d'/d - l'/l - (a_t N D d +
    a_out psi'' l N^2) / (a_t N D + N (a_in + a_out psi')). Where P or Q is not positive (NaN inputs, a zero
    training weight) it is Newton's step on F'."""
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
        total = train + n * serve
        gain = train * d                # P
        loss = -l * total               # Q
        slope = gain - loss
        if not second:
            return slope, None
        dl = (f.beta * f.beta / f.alpha) * y * k["c"] / (rest * rest)
        dd = np.where(repeated, 1.0 - d + ratio / (R_D_STAR * unused), 0.0) if k["capped"] else 0.0   # d'/d
        logs = (gain > 0) & (loss > 0)
        g_value = np.log(gain / loss)
        g_slope = d + dd - dl / l - (gain + k["a_out"] * ddpsi * l * n * n) / total
        step = -g_value / g_slope
        if not logs.all():
            d_gain = train * ((l + d) ** 2 + dl + d * dd)
            d_loss = -(n * (dl + l * l) * serve + k["a_out"] * ddpsi * (l * n) ** 2)
            step = np.where(logs, step, -slope / (d_gain - d_loss))
        if k["capped"]:
            # Past D' = U, G is nearly linear in the epochs w = D/U (ln D' saturates): Newton's step in w,
            # w' = w - G (D'/U) / (G' (1 - z)), mapped back to x = ln D'(w')
            w_step = logs & repeated & (z < 1.0)
            step = np.where(w_step, _epochs_step(k, x, g_value, g_slope, ratio, epochs, unused), step)
    return slope, step


def _fixed_slopes(f, k, x, second=True):
    """:func:`_slopes` with a fixed MFU, where psi' = 2/P is constant: F' / (a_t N) and the same Newton step.

    F' = a_t N (D d + l (D + s)) with s = (a_in + a_out 2/P) / a_t, so N, its power and a_t cancel from the
    sign of F' and from G = ln P - ln Q = ln(D d / (-l (D + s))), G' = d + d'/d - l'/l - D d / (D + s); the step
    where P or Q is not positive is Newton's on F' / (a_t N) (the same step as on F': its factor cancels).
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
        total = tokens + k["s"]
        gain = tokens * d               # P / (a_t N)
        loss = -l * total               # Q / (a_t N)
        slope = gain - loss
        if not second:
            return slope, None
        dl = (f.beta * f.beta / f.alpha) * y * k["c"] / (rest * rest)
        g_slope = d - dl / l - gain / total
        if k["capped"]:
            bent = 1.0 - d + ratio / (R_D_STAR * unused)                    # d'/d
            g_slope += bent if every else np.where(repeated, bent, 0.0)
        logs = (gain > 0) & (loss > 0)
        g_value = np.log(gain / loss)
        # Past D' = U, G is nearly linear in the epochs w = D/U (ln D' saturates): Newton's step in w,
        # w' = w - G (D'/U) / (G' (1 - z)), mapped back to x = ln D'(w')
        w_step = logs & repeated & (z < 1.0) if k["capped"] else None
        if w_step is not None and w_step.all():
            return slope, _epochs_step(k, x, g_value, g_slope, ratio, epochs, unused)
        step = -g_value / g_slope
        if not logs.all():
            both = l + d
            curve = both * both + dl
            if k["capped"]:
                curve += d * bent if every else np.where(repeated, d * bent, 0.0)
            step = np.where(logs, step, -slope / (tokens * curve + (dl + l * l) * k["s"]))
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
