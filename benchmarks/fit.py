"""Whole scaling-law fits: xlcalc's screened search against the paper's code and against xlcalc's full grid.

Run: python3 benchmarks/fit.py [--repeats 3] [--paper-sample 20] [--sizes 47,240,2000] [--full-grid-sizes 47,240]
                               [--bootstrap 200]

Data: the 47 MosaicML runs of the paper (tests/data), 240 runs shaped like Epoch's Chinchilla extraction and
2,000 runs spread over sizes 3e7 to 3e10 with 1% noise (tests/synthetic_runs.py). Every method is timed
--repeats times in this run and printed with its min and median; ratios are baseline / xlcalc from the
same run (min over min, median over median). Peak memory is tracemalloc's peak over one more, untimed fit
(numpy reports its arrays to tracemalloc). One core: BLAS threads are set to 1 before numpy loads; the
paper's code ran its 4,500 starts with joblib over all cores, here they run one after another.

Baselines:
- the paper's code as written (nikhilsardana/beyond-chinchilla, huber_optimize.py): one
  scipy.optimize.minimize(huber_loss, start, (delta, df), method="L-BFGS-B") per start with scipy's
  finite-difference gradient, the objective a Python loop over the rows with scipy.special.logsumexp and
  huber, plus its extra huber_loss call per result. Same: objective, grid, delta, optimiser and its default
  tolerances. Differs: its polars DataFrame's df.rows(named=True) is replaced by the same list of dicts
  built once (faster than polars building them on every call, so the baseline is flattered). A whole run
  takes about half an hour on one core, so each repeat times a fixed random sample of --paper-sample starts
  and the time for 4,500 starts is extrapolated from it (the output says so);
- xlcalc's full grid (fit_scaling_law(..., search="full-grid")): the previous method, every start run to
  convergence by the batched damped Newton method; it is also the reference the tests compare with.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402
from scipy.special import huber, logsumexp  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from synthetic_runs import epoch_shaped_runs, spread_runs  # noqa: E402
from xlcalc import udfs  # noqa: E402
from xlcalc.excel import laws as excel_laws  # noqa: E402
from xlcalc.core.fitting import HUBER_DELTA, fit_scaling_law, paper_grid  # noqa: E402
from xlcalc.data.runs import read_runs  # noqa: E402

RUNS_CSV = ROOT / "tests" / "data" / "mosaic_training_runs.csv"


def huber_loss(params, delta, rows):
    """huber_optimize.py's objective as written: a Python loop over the rows (dicts, as df.rows(named=True))."""
    alpha, beta, e, a, b = params
    huber_sum = 0
    for row in rows:
        N_i = row["Parameters"]
        D_i = row["Tokens"]
        L_i = row["Smoothed Loss"]
        assert L_i != 0 and D_i != 0 and N_i != 0
        residual = logsumexp([a - alpha * np.log(N_i), b - beta * np.log(D_i), e]) - np.log(L_i)
        huber_sum += huber(delta, residual)
    return huber_sum


def paper_task(initial_guess, rows):
    """huber_optimize.py's optimize_task: L-BFGS-B from one start, then the objective at its end point."""
    result = scipy.optimize.minimize(huber_loss, initial_guess, (HUBER_DELTA, rows), method="L-BFGS-B")
    return result, huber_loss(result.x, HUBER_DELTA, rows)


def timed(function, repeats):
    """Seconds of each of ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - begin)
    return times, result


def peak_mb(function) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def spread(times) -> str:
    return f"min {min(times):.3f} s, median {statistics.median(times):.3f} s"


def ratio(baseline, ours) -> str:
    return (f"{min(baseline) / min(ours):,.1f}x (min) / "
            f"{statistics.median(baseline) / statistics.median(ours):,.1f}x (median)")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        return f"{names[0]} ({len(names)} logical CPUs)"
    except (OSError, IndexError):
        return platform.processor() or "unknown CPU"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paper-sample", type=int, default=20, help="starts of the paper's code timed per repeat")
    parser.add_argument("--sizes", default="47,240,2000", help="data sizes to fit (of 47, 240, 2000)")
    parser.add_argument("--full-grid-sizes", default="47,240",
                        help="data sizes (of 47, 240, 2000) on which the full grid is timed; 2000 takes minutes")
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples of the bootstrap timed on 47 runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    runs = read_runs(RUNS_CSV)
    datasets = {47: (runs.params, runs.tokens, runs.losses), 240: epoch_shaped_runs(),
                2000: spread_runs(2000, noise=0.01)}
    datasets = {size: datasets[size] for size in map(int, args.sizes.split(","))}
    full_sizes = {int(x) for x in args.full_grid_sizes.split(",") if x}
    print(f"CPU: {cpu_name()}; one core (BLAS threads 1); load average at start "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
          f"{args.repeats} repeats of every method\n")

    grid = paper_grid()
    for size, data in datasets.items():
        fast_times, fast = timed(lambda: fit_scaling_law(*data), args.repeats)
        peak = peak_mb(lambda: fit_scaling_law(*data))
        print(f"{size} runs: xlcalc screened    {spread(fast_times)}; peak {peak:.0f} MB;"
              f" {fast.descended} of {fast.starts} starts descended; objective {fast.objective:.10e}")
        if size in full_sizes:
            full_times, full = timed(lambda: fit_scaling_law(*data, search="full-grid"), args.repeats)
            same = abs(full.objective - fast.objective) <= 1e-10 * full.objective
            print(f"{size} runs: xlcalc full grid   {spread(full_times)}; peak "
                  f"{peak_mb(lambda: fit_scaling_law(*data, search='full-grid')):.0f} MB; objective "
                  f"{full.objective:.10e} ({'the same minimum' if same else 'A DIFFERENT MINIMUM'})")
            print(f"{size} runs: full grid / screened = {ratio(full_times, fast_times)}")
        else:
            print(f"{size} runs: xlcalc full grid   not run (add {size} to --full-grid-sizes)")
        if size == 47:
            rows = [{"Parameters": n, "Tokens": d, "Smoothed Loss": l} for n, d, l in zip(*data)]
            sample = grid[np.random.default_rng(args.seed).choice(len(grid), args.paper_sample, replace=False)]
            per_start, _ = timed(lambda: [paper_task(start, rows) for start in sample], args.repeats)
            whole = [t / len(sample) * len(grid) for t in per_start]
            print(f"{size} runs: paper's code        {min(per_start) / len(sample) * 1e3:.0f} ms a start (min), "
                  f"timed on a sample of {len(sample)} starts and EXTRAPOLATED to {len(grid)}: {spread(whole)}")
            print(f"{size} runs: paper's code / screened = {ratio(whole, fast_times)}")
        print()

    data = (runs.params, runs.tokens, runs.losses)
    boot_times, boot = timed(lambda: fit_scaling_law(*data, bootstrap=args.bootstrap, seed=args.seed), args.repeats)
    print(f"bootstrap, 47 runs, {args.bootstrap} resamples (fit included): {spread(boot_times)}; "
          f"bootstrap_constants {boot.bootstrap_constants.shape}")

    column = lambda a: [[float(x)] for x in a]  # noqa: E731  a column as Excel passes it
    cells = [column(a) for a in data]
    excel_laws._fit_constants.cache_clear()
    first, _ = timed(lambda: udfs.SCALING_FIT(*cells), 1)
    again, _ = timed(lambda: udfs.SCALING_FIT(*cells), args.repeats)
    print(f"SCALING_FIT on 47 runs: first call {first[0]:.3f} s; recalculated over the same runs "
          f"{min(again) * 1e3:.2f} ms (min) / {statistics.median(again) * 1e3:.2f} ms (median), from its cache")


if __name__ == "__main__":
    main()
