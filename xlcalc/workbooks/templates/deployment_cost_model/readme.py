"""The Read me sheet of the deployment cost model: what it does, how to use it in steps, what each sheet is for."""

from __future__ import annotations

from ..layout import Section
from .spec import MONTHS

SECTIONS = (
    Section("What this workbook does", (
        "What serving a model costs, for up to three candidate models side by side, and when a model that costs "
        "more to train (a smaller, over-trained one) pays for itself through cheaper serving.",)),
    Section("How to use it", (
        "Open the Model sheet. Yellow cells are inputs; every other cell is a formula and locked (the sheets are "
        "protected without a password).",
        "Type your traffic: requests in the first month, tokens per request, monthly growth, the peak-to-average "
        "factor and the target utilisation at peak.",
        "Pick the training accelerator and type its MFU (the share of peak it reaches).",
        "For each candidate, type its size, training tokens, precision and KV cache per token, and pick its "
        "serving accelerator from the drop-down, with batch and efficiencies.",
        "For each candidate, type a latency target: the slowest acceptable time per output token and, if you "
        "have one, the time to first token (leave it empty for none); pick its model shape (layers, widths and "
        "KV heads of a published model) and check the GPU-to-GPU link figures. 'Serving within the latency "
        "target' then shows the largest batch that meets both, the GPUs per copy of the model (the cheapest of "
        "1, 2, 4 and 8), its times and $ per million tokens; when nothing meets the target it says what would.",
        "Read 'All inputs' at the top: until it reads OK the results show n/a, and the Check row of the block "
        "that holds the unusable input names it.",
        "Read the results per candidate; the Status row says what is missing when a result shows n/a (an "
        "accelerator without a price or specs). A missing price is n/a, never $0, and a gap in the charts.",
        f"Open the Projection sheet for {MONTHS} months of GPUs and cost, and pick the two candidates to compare "
        "at the foot of the Model sheet.",
        "Open the Cost band sheet to see how sure the cost is: type a low and a high factor for traffic, serving "
        "price and serving efficiency (0.5 and 2 mean half and twice the Model sheet's value; an empty cell is 1, "
        "the base). Factors follow the Model sheet, so the band moves when you change a base. Its Check row names "
        "a factor out of order (low <= 1 <= high) or an efficiency pushed above 100%; the rest of the workbook "
        "is unaffected."), steps=True),
    Section("What each sheet is for", (
        "Model: the inputs, the results per candidate, and the month in which one candidate overtakes another.",
        f"Projection: {MONTHS} months of requests, GPUs, monthly and cumulative cost per candidate, with charts.",
        "Cost band: the low-cost case (low traffic, low price, high efficiency), the base (the Model sheet) and "
        "the high-cost case (high traffic, high price, low efficiency) per candidate: $ per GPU-hour, tokens/s, "
        f"GPUs and cost in month 1 and month {MONTHS}, and the total over {MONTHS} months.",
        f"Band by month: the {MONTHS}-month band per candidate (GPUs, monthly and cumulative cost, low / base / "
        "high; the base columns equal the Projection sheet), one page each, with charts.",
        "Latency curve: $ per million output tokens against the time-per-output-token target, per candidate, "
        "with a chart (the first-token target, shape and link are each candidate's).",
        "Model shapes: the published architectures the latency target reads (read-only).",
        "Hardware prices: the accelerator catalog (dense peak FLOP/s, memory, bandwidth, power) with the lowest "
        "on-demand $ per GPU-hour found and where and when it was seen. Correct a price or add your own "
        "accelerator in an empty row; it then appears in the drop-downs.")),
    Section("How it computes", (
        "Decode runs at the roofline: step time = max(2 N batch / (GPUs x peak x MFU), (bytes per weight x N + "
        "batch x context x KV bytes) / (GPUs x bandwidth x efficiency)), on as many GPUs as one copy of the "
        "weights plus a full batch's KV cache needs; prefill is compute-bound at peak x MFU / 2N tokens/s per GPU. "
        "Each month needs enough whole copies to carry the peak hour at the target utilisation; a month is 730 "
        "hours. Training costs 6 N D FLOPs at the training accelerator's BF16 peak times its MFU.",
        "The cost band multiplies every month's requests by the traffic factor, each serving accelerator's $ per "
        "GPU-hour by the price factor (training stays at its price) and the MFUs in prefill and decode and the "
        "bandwidth efficiency by the efficiency factor, then computes GPUs and cost as above for each case.",
        "At a latency target (as xlcalc.core.slo): time per token = max(compute, weights + KV cache read) at the mean "
        "context plus a ring all-reduce twice per layer over the link; time to first token = prefill of the "
        "batch's prompts plus one decode step; the largest batch is the floor of the smallest of these linear "
        "bounds and of memory (10% of each GPU's memory kept free).",
        "Not modelled: activation memory and framework overhead (leave headroom through the utilisation), "
        "tensor-parallel communication in the batch-typed results, speculative decoding, reserved-capacity "
        "discounts, and idle copies below "
        "one per month.")),
    Section("Names, sources and updates", (
        "Every input cell has a defined name starting in_ (in_c1_params, in_requests_per_month) and every key "
        "result one starting out_ (out_c1_tokens_per_sec, out_c1_monthly_usd, out_crossover_month).",
        "'xlcalc build' writes this template afresh; 'xlcalc refresh BOOK.xlsx' rebuilds your copy from today's "
        "template keeping your inputs and price rows (with a backup); 'xlcalc check BOOK.xlsx' recalculates it "
        "and reports any result that disagrees with xlcalc's Python functions.",
        "Sources: roofline serving model and prices from xlcalc (xlcalc.core.serving, xlcalc.core.economics, "
        "xlcalc.data.hardware); over-training smaller models for cheaper inference follows Sardana et al. 2024, "
        "'Beyond Chinchilla-Optimal' (arXiv 2401.00448).")),
)
