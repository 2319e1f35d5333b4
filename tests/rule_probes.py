"""Probing the input checks of the template workbooks: a check's sheet formula (recalculated in LibreOffice),
its Python twin and its data validation must agree on every probe value. Shared by the workbook tests."""

import openpyxl
import pytest

from xlcalc.workbooks import recalc
from xlcalc.workbooks.templates import checks, price_sheet


#: Values typed into an input cell to compare its sheet check, its Python check and its data validation.
PROBES = (None, "x", -1.5, -1, -0.5, 0, 1e-6, 0.5, 1, 1.5, 2, 2.5, 3, 4, 1e15)


def probed(rules) -> dict:
    """The rules whose three forms can be compared on a lone cell: with a validation that is not a range list."""
    return {key: rule for key, rule in rules.items() if rule.validation is not None
            and (rule.validation.type != "list" or rule.validation.formula1.startswith('"'))}


def sheet_verdicts(rules: dict, folder) -> dict:
    """{rule key: [the rule's sheet test on each probe]}, recalculated in LibreOffice."""
    if recalc.soffice_path() is None:
        pytest.skip(f"LibreOffice is not installed: {recalc.INSTALL_HINT}")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row, value in enumerate(PROBES, start=1):
        price_sheet.put(sheet.cell(row=row, column=1), value)
        for column, rule in enumerate(rules.values(), start=2):
            sheet.cell(row=row, column=column, value="=" + rule.test.format(x=f"A{row}"))
    workbook.save(folder / "probes.xlsx")
    (done,) = recalc.recalculate([folder / "probes.xlsx"], folder / "out")
    values = openpyxl.load_workbook(done, data_only=True).active
    return {key: [values.cell(row=row, column=column).value for row in range(1, len(PROBES) + 1)]
            for column, key in enumerate(rules, start=2)}


def cell_validations(workbook, name: str) -> list:
    """(type, operator, formula1, formula2) of every data validation over a named input cell."""
    (title, ref), = workbook.defined_names[name].destinations
    return sorted((dv.type, dv.operator, dv.formula1, dv.formula2)
                  for dv in workbook[title].data_validations.dataValidation if ref.replace("$", "") in dv.sqref)


def expected_validations(input_checks) -> list:
    """The data validations the checks of one input cell ask for, as :func:`cell_validations` gives them."""
    return sorted({(v.type, v.operator, v.formula1, v.formula2) for v in checks.validations(input_checks).values()})


def disagreements(input_checks, rules: dict, verdicts: dict) -> list:
    """(name, probe, sheet, Python, validation) wherever a check's three forms disagree on a probe value."""
    keys = {id(rule): key for key, rule in rules.items()}
    found = []
    for check in input_checks:
        key = keys.get(id(check.rule))
        if key is None:
            continue
        for value, sheet in zip(PROBES, verdicts[key]):
            python, typed = check.rule.accepts(value, {}), check.rule.validation.allows(value)
            if not (sheet is python is typed):  # all three True or all three False
                found.append((check.name, value, sheet, python, typed))
    return found
