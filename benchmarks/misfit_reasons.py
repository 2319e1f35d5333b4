"""CHECK_FITS and COST_PER_MTOK over elements that do not fit in memory against the same call where all fit, same run.

Run: python benchmarks/misfit_reasons.py [--elements 300000] [--repeats 3]

An element that does not fit has a reason that names its memory need, its GPUs and their memory. Outside
``xlcalc.invalid_reasons()`` only the first reason is shown (in the warning), inside it every element's is;
the baseline is the same call with every element fitting (no reason at all). Each case runs ``--repeats``
times; min and median CPU seconds are printed with their ratio to the baseline of the same function.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # this checkout's xlcalc
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import xlcalc  # noqa: E402
from _timing import cpu_name, cpu_times, min_median  # noqa: E402


def cases(elements: int):
    """(label, call) pairs: the baseline first, then the misfits warned and collected, for each function."""
    fitting = np.geomspace(1e9, 3e10, elements)   # 2 to 60 GB at 2 bytes a parameter: fit in 80 GB
    misfit = np.geomspace(5e10, 5e12, elements)   # 100 GB to 10 TB: none fits

    def warned(function, params):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                function(params)
        return run

    def collected(function, params):
        def run():
            with xlcalc.invalid_reasons():
                function(params)
        return run

    for name, function in (("check_fits", lambda p: xlcalc.check_fits(p, 80.0)),
                           ("cost_per_mtok", lambda p: xlcalc.cost_per_mtok(p, 2.0, 989.5, 3.35, memory_gb=80.0))):
        yield name, [("all fit (baseline)", warned(function, fitting)),
                     ("none fits, warned", warned(function, misfit)),
                     ("none fits, invalid_reasons", collected(function, misfit)),
                     ("none fits, a list, warned", warned(function, misfit.tolist()))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args(argv)
    print(f"{options.elements:,} elements a call, {options.repeats} repeats, CPU seconds; {cpu_name()}")
    for name, runs in cases(options.elements):
        baseline = None
        for label, run in runs:
            times = cpu_times(options.repeats, run)
            baseline = baseline or times
            print(f"{name:14} {label:28} {min_median(times):34} x{min(times) / min(baseline):8.1f} (min) "
                  f"x{statistics.median(times) / statistics.median(baseline):8.1f} (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
