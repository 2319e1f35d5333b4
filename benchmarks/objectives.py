"""Lifetime optima per second under usd, kWh and CO2, with fixed-MFU or roofline serving and a unique-data cap.

Run: python benchmarks/objectives.py [--scenarios 1000000] [--repeats 3]

Each case is one vectorised call of :func:`xlcalc.lifetime_optimal` over the same random scenarios; the
baseline is today's :func:`xlcalc.compute_optimal` on the same losses, timed in the same run with the
same number of repeats. Rates and the ratio to the baseline are printed from the minimum and the median
time. Single-threaded BLAS is forced so the figures are for one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import xlcalc  # noqa: E402


def _times(call, repeats):
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return min(out), statistics.median(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.scenarios
    rng = np.random.default_rng(2024)
    sizes = 10 ** rng.uniform(8, 12, n)
    losses = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    inputs, outputs = 10 ** rng.uniform(8, 15, n), 10 ** rng.uniform(8, 15, n)
    hardware = dict(train_peak_tflops=989.0, infer_peak_tflops=989.0, train_usd_per_hour=2.5, infer_usd_per_hour=2.5,
                    train_tdp_w=700.0, infer_tdp_w=700.0, train_pue=1.2, infer_pue=1.2,
                    train_g_per_kwh=400.0, infer_g_per_kwh=rng.uniform(20, 600, n), mfu_decode=0.05)
    roofline = dict(serving="roofline", infer_mem_bw_tbs=3.35, infer_memory_gb=80.0, batch=64.0, mfu_decode=0.5,
                    kv_bytes_per_param=1.6e-5, input_tokens_per_request=1000.0, output_tokens_per_request=250.0,
                    tpot_target_s=0.03)
    tokens_needed = xlcalc.chinchilla_tokens(sizes)
    cases = [
        ("usd, fixed MFU", dict(objective="usd")),
        ("kwh, fixed MFU", dict(objective="kwh")),
        ("co2, fixed MFU", dict(objective="co2")),
        ("usd, fixed MFU, unique-data cap", dict(objective="usd", unique_tokens=tokens_needed / 4)),
        ("usd, roofline + latency target", dict(objective="usd", **roofline)),
        ("co2, roofline + cap", dict(objective="co2", unique_tokens=tokens_needed / 4, **roofline)),
    ]
    base_min, base_median = _times(lambda: xlcalc.compute_optimal(losses, inputs + outputs), args.repeats)
    print(f"{n:,} scenarios, {args.repeats} repeats; rates from the min (median) time, ratio = time / compute_optimal's")
    print(f"{'compute_optimal (baseline)':36s} {n / base_min:12,.0f}/s ({n / base_median:,.0f}/s)  1.0x")
    for label, extra in cases:
        with xlcalc.invalid_reasons():
            kwargs = dict(hardware, **extra)
            t_min, t_median = _times(lambda: xlcalc.lifetime_optimal(losses, inputs, outputs, **kwargs), args.repeats)
        print(f"{label:36s} {n / t_min:12,.0f}/s ({n / t_median:,.0f}/s)  "
              f"{t_min / base_min:.1f}x ({t_median / base_median:.1f}x)")


if __name__ == "__main__":
    main()
