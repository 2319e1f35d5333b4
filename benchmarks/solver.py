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
2. Floor: the exps, logs and powers a solve of the shipped method needs, timed as whole-array np.exp,
   np.log and np.power passes (out= a preallocated array, the fastest they run) on arrays of the same
   size. The count is the same kind for every solver: each np.exp, np.log and np.power the solver's
   scalar twin (xlcalc.core._lifetime_fused, the same operations as the array kernel) calls for a scenario,
   averaged over the sample: the set-up logs, one exp and one log a Newton step with each scenario
   stopping by its own test, and those of the results. It leaves out all + - * / and comparisons, the checks, the steps a chunk
   runs for its slowest scenario, and writing the outputs: that is what the ratio solver / floor
   measures. Min is against min, median against median. The bound: one pass of each kind (np.exp, np.log,
   np.add, ..., a reduction) is timed on a chunk of the solvers' size (in cache, out= a buffer), and the
   passes of one Newton step are read from the fused kernel's source (each np.<ufunc> call and in-place
   operator in its Newton loop, and _take_step's masking and stopping test); (exp + log + the step's
   arithmetic) / (exp + log) is what a step costs against the transcendentals it needs, a lower bound of
   the ratio for a solve made of such steps (the set-up, the results and the checks come on top).
3. Scalar calls: xlcalc's scalar call (all checks included) against the paper's per-scenario call.
4. Memory: the peak that tracemalloc sees during one array call, less the outputs it returns, per
   scenario; and the rate at --large scenarios against the rate at --scenarios.
"""

from __future__ import annotations

import argparse
import ast
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
from xlcalc.core import _lifetime_fused as fused  # noqa: E402
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


def counted_transcendentals(calls) -> tuple[float, float, float]:
    """Mean np.exp, np.log and np.power calls of the fused scalar kernels per call in ``calls`` (zero-argument)."""
    counts = {"exp": 0, "log": 0, "power": 0}
    original = fused._exp, fused._log, fused._power

    def counting(name, function):
        def wrapped(*values):
            counts[name] += 1
            return function(*values)
        return wrapped

    fused._exp, fused._log, fused._power = counting("exp", np.exp), counting("log", np.log), counting("power", np.power)
    try:
        for call in calls:
            call()
    finally:
        fused._exp, fused._log, fused._power = original
    return counts["exp"] / len(calls), counts["log"] / len(calls), counts["power"] / len(calls)


def pass_costs(repeats: int, chunk: int = CHUNK_ELEMENTS) -> dict:
    """ns an element of one pass of each kind over a chunk of the solvers' size (in cache, out= a buffer), the
    fastest of ``repeats`` runs of 200 passes each; ``any`` is a reduction of a float mask (the stopping test)."""
    rng = np.random.default_rng(0)
    a, b, out = rng.uniform(1, 30, chunk), rng.uniform(1, 30, chunk), np.empty(chunk)
    kinds = {"exp": lambda: np.exp(a, out=out), "log": lambda: np.log(a, out=out),
             "add": lambda: np.add(a, b, out=out), "subtract": lambda: np.subtract(a, b, out=out),
             "multiply": lambda: np.multiply(a, b, out=out), "divide": lambda: np.divide(a, b, out=out),
             "greater": lambda: np.greater(a, b, out=out), "absolute": lambda: np.abs(a, out=out),
             "negative": lambda: np.negative(a, out=out), "any": lambda: out.any()}
    out.fill(0.0)
    return {name: min(cpu_times(repeats, lambda: [run() for _ in range(200)])) / (200 * chunk) * 1e9
            for name, run in kinds.items()}


_AUGMENTED = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
_NUMPY_NAMES = {"abs": "absolute"}


def _passes(nodes) -> list[str]:
    """The array passes of statements, in order: each np.<ufunc>(...) call, each ``x op= y`` and each ``.any()``
    (the calls of _take_step itself excluded: its passes are counted from its own source)."""
    found = []
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.AugAssign):
                found.append(_AUGMENTED[type(sub.op)])
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                if isinstance(sub.func.value, ast.Name) and sub.func.value.id == "np":
                    found.append(_NUMPY_NAMES.get(sub.func.attr, sub.func.attr))
                elif sub.func.attr == "any":
                    found.append("any")
    return found


def newton_step_passes(kernel) -> list[tuple[list[str], list[str]]]:
    """(the step's passes, the stopping test's passes) of one Newton step (from the second on) of each Newton loop of
    a fused array ``kernel``, read from its source: the loop body, and _take_step's masking and test."""
    import inspect
    import textwrap

    take_step = ast.parse(textwrap.dedent(inspect.getsource(fused._take_step))).body[0]
    # _take_step's statements after its first-step branch, without the last step's NaN marking
    stopping = _passes([n for n in take_step.body if not isinstance(n, (ast.If, ast.Expr)) or
                        isinstance(n, ast.Expr) and not isinstance(n.value, ast.Constant)])
    tree = ast.parse(textwrap.dedent(inspect.getsource(kernel)))
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and "MAX_NEWTON_STEPS" in ast.unparse(n.iter)]
    return [(_passes(loop.body), stopping) for loop in loops]


def ns_of(passes: list[str], costs: dict, kinds=None) -> float:
    """ns an element of ``passes`` (only those of ``kinds`` when given)."""
    return sum(costs[p] for p in passes if kinds is None or p in kinds)


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
    print("\n2. Against the floor: the exps, logs and powers each solve needs (counted per scenario), as whole-array "
          "passes")
    budget_count = args.scenarios
    flops = 10 ** rng.uniform(20, 26, budget_count)
    budget_inference = 10 ** rng.uniform(8, 14, budget_count)
    values = compute.tokens
    out = np.empty_like(values)
    logs_of_values = np.log(values)
    exp_t = cpu_times(r, lambda: np.exp(logs_of_values, out=out))
    log_t = cpu_times(r, lambda: np.log(values, out=out))
    power_t = cpu_times(r, lambda: np.power(values, 1 / 0.336, out=out))
    k_train, usd_per_param = kernels_cost_prices(input_tokens, output_tokens)
    solvers = [
        ("compute_optimal", lambda: xlcalc.compute_optimal(loss, inference), args.scenarios,
         [lambda i=i: fused.curve_optimum_one(fit, float(loss[i]), float(inference[i]) / 3.0, 6.0,
                                              2.0 * float(inference[i])) for i in sample]),
        ("cost_optimal", lambda: xlcalc.cost_optimal(loss, input_tokens, output_tokens, **COST_KWARGS), args.scenarios,
         [lambda i=i: fused.curve_optimum_one(fit, float(loss[i]), float(usd_per_param[i] / (6.0 * k_train)),
                                              6.0 * k_train, float(usd_per_param[i])) for i in sample]),
        ("budget_optimal", lambda: xlcalc.budget_optimal(flops, budget_inference), budget_count,
         [lambda i=i: fused.budget_optimum_one(fit, float(flops[i]), float(budget_inference[i]))
          for i in sample]),
    ]
    rates = {}
    costs = pass_costs(r)
    kernels = {"compute_optimal": fused.curve_optimum_into, "cost_optimal": fused.curve_optimum_into,
               "budget_optimal": fused.budget_optimum_into}
    for name, run, count, one_calls in solvers:
        exps, logs, powers = counted_transcendentals(one_calls)
        times = cpu_times(r, run)
        rates[name] = count / min(times)
        floor_min = exps * min(exp_t) + logs * min(log_t) + powers * min(power_t)
        floor_median = (exps * statistics.median(exp_t) + logs * statistics.median(log_t)
                        + powers * statistics.median(power_t))
        print(f"  {name} at {count:,}: {min_median(times)} -> {count / min(times):,.0f} solves/s "
              f"(median {count / statistics.median(times):,.0f})")
        print(f"    floor: {exps:.2f} exps + {logs:.2f} logs + {powers:.0f} powers a scenario = {floor_min:.4g} s "
              f"(median {floor_median:.4g} s);"
              f" ratio {min(times) / floor_min:.2f} (median {statistics.median(times) / floor_median:.2f})")
        steps = newton_step_passes(kernels[name])
        transcendental = sum(ns_of(step, costs, ("exp", "log")) for step, _ in steps)
        update = sum(ns_of(step, costs) for step, _ in steps) - transcendental
        stopping = sum(ns_of(stop, costs) for _, stop in steps)
        arithmetic = [len([p for p in step if p not in ("exp", "log")]) for step, _ in steps]
        print(f"    a Newton step ({' and '.join(str(a) for a in arithmetic)} arithmetic passes besides its exp and "
              f"log, + {len(steps[0][1])} of the stopping test{', in each of two loops' if len(steps) > 1 else ''}):"
              f" exp + log {transcendental:.2f} ns, step arithmetic {update:.2f} ns, stopping test {stopping:.2f} ns"
              f" an element -> bound on the ratio (transcendentals + the step's arithmetic) / transcendentals "
              f"{(transcendental + update) / transcendental:.2f}, with the test "
              f"{(transcendental + update + stopping) / transcendental:.2f}; measured {min(times) / floor_min:.2f}")
    print(f"  one pass over a {CHUNK_ELEMENTS:,}-element chunk (the solvers' chunk), ns an element: "
          + ", ".join(f"{name} {ns:.2f}" for name, ns in costs.items()))
    write_t = cpu_times(r, lambda: [np.empty(args.scenarios).fill(1.0) for _ in range(9)])
    print(f"  writing nine new result arrays of {args.scenarios:,} (what every call returns), alone: "
          f"{min_median(write_t)}")

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
    medians = {}
    for name, calls in rows:
        us = per_call_us(r, calls)
        medians[name] = statistics.median(us)
        print(f"  {name:30} min {min(us):7.1f} us, median {statistics.median(us):7.1f} us")
    for what in ("compute_optimal", "cost_optimal"):
        print(f"  xlcalc.{what} is {medians[f'paper' + chr(39) + f's {what} code'] / medians[f'xlcalc.{what}']:.0f}x "
              "faster than the paper's code per call (median/median)")

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
        big_flops, big_budget_inference = 10 ** rng.uniform(20, 26, args.large), 10 ** rng.uniform(8, 14, args.large)
        big_input, big_output = 0.25 * big_inference, 0.75 * big_inference
        for name, run in [
            ("compute_optimal", lambda: xlcalc.compute_optimal(big_loss, big_inference)),
            ("cost_optimal", lambda: xlcalc.cost_optimal(big_loss, big_input, big_output, **COST_KWARGS)),
            ("budget_optimal", lambda: xlcalc.budget_optimal(big_flops, big_budget_inference)),
        ]:
            big_t = cpu_times(max(2, r // 2), run)
            big_rate = args.large / min(big_t)
            print(f"  {name} at {args.large:,}: {min_median(big_t)} -> {big_rate:,.0f} solves/s, "
                  f"{big_rate / rates[name]:.2f}x the rate at {args.scenarios:,}; "
                  f"{extra_bytes_per_scenario(run, outputs_of, args.large):.1f} bytes a scenario beyond inputs "
                  "and outputs")


def kernels_cost_prices(input_tokens, output_tokens):
    """k_train ($ per training FLOP) and $ per parameter of serving, at the benchmark's prices."""
    from xlcalc.core._lifetime_kernels import cost_prices

    return cost_prices(input_tokens, output_tokens, **{k: float(v) for k, v in COST_KWARGS.items()})


if __name__ == "__main__":
    main()
