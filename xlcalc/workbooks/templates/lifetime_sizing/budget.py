"""The Fixed budget sheet: the lowest loss when training plus serving the demand must fit a total FLOP budget."""

from __future__ import annotations

from openpyxl.chart import Reference

from .. import charts, checks, formulas as f, layout, style
from ..layout import Column, Row, header_row
from .inputs import (
    BUDGET,
    BUDGET_BLOCK,
    BUDGET_TOO_SMALL,
    CHECKS,
    CURVE_ROWS,
    DEFAULT_INPUTS,
    FIT_IN_USE,
    LABELS,
    NOT_USABLE,
    OK,
)


def _when_covered(formula: str) -> str:
    return "=" + f.if_ok(f'budget_result="{OK}"', formula, NOT_USABLE)


def rows() -> list:
    """The rows of the sheet, top to bottom (None: an empty row)."""
    fit = FIT_IN_USE
    a, b = fit["alpha"], fit["beta"]
    g = f"({a}*{fit['A']}/({b}*{fit['B']}))^(1/({a}+{b}))"
    return [
        header_row("Budget", "value"),
        Row(LABELS["in_budget_flops"], DEFAULT_INPUTS["in_budget_flops"], "xl_input", "flops", "in_budget_flops"),
        Row("Check", "=" + checks.status_formula(CHECKS[BUDGET_BLOCK]), "xl_formula", "text", BUDGET_BLOCK),
        Row("Lifetime inference tokens (Sizing sheet)", "=inference_tokens", "xl_formula", "big"),
        Row("Does the budget cover the demand?",
            f'=IF(AND(budget_raw_params>=1,EXP(budget_x)>=1),"{OK}","{BUDGET_TOO_SMALL}")', "xl_formula", "text",
            "budget_result"),
        None,
        header_row("Lowest loss while serving the demand", "value"),
        Row("Parameters", _when_covered("budget_raw_params"), "xl_output", "big", "out_budget_params"),
        Row("Training tokens", _when_covered("EXP(budget_x)"), "xl_output", "big", "out_budget_tokens"),
        Row("Loss", _when_covered(f.power_law_loss("out_budget_params", "out_budget_tokens", fit)), "xl_output",
            "loss", "out_budget_loss"),
        Row("Training FLOPs", _when_covered("6*out_budget_params*out_budget_tokens"), "xl_formula", "flops"),
        Row("Inference FLOPs", _when_covered("2*out_budget_params*inference_tokens"), "xl_formula", "flops"),
        None,
        header_row("Chinchilla-proportioned model serving the demand", "value"),
        Row("Parameters", _when_covered("EXP(within_x)"), "xl_output", "big", "out_budget_chinchilla_params"),
        Row("Training tokens (Chinchilla tokens for its size)", _when_covered(f.chinchilla_tokens("EXP(within_x)", fit)),
            "xl_formula", "big", "budget_chinchilla_tokens"),
        Row("Loss", _when_covered(f.power_law_loss("out_budget_chinchilla_params", "budget_chinchilla_tokens", fit)),
            "xl_output", "loss", "out_budget_chinchilla_loss"),
        None,
        header_row("Chinchilla optimum if nothing were served", "value"),
        Row("Parameters", f"={g}*(in_budget_flops/6)^({b}/({a}+{b}))", "xl_formula", "big",
            "budget_train_only_params"),
        Row("Training tokens", "=in_budget_flops/(6*budget_train_only_params)", "xl_formula", "big",
            "budget_train_only_tokens"),
        Row("Loss", "=" + f.power_law_loss("budget_train_only_params", "budget_train_only_tokens", fit),
            "xl_formula", "loss", "budget_train_only_loss"),
        None,
        header_row("Range of the chart", "value"),
        Row("Largest model on the curve",
            "=IF(inference_tokens>0,MIN(10*budget_train_only_params,0.9*in_budget_flops/(2*inference_tokens)),"
            "10*budget_train_only_params)", "xl_formula", "big", "curve_max_params",
            "10 x the training-only optimum, or 90% of the size whose serving alone spends the budget"),
        Row("Smallest model on the curve",
            "=MAX(curve_max_params/10000,MIN(budget_raw_params,budget_train_only_params)/10)", "xl_formula", "big",
            "curve_min_params", "a tenth of the smaller optimum"),
    ]


def add(workbook) -> None:
    """Add the Fixed budget sheet."""
    sheet = workbook.create_sheet(BUDGET)
    layout.title(sheet, "Fixed total budget: the lowest loss when training plus serving must fit a FLOP budget",
                 "Demand and fit from the Sizing sheet. Training costs 6ND FLOPs, serving 2N per token.")
    fit = FIT_IN_USE
    form_rows = rows()
    layout.form(workbook, sheet, 4, form_rows, note_column=3)
    header = 4 + len(form_rows) + 1
    served_tokens = "(in_budget_flops-2*{n}*inference_tokens)/(6*{n})"
    columns = [
        Column("n", "Parameters", "big",
               f"curve_min_params*(curve_max_params/curve_min_params)^({{i}}/{CURVE_ROWS - 1})"),
        Column("loss_train", "Loss if nothing were served", "loss", f.power_law_loss("{n}", "in_budget_flops/(6*{n})",
                                                                                     fit)),
        Column("loss_served", "Loss serving the demand", "loss", f.power_law_loss("{n}", served_tokens, fit)),
        Column("d_served", "Training tokens serving the demand", "big", served_tokens),
    ]
    layout.table(sheet, header, columns, CURVE_ROWS)
    first, last = header + 1, header + CURVE_ROWS
    points = [Column("x", "Parameters", "big", None), Column("y", "Loss", "loss", None)]
    optima = (("Lowest loss serving the demand", "out_budget_params", "out_budget_loss"),
              ("Chinchilla-proportioned, serving", "out_budget_chinchilla_params", "out_budget_chinchilla_loss"),
              ("Chinchilla optimum, nothing served", "budget_train_only_params", "budget_train_only_loss"))
    feed_header = header
    values = {"x": ["=" + f.chart_value(x) for _, x, _ in optima], "y": ["=" + f.chart_value(y) for *_, y in optima]}
    layout.chart_feed(workbook, sheet, feed_header, 6, points, len(optima), "budget_optima", values)
    for i, (label, *_) in enumerate(optima):
        style.apply(sheet.cell(row=feed_header + 1 + i, column=8, value=label), "xl_note")
    chart = charts.scatter_chart(
        "Loss against model size at a fixed total budget", Reference(sheet, min_col=1, min_row=first, max_row=last),
        [Reference(sheet, min_col=2, min_row=header, max_row=last),
         Reference(sheet, min_col=3, min_row=header, max_row=last)],
        x_title="Parameters (log scale)", y_title="Loss (nats per token)", y_format="loss", log_x=True)
    for i, (label, *_) in enumerate(optima):
        row = feed_header + 1 + i
        charts.add_points(chart, Reference(sheet, min_col=6, min_row=row), Reference(sheet, min_col=7, min_row=row),
                          label, position=i)
    chart.width, chart.height = 20, 12
    sheet.add_chart(chart, "E4")
    style.set_widths(sheet, {"A": 46, "B": 18, "C": 18, "D": 18, "E": 4, "F": 14, "G": 12, "H": 34})
    layout.set_print(sheet, f"A1:L{last}", landscape=True, title_rows="1:2")
    style.protect(sheet)
