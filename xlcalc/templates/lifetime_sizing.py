"""The lifetime sizing workbook: which model to train for an expected demand, solved live in the spreadsheet.

Sheets: "Sizing" (inputs and the three models side by side: Chinchilla-style, compute-optimal, cost-optimal),
"Demand sweep" (the optimal-to-Chinchilla ratios over 1e8..1e14 inference tokens, the paper's Figures 1
and 2), "Fixed budget" (loss against model size for a total FLOP budget, with and without inference),
"Break-even" (the Chinchilla model against a smaller over-trained one of equal loss), "Validation" (the
paper's Table 1 recomputed live), "Solver" (the Newton steps behind the Sizing outputs), "Fits" (the named
scaling-law fits and the custom one) and "Hardware prices" (:mod:`.price_sheet`).

The inference-aware optima have no closed form. The sheet solves them as :mod:`xlcalc.lifetime` does:
with x = ln D, Newton steps on h(x) = ln(P + Q e^(-x)) - beta x - ln R (decreasing and convex) from the
left end x0 of its bracket climb monotonically to the root; :data:`NEWTON_STEPS` steps reach machine
precision for every input (at most 7 are needed for beta >= 0.02, checked over the whole one-parameter
family of h). The fixed-budget optimum uses the convex decreasing F(x) = K - (alpha+beta) x +
(1-alpha) ln(1 + t e^(-x)) from its lower bound, and the Chinchilla-proportioned model within a budget the
convex increasing ln(6k N^(1+alpha/beta) + 2TN) - ln C in ln N from its upper bound.

Formulas use only functions that Excel 2010, LibreOffice 7.4 and Google Sheets all have
(:data:`ALLOWED_FUNCTIONS`), and refer to cells by workbook-level defined names wherever a value is used
away from its own row.
"""

from __future__ import annotations

import dataclasses

from openpyxl import Workbook
from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter

from .. import economics, laws, lifetime
from ..errors import InvalidInputError, WorkbookError
from . import checks, price_sheet, style

FILENAME = "lifetime_sizing.xlsx"
TITLE = "xlcalc lifetime sizing: what to train for an expected demand"

#: Newton steps after the start x0 in every in-sheet solve (7 always suffice; see the module docstring).
NEWTON_STEPS = 10

#: Rows of the demand sweep, of the fixed-budget loss curve and of the break-even cost lines.
SWEEP_ROWS = 25
CURVE_ROWS = 41
BREAKEVEN_ROWS = 11

#: Functions the formulas may use: all exist in Excel 2010, LibreOffice 7.4 and Google Sheets.
ALLOWED_FUNCTIONS = frozenset({"EXP", "LN", "MAX", "MIN", "IF", "INDEX", "MATCH", "ABS", "AND", "OR",
                               "IFERROR", "SUMPRODUCT", "SUM", "ISNUMBER", "ISBLANK"})

SIZING, SWEEP, BUDGET, BREAKEVEN, VALIDATION, SOLVER, FITS = (
    "Sizing", "Demand sweep", "Fixed budget", "Break-even", "Validation", "Solver", "Fits")

CUSTOM_FIT = "custom"
FIT_FIELDS = ("E", "A", "B", "alpha", "beta")
TRAIN_HARDWARE, INFER_HARDWARE = "A100-80GB SXM4", "A100-40GB SXM4"

#: Default inputs: the paper's Table 2 assumptions (Sardana et al. 2024) for a 30B-quality model.
DEFAULT_INPUTS = {
    "in_loss": float(laws.loss(30e9, laws.chinchilla_tokens(30e9))),
    "in_chinchilla_size_params": 30e9,
    "in_fit": laws.DEFAULT_FIT,
    **{f"in_custom_{k}": v for k, v in zip(FIT_FIELDS, laws.FITS[laws.DEFAULT_FIT].constants)},
    "in_requests": 1.754e10,
    "in_input_tokens": 70.0,
    "in_output_tokens": 215.0,
    "in_train_hardware": TRAIN_HARDWARE,
    "in_train_usd_per_hour": 1.50,
    "in_train_peak_tflops": 312.0,
    "in_infer_hardware": INFER_HARDWARE,
    "in_infer_usd_per_hour": 1.10,
    "in_infer_peak_tflops": 624.0,
    "in_mfu_train": 0.5,
    "in_mfu_prefill": 0.5,
    "in_mfu_decode": 0.01,
    "in_sweep_min_tokens": 1e8,
    "in_sweep_max_tokens": 1e14,
    "in_budget_flops": 1e24,
    "in_breakeven_fraction": 0.5,
    "in_requests_per_month": 1e9,
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
#: What results show where they cannot be computed (a break-even fraction that cannot reach the loss, a
#: budget too small for the demand, zero requests per month, or an input problem).
NOT_USABLE = checks.NOT_AVAILABLE
#: The Fixed budget sheet's status when the optimum has under one parameter or training token.
BUDGET_TOO_SMALL = ("the budget cannot pay for the inference demand: the best model would have under one parameter "
                    "or training token; raise the budget or lower the demand")

#: Relative difference accepted between a printed 4-digit figure and the live value.
TABLE_1_TOLERANCE = 5e-4


# ----------------------------------------------------------------------------------------------
# Formula fragments (the math, written once)


def _power_law_loss(n: str, d: str, fit: dict) -> str:
    return f"{fit['E']}+{fit['A']}/({n})^{fit['alpha']}+{fit['B']}/({d})^{fit['beta']}"


def _chinchilla_tokens(n: str, fit: dict) -> str:
    return f"({fit['beta']}*{fit['B']}*({n})^{fit['alpha']}/({fit['alpha']}*{fit['A']}))^(1/{fit['beta']})"


def _chinchilla_params_for_loss(loss: str, fit: dict) -> str:
    return (f"({fit['A']}*({fit['alpha']}+{fit['beta']})/({fit['beta']}*(({loss})-{fit['E']})))"
            f"^(1/{fit['alpha']})")


def _chinchilla_tokens_for_loss(loss: str, fit: dict) -> str:
    return (f"({fit['B']}*({fit['alpha']}+{fit['beta']})/({fit['alpha']}*(({loss})-{fit['E']})))"
            f"^(1/{fit['beta']})")


def _params_on_curve(loss: str, x: str, fit: dict) -> str:
    """N on the iso-loss curve at ln D = x."""
    return f"({fit['A']}/(({loss})-{fit['E']}-{fit['B']}*EXP(-{fit['beta']}*{x})))^(1/{fit['alpha']})"


def _newton_p(fit: dict) -> str:
    return f"{fit['B']}*({fit['alpha']}+{fit['beta']})"


def _newton_log_r(loss: str, fit: dict) -> str:
    return f"LN({fit['alpha']}*(({loss})-{fit['E']}))"


def _newton_q(s: str, fit: dict) -> str:
    return f"{fit['B']}*{fit['beta']}*({s})"


def _bound(positive: str, pick: str, first: str, second: str) -> str:
    """``pick(first, second)`` where ``positive`` > 0, else ``first`` (``second`` takes the log of ``positive``)."""
    return f"IF({positive}>0,{pick}({first},{second}),{first})"


def _newton_start(q: str, p: str, log_r: str, beta: str) -> str:
    """x0 = max((ln P - ln R)/beta, (ln Q - ln R)/(1+beta)), the left end of the bracket (Q = 0: the first)."""
    return _bound(q, "MAX", f"(LN({p})-{log_r})/{beta}", f"(LN({q})-{log_r})/(1+{beta})")


def _newton_step(x: str, q: str, p: str, log_r: str, beta: str) -> str:
    """x + h/(beta + tail/total), h = ln(total) - beta x - ln R, tail = Q e^(-x), total = P + tail."""
    tail = f"{q}*EXP(-{x})"
    total = f"({p}+{tail})"
    return f"{x}+(LN({total})-{beta}*{x}-{log_r})/({beta}+{tail}/{total})"


def _budget_start(k: str, t: str, fit: dict) -> str:
    """x0 = max(K/(alpha+beta), (K + (1-alpha) ln t)/(1+beta)), a lower bound of the root (F(x0) >= 0)."""
    a, b = fit["alpha"], fit["beta"]
    return _bound(t, "MAX", f"{k}/({a}+{b})", f"({k}+(1-{a})*LN({t}))/(1+{b})")


def _budget_step(x: str, k: str, t: str, fit: dict) -> str:
    """x + F/(alpha+beta + (1-alpha) r/(1+r)), F = K - (alpha+beta) x + (1-alpha) ln(1+r), r = t e^(-x)."""
    a, b = fit["alpha"], fit["beta"]
    r = f"{t}*EXP(-{x})"
    return f"{x}+({k}-({a}+{b})*{x}+(1-{a})*LN(1+{r}))/({a}+{b}+(1-{a})*{r}/(1+{r}))"


def _within_budget_start(log_c: str, log_6k: str, power: str, inference_tokens: str) -> str:
    """z0 = min((ln C - ln 6k)/p, ln C - ln 2T): either term alone spends the budget there, so g(z0) >= 0."""
    return _bound(inference_tokens, "MIN", f"({log_c}-{log_6k})/{power}", f"{log_c}-LN(2*{inference_tokens})")


def _within_budget_step(z: str, log_c: str, log_6k: str, power: str, inference_tokens: str) -> str:
    """z - g/g' for g(z) = ln(e^(ln 6k + p z) + 2T e^z) - ln C (convex, increasing: from the right, monotone)."""
    first = f"EXP({log_6k}+{power}*{z})"
    second = f"2*{inference_tokens}*EXP({z})"
    return f"{z}-(LN({first}+{second})-{log_c})*({first}+{second})/({power}*{first}+{second})"


#: The scaling-law constants in use (the fit chosen on the Sizing sheet), by defined name.
FIT_IN_USE = {field: f"fit_{field}" for field in FIT_FIELDS}
#: The default fit's constants (Validation sheet), by defined name.
FIT_DEFAULT = {field: f"default_{field}" for field in FIT_FIELDS}


# ----------------------------------------------------------------------------------------------
# Input checks: one status cell per input block (first bad input, or OK), the same test in Python, and the
# data validation of the input cells, all from the one table CHECKS (see :mod:`.checks`)


#: The text every status cell shows when its inputs are usable.
OK = checks.OK
#: Defined name of the overall status (Sizing!B3): the first block's problem, or OK. Every computed cell of
#: the Sizing, Solver, Demand sweep, Fixed budget and Break-even sheets shows "" (out_ cells NOT_USABLE)
#: unless it is OK, so one bad input gives one clear message instead of hundreds of error cells.
STATUS = checks.STATUS

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

#: This workbook's rule kinds: the shared ones, an accelerator, a fit, a loss above the fit's E and a hardware
#: value in use (computed, so no data validation).
RULES = checks.RULES | {
    "hardware": price_sheet.ACCELERATOR,
    "fit": checks.Rule("ISNUMBER(MATCH({x},fit_names,0))", "must be a fit listed on the Fits sheet, or custom",
                       lambda value, _: isinstance(value, str) and value.casefold() in _FIT_NAMES,
                       checks.Validation("list", "fit_names", error="Pick a fit listed on the Fits sheet (or "
                                         "'custom').", error_title="Unknown fit")),
    # tested after the fit's own checks, so the fit is usable by then
    "above_E": checks.Rule("{x}>INDEX(fits_E,MATCH(in_fit,fit_names,0))", "must exceed the fit's E",
                           lambda value, context: checks.is_number(value)
                           and value > _fit_from_inputs(context["inputs"]).E),
    "used": checks.Rule("IF(ISNUMBER({x}),{x}>0,FALSE)", "", lambda value, _: checks.is_number(value) and value > 0),
}

#: Custom constants are tested only when the fit is 'custom'.
CUSTOM_ONLY = checks.Skip(f'in_fit<>"{CUSTOM_FIT}"',
                          lambda values: not (isinstance(values.get("in_fit"), str)
                                              and values["in_fit"].casefold() == CUSTOM_FIT))


def _check(name: str, label: str, kind: str, custom_only: bool = False) -> checks.Check:
    return checks.Check(name, label, RULES[kind], CUSTOM_ONLY if custom_only else None)


def _used_check(side: str, key: str, label: str) -> checks.Check:
    """The hardware value in use (override, else price sheet) must be a number above 0."""
    hardware, _, what = HARDWARE_VALUES[f"{side}_{key}"]
    return checks.Check(f"use_{side}_{key}", label, RULES["used"],
                        text=f"{label}: the price sheet has no {what} above 0 for the accelerator in {hardware}; "
                             f"type one there or in in_{side}_{key}")


QUALITY_BLOCK, FIT_BLOCK, DEMAND_BLOCK, HARDWARE_BLOCK, SWEEP_BLOCK, BUDGET_BLOCK, BREAKEVEN_BLOCK = (
    "status_quality", "status_fit", "status_demand", "status_hardware", "status_sweep", "status_budget",
    "status_breakeven")

#: The checks of each input block, by the defined name of the block's status cell, in the order shown.
CHECKS = {
    QUALITY_BLOCK: (_check("in_loss", "Target loss", "positive"),
                    _check("in_chinchilla_size_params", "Helper model size", "positive")),
    FIT_BLOCK: (_check("in_fit", "Fit", "fit"),
                _check("in_custom_E", "Custom E", "non_negative", True),
                *(_check(f"in_custom_{k}", f"Custom {k}", "positive", True) for k in FIT_FIELDS[1:]),
                _check("in_loss", "Target loss", "above_E")),
    DEMAND_BLOCK: (_check("in_requests", "Requests over the model's life", "non_negative"),
                   _check("in_input_tokens", "Input tokens per request", "non_negative"),
                   _check("in_output_tokens", "Output tokens per request", "non_negative")),
    HARDWARE_BLOCK: (
        *(check for side, label in (("train", "Training"), ("infer", "Inference")) for check in (
            _check(f"in_{side}_hardware", f"{label} accelerator", "hardware"),
            *(check for key, what in (("usd_per_hour", "$ per GPU-hour"), ("peak_tflops", "peak TFLOP/s"))
              for check in (_check(f"in_{side}_{key}", f"{label} {what} override", "override"),
                            _used_check(side, key, f"{label} {what}"))))),
        _check("in_mfu_train", "MFU training", "fraction"),
        _check("in_mfu_prefill", "MFU prefill", "fraction"),
        _check("in_mfu_decode", "MFU decode", "fraction")),
    SWEEP_BLOCK: (_check("in_sweep_min_tokens", "Fewest sweep tokens", "positive"),
                  _check("in_sweep_max_tokens", "Most sweep tokens", "positive")),
    BUDGET_BLOCK: (_check("in_budget_flops", "Total FLOP budget", "positive"),),
    BREAKEVEN_BLOCK: (_check("in_requests_per_month", "Requests per month", "non_negative"),),
}

#: Inputs checked on their own sheet instead of by the status (an unusable one makes only its results
#: NOT_USABLE): the break-even fraction, tested with the loss by Break-even!breakeven_ok. Validated likewise.
LOCAL_CHECKS = (_check("in_breakeven_fraction", "Smaller model fraction", "fraction"),)


def _price_formula(key: str) -> str:
    """The price sheet's value for a hardware key (the first field above 0), or the text 'not listed'."""
    hardware, fields, _ = HARDWARE_VALUES[key]
    return price_sheet.price_formula(fields, hardware)


def hardware_in_use(inputs: dict, table: dict) -> dict:
    """The hardware values the sheet uses: the override where typed, else the price sheet's value (NaN: none)."""
    used = {}
    for key, (hardware, fields, _) in HARDWARE_VALUES.items():
        override = inputs[f"in_{key}"]
        used[key] = price_sheet.price_value(table, inputs[hardware], fields) if checks.is_empty(override) else override
    return used


def input_problem(inputs: dict, table: dict) -> str | None:
    """The first input problem, as the sheet's status cells word it; None when every input is usable."""
    values = inputs | {f"use_{key}": value for key, value in hardware_in_use(inputs, table).items()}
    return checks.first_problem(CHECKS.values(), values, {"prices": table, "inputs": inputs})


def _guard(workbook, sheets, unguarded: set) -> None:
    """Wrap every computed cell of ``sheets`` in IF(inputs_status="OK", ..., ""): one message, no error cells.

    out_ cells show NOT_USABLE instead of "". ``unguarded`` holds defined names left as they are (the status
    cells and what they read).
    """
    skip, outputs = set(), set()
    for name, definition in workbook.defined_names.items():
        for sheet, ref in definition.destinations:
            (skip if name in unguarded else outputs if name.startswith("out_") else set()).add(
                (sheet, ref.replace("$", "")))
    for title in sheets:
        for row in workbook[title].iter_rows():
            for cell in row:
                if cell.data_type != "f" or (title, cell.coordinate) in skip:
                    continue
                fill = NOT_USABLE if (title, cell.coordinate) in outputs else ""
                cell.value = "=" + checks.guarded(cell.value[1:], fill)


# ----------------------------------------------------------------------------------------------
# Layout helpers


@dataclasses.dataclass(frozen=True)
class Row:
    """One labelled row of a form: label in A, value in B, optional defined name, extra cells from C on."""

    label: str
    value: object = None
    style: str = "xl_formula"
    number_format: str | None = None
    name: str | None = None
    note: str = ""
    extra: tuple = ()  # (value, style, number_format) for columns C, D, ...


def _header(sheet, row: int, texts, first_column: int = 1) -> None:
    if any(len(str(text)) > 18 for text in texts):
        sheet.row_dimensions[row].height = 32
    for offset, text in enumerate(texts):
        style.apply(sheet.cell(row=row, column=first_column + offset, value=text), "xl_header")


def _title(sheet, text: str, note: str = "") -> None:
    style.apply(sheet["A1"], "xl_title").value = text
    if note:
        style.apply(sheet["A2"], "xl_note").value = note


def _form(workbook, sheet, first_row: int, rows, note_column: int) -> dict:
    """Write labelled rows from ``first_row``; returns {defined name or label: coordinate of the value}."""
    where = {}
    for offset, row in enumerate(rows):
        r = first_row + offset
        if row is None:
            continue
        if row.style == "xl_header":
            _header(sheet, r, [row.label, *([row.value] if row.value is not None else []), *row.extra])
            continue
        style.apply(sheet.cell(row=r, column=1, value=row.label), "xl_label")
        cell = style.apply(sheet.cell(row=r, column=2), row.style, row.number_format)
        cell.value = row.value
        if isinstance(row.value, str) and not row.value.startswith("="):
            cell.data_type = "s"
        for index, (value, extra_style, extra_format) in enumerate(row.extra, start=3):
            style.apply(sheet.cell(row=r, column=index, value=value), extra_style, extra_format)
        if row.note:
            style.apply(sheet.cell(row=r, column=note_column, value=row.note), "xl_note")
        where[row.name or row.label] = cell.coordinate
        if row.name:
            style.define(workbook, row.name, sheet.title, cell.coordinate)
    return where


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a per-row table: key, header, number format, and a formula template.

    The template is a formula text with ``{key}`` placeholders for other columns of the same row and
    ``{i}`` for the 0-based row index; None leaves the value to the caller.
    """

    key: str
    header: str
    number_format: str
    template: str | None
    style: str = "xl_formula"


def _table(sheet, header_row: int, columns, rows: int, first_column: int = 1, values=None) -> dict:
    """Write a per-row table; returns {key: column letter}. ``values[key][i]`` fills columns without a template."""
    letters = {c.key: get_column_letter(first_column + j) for j, c in enumerate(columns)}
    _header(sheet, header_row, [c.header for c in columns], first_column)
    for i in range(rows):
        r = header_row + 1 + i
        cells = {key: f"{letter}{r}" for key, letter in letters.items()}
        for c in columns:
            cell = style.apply(sheet[cells[c.key]], c.style, c.number_format)
            cell.value = values[c.key][i] if c.template is None else "=" + c.template.format(i=i, **cells)
    return letters


def _newton_columns(prefix: str, header: str, start: str, step: str) -> list[Column]:
    """Columns x0..xK of a per-row Newton solve: ``start`` and ``step`` are templates, step with {x} for x_(k-1)."""
    columns = [Column(f"{prefix}0", f"{header} x0", "0.000000000000", start)]
    for k in range(1, NEWTON_STEPS + 1):
        previous = "{" + f"{prefix}{k - 1}" + "}"
        columns.append(Column(f"{prefix}{k}", f"{header} x{k}", "0.000000000000", step.replace("{x}", previous)))
    return columns


# ----------------------------------------------------------------------------------------------
# Sheets


def _fits_sheet(workbook) -> None:
    sheet = workbook.create_sheet(FITS)
    _title(sheet, "Scaling-law fits: L(N, D) = E + A / N^alpha + B / D^beta",
           "Named fits from xlcalc.laws.FITS; the 'custom' row takes the constants typed on the Sizing sheet.")
    header_row, first = 4, 5
    _header(sheet, header_row, ["Fit", *FIT_FIELDS, "Source"])
    rows = [(fit.name, *fit.constants, fit.source) for fit in laws.FITS.values()]
    rows.append((CUSTOM_FIT, *(f"=in_custom_{k}" for k in FIT_FIELDS), "Typed on the Sizing sheet"))
    for i, values in enumerate(rows):
        for j, value in enumerate(values, start=1):
            fmt = None if j in (1, 7) else "0.0000000"
            cell = style.apply(sheet.cell(row=first + i, column=j), "xl_formula", fmt)
            cell.value = value
            if j in (1, 7):
                cell.data_type = "s"
    last = first + len(rows) - 1
    style.define(workbook, "fit_names", FITS, f"A{first}:A{last}")
    for j, field in enumerate(FIT_FIELDS, start=2):
        letter = get_column_letter(j)
        style.define(workbook, f"fits_{field}", FITS, f"{letter}{first}:{letter}{last}")
    style.set_widths(sheet, {"A": 18, "B": 12, "C": 12, "D": 12, "E": 12, "F": 12, "G": 110})
    style.protect(sheet)


def _sizing_sheet(workbook) -> None:
    sheet = workbook.create_sheet(SIZING)
    _title(sheet, "Lifetime sizing: the model that reaches a target loss most cheaply over its life",
           "Yellow cells are inputs. Training costs 6ND FLOPs, serving 2N FLOPs per token (Sardana et al. 2024, "
           "arXiv 2401.00448).")
    d = DEFAULT_INPUTS
    big = "big"
    fit = FIT_IN_USE
    price_cells = []

    def hardware_row(label: str, key: str, fmt: str, note: str = "") -> Row:
        """Override input (in_ name) in B, the value used in C, the price sheet's value in D."""
        name = f"in_{key}"
        price_cells.append((name, f"price_{key}", f"use_{key}"))
        return Row(label, d[name], "xl_input", fmt, name, note,
                   extra=((f"=IF(ISBLANK({name}),price_{key},{name})", "xl_output", fmt),
                          ("=" + _price_formula(key), "xl_formula", fmt)))

    rows = [
        Row("Target quality", "value", "xl_header", extra=("helper / unit",)),
        Row("Target loss", d["in_loss"], "xl_input", "loss", "in_loss",
            "nats/token on the fit's data; must exceed the fit's E. Type it, or copy the helper's value."),
        Row("Helper: size of a Chinchilla-optimal model", d["in_chinchilla_size_params"], "xl_input", big,
            "in_chinchilla_size_params", "parameters; the row below gives the loss such a model reaches"),
        Row("Loss of that model (copy into Target loss)",
            "=" + _power_law_loss("in_chinchilla_size_params", _chinchilla_tokens("in_chinchilla_size_params", fit),
                                  fit), "xl_output", "loss", "helper_loss",
            "trained on the fit's Chinchilla-optimal tokens"),
        Row("Check", "=" + checks.status_formula(CHECKS[QUALITY_BLOCK]), "xl_formula", "text", "status_quality"),
        None,
        Row("Scaling law", "value", "xl_header"),
        Row("Fit", d["in_fit"], "xl_input", "text", "in_fit",
            "pick a named fit, or 'custom' to use the typed constants below (table on the Fits sheet)"),
        Row("Constants", "E", "xl_header", extra=FIT_FIELDS[1:]),
        Row("Custom constants (used when Fit = custom)", d["in_custom_E"], "xl_input", "0.0000000", "in_custom_E",
            extra=tuple((d[f"in_custom_{k}"], "xl_input", "0.0000000") for k in FIT_FIELDS[1:])),
        Row("Constants in use", "=INDEX(fits_E,MATCH(in_fit,fit_names,0))", "xl_formula", "0.0000000", "fit_E",
            extra=tuple((f"=INDEX(fits_{k},MATCH(in_fit,fit_names,0))", "xl_formula", "0.0000000")
                        for k in FIT_FIELDS[1:])),
        Row("Check", "=" + checks.status_formula(CHECKS[FIT_BLOCK]), "xl_formula", "text", "status_fit"),
        None,
        Row("Lifetime demand", "value", "xl_header"),
        Row("Requests over the model's life", d["in_requests"], "xl_input", big, "in_requests"),
        Row("Input (prompt) tokens per request", d["in_input_tokens"], "xl_input", "count", "in_input_tokens"),
        Row("Output (generated) tokens per request", d["in_output_tokens"], "xl_input", "count", "in_output_tokens"),
        Row("Lifetime inference tokens", "=in_requests*(in_input_tokens+in_output_tokens)", "xl_formula", big,
            "inference_tokens", "requests x (input + output)"),
        Row("Check", "=" + checks.status_formula(CHECKS[DEMAND_BLOCK]), "xl_formula", "text", "status_demand"),
        None,
        Row("Hardware", "override", "xl_header", extra=("value used", "price sheet")),
        Row("Training accelerator", d["in_train_hardware"], "xl_input", "text", "in_train_hardware",
            "pick from the Hardware prices sheet: its $/hour and BF16 peak are used where the override is empty"),
        hardware_row("Training $ per GPU-hour", "train_usd_per_hour", "usd_precise",
                     "override typed: the paper's Table 2 figure; clear it to use the price sheet's value"),
        hardware_row("Training peak TFLOP/s (dense)", "train_peak_tflops", "decimal",
                     "price sheet: the BF16 peak"),
        Row("Inference accelerator", d["in_infer_hardware"], "xl_input", "text", "in_infer_hardware",
            "pick from the Hardware prices sheet: its $/hour and INT8 peak (BF16 where none) are used where the "
            "override is empty"),
        hardware_row("Inference $ per GPU-hour", "infer_usd_per_hour", "usd_precise",
                     "override typed: the paper's Table 2 figure; clear it to use the price sheet's value"),
        hardware_row("Inference peak TFLOP/s (dense)", "infer_peak_tflops", "decimal",
                     "price sheet: the INT8 TOP/s (the paper serves in INT8: 624 on A100), else BF16"),
        Row("MFU training", d["in_mfu_train"], "xl_input", "percent", "in_mfu_train", "fraction of peak, in (0, 1]"),
        Row("MFU inference prefill (input tokens)", d["in_mfu_prefill"], "xl_input", "percent", "in_mfu_prefill"),
        Row("MFU inference decode (output tokens)", d["in_mfu_decode"], "xl_input", "percent", "in_mfu_decode"),
        Row("Check", "=" + checks.status_formula(CHECKS[HARDWARE_BLOCK]), "xl_formula", "text", "status_hardware"),
        Row("$ per training FLOP", "=use_train_usd_per_hour/(3600*use_train_peak_tflops*1E+12*in_mfu_train)",
            "xl_formula", "0.000E+00", "k_train"),
        Row("$ per prefill FLOP", "=use_infer_usd_per_hour/(3600*use_infer_peak_tflops*1E+12*in_mfu_prefill)",
            "xl_formula", "0.000E+00", "k_prefill"),
        Row("$ per decode FLOP", "=use_infer_usd_per_hour/(3600*use_infer_peak_tflops*1E+12*in_mfu_decode)",
            "xl_formula", "0.000E+00", "k_decode"),
        Row("Lifetime inference $ per parameter",
            "=2*(in_requests*in_input_tokens*k_prefill+in_requests*in_output_tokens*k_decode)", "xl_formula",
            "0.000E+00", "usd_per_param", "2 (input tokens x $/prefill FLOP + output tokens x $/decode FLOP)"),
    ]
    where = _form(workbook, sheet, 4, rows, note_column=5)
    for name, price_name, used_name in price_cells:
        row = where[name][1:]
        style.define(workbook, used_name, SIZING, f"C{row}")
        style.define(workbook, price_name, SIZING, f"D{row}")
    style.apply(sheet["A3"], "xl_label").value = "All inputs"
    style.apply(sheet["B3"], "xl_output", "text").value = "=" + checks.overall_status(CHECKS)
    style.define(workbook, STATUS, SIZING, "B3")
    for name, label in (("in_custom_", "Custom constants (used when Fit = custom)"), ("fit_", "Constants in use")):
        row = int(where[f"{name}E"][1:])
        for j, field in enumerate(FIT_FIELDS[1:], start=3):
            style.define(workbook, f"{name}{field}", SIZING, f"{get_column_letter(j)}{row}")


    _results_table(workbook, sheet, 4 + len(rows) + 1)
    style.set_widths(sheet, {"A": 44, "B": 18, "C": 18, "D": 18, "E": 18, "F": 18})
    sheet.freeze_panes = "B4"
    style.protect(sheet)


#: The three models of the results table: column header, params formula, tokens formula, out_ prefix.
MODELS = (
    ("Chinchilla-style", "chin_params", "chin_tokens", "out_chinchilla"),
    ("Compute-optimal", "compute_params", "compute_tokens", "out_compute_opt"),
    ("Cost-optimal", "cost_params", "cost_tokens", "out_cost_opt"),
)

#: Rows of the results table: label, formula template over {n} {d} and the Chinchilla column {cn} {cd},
#: number format, out_ suffix (None: no out_ name).
RESULT_ROWS = (
    ("Parameters", "{n}", "big", "params"),
    ("Training tokens", "{d}", "big", "tokens"),
    ("Tokens per parameter", "{d}/{n}", "decimal", None),
    ("Training FLOPs (6ND)", "6*{n}*{d}", "big", "train_flops"),
    ("Inference FLOPs (2N per token)", "2*{n}*inference_tokens", "big", "inference_flops"),
    ("Lifetime FLOPs", "6*{n}*{d}+2*{n}*inference_tokens", "big", "flops"),
    ("Training $", "k_train*6*{n}*{d}", "usd", None),
    ("Inference $", "{n}*usd_per_param", "usd", None),
    ("Lifetime $", "6*k_train*{n}*{d}+{n}*usd_per_param", "usd", "usd"),
    ("Parameters vs Chinchilla", "{n}/{cn}", "percent", None),
    ("Tokens vs Chinchilla", "{d}/{cd}", "percent", None),
    ("Lifetime FLOPs saved vs Chinchilla",
     "1-(6*{n}*{d}+2*{n}*inference_tokens)/(6*{cn}*{cd}+2*{cn}*inference_tokens)", "percent", None),
    ("Lifetime $ saved vs Chinchilla",
     "1-(6*k_train*{n}*{d}+{n}*usd_per_param)/(6*k_train*{cn}*{cd}+{cn}*usd_per_param)", "percent", None),
)


def _results_table(workbook, sheet, header_row: int) -> None:
    _header(sheet, header_row, ["Results (equal loss)", *(m[0] for m in MODELS)])
    chin_n, chin_d = MODELS[0][1], MODELS[0][2]
    for i, (label, template, fmt, suffix) in enumerate(RESULT_ROWS, start=1):
        r = header_row + i
        style.apply(sheet.cell(row=r, column=1, value=label), "xl_label")
        for j, (_, n, d, prefix) in enumerate(MODELS, start=2):
            cell = sheet.cell(row=r, column=j)
            style.apply(cell, "xl_output" if suffix else "xl_formula", fmt)
            cell.value = "=" + template.format(n=n, d=d, cn=chin_n, cd=chin_d)
            if suffix:
                style.define(workbook, f"{prefix}_{suffix}", SIZING, cell.coordinate)
    note = header_row + len(RESULT_ROWS) + 2
    style.apply(sheet.cell(row=note, column=1), "xl_note").value = (
        "Chinchilla-style: the least training compute for the loss. Compute-optimal: the fewest lifetime FLOPs "
        "(Sardana Eq. 3/12). Cost-optimal: the lowest lifetime $ (Eq. 6); it may use more FLOPs than the "
        "Chinchilla model (a negative saving). Newton steps on the Solver sheet.")


def _solver_sheet(workbook) -> None:
    """The Newton steps behind the Sizing outputs and the fixed-budget optimum."""
    sheet = workbook.create_sheet(SOLVER)
    _title(sheet, "Solver: Newton steps in x = ln D (no input here)",
           "Each column converges monotonically from its start x0; the last row is the solution. "
           "h and F are the residuals (0 at the solution).")
    fit = FIT_IN_USE
    setup = [
        Row("Shared", "value", "xl_header"),
        Row("P = B (alpha + beta)", "=" + _newton_p(fit), "xl_formula", "0.000E+00", "newton_p"),
        Row("ln R = ln(alpha (loss - E))", "=" + _newton_log_r("in_loss", fit), "xl_formula", "0.000000000",
            "newton_log_r"),
        Row("Compute-optimal: s = inference tokens / 3", "=inference_tokens/3", "xl_formula", "0.000E+00",
            "compute_s"),
        Row("Compute-optimal: Q = B beta s", "=" + _newton_q("compute_s", fit), "xl_formula", "0.000E+00",
            "compute_q"),
        Row("Cost-optimal: s = $ per param / (6 $ per training FLOP)", "=usd_per_param/(6*k_train)", "xl_formula",
            "0.000E+00", "cost_s"),
        Row("Cost-optimal: Q = B beta s", "=" + _newton_q("cost_s", fit), "xl_formula", "0.000E+00", "cost_q"),
        Row("Budget: K = ln(beta B / (alpha A)) + alpha ln(C / 6)",
            f"=LN({fit['beta']}*{fit['B']})-LN({fit['alpha']}*{fit['A']})+{fit['alpha']}*LN(in_budget_flops/6)",
            "xl_formula", "0.000000000", "budget_k"),
        Row("Budget: t = inference tokens / 3", "=inference_tokens/3", "xl_formula", "0.000E+00", "budget_t"),
        Row("Within budget: ln 6k", f"=LN(6)+LN({fit['beta']}*{fit['B']}/({fit['alpha']}*{fit['A']}))/{fit['beta']}",
            "xl_formula", "0.000000000", "within_log_6k"),
        Row("Within budget: p = 1 + alpha / beta", f"=1+{fit['alpha']}/{fit['beta']}", "xl_formula", "0.000000000",
            "within_power"),
        Row("Within budget: ln C", "=LN(in_budget_flops)", "xl_formula", "0.000000000", "within_log_c"),
    ]
    _form(workbook, sheet, 4, setup, note_column=3)
    header_row = 4 + len(setup) + 1
    p, log_r, beta = "newton_p", "newton_log_r", fit["beta"]
    solves = (
        ("compute", "Compute-optimal x", _newton_start("compute_q", p, log_r, beta),
         lambda x: _newton_step(x, "compute_q", p, log_r, beta)),
        ("cost", "Cost-optimal x", _newton_start("cost_q", p, log_r, beta),
         lambda x: _newton_step(x, "cost_q", p, log_r, beta)),
        ("budget", "Budget x", _budget_start("budget_k", "budget_t", fit),
         lambda x: _budget_step(x, "budget_k", "budget_t", fit)),
        ("within", "Within-budget ln N", _within_budget_start("within_log_c", "within_log_6k", "within_power",
                                                             "inference_tokens"),
         lambda z: _within_budget_step(z, "within_log_c", "within_log_6k", "within_power", "inference_tokens")),
    )
    _header(sheet, header_row, ["Step", *(s[1] for s in solves)])
    for k in range(NEWTON_STEPS + 1):
        r = header_row + 1 + k
        style.apply(sheet.cell(row=r, column=1, value=k), "xl_label", "0")
        for j, (key, _, start, step) in enumerate(solves, start=2):
            letter = get_column_letter(j)
            formula = start if k == 0 else step(f"{letter}{r - 1}")
            style.apply(sheet.cell(row=r, column=j, value="=" + formula), "xl_formula", "0.000000000000")
    last = header_row + 1 + NEWTON_STEPS
    for j, (key, *_) in enumerate(solves, start=2):
        style.define(workbook, f"{key}_x", SOLVER, f"{get_column_letter(j)}{last}")

    results = [
        Row("Solutions", "value", "xl_header"),
        Row("Chinchilla-style params", "=" + _chinchilla_params_for_loss("in_loss", fit), "xl_formula", "big",
            "chin_params"),
        Row("Chinchilla-style tokens", "=" + _chinchilla_tokens_for_loss("in_loss", fit), "xl_formula", "big",
            "chin_tokens"),
        Row("Compute-optimal params", "=" + _params_on_curve("in_loss", "compute_x", fit), "xl_formula", "big",
            "compute_params"),
        Row("Compute-optimal tokens", "=EXP(compute_x)", "xl_formula", "big", "compute_tokens"),
        Row("Cost-optimal params", "=" + _params_on_curve("in_loss", "cost_x", fit), "xl_formula", "big",
            "cost_params"),
        Row("Cost-optimal tokens", "=EXP(cost_x)", "xl_formula", "big", "cost_tokens"),
    ]
    _form(workbook, sheet, last + 2, results, note_column=3)
    style.set_widths(sheet, {"A": 52, "B": 20, "C": 20, "D": 20, "E": 20})
    style.protect(sheet)


def _sweep_sheet(workbook) -> None:
    sheet = workbook.create_sheet(SWEEP)
    _title(sheet, "Demand sweep: optimal-to-Chinchilla ratios at the Sizing sheet's loss, fit and hardware",
           "Lifetime inference tokens from the first to the last value, log-spaced; requests = tokens / "
           "(input + output per request). Sardana et al. 2024, Figures 1 and 2.")
    inputs = [
        Row("Sweep range", "value", "xl_header"),
        Row("Fewest lifetime inference tokens", DEFAULT_INPUTS["in_sweep_min_tokens"], "xl_input", "big",
            "in_sweep_min_tokens"),
        Row("Most lifetime inference tokens", DEFAULT_INPUTS["in_sweep_max_tokens"], "xl_input", "big",
            "in_sweep_max_tokens"),
        Row("Check", "=" + checks.status_formula(CHECKS[SWEEP_BLOCK]), "xl_formula", "text", SWEEP_BLOCK),
    ]
    _form(workbook, sheet, 4, inputs, note_column=3)
    fit = FIT_IN_USE
    p, log_r, beta = "newton_p", "newton_log_r", fit["beta"]
    chin_flops = "(6*chin_params*chin_tokens+2*chin_params*{tokens})"
    chin_usd = "(6*k_train*chin_params*chin_tokens+chin_params*{usd_per_param})"
    columns = [
        Column("tokens", "Lifetime inference tokens", "big",
               f"in_sweep_min_tokens*(in_sweep_max_tokens/in_sweep_min_tokens)^({{i}}/{SWEEP_ROWS - 1})"),
        Column("requests", "Requests", "big",
               "IF(in_input_tokens+in_output_tokens>0,{tokens}/(in_input_tokens+in_output_tokens),0)"),
        Column("c_params", "Compute-opt params / Chinchilla", "ratio", "{c_n}/chin_params"),
        Column("c_tokens", "Compute-opt tokens / Chinchilla", "ratio", "{c_d}/chin_tokens"),
        Column("c_flops", "Compute-opt lifetime FLOPs / Chinchilla", "ratio",
               "(6*{c_n}*{c_d}+2*{c_n}*{tokens})/" + chin_flops),
        Column("k_params", "Cost-opt params / Chinchilla", "ratio", "{k_n}/chin_params"),
        Column("k_tokens", "Cost-opt tokens / Chinchilla", "ratio", "{k_d}/chin_tokens"),
        Column("k_usd", "Cost-opt lifetime $ / Chinchilla", "ratio",
               "(6*k_train*{k_n}*{k_d}+{k_n}*{usd_per_param})/" + chin_usd),
        Column("c_n", "Compute-opt params", "big", _params_on_curve("in_loss", f"{{c{NEWTON_STEPS}}}", fit)),
        Column("c_d", "Compute-opt tokens", "big", f"EXP({{c{NEWTON_STEPS}}})"),
        Column("k_n", "Cost-opt params", "big", _params_on_curve("in_loss", f"{{k{NEWTON_STEPS}}}", fit)),
        Column("k_d", "Cost-opt tokens", "big", f"EXP({{k{NEWTON_STEPS}}})"),
        Column("usd_per_param", "Inference $ per param", "0.000E+00",
               "2*({requests}*in_input_tokens*k_prefill+{requests}*in_output_tokens*k_decode)"),
        Column("c_q", "Compute Q", "0.000E+00", _newton_q("{tokens}/3", fit)),
        Column("k_q", "Cost Q", "0.000E+00", _newton_q("{usd_per_param}/(6*k_train)", fit)),
        *_newton_columns("c", "Compute", _newton_start("{c_q}", p, log_r, beta),
                         _newton_step("{x}", "{c_q}", p, log_r, beta)),
        *_newton_columns("k", "Cost", _newton_start("{k_q}", p, log_r, beta),
                         _newton_step("{x}", "{k_q}", p, log_r, beta)),
    ]
    header_row = 4 + len(inputs) + 1
    letters = _table(sheet, header_row, columns, SWEEP_ROWS)
    first, last = header_row + 1, header_row + SWEEP_ROWS
    x_ref = Reference(sheet, min_col=1, min_row=first, max_row=last)

    def refs(*keys):
        return [Reference(sheet, range_string=f"'{SWEEP}'!{letters[k]}{header_row}:{letters[k]}{last}") for k in keys]

    figure_1 = style.scatter_chart(sheet, "Compute-optimal / Chinchilla (Figure 1)", x_ref,
                                   refs("c_params", "c_tokens", "c_flops"), x_title="Lifetime inference tokens",
                                   y_title="ratio to Chinchilla", log_x=True, log_y=True)
    figure_2 = style.scatter_chart(sheet, "Cost-optimal / Chinchilla (Figure 2)", x_ref,
                                   refs("k_params", "k_tokens", "k_usd"), x_title="Lifetime inference tokens",
                                   y_title="ratio to Chinchilla", log_x=True, log_y=True)
    sheet.add_chart(figure_1, f"A{last + 3}")
    sheet.add_chart(figure_2, f"A{last + 23}")
    style.set_widths(sheet, {get_column_letter(j): 16 for j in range(1, len(columns) + 1)} | {"A": 34})
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    style.protect(sheet)


def _budget_sheet(workbook) -> None:
    sheet = workbook.create_sheet(BUDGET)
    _title(sheet, "Fixed total budget: the lowest loss when training plus serving must fit a FLOP budget",
           "Inference tokens, fit: from the Sizing sheet. Training 6ND + serving 2N per token = budget.")
    fit = FIT_IN_USE
    g = f"({fit['alpha']}*{fit['A']}/({fit['beta']}*{fit['B']}))^(1/({fit['alpha']}+{fit['beta']}))"
    rows = [
        Row("Budget", "value", "xl_header"),
        Row("Total FLOP budget (training + inference)", DEFAULT_INPUTS["in_budget_flops"], "xl_input", "big",
            "in_budget_flops"),
        Row("Check", "=" + checks.status_formula(CHECKS[BUDGET_BLOCK]), "xl_formula", "text", BUDGET_BLOCK),
        Row("Lifetime inference tokens (Sizing sheet)", "=inference_tokens", "xl_formula", "big"),
        Row("Inference FLOPs per parameter", "=2*inference_tokens", "xl_formula", "big"),
        Row("Budget covers the demand?",
            f'=IF(AND(budget_raw_params>=1,EXP(budget_x)>=1),"{OK}","{BUDGET_TOO_SMALL}")', "xl_formula", "text",
            "budget_result", f"otherwise the results below show {NOT_USABLE}"),
        None,
        Row("Lowest loss serving the demand", "value", "xl_header"),
        Row("Parameters (unchecked)", "=in_budget_flops/(6*EXP(budget_x)+2*inference_tokens)", "xl_formula", "big",
            "budget_raw_params"),
        Row("Parameters", f'=IF(budget_result="{OK}",budget_raw_params,"{NOT_USABLE}")', "xl_output", "big",
            "out_budget_params"),
        Row("Training tokens", f'=IF(budget_result="{OK}",EXP(budget_x),"{NOT_USABLE}")', "xl_output", "big",
            "out_budget_tokens"),
        Row("Loss", f'=IF(budget_result="{OK}",' + _power_law_loss("out_budget_params", "out_budget_tokens", fit)
            + f',"{NOT_USABLE}")', "xl_output", "loss", "out_budget_loss"),
        Row("Training FLOPs", f'=IF(budget_result="{OK}",6*out_budget_params*out_budget_tokens,"{NOT_USABLE}")',
            "xl_formula", "big"),
        Row("Inference FLOPs", f'=IF(budget_result="{OK}",2*out_budget_params*inference_tokens,"{NOT_USABLE}")',
            "xl_formula", "big"),
        None,
        Row("Chinchilla-proportioned model serving the demand", "value", "xl_header"),
        Row("Parameters", f'=IF(budget_result="{OK}",EXP(within_x),"{NOT_USABLE}")', "xl_output", "big",
            "out_budget_chinchilla_params"),
        Row("Training tokens (Chinchilla tokens for its size)",
            f'=IF(budget_result="{OK}",' + _chinchilla_tokens("EXP(within_x)", fit) + f',"{NOT_USABLE}")',
            "xl_formula", "big", "budget_chinchilla_tokens"),
        Row("Loss", f'=IF(budget_result="{OK}",'
            + _power_law_loss("out_budget_chinchilla_params", "budget_chinchilla_tokens", fit) + f',"{NOT_USABLE}")',
            "xl_output", "loss", "out_budget_chinchilla_loss"),
        None,
        Row("Chinchilla optimum if nothing were served", "value", "xl_header"),
        Row("Parameters", f"={g}*(in_budget_flops/6)^({fit['beta']}/({fit['alpha']}+{fit['beta']}))",
            "xl_formula", "big", "budget_train_only_params"),
        Row("Training tokens", "=in_budget_flops/(6*budget_train_only_params)", "xl_formula", "big",
            "budget_train_only_tokens"),
        Row("Loss", "=" + _power_law_loss("budget_train_only_params", "budget_train_only_tokens", fit),
            "xl_formula", "loss"),
        None,
        Row("Curve range", "value", "xl_header"),
        Row("Largest model on the curve",
            "=IF(inference_tokens>0,MIN(30*budget_train_only_params,0.9*in_budget_flops/(2*inference_tokens)),"
            "30*budget_train_only_params)", "xl_formula", "big", "curve_max_params",
            "30 x the training-only optimum, or 90% of the size whose serving alone spends the budget"),
        Row("Smallest model on the curve", "=curve_max_params/1000", "xl_formula", "big", "curve_min_params"),
    ]
    _form(workbook, sheet, 4, rows, note_column=3)
    header_row = 4 + len(rows) + 1
    columns = [
        Column("n", "Parameters", "big", f"curve_min_params*(curve_max_params/curve_min_params)^({{i}}/{CURVE_ROWS - 1})"),
        Column("loss_train", "Loss, nothing served", "loss",
               _power_law_loss("{n}", "in_budget_flops/(6*{n})", fit)),
        Column("loss_served", "Loss, serving the demand", "loss",
               _power_law_loss("{n}", "(in_budget_flops-2*{n}*inference_tokens)/(6*{n})", fit)),
        Column("d_served", "Training tokens, serving the demand", "big",
               "(in_budget_flops-2*{n}*inference_tokens)/(6*{n})"),
    ]
    _table(sheet, header_row, columns, CURVE_ROWS)
    first, last = header_row + 1, header_row + CURVE_ROWS
    chart = style.scatter_chart(
        sheet, "Loss against model size at a fixed total budget", Reference(sheet, min_col=1, min_row=first, max_row=last),
        [Reference(sheet, min_col=2, min_row=header_row, max_row=last),
         Reference(sheet, min_col=3, min_row=header_row, max_row=last)],
        x_title="Parameters", y_title="Loss", log_x=True)
    sheet.add_chart(chart, "F4")
    style.set_widths(sheet, {"A": 48, "B": 20, "C": 22, "D": 22})
    style.protect(sheet)


def _breakeven_sheet(workbook) -> None:
    sheet = workbook.create_sheet(BREAKEVEN)
    _title(sheet, "Break-even: the Chinchilla model against a smaller over-trained model of equal loss",
           "Loss, fit, hardware and tokens per request from the Sizing sheet. The smaller model costs more to "
           "train and less to serve; after the break-even demand it is cheaper over its life.")
    fit = FIT_IN_USE
    ok, big = "breakeven_ok", "big"

    def guarded(formula: str) -> str:
        return f'=IF({ok},{formula},"{NOT_USABLE}")'

    rows = [
        Row("Inputs", "value", "xl_header"),
        Row("Smaller model, as a fraction of the Chinchilla model's params", DEFAULT_INPUTS["in_breakeven_fraction"],
            "xl_input", "percent", "in_breakeven_fraction", "between the smallest fraction below and 100%"),
        Row("Requests per month", DEFAULT_INPUTS["in_requests_per_month"], "xl_input", "big",
            "in_requests_per_month", f"0: the months below show {NOT_USABLE}"),
        Row("Check", "=" + checks.status_formula(CHECKS[BREAKEVEN_BLOCK]), "xl_formula", "text", BREAKEVEN_BLOCK),
        Row("Smallest fraction that can reach the loss",
            f"=({fit['A']}/(in_loss-{fit['E']}))^(1/{fit['alpha']})/chin_params", "xl_formula", "percent",
            "breakeven_min_fraction", "with infinite data; depends only on the fit"),
        Row("Inputs usable?", "=AND(ISNUMBER(in_breakeven_fraction),in_breakeven_fraction>breakeven_min_fraction,"
            "in_breakeven_fraction<1,in_input_tokens+in_output_tokens>0)",
            "xl_formula", None, ok, f"FALSE: change the fraction (or the tokens per request are 0); the results "
            f"below show {NOT_USABLE}"),
        None,
        Row("Models", "Chinchilla", "xl_header", extra=("Smaller",)),
        Row("Parameters", "=chin_params", "xl_formula", big, "breakeven_big_params",
            extra=((guarded("in_breakeven_fraction*chin_params"), "xl_formula", big),)),
        Row("Training tokens", "=chin_tokens", "xl_formula", big, "breakeven_big_tokens",
            extra=((guarded(f"({fit['B']}/(in_loss-{fit['E']}-{fit['A']}/(in_breakeven_fraction*chin_params)"
                            f"^{fit['alpha']}))^(1/{fit['beta']})"), "xl_formula", big),)),
        Row("Training FLOPs", "=6*chin_params*chin_tokens", "xl_formula", big),
        None,
        Row("Break-even", "value", "xl_header"),
        Row("Extra training FLOPs of the smaller model",
            guarded("6*breakeven_small_params*breakeven_small_tokens-6*chin_params*chin_tokens"), "xl_output", big,
            "out_breakeven_extra_flops"),
        Row("Inference FLOPs saved per token", guarded("2*(chin_params-breakeven_small_params)"), "xl_formula", big,
            "breakeven_flops_per_token"),
        Row("Break-even inference tokens (FLOPs)", guarded("out_breakeven_extra_flops/breakeven_flops_per_token"),
            "xl_output", big, "out_breakeven_tokens"),
        Row("Break-even requests (FLOPs)", guarded("out_breakeven_tokens/(in_input_tokens+in_output_tokens)"),
            "xl_formula", big),
        Row("Extra training $", guarded("k_train*out_breakeven_extra_flops"), "xl_formula", "usd",
            "breakeven_extra_usd"),
        Row("Inference $ saved per request",
            guarded("2*(chin_params-breakeven_small_params)*(in_input_tokens*k_prefill+in_output_tokens*k_decode)"),
            "xl_formula", "usd_precise", "breakeven_usd_per_request"),
        Row("Break-even requests ($)", guarded("breakeven_extra_usd/breakeven_usd_per_request"), "xl_output", big,
            "out_breakeven_requests"),
        Row("Break-even months at the request rate ($)",
            guarded(f'IF(in_requests_per_month>0,out_breakeven_requests/in_requests_per_month,"{NOT_USABLE}")'),
            "xl_output", "decimal", "out_breakeven_months"),
    ]
    where = _form(workbook, sheet, 4, rows, note_column=4)
    params_row = int(where["breakeven_big_params"][1:])
    style.define(workbook, "breakeven_small_params", BREAKEVEN, f"C{params_row}")
    style.define(workbook, "breakeven_small_tokens", BREAKEVEN, f"C{params_row + 1}")
    header_row = 4 + len(rows) + 1
    per_request = "2*{n}*(in_input_tokens*k_prefill+in_output_tokens*k_decode)"
    columns = [
        Column("requests", "Lifetime requests", "big",
               f'IF({ok},2*out_breakeven_requests*{{i}}/{BREAKEVEN_ROWS - 1},"")'),
        Column("big", "Chinchilla model: training + serving $", "usd",
               f'IF({ok},k_train*6*chin_params*chin_tokens+{{requests}}*'
               + per_request.format(n="chin_params") + ',"")'),
        Column("small", "Smaller model: training + serving $", "usd",
               f'IF({ok},k_train*6*breakeven_small_params*breakeven_small_tokens+{{requests}}*'
               + per_request.format(n="breakeven_small_params") + ',"")'),
    ]
    _table(sheet, header_row, columns, BREAKEVEN_ROWS)
    last = header_row + BREAKEVEN_ROWS
    chart = style.scatter_chart(
        sheet, "Lifetime $ against demand: the lines cross at the break-even",
        Reference(sheet, min_col=1, min_row=header_row + 1, max_row=last),
        [Reference(sheet, min_col=2, min_row=header_row, max_row=last),
         Reference(sheet, min_col=3, min_row=header_row, max_row=last)],
        x_title="Lifetime requests", y_title="$")
    sheet.add_chart(chart, f"E{header_row}")
    style.set_widths(sheet, {"A": 56, "B": 20, "C": 20, "D": 50})
    style.protect(sheet)


def _validation_sheet(workbook) -> None:
    sheet = workbook.create_sheet(VALIDATION)
    _title(sheet, "Validation: Sardana et al. 2024, Table 1, recomputed live with the default fit (chinchilla)",
           f"Printed figures as in REFERENCE.md (the paper prints 6.33M for 633M and losses to 2 decimals). "
           f"OK when every live value is within {TABLE_1_TOLERANCE:.2%} of the printed one.")
    fit = FIT_DEFAULT
    _header(sheet, 4, ["Default fit", *FIT_FIELDS])
    style.apply(sheet.cell(row=5, column=1, value=laws.DEFAULT_FIT), "xl_label")
    for j, field in enumerate(FIT_FIELDS, start=2):
        cell = style.apply(sheet.cell(row=5, column=j), "xl_formula", "0.0000000")
        cell.value = f'=INDEX(fits_{field},MATCH("{laws.DEFAULT_FIT}",fit_names,0))'
        style.define(workbook, fit[field], VALIDATION, cell.coordinate)
    printed = ("loss", "d", "flops", "n_opt", "d_opt", "flops_opt", "reduction")
    formats = ("loss", "big", "big", "big", "big", "big", "percent")
    headers = ("loss", "Chinchilla D", "Chinchilla FLOPs", "N*", "D*", "FLOPs*", "reduction")
    last_x = f"{{x{NEWTON_STEPS}}}"
    live = {
        "loss": _power_law_loss("{n}", "{d_live}", fit),
        "d": _chinchilla_tokens("{n}", fit),
        "flops": "6*{n}*{d_live}+2*{n}*{tokens}",
        "n_opt": _params_on_curve("{loss_live}", last_x, fit),
        "d_opt": f"EXP({last_x})",
        "flops_opt": "6*{n_opt_live}*{d_opt_live}+2*{n_opt_live}*{tokens}",
        "reduction": "1-{flops_opt_live}/{flops_live}",
    }
    p = _newton_p(fit)
    log_r = _newton_log_r("{loss_live}", fit)
    columns = [Column("tokens", "Inference tokens", "big", None), Column("n", "Chinchilla N", "big", None)]
    columns += [Column(f"{key}_printed", f"{h} (printed)", fmt, None) for key, h, fmt in zip(printed, headers, formats)]
    columns += [Column(f"{key}_live", f"{h} (live)", fmt, live[key]) for key, h, fmt in zip(printed, headers, formats)]
    columns.append(Column("worst", "Largest relative difference", "0.000%", "MAX(" + ",".join(
        f"ABS({{{k}_live}}/{{{k}_printed}}-1)" for k in printed) + ")"))
    columns.append(Column("ok", "Within tolerance", "text", f'IF({{worst}}<={TABLE_1_TOLERANCE},"OK","DIFFERS")'))
    columns.append(Column("q", "Q", "0.000E+00", _newton_q("{tokens}/3", fit)))
    columns += _newton_columns("x", "Newton", _newton_start("{q}", p, log_r, fit["beta"]),
                               _newton_step("{x}", "{q}", p, log_r, fit["beta"]))
    values = {"tokens": [row[0] for row in TABLE_1], "n": [row[1] for row in TABLE_1]}
    values |= {f"{key}_printed": [row[2 + i] for row in TABLE_1] for i, key in enumerate(printed)}
    header_row = 7
    letters = _table(sheet, header_row, columns, len(TABLE_1), values=values)
    first, last = header_row + 1, header_row + len(TABLE_1)
    style.define(workbook, "validation_status", VALIDATION, f"B{last + 2}")
    style.apply(sheet.cell(row=last + 2, column=1, value="All rows within tolerance"), "xl_label")
    ok = letters["ok"]
    style.apply(sheet.cell(row=last + 2, column=2), "xl_output", "text").value = (
        f'=IF(SUMPRODUCT(--({ok}{first}:{ok}{last}="OK"))={len(TABLE_1)},"OK","DIFFERS")')
    style.set_widths(sheet, {get_column_letter(j): 15 for j in range(1, len(columns) + 1)})
    style.protect(sheet)


README = (
    "What it does: for a target model quality (loss) and an expected lifetime demand (requests x tokens), it "
    "compares three models of equal loss side by side on the Sizing sheet: the Chinchilla-style model (least "
    "training compute), the compute-optimal model (fewest training plus inference FLOPs, Sardana et al. 2024 "
    "Eq. 3/12) and the cost-optimal model (lowest training plus inference dollars, Eq. 6).",
    "How to use it: change the yellow cells only (all other cells are locked; the sheets are protected without a "
    "password). Pick the scaling-law fit from the drop-down (or 'custom' and type E, A, B, alpha, beta), type the "
    "target loss (the helper row gives the loss of a Chinchilla-optimal model of a size you type), the lifetime "
    "requests and tokens per request, and the hardware: the accelerator drop-downs pick rows of the Hardware prices "
    "sheet, whose $/hour and peak TFLOP/s are used wherever the override cell beside them is empty (the 'value "
    "used' column shows what is used). The overrides hold the paper's Table 2 figures by default; clear them to "
    "use the price sheet's values. Each input block has a Check row, and 'All inputs' at the top of the Sizing "
    "sheet names the first unusable input; until it reads OK the results show n/a.",
    "Sheets: Sizing (inputs, results), Demand sweep (ratios to Chinchilla from 1e8 to 1e14 inference tokens, the "
    "paper's Figures 1 and 2), Fixed budget (lowest loss for a total FLOP budget that must also pay for serving), "
    "Break-even (when a smaller over-trained model pays back its extra training), Validation (the paper's Table 1 "
    "recomputed live), Solver (the Newton steps), Fits (scaling-law constants), Hardware prices (editable; add "
    "your own accelerators in the empty rows).",
    "How it solves: the inference-aware optima have no closed form; each is found with "
    f"{NEWTON_STEPS} Newton steps in x = ln(training tokens) from a starting point on the safe side of the "
    "solution, so the iteration climbs to it monotonically and reaches full double precision in at most 7 steps "
    "(the Solver sheet shows every step). The results equal xlcalc's Python solver to 1e-9 relative; "
    "`xlcalc check` verifies that for any copy of this workbook.",
    "Sources: Sardana, Portes, Doubov, Frankle 2024, 'Beyond Chinchilla-Optimal: Accounting for Inference in "
    "Language Model Scaling Laws' (arXiv 2401.00448); Hoffmann et al. 2022 (arXiv 2203.15556); Besiroglu et al. "
    "2024 (arXiv 2404.10102); Muennighoff et al. 2023 (arXiv 2305.16264). Default inputs are the paper's Table 2 "
    "assumptions: training A100-80GB at $1.50/h, 312 TFLOP/s BF16, MFU 50%; inference A100-40GB at $1.10/h, "
    "624 TOP/s INT8, MFU 50% prefill and 1% decode; 70 input and 215 output tokens per request; a 30B-quality "
    "model. Hardware prices: xlcalc's catalog, with provider, date and source on each row.",
    "Regenerate: `xlcalc build` writes this template afresh (workbooks/lifetime_sizing.xlsx); `xlcalc refresh "
    "BOOK.xlsx` rebuilds your copy from today's template while keeping your yellow inputs and the rows you added "
    "to the price sheet; `xlcalc check BOOK.xlsx` recalculates it in LibreOffice and reports any result that no "
    "longer agrees with the Python solver. The workbook has no macros and needs no add-in: Excel 2010 or later, "
    "LibreOffice 7.4 or later, or Google Sheets.",
)


# ----------------------------------------------------------------------------------------------
# Public API


def build() -> Workbook:
    """The lifetime sizing template with the default inputs (the paper's Table 2 assumptions)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    style.register_styles(workbook)
    _sizing_sheet(workbook)
    _sweep_sheet(workbook)
    _budget_sheet(workbook)
    _breakeven_sheet(workbook)
    _validation_sheet(workbook)
    _solver_sheet(workbook)
    _fits_sheet(workbook)
    price_sheet.add_price_sheet(workbook)
    _guard(workbook, (SIZING, SOLVER, SWEEP, BUDGET, BREAKEVEN),
           {STATUS, *CHECKS, *(f"{prefix}_{key}" for key in HARDWARE_VALUES for prefix in ("use", "price"))})
    checks.add_validations(workbook, (*(c for block in CHECKS.values() for c in block), *LOCAL_CHECKS))
    style.readme_sheet(workbook, TITLE, list(README), index=0)
    workbook.active = 1
    return workbook


def _fit_from_inputs(inputs: dict) -> laws.Fit:
    name = str(inputs["in_fit"]).strip()
    if name.lower() == CUSTOM_FIT:
        return laws.get_fit([float(inputs[f"in_custom_{k}"]) for k in FIT_FIELDS])
    return laws.get_fit(name)


def expected_outputs(inputs: dict, prices=None) -> dict:
    """The out_ values xlcalc's Python solver gives for a workbook's in_ values ({name: value} as read).

    ``prices`` are the rows of the workbook's price sheet ({field key: value}, see :func:`.price_sheet.read_rows`;
    default: the catalog's): a hardware cell left empty uses the price sheet's value for the chosen accelerator,
    as the sheet does. Raises InvalidInputError with the sheet's own status text when an input is unusable (the
    sheet then shows that text in Sizing!B3 and NOT_USABLE in its out_ cells). Break-even outputs are
    NOT_USABLE when the smaller model's fraction is unusable (months also at 0 requests per month), budget
    outputs when the budget cannot pay for the demand.

    Examples
    --------
    >>> out = expected_outputs(DEFAULT_INPUTS)  # the paper's Table 2, 30B-quality row
    >>> f"{out['out_cost_opt_params']:.4g} {out['out_cost_opt_usd']:.4g} {out['out_chinchilla_usd']:.4g}"
    '8.378e+09 4.849e+06 1.19e+07'
    >>> expected_outputs({**DEFAULT_INPUTS, "in_requests": None})
    Traceback (most recent call last):
    ...
    xlcalc.errors.InvalidInputError: Requests over the model's life (in_requests) must be a number of 0 or more
    """
    missing = sorted(set(DEFAULT_INPUTS) - set(inputs))
    if missing:
        raise WorkbookError(f"the workbook lacks the inputs {', '.join(missing)}: it is not a lifetime sizing workbook")
    v = inputs
    table = price_sheet.price_table(price_sheet.catalog_rows() if prices is None else prices)
    problem = input_problem(v, table)
    if problem is not None:
        raise InvalidInputError(problem)
    fit = _fit_from_inputs(v)
    loss = float(v["in_loss"])
    requests, n_in, n_out = (float(v[k]) for k in ("in_requests", "in_input_tokens", "in_output_tokens"))
    hardware = {k: float(x) for k, x in hardware_in_use(v, table).items()}
    hardware |= {k: float(v[f"in_{k}"]) for k in ("mfu_train", "mfu_prefill", "mfu_decode")}
    inference_tokens = requests * (n_in + n_out)
    compute = lifetime.compute_optimal(loss, inference_tokens, fit=fit)
    cost = lifetime.cost_optimal_per_request(loss, requests, n_in, n_out, fit=fit, **hardware)
    k_train, k_prefill, k_decode = _usd_per_flop(hardware)
    usd_per_param = 2.0 * (requests * n_in * k_prefill + requests * n_out * k_decode)
    out = {}
    models = (("out_chinchilla", compute.chinchilla), ("out_compute_opt", compute), ("out_cost_opt", cost))
    for prefix, model in models:
        n, d = model.params, model.tokens
        out |= {f"{prefix}_params": n, f"{prefix}_tokens": d, f"{prefix}_train_flops": 6.0 * n * d,
                f"{prefix}_inference_flops": 2.0 * n * inference_tokens,
                f"{prefix}_flops": 6.0 * n * d + 2.0 * n * inference_tokens,
                f"{prefix}_usd": 6.0 * k_train * n * d + n * usd_per_param}
    # The solver's own totals (same sums, same order) where it reports them.
    out |= {"out_compute_opt_flops": compute.flops, "out_chinchilla_flops": compute.chinchilla.flops,
            "out_cost_opt_usd": cost.usd, "out_chinchilla_usd": cost.chinchilla.usd}
    out |= _budget(float(v["in_budget_flops"]), inference_tokens, fit)
    out |= _breakeven(v, fit, loss, compute.chinchilla, n_in, n_out, (k_train, k_prefill, k_decode))
    return out


def _budget(total_flops: float, inference_tokens: float, fit) -> dict:
    """The Fixed budget outputs; NOT_USABLE when the optimum has under one parameter or token (as the sheet)."""
    names = ("out_budget_params", "out_budget_tokens", "out_budget_loss", "out_budget_chinchilla_params",
             "out_budget_chinchilla_loss")
    try:
        budget = lifetime.budget_optimal(total_flops, inference_tokens, fit=fit)
    except InvalidInputError:  # "cannot be met": the optimum would have under one parameter or training token
        return dict.fromkeys(names, NOT_USABLE)
    return dict(zip(names, (budget.params, budget.tokens, budget.loss, budget.chinchilla.params,
                            budget.chinchilla.loss)))


def _usd_per_flop(hardware: dict) -> tuple[float, float, float]:
    """$ per FLOP of training, prefill and decode."""
    per_flop = lifetime._usd_per_flop
    return (per_flop(hardware["train_usd_per_hour"], hardware["train_peak_tflops"], hardware["mfu_train"]),
            per_flop(hardware["infer_usd_per_hour"], hardware["infer_peak_tflops"], hardware["mfu_prefill"]),
            per_flop(hardware["infer_usd_per_hour"], hardware["infer_peak_tflops"], hardware["mfu_decode"]))


def _breakeven(v, fit, loss, chin, n_in, n_out, usd_per_flop) -> dict:
    """Break-even of the smaller over-trained model against the Chinchilla one (NOT_USABLE for a bad fraction)."""
    names = ("out_breakeven_extra_flops", "out_breakeven_tokens", "out_breakeven_requests", "out_breakeven_months")
    fraction = v["in_breakeven_fraction"]
    floor = (fit.A / (loss - fit.E)) ** (1.0 / fit.alpha)
    if not (checks.is_number(fraction) and floor / chin.params < fraction < 1.0 and n_in + n_out > 0):
        return dict.fromkeys(names, NOT_USABLE)
    k_train, k_prefill, k_decode = usd_per_flop
    small_params = fraction * chin.params
    small_tokens = laws.tokens_for_loss(loss, small_params, fit=fit)
    models = (small_params, small_tokens, chin.params, chin.tokens)
    extra = 6.0 * small_params * small_tokens - 6.0 * chin.params * chin.tokens
    # $ break-even: an inference FLOP costs (n_in k_prefill + n_out k_decode) / (n_in + n_out) / k_train training FLOPs
    cost_ratio = (n_in * k_prefill + n_out * k_decode) / ((n_in + n_out) * k_train)
    requests = economics.breakeven_requests(*models, n_in + n_out, inference_cost_ratio=cost_ratio)
    per_month = float(v["in_requests_per_month"])
    months = requests / per_month if per_month > 0 else NOT_USABLE
    return dict(zip(names, (extra, economics.breakeven_tokens(*models), requests, months)))
