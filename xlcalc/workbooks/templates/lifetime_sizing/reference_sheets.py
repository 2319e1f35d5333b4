"""The reference sheets: "Validation" (the paper's Table 1 recomputed live) and "Fits" (the scaling-law constants)."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from ....core import laws
from .. import formulas as f
from .. import layout, style
from ..layout import Column
from .inputs import CUSTOM_FIT, FIT_DEFAULT, FIT_FIELDS, FITS, NEWTON_STEPS, TABLE_1, TABLE_1_TOLERANCE, VALIDATION


def add_validation(workbook) -> None:
    """Add the Validation sheet."""
    sheet = workbook.create_sheet(VALIDATION)
    layout.title(sheet, "Validation: Sardana et al. 2024, Table 1, recomputed live with the default fit (chinchilla)",
                 f"Printed figures as in the paper (it prints 6.33M for 633M and losses to 2 decimals). "
                 f"OK when every live value is within {TABLE_1_TOLERANCE:.2%} of the printed one.")
    fit = FIT_DEFAULT
    layout.header(sheet, 4, ["Default fit", *FIT_FIELDS])
    style.apply(sheet.cell(row=5, column=1, value=laws.DEFAULT_FIT), "xl_label")
    for j, field in enumerate(FIT_FIELDS, start=2):
        cell = style.apply(sheet.cell(row=5, column=j), "xl_formula", "0.0000000")
        cell.value = f'=INDEX(fits_{field},MATCH("{laws.DEFAULT_FIT}",fit_names,0))'
        style.define(workbook, fit[field], VALIDATION, cell.coordinate)
    printed = ("loss", "d", "flops", "n_opt", "d_opt", "flops_opt", "reduction")
    formats = ("loss", "big", "flops", "big", "big", "flops", "percent")
    headers = ("loss", "Chinchilla D", "Chinchilla FLOPs", "N*", "D*", "FLOPs*", "reduction")
    last_x = f"{{x{NEWTON_STEPS}}}"
    live = {
        "loss": f.power_law_loss("{n}", "{d_live}", fit),
        "d": f.chinchilla_tokens("{n}", fit),
        "flops": "6*{n}*{d_live}+2*{n}*{tokens}",
        "n_opt": f.params_on_curve("{loss_live}", last_x, fit),
        "d_opt": f"EXP({last_x})",
        "flops_opt": "6*{n_opt_live}*{d_opt_live}+2*{n_opt_live}*{tokens}",
        "reduction": "1-{flops_opt_live}/{flops_live}",
    }
    p = f.newton_p(fit)
    log_r = f.newton_log_r("{loss_live}", fit)
    columns = [Column("tokens", "Inference tokens", "big", None), Column("n", "Chinchilla N", "big", None)]
    columns += [Column(f"{key}_printed", f"{h} (printed)", fmt, None) for key, h, fmt in zip(printed, headers, formats)]
    columns += [Column(f"{key}_live", f"{h} (live)", fmt, live[key]) for key, h, fmt in zip(printed, headers, formats)]
    columns.append(Column("worst", "Largest relative difference", "0.000%", "MAX(" + ",".join(
        f"ABS({{{k}_live}}/{{{k}_printed}}-1)" for k in printed) + ")"))
    columns.append(Column("ok", "Within tolerance", "text", f'IF({{worst}}<={f.number(TABLE_1_TOLERANCE)},"OK",'
                                                            '"DIFFERS")'))
    columns.append(Column("q", "Q", "0.000E+00", f.newton_q("{tokens}/3", fit)))
    columns += layout.newton_columns("x", "Newton", f.newton_start("{q}", p, log_r, fit["beta"]),
                                     f.newton_step("{x}", "{q}", p, log_r, fit["beta"]), NEWTON_STEPS)
    values = {"tokens": [row[0] for row in TABLE_1], "n": [row[1] for row in TABLE_1]}
    values |= {f"{key}_printed": [row[2 + i] for row in TABLE_1] for i, key in enumerate(printed)}
    header = 7
    letters = layout.table(sheet, header, columns, len(TABLE_1), values=values)
    first, last = header + 1, header + len(TABLE_1)
    style.define(workbook, "validation_status", VALIDATION, f"B{last + 2}")
    style.apply(sheet.cell(row=last + 2, column=1, value="All rows within tolerance"), "xl_label")
    ok = letters["ok"]
    style.apply(sheet.cell(row=last + 2, column=2), "xl_output", "text").value = (
        f'=IF(SUMPRODUCT(--({ok}{first}:{ok}{last}="OK"))={len(TABLE_1)},"OK","DIFFERS")')
    style.set_widths(sheet, {letter: 13 for letter in letters.values()} | {"A": 24})
    layout.hide_columns(sheet, letters["q"], letters[columns[-1].key])
    sheet.row_dimensions[header].height = 45
    layout.set_print(sheet, f"A1:{ok}{last + 2}", landscape=True, title_rows=None)
    style.protect(sheet)


def add_fits(workbook) -> None:
    """Add the Fits sheet."""
    sheet = workbook.create_sheet(FITS)
    layout.title(sheet, "Scaling-law fits: loss L(N, D) = E + A / N^alpha + B / D^beta",
                 "N = parameters, D = training tokens. Published fits; the 'custom' row holds the constants typed "
                 "on the Sizing sheet.")
    header, first = 4, 5
    layout.header(sheet, header, ["Fit", *FIT_FIELDS, "Source"])
    rows = [(fit.name, *fit.constants, fit.source) for fit in laws.FITS.values()]
    rows.append((CUSTOM_FIT, *(f"=in_custom_{k}" for k in FIT_FIELDS), "Typed on the Sizing sheet"))
    for i, values in enumerate(rows):
        for j, value in enumerate(values, start=1):
            fmt = None if j in (1, 7) else "0.0000000"
            cell = style.apply(sheet.cell(row=first + i, column=j), "xl_formula", fmt)
            cell.value = value
            if j in (1, 7):
                cell.data_type = "s"
            if j == 7:
                layout.wrap(sheet, cell, 70)
    last = first + len(rows) - 1
    style.define(workbook, "fit_names", FITS, f"A{first}:A{last}")
    for j, field in enumerate(FIT_FIELDS, start=2):
        letter = get_column_letter(j)
        style.define(workbook, f"fits_{field}", FITS, f"{letter}{first}:{letter}{last}")
    style.set_widths(sheet, {"A": 18, "B": 12, "C": 12, "D": 12, "E": 12, "F": 12, "G": 70})
    layout.set_print(sheet, f"A1:G{last}", landscape=True, title_rows=None)
    style.protect(sheet)
