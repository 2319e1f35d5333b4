"""`xlcalc solve`: the scaling-law optima from the shell, as a readable table or JSON."""

from __future__ import annotations

import argparse

import math

from ..core import laws, lifetime
from .._checks import format_value
from ..errors import InvalidInputError
from . import ranges
from ._output import decimals, human, print_json, print_table

# The paper's Table 2 assumptions (Sardana et al. 2024): A100-80GB bf16 for training, A100-40GB int8 for serving.
PAPER_HARDWARE = dict(train_usd_per_hour=1.50, train_peak_tflops=312.0, infer_usd_per_hour=1.10,
                      infer_peak_tflops=624.0, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01)


def number(text: str) -> float:
    """argparse type: a float that also accepts 1e12, 2_000 and 70B / 1.4T / 500M suffixes."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    scale = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}.get(cleaned[-1:].lower(), 1.0)
    if scale != 1.0:
        cleaned = cleaned[:-1]
    try:
        return float(cleaned) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (examples: 1e12, 70B, 1.4T)") from None


def register(subparsers) -> None:
    """Add the `solve` command."""
    solve = subparsers.add_parser("solve", help="solve for the optimal model size and tokens",
                                  description="Solve for the optimal model size and training tokens.")
    kinds = solve.add_subparsers(dest="kind", metavar="KIND", required=True)

    def common(p):
        p.add_argument("--fit", default=laws.DEFAULT_FIT,
                       help=f"scaling-law fit: one of {', '.join(laws.FITS)}, five numbers 'E,A,B,alpha,beta', "
                            "or a FIT.json saved by `xlcalc fit --save`")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def target(p, requests=False):
        """The target loss; with ``requests``, the lifetime request profile too."""
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--loss", type=number, help="target loss (must exceed the fit's E)")
        group.add_argument("--chinchilla-params", type=number, metavar="N",
                           help="target the loss of a Chinchilla-optimal model of N params (e.g. 70B)")
        if requests:
            p.add_argument("--requests", type=number, required=True, help="lifetime requests")
            p.add_argument("--input-tokens", type=number, required=True, help="prompt tokens per request")
            p.add_argument("--output-tokens", type=number, required=True, help="generated tokens per request")

    p = kinds.add_parser("chinchilla", help="training-compute-optimal model for a FLOP budget")
    p.add_argument("--compute", type=number, required=True, metavar="FLOPS", help="training budget in FLOPs (6ND)")
    common(p)
    p.set_defaults(handler=_chinchilla)

    p = kinds.add_parser("compute-optimal", help="fewest lifetime FLOPs for a loss and inference demand")
    target(p)
    p.add_argument("--inference-tokens", type=number, required=True, help="lifetime inference tokens")
    common(p)
    ranges.add_arguments(p, tornado=False)
    p.set_defaults(handler=_compute_optimal)

    p = kinds.add_parser("cost-optimal", help="lowest lifetime $ for a loss and a request profile",
                         description="Lowest lifetime dollar cost. Hardware defaults are the paper's Table 2 "
                                     "assumptions: training $1.50/h at 312 TFLOP/s (A100-80GB bf16), inference "
                                     "$1.10/h at 624 TOP/s (A100-40GB int8), MFU 0.5 / 0.5 / 0.01.")
    target(p, requests=True)
    for name, value in PAPER_HARDWARE.items():
        p.add_argument("--" + name.replace("_", "-"), type=number, default=value, help=f"default {value:g}")
    common(p)
    ranges.add_arguments(p, tornado=True)
    p.set_defaults(handler=_cost_optimal)

    from . import solve_lifetime  # issue 12: `solve lifetime` (usd, kWh, CO2; roofline; unique data)
    solve_lifetime.register(kinds, common, target, number, lambda a: (_fit(a), _target_loss(a, _fit(a))))

    p = kinds.add_parser("budget", help="lowest loss for a total budget of training plus inference FLOPs")
    p.add_argument("--total-flops", type=number, required=True, help="training + inference FLOP budget")
    p.add_argument("--inference-tokens", type=number, required=True, help="lifetime inference tokens")
    common(p)
    ranges.add_arguments(p, tornado=False)
    p.set_defaults(handler=_budget)


def _fit(args, uncertain=False):
    text = args.fit
    if text.strip().lower().endswith(".json"):  # a saved fit; its samples only for --ranges
        fit = ranges.load_fit(text.strip())
        return fit if uncertain or isinstance(fit, laws.Fit) else fit.base
    if "," not in text:
        return laws.get_fit(text)
    values = []
    for place, part in enumerate(text.split(","), 1):
        try:
            values.append(number(part))
        except argparse.ArgumentTypeError:
            shown = "empty (a stray comma?)" if not part.strip() else f"{part.strip()!r}, not a number"
            raise InvalidInputError(f"--fit = {text!r} is not allowed: value {place} is {shown}; give a fit name "
                                    f"({', '.join(laws.FITS)}) or five numbers E,A,B,alpha,beta") from None
    return laws.get_fit(values)


def _per_request(args) -> tuple[float, float]:
    """Lifetime input and output tokens (requests x tokens per request), each factor checked under its flag."""
    for flag in ("requests", "input_tokens", "output_tokens"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"--{flag.replace('_', '-')} = {format_value(value)} is not allowed: "
                                    "must be a number >= 0")
    totals = args.requests * args.input_tokens, args.requests * args.output_tokens
    for flag, total in zip(("--input-tokens", "--output-tokens"), totals):
        if not math.isfinite(total):
            raise InvalidInputError(f"--requests x {flag} = {format_value(total)} is not allowed: lifetime tokens "
                                    "must be a finite number")
    return totals


def _ratios(opt, ch, total: str) -> list[str]:
    """params, tokens and ``total`` of the optimum as percentages of the Chinchilla-style model's."""
    return [human(getattr(opt, name) / getattr(ch, name), "percent") for name in ("params", "tokens", total)]


def _target_loss(args, fit):
    if args.loss is not None:
        return args.loss
    return laws.loss(args.chinchilla_params, laws.chinchilla_tokens(args.chinchilla_params, fit=fit), fit=fit)


def _chinchilla(args) -> int:
    fit = _fit(args)
    opt = laws.chinchilla_optimal(args.compute, fit=fit)
    if args.json:
        print_json({"fit": fit.name, "compute_flops": args.compute, "params": opt.params, "tokens": opt.tokens,
                    "loss": opt.loss, "tokens_per_param": opt.tokens / opt.params})
        return 0
    print_table(f"Chinchilla-optimal model for {args.compute:.4g} training FLOPs (fit {fit.name})",
                ["", "params", "tokens", "tokens/param", "loss"],
                [["optimum", human(opt.params, "params"), human(opt.tokens, "tokens"),
                  decimals(opt.tokens / opt.params, 1), human(opt.loss, "loss")]])
    return 0


def _print_optimum(args, fit, target, opt, *, kind: str, total: str, column: str, inputs: dict, demand: str,
                   saving: str) -> int:
    """Print a lifetime optimum ``opt`` beside its Chinchilla-style model: JSON, or a table and a saving line.

    ``total`` names the lifetime total the optimum minimises ('flops' or 'usd', with its ``train_`` and
    ``inference_`` parts), ``inputs`` the JSON entries of the demand, ``demand`` its words in the title.
    """
    ch = opt.chinchilla
    if args.json:
        print_json({"fit": fit.name, "loss": target, **inputs,
                    "optimal": {"params": opt.params, "tokens": opt.tokens, total: getattr(opt, total),
                                f"train_{total}": getattr(opt, f"train_{total}"),
                                f"inference_{total}": getattr(opt, f"inference_{total}")},
                    "chinchilla": {"params": ch.params, "tokens": ch.tokens, total: getattr(ch, total)},
                    "saving": opt.saving})
        return 0
    print_table(f"{kind.capitalize()}-optimal model for loss {human(target, 'loss')} and {demand} (fit {fit.name})",
                ["", "params", "tokens", column],
                [["Chinchilla-style", human(ch.params, "params"), human(ch.tokens, "tokens"),
                  human(getattr(ch, total), total)],
                 [f"{kind}-optimal", human(opt.params, "params"), human(opt.tokens, "tokens"),
                  human(getattr(opt, total), total)],
                 ["optimal / Chinchilla", *_ratios(opt, ch, total)]],
                [f"saving: {human(opt.saving, 'percent')} of {saving}"])
    return 0


def _compute_optimal(args) -> int:
    fit = _fit(args, uncertain=ranges.wanted(args))
    target = _target_loss(args, getattr(fit, "base", fit))
    if ranges.wanted(args):
        return ranges.solve_ranges(args, fit, kind="compute",
                                   inputs={"loss": target, "inference_tokens": args.inference_tokens})
    opt = lifetime.compute_optimal(target, args.inference_tokens, fit=fit)
    return _print_optimum(args, fit, target, opt, kind="compute", total="flops", column="lifetime FLOPs",
                          inputs={"inference_tokens": args.inference_tokens},
                          demand=f"{args.inference_tokens:.4g} inference tokens", saving="lifetime FLOPs")


def _cost_optimal(args) -> int:
    fit = _fit(args, uncertain=ranges.wanted(args))
    target = _target_loss(args, getattr(fit, "base", fit))
    hardware = {name: getattr(args, name) for name in PAPER_HARDWARE}
    input_tokens, output_tokens = _per_request(args)
    if ranges.wanted(args):
        return ranges.solve_ranges(args, fit, kind="cost", inputs={
            "loss": target, "input_tokens": input_tokens, "output_tokens": output_tokens, **hardware}, per_request={
            "requests": args.requests, "input_tokens_per_request": args.input_tokens,
            "output_tokens_per_request": args.output_tokens})
    opt = lifetime.cost_optimal(target, input_tokens, output_tokens, fit=fit, **hardware)
    return _print_optimum(args, fit, target, opt, kind="cost", total="usd", column="lifetime $",
                          inputs={"requests": args.requests, "input_tokens": args.input_tokens,
                                  "output_tokens": args.output_tokens, "hardware": hardware},
                          demand=f"{args.requests:.4g} requests of {args.input_tokens:g} + {args.output_tokens:g} "
                                 "tokens",
                          saving=f"lifetime cost (training {human(opt.train_usd, 'usd')}, inference "
                                 f"{human(opt.inference_usd, 'usd')})")


def _budget(args) -> int:
    fit = _fit(args, uncertain=ranges.wanted(args))
    if ranges.wanted(args):
        return ranges.solve_ranges(args, fit, kind="budget",
                                   inputs={"total_flops": args.total_flops, "inference_tokens": args.inference_tokens})
    opt = lifetime.budget_optimal(args.total_flops, args.inference_tokens, fit=fit)
    ch = opt.chinchilla
    if args.json:
        print_json({"fit": fit.name, "total_flops": args.total_flops, "inference_tokens": args.inference_tokens,
                    "optimal": {"params": opt.params, "tokens": opt.tokens, "loss": opt.loss,
                                "train_flops": opt.train_flops, "inference_flops": opt.inference_flops},
                    "chinchilla": {"params": ch.params, "tokens": ch.tokens, "loss": ch.loss}})
        return 0
    print_table(f"Lowest loss for {args.total_flops:.4g} FLOPs of training plus {args.inference_tokens:.4g} "
                f"inference tokens (fit {fit.name})",
                ["", "params", "tokens", "loss"],
                [["Chinchilla-proportioned", human(ch.params, "params"), human(ch.tokens, "tokens"),
                  human(ch.loss, "loss")],
                 ["budget-optimal", human(opt.params, "params"), human(opt.tokens, "tokens"), human(opt.loss, "loss")]],
                [f"training {human(opt.train_flops, 'flops')} FLOPs, inference {human(opt.inference_flops, 'flops')} "
                 f"FLOPs; loss lower by {human(ch.loss - opt.loss, 'loss')}"])
    return 0
