"""The Objectives solver sheet: the serving-aware least-$, least-kWh and least-CO2 optima solved live by bisection.

As :mod:`xlcalc.core.lifetime_costs` states: along the iso-loss curve (x = ln D', effective training tokens) the
lifetime objective F = a_t N D + a_in N + a_out psi(N) is convex on each piece of a fixed replica size
g = 1, 2, 4, 8 GPUs (N <= q g: weights and one sequence fit, the time-per-token target is met at batch 1). On
each piece the sheet bisects on the sign of F'(x) for :data:`BISECTION_STEPS` steps from the bracket [piece
end, data cap or end + :data:`BRACKET_SPAN`] (the last row is the solution; within 1e-12 of the piece end it is
the end itself), evaluates F there, and keeps the cheapest piece (the fewer GPUs on a tie within 1e-12), as
:func:`xlcalc.lifetime_optimal` does with ``serving='roofline'``.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from ....core.data_limits import R_D_STAR
from .. import layout, style
from ..layout import Row, header_row
from .inputs import FIT_IN_USE, HARDWARE_OK

OBJECTIVES_SOLVER = "Objectives solver"
#: Bisection steps per piece: a bracket of at most BRACKET_SPAN halves to below one ulp of x in 60 steps.
BISECTION_STEPS = 60
BRACKET_SPAN = 80
GPU_COUNTS = (1, 2, 4, 8)
#: The three optima: key (in defined names), column header, weights of a training and an inference GPU-hour.
OBJECTIVES = (
    ("usd", "Least $ (serving-aware)", "use_train_usd_per_hour", "use_infer_usd_per_hour"),
    ("kwh", "Least kWh", "use_train_tdp_w/1000*in_train_pue", "use_infer_tdp_w/1000*in_infer_pue"),
    ("carbon", "Least kg CO2e", "use_train_tdp_w/1000*in_train_pue*in_train_g_per_kwh/1000",
     "use_infer_tdp_w/1000*in_infer_pue*in_infer_g_per_kwh/1000"),
)
#: What limits decode at an optimum, by code (as xlcalc.core.lifetime_costs.BINDINGS).
BINDING_WORDS = ("fixed MFU", "compute", "memory bandwidth", "memory capacity", "latency")
SERVING_FOUND, POWER_FOUND = "serving_hw_ok", "power_ok"
TIE = "1E-12"


def ready(key: str) -> str:
    """The defined name of the 1/0 flag: every figure the ``key`` optimum needs is found."""
    return f"opt_ready_{key}"


def _workings() -> list:
    fit = FIT_IN_USE
    return [
        header_row("Iso-loss curve and data cap", "value"),
        Row("c = target loss - E", f"=in_loss-{fit['E']}", "xl_formula", "0.000000000", "opt_c"),
        Row("Asymptote: x = ln(B / c) / beta (infinite parameters)", f"=LN({fit['B']}/opt_c)/{fit['beta']}",
            "xl_formula", "0.000000000", "opt_asym"),
        Row("Data cap given", "=IF(ISNUMBER(in_unique_tokens),1,0)", "xl_formula", "yes_no", "opt_has_cap"),
        Row("R*_D (Muennighoff et al. 2023)", R_D_STAR, "xl_formula", "0.000000", "opt_r_star"),
        Row("Data cap: x = ln(U (1 + R*_D))", "=IF(opt_has_cap=1,LN(in_unique_tokens*(1+opt_r_star)),\"none\")",
            "xl_formula", "0.000000000", "opt_cap_x", "no effective tokens beyond it, however many epochs"),
        Row("Lifetime input tokens", "=in_requests*in_input_tokens", "xl_formula", "big", "opt_t_in"),
        Row("Lifetime output tokens", "=in_requests*in_output_tokens", "xl_formula", "big", "opt_t_out"),
        None,
        header_row("Serving model (SI units)", "value"),
        Row("Compute-bound decode FLOP/s per GPU", "=use_infer_peak_tflops*1E+12*in_serving_mfu_decode",
            "xl_formula", "0.000E+00", "srv_peak"),
        Row("Memory bandwidth bytes/s per GPU", "=use_infer_mem_bw_tbs*1E+12*in_bw_eff", "xl_formula", "0.000E+00",
            "srv_bw"),
        Row("Usable memory bytes per GPU", "=use_infer_memory_gb*1E+9*(1-in_headroom)", "xl_formula", "0.000E+00",
            "srv_mem"),
        Row("Bytes per parameter b", "=in_serving_bytes_per_param", "xl_formula", "0.00", "srv_b"),
        Row("KV bytes per token per parameter k", "=in_kv_bytes_per_param", "xl_formula", "0.000E+00", "srv_k"),
        Row("Tokens of one sequence S", "=in_input_tokens+in_output_tokens", "xl_formula", "count", "srv_seq"),
        Row("Mean decode context C = prompt + generated / 2", "=in_input_tokens+0.5*in_output_tokens", "xl_formula",
            "decimal", "srv_ctx"),
        Row("Time-per-token target given", "=IF(ISNUMBER(in_tpot_ms),1,0)", "xl_formula", "yes_no", "srv_has_tau"),
        Row("Time-per-token target tau, s", "=IF(srv_has_tau=1,in_tpot_ms/1000,0)", "xl_formula", "0.000000",
            "srv_tau"),
        Row("1 / batch cap (0: none)", "=IF(ISNUMBER(in_batch),1/in_batch,0)", "xl_formula", "0.000000",
            "srv_inv_cap"),
        Row("Params per GPU that memory allows: M' / (b + S k)", "=srv_mem/(srv_b+srv_seq*srv_k)", "xl_formula",
            "big", "srv_q_mem"),
        Row("Params per GPU q (memory, and the target at batch 1)",
            "=IF(srv_has_tau=1,MIN(srv_q_mem,srv_tau*srv_bw/(srv_b+srv_ctx*srv_k),srv_tau*srv_peak/2),srv_q_mem)",
            "xl_formula", "big", "srv_q"),
        Row("Memory sets q", "=IF(srv_q>=srv_q_mem*(1-1E-15),1,0)", "xl_formula", "yes_no", "srv_mem_sets_q"),
    ]


def _weight_rows() -> list:
    """(label, defined-name suffix, number format, template over {w_t} {w_i} {key}) of the weights table."""
    return [
        ("Weight of a training GPU-hour ($, kWh or kg)", "w_t", "0.000000", "{w_t}"),
        ("Weight of an inference GPU-hour", "w_i", "0.000000", "{w_i}"),
        ("a_t = 6 w_t / (3600 peak MFU) per param-token", "a_t", "0.000E+00",
         "6*opt_{key}_w_t/(3600*use_train_peak_tflops*1E+12*in_mfu_train)"),
        ("a_in = 2 w_i T_in / (3600 peak MFU prefill) per param", "a_in", "0.000E+00",
         "2*opt_{key}_w_i*opt_t_in/(3600*use_infer_peak_tflops*1E+12*in_mfu_prefill)"),
        ("a_out = w_i T_out / 3600 per GPU-second of a token", "a_out", "0.000E+00", "opt_{key}_w_i*opt_t_out/3600"),
    ]


def _guard(key: str, formula: str) -> str:
    return f'IF({ready(key)}=1,{formula},"")'


#: Columns of a bisection table: key, header, number format.
PIECE_COLUMNS = (("lo", "low end", "0.000000000"), ("hi", "high end", "0.000000000"),
                 ("x", "x = ln D'", "0.000000000"), ("n", "N params", "0.0000E+00"), ("l", "l = dlnN/dx", "0.000000"),
                 ("d", "D tokens", "0.0000E+00"), ("dd", "dlnD/dx", "0.000000"), ("mem", "memory 1/batch", "0.000E+00"),
                 ("lat", "latency 1/batch", "0.000E+00"), ("comp", "compute 1/batch", "0.000E+00"),
                 ("u", "1/batch", "0.000E+00"), ("psi", "GPU-s per token", "0.000E+00"),
                 ("dpsi", "dpsi/dN", "0.000E+00"), ("slope", "F'(x)", "0.000E+00"), ("f", "F(x)", "0.000E+00"))


def _piece_formulas(c: dict, key: str, g: int) -> dict:
    """The formulas of one row of a piece's table over the row's cells ``c`` (lo and hi given by the caller)."""
    fit = FIT_IN_USE
    y = f"{fit['B']}*EXP(-{fit['beta']}*{c['x']})"
    ratio = f"EXP({c['x']})/in_unique_tokens"
    z = f"({ratio}-1)/opt_r_star"
    gm = f"{g}*srv_mem"
    free = f"({gm}-srv_b*{c['n']})"
    lat_free = f"(srv_tau*{g}*srv_bw-srv_b*{c['n']})"
    a_t, a_in, a_out = (f"opt_{key}_{w}" for w in ("a_t", "a_in", "a_out"))
    compute = f"2*{c['n']}/srv_peak"
    memory = f"(srv_b*{c['n']}*{c['u']}+srv_ctx*srv_k*{c['n']})/srv_bw"
    du = (f"IF({c['u']}=srv_inv_cap,0,IF({c['u']}={c['mem']},srv_seq*srv_k*{gm}/{free}^2,"
          f"IF({c['u']}={c['lat']},srv_ctx*srv_k*srv_tau*{g}*srv_bw/{lat_free}^2,2/(srv_tau*{g}*srv_peak))))")
    return {
        "n": f"({fit['A']}/(opt_c-{y}))^(1/{fit['alpha']})",
        "l": f"-({fit['beta']}/{fit['alpha']})*{y}/(opt_c-{y})",
        "d": (f"IF(opt_has_cap=1,IF({ratio}<=1,EXP({c['x']}),IF({z}<1,in_unique_tokens*(1-opt_r_star*LN(1-{z})),"
              f'"past the cap")),EXP({c["x"]}))'),
        "dd": (f'IF(ISNUMBER({c["d"]}),IF(opt_has_cap=1,IF({ratio}>1,({ratio})/({c["d"]}/in_unique_tokens*(1-{z})),1),'
               f'1),"")'),
        "mem": f"IF(srv_k>0,srv_seq*srv_k*{c['n']}/{free},0)",
        "lat": f"IF(AND(srv_has_tau=1,srv_k>0),srv_ctx*srv_k*{c['n']}/{lat_free},0)",
        "comp": f"IF(srv_has_tau=1,2*{c['n']}/(srv_tau*{g}*srv_peak),0)",
        "u": f"MAX(srv_inv_cap,{c['mem']},{c['lat']},{c['comp']})",
        "psi": f"MAX({compute},{memory})",
        "dpsi": f"IF({compute}>={memory},2/srv_peak,(srv_b*{c['u']}+srv_b*{c['n']}*{du}+srv_ctx*srv_k)/srv_bw)",
        "slope": (f"IF(ISNUMBER({c['d']}),{a_t}*{c['n']}*{c['d']}*({c['l']}+{c['dd']})+{c['l']}*{c['n']}*"
                  f"({a_in}+{a_out}*{c['dpsi']}),1)"),
        "f": f'IF(ISNUMBER({c["d"]}),{a_t}*{c["n"]}*{c["d"]}+{a_in}*{c["n"]}+{a_out}*{c["psi"]},"")',
    }


def _piece_table(sheet, top: int, key: str, label: str, g: int, start: str, end: str) -> dict:
    """One piece's bisection table from row ``top``; returns {column key: cell of the solution row}."""
    letters = {k: get_column_letter(j) for j, (k, _, _) in enumerate(PIECE_COLUMNS, start=2)}
    title = f"{label}, {g} GPU{'s' if g > 1 else ''} per replica: bisection on the sign of F'(x)"
    layout.header(sheet, top, [title, *(h for _, h, _ in PIECE_COLUMNS)], label_first=True)
    for k in range(BISECTION_STEPS + 1):
        r = top + 1 + k
        c = {name: f"{letter}{r}" for name, letter in letters.items()}
        before = {name: f"{letter}{r - 1}" for name, letter in letters.items()}
        last = k == BISECTION_STEPS
        style.apply(sheet.cell(row=r, column=1, value="solution" if last else k), "xl_label", "0")
        formulas = _piece_formulas(c, key, g)
        if k == 0:
            formulas["lo"], formulas["hi"] = start, end
        else:
            formulas["lo"] = f"IF({before['slope']}<0,{before['x']},{before['lo']})"
            formulas["hi"] = f"IF({before['slope']}<0,{before['hi']},{before['x']})"
        mid = f"({c['lo']}+{c['hi']})/2"
        formulas["x"] = (f"IF(ABS({mid}-{start})<=1E-12*MAX(1,ABS({mid})),{start},{mid})" if last else mid)
        for name, letter in letters.items():
            cell = sheet[f"{letter}{r}"]
            style.apply(cell, "xl_output" if last else "xl_formula", dict((k_, f) for k_, _, f in PIECE_COLUMNS)[name])
            cell.value = "=" + _guard(key, formulas[name])
    solution = top + 1 + BISECTION_STEPS
    return {name: f"{letter}{solution}" for name, letter in letters.items()}


def _summary_rows(key: str) -> list:
    """(label, name suffix or None, format, template over {g} {prev} (the previous piece's column) and the
    solution cells {s_x} ...) of the per-piece summary, one column per GPU count."""
    fit = FIT_IN_USE
    return [
        ("GPUs per replica g", "g", "0", "{g}"),
        ("Largest model on g GPUs: q g", "qg", "big", "srv_q*{g}"),
        ("Piece end: x where N = q g", "end", "0.000000000",
         f'IF(opt_c-{fit["A"]}/{{qg}}^{fit["alpha"]}>0,-LN((opt_c-{fit["A"]}/{{qg}}^{fit["alpha"]})/{fit["B"]})'
         f'/{fit["beta"]},"none")'),
        ("Piece usable (g <= max GPUs, below the data cap)", "use", "yes_no",
         "IF(ISNUMBER({end}),IF(AND({g}<=in_max_gpus,OR(opt_has_cap=0,{end}<opt_cap_x)),1,0),0)"),
        ("Bracket low end", "start", "0.000000000", "IF({use}=1,MAX({end},opt_asym),opt_asym+1)"),
        ("Bracket high end (data cap, or low end + " + str(BRACKET_SPAN) + ")", "stop", "0.000000000",
         f"IF({{use}}=1,IF(opt_has_cap=1,MIN(opt_cap_x,{{start}}+{BRACKET_SPAN}),{{start}}+{BRACKET_SPAN}),"
         "opt_asym+2)"),
        ("Solution x", "x", "0.000000000", "{s_x}"),
        ("Objective F at the solution", "f", "0.000000E+00", '{s_f}'),
        ("Cheaper than the pieces before (by over 1e-12)", "better", "yes_no",
         f"IF(AND({{use}}=1,ISNUMBER({{f}})),IF({{f}}<{{prev_best}}*(1-{TIE}),1,0),0)"),
        ("Lowest F so far", "best", "0.000000E+00", "IF({better}=1,{f},{prev_best})"),
        ("GPUs of the lowest so far (0: none)", "best_g", "0", "IF({better}=1,{g},{prev_best_g})"),
        ("N params", "n", "0.0000E+00", "{s_n}"),
        ("D training tokens", "d", "0.0000E+00", "{s_d}"),
        ("1/batch", "u", "0.000E+00", "{s_u}"),
        ("GPU-seconds per output token", "psi", "0.000E+00", "{s_psi}"),
        ("What limits decode (code)", "code", "0",
         "IF({use}=0,\"n/a\",IF(ABS({x}-{end})<=1E-12*MAX(1,ABS({x})),IF(srv_mem_sets_q=1,3,4),"
         "IF(2*{n}/srv_peak>=(srv_b*{n}*{u}+srv_ctx*srv_k*{n})/srv_bw,1,"
         "IF(srv_inv_cap>=MAX({s_mem}*1.000001,{s_lat}*1.000001,{s_comp}*1.000001),2,"
         "IF({s_mem}*1.000001>=MAX({s_lat}*1.000001,{s_comp}*1.000001),3,4)))))"),
    ]


def _result_rows() -> list:
    """(label, name suffix, format, template over {key} and the summary rows {row[...]} of the objective) ."""
    pick = "INDEX({row[%s]},1,MATCH(opt_{key}_gpus,{row[g]},0))"  # row 1, column: Gnumeric needs both
    return [
        ("GPUs per replica (0: no piece fits)", "gpus", "0", "{last_best_g}"),
        ("Solution x = ln D'", "x", "0.000000000", pick % "x"),
        ("Parameters", "params", "big", pick % "n"),
        ("Training tokens", "tokens", "big", pick % "d"),
        ("Effective tokens D'", "effective", "big", "EXP(opt_{key}_x)"),
        ("Batch per replica", "batch", "decimal", "1/" + pick % "u"),
        ("GPU-seconds per output token", "psi", "0.000E+00", pick % "psi"),
        ("What limits decode (code)", "code", "0", pick % "code"),
        ("Training GPU-hours", "hours_t", "big",
         "6*opt_{key}_params*opt_{key}_tokens/(3600*use_train_peak_tflops*1E+12*in_mfu_train)"),
        ("Inference GPU-hours", "hours_i", "big",
         "(2*opt_{key}_params*opt_t_in/(use_infer_peak_tflops*1E+12*in_mfu_prefill)+opt_t_out*opt_{key}_psi)/3600"),
    ]


def add(workbook) -> None:
    """Add the Objectives solver sheet."""
    sheet = workbook.create_sheet(OBJECTIVES_SOLVER)
    layout.title(sheet, "Objectives solver: the serving-aware least-$, least-kWh and least-CO2 models (no input here)",
                 f"Each piece (1, 2, 4, 8 GPUs per replica) is solved by {BISECTION_STEPS} bisection steps on the sign "
                 "of the convex objective's slope along the iso-loss curve; the cheapest piece wins.")
    work = _workings()
    layout.form(workbook, sheet, 4, work, note_column=3)
    row = 4 + len(work) + 1
    # Readiness flags and weights: one column per objective.
    layout.header(sheet, row, ["Weights", *(label for _, label, _, _ in OBJECTIVES)], label_first=True)
    flags = {"usd": f"IF(AND({HARDWARE_OK}=1,{SERVING_FOUND}=1),1,0)",
             "kwh": f"IF(AND({HARDWARE_OK}=1,{SERVING_FOUND}=1,{POWER_FOUND}=1),1,0)"}
    flags["carbon"] = flags["kwh"]
    row += 1
    style.apply(sheet.cell(row=row, column=1, value="Every figure it needs is found"), "xl_label")
    for j, (key, *_) in enumerate(OBJECTIVES, start=2):
        cell = style.apply(sheet.cell(row=row, column=j, value="=" + flags[key]), "xl_formula", "yes_no")
        style.define(workbook, ready(key), OBJECTIVES_SOLVER, cell.coordinate)
    for label, suffix, fmt, template in _weight_rows():
        row += 1
        style.apply(sheet.cell(row=row, column=1, value=label), "xl_label")
        for j, (key, _, w_t, w_i) in enumerate(OBJECTIVES, start=2):
            cell = style.apply(sheet.cell(row=row, column=j), "xl_formula", fmt)
            cell.value = "=" + _guard(key, template.format(w_t=w_t, w_i=w_i, key=key))
            style.define(workbook, f"opt_{key}_{suffix}", OBJECTIVES_SOLVER, cell.coordinate)
    # Per-piece summary (4 columns per objective), then the results, then the bisection tables.
    summary = _summary_rows("")
    summary_top = row + 2
    results = _result_rows()
    results_top = summary_top + 1 + len(summary) + 1
    tables_top = results_top + 1 + len(results) + 2
    table_height = BISECTION_STEPS + 3
    layout.header(sheet, summary_top, ["Pieces", *(f"{label}: {g} GPU{'s' if g > 1 else ''}"
                                                   for _, label, _, _ in OBJECTIVES for g in GPU_COUNTS)],
                  label_first=True)
    for i, (label, *_) in enumerate(summary, start=1):
        style.apply(sheet.cell(row=summary_top + i, column=1, value=label), "xl_label")
    summary_at = {suffix: summary_top + i for i, (_, suffix, _, _) in enumerate(summary, start=1)}
    piece = 0
    for o, (key, label, _, _) in enumerate(OBJECTIVES):
        first_col = 2 + 4 * o
        for p, g in enumerate(GPU_COUNTS):
            col = get_column_letter(first_col + p)
            prev = get_column_letter(first_col + p - 1)
            cells = {suffix: f"{col}{r}" for suffix, r in summary_at.items()}
            solution = _piece_table(sheet, tables_top + piece * table_height, key, label, g, cells["start"],
                                    cells["stop"])
            piece += 1
            names = {**cells, **{f"s_{k}": v for k, v in solution.items()}, "g": g,
                     "prev_best": f"{prev}{summary_at['best']}" if p else "1E+308",
                     "prev_best_g": f"{prev}{summary_at['best_g']}" if p else "0"}
            for i, (_, suffix, fmt, template) in enumerate(summary, start=1):
                cell = style.apply(sheet[cells[suffix]], "xl_formula", fmt)
                cell.value = "=" + _guard(key, template.format(**names))
    # Results: one column per objective.
    layout.header(sheet, results_top, ["Optimum", *(label for _, label, _, _ in OBJECTIVES)], label_first=True)
    for i, (label, suffix, fmt, template) in enumerate(results, start=1):
        r = results_top + i
        style.apply(sheet.cell(row=r, column=1, value=label), "xl_label")
        for o, (key, *_) in enumerate(OBJECTIVES):
            first, last = get_column_letter(2 + 4 * o), get_column_letter(5 + 4 * o)
            rows = {s: f"{first}{summary_at[s]}:{last}{summary_at[s]}" for s in summary_at}
            formula = template.replace("{row[", "{rows[").format(key=key, rows=rows,
                                                                  last_best_g=f"{last}{summary_at['best_g']}")
            if suffix != "gpus":
                formula = f'IF(opt_{key}_gpus>0,{formula},"n/a")'
            cell = style.apply(sheet.cell(row=r, column=2 + o), "xl_formula", fmt)
            cell.value = "=" + _guard(key, formula)
            style.define(workbook, f"opt_{key}_{suffix}", OBJECTIVES_SOLVER, cell.coordinate)
    note = style.apply(sheet.cell(row=tables_top - 1, column=1), "xl_note")
    note.value = ("The bisection tables below (one per objective and replica size) are on screen only: the print "
                  "area ends here.")
    style.set_widths(sheet, {"A": 52, **{get_column_letter(j): 14 for j in range(2, 17)}})
    layout.set_print(sheet, f"A1:M{tables_top - 1}", landscape=True, title_rows="1:2", pages_tall=1)
    style.protect(sheet)


def binding_word(code: str) -> str:
    """Formula text: the words for a binding code (1 compute ... 4 latency)."""
    return "CHOOSE(" + code + "+1," + ",".join(f'"{w}"' for w in BINDING_WORDS) + ")"


__all__ = ["OBJECTIVES_SOLVER", "BISECTION_STEPS", "OBJECTIVES", "add", "ready", "binding_word"]
