"""The Projection sheet: 24 months of traffic growth per candidate (GPUs, monthly and cumulative cost) and charts.

The charts read chart-feed columns (#N/A where a value is missing: a gap, never a $0 line); the table beside
them shows n/a there.
"""

from __future__ import annotations

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter

from .. import charts, checks, formulas, layout, style
from .spec import (
    CANDIDATES,
    MONTHS,
    NEEDS,
    NOT_AVAILABLE,
    PROJECTION_SERIES,
    PROJECTION_SHEET,
    SLACK,
    input_name,
    names,
)

PROJECTION_HEADER_ROW = 4
PROJECTION_FIRST_ROW = 5
PROJECTION_LAST_ROW = PROJECTION_FIRST_ROW + MONTHS - 1

#: The Projection sheet's charts: series plotted, title, y-axis title.
PROJECTION_CHARTS = (("monthly_usd", "Serving cost per month", "$ per month"),
                     ("cumulative_usd", "Cumulative cost: training + serving so far", "$ so far"))


def _projection_columns() -> dict:
    """Column letter of every Projection column: month, requests, (series, k) for each candidate, crossover,
    then the chart-feed columns (("chart", series, k))."""
    columns = {"month": "A", "requests": "B"}
    index = 3
    for series, _, _ in PROJECTION_SERIES:
        for k in CANDIDATES:
            columns[(series, k)] = get_column_letter(index)
            index += 1
    columns["crossover"] = get_column_letter(index)
    index += 2
    for series, *_ in PROJECTION_CHARTS:
        for k in CANDIDATES:
            columns[("chart", series, k)] = get_column_letter(index)
            index += 1
    return columns


PROJECTION_COLUMNS = _projection_columns()


def requests_formula(month_1: str, month: str) -> str:
    """Requests in ``month`` (a cell) when month 1 has ``month_1``: they grow by the monthly growth."""
    return f"{month_1}*(1+in_monthly_growth)^({month}-1)"


def gpus_formula(n: dict, requests: str) -> str:
    """GPUs for a month of ``requests``: whole copies of the model carrying the peak hour at the target utilisation
    (``n``: a candidate's names, :func:`.spec.names`)."""
    replica = n["replica_gpus"]
    return (f"{replica}*ROUNDUP({requests}*{n['gpu_s_per_request']}"
            f"/(calc_hours_per_month*3600)*in_peak_factor/in_utilisation/{replica}*(1-{SLACK}),0)")


def monthly_usd_formula(n: dict, gpus: str) -> str:
    """A month's serving $: the provisioned GPUs all month at the candidate's $ per GPU-hour."""
    return f"{gpus}*{n['usd_per_hour']}*calc_hours_per_month"


def _formulas(row: int) -> dict:
    """The formulas of one month's row, by column key (n/a where not computable)."""
    c = PROJECTION_COLUMNS
    month = f"${c['month']}{row}"

    def when(condition: str | None, formula: str, fill: str = NOT_AVAILABLE) -> str:
        inner = formula if condition is None else f'IF({condition},{formula},"{fill}")'
        return "=" + checks.guarded(inner)

    found = {"month": row - PROJECTION_FIRST_ROW + 1,
             "requests": when(None, requests_formula("in_requests_per_month", month))}
    for k in CANDIDATES:
        n = names(k)
        found[("gpus", k)] = when(NEEDS["spec"].format_map(n), gpus_formula(n, f"{c['requests']}{row}"))
        found[("monthly_usd", k)] = when(NEEDS["cost"].format_map(n),
                                         monthly_usd_formula(n, f"{c[('gpus', k)]}{row}"))
        previous = f"{c[('cumulative_usd', k)]}{row - 1}" if row > PROJECTION_FIRST_ROW else n["train_usd"]
        found[("cumulative_usd", k)] = when(NEEDS["total"].format_map(n), f"{previous}+{c[('monthly_usd', k)]}{row}")
        for series, *_ in PROJECTION_CHARTS:
            found[("chart", series, k)] = "=" + formulas.chart_value(f"{c[(series, k)]}{row}")
    cumulative = ",".join(f"{c[('cumulative_usd', k)]}{row}" for k in CANDIDATES)
    a, b = f"CHOOSE(in_crossover_from,{cumulative})", f"CHOOSE(in_crossover_to,{cumulative})"
    found["crossover"] = when(f"AND(ISNUMBER({a}),ISNUMBER({b}))", f'IF({b}<{a},{month},"")', "")
    return found


def _layout() -> dict:
    """Header, number format and defined name (None: none) of every Projection column, by column key."""
    found = {"month": ("Month", "0", "proj_month"), "requests": ("Requests", "big", "proj_requests")}
    for series, label, number_format in PROJECTION_SERIES:
        for k in CANDIDATES:
            found[(series, k)] = (f'={input_name("name", k)}&": {label}"', number_format, f"proj_c{k}_{series}")
    found["crossover"] = ("Month when B's cumulative cost is below A's", "0", "proj_crossover")
    for series, *_ in PROJECTION_CHARTS:
        for k in CANDIDATES:
            found[("chart", series, k)] = (f"={input_name('name', k)}", "usd", None)
    return found


def add(workbook):
    """Add the Projection sheet; returns it."""
    sheet = workbook.create_sheet(PROJECTION_SHEET)
    columns = PROJECTION_COLUMNS
    layout.title(sheet, f"{MONTHS}-month projection: GPUs and cost per candidate",
                 "Requests grow by the Model sheet's monthly growth; cumulative cost starts with each candidate's "
                 "training cost. n/a: no price or spec for that accelerator (see the Model sheet's Status row).")
    formulas_by_row = {row: _formulas(row) for row in range(PROJECTION_FIRST_ROW, PROJECTION_LAST_ROW + 1)}
    for key, (header, number_format, name) in _layout().items():
        letter = columns[key]
        style.apply(sheet[f"{letter}{PROJECTION_HEADER_ROW}"], "xl_header").value = header
        for row, row_formulas in formulas_by_row.items():
            style.apply(sheet[f"{letter}{row}"], "xl_formula", number_format).value = row_formulas[key]
        if name:
            style.define(workbook, name, PROJECTION_SHEET,
                         f"{letter}{PROJECTION_FIRST_ROW}:{letter}{PROJECTION_LAST_ROW}")
        sheet.column_dimensions[letter].width = 7 if key == "month" else 15
    feed_first = columns[("chart", PROJECTION_CHARTS[0][0], CANDIDATES[0])]
    feed_last = columns[("chart", PROJECTION_CHARTS[-1][0], CANDIDATES[-1])]
    style.apply(sheet[f"{feed_first}{PROJECTION_HEADER_ROW - 1}"], "xl_note").value = layout.CHART_FEED_NOTE
    style.define(workbook, layout.CHART_PREFIX + "projection", PROJECTION_SHEET,
                 f"{feed_first}{PROJECTION_FIRST_ROW}:{feed_last}{PROJECTION_LAST_ROW}")
    sheet.row_dimensions[PROJECTION_HEADER_ROW].height = 60
    sheet.freeze_panes = f"B{PROJECTION_FIRST_ROW}"
    months = Reference(sheet, min_col=1, min_row=PROJECTION_FIRST_ROW, max_row=PROJECTION_LAST_ROW)
    anchor = PROJECTION_LAST_ROW + 2
    for position, (series, title, y_title) in enumerate(PROJECTION_CHARTS):
        # a scatter chart: LibreOffice draws #N/A as 0 in a line chart, but leaves a gap in a scatter chart
        y_refs = [Reference(sheet, range_string=f"'{PROJECTION_SHEET}'!{columns[('chart', series, k)]}"
                            f"{PROJECTION_HEADER_ROW}:{columns[('chart', series, k)]}{PROJECTION_LAST_ROW}")
                  for k in CANDIDATES]
        chart = charts.scatter_chart(title, months, y_refs, x_title="Month", y_title=y_title, x_format="month",
                                     y_format="usd")
        chart.x_axis.scaling.min, chart.x_axis.scaling.max, chart.x_axis.majorUnit = 0, MONTHS, 3
        chart.width, chart.height = 13.5, 9
        sheet.add_chart(chart, f"{'A' if position == 0 else 'H'}{anchor}")
    layout.set_print(sheet, f"A1:{columns['crossover']}{anchor + 19}", landscape=True,
                     title_rows=f"{PROJECTION_HEADER_ROW}:{PROJECTION_HEADER_ROW}")
    style.protect(sheet)
    return sheet

