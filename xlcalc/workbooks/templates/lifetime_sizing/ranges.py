"""The Ranges sheet: each key input swung low and high (the others at base), the cost optimum solved live for every
swing with Newton columns, and a tornado chart of lifetime $ and of optimal size (xlcalc.cost_sensitivity in Python).

The low and high of an input are typed as factors of its base (0.8 and 1.2: the base is the value in use on the
Sizing sheet, so they follow it); the loss swings by a factor of its reducible part, loss - E.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties

from .. import charts, formulas as f, layout, style
from ..layout import Column, Row, header_row
from ....core import laws
from .inputs import FIT_FIELDS, FIT_IN_USE, NEWTON_STEPS, needs_hardware

RANGES = "Ranges"
RANGES_OK = "ranges_ok"

#: The swung inputs, in xlcalc.cost_optimal's argument order (xlcalc.core.lifetime.COST_ARGUMENTS: equal swings rank in
#: this order, as Python's stable sort keeps them): key, label, base formula, default low and high factors.
SWUNG = (
    ("loss", "Target loss (factor of loss - E)", "in_loss", 0.8, 1.2),
    ("input_tokens", "Lifetime input tokens", "in_requests*in_input_tokens", 0.5, 2.0),
    ("output_tokens", "Lifetime output tokens", "in_requests*in_output_tokens", 0.5, 2.0),
    ("train_usd_per_hour", "Training $ per GPU-hour", "use_train_usd_per_hour", 0.8, 1.5),
    ("train_peak_tflops", "Training peak TFLOP/s", "use_train_peak_tflops", 0.75, 1.25),
    ("infer_usd_per_hour", "Inference $ per GPU-hour", "use_infer_usd_per_hour", 0.7, 1.5),
    ("infer_peak_tflops", "Inference peak TFLOP/s", "use_infer_peak_tflops", 0.75, 1.25),
    ("mfu_train", "Training MFU", "in_mfu_train", 0.8, 1.2),
    ("mfu_prefill", "Prefill MFU", "in_mfu_prefill", 0.8, 1.2),
    ("mfu_decode", "Decode MFU", "in_mfu_decode", 0.5, 2.0),
)
FORMAT = {"loss": "loss", "input_tokens": "big", "output_tokens": "big", "train_usd_per_hour": "usd_cents",
          "train_peak_tflops": "decimal", "infer_usd_per_hour": "usd_cents", "infer_peak_tflops": "decimal",
          "mfu_train": "percent", "mfu_prefill": "percent", "mfu_decode": "percent"}
ROWS = 1 + 2 * len(SWUNG)
OUTPUTS = (("params", "Parameters", "big"), ("usd", "Lifetime $", "usd"), ("saving", "Saving", "percent"))
#: The sorted tornado's columns (defined names rng_tornado_<key>): the input, its low and high values, the
#: optimum's params, lifetime $ and saving at each, and the lifetime $ swing |$ at high - $ at low|.
TORNADO = ("input", "low", "high", *(f"{key}_{end}" for key, *_ in OUTPUTS for end in ("low", "high")), "swing")


def low_name(key: str) -> str:
    return f"rng_{key}_low_factor"


def high_name(key: str) -> str:
    return f"rng_{key}_high_factor"


def swing_value(key: str, base: str, factor: str) -> str:
    """The swung value: base x factor, or for the loss E + factor x (loss - E)."""
    if key == "loss":
        return f"({FIT_IN_USE['E']}+{factor}*(({base})-{FIT_IN_USE['E']}))"
    return f"({factor}*({base}))"


def _value_column(j: int, key: str, label: str, base: str) -> Column:
    low, high = swing_value(key, base, low_name(key)), swing_value(key, base, high_name(key))
    return Column(key, label, FORMAT[key], f"IF({{i}}={1 + 2 * j},{low},IF({{i}}={2 + 2 * j},{high},{base}))")


def _columns() -> list:
    values = [_value_column(j, key, label, base) for j, (key, label, base, _, _) in enumerate(SWUNG)]
    return [Column("swing", "Scenario", "text", None, "xl_label"), *values, *_solve(FIT_IN_USE, "newton_p")]


def _solve(fit: dict, p: str) -> list:
    """The cost optimum of a row from its input columns: outputs (params, tokens, usd, saving), then workings."""
    beta = fit["beta"]
    k = "(3600*{peak}*1E+12*{mfu})"
    last = "{x%d}" % NEWTON_STEPS
    solve = [
        Column("k_train", "$ per training FLOP", "usd_per_flop",
               "{train_usd_per_hour}/" + k.format(peak="{train_peak_tflops}", mfu="{mfu_train}")),
        Column("k_prefill", "$ per prefill FLOP", "usd_per_flop",
               "{infer_usd_per_hour}/" + k.format(peak="{infer_peak_tflops}", mfu="{mfu_prefill}")),
        Column("k_decode", "$ per decode FLOP", "usd_per_flop",
               "{infer_usd_per_hour}/" + k.format(peak="{infer_peak_tflops}", mfu="{mfu_decode}")),
        Column("usd_per_param", "Inference $ per parameter", "usd_per_flop",
               "2*({input_tokens}*{k_prefill}+{output_tokens}*{k_decode})"),
        Column("q", "Q = B beta s", "0.000E+00", f.newton_q("{usd_per_param}/(6*{k_train})", fit)),
        Column("log_r", "ln R", "0.000000000", f.newton_log_r("{loss}", fit)),
        *layout.newton_columns("x", "Cost", f.newton_start("{q}", p, "{log_r}", beta),
                               f.newton_step("{x}", "{q}", p, "{log_r}", beta), NEWTON_STEPS),
        Column("params", "Cost-optimal parameters", "big", f.params_on_curve("{loss}", last, fit)),
        Column("tokens", "Cost-optimal training tokens", "big", f"EXP({last})"),
        Column("usd", "Lifetime $", "usd", "6*{k_train}*{params}*{tokens}+{params}*{usd_per_param}"),
        Column("chin_n", "Chinchilla parameters", "big", f.chinchilla_params_for_loss("{loss}", fit)),
        Column("chin_d", "Chinchilla tokens", "big", f.chinchilla_tokens_for_loss("{loss}", fit)),
        Column("chin_usd", "Chinchilla lifetime $", "usd", "6*{k_train}*{chin_n}*{chin_d}+{chin_n}*{usd_per_param}"),
        Column("saving", "Saving vs Chinchilla", "percent", "MAX(({chin_usd}-{usd})/{chin_usd},0)"),
    ]
    outputs = [c for c in solve if c.key in ("params", "tokens", "usd", "saving")]
    return outputs + [c for c in solve if c not in outputs]


def _scenario_labels() -> list:
    labels = ["base"]
    for _, label, *_ in SWUNG:
        labels += [f"{label}: low", f"{label}: high"]
    return labels


def _factor_rows() -> list:
    rows = [header_row("Swing (factors of base)", "low factor", "high factor")]
    for key, label, _, low, high in SWUNG:
        rows.append(Row(label, low, "xl_input", "0.00", low_name(key), extra=((high, "xl_input", "0.00"),)))
    return rows


def _check_formula() -> str:
    tests = []
    for key, _, base, *_ in SWUNG:
        lo, hi = low_name(key), high_name(key)
        tests.append(f"AND(ISNUMBER({lo}),ISNUMBER({hi}),{lo}>0,{lo}<=1,{hi}>=1)")
        if key.startswith("mfu"):
            tests.append(f"{hi}*{base}<=1")
    return f'=IF(AND({",".join(tests)}),"OK","Give each swing 0 < low factor <= 1 <= high factor (an MFU at most 1)")'


def add(workbook) -> None:
    """Add the Ranges sheet (after Sizing's names exist)."""
    sheet = workbook.create_sheet(RANGES)
    layout.title(sheet, "Ranges: which input moves the cost-optimal model (each swung low and high, others at base)",
                 "Base values are those in use on the Sizing sheet; type the swing of each input as factors.")
    rows = _factor_rows() + [Row("Check", _check_formula(), "xl_formula", "text", RANGES_OK)]
    where = layout.form(workbook, sheet, 4, rows, note_column=4)
    for key, *_ in SWUNG:  # the high factor sits beside the low one, in column C
        style.define(workbook, high_name(key), RANGES, "C" + where[low_name(key)][1:])
    header = 4 + len(rows) + 3
    columns = _columns()
    ok = lambda c: Column(c.key, c.header, c.number_format,  # noqa: E731
                          None if c.template is None else needs_hardware(f'IF({RANGES_OK}="OK",{c.template},"n/a")'),
                          c.style)
    columns = [columns[0]] + [ok(c) for c in columns[1:]]
    letters = layout.table(sheet, header, columns, ROWS, values={"swing": _scenario_labels()})
    first = header + 1
    for key, *_ in OUTPUTS:
        style.define(workbook, f"rng_{key}", RANGES, f"{letters[key]}{first}:{letters[key]}{first + ROWS - 1}")
    inputs = f"${letters[SWUNG[0][0]]}${first}:${letters[SWUNG[-1][0]]}${first + ROWS - 1}"
    layout.hide_columns(sheet, letters["k_train"], letters[columns[-1].key])
    by_input = first + ROWS + 3
    _by_input(workbook, sheet, by_input, inputs)
    sorted_header = by_input + len(SWUNG) + 3
    tornado = _sorted(workbook, sheet, sorted_header)
    anchor = _charts(workbook, sheet, tornado, sorted_header + len(SWUNG) + 3, f"${letters['usd']}${first}",
                     f"${letters['params']}${first}")
    style.apply(sheet.cell(row=anchor + 1, column=1, value="Which fit: the cost optimum at the base inputs under "
                                                          "each published fit"), "xl_label")
    _which_fit(workbook, sheet, anchor + 2)
    layout.set_print(sheet, f"A1:{letters['saving']}{anchor + 2 + len(laws.FITS)}", landscape=True, title_rows="1:2")
    shown = [c.key for c in columns[1:]][:len(SWUNG) + 4]
    style.set_widths(sheet, {"A": 40, **{letters[k]: 13 for k in shown}, "E": 15})
    style.protect(sheet)


def _by_input(workbook, sheet, header: int, inputs: str) -> None:
    """Per input (in SWUNG order): its low and high, the optimum at each, the lifetime $ swing and its rank.

    The rank is 1 + the number of larger swings + the number of equal swings of earlier inputs: plain
    SUMPRODUCT comparisons (exact, unlike a criterion typed as text), so equal swings keep the input order."""
    columns = [Column("input", "Input", "text", None, "xl_label"), Column("index", "#", "0", None),
               Column("low", "Low", "General", f"INDEX({inputs},2*{{i}}+2,{{i}}+1)"),
               Column("high", "High", "General", f"INDEX({inputs},2*{{i}}+3,{{i}}+1)")]
    for key, label, fmt in OUTPUTS:
        for end, offset in (("low", 2), ("high", 3)):
            columns.append(Column(f"{key}_{end}", f"{label} at {end}", fmt, f"INDEX(rng_{key},2*{{i}}+{offset})"))
    columns += [
        Column("swing", "Lifetime $ swing", "usd",
               'IF(AND(ISNUMBER({usd_low}),ISNUMBER({usd_high})),ABS({usd_high}-{usd_low}),"n/a")'),
        Column("rank", "Rank", "0", 'IF(ISNUMBER({swing}),1+SUMPRODUCT((rng_by_swing>{swing})*1)'
                                    '+SUMPRODUCT((rng_by_swing={swing})*(rng_by_index<{index})),"n/a")'),
    ]
    style.apply(sheet.cell(row=header - 1, column=1, value="By input (the order of the swing factors above)"),
                "xl_label")
    letters = layout.table(sheet, header, columns, len(SWUNG), values={
        "index": list(range(1, len(SWUNG) + 1)), "input": [label for _, label, *_ in SWUNG]})
    for c in columns:
        style.define(workbook, f"rng_by_{c.key}", RANGES,
                     f"{letters[c.key]}{header + 1}:{letters[c.key]}{header + len(SWUNG)}")


def _sorted(workbook, sheet, header: int) -> dict:
    """The tornado: the by-input rows sorted by lifetime $ swing, largest first (MATCH of rank 1, 2, ...)."""
    formats = {"low": "General", "high": "General", "swing": "usd",
               **{f"{key}_{end}": fmt for key, _, fmt in OUTPUTS for end in ("low", "high")}}
    headers = {"input": "Input", "low": "Low", "high": "High", "swing": "Lifetime $ swing",
               **{f"{key}_{end}": f"{label} at {end}" for key, label, _ in OUTPUTS for end in ("low", "high")}}
    columns = [Column("input", "Input", "text", 'IF(ISNUMBER({at}),INDEX(rng_by_input,{at}),"n/a")', "xl_label"),
               Column("place", "Place", "0", None),
               Column("at", "Input #", "0",
                      'IF(SUMPRODUCT((rng_by_rank={place})*1)=1,MATCH({place},rng_by_rank,0),"n/a")')]
    for key in TORNADO[1:]:
        columns.append(Column(key, headers[key], "text" if key == "input" else formats[key],
                              f'IF(ISNUMBER({{at}}),INDEX(rng_by_{key},{{at}}),"n/a")',
                              "xl_label" if key == "input" else "xl_formula"))
    style.apply(sheet.cell(row=header - 1, column=1, value="Tornado: the inputs sorted by lifetime $ swing, largest "
                                                          "first"), "xl_label")
    letters = layout.table(sheet, header, columns, len(SWUNG), values={"place": list(range(1, len(SWUNG) + 1))})
    for key in TORNADO:
        style.define(workbook, f"rng_tornado_{key}", RANGES,
                     f"{letters[key]}{header + 1}:{letters[key]}{header + len(SWUNG)}")
    return {key: f"${letters[key]}${header + 1}:${letters[key]}${header + len(SWUNG)}" for key in TORNADO}


def _which_fit(workbook, sheet, header: int) -> None:
    """The cost optimum at the base inputs under each named fit, side by side (the "which fit" risk)."""
    fit = {k: "{f%s}" % k for k in FIT_FIELDS}
    constants = [Column(f"f{k}", k, "0.0000", f"INDEX(fits_{k},{{i}}+1)") for k in FIT_FIELDS]
    values = [Column(key, label.split(" (")[0], FORMAT[key], base) for key, label, base, _, _ in SWUNG]
    solve = [Column("p", "P = B (alpha + beta)", "0.000E+00", f.newton_p(fit))] + _solve(fit, "{p}")
    guarded = [Column(c.key, c.header, c.number_format, f'IF(in_loss>{fit["E"]},{c.template},"n/a")')
               for c in solve]
    outputs = [c for c in guarded if c.key in ("params", "tokens", "usd", "saving")]
    columns = [Column("name", "Fit", "text", None, "xl_label"), *outputs, *constants, *values,
               *(c for c in guarded if c not in outputs)]
    columns = [columns[0]] + [Column(c.key, c.header, c.number_format, needs_hardware(c.template), c.style)
                              for c in columns[1:]]
    letters = layout.table(sheet, header, columns, len(laws.FITS), values={"name": list(laws.FITS)})
    first, last = header + 1, header + len(laws.FITS)
    for key in ("params", "usd"):
        style.define(workbook, f"rng_fit_{key}", RANGES, f"{letters[key]}{first}:{letters[key]}{last}")
    layout.hide_columns(sheet, letters["p"], letters[columns[-1].key])


def _charts(workbook, sheet, tornado: dict, feed_row: int, base_usd: str, base_params: str) -> int:
    """Chart feed from the sorted tornado (change from base at low and at high) and its two bar charts, the
    largest swing at the top (the category axis runs top to bottom)."""
    feed = [Column("input", "Input", "text", f"INDEX({tornado['input']},{{i}}+1)", "xl_label")]
    for name, base, fmt in (("usd", base_usd, "usd"), ("params", base_params, "big")):
        for end in ("low", "high"):
            source = f"INDEX({tornado[f'{name}_{end}']},{{i}}+1)"
            feed.append(Column(f"{name}_{end}", f"{'Lifetime $' if name == 'usd' else 'Parameters'} at {end} - base",
                               fmt, f"IF(ISNUMBER({source}),{source}-{base},NA())"))
    chart_letters = layout.chart_feed(workbook, sheet, feed_row, 1, feed, len(SWUNG), "ranges_tornado")
    last = feed_row + len(SWUNG)
    anchor = last + 2
    for name, title, axis, fmt in (("usd", "Tornado: change in lifetime $ from base, largest swing first",
                                    "Lifetime $ minus base", "usd"),
                                   ("params", "Change in cost-optimal parameters from base (inputs in the order "
                                              "of their $ swing)", "Parameters minus base", "count")):
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "clustered", 100
        chart.title = title
        data = Reference(sheet, min_col=sheet[f"{chart_letters[name + '_low']}1"].column, min_row=feed_row,
                         max_col=sheet[f"{chart_letters[name + '_high']}1"].column, max_row=last)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=feed_row + 1, max_row=last))
        for series, colour in zip(chart.series, ("404040", "BFBFBF")):  # dark = at low, light = at high
            series.graphicalProperties = GraphicalProperties(solidFill=colour)
            series.graphicalProperties.line.solidFill = "000000"
            series.smooth = False
        chart.x_axis.title, chart.y_axis.title = "Input", axis
        chart.x_axis.scaling.orientation = "maxMin"  # the first (largest) swing at the top, as a tornado is drawn
        chart.y_axis.crosses = "max"  # with the categories reversed, this keeps the value axis at the bottom
        chart.x_axis.tickLblPos = "low"  # input names left of the plot, clear of the bars
        chart.y_axis.number_format = charts.AXIS_FORMATS[fmt]
        chart.y_axis.numFmt.sourceLinked = False
        chart.x_axis.number_format = "General"  # the input names
        chart.x_axis.delete = chart.y_axis.delete = False
        chart.legend.position = "b"
        chart.width, chart.height = 24, 10
        sheet.add_chart(chart, f"A{anchor}")
        anchor += 21
    return anchor
