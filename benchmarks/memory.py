"""Memory of every public array function: the peak beyond its inputs and outputs, per scenario.

Run: python benchmarks/memory.py [--scenarios 1000000] [--large 10000000] [--repeats 3] [--only NAME ...]

1. For each public function of xlcalc that takes arrays, one call on --scenarios random valid scenarios
   (typical values, every array argument a different array): the peak that tracemalloc traces during the
   call (numpy reports its arrays to it), less the result arrays the call returns, in bytes a scenario.
   The inputs are made before tracing starts, so they are not counted. Flagged "over" when above 48
   bytes a scenario (issue 14: 1e8 scenarios in a few GB). lifetime_optimal is measured by
   benchmarks/objectives.py (another module's solver), fit_scaling_law and the *_range functions are not
   array-per-scenario functions, and the catalog look-ups take names.
2. For the lifetime solvers, the rate at --large scenarios against the rate at --scenarios: the runs of
   the two sizes alternate (small, large, small, large, ...), --repeats of each, CPU time; printed as
   min and median of each and their ratios. A call's time includes the page faults of its fresh result
   arrays (the OS maps and zeroes every new page: 4 KB pages, or 2 MB ones when transparent huge pages
   are available, which under memory pressure they often are not, so this part varies most at scale);
   that part is timed alone after each call (as many arrays of the same size) and the page faults
   counted, and the ratio is shown with and without it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import xlcalc  # noqa: E402
from _memory import arrays_of  # noqa: E402
from _timing import cpu_name, cpu_times, min_median  # noqa: E402  (benchmarks/ is the script's folder)

LIMIT_BYTES = 48
COST_PRICES = dict(train_usd_per_hour=2.0, train_peak_tflops=989.0, infer_usd_per_hour=2.0, infer_peak_tflops=1979.0)
NOT_MEASURED = {
    "lifetime_optimal": "benchmarks/objectives.py (objectives module, another part)",
    "fit_scaling_law": "a fit, not a per-scenario call (benchmarks/fit.py)",
    "compute_optimal_range": "ranges over sampled fits (benchmarks/ranges.py)",
    "cost_optimal_range": "ranges over sampled fits (benchmarks/ranges.py)",
    "budget_optimal_range": "ranges over sampled fits (benchmarks/ranges.py)",
    "cost_sensitivity": "a tornado of one scenario",
}


def calls(n: int, rng) -> dict:
    """Function name -> zero-argument call on ``n`` scenarios of random typical values."""
    def u(low, high):  # log-uniform in [low, high]
        return np.exp(rng.uniform(np.log(low), np.log(high), n))

    params, tokens = u(1e8, 1e12), u(1e9, 1e14)
    loss = xlcalc.loss(params, xlcalc.chinchilla_tokens(params))
    inference = u(1e8, 1e15)
    usd, peak, bw, mem = u(0.5, 8), u(100, 2000), u(1, 8), u(16, 192)
    batch, gpus = np.floor(u(1, 256)), np.floor(u(1, 8))
    requests, in_tok, out_tok = u(1e3, 1e9), u(10, 4000), u(10, 2000)
    shape, link = xlcalc.model_shape("Llama-2-70B"), u(50, 900)
    flops, budget, budget_inference = u(1e19, 1e26), u(1e20, 1e26), u(1e8, 1e14)
    params2, tokens03, tokens40 = params * 2.0, tokens * 0.3, xlcalc.chinchilla_tokens(params) * 2.0
    input_tokens, output_tokens = inference * 0.25, inference * 0.75
    purchase, years, tdp = usd * 1e4, u(1, 6), u(300, 1000)
    layers, kv_heads, unique = np.floor(u(8, 128)), np.floor(u(1, 64)), tokens * u(0.05, 1)
    return {
        "loss": lambda: xlcalc.loss(params, tokens),
        "chinchilla_optimal": lambda: xlcalc.chinchilla_optimal(flops),
        "chinchilla_tokens": lambda: xlcalc.chinchilla_tokens(params),
        "chinchilla_for_loss": lambda: xlcalc.chinchilla_for_loss(loss),
        "tokens_for_loss": lambda: xlcalc.tokens_for_loss(loss, params2),
        "params_for_loss": lambda: xlcalc.params_for_loss(loss, tokens40),
        "compute_optimal": lambda: xlcalc.compute_optimal(loss, inference),
        "cost_optimal": lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_PRICES),
        "cost_optimal_per_request": lambda: xlcalc.cost_optimal_per_request(loss, requests, in_tok, out_tok,
                                                                            **COST_PRICES),
        "budget_optimal": lambda: xlcalc.budget_optimal(budget, budget_inference),
        "train_flops": lambda: xlcalc.train_flops(params, tokens),
        "inference_flops": lambda: xlcalc.inference_flops(params, tokens),
        "train_cost": lambda: xlcalc.train_cost(params, tokens, usd, peak, 0.4, gpus),
        "overtrain_ratio": lambda: xlcalc.overtrain_ratio(params, tokens),
        "fit_overtrain_ratio": lambda: xlcalc.fit_overtrain_ratio(params, tokens),
        "inference_factor": lambda: xlcalc.inference_factor(inference, tokens),
        "monthly_cost": lambda: xlcalc.monthly_cost(params, requests, in_tok, out_tok, usd, peak, bw, batch=batch),
        "gpus_needed": lambda: xlcalc.gpus_needed(params, requests, in_tok, out_tok, usd, peak, bw, batch=batch),
        "owned_usd_per_hour": lambda: xlcalc.owned_usd_per_hour(purchase, years, tdp),
        "energy_kwh_per_mtok": lambda: xlcalc.energy_kwh_per_mtok(params, tdp, peak, bw, batch=batch),
        "breakeven_tokens": lambda: xlcalc.breakeven_tokens(params, tokens, params2, tokens03),
        "breakeven_requests": lambda: xlcalc.breakeven_requests(params, tokens, params2, tokens03, in_tok),
        "breakeven_days": lambda: xlcalc.breakeven_days(params, tokens, params2, tokens03, in_tok,
                                                        requests),
        "tokens_per_sec": lambda: xlcalc.tokens_per_sec(params, peak, bw, batch=batch, gpus=gpus),
        "time_per_output_token_s": lambda: xlcalc.time_per_output_token_s(params, peak, bw, batch=batch),
        "decode_mfu": lambda: xlcalc.decode_mfu(params, peak, bw, batch=batch),
        "prefill_tokens_per_sec": lambda: xlcalc.prefill_tokens_per_sec(params, peak, gpus),
        "cost_per_mtok": lambda: xlcalc.cost_per_mtok(params, usd, peak, bw, batch=batch, gpus=gpus),
        "input_cost_per_mtok": lambda: xlcalc.input_cost_per_mtok(params, usd, peak, gpus),
        "blended_cost_per_mtok": lambda: xlcalc.blended_cost_per_mtok(params, usd, peak, bw, in_tok, out_tok,
                                                                      batch=batch),
        "kv_bytes_per_token": lambda: xlcalc.kv_bytes_per_token(layers, kv_heads, 128.0),
        "memory_needed_gb": lambda: xlcalc.memory_needed_gb(params, 2.0, batch, in_tok, 1e4),
        "gpus_to_fit": lambda: xlcalc.gpus_to_fit(params, mem, 2.0, batch, in_tok, 1e4),
        "check_fits": lambda: xlcalc.check_fits(params, 192.0, 64.0, 2.0, batch, in_tok, 1e4),
        "effective_tokens": lambda: xlcalc.effective_tokens(tokens, unique),
        "max_effective_tokens": lambda: xlcalc.max_effective_tokens(tokens),
        "data_constrained_loss": lambda: xlcalc.data_constrained_loss(params, tokens, unique),
        # latency and SLO (xlcalc.core.latency, xlcalc.core.slo): measured here, owned by another part
        "allreduce_s": lambda: xlcalc.allreduce_s(8192.0, 80.0, batch, gpus, link),
        "time_per_token_s": lambda: xlcalc.time_per_token_s(shape, peak, bw, in_tok, batch=batch, gpus=gpus,
                                                            link_gbs=link),
        "ttft_s": lambda: xlcalc.ttft_s(shape, peak, bw, in_tok, batch=batch, gpus=gpus, link_gbs=link),
        "max_batch": lambda: xlcalc.max_batch(shape, peak, bw, mem * 2, in_tok, out_tok, tpot_target_s=0.1,
                                              link_gbs=link),
    }


def solver_calls(n: int, rng) -> dict:
    """The lifetime solvers' calls of :func:`calls`, with only their own inputs made (1e7 scenarios: 0.5 GB)."""
    params = 10 ** rng.uniform(8, 12, n)
    loss = xlcalc.loss(params, xlcalc.chinchilla_tokens(params))
    inference = 10 ** rng.uniform(8, 15, n)
    input_tokens, output_tokens = inference * 0.25, inference * 0.75
    budget, budget_inference = 10 ** rng.uniform(20, 26, n), 10 ** rng.uniform(8, 14, n)
    return {
        "compute_optimal": lambda: xlcalc.compute_optimal(loss, inference),
        "cost_optimal": lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_PRICES),
        "budget_optimal": lambda: xlcalc.budget_optimal(budget, budget_inference),
    }


def extra_bytes(run) -> tuple[int, int]:
    """(peak traced bytes during ``run()`` less its result arrays, bytes of those arrays)."""
    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seen, kept = set(), 0
    for a in arrays_of(result):
        base = a if a.base is None else a.base
        if id(base) not in seen and isinstance(base, np.ndarray):
            seen.add(id(base))
            kept += base.nbytes
    return peak - kept, kept


def memory_table(n: int, only, repeats: int) -> None:
    rng = np.random.default_rng(14)
    table = calls(n, rng)
    print(f"1. Peak memory beyond inputs and outputs, {n:,} scenarios a call (tracemalloc), bytes a scenario; "
          f"limit {LIMIT_BYTES}")
    over = []
    for name, run in table.items():
        if only and name not in only:
            continue
        extra, kept = extra_bytes(run)
        seconds = min(cpu_times(repeats, run))
        flag = "  OVER" if extra / n > LIMIT_BYTES else ""
        if flag:
            over.append(name)
        print(f"  {name:26} {extra / n:8.1f} B   (outputs {kept / n:3.0f} B; {seconds / n * 1e9:6.1f} ns a scenario, min of {repeats}){flag}")
    public = {name for name in xlcalc.__all__ if callable(getattr(xlcalc, name, None))}
    for name, why in NOT_MEASURED.items():
        print(f"  {name:26} not measured here: {why}")
    print(f"  over {LIMIT_BYTES} B: {', '.join(over) if over else 'none'}")
    missing = sorted(public - set(table) - set(NOT_MEASURED))
    print(f"  public callables not taking scenario arrays (names, catalogs, classes, errors): {len(missing)}")


def solver_scaling(small: int, large: int, repeats: int) -> None:
    """Rate at ``large`` against ``small`` for the lifetime solvers, the runs interleaved, with the part of each
    call that is the page faults of its fresh result arrays (timed alone, the same size and count)."""
    rng = np.random.default_rng(2024)
    print(f"\n2. Solves/s at {large:,} against {small:,} scenarios ({repeats} repeats of each size, interleaved; "
          "CPU s)")
    sizes = {small: solver_calls(small, rng), large: solver_calls(large, rng)}
    for name in ("compute_optimal", "cost_optimal", "budget_optimal"):
        outputs = len(list(arrays_of(sizes[small][name]())))
        times, writes, faults = ({small: [], large: []} for _ in range(3))
        for _ in range(repeats):
            for size in (small, large):
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                times[size].append(cpu_times(1, sizes[size][name])[0])
                faults[size].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
                writes[size].append(cpu_times(1, lambda: [np.empty(size).fill(1.0) for _ in range(outputs)])[0])
        rate = {size: [size / t for t in ts] for size, ts in times.items()}
        net = {size: [size / (t - w) for t, w in zip(times[size], writes[size])] for size in times}
        print(f"  {name:16} {small:,}: {min_median(times[small])}; {large:,}: {min_median(times[large])}; page faults "
              f"a call {statistics.median(faults[small]):,.0f} and {statistics.median(faults[large]):,.0f}")
        print(f"  {'':16} rate at {large:,} / rate at {small:,}: {max(rate[large]) / max(rate[small]):.3f} (best/best),"
              f" {statistics.median(rate[large]) / statistics.median(rate[small]):.3f} (median/median)")
        print(f"  {'':16} writing {outputs} fresh result arrays alone, ns a scenario: "
              + ", ".join(f"{size:,}: min {min(w) / size * 1e9:.1f}, median {statistics.median(w) / size * 1e9:.1f}"
                          for size, w in writes.items())
              + f"; rate without it, {large:,} / {small:,}: {max(net[large]) / max(net[small]):.3f} (best/best), "
              f"{statistics.median(net[large]) / statistics.median(net[small]):.3f} (median/median)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000, help="0 to skip the rate at scale")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="measure only these functions")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_name()}; numpy {np.__version__}; one core")
    memory_table(args.scenarios, args.only, args.repeats)
    if args.large:
        solver_scaling(args.scenarios, args.large, args.repeats)


if __name__ == "__main__":
    main()
