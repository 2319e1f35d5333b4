"""The lifetime sizing workbook: which model to train for an expected demand, solved live in the spreadsheet.

One module per sheet: :mod:`.sizing` (inputs and the three models side by side), :mod:`.sweep` (the
optimal-to-Chinchilla ratios over a range of demand, the paper's Figures 1 and 2), :mod:`.budget` (loss
against model size for a total FLOP budget), :mod:`.breakeven` (the Chinchilla model against a smaller
over-trained one), :mod:`.reference_sheets` (the paper's Table 1 recomputed live; the scaling-law fits),
:mod:`.solver` (the Newton steps), :mod:`.objectives_solver` (the serving-aware, least-kWh and least-CO2
models by bisection per replica size; their inputs in :mod:`.serving_inputs`, their Sizing rows in
:mod:`.objective_results`, their Python twin in :mod:`.expected_objectives`) and the shared price sheet;
:mod:`.readme` is the Read me. Inputs, labels,
defaults and checks live in :mod:`.inputs`; the same outputs in Python in :mod:`.expected`. The formula text
comes from :mod:`..formulas` and uses only :data:`ALLOWED_FUNCTIONS`, referring to cells by workbook-level
defined names wherever a value is used away from its own row.
"""

from __future__ import annotations

from openpyxl import Workbook

from .. import checks, layout, price_sheet, style
from ..formulas import ALLOWED_FUNCTIONS
from . import breakeven, budget, objectives_solver, ranges, readme, reference_sheets, sizing, solver, sweep
from .expected import PRICED_OUTPUTS, expected_outputs, hardware_in_use, input_problem
from .inputs import *  # noqa: F401,F403  (the workbook's names, defaults and checks are its public surface)
from .serving_inputs import SERVING_HARDWARE
from .inputs import (
    BREAKEVEN,
    BUDGET,
    CHECKS,
    HARDWARE_OK,
    HARDWARE_VALUES,
    LOCAL_CHECKS,
    NOT_USABLE,
    SIZING,
    SOLVER,
    STATUS,
    SWEEP,
    TITLE,
    fit_from_inputs,
)

_fit_from_inputs = fit_from_inputs

__all__ = ["ALLOWED_FUNCTIONS", "build", "expected_outputs", "hardware_in_use", "input_problem"]


def build() -> Workbook:
    """The lifetime sizing template with the default inputs (hardware from the price sheet)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    style.register_styles(workbook)
    sizing.add(workbook)
    sweep.add(workbook)
    budget.add(workbook)
    breakeven.add(workbook)
    reference_sheets.add_validation(workbook)
    solver.add(workbook)
    reference_sheets.add_fits(workbook)
    prices = price_sheet.add_price_sheet(workbook)
    price_sheet.set_print_settings(prices)
    ranges.add(workbook)  # after the others: the sheets before it keep their file names (sheet1.xml ...)
    objectives_solver.add(workbook)
    unguarded = {STATUS, HARDWARE_OK, *CHECKS,
                 *(f"{prefix}_{key}" for key in HARDWARE_VALUES for prefix in ("use", "price", "paper")),
                 *(f"{prefix}_{key}" for key in SERVING_HARDWARE for prefix in ("use", "price")),
                 objectives_solver.SERVING_FOUND, objectives_solver.POWER_FOUND}
    layout.guard(workbook, (SIZING, SOLVER, SWEEP, BUDGET, BREAKEVEN, ranges.RANGES, objectives_solver.OBJECTIVES_SOLVER),
                 unguarded | {ranges.RANGES_OK}, NOT_USABLE)
    checks.add_validations(workbook, (*(c for block in CHECKS.values() for c in block), *LOCAL_CHECKS))
    layout.readme_sheet(workbook, TITLE, readme.SECTIONS, index=0)
    workbook.active = 1
    return workbook
