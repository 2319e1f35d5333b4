"""The Read me sheet of the lifetime sizing workbook: what it does, how to use it in steps, what each sheet is for."""

from __future__ import annotations

from ..layout import Section
from .inputs import NEWTON_STEPS, PAPER_SOURCE, PRICE_SHEET_SOURCE
from .objectives_solver import BISECTION_STEPS

SECTIONS = (
    Section("What this workbook does", (
        "For a target model quality (loss) and an expected lifetime demand (requests x tokens), it compares three "
        "models that reach that loss: the Chinchilla-style model (least training compute), the compute-optimal "
        "model (fewest training plus inference FLOPs) and the cost-optimal model (lowest training plus inference "
        "dollars), following Sardana et al. 2024, 'Beyond Chinchilla-Optimal'.",
        "Below them, three more models of the same loss price serving with xlcalc's serving model instead of a "
        "fixed decode MFU (batch, memory, a time-per-token target, whole GPUs per replica): the least-$ model, the "
        "least-energy model (kWh: power x PUE) and the least-carbon model (kg CO2e: x the grid intensity where "
        "each phase runs), each with its $, kWh and kg CO2e side by side and what limits decode. An optional "
        "unique-token cap counts repeated training tokens as worth less (Muennighoff et al. 2023).")),
    Section("How to use it", (
        "Open the Sizing sheet. Yellow cells are inputs; every other cell is a formula and locked (the sheets are "
        "protected without a password).",
        "Pick the scaling-law fit, then type the target loss (or the size of a Chinchilla-optimal model whose loss "
        "you want, and copy the loss the row below it gives).",
        "Type the demand: requests over the model's life and tokens per request.",
        f"Pick the training and inference accelerators. 'Hardware figures from' is '{PRICE_SHEET_SOURCE}' by "
        f"default: $ per GPU-hour and peak TFLOP/s come from the Hardware prices sheet. Pick '{PAPER_SOURCE}' to "
        "reproduce the paper's Table 2 (A100 at $1.50 and $1.10 per hour). A figure typed in an override cell wins "
        "over both, and the line 'Hardware in use' above the results says so.",
        "Read 'All inputs' at the top: until it reads OK, the results show n/a and the Check row of the block that "
        "holds the unusable input says which one it is.",
        "Read the results table under the inputs. A result that needs a price shows n/a when a price is missing "
        "(never $0); results that need no price are shown anyway.",
        "For the serving-aware, energy and carbon models, set the block 'Serving, energy, carbon and data': memory, "
        "bandwidth and power come from the price sheet's rows of the accelerators (type an override where a "
        "figure is missing, e.g. a TPU without a published TDP), then PUE and grid intensity per phase, bytes per "
        "parameter and KV cache, a batch cap and/or a time-per-token target, the largest replica, and the unique "
        "training tokens if data is limited (empty: unlimited).",
        "For more: the Demand sweep, Fixed budget, Break-even and Ranges sheets use the same inputs; set their own "
        "yellow cells at the top of each sheet."), steps=True),
    Section("What each sheet is for", (
        "Sizing: the inputs and the three models side by side (parameters, tokens, FLOPs, dollars).",
        "Demand sweep: how the compute- and cost-optimal models move away from Chinchilla as lifetime demand "
        "grows (the paper's Figures 1 and 2).",
        "Fixed budget: the lowest loss reachable when one FLOP budget must pay for training and serving.",
        "Break-even: when a smaller, longer-trained model of the same loss pays back its extra training.",
        "Ranges: how sure the answer is: each key input swung to its low and high (factors you type) with the "
        "others at base, the optima solved live for every swing, tornado charts of lifetime $ and of optimal "
        "size, and the optimum under each published fit side by side.",
        "Validation: the paper's Table 1 recomputed live, as a check that the formulas are right.",
        "Solver: the workings ($ per FLOP) and the Newton steps behind the results; nothing to type.",
        "Objectives solver: the workings of the serving-aware, least-kWh and least-CO2 models: for 1, 2, 4 and 8 "
        "GPUs per replica a bisection table on the slope of the objective along the iso-loss curve, then the "
        "cheapest piece; nothing to type.",
        "Fits: the published scaling-law constants; Hardware prices: the accelerator catalog, editable (add your "
        "own accelerator in an empty row).")),
    Section("How it solves", (
        f"The inference-aware optima have no closed form; each is found with {NEWTON_STEPS} Newton steps in "
        "x = ln(training tokens) from a starting point on the safe side of the solution, so the steps climb to it "
        "monotonically and reach full double precision in at most 7 steps. The results equal xlcalc's Python "
        "solver to 1e-9 relative; 'xlcalc check BOOK.xlsx' verifies that for any copy of this workbook.",
        f"The serving-aware models are not smooth (whole GPUs, limits that switch), but on each replica size the "
        f"objective is convex along the iso-loss curve: each piece is solved by {BISECTION_STEPS} bisection steps "
        "on the sign of its slope (to below one unit in the last place), and the cheapest piece is kept, the fewer "
        "GPUs on a tie; no grid is searched. They equal xlcalc.lifetime_optimal(..., serving='roofline') to 1e-9.")),
    Section("Sources and updates", (
        "Sardana, Portes, Doubov, Frankle 2024 (arXiv 2401.00448); Hoffmann et al. 2022 (arXiv 2203.15556); "
        "Besiroglu et al. 2024 (arXiv 2404.10102); Muennighoff et al. 2023 (arXiv 2305.16264). Hardware prices: "
        "xlcalc's catalog, with provider, date and source on each row.",
        "'xlcalc build' writes this template afresh; 'xlcalc refresh BOOK.xlsx' rebuilds your copy from today's "
        "template keeping your yellow inputs and your price rows. No macros, no add-in: Excel 2010 or later, "
        "LibreOffice 7.4 or later, or Google Sheets.")),
)
