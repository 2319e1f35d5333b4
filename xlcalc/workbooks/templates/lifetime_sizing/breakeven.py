"""The Break-even sheet: the Chinchilla model against a smaller over-trained model of equal loss."""

from __future__ import annotations

from openpyxl.chart import Reference

from .. import charts, checks, formulas as f, layout, style
from ..layout import Column, Row, header_row
from .inputs import (
    BREAKEVEN,
    BREAKEVEN_BLOCK,
    BREAKEVEN_ROWS,
    CHECKS,
    DEFAULT_INPUTS,
    FIT_IN_USE,
    LABELS,
    NOT_USABLE,
    needs_hardware,
)

OK_FLAG = "breakeven_ok"


def _when_usable(formula: str, prices: bool = False) -> str:
    inner = needs_hardware(formula) if prices else formula
    return "=" + f.if_ok(OK_FLAG, inner, NOT_USABLE)


def rows() -> list:
    """The rows of the sheet, top to bottom (None: an empty row)."""
    fit = FIT_IN_USE
    big = "big"
    return [
        header_row("Inputs", "value"),
        Row(LABELS["in_breakeven_fraction"], DEFAULT_INPUTS["in_breakeven_fraction"], "xl_input", "percent",
            "in_breakeven_fraction", "between the smallest fraction below and 100%"),
        Row(LABELS["in_requests_per_month"], DEFAULT_INPUTS["in_requests_per_month"], "xl_input", "big",
            "in_requests_per_month", f"0: the months below show {NOT_USABLE}"),
        Row("Check", "=" + checks.status_formula(CHECKS[BREAKEVEN_BLOCK]), "xl_formula", "text", BREAKEVEN_BLOCK),
        Row("Smallest fraction that can reach the loss",
            f"=({fit['A']}/(in_loss-{fit['E']}))^(1/{fit['alpha']})/chin_params", "xl_formula", "percent",
            "breakeven_min_fraction", "with unlimited training data; depends only on the fit"),
        Row("Can the smaller model reach the loss?",
            "=IF(AND(ISNUMBER(in_breakeven_fraction),in_breakeven_fraction>breakeven_min_fraction,"
            "in_breakeven_fraction<1,in_input_tokens+in_output_tokens>0),1,0)", "xl_formula", "yes_no", OK_FLAG,
            f"no: change the fraction (or the tokens per request are 0); the results show {NOT_USABLE}"),
        None,
        header_row("Models", "Chinchilla", "Smaller"),
        Row("Parameters", "=chin_params", "xl_formula", big, "breakeven_big_params",
            extra=((_when_usable("in_breakeven_fraction*chin_params"), "xl_formula", big),)),
        Row("Training tokens", "=chin_tokens", "xl_formula", big, "breakeven_big_tokens",
            extra=((_when_usable(f.tokens_on_curve("in_loss", "in_breakeven_fraction*chin_params", fit)),
                    "xl_formula", big),)),
        Row("Training FLOPs", "=6*chin_params*chin_tokens", "xl_formula", "flops"),
        None,
        header_row("Break-even", "value"),
        Row("Extra training FLOPs of the smaller model",
            _when_usable("6*breakeven_small_params*breakeven_small_tokens-6*chin_params*chin_tokens"), "xl_output",
            "flops", "out_breakeven_extra_flops"),
        Row("Inference FLOPs saved per token", _when_usable("2*(chin_params-breakeven_small_params)"), "xl_formula",
            big, "breakeven_flops_per_token"),
        Row("Break-even inference tokens (equal lifetime FLOPs)",
            _when_usable("out_breakeven_extra_flops/breakeven_flops_per_token"), "xl_output", big,
            "out_breakeven_tokens"),
        Row("Break-even requests (equal lifetime FLOPs)",
            _when_usable("out_breakeven_tokens/(in_input_tokens+in_output_tokens)"), "xl_formula", big),
        Row("Extra training $", _when_usable("k_train*out_breakeven_extra_flops", True), "xl_formula", "usd",
            "breakeven_extra_usd"),
        Row("Inference $ saved per request", _when_usable(
            "2*(chin_params-breakeven_small_params)*(in_input_tokens*k_prefill+in_output_tokens*k_decode)", True),
            "xl_formula", "usd_precise", "breakeven_usd_per_request"),
        Row("Break-even requests (equal lifetime $)",
            _when_usable("breakeven_extra_usd/breakeven_usd_per_request", True), "xl_output", big,
            "out_breakeven_requests"),
        Row("Break-even months at the request rate (equal lifetime $)",
            _when_usable(f'IF(in_requests_per_month>0,out_breakeven_requests/in_requests_per_month,"{NOT_USABLE}")',
                         True), "xl_output", "months", "out_breakeven_months"),
        Row("Largest lifetime requests in the chart", _when_usable(
            "0.95*10^INT(LOG10(2*out_breakeven_requests))*ROUNDUP(2*out_breakeven_requests"
            "/10^INT(LOG10(2*out_breakeven_requests)),0)", True), "xl_formula", big, "breakeven_chart_max",
            "95% of twice the break-even rounded up: the axis ends at the round number"),
    ]


def add(workbook) -> None:
    """Add the Break-even sheet."""
    sheet = workbook.create_sheet(BREAKEVEN)
    layout.title(sheet, "Break-even: the Chinchilla model against a smaller over-trained model of equal loss",
                 "Loss, fit, hardware and tokens per request from the Sizing sheet. The smaller model costs more to "
                 "train and less to serve: past the break-even demand it is cheaper over its life.")
    form_rows = rows()
    where = layout.form(workbook, sheet, 4, form_rows, note_column=4)
    params_row = int(where["breakeven_big_params"][1:])
    style.define(workbook, "breakeven_small_params", BREAKEVEN, f"C{params_row}")
    style.define(workbook, "breakeven_small_tokens", BREAKEVEN, f"C{params_row + 1}")
    header = 4 + len(form_rows) + 2
    per_request = "2*{n}*(in_input_tokens*k_prefill+in_output_tokens*k_decode)"

    def lifetime_usd(n: str, d: str) -> str:
        return f.chart_value(f'IF({OK_FLAG},{needs_hardware(f"k_train*6*{n}*{d}+{{requests}}*" + per_request.format(n=n))},"")')

    columns = [
        Column("requests", "Lifetime requests", "big",
               f.chart_value(f'IF({OK_FLAG},{needs_hardware(f"breakeven_chart_max*{{i}}/{BREAKEVEN_ROWS - 1}")},"")')),
        # the last point is 95% of a round number, so the axis (data + 5%, rounded up) ends at that number
        Column("big", "Chinchilla model: training + serving $", "usd", lifetime_usd("chin_params", "chin_tokens")),
        Column("small", "Smaller model: training + serving $", "usd",
               lifetime_usd("breakeven_small_params", "breakeven_small_tokens")),
    ]
    layout.chart_feed(workbook, sheet, header, 1, columns, BREAKEVEN_ROWS, "breakeven_lines")
    last = header + BREAKEVEN_ROWS
    chart = charts.scatter_chart(
        "Lifetime $ against demand: the lines cross at the break-even",
        Reference(sheet, min_col=1, min_row=header + 1, max_row=last),
        [Reference(sheet, min_col=2, min_row=header, max_row=last),
         Reference(sheet, min_col=3, min_row=header, max_row=last)],
        x_title="Lifetime requests", y_title="Lifetime $ (training + serving)", y_format="usd")
    chart.width, chart.height = 24, 11
    sheet.add_chart(chart, f"A{last + 2}")
    style.set_widths(sheet, {"A": 56, "B": 20, "C": 20, "D": 62})
    layout.set_print(sheet, f"A1:D{last + 25}", landscape=False, title_rows="1:2")
    style.protect(sheet)
