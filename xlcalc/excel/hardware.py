"""Excel functions of the accelerator catalog: one field of a GPU, the whole catalog.

Import them through ``xlcalc.udfs`` (the module xlwings is given); conventions as described there.
"""

from __future__ import annotations

import numpy as np
import xlwings as xw

from . import _convert as xl
from ..data import hardware
from ._arguments import CATEGORY, _arguments

__all__ = ["GPU_SPEC", "GPU_LIST"]


@xw.func(category=CATEGORY)
@_arguments(gpu_name="Accelerator name as in GPU_LIST (e.g. H100 SXM); case and punctuation do not matter",
            field="What to return: " + ", ".join(hardware.ACCELERATOR_FIELDS))
@xl.cell_errors
def GPU_SPEC(gpu_name, field):
    """One field of an accelerator from the catalog (peak TFLOP/s, memory GB, bandwidth TB/s, TDP W, $ per GPU-hour...)."""
    return xl.per_cell(_gpu_field, {"gpu_name": gpu_name, "field": field})


def _gpu_field(gpu_name, field):
    key = field.strip().lower()
    if key not in hardware.ACCELERATOR_FIELDS:
        known = ", ".join(hardware.ACCELERATOR_FIELDS)
        raise xl.ExcelError(xl.NA, f"field = {field!r} is not known: use one of {known}")
    accelerator = hardware.gpu(gpu_name)
    value = getattr(accelerator, key)
    if isinstance(value, float) and np.isnan(value):
        raise xl.ExcelError(xl.NA, f"{accelerator.name} has no {key} in the catalog")
    return value


@xw.func(category=CATEGORY)
@_arguments()
@xl.cell_errors
def GPU_LIST():
    """The accelerator catalog with its header row: name, peak TFLOP/s (BF16, FP8, INT8), memory GB, TB/s, TDP W, $/GPU-hour, sources."""
    catalog = hardware.default_catalog()
    columns = ["name"] + [field for field in hardware.ACCELERATOR_FIELDS if field != "name"]
    rows = [columns]
    for name in hardware.gpu_names(catalog=catalog):
        accelerator = hardware.gpu(name, catalog=catalog)
        rows.append([_listed(getattr(accelerator, field)) for field in columns])
    return rows


def _listed(value):
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return "" if np.isnan(value) else float(value)
    return "" if value is None else str(value)
