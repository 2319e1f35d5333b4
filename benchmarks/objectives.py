"""Lifetime optima per second under usd, kWh and CO2, with fixed-MFU or roofline serving and a unique-data cap.

Run: PYTHONPATH=. python3 benchmarks/objectives.py [--scenarios 1000000] [--repeats 3] [--reference 20000]

Each case is one vectorised call of :func:`xlcalc.lifetime_optimal` over the same random scenarios; the
baseline is :func:`xlcalc.compute_optimal` on the same losses, timed in the same run with the same number of
repeats. Times are CPU seconds of this process (the machine is shared); rates and the ratio to the baseline
are printed from the minimum and the median. Single-threaded BLAS is forced so the figures are for one core.
The reference solver (every GPU-count piece by bracket walks and Illinois steps, which the fast one is
tested against) is timed on the first ``--reference`` scenarios, with the same repeats.

Memory (tracemalloc: numpy's arrays), in bytes a scenario beyond the inputs and the outputs (20 float arrays,
160 bytes a scenario): "call" is the peak of the whole call of lifetime_optimal (argument checks and result
packaging in xlcalc.core.objectives included), "solver" the largest peak of one solve
(xlcalc.core._objective_solve.optimum, which the call runs once to three times) beyond its output arrays
(80 bytes a scenario, 32 for a reference): its working memory, chunk-sized arrays whatever the number of
scenarios (a few MB, about 17 MB with the roofline, whose Newton rows are solved 16,384 at a time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import xlcalc  # noqa: E402
from xlcalc.core import _objective_solve  # noqa: E402
from _memory import output_bytes, solver_peak_bytes  # noqa: E402
from _timing import cpu_name, cpu_times  # noqa: E402

def _scenarios(n, seed=2024):
    rng = np.random.default_rng(seed)
    sizes = 10 ** rng.uniform(8, 12, n)
    losses = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    inputs, outputs = 10 ** rng.uniform(8, 15, n), 10 ** rng.uniform(8, 15, n)
    hardware = dict(train_peak_tflops=989.0, infer_peak_tflops=989.0, train_usd_per_hour=2.5, infer_usd_per_hour=2.5,
                    train_tdp_w=700.0, infer_tdp_w=700.0, train_pue=1.2, infer_pue=1.2,
                    train_g_per_kwh=400.0, infer_g_per_kwh=rng.uniform(20, 600, n), mfu_decode=0.05)
    roofline = dict(serving="roofline", infer_mem_bw_tbs=3.35, infer_memory_gb=80.0, batch=64.0, mfu_decode=0.5,
                    kv_bytes_per_param=1.6e-5, input_tokens_per_request=1000.0, output_tokens_per_request=250.0)
    latency = dict(roofline, tpot_target_s=0.03)
    cap = xlcalc.chinchilla_tokens(sizes) / 4
    cases = [
        ("usd, fixed MFU", dict(objective="usd")),
        ("kwh, fixed MFU", dict(objective="kwh")),
        ("co2, fixed MFU", dict(objective="co2")),
        ("usd, fixed MFU, unique-data cap", dict(objective="usd", unique_tokens=cap)),
        ("usd, roofline, batch 64", dict(objective="usd", **roofline)),
        ("usd, roofline + latency target", dict(objective="usd", **latency)),
        ("co2, roofline + latency + cap", dict(objective="co2", unique_tokens=cap, **latency)),
    ]
    return losses, inputs, outputs, [(label, dict(hardware, **extra)) for label, extra in cases]


def _head(kwargs, count):
    return {name: (value[:count] if isinstance(value, np.ndarray) else value) for name, value in kwargs.items()}


def _peak_bytes_per_scenario(call, n):
    """Peak traced bytes of one call above what was allocated before it and its outputs, per scenario."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = call()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return (peak - output_bytes(result)) / n


def _solver_peak_bytes_per_scenario(call, n):
    """The largest peak of one optimum() solve inside ``call`` beyond its inputs and outputs, per scenario."""
    return max(solver_peak_bytes(call)) / n


def _rate(label, n, times, base, extra=""):
    t_min, t_med = min(times), statistics.median(times)
    ratio = f"{t_min / min(base):5.1f}x ({t_med / statistics.median(base):.1f}x)" if base else "  1.0x"
    print(f"{label:38s} {n / t_min:11,.0f}/s ({n / t_med:,.0f}/s)  {ratio}{extra}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", type=int, default=20_000, help="scenarios for the reference solver (0: skip)")
    args = parser.parse_args(argv)
    n, repeats = args.scenarios, args.repeats
    losses, inputs, outputs, cases = _scenarios(n)
    print(f"CPU: {cpu_name()}; {n:,} scenarios in one call, {repeats} repeats, CPU time of one core")
    print("rate from the min (median) time; ratio = time / compute_optimal's time on the same losses")
    print("memory: bytes a scenario beyond inputs and outputs, of the whole call and of one solve inside it")
    demand = inputs + outputs
    base = cpu_times(repeats, lambda: xlcalc.compute_optimal(losses, demand))
    peak = _peak_bytes_per_scenario(lambda: xlcalc.compute_optimal(losses, demand), n)
    _rate("compute_optimal (baseline)", n, base, None, f"   call {peak:4.0f}")
    reference = []
    for label, kwargs in cases:
        with xlcalc.invalid_reasons():
            call = lambda: xlcalc.lifetime_optimal(losses, inputs, outputs, **kwargs)  # noqa: E731
            times = cpu_times(repeats, call)
            peak = _peak_bytes_per_scenario(call, n)
            solver = _solver_peak_bytes_per_scenario(call, n)
        _rate(label, n, times, base, f"   call {peak:4.0f}, solver {solver:3.0f}")
        fixed_uncapped = "fixed MFU" in label and "cap" not in label   # closed form in both solvers
        if args.reference and not fixed_uncapped:
            m = min(args.reference, n)
            head = _head(kwargs, m)
            _objective_solve.SOLVER = "reference"
            try:
                with xlcalc.invalid_reasons():
                    slow = cpu_times(repeats, lambda: xlcalc.lifetime_optimal(losses[:m], inputs[:m], outputs[:m],
                                                                               **head))
            finally:
                _objective_solve.SOLVER = "fast"
            with xlcalc.invalid_reasons():
                fast = cpu_times(repeats, lambda: xlcalc.lifetime_optimal(losses[:m], inputs[:m], outputs[:m], **head))
            reference.append((label, m, slow, fast))
    if reference:
        print("\nthe reference solver (every GPU-count piece, walks + Illinois) against the fast one, same scenarios")
        for label, m, slow, fast in reference:
            print(f"{label:38s} reference {m / min(slow):9,.0f}/s, fast {m / min(fast):9,.0f}/s: "
                  f"fast is {min(slow) / min(fast):.1f}x faster ({statistics.median(slow) / statistics.median(fast):.1f}x "
                  "median)")


if __name__ == "__main__":
    main()
