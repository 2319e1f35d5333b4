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

# One module per family of functions; xlwings is given this one, which brings them all in (in this order,
# which docs/functions.md follows): only the functions, nothing else of the modules.
from .excel import costs as _costs  # noqa: I001 - in the order of the functions
from .excel import hardware as _hardware
from .excel import laws as _laws
from .excel import objectives as _objectives
from .excel import optima as _optima
from .excel import ranges as _ranges
from .excel import serving as _serving
from .excel.laws import *  # noqa: F401,F403
from .excel.optima import *  # noqa: F401,F403
from .excel.costs import *  # noqa: F401,F403
from .excel.hardware import *  # noqa: F401,F403
from .excel.serving import *  # noqa: F401,F403 - serving at a latency target
from .excel.objectives import *  # noqa: F401,F403 - the lifetime optimum under usd, kWh, CO2
from .excel.ranges import *  # noqa: F401,F403 - ranges and the tornado

__all__ = [  # what ``from xlcalc.udfs import *`` brings into an xlwings Lite main.py: the functions only
    *_laws.__all__, *_optima.__all__, *_costs.__all__, *_hardware.__all__, *_serving.__all__,
    *_objectives.__all__, *_ranges.__all__,
]
