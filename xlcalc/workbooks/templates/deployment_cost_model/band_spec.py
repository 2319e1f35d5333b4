"""The cost band as data: the ranged inputs (traffic, serving price, serving efficiency) with their low and high
factors, the cost cases built from them, their defined names, input checks and per-candidate cells.

Each ranged input has a low and a high factor of the value on the Model sheet (the base; an empty factor is 1, the
base). The low-cost case takes low traffic, low price and high efficiency; the high-cost case high traffic, high
price and low efficiency; the base case is the Model sheet itself, so its figures equal the Projection sheet's.
The price factor scales each candidate's serving $ per GPU-hour (training stays at its price); the efficiency
factor scales each candidate's prefill and decode MFUs and memory bandwidth efficiency together.
"""

from __future__ import annotations

import dataclasses

from .. import checks
from .cells import Formula
from .spec import CANDIDATE_FORMULAS, CANDIDATE_WORKINGS, CANDIDATES, NEEDS, names

BAND_SHEET = "Cost band"
MONTH_SHEET = "Band by month"
#: The cost cases, low to high, and their column headers.
CASES = ("low", "base", "high")
CASE_HEADERS = {"low": "Low cost", "base": "Base", "high": "High cost"}
#: The Check row of the band's inputs (its own: a bad factor leaves the Model sheet's results as they are).
BAND_CHECK = "calc_band_check"
#: The serving efficiencies the efficiency factor scales (each at most 1 after scaling).
EFFICIENCIES = ("mfu_prefill", "mfu_decode", "bw_eff")


@dataclasses.dataclass(frozen=True)
class Ranged:
    """A ranged input: key, label, default low and high factors, what it scales, and whether cost rises with it."""

    key: str
    label: str
    low: float
    high: float
    note: str
    cost_rises: bool


RANGED = (
    Ranged("traffic", "Traffic: requests per month", 0.5, 2.0,
           "every month's requests (month 1 on the Model sheet, then its growth)", True),
    Ranged("price", "Serving price: $ per GPU-hour", 0.8, 1.25,
           "each candidate's serving accelerator (training stays at its price)", True),
    Ranged("efficiency", "Serving efficiency: MFUs and bandwidth efficiency", 0.8, 1.2,
           "each candidate's MFU in prefill and decode and bandwidth efficiency", False),
)

LOW_FACTOR = checks.Rule(
    "IF(ISBLANK({x}),TRUE,IF(ISNUMBER({x}),AND({x}>0,{x}<=1),FALSE))",
    "must be empty (the base) or a factor greater than 0 and at most 1 (low <= base <= high)",
    lambda v, _: checks.is_empty(v) or (checks.is_number(v) and 0 < v <= 1),
    checks.Validation("decimal", "1E-12", "between", "1", allow_blank=True,
                      error="Type a factor greater than 0 and at most 1 (low <= base), or clear the cell for the "
                            "base."))
HIGH_FACTOR = checks.Rule(
    "IF(ISBLANK({x}),TRUE,IF(ISNUMBER({x}),{x}>=1,FALSE))",
    "must be empty (the base) or a factor of 1 or more (low <= base <= high)",
    lambda v, _: checks.is_empty(v) or (checks.is_number(v) and v >= 1),
    checks.Validation("decimal", "1", "greaterThanOrEqual", allow_blank=True,
                      error="Type a factor of 1 or more (base <= high), or clear the cell for the base."))
#: The rule kinds of the band's factors (probed with the workbook's other rules).
RULES = {"low_factor": LOW_FACTOR, "high_factor": HIGH_FACTOR}


def factor_name(key: str, end: str) -> str:
    """The defined name of a typed factor: in_band_<key>_<low|high>."""
    return f"in_band_{key}_{end}"


def _efficiency_names() -> list[str]:
    return [f"in_c{k}_{key}" for k in CANDIDATES for key in EFFICIENCIES]


def _efficiency_cap_ok(value, context: dict) -> bool:
    efficiencies = [context["values"].get(name) for name in _efficiency_names()]
    return not checks.is_number(value) or value * max((e for e in efficiencies if checks.is_number(e)), default=0) <= 1


#: The high efficiency factor keeps every scaled efficiency at most 100% (a test over other cells: no validation).
EFFICIENCY_CAP = checks.Rule(
    f"IF(ISNUMBER({{x}}),{{x}}*MAX({','.join(_efficiency_names())})<=1,TRUE)",
    "times each candidate's MFUs and bandwidth efficiency must stay at most 100%", _efficiency_cap_ok)


def band_checks() -> list:
    """The checks of the band's inputs, in the order of its Check row."""
    found = []
    for ranged in RANGED:
        found += [checks.Check(factor_name(ranged.key, "low"), f"{ranged.label}: low", LOW_FACTOR),
                  checks.Check(factor_name(ranged.key, "high"), f"{ranged.label}: high", HIGH_FACTOR)]
    efficiency = RANGED[-1]
    return found + [checks.Check(factor_name(efficiency.key, "high"), f"{efficiency.label}: high", EFFICIENCY_CAP)]


def band_problem(values: dict) -> str | None:
    """The first unusable band input, worded as the band's Check row; None when all are usable."""
    return checks.first_problem([band_checks()], values, {"values": values})


def factors(values: dict) -> dict:
    """{(key, case): factor} of each ranged input in each cost case, for usable in_ values (empty: 1)."""
    found = {}
    for ranged in RANGED:
        typed = {end: values.get(factor_name(ranged.key, end)) for end in ("low", "high")}
        used = {end: 1.0 if checks.is_empty(v) else float(v) for end, v in typed.items()}
        low, high = (used["low"], used["high"]) if ranged.cost_rises else (used["high"], used["low"])
        found |= {(ranged.key, "low"): low, (ranged.key, "base"): 1.0, (ranged.key, "high"): high}
    return found


def default_inputs() -> dict:
    """The band's typed factors by in_ name."""
    return {factor_name(r.key, end): getattr(r, end) for r in RANGED for end in ("low", "high")}


def input_names() -> list[str]:
    return list(default_inputs())


# ----------------------------------------------------------------------------------------------
# Names of the computed cells


def case_factor(key: str, case: str) -> str:
    """The factor of a ranged input in a cost case (calc_band_<key>_<case>)."""
    return f"calc_band_{key}_{case}"


REQUESTS = "requests"  # calc_band_requests_<case>: requests in month 1


def cell_name(key: str, case: str, k: int | None = None, output: bool = False) -> str:
    """calc_/out_ name of a band cell: [c<k>_]band_<key>_<case>."""
    return f"{'out' if output else 'calc'}_{'' if k is None else f'c{k}_'}band_{key}_{case}"


def month_name(k: int, series: str, case: str) -> str:
    """The 24-month range of a series on the Band by month sheet: band_c<k>_<series>_<case>."""
    return f"band_c{k}_{series}_{case}"


#: The month-by-month series (key, header, number format), as the Projection sheet's.
SERIES = (("gpus", "GPUs", "count"), ("monthly_usd", "serving $ in the month", "usd"),
          ("cumulative_usd", "cumulative $ (training + serving)", "usd"))

_MODEL = {f.key: f for f in CANDIDATE_FORMULAS + CANDIDATE_WORKINGS}


def case_names(k: int, case: str) -> dict:
    """Candidate k's names (:func:`.spec.names`) with the case's scaled efficiencies and its band cells, so the
    Model sheet's own formulas compute the case."""
    n = names(k)
    scaled = n | {key: f"({n[key]}*{case_factor('efficiency', case)})" for key in EFFICIENCIES}
    scaled |= {key: cell_name(key, case, k) for key in ("usd_per_hour", "prefill_tokens_per_sec", "tokens_per_sec",
                                                        "gpu_s_per_request")}
    return scaled | {"s_per_token": f"({_MODEL['s_per_token'].formula.format_map(scaled)})",
                     "model_usd_per_hour": n["usd_per_hour"], "price": case_factor("price", case),
                     "requests": cell_name(REQUESTS, case)}


#: The cells of each candidate in each case on the Cost band sheet: the Model sheet's formulas over
#: :func:`case_names`, its results read from the case's months (band_ instead of proj_ ranges).
CANDIDATE_CELLS = (
    Formula("usd_per_hour", "$ per GPU-hour", "$/GPU-hour", "usd_cents", "{model_usd_per_hour}*{price}",
            output=False, needs="cost"),
    Formula("prefill_tokens_per_sec", "Prefill tokens/s per GPU", "tokens/s", "#,##0",
            _MODEL["prefill_tokens_per_sec"].formula, output=False, needs="spec"),
    Formula("tokens_per_sec", "Decode tokens/s per GPU", "tokens/s", "#,##0.0", _MODEL["tokens_per_sec"].formula,
            output=False, needs="spec"),
    Formula("gpu_s_per_request", "GPU-seconds per request", "GPU-s", "0.000000", _MODEL["gpu_s_per_request"].formula,
            output=False, needs="spec"),
) + tuple(dataclasses.replace(_MODEL[key], formula=_MODEL[key].formula.replace("{proj_", "{band_"))
          for key in ("monthly_usd", "gpus_month24", "monthly_usd_month24", "total_usd"))  # as on the Model sheet


#: What a candidate's order check shows when some month's band is out of order (low > base or base > high).
OUT_OF_ORDER = "low > base or base > high in some month: see Band by month"


def order_name(k: int) -> str:
    """The defined name of candidate k's order check: calc_c<k>_band_order."""
    return f"calc_c{k}_band_order"


def order_formula(k: int) -> str:
    """OK when low <= base <= high in every month of every series of candidate k (n/a cells compare equal)."""
    tests = "+".join(f"({month_name(k, s, a)}>{month_name(k, s, b)})" for s, *_ in SERIES
                     for a, b in (("low", "base"), ("base", "high")))
    return f'IF(SUMPRODUCT({tests})=0,"{checks.OK}","{OUT_OF_ORDER}")'


def band_formula(spec: Formula, k: int, case: str) -> str:
    """The formula of a candidate's band cell (without '='): n/a unless its needs and the band's Check hold."""
    n = case_names(k, case) | {f"band_{series}": month_name(k, series, case) for series, *_ in SERIES}
    return when(NEEDS[spec.needs].format_map(n) if spec.needs else None, spec.formula.format_map(n))


def when(condition: str | None, formula: str) -> str:
    """``formula`` where the band's Check and ``condition`` hold (and all inputs are usable), else n/a."""
    test = f'{BAND_CHECK}="{checks.OK}"' if condition is None else f'AND({condition},{BAND_CHECK}="{checks.OK}")'
    return checks.guarded(f'IF({test},{formula},"{checks.NOT_AVAILABLE}")', checks.NOT_AVAILABLE)


def output_names() -> list[str]:
    """Every out_ name of the band."""
    return [cell_name(f.key, case, k, True) for k in CANDIDATES for f in CANDIDATE_CELLS if f.output for case in CASES]

