"""Excel functions (xlwings UDFs): put ``xlcalc.udfs`` in xlwings' "UDF Modules" and click "Import Functions".

Every function is a thin wrapper: :mod:`xlcalc.excel._convert` reads the cells, calls one core function for the
whole range and turns each cell's problem into Excel error text. A range gives a range back: a column of
scenarios gives a column of results (one row of outputs per scenario for the functions that return a
row), a 2-D range into a one-value function gives the same shape, and a column against a row gives a grid.
Empty optional arguments take the defaults shown in each argument's description.

Each docstring is a single line on purpose: xlwings sends the whole docstring to Excel as the function's
description (at most 255 characters), so the equations and references live in the core functions and in
docs/functions.md (``python -m xlcalc.excel.docs docs/functions.md``).

The same module works unchanged in xlwings Lite (``from xlcalc.udfs import *`` in ``main.py``). On Linux
(no Excel) xlwings' decorators leave the functions as they are, so each is an ordinary Python function too,
taking cells as Excel passes them (rows of values) and returning values or error text per cell.
"""

from __future__ import annotations

from .excel import _convert as xl  # noqa: F401 - the modules the functions call, as before the split
from .core import economics, fitting, laws, lifetime, serving
from .data import hardware  # noqa: F401
from .excel._arguments import (
    ARGUMENT_OPTIONS,
    CATEGORY,
    FIT,
    INFERENCE_TOKENS,
    LOSS,
    MEM_BW_TBS,
    PARAMS,
    PEAK_TFLOPS,
    TOKENS,
    USD_PER_HOUR,
    _arguments,
    _decode_arguments,
    _optional,
)

# One module per family of functions; xlwings is given this one, which brings them all in (in this order,
# which docs/functions.md follows).
from .excel import laws as _laws  # noqa: I001 - in the order of the functions
from .excel import optima as _optima
from .excel import costs as _costs
from .excel import hardware as _hardware
from .excel.laws import *  # noqa: F401,F403
from .excel.laws import _fit_constants, _resamples  # noqa: F401 - SCALING_FIT's cache, as before the split
from .excel.optima import *  # noqa: F401,F403
from .excel.costs import *  # noqa: F401,F403
from .excel.hardware import *  # noqa: F401,F403
from .excel.hardware import _gpu_field, _listed  # noqa: F401

__all__ = [  # what ``from xlcalc.udfs import *`` brings into an xlwings Lite main.py: the functions only
    *_laws.__all__, *_optima.__all__, *_costs.__all__, *_hardware.__all__,
]

from .excel import serving as _serving  # noqa: E402 - serving at a latency target (xlwings collects them from here)
from .excel.serving import *  # noqa: E402,F401,F403
__all__ += _serving.__all__
from .excel import objectives as _objectives  # noqa: E402 - lifetime optimum under usd, kWh, CO2 (issue 12)
from .excel.objectives import *  # noqa: E402,F401,F403
__all__ += _objectives.__all__
from .excel.ranges import *  # noqa: E402,F401,F403
__all__ += ["COST_OPT_RANGE", "SENSITIVITY"]
