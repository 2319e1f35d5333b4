"""Ranges: one vectorised solve over samples x scenarios against a loop over the samples.

Run: python benchmarks/ranges.py [--samples 1000] [--scenarios 1000] [--repeats 5]

Every figure is CPU time of one core (set OMP/OPENBLAS threads = 1), measured in this run, each repeated
--repeats times for both sides, printed as min and median.

- cost: ``cost_optimal_range`` with an uncertain fit (epoch2024's published errors, --samples draws), a
  price given as a range, and --scenarios losses: one solve of samples x scenarios, then the percentiles.
  Baseline: what a caller would write without it: for each sample, one array call of
  ``xlcalc.cost_optimal`` over the scenarios with that sample's fit and price (each call is itself
  vectorised over the scenarios), then the same percentiles.
- budget: ``budget_optimal_range`` with the same uncertain fit, inference tokens as a range and --scenarios
  budgets (1e22 to 1e26 FLOPs); baseline: one array call of ``xlcalc.budget_optimal`` per sample.
The two sides draw the ranged input with different generators, so their percentiles agree only statistically;
tests/test_uncertainty.py checks the vectorised samples against a loop of point fits to 1e-12.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from _timing import cpu_name, cpu_times, min_median  # noqa: E402
from xlcalc import Range, budget_optimal, budget_optimal_range, cost_optimal, cost_optimal_range, uncertain_fit  # noqa: E402
from xlcalc.core.laws import Fit  # noqa: E402

PRICES = dict(train_peak_tflops=312, infer_usd_per_hour=0.6, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fit = uncertain_fit("epoch2024", samples=args.samples, seed=0)
    print(f"CPU: {cpu_name()}; {args.samples} samples x {args.scenarios} scenarios, {args.repeats} repeats each")
    losses = np.linspace(2.0, 2.3, args.scenarios)
    price = Range(1.2, 1.4, 2.0)
    prices = price.draw(args.samples, np.random.default_rng(1))

    def cost_loop():
        params = np.empty((args.samples, args.scenarios))
        for i, row in enumerate(fit.samples):
            params[i] = cost_optimal(losses, 1e13, 2.5e12, train_usd_per_hour=prices[i], **PRICES, fit=Fit(*row)).params
        return np.percentile(params, (10, 50, 90), axis=0)

    _compare("cost", args, lambda: cost_optimal_range(losses, 1e13, 2.5e12, train_usd_per_hour=price, **PRICES,
                                                       fit=fit, samples=args.samples, seed=0), cost_loop)
    budgets = np.logspace(22, 26, args.scenarios)
    demand = Range(1e12, 2e12, 8e12)
    demands = demand.draw(args.samples, np.random.default_rng(1))

    def budget_loop():
        params = np.empty((args.samples, args.scenarios))
        for i, row in enumerate(fit.samples):
            params[i] = budget_optimal(budgets, demands[i], fit=Fit(*row)).params
        return np.percentile(params, (10, 50, 90), axis=0)

    _compare("budget", args, lambda: budget_optimal_range(budgets, demand, fit=fit, samples=args.samples, seed=0),
             budget_loop)


def _compare(kind: str, args, vectorised, loop) -> None:
    result = vectorised()
    print(f"{kind}: excluded samples {result.excluded}; median params {result.outputs['params'][1][0]:.4g} "
          "(first scenario)")
    ours = cpu_times(args.repeats, vectorised)
    theirs = cpu_times(args.repeats, loop)
    print(f"  vectorised ({kind}_optimal_range): {min_median(ours)}")
    print(f"  loop over samples ({kind}_optimal per sample): {min_median(theirs)}")
    print(f"  ratio loop / vectorised: min {min(theirs) / min(ours):.2f}x, "
          f"median {np.median(theirs) / np.median(ours):.2f}x")
    print(f"  scenario-samples per second (vectorised, min): {args.samples * args.scenarios / min(ours):.3g}")

if __name__ == "__main__":
    main()
