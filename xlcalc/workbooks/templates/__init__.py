"""Builders of the template workbooks (openpyxl), one home per kind of thing, shared by both workbooks:

- :mod:`.formulas`: formula text (numbers as Excel writes them, the scaling law, the in-sheet Newton steps);
- :mod:`.layout`: labelled forms, per-row tables, chart-feed blocks, the Read me sheet, print settings;
- :mod:`.style` (named styles, number formats), :mod:`.charts`, :mod:`.checks` (input rules), :mod:`.price_sheet`;
- one package per workbook, one module per sheet: a new sheet is a small module that describes it.

Each workbook package exposes:

- ``FILENAME``: the file name under workbooks/;
- ``build() -> openpyxl.Workbook``: the template with its default inputs;
- ``expected_outputs(inputs: dict, prices=None) -> dict``: the out_ values the Python core gives for the in_
  values (and the price-sheet rows) of a workbook, used by ``xlcalc check`` and the tests to compare a
  recalculated workbook with the solver.

:func:`xlcalc.workbooks.files.available_templates` imports them.
"""

#: The template modules, in build order.
TEMPLATE_MODULES = ("lifetime_sizing", "deployment_cost_model")
