"""Builders of the template workbooks (openpyxl): shared styles in :mod:`.style`, one module per workbook.

Each workbook module exposes:

- ``FILENAME``: the file name under workbooks/;
- ``build() -> openpyxl.Workbook``: the template with its default inputs;
- ``expected_outputs(inputs: dict, prices=None) -> dict``: the out_ values the Python core gives for the in_
  values (and the price-sheet rows) of a workbook, used by ``xlcalc check`` and the tests to compare a
  recalculated workbook with the solver.

:func:`xlcalc.workbook_files.available_templates` imports them.
"""

#: The template modules, in build order.
TEMPLATE_MODULES = ("lifetime_sizing", "deployment_cost_model")
