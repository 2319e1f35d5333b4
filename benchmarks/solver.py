"""The lifetime solvers: against the paper's own code, against their floor, per scalar call, and in memory.

Run: python benchmarks/solver.py [--scenarios 1000000] [--large 10000000] [--sample 2000] [--repeats 5]

Every figure is CPU time of one core (OMP/OPENBLAS threads = 1), measured in this run; each timing is
repeated --repeats times for xlcalc and for the baseline alike, and printed as min and median.

1. Baseline: the paper's code (github.com/nikhilsardana/beyond-chinchilla, compute_optimal.py and
   cost_optimal.py with model_calculator.py / cost_calculator.py), re-typed here step for step.
   The same: the equation (coeff_1 D^-beta + coeff_2 D^(-beta-1) + E - L = 0, the first-order condition
   along the iso-loss curve, in the paper's operation order), scipy.optimize.newton with no derivative
   (so the secant method), start 1e8 tokens, tol=1e-5, rtol=1e-8, maxiter=100, disp=True (raise when
   not converged), the check that the residual is below 1e-10 afterwards, and N from L, D as utils.py.
   Different: the code is called as a function per scenario (no argparse, no printing, no Model
   objects), which only makes the baseline faster. A scenario "fails" when the paper's code raises
   (RuntimeError, AssertionError, ...), returns a value that is not a finite positive token count, or
   converges to a point whose params differ from xlcalc's by more than 1e-6 relative; xlcalc fails on a
   valid scenario when it returns NaN. Both run over the same scenarios: Chinchilla-quality targets of
   1e8-1e12-parameter models and 1e8-1e15 lifetime inference tokens, as the paper's Figure 2 ranges.
2. Floor: the transcendental functions (np.exp, np.log, np.power) a solve needs, timed on arrays of the
   same size: for compute-optimal 2 logs to set up, one exp and one log per Newton step (the mean
   number of steps, counted on the sample), and 2 exps and 3 powers for the results; similarly for the
   fixed-budget and cost-optimal solves. The ratio solver / floor is what the rest of the work costs.
3. Scalar calls: xlcalc's scalar call (all checks included) against the paper's per-scenario call.
4. Memory: the peak that tracemalloc sees during one array call, less the outputs it returns, per
   scenario; and the rate at --large scenarios against the rate at --scenarios.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tracemalloc
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import newton  # noqa: E402

import xlcalc  # noqa: E402
from _timing import cpu_name, cpu_times, min_median  # noqa: E402  (benchmarks/ is the script's folder)
from xlcalc import _lifetime_kernels as kernels  # noqa: E402
from xlcalc._checks import CHUNK_ELEMENTS  # noqa: E402

# The paper's default hardware (cost_calculator.py): H100 at $2.00/h, bf16 training, fp8 inference.
H100_BF16_FLOPS, H100_FP8_FLOPS, H100_USD_PER_HOUR = 9.89e14, 1.978e15, 2.00
MFU_TRAIN, MFU_PREFILL, MFU_DECODE = 0.5, 0.5, 0.01
COST_KWARGS = dict(train_usd_per_hour=H100_USD_PER_HOUR, train_peak_tflops=H100_BF16_FLOPS / 1e12,
                   infer_usd_per_hour=H100_USD_PER_HOUR, infer_peak_tflops=H100_FP8_FLOPS / 1e12,
                   mfu_train=MFU_TRAIN, mfu_prefill=MFU_PREFILL, mfu_decode=MFU_DECODE)


# ----------------------------------------------------------------------------------------------
# The paper's code, step for step (see the module docstring for what is the same and what differs)


def _paper_solve(condition, args, fit, loss):
    E, A, B, alpha, beta = fit.constants
    d_opt = newton(condition, 1e8, tol=1e-5, maxiter=100, rtol=1e-8, args=args, disp=True)
    approximation_error = condition(d_opt, *args)
    assert approximation_error < 1e-10, "Approximation failure"
    return (A / (loss - E - B / (d_opt**beta))) ** (1 / alpha)  # utils.params_from_loss_and_tokens


def paper_compute_optimal(loss: float, inference_tokens: float, fit) -> float:
    """compute_optimal.py's calculate_compute_optimal_model: the params of the optimum."""
    E, A, B, alpha, beta = fit.constants

    def compute_optimal_train_tokens(x, T, L):  # model_calculator.Model.compute_optimal_train_tokens
        coeff_1 = ((beta * B) / alpha) + B
        coeff_2 = (T * beta * B) / (3 * alpha)
        loss_diff = E - L
        return coeff_1 * x ** (-1 * beta) + coeff_2 * x ** ((-1 * beta) - 1) + loss_diff

    return _paper_solve(compute_optimal_train_tokens, (inference_tokens, loss), fit, loss)


def paper_cost_optimal(loss: float, input_tokens: float, output_tokens: float, fit) -> float:
    """cost_optimal.py's calculate_cost_optimal_model: the params of the optimum."""
    E, A, B, alpha, beta = fit.constants
    c_tr = H100_USD_PER_HOUR / (60 * 60 * H100_BF16_FLOPS)  # cost_calculator.cost_per_flop
    c_i = H100_USD_PER_HOUR / (60 * 60 * H100_FP8_FLOPS)

    def cost_optimal_train_tokens(x, T_in, T_out, L):  # cost_calculator.CostModel.cost_optimal_train_tokens
        mult_i = c_i * (T_in / MFU_PREFILL + T_out / MFU_DECODE)
        mult_tr = c_tr / MFU_TRAIN
        coeff_1 = ((beta * B) / alpha) + B
        coeff_2 = (beta * B * mult_i) / (3 * alpha * mult_tr)
        diff = E - L
        return coeff_1 * x ** (-1 * beta) + coeff_2 * x ** ((-1 * beta) - 1) + diff

    return _paper_solve(cost_optimal_train_tokens, (input_tokens, output_tokens, loss), fit, loss)


def paper_outcome(solve, *args) -> float:
    """The paper's params, or NaN where its code raises or gives no finite positive answer."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = solve(*args)
    except (RuntimeError, AssertionError, ArithmeticError, ValueError, TypeError):
        return math.nan
    return float(params) if isinstance(params, float) and math.isfinite(params) and params > 0 else math.nan


# ----------------------------------------------------------------------------------------------
# Timing


def per_call_us(repeats: int, calls) -> list[float]:
    """Microseconds per call over a list of zero-argument calls, one figure per repeat."""
    return [t / len(calls) * 1e6 for t in cpu_times(repeats, lambda: [call() for call in calls])]


def floor_seconds(repeats: int, values: np.ndarray, exps: float, logs: float, powers: float) -> float:
    """The fastest time of the given numbers of np.exp, np.log and np.power passes over arrays of the
    solve's own values (``values`` > 0, such as its tokens; exp runs on their logs, as in the solve)."""
    out, logs_of_values = np.empty_like(values), np.log(values)
    t_exp = min(cpu_times(repeats, lambda: np.exp(logs_of_values, out=out)))
    t_log = min(cpu_times(repeats, lambda: np.log(values, out=out)))
    t_pow = min(cpu_times(repeats, lambda: np.power(values, 0.336, out=out)))
    return exps * t_exp + logs * t_log + powers * t_pow


def counted_iterations(function, *args) -> list[int]:
    """Iterations of each bracketed solve inside ``function(*args)`` (kernels.solve_decreasing_one)."""
    counts, original = [], kernels.solve_decreasing_one

    def counting(*a, **k):
        root, iterations = original(*a, **k)
        counts.append(iterations)
        return root, iterations

    kernels.solve_decreasing_one = counting
    try:
        function(*args)
    finally:
        kernels.solve_decreasing_one = original
    return counts


def newton_steps(f, loss: float, s: float) -> int:
    """Newton steps of the compute/cost-optimal reference loop for one scenario (the same test as there)."""
    b, p = f.beta, f.B * (f.alpha + f.beta)
    log_q = math.log(f.B * b * s) if s > 0 else -math.inf
    log_r = math.log(f.alpha * (loss - f.E))
    x = max((math.log(p) - log_r) / b, (log_q - log_r) / (1 + b))
    tolerance = kernels.X_TOLERANCE * max(1.0, abs(x), abs(x + math.log(2.0) / b))
    for steps in range(1, kernels.MAX_NEWTON_STEPS + 1):
        tail = math.exp(log_q - x)
        step = (math.log(p + tail) - x * b - log_r) / (tail / (p + tail) + b)
        x += step
        if abs(step) <= tolerance:
            return steps
    return kernels.MAX_NEWTON_STEPS


def scenarios(rng, count: int):
    """Chinchilla-quality targets of 1e8-1e12-parameter models; 1e8-1e15 lifetime inference tokens."""
    params = 10 ** rng.uniform(8, 12, count)
    return xlcalc.loss(params, xlcalc.chinchilla_tokens(params)), 10 ** rng.uniform(8, 15, count)


def extra_bytes_per_scenario(run, outputs_of, count: int) -> float:
    """Peak memory tracemalloc sees during ``run()``, less the arrays it returns, per scenario."""
    tracemalloc.start()
    result = run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    kept = sum(a.nbytes for a in outputs_of(result))
    return (peak - kept) / count


def outputs_of(result):
    """The arrays a lifetime result returns (its fields and its Chinchilla reference's)."""
    import dataclasses

    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        yield from (outputs_of(value) if dataclasses.is_dataclass(value) else [value])


# ----------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000, help="0 to skip the large run")
    parser.add_argument("--sample", type=int, default=2_000, help="scenarios the paper's code is timed on")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    fit, r = xlcalc.get_fit(), args.repeats
    rng = np.random.default_rng(2024)
    loss, inference = scenarios(rng, args.scenarios)
    input_tokens, output_tokens = inference * 0.25, inference * 0.75
    sample = rng.choice(args.scenarios, args.sample, replace=False)
    print(f"CPU: {cpu_name()}; numpy {np.__version__}; {r} repeats of everything; one core")

    # 1. Vectorised against the paper's loop, and failures over the same scenarios
    print(f"\n1. {args.scenarios:,} scenarios in one call against the paper's code per scenario "
          f"(timed on {args.sample:,} of them)")
    compute = xlcalc.compute_optimal(loss, inference)
    cost = xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_KWARGS)
    for name, ours, paper_call, result in [
        ("compute-optimal", lambda: xlcalc.compute_optimal(loss, inference),
         lambda i: paper_outcome(paper_compute_optimal, loss[i], inference[i], fit), compute),
        ("cost-optimal", lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_KWARGS),
         lambda i: paper_outcome(paper_cost_optimal, loss[i], input_tokens[i], output_tokens[i], fit), cost),
    ]:
        ours_t = cpu_times(r, ours)
        paper_params = np.array([paper_call(i) for i in sample])
        paper_t = cpu_times(r, lambda: [paper_call(i) for i in sample])
        ours_rate = [args.scenarios / t for t in ours_t]
        paper_rate = [args.sample / t for t in paper_t]
        ours_params = result.params[sample]
        wrong = np.isfinite(paper_params) & (np.abs(paper_params / ours_params - 1) > 1e-6)
        agree = np.abs(paper_params / ours_params - 1)[np.isfinite(paper_params)]
        print(f"  {name}: xlcalc {min_median(ours_t)} -> {max(ours_rate):,.0f} solves/s (median "
              f"{statistics.median(ours_rate):,.0f}); paper {min_median(paper_t)} for the sample -> "
              f"{max(paper_rate):,.0f}/s (median {statistics.median(paper_rate):,.0f})")
        print(f"    ratio {max(ours_rate) / max(paper_rate):,.0f}x (best/best), "
              f"{statistics.median(ours_rate) / statistics.median(paper_rate):,.0f}x (median/median)")
        print(f"    failures: paper {int(np.isnan(paper_params).sum()) + int(wrong.sum())} of {args.sample:,} "
              f"({int(np.isnan(paper_params).sum())} raised or no answer, {int(wrong.sum())} another point); "
              f"xlcalc {int(np.isnan(result.params).sum())} of {args.scenarios:,}; "
              f"largest difference where both answer: {agree.max():.1e}")

    # 2. Floors
    print("\n2. Against the floor: the transcendental functions each solve needs, on arrays of the same size")
    steps = statistics.mean(newton_steps(fit, float(loss[i]), float(inference[i]) / 3.0) for i in sample)
    floor = floor_seconds(r, compute.tokens, exps=steps + 2, logs=steps + 2, powers=3)
    newton_floor = floor_seconds(r, compute.tokens, exps=steps, logs=steps + 2, powers=0)
    kernel_t = cpu_times(r, lambda: _in_chunks(lambda a, b: kernels.optimal_log_tokens(fit, a, b / 3.0),
                                               loss, inference))
    compute_t = cpu_times(r, lambda: xlcalc.compute_optimal(loss, inference))
    cost_t = cpu_times(r, lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_KWARGS))
    print(f"  Newton steps a scenario: {steps:.2f} on average (one exp and one log each)")
    print(f"  compute_optimal (all nine outputs): {min_median(compute_t)}; floor {floor:.4g} s; "
          f"ratio {min(compute_t) / floor:.2f} (median {statistics.median(compute_t) / floor:.2f})")
    print(f"  cost_optimal: {min_median(cost_t)}; floor {floor:.4g} s; ratio {min(cost_t) / floor:.2f}")
    print(f"  the Newton kernel alone: {min_median(kernel_t)}; its floor {newton_floor:.4g} s; "
          f"ratio {min(kernel_t) / newton_floor:.2f}")
    budget_count = args.scenarios
    flops = 10 ** rng.uniform(20, 26, budget_count)
    budget_inference = 10 ** rng.uniform(8, 14, budget_count)
    budget_t = cpu_times(r, lambda: xlcalc.budget_optimal(flops, budget_inference))
    counts = [counted_iterations(kernels.budget_results_one, fit, np.float64(flops[i]),
                                 np.float64(budget_inference[i])) for i in range(min(500, budget_count))]
    k_tokens, k_params = statistics.mean(c[0] for c in counts), statistics.mean(c[1] for c in counts)
    # ln C, then the start: a power, a log and one value (exp, log1p, log); a step: exp, log1p, log; the
    # Chinchilla bracket: 2 logs, a step: logaddexp (exp, log1p) and an exp; results: 2 exps, 6 powers.
    budget_floor = floor_seconds(r, xlcalc.budget_optimal(flops, budget_inference).tokens, exps=1 + k_tokens + 2 * k_params + 2,
                                 logs=1 + 3 + 2 * k_tokens + 2 + k_params, powers=7)
    print(f"  budget_optimal ({budget_count:,} scenarios; {k_tokens:.2f} + {k_params:.2f} bracketed steps): "
          f"{min_median(budget_t)}; floor {budget_floor:.4g} s; ratio {min(budget_t) / budget_floor:.2f}")

    # 3. Scalar calls
    print("\n3. One scenario per call (CPU microseconds per call; xlcalc checks every argument)")
    few = sample[:300]
    rows = [
        ("paper's compute_optimal code", [lambda i=i: paper_outcome(paper_compute_optimal, loss[i], inference[i], fit)
                                          for i in few]),
        ("xlcalc.compute_optimal", [lambda i=i: xlcalc.compute_optimal(float(loss[i]), float(inference[i]))
                                    for i in few]),
        ("paper's cost_optimal code", [lambda i=i: paper_outcome(paper_cost_optimal, loss[i], input_tokens[i],
                                                                 output_tokens[i], fit) for i in few]),
        ("xlcalc.cost_optimal", [lambda i=i: xlcalc.cost_optimal(float(loss[i]), float(input_tokens[i]),
                                                                 float(output_tokens[i]), **COST_KWARGS)
                                 for i in few]),
        ("xlcalc.budget_optimal", [lambda i=i: xlcalc.budget_optimal(float(flops[i % budget_count]),
                                                                     float(budget_inference[i % budget_count]))
                                   for i in few]),
        ("xlcalc.loss", [lambda i=i: xlcalc.loss(float(loss[i]) * 1e10, float(inference[i])) for i in few]),
    ]
    for name, calls in rows:
        us = per_call_us(r, calls)
        print(f"  {name:30} min {min(us):7.1f} us, median {statistics.median(us):7.1f} us")

    # 4. Memory and scale
    print("\n4. Memory beyond inputs and outputs (tracemalloc peak), and the rate at scale")
    for name, run, count in [
        ("compute_optimal", lambda: xlcalc.compute_optimal(loss, inference), args.scenarios),
        ("cost_optimal", lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_KWARGS),
         args.scenarios),
        ("budget_optimal", lambda: xlcalc.budget_optimal(flops, budget_inference), budget_count),
    ]:
        print(f"  {name}: {extra_bytes_per_scenario(run, outputs_of, count):.1f} bytes a scenario")
    if args.large:
        del compute, cost
        big_loss, big_inference = scenarios(rng, args.large)
        big_t = cpu_times(max(2, r // 2), lambda: xlcalc.compute_optimal(big_loss, big_inference))
        small_rate, big_rate = args.scenarios / min(compute_t), args.large / min(big_t)
        print(f"  compute_optimal at {args.large:,}: {min_median(big_t)} -> {big_rate:,.0f} solves/s, "
              f"{big_rate / small_rate:.2f}x the rate at {args.scenarios:,}")
        extra = extra_bytes_per_scenario(lambda: xlcalc.compute_optimal(big_loss, big_inference), outputs_of, args.large)
        print(f"    {extra:.1f} bytes a scenario beyond inputs and outputs")


def _in_chunks(kernel, *arrays, chunk=CHUNK_ELEMENTS):
    """Run a chunk kernel over whole arrays (as Checked.map_chunks does, without the checks)."""
    out = np.empty_like(arrays[0])
    for start in range(0, out.size, chunk):
        out[start:start + chunk] = kernel(*(a[start:start + chunk] for a in arrays))
    return out


if __name__ == "__main__":
    main()
