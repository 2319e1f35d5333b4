"""The workbooks on paper: every sheet has print settings, and printed to PDF by LibreOffice (as a reader would)
Sizing and Model take at most 2 pages, each workbook stays within its page budget, every chart is on its sheet's
pages, the Read me paragraphs come out whole and in order, and no cell shows ###: with the defaults and after
inputs change (another accelerator, a price cleared)."""

import re
import shutil
import subprocess

import openpyxl
from openpyxl.chart import BarChart, ScatterChart
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_from_string, range_boundaries

from xlcalc.workbooks import recalc
from xlcalc.workbooks.templates import deployment_cost_model as dcm
from xlcalc.workbooks.templates import layout, style
from xlcalc.workbooks.templates import lifetime_sizing as ls
from xlcalc.workbooks.templates.deployment_cost_model import readme as dcm_readme
from xlcalc.workbooks.templates.lifetime_sizing import readme as ls_readme

from test_deployment_cost_model import write_scenario
from test_lifetime_sizing import set_inputs

#: Pages each workbook may take in all (Read me 2, and one or two per other sheet).
PAGE_BUDGET = {"lifetime_sizing": 18, "deployment_cost_model": 12}  # + Ranges, Objectives solver; + Latency curve, shapes, band (4)
#: Sheets a user prints to see inputs and results: at most this many pages each.
FORM_SHEETS = {"lifetime_sizing": ("Sizing", 2), "deployment_cost_model": ("Model", 2)}
#: Width of one character of column width, in cm (7 pixels at 96 dpi), to compare with a chart's width.
CM_PER_CHARACTER = 0.185
TEMPLATES = {"lifetime_sizing": ls, "deployment_cost_model": dcm}
READMES = {"lifetime_sizing": ls_readme.SECTIONS, "deployment_cost_model": dcm_readme.SECTIONS}

#: Inputs changed as a reader would: another accelerator, and one without a price.
CHANGED = {
    "lifetime_sizing": {"in_train_hardware": "H100 SXM5", "in_infer_hardware": "GB200 (per GPU)"},
    "deployment_cost_model": {"in_c3_gpu": "GB200 (per GPU)", "in_c2_gpu": "H200 SXM"},
}


def pages_of(pdf, mode: str = "-layout") -> list[str]:
    """The text of every page: laid out as printed, or (mode "-raw") in the order it was drawn."""
    text = subprocess.run(["pdftotext", mode, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def sheet_of(page: str, sheets) -> str | None:
    """The sheet a page belongs to: its header (first line) starts with the sheet's name."""
    first = next((line.strip() for line in page.splitlines() if line.strip()), "")
    return next((name for name in sorted(sheets, key=len, reverse=True) if first.startswith(name)), None)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """{(workbook, variant): {sheet: [page texts]}} for the defaults and for changed inputs."""
    if recalc.soffice_path() is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice and poppler (pdftotext) are needed to print the workbooks")
    source = tmp_path_factory.mktemp("books")
    paths, keys = [], []
    for name, module in TEMPLATES.items():
        default = source / "default" / module.FILENAME
        default.parent.mkdir(exist_ok=True)
        module.build().save(default)
        changed_dir = source / "changed"
        changed_dir.mkdir(exist_ok=True)
        if name == "lifetime_sizing":
            book = ls.build()
            set_inputs(book, CHANGED[name])
            changed = changed_dir / module.FILENAME
            book.save(changed)
        else:
            changed = write_scenario(changed_dir, "deployment_cost_model", CHANGED[name], [])
        paths += [default, changed]
        keys += [(name, "default"), (name, "changed")]
    out = tmp_path_factory.mktemp("pdf")
    pdfs = []
    for folder in ("default", "changed"):
        chosen = [p for p in paths if p.parent.name == folder]
        pdfs += recalc.export_pdf(chosen, out / folder)
    found = {}
    for key, path in zip(keys, paths):
        pdf = next(p for p in pdfs if p.parent.name == path.parent.name and p.stem == path.stem)
        sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
        by_sheet, drawn = {}, {}
        for page, raw in zip(pages_of(pdf), pages_of(pdf, "-raw")):
            by_sheet.setdefault(sheet_of(page, sheets), []).append(page)
            drawn.setdefault(sheet_of(page, sheets), []).append(raw)
        found[key] = (sheets, by_sheet, drawn)
    return found


VARIANTS = [(name, variant) for name in TEMPLATES for variant in ("default", "changed")]


class TestPrintSettings:
    @pytest.mark.parametrize("name", TEMPLATES)
    def test_every_sheet_has_a_print_area_fitted_one_page_wide(self, name):
        book = TEMPLATES[name].build()
        for sheet in book.worksheets:
            assert sheet.print_area, sheet.title
            assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1, sheet.title
            assert sheet.page_setup.orientation in ("portrait", "landscape"), sheet.title
            assert sheet.oddHeader.left.text == "&A", sheet.title

    @pytest.mark.parametrize("name", TEMPLATES)
    def test_tables_repeat_their_header_rows(self, name):
        book = TEMPLATES[name].build()
        for title in {"lifetime_sizing": ("Sizing", "Demand sweep", "Fixed budget", "Break-even", "Hardware prices"),
                      "deployment_cost_model": ("Model", "Projection", "Hardware prices")}[name]:
            assert book[title].print_title_rows, title

    @pytest.mark.parametrize("name", TEMPLATES)
    def test_every_chart_is_inside_the_print_area(self, name):
        book = TEMPLATES[name].build()
        for sheet in book.worksheets:
            min_col, min_row, max_col, max_row = range_boundaries(sheet.print_area.split("!")[-1].replace("$", ""))
            for chart in sheet._charts:
                column, row = coordinate_from_string(chart.anchor)
                first = column_index_from_string(column)
                assert min_col <= first <= max_col and min_row <= row <= max_row, sheet.title
                # and its width fits the columns to the right edge of the print area (a character is ~0.19 cm)
                chars = sum(sheet.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(first, max_col + 1))
                assert chart.width <= chars * CM_PER_CHARACTER, (sheet.title, chart.width, chars)


class TestPrintedPdf:
    @pytest.mark.parametrize("name,variant", VARIANTS)
    def test_every_sheet_prints_within_the_page_budget(self, printed, name, variant):
        sheets, by_sheet, _ = printed[(name, variant)]
        assert None not in by_sheet, "a page without its sheet's name in the header"
        assert set(by_sheet) == set(sheets)
        form, most = FORM_SHEETS[name]
        assert 1 <= len(by_sheet[form]) <= most
        assert sum(len(pages) for pages in by_sheet.values()) <= PAGE_BUDGET[name]

    @pytest.mark.parametrize("name,variant", VARIANTS)
    def test_no_cell_shows_hashes(self, printed, name, variant):
        _, by_sheet, _ = printed[(name, variant)]
        assert [sheet for sheet, pages in by_sheet.items() for page in pages if "###" in page] == []

    @pytest.mark.parametrize("name", TEMPLATES)
    def test_every_chart_is_on_its_sheets_pages(self, printed, name):
        _, _, drawn = printed[(name, "default")]
        book = TEMPLATES[name].build()
        for sheet in book.worksheets:
            text = squeeze(" ".join(drawn.get(sheet.title, [])))
            for chart in sheet._charts:
                title = "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))
                assert squeeze(title) in text, (sheet.title, title)

    @pytest.mark.parametrize("name", TEMPLATES)
    def test_read_me_paragraphs_come_out_whole_and_in_order(self, printed, name):
        _, by_sheet, _ = printed[(name, "default")]
        text = squeeze(" ".join(by_sheet["Read me"]))
        position = 0
        for paragraph in layout.readme_paragraphs(READMES[name]):
            found = text.find(squeeze(paragraph), position)
            assert found >= 0, paragraph[:60]
            position = found + len(squeeze(paragraph))

    def test_how_to_use_is_in_numbered_steps(self):
        for sections in READMES.values():
            steps = next(s for s in sections if s.heading == "How to use it")
            assert steps.steps and steps.lines()[0].startswith("1. ") and len(steps.lines()) >= 4


def colour(fill) -> str:
    """The RGB text of a solid fill."""
    return str(getattr(fill.srgbClr, "val", fill.srgbClr))


def squeeze(text: str) -> str:
    """Text without any white space: lines wrapped differently on paper still compare equal."""
    return re.sub(r"\s+", "", text)


class TestCharts:
    """Charts a reader can trust on screen and on grey paper."""

    @pytest.fixture(scope="class", params=TEMPLATES)
    @classmethod
    def charts(cls, request):
        book = TEMPLATES[request.param].build()
        return [(sheet.title, chart) for sheet in book.worksheets for chart in sheet._charts]

    def test_every_chart_is_a_scatter_chart_that_leaves_gaps(self, charts):
        """LibreOffice draws #N/A as 0 in a line chart; a scatter chart leaves a gap in Excel, LibreOffice, Gnumeric."""
        assert charts
        for title, chart in charts:
            if title == "Ranges" and isinstance(chart, BarChart):  # the tornado: bars, no line to break at a gap
                continue
            assert isinstance(chart, ScatterChart) and chart.display_blanks == "gap", title

    def test_tornado_bars_differ_in_grey(self, charts):
        for title, chart in charts:
            if isinstance(chart, BarChart):
                fills = [colour(s.graphicalProperties.solidFill) for s in chart.series]
                assert len(set(fills)) == len(fills) == 2 and all(f[0:2] == f[2:4] == f[4:6] for f in fills), title

    def test_series_differ_in_colour_and_in_dash_or_marker(self, charts):
        for title, chart in charts:
            if isinstance(chart, BarChart):
                continue  # bars: test_tornado_bars_differ_in_grey
            looks = [(colour(s.graphicalProperties.line.solidFill or s.marker.graphicalProperties.solidFill),
                      s.graphicalProperties.line.prstDash if not s.graphicalProperties.line.noFill else "none",
                      s.marker.symbol) for s in chart.series]
            assert len({look[0] for look in looks}) == len(looks), title
            assert len({look[1:] for look in looks}) == len(looks), title

    def test_titles_axis_titles_and_readable_axis_numbers(self, charts):
        for title, chart in charts:
            assert chart.title is not None and chart.x_axis.title is not None and chart.y_axis.title is not None
            for axis in (chart.x_axis, chart.y_axis):
                assert not axis.delete and "E+" not in axis.number_format and "0.000000" not in axis.number_format
            assert chart.legend.position == "b", title

    def test_log_axes_where_the_data_span_decades(self):
        book = ls.build()
        for chart in book["Demand sweep"]._charts:
            assert chart.x_axis.scaling.logBase == 10 and chart.y_axis.scaling.logBase == 10
        (budget,) = book["Fixed budget"]._charts
        assert budget.x_axis.scaling.logBase == 10 and budget.y_axis.scaling.logBase is None  # loss spans < 2x
        assert len(budget.series) == 5  # two curves and three marked optima


class TestNumbersAtAFinanceScale:
    """Parameters, tokens and requests read 70.0B, 1.40T; money as $ with separators; no TRUE/FALSE shown."""

    COUNTS = re.compile(r"_(params|tokens|requests)$")

    @pytest.mark.parametrize("name", TEMPLATES)
    def test_counts_use_the_scaled_format_and_money_dollars(self, name):
        book = TEMPLATES[name].build()
        checked = 0
        for defined in book.defined_names:
            if not defined.startswith("out_"):
                continue
            (sheet, ref), = book.defined_names[defined].destinations
            cell = book[sheet][ref.replace("$", "")]
            if self.COUNTS.search(defined) and "per" not in defined:
                assert cell.number_format == style.SCALED, defined
                checked += 1
            if defined.endswith("_usd"):
                assert cell.number_format.startswith("$#,##0"), defined
                checked += 1
        assert checked >= 8

    def test_the_scaled_format_shows_what_finance_reads(self):
        """Three sections: T from 1e12 with 2 decimals, B from 1e9 with 1, else whole numbers with separators."""
        assert style.SCALED == '[>=1E+12]#,##0.00,,,,"T";[>=1E+9]#,##0.0,,,"B";#,##0'

    @pytest.mark.parametrize("name,variant", VARIANTS)
    def test_no_true_or_false_on_paper(self, printed, name, variant):
        _, by_sheet, _ = printed[(name, variant)]
        shown = " ".join(page for pages in by_sheet.values() for page in pages)
        assert re.search(r"\b(TRUE|FALSE)\b", shown) is None
        assert re.search(r"\bok\b", shown) is None  # one spelling: OK

    def test_the_scaled_format_renders_as_intended(self, printed):
        _, by_sheet, _ = printed[("lifetime_sizing", "default")]
        sizing = " ".join(by_sheet["Sizing"])
        assert "30.0B" in sizing and "17.5B" in sizing and "5.00T" in sizing and "$11,844,941" in sizing


class TestMessagesOnPaper:
    def test_a_candidates_status_prints_whole(self, printed):
        """The review saw "no $ per GPU-hour for this ac": the Status row wraps in a row tall enough for it."""
        _, by_sheet, _ = printed[("deployment_cost_model", "changed")]
        assert squeeze(dcm.CANDIDATE_STATUS["no_price"]) in squeeze(" ".join(by_sheet["Model"]))

    def test_a_typed_override_is_named_above_the_results(self, printed):
        _, by_sheet, _ = printed[("lifetime_sizing", "default")]
        assert squeeze("Hardware: the price sheet's figures") in squeeze(" ".join(by_sheet["Sizing"]))
