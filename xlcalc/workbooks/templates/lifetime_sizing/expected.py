"""The lifetime sizing workbook's outputs computed by xlcalc's Python solver: the twin the sheets are checked against."""

from __future__ import annotations

import math

from ....core import economics, laws, lifetime
from ....errors import InvalidInputError, WorkbookError
from .. import checks, price_sheet
from .expected_objectives import objective_outputs
from .inputs import CHECKS, DEFAULT_INPUTS, HARDWARE_VALUES, NOT_USABLE, PAPER_HARDWARE, PAPER_SOURCE, fit_from_inputs

#: The out_ names that need prices (shown NOT_USABLE when a hardware figure in use is missing).
PRICED_OUTPUTS = ("out_chinchilla_usd", "out_compute_opt_usd", "out_cost_opt_params", "out_cost_opt_tokens",
                  "out_cost_opt_train_flops", "out_cost_opt_inference_flops", "out_cost_opt_flops", "out_cost_opt_usd",
                  "out_breakeven_requests", "out_breakeven_months")


def hardware_in_use(inputs: dict, table: dict) -> dict:
    """The hardware values the sheet uses: the override where typed, else the paper's figure or the price sheet's
    (NaN where the price sheet has none above 0)."""
    source = inputs.get("in_hardware_source")
    paper = isinstance(source, str) and source.casefold() == PAPER_SOURCE.casefold()
    used = {}
    for key, (hardware, fields, _) in HARDWARE_VALUES.items():
        override = inputs[f"in_{key}"]
        if not checks.is_empty(override):
            used[key] = override
        elif paper:
            used[key] = PAPER_HARDWARE[key]
        else:
            used[key] = price_sheet.price_value(table, inputs[hardware], fields)
    return used


def input_problem(inputs: dict, table: dict) -> str | None:
    """The first input problem, as the sheet's status cells word it; None when every input is usable."""
    return checks.first_problem(CHECKS.values(), inputs, {"prices": table, "inputs": inputs})


def expected_outputs(inputs: dict, prices=None) -> dict:
    """The out_ values xlcalc's Python solver gives for a workbook's in_ values ({name: value} as read).

    ``prices`` are the rows of the workbook's price sheet ({field key: value}, see :func:`.price_sheet.read_rows`;
    default: the catalog's): a hardware override left empty uses the price sheet's value for the chosen
    accelerator (or the paper's figure when 'Hardware figures from' says so), as the sheet does. Raises
    InvalidInputError with the sheet's own status text when an input is unusable (the sheet then shows that
    text in Sizing!B3 and NOT_USABLE in its out_ cells). Results that need a price are NOT_USABLE when a
    hardware figure in use is missing; break-even outputs when the smaller model's fraction is unusable
    (months also at 0 requests per month), budget outputs when the budget cannot pay for the demand.

    Examples
    --------
    >>> from xlcalc.workbooks.templates.lifetime_sizing.inputs import PAPER_INPUTS
    >>> out = expected_outputs(PAPER_INPUTS)  # the paper's Table 2, 30B-quality row
    >>> f"{out['out_cost_opt_params']:.4g} {out['out_cost_opt_usd']:.4g} {out['out_chinchilla_usd']:.4g}"
    '8.378e+09 4.849e+06 1.19e+07'
    >>> expected_outputs({**PAPER_INPUTS, "in_requests": None})
    Traceback (most recent call last):
    ...
    xlcalc.errors.InvalidInputError: Requests over the model's life must be a number of 0 or more
    """
    missing = sorted(set(DEFAULT_INPUTS) - set(inputs))
    if missing:
        raise WorkbookError(f"the workbook lacks the inputs {', '.join(missing)}: it is not a lifetime sizing workbook")
    v = inputs
    table = price_sheet.price_table(price_sheet.catalog_rows() if prices is None else prices)
    problem = input_problem(v, table)
    if problem is not None:
        raise InvalidInputError(problem)
    fit = fit_from_inputs(v)
    loss = float(v["in_loss"])
    requests, n_in, n_out = (float(v[k]) for k in ("in_requests", "in_input_tokens", "in_output_tokens"))
    hardware = {k: float(x) for k, x in hardware_in_use(v, table).items()}
    priced = all(math.isfinite(x) and x > 0 for x in hardware.values())
    hardware |= {k: float(v[f"in_{k}"]) for k in ("mfu_train", "mfu_prefill", "mfu_decode")}
    inference_tokens = requests * (n_in + n_out)
    compute = lifetime.compute_optimal(loss, inference_tokens, fit=fit)
    out = {}
    models = [("out_chinchilla", compute.chinchilla), ("out_compute_opt", compute)]
    if priced:
        cost = lifetime.cost_optimal_per_request(loss, requests, n_in, n_out, fit=fit, **hardware)
        models.append(("out_cost_opt", cost))
        k_train, k_prefill, k_decode = _usd_per_flop(hardware)
        usd_per_param = 2.0 * (requests * n_in * k_prefill + requests * n_out * k_decode)
    for prefix, model in models:
        n, d = model.params, model.tokens
        out |= {f"{prefix}_params": n, f"{prefix}_tokens": d, f"{prefix}_train_flops": 6.0 * n * d,
                f"{prefix}_inference_flops": 2.0 * n * inference_tokens,
                f"{prefix}_flops": 6.0 * n * d + 2.0 * n * inference_tokens}
        if priced:
            out[f"{prefix}_usd"] = 6.0 * k_train * n * d + n * usd_per_param
    # The solver's own totals (same sums, same order) where it reports them.
    out |= {"out_compute_opt_flops": compute.flops, "out_chinchilla_flops": compute.chinchilla.flops}
    if priced:
        out |= {"out_cost_opt_usd": cost.usd, "out_chinchilla_usd": cost.chinchilla.usd}
    out |= objective_outputs(v, hardware, table, fit, priced)
    out |= _budget(float(v["in_budget_flops"]), inference_tokens, fit)
    out |= _breakeven(v, fit, loss, compute.chinchilla, n_in, n_out, _usd_per_flop(hardware) if priced else None)
    return {name: out.get(name, NOT_USABLE) for name in (*out, *PRICED_OUTPUTS)}


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
    """Break-even of the smaller over-trained model against the Chinchilla one (NOT_USABLE for a bad fraction;
    the $ break-even also without prices, ``usd_per_flop`` None)."""
    names = ("out_breakeven_extra_flops", "out_breakeven_tokens", "out_breakeven_requests", "out_breakeven_months")
    fraction = v["in_breakeven_fraction"]
    floor = (fit.A / (loss - fit.E)) ** (1.0 / fit.alpha)
    if not (checks.is_number(fraction) and floor / chin.params < fraction < 1.0 and n_in + n_out > 0):
        return dict.fromkeys(names, NOT_USABLE)
    small_params = fraction * chin.params
    small_tokens = laws.tokens_for_loss(loss, small_params, fit=fit)
    models = (small_params, small_tokens, chin.params, chin.tokens)
    extra = 6.0 * small_params * small_tokens - 6.0 * chin.params * chin.tokens
    found = {"out_breakeven_extra_flops": extra, "out_breakeven_tokens": economics.breakeven_tokens(*models)}
    if usd_per_flop is None:
        return found | dict.fromkeys(names[2:], NOT_USABLE)
    k_train, k_prefill, k_decode = usd_per_flop
    # $ break-even: an inference FLOP costs (n_in k_prefill + n_out k_decode) / (n_in + n_out) / k_train training FLOPs
    cost_ratio = (n_in * k_prefill + n_out * k_decode) / ((n_in + n_out) * k_train)
    requests = economics.breakeven_requests(*models, n_in + n_out, inference_cost_ratio=cost_ratio)
    per_month = float(v["in_requests_per_month"])
    months = requests / per_month if per_month > 0 else NOT_USABLE
    return found | {"out_breakeven_requests": requests, "out_breakeven_months": months}
