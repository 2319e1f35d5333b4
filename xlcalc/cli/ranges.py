"""Ranges on the command line: `solve ... --ranges`, `--range NAME=LOW:BASE:HIGH`, `--tornado`, and fits saved as JSON.

A fit file (``xlcalc fit runs.csv --bootstrap N --save FIT.json``) holds the point constants and the refitted
constants of every resample; ``solve --fit FIT.json`` uses the point fit, and with ``--ranges`` the samples.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..core import laws
from ..errors import InvalidInputError
from ..core.sensitivity import cost_sensitivity
from ..core.uncertainty import CONSTANTS as PARAMETERS
from ..core.uncertainty import (
    DEFAULT_SAMPLES,
    PUBLISHED_STANDARD_ERRORS,
    Range,
    UncertainFit,
    budget_optimal_range,
    compute_optimal_range,
    cost_optimal_range,
    uncertain_fit,
)
from ._output import human, print_json, print_table

FIT_FILE_FORMAT = "xlcalc-fit-1"


# ----------------------------------------------------------------------------------------------
# Fit files


def save_fit(path: str, result, *, name: str, source: str) -> None:
    """Write a fit (and its bootstrap samples, if any) to ``path`` as JSON."""
    samples = result.bootstrap_constants
    document = {"format": FIT_FILE_FORMAT, "name": name, "source": source,
                "constants": dict(zip(PARAMETERS, result.constants)),
                "samples": None if samples is None else [list(map(float, row)) for row in samples]}
    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
            handle.write("\n")
    except OSError as error:
        raise InvalidInputError(f"--save {path!r}: cannot write it ({error.strerror})") from None


def load_fit(path: str):
    """The fit in a JSON fit file: an UncertainFit if it holds 2 or more samples, else a Fit."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise InvalidInputError(f"--fit {path!r}: cannot read it ({error.strerror})") from None
    except ValueError as error:
        raise InvalidInputError(f"--fit {path!r} is not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FIT_FILE_FORMAT:
        raise InvalidInputError(f"--fit {path!r} is not a fit file (written by `xlcalc fit ... --save`)")
    try:
        constants = [float(document["constants"][name]) for name in PARAMETERS]
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"--fit {path!r}: 'constants' needs numbers {', '.join(PARAMETERS)}") from None
    name = str(document.get("name") or path)
    fit = laws.Fit(*constants, name=name, source=str(document.get("source", "")))
    samples = document.get("samples")
    if not samples:
        return fit
    try:
        return UncertainFit(fit, np.array(samples, dtype=float), name, fit.source)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"--fit {path!r}: its samples are not rows of five numbers ({error})") from None


# ----------------------------------------------------------------------------------------------
# solve --ranges


def add_arguments(p, *, tornado: bool) -> None:
    """The range options of a `solve` kind."""
    p.add_argument("--ranges", action="store_true",
                   help="report P10 / median / P90 over the fit's uncertainty (a fit file with samples, or "
                        f"{', '.join(PUBLISHED_STANDARD_ERRORS)}) and the --range inputs")
    p.add_argument("--range", action="append", default=[], metavar="NAME=LOW:BASE:HIGH",
                   help="an uncertain input, e.g. infer_usd_per_hour=0.8:1.1:1.6 (triangular on low..high, mode "
                        "base; for cost-optimal, input_tokens and output_tokens are lifetime totals, or use "
                        "requests, input_tokens_per_request, output_tokens_per_request); repeat for more; implies "
                        "--ranges")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help=f"draws (default {DEFAULT_SAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    if tornado:
        p.add_argument("--tornado", action="store_true",
                       help="each input swung to its --range low/high (others by +/- --share), others at base")
        p.add_argument("--share", type=float, default=0.2, help="default swing, a fraction of base (default 0.2)")


def wanted(args) -> bool:
    """Whether the call asks for ranges or a tornado."""
    return bool(args.ranges or args.range or getattr(args, "tornado", False))


def _parsed_ranges(args, allowed) -> dict:
    out = {}
    for text in args.range:
        name, _, values = text.partition("=")
        name = name.strip().replace("-", "_")
        if name not in allowed:
            raise InvalidInputError(f"--range {text!r}: {name!r} is not an input here; use one of {', '.join(allowed)}")
        parts = values.split(":")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 3 or not all(math.isfinite(x) for x in numbers):
            raise InvalidInputError(f"--range {text!r} is not allowed: give NAME=LOW:BASE:HIGH, three numbers")
        try:
            out[name] = Range(*numbers)
        except InvalidInputError as error:
            raise InvalidInputError(f"--range {text!r}: {error}") from None
    return out


def _uncertain(fit):
    if isinstance(fit, UncertainFit):
        return fit
    if fit.name in PUBLISHED_STANDARD_ERRORS and laws.FITS.get(fit.name) is fit:
        return fit  # drawn in solve_ranges with the samples and seed asked for
    return None


def solve_ranges(args, fit, *, kind: str, inputs: dict, per_request: dict | None = None) -> int:
    """Print (or --json) the P10 / median / P90 of the optimum over the fit's uncertainty and the --range inputs.

    ``per_request`` (cost-optimal): requests and tokens per request; a --range on one of them swaps the
    lifetime token totals of ``inputs`` for these three, each drawn on its own."""
    allowed = list(inputs) + list(per_request or ())
    ranges = _parsed_ranges(args, allowed)
    if per_request and set(ranges) & set(per_request):
        if getattr(args, "tornado", False):
            raise InvalidInputError("--tornado swings the lifetime token totals: give --range input_tokens=... or "
                                    "output_tokens=... (lifetime totals), not a per-request range")
        if set(ranges) & {"input_tokens", "output_tokens"}:
            raise InvalidInputError("--range: give the demand as lifetime totals (input_tokens, output_tokens) or "
                                    f"per request ({', '.join(per_request)}), not both")
        inputs = {k: v for k, v in inputs.items() if k not in ("input_tokens", "output_tokens")} | per_request
    if getattr(args, "tornado", False):
        return _tornado(args, fit, inputs, ranges)
    uncertain = _uncertain(fit)
    if uncertain is not None and not isinstance(uncertain, UncertainFit):
        uncertain = uncertain_fit(fit.name, samples=args.samples, seed=args.seed)
    values = {**inputs, **ranges}
    core = {"compute": compute_optimal_range, "cost": cost_optimal_range, "budget": budget_optimal_range}[kind]
    result = core(**values, fit=uncertain if uncertain is not None else fit, samples=args.samples, seed=args.seed)
    note = (f"fit {fit.name}: " + (f"{len(uncertain.samples)} sample fits" if uncertain is not None
                                   else "a point fit (no uncertainty; give a fit file with samples or epoch2024)"))
    if args.json:
        print_json({"fit": fit.name, "fit_uncertain": uncertain is not None, "samples": result.samples,
                    "excluded": result.excluded, "excluded_reasons": result.reasons,
                    "percentiles": list(result.percentiles),
                    "inputs": {k: ([v.low, v.base, v.high] if isinstance(v, Range) else v) for k, v in values.items()},
                    "outputs": {name: [float(x) for x in rows] for name, rows in result.outputs.items()}})
        return 0
    kinds = {"params": "params", "tokens": "tokens", "chinchilla_params": "params", "usd": "usd", "saving": "percent",
             "flops": "flops", "breakeven_tokens": "tokens", "usd_per_mtok": "usd", "loss": "loss",
             "chinchilla_loss": "loss", "train_flops": "flops", "inference_flops": "flops"}
    print_table(f"{kind.capitalize()}-optimal model: P{result.percentiles[0]:g} / median / "
                f"P{result.percentiles[-1]:g} over {result.samples} draws",
                ["output", *(f"P{p:g}" for p in result.percentiles)],
                [[name, *(human(float(x), kinds.get(name, "")) for x in rows)] for name, rows in result.outputs.items()],
                [note, "uncertain inputs: " + (", ".join(f"{k} {v.low:g} / {v.base:g} / {v.high:g}"
                                                         for k, v in ranges.items()) or "none"),
                 f"excluded draws: {result.excluded}" + (f" ({result.reasons})" if result.reasons else "")])
    return 0


def _tornado(args, fit, inputs: dict, ranges: dict) -> int:
    table = cost_sensitivity(**inputs, fit=fit.base if isinstance(fit, UncertainFit) else fit,
                             ranges={k: (v.low, v.high) for k, v in ranges.items()}, share=args.share)
    if args.json:
        print_json({"fit": fit.name, "share": args.share, "base": table.base,
                    "rows": [{"input": r.name, "low": r.low, "high": r.high, "params": list(r.params),
                              "usd": list(r.usd), "saving": list(r.saving)} for r in table.rows]})
        return 0
    print_table(f"Which input moves the cost-optimal model (fit {fit.name}): each swung low / high, others at base",
                ["input", "low", "high", "params at low", "params at high", "lifetime $ at low", "lifetime $ at high",
                 "$ swing"],
                [[r.name, f"{r.low:.4g}", f"{r.high:.4g}", human(r.params[0], "params"), human(r.params[1], "params"),
                  human(r.usd[0], "usd"), human(r.usd[1], "usd"), human(r.usd_swing, "usd")] for r in table.rows],
                [f"base: {human(table.base['params'], 'params')} params, {human(table.base['usd'], 'usd')} lifetime, "
                 f"saving {human(table.base['saving'], 'percent')}; unranged inputs swing +/- {args.share:.0%}"])
    return 0
