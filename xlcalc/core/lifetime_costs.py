"""Lifetime cost of a model on its iso-loss curve, with serving from the roofline, and its exact minimum piece by piece.

Every objective of :mod:`xlcalc.core.objectives` (dollars, kWh, kg CO2e) is a weight per GPU-hour of each phase
times that phase's GPU-hours, so one kernel serves them all. Along the iso-loss curve, with x = ln D'
(effective training tokens, :mod:`xlcalc.core.data_limits`; D' = D without a data cap), c = loss - E and
y = B e^(-beta x):

    N(x)   = (A / (c - y))^(1/alpha)                       l(x) = d ln N / dx = -(beta/alpha) y / (c - y)
    D(x)   = the training tokens giving D' = e^x          d(x) = d ln D / dx (1 without a cap, >= 1 with one)
    F(x)   = a_t N D + a_in N + a_out psi(N)
    F'(x)  = a_t N D (l + d) + l N (a_in + a_out psi'(N))

with a_t = 6 w_t / (3600 P_t mfu_train) per parameter-token of training, a_in = 2 w_i T_in / (3600 P_i mfu_prefill)
per parameter over the lifetime input tokens T_in, a_out = w_i T_out / 3600 over the lifetime output tokens,
w the weight of one GPU-hour of the phase and P the dense peak in FLOP/s. psi(N) is the GPU-seconds one
output token takes (GPUs x decode step / batch):

    fixed MFU (the paper):  psi(N) = 2 N / (P mfu_decode)
    roofline:               psi(N) = max(2 N / (P mfu_decode), (b N u(N) + C k N) / (W bw_eff))
    u(N) = 1 / batch(N)     = max(1 / batch_cap,                              the batch asked for (or no cap)
                                  S k N / (g M' - b N),                       memory: weights + batch x KV fit
                                  C k N / (tau g W bw_eff - b N),             latency, memory-bound step <= tau
                                  2 N / (tau g P mfu_decode))                 latency, compute-bound step <= tau

where b is bytes per parameter, k KV-cache bytes per token per parameter, S = prompt + generated tokens
per request (the KV cache of one sequence), C = prompt + generated / 2 (the mean decode context, as in
:mod:`xlcalc.core.latency`), M' = GPU memory x (1 - headroom), W the bandwidth in bytes/s, tau the time-per-token
target (inf: none) and g the GPUs per replica, a power of two up to max_gpus that holds the weights and
one sequence's KV cache and meets tau at batch 1: N <= q g with q = min(M' / (b + S k),
tau W bw_eff / (b + C k), tau P mfu_decode / 2). Of the counts that fit, the cheapest is used, the fewest on
a tie (as :func:`xlcalc.max_batch` with gpus=0). The batch is
real (not floored), tensor-parallel all-reduce time is not counted (so g cancels out of psi except through
the batch: more GPUs help only where memory or latency limits the batch), prefill is compute-bound and
attention FLOPs are not counted. With no KV cache (k = 0) and no
latency target, psi = N max(2 / (P mfu_decode), b / (batch W bw_eff)): a constant decode MFU of
2 batch W bw_eff / (b P) when memory-bound, the paper's model exactly.

Why the minimum is exact: ln N is convex in x, ln D is convex in x (d grows with x) and each term of u is
convex and increasing in N where it is finite, so with g fixed F_g is convex in x on N <= q g. There are at
most 1 + log2(max_gpus) such pieces; on each the minimum is its end N = q g or the root of the nondecreasing
F_g', found by a bracketed Illinois (regula falsi) iteration with bisection safeguards to 4e-15 in x; the
pieces are then compared (min over g of min over N of F_g = min over N of the cheapest g). No grid is searched.
This piece-by-piece solver is the reference; :mod:`xlcalc.core._objective_kernels` finds the same minimum faster
(one piece, the kinks in closed form, Newton steps with the analytic F'') and is what
:func:`xlcalc.lifetime_optimal` runs. For a plain-formula sheet: compute q and the piece ends x(q g) = -ln((c - A/(q g)^alpha)/B)/beta
for g = 1, 2, 4, 8, iterate x <- x - F'(x) / F''(x) (or bisection on the sign of F') inside each piece with
the formulas above, evaluate F at each piece's solution and take the smallest.
"""

from __future__ import annotations

import numpy as np

from .data_limits import R_D_STAR, _log_tokens_of_effective
from ..units import BYTES_PER_GB, BYTES_PER_TBS, FLOPS_PER_TFLOPS, SECONDS_PER_HOUR

X_TOLERANCE = 4e-15
MAX_STEPS = 200
_PREFER = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-6, 1.0 + 1e-6])   # labels only: a limit within 1e-6 binds
BINDINGS = ("fixed MFU", "compute", "memory bandwidth", "memory capacity", "latency")
_LIMIT_CODES = np.array([2, 3, 4, 4], dtype=np.int8)   # the binding code of each term of u (latency twice)


# ----------------------------------------------------------------------------------------------
# The iso-loss curve


def curve_point(f, c, x, unique):
    """(N, D, l, d) at x = ln D' on the iso-loss curve with loss - E = c (arrays of equal length)."""
    y = f.B * np.exp(-f.beta * x)
    rest = c - y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = (f.A / rest) ** (1.0 / f.alpha)
        slope_n = -(f.beta / f.alpha) * y / rest
    if not np.isfinite(unique).any():   # no data cap: D = D'
        return n, np.exp(x), slope_n, 1.0
    log_d, slope_d = _log_tokens_of_effective(x, unique)
    return n, np.exp(log_d), slope_n, slope_d


def x_of_params(f, c, n):
    """x = ln D' where the curve has N params; inf where N is too small to reach the loss at any D'."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = c - f.A / n**f.alpha
        return np.where(rest > 0, -np.log(np.where(rest > 0, rest, 1.0) / f.B) / f.beta, np.inf)


def x_bounds(f, c, unique):
    """(asymptote, cap): the curve exists for asymptote < x < cap (cap = ln(U (1 + R*_D)), inf without data cap)."""
    with np.errstate(divide="ignore"):
        return np.log(f.B / c) / f.beta, np.log(unique * (1.0 + R_D_STAR))


# ----------------------------------------------------------------------------------------------
# Serving: GPU-seconds per output token


def serving_numbers(v):
    """Per-scenario constants of psi in SI units (arrays over the scenarios)."""
    s = dict(peak=v["infer_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_decode"], roofline=v["roofline"])
    if not np.any(v["roofline"]):
        return s
    s["bw"] = v["infer_mem_bw_tbs"] * BYTES_PER_TBS * v["bw_eff"]
    s["mem"] = v["infer_memory_gb"] * BYTES_PER_GB * (1.0 - v["headroom"])
    s["b"], s["k"], s["tau"] = v["bytes_per_param"], v["kv_bytes_per_param"], v["tpot_target_s"]
    s["seq"] = v["input_tokens_per_request"] + v["output_tokens_per_request"]
    s["ctx"] = v["input_tokens_per_request"] + 0.5 * v["output_tokens_per_request"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s["inv_cap"] = np.where(np.isfinite(v["batch"]), 1.0 / v["batch"], 0.0)
        s["q"] = np.minimum.reduce([s["mem"] / (s["b"] + s["seq"] * s["k"]),
                                    np.where(np.isfinite(s["tau"]), s["tau"] * s["bw"] / (s["b"] + s["ctx"] * s["k"]),
                                             np.inf),
                                    s["tau"] * s["peak"] / 2.0])
    return s


def psi(s, n, g, i, slopes=True, labels=True):
    """(psi, dpsi/dN, binding code, batch) for scenarios ``i`` at N params on g GPUs (see the module notes);
    dpsi/dN is None unless ``slopes``, the code and the batch None unless ``labels`` (the same psi)."""
    peak = s["peak"][i]
    compute = 2.0 * n / peak
    roof = s["roofline"][i]
    if not np.any(roof):
        return compute, 2.0 / peak if slopes else None, np.zeros(n.shape, dtype=np.int8), np.full(n.shape, np.nan)
    b, k, tau, bw = s["b"][i], s["k"][i], s["tau"][i], s["bw"][i]
    seq, ctx, gm = s["seq"][i], s["ctx"][i], g * s["mem"][i]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        free = gm - b * n
        t_mem = seq * k * n / free
        lat_free = tau * g * bw - b * n
        finite_tau = np.isfinite(tau)
        t_lat = np.where(finite_tau & (k > 0), ctx * k * n / lat_free, 0.0)
        t_comp = np.where(finite_tau, 2.0 * n / (tau * g * peak), 0.0)
    terms = [np.broadcast_to(s["inv_cap"][i], n.shape), np.where(k > 0, t_mem, 0.0), t_lat, t_comp]
    u, which = _first_max(terms) if slopes else (_largest(terms), None)   # which: for the slope only
    memory = (b * n * u + ctx * k * n) / bw
    bound_compute = compute >= memory
    value = np.where(roof, np.maximum(compute, memory), compute)
    slope = None
    if slopes:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d_mem = seq * k * gm / free**2
            d_lat = np.where(finite_tau & (k > 0), ctx * k * tau * g * bw / lat_free**2, 0.0)
            d_comp = np.where(finite_tau, 2.0 / (tau * g * peak), 0.0)
        du = np.where(which == 1, np.where(k > 0, d_mem, 0.0),
                      np.where(which == 2, d_lat, np.where(which == 3, d_comp, 0.0)))
        d_memory = (b * u + b * n * du + ctx * k) / bw
        slope = np.where(roof & ~bound_compute, d_memory, 2.0 / peak)
    if not labels:
        return value, slope, None, None
    # At (or within 1e-6 of) a kink the limit, not the batch asked for, is reported as binding.
    label = _first_max([t * w for t, w in zip(terms, _PREFER)])[1]
    code = np.where(~roof, 0, np.where(bound_compute, 1, _LIMIT_CODES[label])).astype(np.int8)
    with np.errstate(divide="ignore"):
        batch = np.where(roof, 1.0 / u, np.nan)
    return value, slope, code, batch


def _largest(terms):
    """The largest of the arrays, NaN where any is NaN (np.max over a stack of them, without the stack)."""
    best = terms[0]
    for term in terms[1:]:
        best = np.maximum(best, term)
    return best


def _first_max(terms):
    """(the largest of the arrays, the index of the first that is largest): np.max and np.argmax over a stack
    of them, without the stack (a strided reduction that cost more than the terms themselves)."""
    best = _largest(terms)
    which = np.zeros(best.shape, dtype=np.int8)
    if not np.isnan(best).any():   # no NaN anywhere: the first term equal to the largest, from the last back
        for j in range(len(terms) - 1, 0, -1):
            which = np.where(terms[j] == best, np.int8(j), which)
        return best, np.where(terms[0] == best, np.int8(0), which)
    best = terms[0]
    for j, term in enumerate(terms[1:], start=1):
        larger = (term > best) | (np.isnan(term) & ~np.isnan(best))   # argmax stops at the first NaN
        best, which = np.where(larger, term, best), np.where(larger, np.int8(j), which)
    return best, which


# ----------------------------------------------------------------------------------------------
# The objective and its derivative along the curve


def objective_weights(v, w_train, w_infer):
    """(a_t, a_in, a_out): weights of N D, N and psi(N) in F (module notes)."""
    a_t = 6.0 * w_train / (SECONDS_PER_HOUR * v["train_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_train"])
    a_in = (2.0 * w_infer * v["input_tokens"]
            / (SECONDS_PER_HOUR * v["infer_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_prefill"]))
    a_out = w_infer * v["output_tokens"] / SECONDS_PER_HOUR
    return a_t, a_in, a_out


def objective_at(p, x, g, i, slopes=True, labels=True):
    """(F, F', N, D, psi, code, batch) at x for scenarios ``i`` on g GPUs (F' None unless ``slopes``, the code
    and the batch None unless ``labels``)."""
    n, d, slope_n, slope_d = curve_point(p["fit"], p["c"][i], x, p["unique"][i])
    value_psi, slope_psi, code, batch = psi(p["serving"], n, g, i, slopes, labels)
    train = p["a_t"][i] * n * d
    value = train + p["a_in"][i] * n + p["a_out"][i] * value_psi
    if not slopes:
        return value, None, n, d, value_psi, code, batch
    with np.errstate(invalid="ignore"):
        slope = train * (slope_n + slope_d) + slope_n * n * (p["a_in"][i] + p["a_out"][i] * slope_psi)
    return value, slope, n, d, value_psi, code, batch


# ----------------------------------------------------------------------------------------------
# Exact minimum of a convex F on [lo, hi]


def _walk(p, g, i, point, want_positive):
    """First k = 0, 1, ... with F'(point(k)) of the wanted sign; ``point(k, rows)`` gives the points of those rows."""
    rows = np.arange(i.size)
    with np.errstate(invalid="ignore"):
        x = point(0, rows)
    for k in range(1, MAX_STEPS):
        _, slope, *_ = objective_at(p, x[rows], g, i[rows])
        rows = rows[~(slope > 0 if want_positive else slope < 0)]
        if not rows.size:
            break
        with np.errstate(invalid="ignore"):
            x[rows] = point(k, rows)
    return x


def minimise_piece(p, g, i, lo, hi, lo_open, hi_open):
    """Argmin of the convex F on [lo, hi] for scenarios ``i`` on g GPUs.

    An open end is the asymptote (F' -> -inf) or the data cap / infinity (F' -> +inf); at a closed end
    the minimum is that end when F' points outwards there.
    """
    x = np.full(lo.shape, np.nan)
    for end, is_open, at_end in ((lo, lo_open, lambda s: s >= 0), (hi, hi_open, lambda s: s <= 0)):
        check = np.flatnonzero(~is_open & np.isnan(x))
        if check.size:
            _, slope, *_ = objective_at(p, end[check], g, i[check])
            x[check[at_end(slope)]] = end[check[at_end(slope)]]
    todo = np.flatnonzero(np.isnan(x))
    if not todo.size:
        return x
    ii, left, right = i[todo], lo[todo].copy(), hi[todo].copy()
    mid = np.where(np.isfinite(right), 0.5 * (left + right), left + 1.0)
    sub = np.flatnonzero(lo_open[todo])
    if sub.size:
        base, start = left[sub], mid[sub]
        left[sub] = _walk(p, g, ii[sub], lambda k, r: base[r] + (start[r] - base[r]) * 0.5**k, False)
    sub = np.flatnonzero(hi_open[todo])
    if sub.size:
        cap, start = right[sub], np.maximum(mid[sub], left[sub])
        right[sub] = _walk(p, g, ii[sub], lambda k, r: np.where(np.isfinite(cap[r]),
                                                              cap[r] - (cap[r] - start[r]) * 0.5**k,
                                                              start[r] + 2.0**k - 1.0), True)
    x[todo] = _illinois(p, g, ii, left, right)
    return x


def _illinois(p, g, i, left, right):
    """Root of the nondecreasing F' in [left, right] with F'(left) < 0 < F'(right), to X_TOLERANCE.

    Illinois (regula falsi that halves the value kept at a stale end) converges superlinearly where F' is
    smooth; where it is not (a kink of the serving cost puts a jump in F'), a step that has not halved the
    bracket over two iterations is replaced by bisection, so the bracket at least halves every three steps.
    """
    _, fa, *_ = objective_at(p, left, g, i)
    _, fb, *_ = objective_at(p, right, g, i)
    x = 0.5 * (left + right)
    rows = np.arange(left.size)        # positions in the output of the problems still open
    a, b, ii = left.copy(), right.copy(), i.copy()
    side = np.zeros(a.size, dtype=np.int8)
    before = np.full(a.size, np.inf)   # the bracket width two steps ago
    last = b - a
    for _ in range(MAX_STEPS):
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = (a * fb - b * fa) / (fb - fa)
        width = b - a
        bisect = (width > 0.5 * before) | ~np.isfinite(guess) | (guess <= a) | (guess >= b)
        guess = np.where(bisect, 0.5 * (a + b), guess)
        _, fg, *_ = objective_at(p, guess, g, ii)
        x[rows] = guess
        low = fg < 0
        fb = np.where(low, np.where(side == -1, 0.5 * fb, fb), fg)
        fa = np.where(low, fg, np.where(side == 1, 0.5 * fa, fa))
        a, b = np.where(low, guess, a), np.where(low, b, guess)
        side = np.where(low, -1, 1).astype(np.int8)
        before, last = last, width
        keep = ~((fg == 0) | (b - a <= X_TOLERANCE * np.maximum(1.0, np.abs(guess))))
        if not keep.any():
            return x
        if not keep.all():
            rows, a, b, fa, fb, ii, side, before, last = (v[keep] for v in (rows, a, b, fa, fb, ii, side, before, last))
    x[rows] = np.nan   # not reached for valid inputs; never return an unconverged number
    return x


def gpu_counts(max_gpus):
    """The GPU counts tried: powers of two up to ``max_gpus`` (1 when max_gpus < 2)."""
    counts, g = [], 1
    while g <= max_gpus:
        counts.append(g)
        g *= 2
    return counts
