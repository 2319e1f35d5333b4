"""Coverage of bootstrap intervals on synthetic runs from a known law (tests/test_uncertainty.py; run as a script for 200 repetitions)."""

import sys

import numpy as np

from synthetic_runs import spread_runs
from xlcalc import compute_optimal, get_fit
from xlcalc.core.fitting import fit_scaling_law
from xlcalc.core.uncertainty import CONSTANTS, UncertainFit, compute_optimal_range

TRUE_FIT = "epoch2024"
NOISE = 0.02                   # 2% log-normal noise on each run's loss
LOSS, INFERENCE_TOKENS = 2.3, 1e12   # the optimum checked (true optimum about 3e9 params)


def coverage(repetitions, runs=60, resamples=50, percentiles=(10, 90)):
    """Share of repetitions whose bootstrap P10-P90 interval holds the true value: {constant or 'params': share}."""
    truth = dict(zip(CONSTANTS, get_fit(TRUE_FIT).constants))
    truth["params"] = compute_optimal(LOSS, INFERENCE_TOKENS, fit=TRUE_FIT).params
    hits = {name: 0 for name in truth}
    for rep in range(repetitions):
        n, d, losses = spread_runs(runs, seed=1000 + rep, fit=TRUE_FIT, noise=NOISE)
        uncertain = UncertainFit.from_bootstrap(fit_scaling_law(n, d, losses, bootstrap=resamples, seed=rep))
        for j, name in enumerate(CONSTANTS):
            low, high = np.percentile(uncertain.samples[:, j], percentiles)
            hits[name] += low <= truth[name] <= high
        result = compute_optimal_range(LOSS, INFERENCE_TOKENS, fit=uncertain, samples=resamples,
                                       percentiles=percentiles)
        low, high = result.interval("params")
        hits["params"] += low <= truth["params"] <= high
    return {name: count / repetitions for name, count in hits.items()}


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(f"{reps} repetitions, nominal 80% (P10-P90):", coverage(reps))
