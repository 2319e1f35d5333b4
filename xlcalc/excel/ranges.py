"""Excel functions for ranges and sensitivity; :mod:`xlcalc.udfs` brings them in.

Import them through ``xlcalc.udfs`` (the module xlwings is given): COST_OPT_RANGE, SENSITIVITY. Each
number argument is one cell (a point value) or three cells low, base, high (a row or a column). The fit is
a name, five cells E, A, B, alpha, beta, or the rows of ``SCALING_FIT(..., bootstrap)``: the fit in the
first row, one bootstrap resample per row after it. Errors come back as text in one cell, as elsewhere.
"""

from __future__ import annotations

import math

import xlwings as xw

from . import _convert as xl
from ..core import sensitivity, uncertainty
from ..core.laws import get_fit
from ..core.lifetime import COST_ARGUMENTS
from ._arguments import CATEGORY, _arguments

__all__ = ["COST_OPT_RANGE", "SENSITIVITY"]

RANGE_OUTPUTS = ("params", "tokens", "usd", "saving", "usd_per_mtok", "breakeven_tokens")
SENSITIVITY_COLUMNS = ("input", "low", "high", "params at low", "params at high", "lifetime $ at low",
                       "lifetime $ at high", "saving at low", "saving at high", "$ swing")  # SENSITIVITY's columns
DEFAULTS = {"mfu_train": 0.5, "mfu_prefill": 0.5, "mfu_decode": 0.01}


def _three(text: str) -> str:
    return f"{text}: one cell, or three cells low, base, high"


ARGUMENT_DOCS = dict(
    loss=_three("Target loss in nats/token, above the fit's E"),
    input_tokens=_three("Lifetime prompt (input) tokens served, >= 0 (per request if requests is given)"),
    output_tokens=_three("Lifetime generated (output) tokens, >= 0 (per request if requests is given)"),
    train_usd_per_hour=_three("Training price in $ per GPU-hour"),
    train_peak_tflops=_three("Training GPU dense peak TFLOP/s"),
    infer_usd_per_hour=_three("Inference price in $ per GPU-hour"),
    infer_peak_tflops=_three("Inference GPU dense peak TFLOP/s"),
    mfu_train=_three("Training MFU, in (0, 1]; optional, empty = 0.5"),
    mfu_prefill=_three("Prefill MFU, in (0, 1]; optional, empty = 0.5"),
    mfu_decode=_three("Decode MFU, in (0, 1]; optional, empty = 0.01"),
)
FIT_DOCS = ("Fit: a name, five cells E, A, B, alpha, beta, or SCALING_FIT(...,bootstrap) rows (fit, then one "
            "resample per row); a name with published errors (epoch2024) is uncertain")


def _input(name: str, value):
    """A number or a Range from one cell or three cells (low, base, high)."""
    cells = [cell for row in xl.grid(value) for cell in row]
    default = DEFAULTS.get(name, xl.REQUIRED)
    if len(cells) not in (1, 3):
        raise xl.ExcelError(xl.VALUE, f"{name} has {len(cells)} cells: give one cell or three (low, base, high)")
    converted = xl.number_cells(name, [cells], default)
    bad = converted.errors[converted.errors != ""]
    if bad.size:
        code, reason = bad[0].split(" ", 1)
        raise xl.ExcelError(code, reason)
    numbers = [float(x) for x in converted.values.ravel()]
    if len(numbers) == 1:
        return numbers[0]
    try:
        return uncertainty.Range(*numbers)
    except uncertainty.InvalidInputError as error:
        raise xl.ExcelError(xl.NUM, f"{name}: {error}") from None


def _fit(value, samples: int, seed: int, *, uncertain: bool):
    """A point fit, or an UncertainFit from bootstrap rows or from a name with published errors."""
    rows = xl.grid(value)
    if len(rows) > 1 and len(rows[0]) == 5:
        converted = xl.number_cells("fit", rows)
        bad = converted.errors[converted.errors != ""]
        if bad.size:
            raise xl.ExcelError(xl.VALUE, bad[0].split(" ", 1)[1] + " (fit rows hold E, A, B, alpha, beta)")
        table = converted.values.astype(float)
        if len(table) < 3:
            raise xl.ExcelError(xl.VALUE, f"fit has {len(table)} rows: bootstrap rows are the fit, then at least 2 "
                                          "resamples (SCALING_FIT with bootstrap >= 2)")
        fit = uncertainty.UncertainFit(get_fit(table[0]), table[1:], "bootstrap")
        return fit if uncertain else fit.base
    point = xl.fit_value(value)
    if uncertain and point.name in uncertainty.PUBLISHED_STANDARD_ERRORS:
        return uncertainty.uncertain_fit(point, samples=samples, seed=seed)
    return point


def _whole(name: str, value, default: int) -> int:
    cells = [cell for row in xl.grid(value) for cell in row]
    if len(cells) != 1:
        raise xl.ExcelError(xl.VALUE, f"{name} has {len(cells)} cells: give one number")
    number = xl.number_cells(name, [cells], default)
    if number.errors[0, 0]:
        code, reason = number.errors[0, 0].split(" ", 1)
        raise xl.ExcelError(code, reason)
    value = float(number.values[0, 0])
    if name == "seed" and not (value >= 0 and value.is_integer()):
        raise xl.ExcelError(xl.NUM, f"seed = {value:g} is not allowed: must be a whole number >= 0")
    return int(value) if value.is_integer() else value


@xw.func(category=CATEGORY)
@_arguments(**ARGUMENT_DOCS,
            samples="Draws of the uncertain inputs and fit, a whole number >= 2; optional, empty = 1000",
            seed="Seed of the draws, a whole number >= 0; optional, empty = 0", fit=FIT_DOCS,
            requests="Lifetime requests, >= 0, one cell or three cells low, base, high; if given, input_tokens and "
                     "output_tokens are per request; optional, empty = none (the tokens are lifetime totals)")
@xl.cell_errors
def COST_OPT_RANGE(loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                   infer_peak_tflops, mfu_train=None, mfu_prefill=None, mfu_decode=None, samples=None, seed=None,
                   fit=None, requests=None):
    """Lowest-lifetime-$ model over ranges and an uncertain fit: a row P10, median, P90 of params, tokens, lifetime $, saving, $/Mtok served, break-even tokens."""
    values = dict(zip(COST_ARGUMENTS, (loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops,
                                       infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode)))
    inputs = {name: _input(name, value) for name, value in values.items()}
    if any(c is not None and c != "" for r in xl.grid(requests) for c in r):  # per request; empty = lifetime totals
        inputs["requests"] = _input("requests", requests)
        inputs["input_tokens_per_request"] = inputs.pop("input_tokens")
        inputs["output_tokens_per_request"] = inputs.pop("output_tokens")
    n, s = _whole("samples", samples, uncertainty.DEFAULT_SAMPLES), _whole("seed", seed, 0)
    try:
        result = uncertainty.cost_optimal_range(**inputs, fit=_fit(fit, n, s, uncertain=True), samples=n, seed=s)
    except uncertainty.InvalidInputError as error:  # the core's per-request names are this function's arguments
        text = str(error).replace("input_tokens_per_request", "input_tokens (per request)")
        raise type(error)(text.replace("output_tokens_per_request", "output_tokens (per request)")) from None
    row = [float(x) for name in RANGE_OUTPUTS for x in result.interval(name)]
    # $/Mtok served is infinite when nothing is served: a text in the cell, not a number Excel cannot hold
    return [[x if math.isfinite(x) else f"{xl.NUM} infinite: nothing is served" for x in row]]


@xw.func(category=CATEGORY)
@_arguments(**ARGUMENT_DOCS,
            share="Swing of the one-cell inputs, a fraction of base (0.2 = +/-20%; the loss by a share of loss - E); "
                  "optional, empty = 0.2",
            fit=FIT_DOCS.replace("; a name with published errors (epoch2024) is uncertain",
                                 " (the tornado uses the fit itself)"))
@xl.cell_errors
def SENSITIVITY(loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                infer_peak_tflops, mfu_train=None, mfu_prefill=None, mfu_decode=None, share=None, fit=None):
    """Tornado of the lowest-lifetime-$ model, largest $ swing first: rows input, low, high, params at low/high, lifetime $ at low/high, saving at low/high, $ swing."""
    values = dict(zip(COST_ARGUMENTS, (loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops,
                                       infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode)))
    inputs = {name: _input(name, value) for name, value in values.items()}
    base = {k: (v.base if isinstance(v, uncertainty.Range) else v) for k, v in inputs.items()}
    ranges = {k: (v.low, v.high) for k, v in inputs.items() if isinstance(v, uncertainty.Range)}
    swing = _whole("share", share, sensitivity.DEFAULT_SHARE)
    table = sensitivity.cost_sensitivity(**base, fit=_fit(fit, 2, 0, uncertain=False), ranges=ranges,
                                         share=float(swing))
    return [[r.name, r.low, r.high, *r.params, *r.usd, *r.saving, r.usd_swing]
                                   for r in table.rows]

