"""`xlcalc solve lifetime`: the model reaching a loss at the lowest lifetime $, kWh or kg CO2e, the three side by side."""

from __future__ import annotations

import math
import re

from ..data import hardware
from ..core import latency, objectives
from ..core.lifetime_costs import BINDINGS
from ..errors import InvalidInputError
from ._output import human, print_json, print_table
from .serve import PRECISION_BYTES


def register(kinds, common, target, number, resolve) -> None:
    """Add `solve lifetime` to the `solve` kinds (``common``/``target`` add the shared flags, ``resolve(args)``
    gives the fit and the target loss)."""
    p = kinds.add_parser(
        "lifetime", help="lowest lifetime $, kWh or CO2 for a loss: fixed-MFU or roofline serving, limited unique data",
        description="The model reaching a loss at the lowest lifetime usd, kWh or kg CO2e (xlcalc.lifetime_optimal), "
                    "with the least-$, least-energy and least-carbon optima side by side. Accelerators come from "
                    "the catalog (peak at --precision, bandwidth, memory, lowest price, TDP).")
    target(p, requests=True)
    p.add_argument("--objective", default="usd", choices=objectives.OBJECTIVES,
                   help="what to minimise (default usd; flops = 6ND + 2N per token, fixed-mfu only)")
    p.add_argument("--serving", default="fixed-mfu", choices=("fixed-mfu", "roofline"),
                   help="fixed decode MFU (the paper) or the roofline with batch, memory and latency target")
    p.add_argument("--train-gpu", default="H100 SXM", help="training accelerator (default H100 SXM)")
    p.add_argument("--infer-gpu", default="H100 SXM", help="serving accelerator (default H100 SXM)")
    p.add_argument("--precision", default="bf16", choices=tuple(PRECISION_BYTES), help="serving precision")
    p.add_argument("--mfu-train", type=number, default=0.5, help="training MFU (default 0.5)")
    p.add_argument("--mfu-decode", type=number, default=None,
                   help="decode MFU: fixed-mfu default 0.01 (the paper); roofline default the family's calibrated")
    p.add_argument("--reference-mfu-decode", type=number, default=0.01,
                   help="decode MFU of the fixed-MFU optimum shown beside a roofline one (default 0.01, the paper's)")
    p.add_argument("--batch", type=number, default=math.inf, help="roofline batch (a cap with --tpot-ms)")
    p.add_argument("--tpot-ms", type=number, default=math.inf, help="roofline time-per-output-token target in ms")
    p.add_argument("--max-gpus", type=number, default=8, help="largest replica (default 8)")
    p.add_argument("--unique-tokens", type=number, default=math.inf, help="unique training tokens (default unlimited)")
    for side in ("train", "infer"):
        p.add_argument(f"--{side}-tdp-w", type=number, default=None, help=f"{side} accelerator W (default: catalog TDP)")
        p.add_argument(f"--{side}-pue", type=number, default=1.0, help="data-centre PUE (default 1)")
        p.add_argument(f"--{side}-g-per-kwh", type=number, default=math.nan,
                       help="grid intensity in g CO2e/kWh (needed for co2)")
    common(p)
    p.set_defaults(handler=lambda args: _lifetime(args, *resolve(args)))


def _accelerator(name, precision, flag):
    acc = hardware.gpu(name)
    peak = acc.peak_tflops(precision)
    if math.isnan(peak):
        raise InvalidInputError(f"{flag} = {name!r} has no {precision} peak in the catalog: use another --precision")
    return acc, peak


def _lifetime(args, fit, target_loss) -> int:
    train, train_peak = _accelerator(args.train_gpu, args.precision, "--train-gpu")
    infer, infer_peak = _accelerator(args.infer_gpu, args.precision, "--infer-gpu")
    roofline = args.serving == "roofline"
    eff = latency.efficiencies_for(infer.name)
    mfu_decode = args.mfu_decode if args.mfu_decode is not None else (eff.mfu_decode if roofline else 0.01)
    kwargs = dict(
        serving=args.serving.replace("-", "_"), train_peak_tflops=train_peak, infer_peak_tflops=infer_peak,
        train_usd_per_hour=train.usd_per_hour, infer_usd_per_hour=infer.usd_per_hour, mfu_train=args.mfu_train,
        mfu_prefill=eff.mfu_prefill, mfu_decode=mfu_decode,
        train_tdp_w=args.train_tdp_w if args.train_tdp_w is not None else train.tdp_w,
        infer_tdp_w=args.infer_tdp_w if args.infer_tdp_w is not None else infer.tdp_w,
        train_pue=args.train_pue, infer_pue=args.infer_pue, train_g_per_kwh=args.train_g_per_kwh,
        infer_g_per_kwh=args.infer_g_per_kwh, unique_tokens=args.unique_tokens, fit=fit)
    if roofline:
        kwargs.update(infer_mem_bw_tbs=infer.mem_bw_tbs, infer_memory_gb=infer.memory_gb, bw_eff=eff.bw_eff,
                      bytes_per_param=float(PRECISION_BYTES[args.precision]), batch=args.batch,
                      tpot_target_s=args.tpot_ms / 1e3, input_tokens_per_request=args.input_tokens,
                      output_tokens_per_request=args.output_tokens, max_gpus=args.max_gpus,
                      reference_mfu_decode=args.reference_mfu_decode)
    for flag in ("requests", "input_tokens", "output_tokens"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"--{flag.replace('_', '-')} = {value:g} is not allowed: must be a number >= 0")
    lifetime_in, lifetime_out = args.requests * args.input_tokens, args.requests * args.output_tokens
    others = {}
    for objective in (args.objective, *(o for o in ("usd", "kwh", "co2") if o != args.objective)):
        try:
            others[objective] = objectives.lifetime_optimal(target_loss, lifetime_in, lifetime_out,
                                                            objective=objective, **kwargs)
        except InvalidInputError as exc:
            if objective == args.objective:
                raise InvalidInputError(_flags(str(exc))) from None
            others[objective] = _flags(str(exc))   # the other optima where their inputs are given
    return _report(args, fit, target_loss, others[args.objective], others)


_FLAGS = {"train_tdp_w": "--train-tdp-w", "infer_tdp_w": "--infer-tdp-w", "train_pue": "--train-pue",
          "infer_pue": "--infer-pue", "train_g_per_kwh": "--train-g-per-kwh", "infer_g_per_kwh": "--infer-g-per-kwh",
          "unique_tokens": "--unique-tokens", "tpot_target_s": "--tpot-ms (in s)", "max_gpus": "--max-gpus",
          "mfu_train": "--mfu-train", "mfu_decode": "--mfu-decode", "batch": "--batch",
          "reference_mfu_decode": "--reference-mfu-decode"}


def _flags(message: str) -> str:
    """A core message with the argument names as the flags that set them."""
    for name, flag in _FLAGS.items():
        message = re.sub(rf"\b{name}\b", flag, message)
    return message


def _row(o) -> dict:
    return {"params": o.params, "tokens": o.tokens, "usd": o.usd, "kwh": o.kwh, "co2_kg": o.co2_kg,
            "epochs": o.epochs, "data_binds": bool(o.data_binds), "gpus": o.gpus, "batch": o.batch,
            "binding": BINDINGS[int(o.binding)]}


def _report(args, fit, target_loss, chosen, others) -> int:
    reference = chosen.fixed_mfu
    unlimited = chosen.unlimited
    if args.json:
        print_json({"fit": fit.name, "loss": target_loss, "objective": args.objective, "serving": args.serving,
                    "requests": args.requests, "input_tokens": args.input_tokens,
                    "output_tokens": args.output_tokens, "unique_tokens": args.unique_tokens,
                    "optimal": dict(_row(chosen), value=chosen.value),
                    "fixed_mfu": {"params": reference.params, "tokens": reference.tokens, "value": reference.value},
                    "unlimited_data": {"params": unlimited.params, "tokens": unlimited.tokens,
                                       "value": unlimited.value},
                    "side_by_side": {k: (_row(o) if not isinstance(o, str) else {"error": o})
                                     for k, o in others.items()}})
        return 0
    rows, skipped = [], []
    for objective, o in others.items():
        if isinstance(o, str):
            rows.append([f"least {objective}", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"])
            skipped.append(f"least {objective}: {o}")
            continue
        rows.append([f"least {objective}", human(o.params, "params"), human(o.tokens, "tokens"), human(o.usd, "usd"),
                     f"{o.kwh:,.0f}" if math.isfinite(o.kwh) else "n/a",
                     f"{o.co2_kg:,.0f}" if math.isfinite(o.co2_kg) else "n/a", BINDINGS[int(o.binding)]])
    notes = [f"fixed-MFU optimum of the same objective: {human(reference.params, 'params')} params, "
             f"{human(reference.tokens, 'tokens')} tokens; this optimum has {human(chosen.params / reference.params, 'percent')}"
             f" of its params, {human(chosen.tokens / reference.tokens, 'percent')} of its tokens and "
             f"{human(chosen.value / reference.value, 'percent')} of its {args.objective} (each under its own serving "
             "model)"]
    if math.isfinite(args.unique_tokens):
        notes.append(f"unique tokens {human(args.unique_tokens, 'tokens')}: {chosen.epochs:.3g} epochs, the cap "
                     f"{'binds' if chosen.data_binds else 'does not bind'}; {args.objective} "
                     f"{human(chosen.value / unlimited.value, 'percent')} of the optimum with unlimited data")
    if args.serving == "roofline":
        notes.append(f"replica: {chosen.gpus:g} GPUs, batch {chosen.batch:.4g}; decode limited by "
                     f"{BINDINGS[int(chosen.binding)]}")
    notes += skipped
    print_table(f"Lifetime optimum for loss {human(target_loss, 'loss')}, minimising {args.objective} "
                f"({args.serving}, fit {fit.name})",
                ["", "params", "tokens", "lifetime $", "kWh", "kg CO2e", "decode limited by"], rows, notes)
    return 0
