"""Compute-optimal solves per second: xlcalc's vectorised solver against the paper's per-scenario Newton loop.

Run: python benchmarks/solver.py [--scenarios 1000000] [--baseline-sample 2000]

The baseline is the method of the paper's public code (compute_optimal.py): scipy.optimize.newton
per scenario, from a fixed start of 1e8 tokens, on the derivative of lifetime FLOPs along the iso-loss
curve. It is timed on a random sample of the same scenarios in the same run, and both rates are
printed with their ratio. Single-threaded BLAS is forced so the figure is for one core.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import newton  # noqa: E402

import xlcalc  # noqa: E402


def paper_style_solve(loss: float, inference_tokens: float, fit) -> float:
    """One scenario the way the paper's code does it: newton on d(FLOPs)/dD from D = 1e8; returns params."""
    E, A, B, alpha, beta = fit.constants
    c = loss - E

    def params(d):
        return (A / (c - B / d**beta)) ** (1 / alpha)

    def dflops(d):  # derivative of 6 N(D) D + 2 N(D) D_inf along the curve, up to a positive factor
        y = B / d**beta
        return 6 * alpha * (c - y) - beta * y * (6 + 2 * inference_tokens / d)

    d = newton(dflops, 1e8, maxiter=500)
    return params(d)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    fit = xlcalc.get_fit()
    rng = np.random.default_rng(2024)
    # Chinchilla-quality targets of 100M to 1T-parameter models, 1e8 to 1e15 lifetime inference tokens.
    model_params = 10 ** rng.uniform(8, 12, args.scenarios)
    losses = xlcalc.loss(model_params, xlcalc.chinchilla_tokens(model_params))
    inference = 10 ** rng.uniform(8, 15, args.scenarios)

    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        optimum = xlcalc.compute_optimal(losses, inference)
        best = min(best, time.perf_counter() - start)
    vector_rate = args.scenarios / best

    sample = rng.choice(args.scenarios, args.baseline_sample, replace=False)
    failures = 0
    start = time.perf_counter()
    baseline = np.empty(sample.size)
    for k, i in enumerate(sample):
        try:
            baseline[k] = paper_style_solve(losses[i], inference[i], fit)
        except (RuntimeError, ArithmeticError, ValueError, OverflowError):
            baseline[k] = np.nan
            failures += 1
    scalar_rate = sample.size / (time.perf_counter() - start)
    ok = np.isfinite(baseline)
    agreement = np.max(np.abs(baseline[ok] / optimum.params[sample][ok] - 1)) if ok.any() else float("nan")

    print(f"xlcalc vectorised : {args.scenarios:,} scenarios in {best:.3f} s = {vector_rate:,.0f} solves/s")
    print(f"scipy newton loop : {sample.size:,} scenarios = {scalar_rate:,.0f} solves/s "
          f"({failures} of {sample.size} failed or diverged from the fixed start)")
    print(f"ratio             : {vector_rate / scalar_rate:,.0f}x")
    print(f"max relative difference where the loop converged: {agreement:.1e}")


if __name__ == "__main__":
    main()
