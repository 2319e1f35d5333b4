"""Workbook 2, deployment_cost_model.xlsx: what serving up to three candidate models costs, month by month.

Sheets: "Read me" (:mod:`.readme`); "Model" (:mod:`.model`: traffic, training hardware, three model
candidates with their serving choices, the results per candidate, and the workings); "Projection"
(:mod:`.projection`: 24 months of traffic growth, GPUs, monthly and cumulative cost, charts); "Hardware
prices" (the shared price sheet). Every cell is described as data in :mod:`.spec`; every input cell has an
``in_`` name and every key output an ``out_`` name; the formulas use only defined names.

The serving model is the roofline of :mod:`xlcalc.core.serving`. For candidate k:

- one copy of the model needs replica = max(1, ceil((bytes_per_param N + batch context kv) / 1e9 / memory_gb))
  GPUs (weights plus the KV cache of a full batch);
- decode: step_s = max(2 N batch / (replica peak 1e12 mfu_decode), (bytes_per_param N + batch context kv) /
  (replica bw 1e12 bw_eff)); tokens/s per GPU = batch / step_s / replica;
- prefill tokens/s per GPU = peak 1e12 mfu_prefill / (2N); $ per 1M tokens = $/GPU-hour / (tokens/s 3600) 1e6;
- GPU-seconds per request = input_tokens / prefill + output_tokens / decode (both per GPU);
- GPUs in month m = replica ceil(requests_m gpu_s / (730 3600) peak_factor / utilisation / replica),
  with requests_m = requests (1 + growth)^(m-1); monthly $ = GPUs $/GPU-hour 730;
- training $ = 6 N D / (train_peak 1e12 mfu_train) / 3600 x train $/GPU-hour; cumulative $ = training $ plus
  the monthly $ so far;
- the cost band (:mod:`.band_spec`, :mod:`.band`): traffic, serving $ per GPU-hour and serving efficiencies
  (MFUs, bandwidth efficiency) scaled by low and high factors; the low-cost case (low traffic, low price, high
  efficiency), the base and the high-cost case each computed as above, month by month;
- candidate B overtakes candidate A (both chosen on the sheet) in the first month at whose end B's cumulative
  $ is below A's (out_crossover_month; the text "not within 24 months" when it never is).

:func:`expected_outputs` (:mod:`.expected`) computes the same outputs with :mod:`xlcalc.core.serving` and
:mod:`xlcalc.core.economics` (the workbook's formulas are checked against it in LibreOffice and Gnumeric by the
tests and by ``xlcalc check``).
"""

from __future__ import annotations

from openpyxl import Workbook

from .. import checks, layout, price_sheet, style
from . import band, band_spec, latency_curve, model, projection, readme, shapes_sheet
from . import spec as _spec
from .expected import expected_band, expected_outputs, input_problem
from .projection import PROJECTION_COLUMNS, PROJECTION_FIRST_ROW, PROJECTION_HEADER_ROW, PROJECTION_LAST_ROW
from .spec import *  # noqa: F401,F403  (the workbook's names, layout and rules are its public surface)
from .spec import TITLE, check_blocks

_check_blocks = check_blocks
#: Every input rule kind of the workbook: the Model sheet's and the cost band's factors.
RULES = _spec.RULES | band_spec.RULES

__all__ = ["build", "expected_band", "expected_outputs", "input_problem", "PROJECTION_COLUMNS", "PROJECTION_FIRST_ROW",
           "PROJECTION_HEADER_ROW", "PROJECTION_LAST_ROW"]


# the workbook's names: the Model sheet's (spec) and the cost band's (band_spec)
def input_names() -> list[str]:
    """Every in_ name of the workbook."""
    return _spec.input_names() + band_spec.input_names()


def output_names() -> list[str]:
    """Every out_ name of the workbook."""
    return _spec.output_names() + band_spec.output_names()


def default_inputs() -> dict:
    """The template's input values by in_ name."""
    return _spec.default_inputs() | band_spec.default_inputs()


def all_checks() -> list:
    """Every input check of the workbook: the Model sheet's blocks, then the cost band's Check row."""
    return [check for block in check_blocks().values() for check in block] + band_spec.band_checks()


def build() -> Workbook:
    """The deployment cost model with its default inputs (deterministic: same content on every call)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    style.register_styles(workbook)
    layout.readme_sheet(workbook, TITLE, readme.SECTIONS)
    sheet = model.add(workbook)
    projection.add(workbook)
    band.add_band_sheet(workbook, default_inputs())
    band.add_month_sheet(workbook)
    latency_curve.add(workbook)
    price_sheet.set_print_settings(price_sheet.add_price_sheet(workbook))
    shapes_sheet.add(workbook)
    checks.add_validations(workbook, all_checks())
    workbook.active = workbook.index(sheet)
    return workbook
