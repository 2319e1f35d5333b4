"""The lifetime sizing workbook's inputs: names, labels, defaults, the paper's figures, and the input checks.

Every sheet module of the workbook and its Python twin (:mod:`.expected`) read these, so a label, a default
or a rule is written once.
"""

from __future__ import annotations

from ....core import laws
from .. import checks, price_sheet
from .serving_inputs import SERVING_BLOCK, SERVING_DEFAULTS, SERVING_LABELS, SERVING_RULES, serving_checks

FILENAME = "lifetime_sizing.xlsx"
TITLE = "xlcalc lifetime sizing: what to train for an expected demand"

#: Newton steps after the start x0 in every in-sheet solve (7 always suffice; see :mod:`..formulas`).
NEWTON_STEPS = 10

#: Rows of the demand sweep, of the fixed-budget loss curve and of the break-even cost lines.
SWEEP_ROWS = 25
CURVE_ROWS = 41
BREAKEVEN_ROWS = 11

SIZING, SWEEP, BUDGET, BREAKEVEN, VALIDATION, SOLVER, FITS = (
    "Sizing", "Demand sweep", "Fixed budget", "Break-even", "Validation", "Solver", "Fits")

CUSTOM_FIT = "custom"
FIT_FIELDS = ("E", "A", "B", "alpha", "beta")
TRAIN_HARDWARE, INFER_HARDWARE = "A100-80GB SXM4", "A100-40GB SXM4"

#: Where the hardware figures come from when no override is typed: the price sheet (default), or the paper's
#: Table 2 assumptions (a preset that reproduces the paper).
PRICE_SHEET_SOURCE, PAPER_SOURCE = "price sheet", "paper's Table 2"
HARDWARE_SOURCES = (PRICE_SHEET_SOURCE, PAPER_SOURCE)

#: The paper's Table 2 hardware (Sardana et al. 2024): A100-80GB training at $1.50/h and 312 TFLOP/s BF16,
#: A100-40GB inference at $1.10/h and 624 TOP/s INT8.
PAPER_HARDWARE = {"train_usd_per_hour": 1.50, "train_peak_tflops": 312.0, "infer_usd_per_hour": 1.10,
                  "infer_peak_tflops": 624.0}

#: Default inputs: the paper's Table 2 demand for a 30B-quality model; hardware from the price sheet.
DEFAULT_INPUTS = {
    "in_loss": float(laws.loss(30e9, laws.chinchilla_tokens(30e9))),
    "in_chinchilla_size_params": 30e9,
    "in_fit": laws.DEFAULT_FIT,
    **{f"in_custom_{k}": v for k, v in zip(FIT_FIELDS, laws.FITS[laws.DEFAULT_FIT].constants)},
    "in_requests": 1.754e10,
    "in_input_tokens": 70.0,
    "in_output_tokens": 215.0,
    "in_hardware_source": PRICE_SHEET_SOURCE,
    "in_train_hardware": TRAIN_HARDWARE,
    "in_train_usd_per_hour": None,
    "in_train_peak_tflops": None,
    "in_infer_hardware": INFER_HARDWARE,
    "in_infer_usd_per_hour": None,
    "in_infer_peak_tflops": None,
    "in_mfu_train": 0.5,
    "in_mfu_prefill": 0.5,
    "in_mfu_decode": 0.01,
    "in_sweep_min_tokens": 1e8,
    "in_sweep_max_tokens": 1e14,
    "in_budget_flops": 1e24,
    "in_breakeven_fraction": 0.5,
    "in_requests_per_month": 1e9,
    **SERVING_DEFAULTS,
}

#: The inputs that reproduce the paper's Table 2 (the preset, as a user would pick it).
PAPER_INPUTS = DEFAULT_INPUTS | {"in_hardware_source": PAPER_SOURCE}

#: The label each input shows on its sheet (messages name inputs by it).
LABELS = {
    "in_loss": "Target loss",
    "in_chinchilla_size_params": "Helper: size of a Chinchilla-optimal model",
    "in_fit": "Fit",
    **{f"in_custom_{k}": f"Custom constants (used if Fit = custom), {k}" for k in FIT_FIELDS},
    "in_requests": "Requests over the model's life",
    "in_input_tokens": "Input (prompt) tokens per request",
    "in_output_tokens": "Output (generated) tokens per request",
    "in_hardware_source": "Hardware figures from",
    "in_train_hardware": "Training accelerator",
    "in_train_usd_per_hour": "Training $ per GPU-hour",
    "in_train_peak_tflops": "Training peak TFLOP/s (dense)",
    "in_infer_hardware": "Inference accelerator",
    "in_infer_usd_per_hour": "Inference $ per GPU-hour",
    "in_infer_peak_tflops": "Inference peak TFLOP/s (dense)",
    "in_mfu_train": "MFU training",
    "in_mfu_prefill": "MFU inference prefill (input tokens)",
    "in_mfu_decode": "MFU inference decode (output tokens)",
    "in_sweep_min_tokens": "Fewest lifetime inference tokens",
    "in_sweep_max_tokens": "Most lifetime inference tokens",
    "in_budget_flops": "Total FLOP budget (training + inference)",
    "in_breakeven_fraction": "Smaller model, as a fraction of the Chinchilla model's parameters",
    "in_requests_per_month": "Requests per month",
    **SERVING_LABELS,
}

#: The paper's Table 1 (Sardana et al. 2024) as REFERENCE.md gives it: inference tokens, Chinchilla N, loss,
#: Chinchilla D, Chinchilla lifetime FLOPs, N*, D*, FLOPs*, reduction. The paper prints "6.33M" for 6.325e8.
TABLE_1 = (
    (50e9, 1e9, 2.531120, 2.743e10, 2.646e20, 6.325e8, 4.676e10, 2.407e20, 0.09014),
    (200e9, 7e9, 2.127426, 2.764e11, 1.441e22, 5.400e9, 3.666e11, 1.404e22, 0.02598),
    (1e12, 13e9, 2.045282, 5.765e11, 7.097e22, 8.323e9, 9.669e11, 6.493e22, 0.08505),
    (5e12, 30e9, 1.958253, 1.556e12, 5.801e23, 1.641e10, 3.265e12, 4.856e23, 0.1628),
    (10e12, 70e9, 1.891792, 4.255e12, 3.187e24, 4.155e10, 7.923e12, 2.806e24, 0.1195),
)
#: Relative difference accepted between a printed 4-digit figure and the live value.
TABLE_1_TOLERANCE = 5e-4

#: What results show where they cannot be computed (a break-even fraction that cannot reach the loss, a
#: budget too small for the demand, zero requests per month, a missing price, or an input problem).
NOT_USABLE = checks.NOT_AVAILABLE
#: The Fixed budget sheet's status when the optimum has under one parameter or training token.
BUDGET_TOO_SMALL = ("the budget cannot pay for the inference demand: the best model would have under one parameter "
                    "or training token; raise the budget or lower the demand")

#: The scaling-law constants in use (the fit chosen on the Sizing sheet), by defined name.
FIT_IN_USE = {field: f"fit_{field}" for field in FIT_FIELDS}
#: The default fit's constants (Validation sheet), by defined name.
FIT_DEFAULT = {field: f"default_{field}" for field in FIT_FIELDS}

OK = checks.OK
#: Defined name of the overall status (Sizing!B3): the first block's problem, or OK. Every computed cell of
#: the Sizing, Solver, Demand sweep, Fixed budget and Break-even sheets shows "" (out_ cells NOT_USABLE)
#: unless it is OK, so one bad input gives one clear message instead of hundreds of error cells.
STATUS = checks.STATUS
#: Defined name of the 1/0 flag "every hardware figure in use is a number above 0" (else $ results are n/a).
HARDWARE_OK = "hardware_ok"

#: The hardware values with an override cell: key -> (accelerator input, price-sheet field(s), what it is).
HARDWARE_VALUES = {
    "train_usd_per_hour": ("in_train_hardware", ("usd_per_hour",), "$ per GPU-hour"),
    "train_peak_tflops": ("in_train_hardware", ("peak_tflops_bf16",), "BF16 peak TFLOP/s"),
    "infer_usd_per_hour": ("in_infer_hardware", ("usd_per_hour",), "$ per GPU-hour"),
    "infer_peak_tflops": ("in_infer_hardware", ("peak_tflops_int8", "peak_tflops_bf16"), "INT8 (else BF16) peak"),
}

#: The in_ names of the hardware override cells (empty: the price sheet's value is used).
HARDWARE_OVERRIDES = tuple(f"in_{key}" for key in HARDWARE_VALUES)

#: The fit names the Fits sheet lists (any case), and 'custom'.
_FIT_NAMES = frozenset({name.casefold() for name in laws.FITS} | {CUSTOM_FIT})


def fit_from_inputs(inputs: dict) -> laws.Fit:
    """The scaling-law fit the inputs pick (a named one, or the typed custom constants)."""
    name = str(inputs["in_fit"]).strip()
    if name.lower() == CUSTOM_FIT:
        return laws.get_fit([float(inputs[f"in_custom_{k}"]) for k in FIT_FIELDS])
    return laws.get_fit(name)


def _fit_e(inputs: dict):
    """The E of the picked fit as the sheet's lookup gives it (None when the fit is not usable yet)."""
    name = inputs.get("in_fit")
    if not isinstance(name, str) or name.casefold() not in _FIT_NAMES:
        return None
    if name.casefold() == CUSTOM_FIT:
        e = inputs.get("in_custom_E")
        return float(e) if checks.is_number(e) else None
    return laws.get_fit(name).E


def _above_e(value, context) -> bool:
    e = _fit_e(context["inputs"])
    return e is None or (checks.is_number(value) and value > e)


_E_IN_USE = "INDEX(fits_E,MATCH(in_fit,fit_names,0))"

#: This workbook's rule kinds: the shared ones, an accelerator, a fit, the hardware source, and a loss above the
#: fit's E (tested in the Target quality block; skipped while the fit itself is unusable).
RULES = checks.RULES | {
    "hardware": price_sheet.ACCELERATOR,
    "fit": checks.Rule("ISNUMBER(MATCH({x},fit_names,0))", "must be a fit listed on the Fits sheet, or custom",
                       lambda value, _: isinstance(value, str) and value.casefold() in _FIT_NAMES,
                       checks.Validation("list", "fit_names", error="Pick a fit listed on the Fits sheet (or "
                                         "'custom').", error_title="Unknown fit")),
    "source": checks.Rule("OR(" + ",".join(f'{{x}}="{s}"' for s in HARDWARE_SOURCES) + ")",
                          f"must be {' or '.join(HARDWARE_SOURCES)}",
                          lambda value, _: isinstance(value, str)
                          and value.casefold() in {s.casefold() for s in HARDWARE_SOURCES},
                          checks.Validation("list", '"' + ",".join(HARDWARE_SOURCES) + '"',
                                            error=f"Pick {' or '.join(HARDWARE_SOURCES)}.")),
    "above_E": checks.Rule(f"IFERROR(IF(ISNUMBER({_E_IN_USE}),{{x}}>{_E_IN_USE},TRUE),TRUE)",
                           "must exceed the fit's E (the loss no model size reaches; see Constants in use)",
                           _above_e),
    **SERVING_RULES,
}

#: Custom constants are tested only when the fit is 'custom'.
CUSTOM_ONLY = checks.Skip(f'in_fit<>"{CUSTOM_FIT}"',
                          lambda values: not (isinstance(values.get("in_fit"), str)
                                              and values["in_fit"].casefold() == CUSTOM_FIT))


def _check(name: str, kind: str, custom_only: bool = False) -> checks.Check:
    return checks.Check(name, LABELS[name], RULES[kind], CUSTOM_ONLY if custom_only else None)


QUALITY_BLOCK, FIT_BLOCK, DEMAND_BLOCK, HARDWARE_BLOCK, SWEEP_BLOCK, BUDGET_BLOCK, BREAKEVEN_BLOCK = (
    "status_quality", "status_fit", "status_demand", "status_hardware", "status_sweep", "status_budget",
    "status_breakeven")

#: The checks of each input block, by the defined name of the block's status cell, in the order shown.
CHECKS = {
    QUALITY_BLOCK: (_check("in_loss", "positive"), _check("in_loss", "above_E"),
                    _check("in_chinchilla_size_params", "positive")),
    FIT_BLOCK: (_check("in_fit", "fit"),
                _check("in_custom_E", "non_negative", True),
                *(_check(f"in_custom_{k}", "positive", True) for k in FIT_FIELDS[1:])),
    DEMAND_BLOCK: (_check("in_requests", "non_negative"),
                   _check("in_input_tokens", "non_negative"),
                   _check("in_output_tokens", "non_negative")),
    HARDWARE_BLOCK: (
        _check("in_hardware_source", "source"),
        *(check for side in ("train", "infer") for check in (
            _check(f"in_{side}_hardware", "hardware"),
            _check(f"in_{side}_usd_per_hour", "override"),
            _check(f"in_{side}_peak_tflops", "override"))),
        _check("in_mfu_train", "fraction"),
        _check("in_mfu_prefill", "fraction"),
        _check("in_mfu_decode", "fraction")),
    SERVING_BLOCK: serving_checks(LABELS, RULES),
    SWEEP_BLOCK: (_check("in_sweep_min_tokens", "positive"),
                  _check("in_sweep_max_tokens", "positive")),
    BUDGET_BLOCK: (_check("in_budget_flops", "positive"),),
    BREAKEVEN_BLOCK: (_check("in_requests_per_month", "non_negative"),),
}

#: Inputs checked on their own sheet instead of by the status (an unusable one makes only its results
#: NOT_USABLE): the break-even fraction, tested with the loss by Break-even!breakeven_ok. Validated likewise.
LOCAL_CHECKS = (_check("in_breakeven_fraction", "fraction"),)


def price_formula(key: str) -> str:
    """The price sheet's value for a hardware key (see :func:`.price_sheet.shown_price`)."""
    hardware, fields, _ = HARDWARE_VALUES[key]
    return price_sheet.shown_price(fields, hardware)


def used_formula(key: str) -> str:
    """The hardware value in use: the override where typed, else the paper's figure or the price sheet's."""
    return (f'IF(ISBLANK(in_{key}),IF(in_hardware_source="{PAPER_SOURCE}",paper_{key},price_{key}),in_{key})')


def needs_hardware(formula: str) -> str:
    """``formula`` where every hardware figure in use is a number above 0, else NOT_USABLE (never $0)."""
    return f'IF({HARDWARE_OK},{formula},"{NOT_USABLE}")'
