"""MAX_BATCH over a 10,000-cell range in one call against COST_PER_MTOK over 10,000 cells, the baseline, same run.

Run: python benchmarks/serving_slo.py [--cells 10000] [--repeats 7]

Both go through xlwings' real Windows ``call_udf`` over the stand-ins of tests/test_udfs_xlwings.py (as Excel
calls them: a column of model sizes as a COM range) and as plain Python (what xlwings Lite runs). MAX_BATCH
resolves the accelerator from the catalog, interpolates a shape per size and, with the GPUs left open, solves
the largest batch in closed form for 1, 2, 4 and 8 GPUs per replica; it returns 7 cells per scenario
(COST_PER_MTOK_SLO, the same solve, 2; COST_PER_MTOK 1), so part of the gap is writing the results. Each is timed ``--repeats`` times; the
min and the median are printed with their ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]   # this checkout's xlcalc, and the xlwings stand-ins
from test_udfs_xlwings import MISSING, ExcelRange, windows_xlwings  # noqa: E402

import xlcalc.udfs as plain  # noqa: E402


def cases(sizes):
    """(name, call_udf arguments, plain arguments) for the baseline and the function measured."""
    column = sizes.reshape(-1, 1).tolist()
    cost = (ExcelRange(column), 2.0, 989.5, 3.35, MISSING, MISSING, MISSING, MISSING, MISSING)
    slo = (ExcelRange(column), "H100 SXM", 1000.0, 200.0, 50.0, 2000.0) + (MISSING,) * 7
    return [("COST_PER_MTOK", cost), ("MAX_BATCH", slo), ("COST_PER_MTOK_SLO", slo)]


def timings(repeats, run):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def plain_args(args):
    return tuple(None if a is MISSING else (a.rows if isinstance(a, ExcelRange) else a) for a in args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args(argv)
    sizes = np.geomspace(1e9, 7e10, options.cells)
    print(f"{options.cells} cells in one call; {options.repeats} repeats each; times in s")
    print(f"{'function':18} {'path':8} {'min':>8} {'median':>8} {'min ratio':>10} {'median ratio':>13}")
    with windows_xlwings() as windows:
        call_udf = windows.xlwings_udfs.call_udf
        for path in ("call_udf", "plain"):
            baseline = None
            for name, args in cases(sizes):
                if path == "call_udf":
                    low, mid = timings(options.repeats, lambda: call_udf("xlcalc.udfs", name, args))
                else:
                    function, values = getattr(plain, name), plain_args(args)
                    low, mid = timings(options.repeats, lambda: function(*values))
                baseline = baseline or (low, mid)
                print(f"{name:18} {path:8} {low:8.4f} {mid:8.4f} {low / baseline[0]:10.2f} {mid / baseline[1]:13.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
