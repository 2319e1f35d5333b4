"""Formula text as Excel writes it: every formula of both templates parses with a second, independent parser (the
``formulas`` package's Excel grammar), and numbers are written as Excel serialises them (1E+9, never 1e9)."""

import re

import pytest

from xlcalc.workbooks.templates import deployment_cost_model, formulas as xl_formulas, lifetime_sizing

formulas = pytest.importorskip("formulas", reason="pip install formulas (the Excel-grammar parser used as a check)")

TEMPLATES = {"lifetime_sizing": lifetime_sizing, "deployment_cost_model": deployment_cost_model}

#: A number with a lower-case exponent outside string literals: Excel never writes one, strict parsers refuse it.
LOWER_EXPONENT = re.compile(r"(?<![A-Za-z_.])\d+(\.\d+)?e[+-]?\d+")


def cell_formulas(module) -> list[tuple[str, str, str]]:
    """(sheet, cell, formula) of every formula cell of a freshly built template."""
    book = module.build()
    return [(sheet.title, cell.coordinate, cell.value) for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.data_type == "f"]


def without_strings(formula: str) -> str:
    return re.sub(r'"[^"]*"', '""', formula)


@pytest.fixture(scope="module", params=TEMPLATES)
def template_formulas(request):
    return cell_formulas(TEMPLATES[request.param])


class TestFormulaText:
    def test_every_formula_parses_with_the_excel_grammar_of_the_formulas_package(self, template_formulas):
        parser = formulas.Parser()
        refused = []
        for sheet, cell, formula in template_formulas:
            try:
                parser.ast(formula)
            except Exception as error:  # noqa: BLE001  (any refusal is a finding; the message says which)
                refused.append((sheet, cell, formula[:80], str(error)[:80]))
        assert len(template_formulas) > 100 and refused == []

    def test_no_lower_case_exponent(self, template_formulas):
        found = [(sheet, cell) for sheet, cell, formula in template_formulas
                 if LOWER_EXPONENT.search(without_strings(formula))]
        assert found == []

    def test_the_parser_refuses_what_excel_would_not_write(self):
        """The check can fail: a lower-case exponent is refused by the second parser."""
        with pytest.raises(Exception):
            formulas.Parser().ast("=1e9*2")
        formulas.Parser().ast("=1E+9*2")

    @pytest.mark.parametrize("value,text", [(1e9, "1E+9"), (1e-12, "1E-12"), (730.0, "730"), (0.5, "0.5"),
                                            (2.5e-7, "2.5E-7"), (1e15, "1E+15"), (123456789.0, "123456789"),
                                            (-1e9, "-1E+9"), (1.754e10, "17540000000")])
    def test_numbers_are_written_as_excel_serialises_them(self, value, text):
        assert xl_formulas.number(value) == text
        assert float(text) == value
