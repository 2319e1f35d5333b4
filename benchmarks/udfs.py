"""Python-side time of the Excel functions: one formula over a range against one-cell formulas, and one cell alone.

Run: python benchmarks/udfs.py [--cells 10000] [--single-sample 2000] [--repeats 5] [--calls 1000]

Each call goes through xlwings' real Windows ``call_udf`` (argument conversion, our wrapper, the core
function, conversion of the result) over the stand-ins of tests/test_udfs_xlwings.py, as Excel makes it:
the range as a COM range whose Value is rows of cells. The same is timed for the plain Python functions
(what xlwings Lite runs). The one-cell formulas are timed on a sample and scaled to the full count. Both
sides get the same --repeats, printed as min and median CPU time of one core. Excel's own side (COM
marshalling, about 0.1-1 ms per call on Windows) comes on top of every one-cell call, so the real gap is
larger than printed.

Part 2 times one call of every Excel function used one per cell (all but SCALING_FIT, GPU_LIST, COST_OPT_RANGE
and SENSITIVITY), with typical one-cell arguments, as plain Python, against the same call through the general
range path of xlcalc.excel._convert (the baseline: what a one-cell formula cost before its fast path). Part 3 times the
core functions behind them (laws, lifetime, economics, serving) called with floats against the same values as
0-d arrays (the array path). Issue 14's target is 30 us of CPU; rows above it are marked. Both sides of a row get
the same calls and repeats; slow functions get fewer calls a repeat (about 0.2 s, at least 5).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import pathlib
import statistics
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from test_udfs_xlwings import MISSING, ExcelRange, windows_xlwings  # noqa: E402

import xlcalc.excel._convert  # noqa: E402
import xlcalc.udfs as plain  # noqa: E402
from xlcalc.core import breakeven, economics, laws, lifetime, monthly_serving, owned_hardware, serving  # noqa: E402
from _timing import cpu_name, cpu_times  # noqa: E402  (benchmarks/ is the script's folder)

CORE_MODULES = (laws, lifetime, economics, monthly_serving, breakeven, owned_hardware, serving)
CASES = {
    "CHINCHILLA_LOSS": lambda x: (x * 1e9 + 1e8, 1e12, MISSING),   # closed form
    "INFERENCE_OPT": lambda x: (1.9 + 0.6 * x, 1e13, MISSING),     # Newton solve per cell, 4 outputs
    "COST_PER_MTOK": lambda x: (x * 1e11 + 1e9, 2.0, 989.5, 3.35, MISSING, MISSING, MISSING, MISSING, MISSING),
}

# Typical one-cell values by argument name (parts 2 and 3); optional arguments not listed are left empty.
TYPICAL = {
    "params": 7e10, "tokens": 1.4e12, "loss": 2.0, "inference_tokens": 1e13, "compute_flops": 5.88e23,
    "total_flops": 1e24, "requests": 1e9, "input_tokens_per_request": 1000.0, "output_tokens_per_request": 250.0,
    "train_usd_per_hour": 2.0, "train_peak_tflops": 989.0, "infer_usd_per_hour": 2.0, "infer_peak_tflops": 989.0,
    "usd_per_hour": 2.0, "peak_tflops": 989.0, "mem_bw_tbs": 3.35, "requests_per_month": 1e8,
    "input_tokens": 1000.0, "output_tokens": 250.0, "params_a": 7e10, "tokens_a": 1.4e12, "params_b": 3e10,
    "tokens_b": 5e12, "train_tokens": 1.4e12, "fit_name": "chinchilla", "gpu_name": "H100 SXM",
    "field": "mem_bw_tbs", "model": "Llama-2-70B", "context_tokens": 2000.0, "tpot_ms": 50.0,
    "train_gpu": "H100 SXM", "infer_gpu": "H100 SXM", "unique_tokens": 1e13, "memory_gb": 192.0,
    "tokens_per_request": 1250.0, "requests_per_day": 1e6, "tdp_w": 700.0, "purchase_usd": 30000.0, "years": 4.0,
    "layers": 80.0, "kv_heads": 8.0, "head_dim": 128.0,
}
# Not one scalar call: a fit over ranges of runs, the whole catalog, and Monte Carlo draws or a tornado of many
# scenarios per cell (benchmarks/ranges.py times those two).
NOT_SCALAR = ("SCALING_FIT", "GPU_LIST", "COST_OPT_RANGE", "SENSITIVITY")
TARGET_US = 30.0  # issue 14: a scalar call in under 30 us of CPU


def plain_args(args):
    return tuple(None if a is MISSING else a for a in args)


def compare(name, path, repeats, one_range, one_cell, scale) -> None:
    """Print the range call and the one-cell calls (scaled to all cells) as min and median, and their ratio."""
    ranges, cells = cpu_times(repeats, one_range), [t * scale for t in cpu_times(repeats, one_cell)]
    print(f"{name:16} {path:8} {min(ranges):9.4f} {statistics.median(ranges):9.4f} {min(cells):10.3f} "
          f"{statistics.median(cells):10.3f} {min(cells) / min(ranges):7.0f} "
          f"{statistics.median(cells) / statistics.median(ranges):7.0f}")


def _calls(calls: int, run) -> int:
    """``calls``, or fewer for a slow function: about 0.2 s a repeat, at least 5 calls."""
    return max(5, min(calls, int(0.2 / max(min(cpu_times(3, run)), 1e-7))))


def _us(repeats: int, calls: int, run) -> list[float]:
    """Microseconds of CPU per call of ``run()``, one figure per repeat of ``calls`` calls."""
    return [t / calls * 1e6 for t in cpu_times(repeats, lambda: [run() for _ in range(calls)])]


def _row(name: str, fast: list[float], general: list[float]) -> str:
    over = "  over 30 us" if statistics.median(fast) > TARGET_US else ""
    return (f"  {name:36} {min(fast):7.1f} {statistics.median(fast):7.1f}   {min(general):7.1f} "
            f"{statistics.median(general):7.1f}   {min(general) / min(fast):5.1f}x{over}")


def one_cell_times(repeats: int, calls: int) -> None:
    """Part 2: microseconds of CPU per one-cell call of every Excel function used one per cell.

    Baseline: the same call through the general path of xlcalc.excel._convert (grids, broadcasting, error arrays), which
    a one-cell formula took before its fast path; the functions of the serving family have one path (ratio 1)."""
    print(f"\nOne cell, plain Python: CPU us per call, up to {calls} calls a repeat, {repeats} repeats each "
          "(baseline: the general range path, same cell, same calls and repeats)")
    print(f"  {'function':36} {'min':>7} {'median':>7}   {'general':>7} {'median':>7}   {'ratio':>6}")
    for name in plain.__all__:
        if name in NOT_SCALAR:
            continue
        function = getattr(plain, name)
        args = [TYPICAL.get(p) for p in inspect.signature(function).parameters]
        result = function(*args)
        cells = [c for row in (result if isinstance(result, list) else [[result]]) for c in row]
        assert not any(isinstance(v, str) for v in cells[:1]), (name, result)
        n = _calls(calls, lambda: function(*args))
        fast = _us(repeats, n, lambda: function(*args))
        with general_path_only():
            assert function(*args) == result, name  # the same value by both paths
            general = _us(repeats, n, lambda: function(*args))
        print(_row(name, fast, general))


@contextlib.contextmanager
def general_path_only():
    """xlcalc.excel._convert.compute without its one-cell fast path (what tests/test_scalar_paths.py compares against)."""
    saved = xlcalc.excel._convert._single_numbers
    xlcalc.excel._convert._single_numbers = lambda core, numbers: None
    try:
        yield
    finally:
        xlcalc.excel._convert._single_numbers = saved


def core_times(repeats: int, calls: int) -> None:
    """Part 3: the Python functions behind the Excel functions, scalar call against the array path on 0-d arrays."""
    print(f"\nCore functions, one scalar call: CPU us per call, up to {calls} calls a repeat, {repeats} repeats each "
          "(baseline: the same values as 0-d arrays, which take the array path)")
    print(f"  {'function':36} {'min':>7} {'median':>7}   {'array':>7} {'median':>7}   {'ratio':>6}")
    for module in CORE_MODULES:
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            parameters = inspect.signature(function).parameters
            kwargs = {p: TYPICAL[p] for p in parameters if p in TYPICAL}
            if any(p.default is inspect.Parameter.empty and n not in kwargs for n, p in parameters.items()):
                continue  # takes something this table has no typical value for
            arrays = {k: np.asarray(v) for k, v in kwargs.items()}
            n = _calls(calls, lambda: function(**kwargs))
            fast, general = _us(repeats, n, lambda: function(**kwargs)), _us(repeats, n, lambda: function(**arrays))
            print(_row(f"{module.__name__.split('.')[-1]}.{name}", fast, general))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--single-sample", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000, help="one-cell calls per repeat (parts 2 and 3)")
    options = parser.parse_args(argv)
    x = np.linspace(0.0, 1.0, options.cells)
    sample = x[:: max(1, options.cells // options.single_sample)]
    scale = x.size / sample.size
    r = options.repeats
    print(f"CPU: {cpu_name()}")
    print(f"{options.cells} cells; one-cell formulas timed on {sample.size} cells and scaled; {r} repeats each; "
          "CPU seconds")
    print(f"{'function':16} {'path':8} {'range min':>9} {'median':>9} {'cells min':>10} {'median':>10} "
          f"{'ratio':>7} {'median':>7}")
    with windows_xlwings() as windows:
        call_udf = windows.xlwings_udfs.call_udf
        for name, make in CASES.items():
            column = make(x.reshape(-1, 1))
            range_args = tuple(ExcelRange(a.tolist()) if isinstance(a, np.ndarray) else a for a in column)
            cells = [make(v) for v in sample]
            compare(name, "call_udf", r, lambda: call_udf("xlcalc.udfs", name, range_args),
                    lambda: [call_udf("xlcalc.udfs", name, c) for c in cells], scale)

            function = getattr(plain, name)
            range_plain = plain_args(tuple(a.tolist() if isinstance(a, np.ndarray) else a for a in column))
            cells = [plain_args(make(float(v))) for v in sample]
            compare(name, "plain", r, lambda: function(*range_plain), lambda: [function(*c) for c in cells], scale)
    one_cell_times(r, options.calls)
    core_times(r, options.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
