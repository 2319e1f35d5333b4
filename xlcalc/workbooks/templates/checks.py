"""Input checks shared by the workbook templates: per rule kind, the sheet test, the message, the Python test and
the data-validation rule, kept in one :class:`Rule` so the three cannot disagree.

A template lists its inputs as :class:`Check` rows grouped in blocks (one status cell per block). From that one
table come the sheet's status formulas (:func:`status_formula`, :func:`overall_status`), the Python twin that
names the first unusable input (:func:`first_problem`) and the data validation on the input cells
(:func:`add_validations`): a value the sheet refuses is refused where it is typed, and a value the sheet
accepts (0 requests per month, say) is never refused there.

Examples
--------
>>> RULES["non_negative"].accepts(0.0, {}), RULES["positive"].accepts(0.0, {})
(True, False)
>>> status_formula([Check("in_x", "X", RULES["positive"])])
'IF(IF(ISNUMBER(in_x),in_x>0,FALSE),"OK","X must be a number greater than 0")'
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Callable

from openpyxl.worksheet.datavalidation import DataValidation

#: The text every status cell shows when its inputs are usable.
OK = "OK"
#: Defined name of a workbook's overall input status: the first block's problem, or OK.
STATUS = "inputs_status"
#: What a result shows where it cannot be computed (an unusable input, a missing price): never $0.
NOT_AVAILABLE = "n/a"
#: What a price-sheet lookup shows for an accelerator the sheet does not list.
NOT_LISTED = "not listed"
#: The title of a refused value's message box.
REFUSED_TITLE = "Not a usable value"


def is_real(value) -> bool:
    """True for a real number, NaN and infinities included (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_number(value) -> bool:
    """True for a finite real number as a cell holds it (not a bool, not NaN or infinite)."""
    return is_real(value) and math.isfinite(value)


def is_empty(value) -> bool:
    """True for a cell left empty (None or the empty string)."""
    return value is None or value == ""


@dataclasses.dataclass(frozen=True)
class Validation:
    """A data-validation rule as openpyxl takes it (``type``, ``formula1``, ``operator``, ...) and its messages."""

    type: str
    formula1: str
    operator: str | None = None
    formula2: str | None = None
    allow_blank: bool = False
    error: str = ""
    error_title: str = REFUSED_TITLE
    prompt: str | None = None

    def allows(self, value) -> bool:
        """Whether the spreadsheet lets ``value`` be typed into a cell under this rule (an empty value: allow_blank).

        A list over a range (a defined name) depends on the workbook and raises ValueError.

        >>> RULES["fraction"].validation.allows(0.5), RULES["fraction"].validation.allows(0)
        (True, False)
        >>> Validation("list", '"bf16,fp8,int8"').allows("fp8")
        True
        """
        if is_empty(value):
            return self.allow_blank
        if self.type == "list":
            if not self.formula1.startswith('"'):
                raise ValueError(f"the list {self.formula1} is a range: what it allows depends on the workbook")
            return any(_same(value, item) for item in self.formula1.strip('"').split(","))
        if not is_number(value) or (self.type == "whole" and not float(value).is_integer()):
            return False
        low = float(self.formula1)
        return {"greaterThan": lambda: value > low, "greaterThanOrEqual": lambda: value >= low,
                "between": lambda: low <= value <= float(self.formula2)}[self.operator]()

    def add_to(self, sheet, cells) -> DataValidation:
        """One DataValidation of this rule on ``sheet`` over ``cells`` (coordinates); returns it."""
        validation = DataValidation(type=self.type, operator=self.operator, formula1=self.formula1,
                                    formula2=self.formula2, allow_blank=self.allow_blank, showErrorMessage=True,
                                    error=self.error, errorTitle=self.error_title)
        if self.prompt:
            validation.prompt = self.prompt
            validation.showInputMessage = True
        sheet.add_data_validation(validation)
        for cell in cells:
            validation.add(cell)
        return validation


def _same(value, item: str) -> bool:
    """A typed value against an item of a literal list: numbers by value, text ignoring case."""
    if is_number(value):
        try:
            return float(item) == value
        except ValueError:
            return False
    return isinstance(value, str) and value.casefold() == item.casefold()


@dataclasses.dataclass(frozen=True)
class Rule:
    """A kind of usable value: the sheet test (TRUE when usable, ``{x}`` for the cell), what is allowed (message
    text), the Python twin ``accepts(value, context)`` and the data validation of the input cell (None: none)."""

    test: str
    allowed: str
    accepts: Callable[[object, dict], bool]
    validation: Validation | None = None


def _decimal(operator: str, low: str, error: str, high: str | None = None, **more) -> Validation:
    return Validation("decimal", low, operator, high, error=error, **more)


#: The rule kinds both templates use (a template adds its own, e.g. a list of names, with :class:`Rule`).
RULES = {
    "positive": Rule("IF(ISNUMBER({x}),{x}>0,FALSE)", "must be a number greater than 0",
                     lambda v, _: is_number(v) and v > 0,
                     _decimal("greaterThan", "0", "Type a number greater than 0.")),
    "non_negative": Rule("IF(ISNUMBER({x}),{x}>=0,FALSE)", "must be a number of 0 or more",
                         lambda v, _: is_number(v) and v >= 0,
                         _decimal("greaterThanOrEqual", "0", "Type a number of 0 or more.")),
    # the validation's 1E-12 stands for "greater than 0": a decimal rule has no open interval
    "fraction": Rule("IF(ISNUMBER({x}),AND({x}>0,{x}<=1),FALSE)", "must be a fraction greater than 0 and at most 1",
                     lambda v, _: is_number(v) and 0 < v <= 1,
                     _decimal("between", "1E-12", "Type a fraction greater than 0 and at most 1 (for example 50%).",
                              "1")),
    "override": Rule("IF(ISBLANK({x}),TRUE,IF(ISNUMBER({x}),{x}>0,FALSE))",
                     "must be empty (to use the price sheet) or a number greater than 0",
                     lambda v, _: is_empty(v) or (is_number(v) and v > 0),
                     _decimal("greaterThan", "0", "Type a number greater than 0, or clear the cell to use the price "
                              "sheet's value.", allow_blank=True)),
    "growth": Rule("IF(ISNUMBER({x}),{x}>-1,FALSE)", "must be a number greater than -1 (-100%)",
                   lambda v, _: is_number(v) and v > -1,
                   _decimal("greaterThan", "-1", "Type a growth rate above -100%.")),
    "at_least_one": Rule("IF(ISNUMBER({x}),{x}>=1,FALSE)", "must be a number of 1 or more",
                         lambda v, _: is_number(v) and v >= 1,
                         _decimal("greaterThanOrEqual", "1", "Type a number of 1 or more.")),
    "whole": Rule("IF(ISNUMBER({x}),AND({x}>=1,{x}=INT({x})),FALSE)", "must be a whole number of 1 or more",
                  lambda v, _: is_number(v) and v >= 1 and float(v).is_integer(),
                  Validation("whole", "1", "greaterThanOrEqual", error="Type a whole number of 1 or more.")),
}


@dataclasses.dataclass(frozen=True)
class Skip:
    """When a check does not apply: a sheet condition (TRUE: skip) and its Python twin over the input values."""

    sheet: str
    python: Callable[[dict], bool]


@dataclasses.dataclass(frozen=True)
class Check:
    """One input test: the cell's defined name, its label (as the sheet shows it), its :class:`Rule`, when it is
    skipped, and the message shown when it fails (default: "<label> <what the rule allows>")."""

    name: str
    label: str
    rule: Rule
    skip: Skip | None = None
    text: str | None = None

    def message(self) -> str:
        """The status text when this check fails."""
        return self.text if self.text is not None else f"{self.label} {self.rule.allowed}"

    def sheet_test(self) -> str:
        """The sheet formula that is TRUE when the cell's value is usable (or the check is skipped)."""
        test = self.rule.test.format(x=self.name)
        return test if self.skip is None else f"OR({self.skip.sheet},{test})"

    def passes(self, values: dict, context: dict) -> bool:
        """The Python twin of :meth:`sheet_test` for the values by defined name."""
        if self.skip is not None and self.skip.python(values):
            return True
        return self.rule.accepts(values.get(self.name), context)


def status_formula(checks) -> str:
    """Nested IFs: the message of the first failing check, else OK (later tests are not evaluated)."""
    formula = f'"{OK}"'
    for check in reversed(list(checks)):
        formula = f'IF({check.sheet_test()},{formula},"{check.message()}")'
    return formula


def overall_status(blocks) -> str:
    """Nested IFs over the status cells named ``blocks``: the first one that is not OK, else OK."""
    formula = f'"{OK}"'
    for block in reversed(list(blocks)):
        formula = f'IF({block}="{OK}",{formula},{block})'
    return formula


def first_problem(blocks, values: dict, context: dict) -> str | None:
    """The message of the first failing check of ``blocks`` (lists of checks, in sheet order); None when all pass."""
    for checks in blocks:
        for check in checks:
            if not check.passes(values, context):
                return check.message()
    return None


def guarded(formula: str, fill: str = "") -> str:
    """``formula`` where the overall status is OK, else ``fill`` (text): one message instead of error cells."""
    return f'IF({STATUS}="{OK}",{formula},"{fill}")'


def validations(checks) -> dict:
    """{defined name: Validation} of the checked cells; a cell with two different validations is an error."""
    found = {}
    for check in checks:
        validation = check.rule.validation
        if validation is None:
            continue
        if found.setdefault(check.name, validation) != validation:
            raise ValueError(f"{check.name} has two data validations: {found[check.name]} and {validation}")
    return found


def add_validations(workbook, checks) -> None:
    """Data validation on every checked input cell, from the checks' rules: one per sheet and rule."""
    groups = {}
    for name, validation in validations(checks).items():
        for sheet, ref in workbook.defined_names[name].destinations:
            groups.setdefault((sheet, validation), []).append(ref.replace("$", ""))
    for (sheet, validation), cells in groups.items():
        validation.add_to(workbook[sheet], cells)
