"""The minimum of a lifetime objective for every scenario, and the figures at it (for :mod:`xlcalc.core.objectives`).

:func:`optimum` runs the fast solver of :mod:`xlcalc.core._objective_kernels`, or with ``SOLVER = "reference"``
the piece-by-piece one of :mod:`xlcalc.core.lifetime_costs` that the tests and the benchmark compare it with.
"""

from __future__ import annotations

import numpy as np

from . import _objective_kernels as _kernels
from . import lifetime_costs as lc
from ..units import FLOPS_PER_TFLOPS, SECONDS_PER_HOUR

SOLVER = "fast"   # or "reference": every GPU-count piece by walks and Illinois steps (lifetime_costs)
TIE = 1e-12   # a larger replica must be cheaper by more than this (relative) to be chosen


def optimum(f, v, w_t, w_i, free_x=None, brief=False):
    """(N, D, F, x, gpus, batch, binding, train GPU-hours, inference GPU-hours, free x) of the minimum, flat arrays;
    ``brief``: (N, D, F, free x) only (a reference optimum), the same digits.

    free x is the fixed-MFU optimum's x without a data cap where the solve computed it on the way (a capped
    fixed-MFU solve does, for every row unless ``brief``), NaN elsewhere. Given back as ``free_x`` to the solve
    of the same fixed-MFU scenarios with unlimited data, it is that solve's answer (the same operations: not
    redone).
    Solved CHUNK scenarios at a time into preallocated outputs: every scenario's arithmetic is the same as in
    one whole-array solve (each chunk takes the same paths), but the working arrays stay in cache and the
    memory beyond the outputs does not grow with the number of scenarios. The roofline scenarios that need
    Newton's steps (:func:`_kernels.minimise`'s ``later``) are solved after the chunks, CHUNK of them at a time."""
    size = v["loss"].size
    out = [np.empty(size) for _ in range(4 if brief else 10)]
    if not brief:
        out[6] = np.empty(size, dtype=np.int8)
    rows, floors = [], []   # the roofline rows that need a Newton solve: pooled across chunks (_kernels.minimise)
    for first in range(0, size, _kernels.CHUNK):
        part = slice(first, first + _kernels.CHUNK)
        later = _kernels.Later()
        _solve_rows(f, v, w_t, w_i, free_x, brief, part, out, later)
        rows.extend(first + positions for positions in later.rows)
        floors.extend(later.floors)
    if rows:
        rows, floors = np.concatenate(rows), np.concatenate(floors)
        for first in range(0, rows.size, _kernels.CHUNK):
            part = slice(first, first + _kernels.CHUNK)
            _solve_rows(f, v, w_t, w_i, free_x, brief, rows[part], out, _kernels.Later(floors[part]))
    return tuple(out)


def _solve_rows(f, v, w_t, w_i, free_x, brief, rows, out, later=None):
    """Solve the scenarios ``rows`` (a slice or increasing positions, at most CHUNK) into the outputs ``out``;
    ``later``: a :class:`_kernels.Later` (the roofline rows that need a Newton solve: see _kernels.minimise)."""
    chunk = {name: _rows(a, rows) for name, a in v.items()}
    pieces = _optimum_chunk(f, chunk, _rows(w_t, rows), _rows(w_i, rows), None if free_x is None else free_x[rows],
                            brief, later)
    for whole, piece in zip(out, pieces):
        whole[rows] = piece


def _rows(a, part):
    """The scenarios ``part`` of a per-scenario array (a single value stays as it is)."""
    return a[part] if np.ndim(a) else a


def _optimum_chunk(f, v, w_t, w_i, free_x=None, brief=False, later=None):
    """:func:`optimum` for one chunk of scenarios (``later``: see :func:`_solve_rows`)."""
    a_t, a_in, a_out = lc.objective_weights(v, w_t, w_i)
    c = v["loss"] - f.E
    unique = v["unique_tokens"]
    roof = v["roofline"]
    size = c.size
    closed_form = not roof.any() and not np.isfinite(unique).any()
    p = dict(fit=f, c=c, unique=unique, a_t=a_t, a_in=a_in, a_out=a_out, serving=lc.serving_numbers(v))
    if closed_form:
        # The paper's form N (D + s): xlcalc.compute_optimal's kernel solves it (s = T / 3 there). x is not
        # changed below, and optimum() copies each output into its own array: x and free x may be one array.
        x = free_x = _kernels.paper_log_tokens(f, v["loss"], _paper_s(p)) if free_x is None else free_x
        gpus = np.full(size, np.nan)
    every = slice(None)   # all the rows: views of the constants, not copies
    known = None
    if not closed_form:
        if SOLVER == "reference":
            x, gpus, free_x, *known = _pieces_reference(f, p, v, size)
        else:
            x, gpus, free_x, *known = _pieces(f, p, v, size, later, brief)
    g_used = np.where(np.isnan(gpus), 1.0, gpus)
    at = np.where(np.isfinite(x), x, 0.0)
    if known:   # the figures at x on the GPUs chosen, which _pieces evaluated (a row not solved: F = inf below)
        value, _, n, d, value_psi, code, batch = known[0]
    else:
        value, _, n, d, value_psi, code, batch = lc.objective_at(p, at, g_used, every, slopes=False)
    bad = ~np.isfinite(x)
    value = np.where(bad, np.inf, value)
    if brief:
        return n, d, value, free_x
    if roof.any():
        # At the end N = q g of its piece the optimum is held back by what sets q: memory or the latency target.
        sv = p["serving"]
        end = lc.x_of_params(f, c, g_used * sv["q"])
        at_end = roof & (np.abs(x - end) <= 1e-12 * np.maximum(1.0, np.abs(x)))
        memory_sets_q = sv["q"] >= sv["mem"] / (sv["b"] + sv["seq"] * sv["k"]) * (1 - 1e-15)
        code = np.where(at_end, np.where(memory_sets_q, 3, 4), code)
    hours_t = 6.0 * n * d / (SECONDS_PER_HOUR * v["train_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_train"])
    hours_i = (2.0 * n * v["input_tokens"] / (v["infer_peak_tflops"] * FLOPS_PER_TFLOPS * v["mfu_prefill"])
               + v["output_tokens"] * value_psi) / SECONDS_PER_HOUR
    return n, d, value, x, gpus, batch, code, hours_t, hours_i, free_x


def _pieces(f, p, v, size, later=None, brief=False):
    """(x, gpus, free x) of the minimum by :mod:`xlcalc.core._objective_kernels`: one solve on the largest replica
    allowed (no fewer GPUs is cheaper anywhere), then the fewest GPUs with the same value there (the reference's
    tie rule); free x: :func:`optimum`'s (NaN with the roofline, and for a ``brief`` solve where data repeats:
    not computed). ``later``: see :func:`_kernels.minimise` (the rows left for it come out as not solved here)."""
    roof = v["roofline"]
    if not roof.any():
        # F >= the uncapped F, equal up to D' = U: where the uncapped optimum needs no repeats it is the answer
        s = _paper_s(p)
        with np.errstate(divide="ignore"):
            repeats = _kernels.repeats_data(f, p["c"], p["unique"], np.log(p["unique"]), s)
        if brief:   # free x is not given back: the closed form only where it is the answer
            free_x = np.full(size, np.nan)
            plain = np.flatnonzero(~repeats)
            free_x[plain] = _kernels.paper_log_tokens(f, v["loss"][plain], s[plain])
        else:
            free_x = _kernels.paper_log_tokens(f, v["loss"], s)
        x = free_x.copy()
        rows = np.flatnonzero(repeats)
        if rows.size:
            x[rows] = _kernels.capped_minimum(f, p, rows if rows.size < size else slice(None))
        return x, np.full(size, np.nan), free_x
    top = np.exp2(np.floor(np.log2(v["max_gpus"])))
    x = _kernels.minimum(f, p, top, later=later)
    every = slice(None)   # all the rows: views of the constants, not copies
    finite = np.isfinite(x)
    at = np.where(finite, x, 0.0)
    figures = lc.objective_at(p, at, top, every, slopes=False, labels=not brief)   # brief: F only
    best, _, n, _, psi_top, *_ = figures
    gpus = np.where(finite, top, np.nan)
    chosen = ~finite
    for g in lc.gpu_counts(float(np.max(top)))[:-1]:
        rows = np.flatnonzero(~chosen & (g < top))
        rows = rows[n[rows] <= g * p["serving"]["q"][rows]]   # the model fits on g GPUs
        if not rows.size:
            continue
        # F_g - F_top = a_out (psi_g - psi_top) at the same x
        value_psi, _, code, batch = lc.psi(p["serving"], n[rows], float(g), rows, False, not brief)
        extra = p["a_out"][rows] * (value_psi - psi_top[rows])
        same = extra <= best[rows] * TIE
        rows = rows[same]
        gpus[rows] = g
        chosen[rows] = True
        # the figures on g GPUs: objective_at's with that psi (the same operations, so the same digits)
        figures[4][rows] = value_psi[same]
        if not brief:
            figures[5][rows], figures[6][rows] = code[same], batch[same]
        figures[0][rows] = p["a_t"][rows] * n[rows] * figures[3][rows] + p["a_in"][rows] * n[rows] \
            + p["a_out"][rows] * value_psi[same]
    return x, gpus, np.full(size, np.nan), figures   # figures on gpus (NaN: none)


def _paper_s(p):
    """s of the paper's N (D + s) with a fixed MFU (xlcalc.compute_optimal's inference_tokens / 3)."""
    return (p["a_in"] + p["a_out"] * 2.0 / p["serving"]["peak"]) / p["a_t"]


def _pieces_reference(f, p, v, size):
    """(x, gpus) of the minimum by the reference: every GPU-count piece solved by lifetime_costs.minimise_piece."""
    roof = v["roofline"]
    c, every = p["c"], np.arange(size)
    asymptote, cap = lc.x_bounds(f, c, p["unique"])
    best_x, best_value, best_g = np.full(size, np.nan), np.full(size, np.inf), np.full(size, np.nan)
    counts = lc.gpu_counts(float(np.max(v["max_gpus"]))) if roof.any() else [1]
    for g in counts:
        if roof.any():
            q = p["serving"]["q"]
            lo = np.maximum(lc.x_of_params(f, c, g * q), asymptote)
            lo_open = lo <= asymptote
            usable = (g <= v["max_gpus"]) & (lo < cap) & np.isfinite(lo)
        else:
            lo, lo_open = asymptote, np.ones(size, dtype=bool)
            usable = lo < cap
        hi, hi_open = cap, np.ones(size, dtype=bool)
        rows = every[usable]
        if not rows.size:
            continue
        xg = lc.minimise_piece(p, float(g), rows, lo[rows], hi[rows], lo_open[rows], hi_open[rows])
        value = lc.objective_at(p, xg, float(g), rows)[0]
        # ties (the batch cap binds on either count) go to the fewer GPUs
        better = np.isfinite(value) & (value < best_value[rows] * (1.0 - TIE))
        best_x[rows[better]] = xg[better]
        best_value[rows[better]] = value[better]
        best_g[rows[better]] = g
    if roof.any():
        return best_x, np.where(roof, best_g, np.nan), np.full(size, np.nan)
    return best_x, np.full(size, np.nan), _kernels.paper_log_tokens(f, v["loss"], _paper_s(p))

