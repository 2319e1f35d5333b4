"""Whole scaling-law fit on the 47 real runs: xlcalc's batched Newton against the paper's per-start L-BFGS-B.

Run: python benchmarks/fit.py [--repeats 3] [--sample 20] [--vectorised-sample 200] [--seed 0]

xlcalc's fit (all 4,500 starts of the paper's grid, then the polish) is timed as a whole, best of
--repeats. The baseline is the method of the paper's public code (huber_optimize.py): one
scipy.optimize.minimize(method="L-BFGS-B") per start with scipy's finite-difference gradient, timed on a
random sample of the same starts in the same run and extrapolated to 4,500 starts, in two forms:
- as written: the objective loops over the runs in Python with scipy.special.logsumexp and huber per run;
- vectorised objective: the same L-BFGS-B calls on a numpy objective (a fairer, faster baseline).
Single-threaded BLAS is forced so every figure is for one core.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from scipy.special import huber, logsumexp  # noqa: E402

from xlcalc.fitting import HUBER_DELTA, fit_scaling_law, paper_grid  # noqa: E402

RUNS_CSV = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "mosaic_training_runs.csv"


def read_runs():
    with open(RUNS_CSV, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(float(r["Parameters"]), float(r["Tokens"]), float(r["Smoothed Loss"])) for r in rows]


def paper_objective(runs):
    """huber_optimize.py's huber_loss: a Python loop over the runs."""

    def objective(start):
        alpha, beta, e, a, b = start
        total = 0.0
        for n, d, l in runs:
            residual = logsumexp([a - alpha * np.log(n), b - beta * np.log(d), e]) - np.log(l)
            total += huber(HUBER_DELTA, residual)
        return total

    return objective


def vectorised_objective(runs):
    """The same objective with numpy over all runs at once."""
    log_n, log_d, log_l = (np.log(np.array(column)) for column in zip(*runs))

    def objective(start):
        alpha, beta, e, a, b = start
        terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full(log_n.shape, e)])
        return huber(HUBER_DELTA, logsumexp(terms, axis=0) - log_l).sum()

    return objective


def time_per_start(objective, starts):
    """Seconds per start of scipy L-BFGS-B with its finite-difference gradient (the paper's call)."""
    begin = time.perf_counter()
    for start in starts:
        scipy.optimize.minimize(objective, start, method="L-BFGS-B")
    return (time.perf_counter() - begin) / len(starts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20, help="starts timed with the paper's objective as written")
    parser.add_argument("--vectorised-sample", type=int, default=200, help="starts timed with the numpy objective")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    runs = read_runs()
    params, tokens, losses = (np.array(column) for column in zip(*runs))
    grid = paper_grid()

    best = float("inf")
    for _ in range(args.repeats):
        begin = time.perf_counter()
        result = fit_scaling_law(params, tokens, losses)
        best = min(best, time.perf_counter() - begin)

    rng = np.random.default_rng(args.seed)
    written = time_per_start(paper_objective(runs), grid[rng.choice(len(grid), args.sample, replace=False)])
    vectorised = time_per_start(vectorised_objective(runs),
                                   grid[rng.choice(len(grid), args.vectorised_sample, replace=False)])
    starts = len(grid)

    print(f"runs: {len(runs)}, starts: {starts}, one core")
    print(f"xlcalc batched Newton          : whole fit {best:.2f} s (best of {args.repeats}); "
          f"{result.converged} of {result.starts} starts converged; objective {result.objective:.10e}")
    print("  E, A, B, alpha, beta =", ", ".join(f"{x:.6g}" for x in result.constants))
    print(f"paper's L-BFGS-B, as written   : {written * 1e3:.0f} ms/start on {args.sample} starts "
          f"-> {written * starts / 60:.1f} min for {starts} starts")
    print(f"paper's L-BFGS-B, numpy loss   : {vectorised * 1e3:.1f} ms/start on {args.vectorised_sample} starts "
          f"-> {vectorised * starts:.0f} s for {starts} starts")
    print(f"ratio: {written * starts / best:,.0f}x against the code as written, "
          f"{vectorised * starts / best:,.1f}x against L-BFGS-B with a numpy objective")


if __name__ == "__main__":
    main()
