"""Sensitivity (the tornado): each input of one cost-optimal scenario swung to its low and high, the others at base.

The swing of each input is the user's (low, high), or base x (1 - share) and base x (1 + share) with
``share`` = :data:`DEFAULT_SHARE` (20%) by default (a fraction such as an MFU is capped at 1; the loss
swings by share x (loss - E), its reducible part, so that it never reaches the fit's floor E). All swings
are solved in one call of :func:`xlcalc.cost_optimal` (two scenarios per input, plus the base), so every
value is the digit-for-digit point answer of that scenario.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from .._checks import format_value
from ..errors import InvalidInputError, InvalidInputWarning
from .laws import DEFAULT_FIT, get_fit
from .lifetime import COST_ARGUMENTS, cost_optimal

DEFAULT_SHARE = 0.2
FRACTIONS = ("mfu_train", "mfu_prefill", "mfu_decode")
OUTPUTS = ("params", "usd", "saving")


@dataclasses.dataclass(frozen=True)
class SensitivityRow:
    """One input of the tornado: its low and high values and the optimum's params, lifetime $ and saving at each."""

    name: str
    low: float
    high: float
    params: tuple[float, float]
    usd: tuple[float, float]
    saving: tuple[float, float]

    @property
    def usd_swing(self) -> float:
        """|lifetime $ at high - lifetime $ at low|: how much this input moves the cost."""
        return abs(self.usd[1] - self.usd[0])


@dataclasses.dataclass(frozen=True)
class Sensitivity:
    """The tornado: the base optimum (params, usd, saving) and one row per input, largest $ swing first."""

    base: dict
    rows: tuple


def swing_values(base: dict, ranges: dict | None = None, share: float = DEFAULT_SHARE, floor_loss: float = 0.0) -> dict:
    """(low, high) of every input: the user's range where given, else base x (1 -/+ share), fractions capped at 1.

    The loss, when not given, swings by share x (loss - floor_loss), the reducible loss above the fit's E."""
    if not (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share < 1):
        raise InvalidInputError(f"share = {format_value(share)} is not allowed: must be a number from 0 to below 1")
    ranges = dict(ranges or {})
    unknown = sorted(set(ranges) - set(base))
    if unknown:
        raise InvalidInputError(f"ranges has {', '.join(unknown)}: not an input; use {', '.join(base)}")
    out = {}
    for name, value in base.items():
        if name in ranges:
            low, high = (float(x) for x in ranges[name])
            if not low <= high:
                raise InvalidInputError(f"{name} range low {format_value(low)} > high {format_value(high)}: "
                                        "give low <= high")
            if not low <= value <= high:
                raise InvalidInputError(f"{name} = {format_value(value)} is outside its range {format_value(low)} "
                                        f"to {format_value(high)}: the base must lie in the range")
        elif name == "loss":  # the loss swings by a share of its reducible part: it can never reach E
            excess = value - floor_loss
            low, high = value - share * excess, value + share * excess
        else:
            low, high = value * (1.0 - share), value * (1.0 + share)
            if name in FRACTIONS:
                high = min(high, 1.0)
        out[name] = (low, high)
    return out


def cost_sensitivity(loss, input_tokens, output_tokens, *, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                     infer_peak_tflops, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01, fit=DEFAULT_FIT,
                     ranges=None, share=DEFAULT_SHARE) -> Sensitivity:
    """Tornado of the cost optimum: each input swung over its range, others at base; rows sorted by lifetime $ swing.

    Parameters
    ----------
    loss ... mfu_decode : the base scenario, numbers (as :func:`xlcalc.cost_optimal`).
    ranges : {input name: (low, high)} for the inputs whose swing you know; the others swing by `share`.
    share : the default swing, a fraction of base (0.2: plus and minus 20%).

    Returns
    -------
    Sensitivity with ``base`` {params, usd, saving} and ``rows`` (SensitivityRow: name, low, high and the
    optimum's params, usd and saving at low and at high), the largest lifetime $ swing first.

    Examples
    --------
    >>> t = cost_sensitivity(1.947, 1e13, 2.5e12, train_usd_per_hour=1.4, train_peak_tflops=312,
    ...                      infer_usd_per_hour=0.6, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2)
    >>> t.rows[0].name
    'loss'
    """
    base = dict(zip(COST_ARGUMENTS, (loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops,
                                     infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode)))
    for name, value in base.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise InvalidInputError(f"{name} = {format_value(value)} is not allowed: the base scenario takes numbers")
    f = get_fit(fit)
    cost_optimal(**base, fit=f)  # the base must be valid: the core's message names the bad input
    swings = swing_values(base, ranges, share, f.E)
    names = list(base)
    count = 2 * len(names) + 1
    columns = {name: np.full(count, float(value)) for name, value in base.items()}
    for i, name in enumerate(names):
        columns[name][1 + 2 * i], columns[name][2 + 2 * i] = swings[name]
    with warnings.catch_warnings():  # an invalid swing is NaN in an array call: reported below by name
        warnings.simplefilter("ignore", InvalidInputWarning)
        optimum = cost_optimal(**columns, fit=f)
    for i, name in enumerate(names):
        for j, end in ((1 + 2 * i, "low"), (2 + 2 * i, "high")):
            if not np.isfinite(optimum.params[j]):
                value = columns[name][j]
                try:
                    cost_optimal(**{k: v[j] for k, v in columns.items()}, fit=f)
                except InvalidInputError as error:
                    raise InvalidInputError(f"{name} {end} = {format_value(value)} is not allowed ({error}); "
                                            "narrow its range") from None
                raise InvalidInputError(f"{name} {end} = {format_value(value)}: the optimum could not be solved")
    rows = []
    for i, name in enumerate(names):
        lo, hi = 1 + 2 * i, 2 + 2 * i
        rows.append(SensitivityRow(name, *swings[name], *(
            (float(getattr(optimum, out)[lo]), float(getattr(optimum, out)[hi])) for out in OUTPUTS)))
    rows.sort(key=lambda row: -row.usd_swing)
    return Sensitivity({out: float(getattr(optimum, out)[0]) for out in OUTPUTS}, tuple(rows))
