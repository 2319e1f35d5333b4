"""Python-side time of the Excel functions: one formula over a 10,000-cell range against 10,000 one-cell formulas.

Run: python benchmarks/udfs.py [--cells 10000] [--single-sample 2000]

Each call goes through xlwings' real Windows ``call_udf`` (argument conversion, our wrapper, the core
function, conversion of the result) over the stand-ins of tests/test_udfs_xlwings.py, as Excel makes it:
the range as a COM range whose Value is rows of cells. The same is timed for the plain Python functions
(what xlwings Lite runs). The one-cell formulas are timed on a sample and scaled to the full count. Excel's
own side (COM marshalling, about 0.1-1 ms per call on Windows) comes on top of every one-cell call, so the
real gap is larger than printed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from test_udfs_xlwings import MISSING, ExcelRange, windows_xlwings  # noqa: E402

import xlcalc.udfs as plain  # noqa: E402

CASES = {
    "CHINCHILLA_LOSS": lambda x: (x * 1e9 + 1e8, 1e12, MISSING),   # closed form
    "INFERENCE_OPT": lambda x: (1.9 + 0.6 * x, 1e13, MISSING),     # Newton solve per cell, 4 outputs
    "COST_PER_MTOK": lambda x: (x * 1e11 + 1e9, 2.0, 989.5, 3.35, MISSING, MISSING, MISSING, MISSING, MISSING),
}


def best_of(repeats, run):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_args(args):
    return tuple(None if a is MISSING else a for a in args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--single-sample", type=int, default=2_000)
    options = parser.parse_args(argv)
    x = np.linspace(0.0, 1.0, options.cells)
    sample = x[:: max(1, options.cells // options.single_sample)]
    print(f"{options.cells} cells; one-cell formulas timed on {sample.size} cells and scaled; best of 3")
    print(f"{'function':16} {'path':8} {'one range (s)':>14} {'one-cell calls (s)':>19} {'ratio':>8}")
    with windows_xlwings() as windows:
        call_udf = windows.xlwings_udfs.call_udf
        for name, make in CASES.items():
            column = make(x.reshape(-1, 1))
            range_args = tuple(ExcelRange(a.tolist()) if isinstance(a, np.ndarray) else a for a in column)
            one_range = best_of(3, lambda: call_udf("xlcalc.udfs", name, range_args))
            cells = [make(v) for v in sample]
            one_cell = best_of(3, lambda: [call_udf("xlcalc.udfs", name, c) for c in cells]) * x.size / sample.size
            print(f"{name:16} {'call_udf':8} {one_range:14.4f} {one_cell:19.3f} {one_cell / one_range:8.0f}")

            function = getattr(plain, name)
            range_plain = plain_args(tuple(a.tolist() if isinstance(a, np.ndarray) else a for a in column))
            one_range = best_of(3, lambda: function(*range_plain))
            cells = [plain_args(make(float(v))) for v in sample]
            one_cell = best_of(3, lambda: [function(*c) for c in cells]) * x.size / sample.size
            print(f"{name:16} {'plain':8} {one_range:14.4f} {one_cell:19.3f} {one_cell / one_range:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
