"""`xlcalc serve`: what serving model X on accelerator Y at latency target Z costs, as a table or JSON."""

from __future__ import annotations

import argparse
import math

from ..data import hardware, model_shapes
from ..core import latency, slo
from .._checks import format_value
from ..errors import InvalidInputError
from ._output import human, print_json, print_table
from .solve import number

PRECISION_BYTES = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}


def register(subparsers) -> None:
    """Add the `serve` command."""
    p = subparsers.add_parser(
        "serve", help="largest batch, GPUs and $ per million tokens at a latency target",
        description="What serving a model on an accelerator at a latency target costs: the largest batch meeting "
                    "the time per output token and/or the time to first token and fitting in memory, the GPUs per "
                    "replica (the cheapest of 1, 2, 4, 8 unless --gpus), tokens/s and $ per million input and "
                    "output tokens. Efficiencies default to the accelerator family's calibrated set.")
    p.add_argument("--model", required=True,
                   help="a catalog model (e.g. Llama-3.1-70B) or a parameter count (e.g. 30B)")
    p.add_argument("--gpu", required=True, help="an accelerator of the catalog (e.g. 'H100 SXM')")
    p.add_argument("--tpot-ms", type=number, help="target time per output token, ms")
    p.add_argument("--ttft-ms", type=number, help="target time to first token, ms")
    p.add_argument("--input-tokens", type=number, default=1000.0, help="prompt tokens per request (default 1000)")
    p.add_argument("--output-tokens", type=number, default=200.0, help="generated tokens per request (default 200)")
    p.add_argument("--gpus", type=number, default=0.0, help="GPUs per replica (default: the cheapest of 1, 2, 4, 8)")
    p.add_argument("--precision", default="bf16", help="bf16, fp16, fp8 or int8 (weights and KV cache; default bf16)")
    p.add_argument("--usd-per-hour", type=number, help="$ per GPU-hour (default: the catalog's lowest price)")
    p.add_argument("--headroom", type=number, default=slo.HEADROOM, help="fraction of memory kept free (0.1)")
    for name in ("mfu-prefill", "mfu-decode", "bw-eff"):
        p.add_argument(f"--{name}", type=number, help="default: the accelerator family's calibrated value")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_serve)


def _target(value, flag):
    if value is None:
        return math.inf
    if not (value > 0 and math.isfinite(value)):
        raise InvalidInputError(f"{flag} = {format_value(value)} is not allowed: must be a time in ms > 0")
    return value / 1e3


def _model(text: str):
    """A catalog name, or a parameter count written as 30B, 3e10 or 30_000_000_000."""
    try:
        count = number(text)
    except argparse.ArgumentTypeError:
        return model_shapes.model_shape(text)
    if not (count > 0 and math.isfinite(count)):
        raise InvalidInputError(f"--model = {text} is not allowed: give a catalog name or a parameter count > 0")
    return model_shapes.model_shape(count)


def _check_flags(args) -> None:
    """Counts and fractions as typed, each named by its flag (the core would name its own argument)."""
    for flag in ("input_tokens", "output_tokens"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"--{flag.replace('_', '-')} = {format_value(value)} is not allowed: "
                                    "must be a number >= 0")
    if not (math.isfinite(args.gpus) and args.gpus >= 0 and args.gpus == int(args.gpus)):
        raise InvalidInputError(f"--gpus = {format_value(args.gpus)} is not allowed: must be a whole number >= 1")
    if not 0 <= args.headroom < 1:
        raise InvalidInputError(f"--headroom = {format_value(args.headroom)} is not allowed: must be in [0, 1)")
    for name in ("mfu_prefill", "mfu_decode", "bw_eff"):
        value = getattr(args, name)
        if value is not None and not 0 < value <= 1:
            raise InvalidInputError(f"--{name.replace('_', '-')} = {format_value(value)} is not allowed: "
                                    "must be in (0, 1]")
    if args.usd_per_hour is not None and not (args.usd_per_hour > 0 and math.isfinite(args.usd_per_hour)):
        raise InvalidInputError(f"--usd-per-hour = {format_value(args.usd_per_hour)} is not allowed: "
                                "must be a number > 0")


def _serve(args) -> int:
    _check_flags(args)
    shape = _model(args.model)
    acc = hardware.gpu(args.gpu)
    precision = args.precision.strip().lower()
    if precision not in PRECISION_BYTES:
        raise InvalidInputError(f"--precision = {args.precision!r} is not allowed: use one of "
                                f"{', '.join(PRECISION_BYTES)}")
    peak = acc.peak_tflops(precision)
    if math.isnan(peak):
        raise InvalidInputError(f"--precision = {precision}: {acc.name} has no {precision} peak in the catalog")
    if args.tpot_ms is None and args.ttft_ms is None:
        raise InvalidInputError("give a target: --tpot-ms, --ttft-ms or both")
    tpot, ttft = _target(args.tpot_ms, "--tpot-ms"), _target(args.ttft_ms, "--ttft-ms")
    usd = acc.usd_per_hour if args.usd_per_hour is None else args.usd_per_hour
    if math.isnan(usd):
        raise InvalidInputError(f"{acc.name} has no price in the catalog: give --usd-per-hour")
    family = latency.efficiencies_for(acc.name)
    eff = {name: getattr(family, name) if getattr(args, name) is None else getattr(args, name)
           for name in ("mfu_prefill", "mfu_decode", "bw_eff")}
    bytes_ = PRECISION_BYTES[precision]
    r = slo.max_batch(shape, peak, acc.mem_bw_tbs, acc.memory_gb, args.input_tokens, args.output_tokens,
                          tpot_target_s=tpot, ttft_target_s=ttft, gpus=args.gpus, usd_per_hour=usd,
                          bytes_per_param=bytes_, kv_bytes_per_value=bytes_, headroom=args.headroom,
                          link_gbs=acc.interconnect_gbs, link_latency_us=acc.interconnect_latency_us, **eff)
    result = {"batch": r.batch, "gpus_per_replica": r.gpus, "time_per_token_ms": r.time_per_token_s * 1e3,
              "ttft_ms": r.ttft_s * 1e3, "tokens_per_sec": r.tokens_per_sec,
              "usd_per_mtok_input": r.usd_per_mtok_input, "usd_per_mtok_output": r.usd_per_mtok_output,
              "memory_used": r.memory_used}
    if args.json:
        print_json({"model": shape.name, "params": shape.params, "gpu": acc.name, "precision": precision,
                    "input_tokens": args.input_tokens, "output_tokens": args.output_tokens,
                    "tpot_target_ms": args.tpot_ms, "ttft_target_ms": args.ttft_ms, "usd_per_hour": usd,
                    "efficiencies": {**eff, "family": family.family}, "headroom": args.headroom, **result})
        return 0
    targets = " and ".join(t for t in (args.tpot_ms and f"{args.tpot_ms:g} ms per token",
                                       args.ttft_ms and f"{args.ttft_ms:g} ms to first token") if t)
    print_table(f"Serving {shape.name} ({human(shape.params, 'params')} params) on {acc.name} {precision} at "
                f"{targets}, {args.input_tokens:g} in / {args.output_tokens:g} out tokens",
                ["", "value"],
                [["largest batch", f"{r.batch:.0f}"], ["GPUs per replica", f"{r.gpus:.0f}"],
                 ["time per output token", f"{r.time_per_token_s * 1e3:.2f} ms"],
                 ["time to first token", f"{r.ttft_s * 1e3:.0f} ms"],
                 ["output tokens/s per replica", f"{r.tokens_per_sec:,.0f}"],
                 ["$ per million input tokens", human(r.usd_per_mtok_input, "usd")],
                 ["$ per million output tokens", human(r.usd_per_mtok_output, "usd")],
                 ["memory used", human(r.memory_used, "percent")]],
                [f"at ${usd:g} per GPU-hour; efficiencies ({family.family}): prefill MFU {eff['mfu_prefill']:g}, "
                 f"decode MFU {eff['mfu_decode']:g}, bandwidth {eff['bw_eff']:g}; {args.headroom * 100:g}% of memory "
                 "kept free"])
    return 0
