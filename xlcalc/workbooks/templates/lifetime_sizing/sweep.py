"""The Demand sweep sheet: the optimal-to-Chinchilla ratios over a range of lifetime demand (the paper's Figures 1
and 2), with the Newton steps of every row in a collapsed group to the right."""

from __future__ import annotations

from openpyxl.chart import Reference

from .. import charts, checks, formulas as f, layout, style
from ..layout import Column, Row, header_row
from .inputs import (
    CHECKS,
    DEFAULT_INPUTS,
    FIT_IN_USE,
    LABELS,
    NEWTON_STEPS,
    SWEEP,
    SWEEP_BLOCK,
    SWEEP_ROWS,
    needs_hardware,
)

#: The columns a reader sees: key, header, number format, formula template, needs prices.
_CHIN_FLOPS = "(6*chin_params*chin_tokens+2*chin_params*{tokens})"
_CHIN_USD = "(6*k_train*chin_params*chin_tokens+chin_params*{usd_per_param})"
SHOWN = (
    ("tokens", "Lifetime inference tokens", "big",
     f"in_sweep_min_tokens*(in_sweep_max_tokens/in_sweep_min_tokens)^({{i}}/{SWEEP_ROWS - 1})", False),
    ("requests", "Requests", "big",
     "IF(in_input_tokens+in_output_tokens>0,{tokens}/(in_input_tokens+in_output_tokens),0)", False),
    ("c_params", "Compute-optimal: parameters / Chinchilla", "ratio", "{c_n}/chin_params", False),
    ("c_tokens", "Compute-optimal: training tokens / Chinchilla", "ratio", "{c_d}/chin_tokens", False),
    ("c_flops", "Compute-optimal: lifetime FLOPs / Chinchilla", "ratio",
     "(6*{c_n}*{c_d}+2*{c_n}*{tokens})/" + _CHIN_FLOPS, False),
    ("k_params", "Cost-optimal: parameters / Chinchilla", "ratio", "{k_n}/chin_params", True),
    ("k_tokens", "Cost-optimal: training tokens / Chinchilla", "ratio", "{k_d}/chin_tokens", True),
    ("k_usd", "Cost-optimal: lifetime $ / Chinchilla", "ratio", "(6*k_train*{k_n}*{k_d}+{k_n}*{usd_per_param})/"
     + _CHIN_USD, True),
)

#: The chart-feed columns: key, series title, the shown column it plots.
FEED = (("f_c_params", "Parameters", "c_params"), ("f_c_tokens", "Training tokens", "c_tokens"),
        ("f_c_flops", "Lifetime FLOPs", "c_flops"), ("f_k_params", "Parameters", "k_params"),
        ("f_k_tokens", "Training tokens", "k_tokens"), ("f_k_usd", "Lifetime $", "k_usd"))


def _workings() -> list:
    fit = FIT_IN_USE
    p, log_r, beta = "newton_p", "newton_log_r", fit["beta"]
    last = NEWTON_STEPS
    return [
        Column("c_n", "Compute-optimal parameters", "big", f.params_on_curve("in_loss", f"{{c{last}}}", fit)),
        Column("c_d", "Compute-optimal tokens", "big", f"EXP({{c{last}}})"),
        Column("k_n", "Cost-optimal parameters", "big",
               needs_hardware(f.params_on_curve("in_loss", f"{{k{last}}}", fit))),
        Column("k_d", "Cost-optimal tokens", "big", needs_hardware(f"EXP({{k{last}}})")),
        Column("usd_per_param", "Inference $ per parameter", "usd_per_flop", needs_hardware(
            "2*({requests}*in_input_tokens*k_prefill+{requests}*in_output_tokens*k_decode)")),
        Column("c_q", "Compute Q", "0.000E+00", f.newton_q("{tokens}/3", fit)),
        Column("k_q", "Cost Q", "0.000E+00", needs_hardware(f.newton_q("{usd_per_param}/(6*k_train)", fit))),
        *layout.newton_columns("c", "Compute", f.newton_start("{c_q}", p, log_r, beta),
                               f.newton_step("{x}", "{c_q}", p, log_r, beta), NEWTON_STEPS),
        *[Column(c.key, c.header, c.number_format, needs_hardware(c.template)) for c in layout.newton_columns(
            "k", "Cost", f.newton_start("{k_q}", p, log_r, beta), f.newton_step("{x}", "{k_q}", p, log_r, beta),
            NEWTON_STEPS)],
    ]


def add(workbook) -> None:
    """Add the Demand sweep sheet."""
    sheet = workbook.create_sheet(SWEEP)
    layout.title(sheet, "Demand sweep: how far the best models move from Chinchilla as lifetime demand grows",
                 "Loss, fit and hardware from the Sizing sheet; demand log-spaced between the two values below "
                 "(Sardana et al. 2024, Figures 1 and 2).")
    inputs = [
        header_row("Sweep range", "value"),
        Row(LABELS["in_sweep_min_tokens"], DEFAULT_INPUTS["in_sweep_min_tokens"], "xl_input", "big",
            "in_sweep_min_tokens"),
        Row(LABELS["in_sweep_max_tokens"], DEFAULT_INPUTS["in_sweep_max_tokens"], "xl_input", "big",
            "in_sweep_max_tokens"),
        Row("Check", "=" + checks.status_formula(CHECKS[SWEEP_BLOCK]), "xl_formula", "text", SWEEP_BLOCK),
    ]
    layout.form(workbook, sheet, 4, inputs, note_column=3)
    shown = [Column(key, header, fmt, needs_hardware(template) if prices else template)
             for key, header, fmt, template, prices in SHOWN]
    feed = [Column(key, title, "0.000", f.chart_value("{" + source + "}")) for key, title, source in FEED]
    columns = shown + feed + _workings()
    header = 4 + len(inputs) + 2
    letters = layout.table(sheet, header, columns, SWEEP_ROWS)
    first, last = header + 1, header + SWEEP_ROWS
    style.apply(sheet.cell(row=header - 1, column=len(shown) + 1, value=layout.CHART_FEED_NOTE), "xl_note")
    feed_first, feed_last = letters[FEED[0][0]], letters[FEED[-1][0]]
    style.define(workbook, layout.CHART_PREFIX + "sweep", SWEEP, f"{feed_first}{first}:{feed_last}{last}")
    style.set_widths(sheet, {letters[c.key]: 15 for c in shown + feed} | {"A": 34})
    layout.hide_columns(sheet, letters[_workings()[0].key], letters[columns[-1].key])
    x_ref = Reference(sheet, min_col=1, min_row=first, max_row=last)

    def refs(*keys):
        return [Reference(sheet, range_string=f"'{SWEEP}'!{letters[k]}{header}:{letters[k]}{last}") for k in keys]

    figures = (("Compute-optimal model / Chinchilla model (paper's Figure 1)", ("f_c_params", "f_c_tokens", "f_c_flops")),
               ("Cost-optimal model / Chinchilla model (paper's Figure 2)", ("f_k_params", "f_k_tokens", "f_k_usd")))
    anchor = last + 2
    for title, keys in figures:
        chart = charts.scatter_chart(title, x_ref, refs(*keys), x_title="Lifetime inference tokens (log scale)",
                                     y_title="Ratio to the Chinchilla model (log scale)", log_x=True, log_y=True)
        chart.width, chart.height = 24, 11
        sheet.add_chart(chart, f"A{anchor}")
        anchor += 23
    sheet.freeze_panes = sheet.cell(row=header + 1, column=2)
    layout.set_print(sheet, f"A1:{letters[SHOWN[-1][0]]}{anchor}", landscape=False, title_rows="1:2")
    style.protect(sheet)
