"""The Latency curve sheet: $ per million output tokens against the time-per-output-token target, per candidate.

Each row is one target; per candidate, the largest batch on 1, 2, 4 and 8 GPUs per replica within it (the
formulas of :mod:`.latency_target`, with the row's target in place of the candidate's) and the $ of the cheapest.
The time-to-first-token target, model shape, link and efficiencies are the candidate's on the Model sheet.
The chart reads chart-feed columns (#N/A where no batch meets the target: a gap, never $0).
"""

from __future__ import annotations

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter

from ....core.slo import GPU_COUNTS
from .. import charts, checks, formulas, layout, style
from .latency_target import HUGE, batch_bound, floored, step
from .spec import CANDIDATES, NEEDS, input_name, names

SHEET = "Latency curve"
HEADER_ROW = 4
#: The time-per-output-token targets of the rows, ms.
TARGETS_MS = (10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200)
FIRST_ROW = HEADER_ROW + 1
LAST_ROW = FIRST_ROW + len(TARGETS_MS) - 1
NONE_MEETS = "none meets it"


def columns() -> dict:
    """Column letter of: target, ("batch", k, g), ("usd", k), ("chart", k)."""
    found, index = {"target": "A"}, 2
    for k in CANDIDATES:
        for g in GPU_COUNTS:
            found[("batch", k, g)] = get_column_letter(index)
            index += 1
        found[("usd", k)] = get_column_letter(index)
        index += 1
    index += 1
    for k in CANDIDATES:
        found[("chart", k)] = get_column_letter(index)
        index += 1
    return found


COLUMNS = columns()


def _formulas(row: int) -> dict:
    c = COLUMNS
    target = f"$A{row}"
    found = {"target": TARGETS_MS[row - FIRST_ROW]}
    for k in CANDIDATES:
        n = names(k)
        spec = NEEDS["spec"].format_map(n)
        for g in GPU_COUNTS:
            bound = floored(batch_bound(g, f"{target}/1000", "{ttft_target_ms}")).format_map(n)
            found[("batch", k, g)] = "=" + checks.guarded(formulas.if_ok(spec, bound, checks.NOT_AVAILABLE),
                                                          checks.NOT_AVAILABLE)
        per_token = []
        for g in GPU_COUNTS:
            b = f"{c[('batch', k, g)]}{row}"
            per_token.append(f"IF({b}>=1,{g}*({step(g, b).format_map(n)})/{b},{HUGE})")
        cheapest = f"MIN({','.join(per_token)})"
        cost = f'IF({cheapest}>={HUGE},"{NONE_MEETS}",{n["usd_per_hour"]}*{cheapest}/3600*1E+6)'
        found[("usd", k)] = "=" + checks.guarded(formulas.if_ok(NEEDS["cost"].format_map(n), cost,
                                                                checks.NOT_AVAILABLE), checks.NOT_AVAILABLE)
        found[("chart", k)] = "=" + formulas.chart_value(f"{c[('usd', k)]}{row}")
    return found


def _headers() -> dict:
    found = {"target": ("Target time per output token (ms)", "#,##0")}
    for k in CANDIDATES:
        for g in GPU_COUNTS:
            found[("batch", k, g)] = (f"=\"C{k}: batch on {g} GPU{'s' if g > 1 else ''}\"", "count")
        found[("usd", k)] = (f'={input_name("name", k)}&": $ per 1M output tokens"', "usd_precise")
        found[("chart", k)] = (f"={input_name('name', k)}", "usd_precise")
    return found


def add(workbook):
    """Add the Latency curve sheet with its chart; returns it."""
    sheet = workbook.create_sheet(SHEET)
    layout.title(sheet, "$ per million output tokens against the latency target",
                 "Each row: the largest batch within that time per output token (and the candidate's first-token "
                 "target) on 1, 2, 4 and 8 GPUs per replica, and the $ of the cheapest. 'none meets it': no batch "
                 "does on up to 8 GPUs (see the Model sheet's 'Within the latency target' row).")
    rows = {row: _formulas(row) for row in range(FIRST_ROW, LAST_ROW + 1)}
    for key, (header, number_format) in _headers().items():
        letter = COLUMNS[key]
        style.apply(sheet[f"{letter}{HEADER_ROW}"], "xl_header").value = header
        for row, values in rows.items():
            style.apply(sheet[f"{letter}{row}"], "xl_formula", number_format).value = values[key]
        sheet.column_dimensions[letter].width = 14 if key == "target" or key[0] != "batch" else 10
    for k in CANDIDATES:
        letter = COLUMNS[("usd", k)]
        style.define(workbook, f"curve_c{k}_usd_per_mtok_output", SHEET, f"{letter}{FIRST_ROW}:{letter}{LAST_ROW}")
    style.define(workbook, "curve_tpot_target_ms", SHEET, f"A{FIRST_ROW}:A{LAST_ROW}")
    first, last = COLUMNS[("chart", CANDIDATES[0])], COLUMNS[("chart", CANDIDATES[-1])]
    style.apply(sheet[f"{first}{HEADER_ROW - 1}"], "xl_note").value = layout.CHART_FEED_NOTE
    style.define(workbook, layout.CHART_PREFIX + "latency_curve", SHEET, f"{first}{FIRST_ROW}:{last}{LAST_ROW}")
    sheet.row_dimensions[HEADER_ROW].height = 60
    sheet.freeze_panes = f"B{FIRST_ROW}"
    targets = Reference(sheet, min_col=1, min_row=FIRST_ROW, max_row=LAST_ROW)
    y_refs = [Reference(sheet, range_string=f"'{SHEET}'!{COLUMNS[('chart', k)]}{HEADER_ROW}:"
                        f"{COLUMNS[('chart', k)]}{LAST_ROW}") for k in CANDIDATES]
    chart = charts.scatter_chart("$ per million output tokens within a latency target", targets, y_refs,
                                 x_title="Target time per output token (ms)", y_title="$ per 1M output tokens",
                                 x_format="#,##0", y_format="$#,##0.00", log_y=True)
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0, TARGETS_MS[-1]
    chart.width, chart.height = 20, 10
    charts.plot_area_layout(chart)
    anchor = LAST_ROW + 2
    sheet.add_chart(chart, f"A{anchor}")
    layout.set_print(sheet, f"A1:{COLUMNS[('chart', CANDIDATES[-1])]}{anchor + 21}", landscape=True,
                     title_rows=None)
    style.protect(sheet)
    return sheet
