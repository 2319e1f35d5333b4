"""Builders of the template workbooks (openpyxl): shared styles in :mod:`.style`, one module per workbook.

Each workbook module exposes:

- ``FILENAME``: the file name under workbooks/;
- ``build() -> openpyxl.Workbook``: the template with its default inputs;
- ``expected_outputs(inputs: dict) -> dict``: the out_ values the Python core gives for the in_ values of a
  workbook (used by ``xlcalc check`` and the tests to compare a recalculated workbook with the solver).
"""

from __future__ import annotations

import importlib

#: The template modules, in build order.
TEMPLATE_MODULES = ("lifetime_sizing", "deployment_cost_model")


def templates() -> dict:
    """The template modules by name, imported on first use."""
    return {name: importlib.import_module(f"{__name__}.{name}") for name in TEMPLATE_MODULES}
