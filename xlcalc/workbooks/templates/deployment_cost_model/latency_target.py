"""The latency-target block of the deployment cost model: per candidate a target time per output token (and,
optionally, to the first token), and what serving then needs and costs, with plain formulas.

The sheet follows :func:`xlcalc.core.slo.max_batch`: for 1, 2, 4 and 8 GPUs per replica, the largest batch is the
floor of the smallest of a handful of linear bounds (time per token, time to first token, memory), and the
replica size with the lowest $ per million output tokens is kept (the fewest GPUs on a tie). The model's
layers, widths and KV heads come from the Model shapes sheet (:mod:`.shapes_sheet`).
"""

from __future__ import annotations

from ....core.slo import GPU_COUNTS, HEADROOM
from ....core.serving import CEIL_SLACK
from ..formulas import number
from .cells import Formula, Input

#: Kept as 1E+300 where a target is absent or a replica size does not work (no infinity in a spreadsheet).
HUGE = "1E+300"
#: Number formats that show HUGE as "none" (a workings cell, never a number a reader should take at face value).
NONE_SCIENTIFIC = '[>=1E+299]"none";0.000E+00'
NONE_SECONDS = '[>=1E+299]"none";0.0000'

SLACK = number(CEIL_SLACK)
FREE = number(1.0 - HEADROOM)

INPUTS = (
    Input("shape", "Model shape (layers, widths, KV heads)", "", "text", "model",
          ("Llama-2-70B", "Qwen2.5-32B", "Llama-3.1-8B"),
          "from Model shapes: sets the times and KV cache (N still sets training)"),
    Input("tpot_target_ms", "Target time per output token", "ms", "decimal", "positive", (50.0, 50.0, 50.0),
          "the slowest acceptable decode step; 50 ms is 20 tokens/s per user"),
    Input("ttft_target_ms", "Target time to first token (empty: none)", "ms", "count", "optional_target",
          (2000.0, 2000.0, 2000.0), "prefill of the prompt plus one decode step"),
    Input("kv_bytes_per_value", "Bytes per KV-cache value", "bytes", "decimal", "positive", (2.0, 2.0, 2.0),
          "2 for a 16-bit cache, 1 for FP8"),
    Input("link_gbs", "GPU-to-GPU link bandwidth (one direction)", "GB/s", "count", "positive",
          (450.0, 450.0, 32.0), "NVLink 4: 450; PCIe Gen4 x16: 32 (xlcalc's accelerator catalog)"),
    Input("link_latency_us", "Link latency per all-reduce step", "µs", "decimal", "non_negative", (4.0, 4.0, 8.0),
          "tensor parallelism all-reduces twice per layer per step"),
)

#: The status texts of the latency block (the sheet builds the numbers into them).
NO_FIT = "the model does not fit on 8 GPUs: weights plus one sequence's KV cache need "
NO_BATCH = "no batch meets the targets on up to 8 GPUs; the fastest, at batch 1: "


def _per_g(template: str, g: int) -> str:
    return template.replace("{g}", str(g))


def _lines(g: int) -> dict:
    """Intercepts and slopes (per sequence) on g GPUs, as formula texts over the workings' names."""
    k0 = "0" if g == 1 else f"{{ar_intercept}}*{g - 1}"
    k1 = "0" if g == 1 else f"{{ar_slope}}*{g - 1}/{g}"
    return dict(c1=f"{{decode_flops_s}}/{g}", m0=f"{{weights_s}}/{g}", m1=f"{{decode_kv_s}}/{g}", k0=k0, k1=k1,
                p1=f"{{prefill_flops_s}}/{g}", q1=f"{{prompt_kv_s}}/{g}", d1=f"{{first_step_flops_s}}/{g}")


def batch_bound(g: int, tpot_s: str, ttft_s: str) -> str:
    """The largest real batch on g GPUs within the targets (seconds; ttft_s may be blank) and memory."""
    x = _lines(g)
    tpot = [f"({tpot_s}-{x['k0']})/({x['c1']}+{x['k1']})",
            f"({tpot_s}-{x['m0']}-{x['k0']})/({x['m1']}+{x['k1']})"]
    ttft = []
    for pre0, pre1 in (("0", x["p1"]), (x["m0"], x["q1"])):
        for dec0, dec1 in (("0", x["d1"]), (x["m0"], x["q1"])):
            intercept = f"{pre0}+{dec0}+2*{x['k0']}"
            slope = f"{pre1}+{dec1}+{x['k1']}*{{input_tokens}}+{x['k1']}"
            # with no prompt the memory-bound lines can have no slope (xlcalc.core.slo: unbounded, or -1 if over)
            ttft.append(f"IF({slope}>0,({ttft_s}/1000-({intercept}))/({slope}),"
                        f"IF({intercept}<={ttft_s}/1000,{HUGE},-1))")
    memory = f"IF({g}*{{memory_free_gb}}<{{weights_gb}},-1,({g}*{{memory_free_gb}}-{{weights_gb}})/{{sequence_gb}})"
    return f"MIN({','.join(tpot)},IF(ISBLANK({ttft_s}),{HUGE},MIN({','.join(ttft)})),{memory})"


def step(g: int, batch: str) -> str:
    """Decode step (s) of ``batch`` sequences on g GPUs at the mean context."""
    x = _lines(g)
    return f"MAX({x['c1']}*{batch},{x['m0']}+{x['m1']}*{batch})+{x['k0']}+{x['k1']}*{batch}"


def prefill(g: int, batch: str) -> str:
    """Prefill (s) of ``batch`` prompts on g GPUs."""
    x = _lines(g)
    return f"MAX({x['p1']}*{batch},{x['m0']}+{x['q1']}*{batch})+{x['k0']}+{x['k1']}*{{input_tokens}}*{batch}"


def first_token(g: int, batch: str) -> str:
    """Time to first token (s): prefill plus one decode step at the prompt's context."""
    x = _lines(g)
    return (f"{prefill(g, batch)}+MAX({x['d1']}*{batch},{x['m0']}+{x['q1']}*{batch})+{x['k0']}+{x['k1']}*{batch}")


def floored(bound: str) -> str:
    """The whole batch below a real bound (slack so that 12.9999999 is 13, as xlcalc.core.slo), 0 when below 1."""
    return f"MAX(0,INT(({bound})*(1+{SLACK})+{SLACK}))"


def _pick(key: str) -> str:
    """The value of ``key`` at the chosen replica size (calc_ck_<key>_g<g>)."""
    formula = f"{{{key}_g{GPU_COUNTS[-1]}}}"
    for g in reversed(GPU_COUNTS[:-1]):
        formula = f"IF({{slo_gpus_choice}}={g},{{{key}_g{g}}},{formula})"
    return formula


def _shape(field: str) -> str:
    return f"INDEX(ms_{field},MATCH({{shape}},ms_names,0))"


_BW = "({mem_bw_tbs}*1E+12*{bw_eff})"
_CONTEXT = "({input_tokens}+{output_tokens}/2)"

#: Workings (nothing to type): the shape, the per-GPU coefficients of the time lines, and each replica size.
WORKINGS = (
    Formula("shape_layers", "Layers (from the shape)", "", "count", _shape("layers"), output=False, needs="inputs"),
    Formula("shape_d_model", "Model width d_model", "", "count", _shape("d_model"), output=False, needs="inputs"),
    Formula("shape_q_dim", "Query width (heads x head dim)", "", "count", _shape("q_dim"), output=False,
            needs="inputs"),
    Formula("shape_kv_bytes", "KV cache per token (from the shape)", "bytes", "count",
            f"2*{{shape_layers}}*{_shape('kv_dim')}*{{kv_bytes_per_value}}", output=False, needs="inputs"),
    Formula("shape_matmul_params", "Parameters in matrix multiplies", "parameters", "big", _shape("matmul_params"),
            output=False, needs="inputs"),
    Formula("weights_gb", "Weights", "GB", "#,##0.0", f"{_shape('params')}*{{bytes_per_param}}/1E+9", output=False,
            needs="inputs"),
    Formula("sequence_gb", "KV cache of one sequence (prompt + output)", "GB", "0.000",
            "({input_tokens}+{output_tokens})*{shape_kv_bytes}/1E+9", output=False, needs="inputs"),
    Formula("memory_free_gb", f"Usable memory per GPU ({number(HEADROOM * 100)}% kept free)", "GB", "#,##0.0",
            f"{{gpu_memory_gb}}*{FREE}", output=False, needs="spec"),
    Formula("decode_flops_s", "Decode compute per sequence, one GPU", "s", "0.000E+00",
            f"(2*{{shape_matmul_params}}+4*{{shape_layers}}*{{shape_q_dim}}*{_CONTEXT})"
            "/({peak_tflops}*1E+12*{mfu_decode})", output=False, needs="spec"),
    Formula("weights_s", "Reading the weights once, one GPU", "s", "0.000E+00",
            f"{{shape_matmul_params}}*{{bytes_per_param}}/{_BW}", output=False, needs="spec"),
    Formula("decode_kv_s", "Reading one sequence's KV cache, one GPU", "s", "0.000E+00",
            f"{_CONTEXT}*{{shape_kv_bytes}}/{_BW}", output=False, needs="spec"),
    Formula("prefill_flops_s", "Prefill compute per prompt, one GPU", "s", "0.000E+00",
            "{input_tokens}*(2*{shape_matmul_params}+4*{shape_layers}*{shape_q_dim}*({input_tokens}+1)/2)"
            "/({peak_tflops}*1E+12*{mfu_prefill})", output=False, needs="spec"),
    Formula("first_step_flops_s", "First decode step compute per sequence, one GPU", "s", "0.000E+00",
            "(2*{shape_matmul_params}+4*{shape_layers}*{shape_q_dim}*{input_tokens})"
            "/({peak_tflops}*1E+12*{mfu_decode})", output=False, needs="spec"),
    Formula("prompt_kv_s", "Reading one prompt's KV cache, one GPU", "s", "0.000E+00",
            f"{{input_tokens}}*{{shape_kv_bytes}}/{_BW}", output=False, needs="spec"),
    Formula("ar_intercept", "All-reduce latency per step, per extra GPU", "s", "0.000E+00",
            "4*{shape_layers}*{link_latency_us}*1E-6", output=False, needs="inputs"),
    Formula("ar_slope", "All-reduce transfer per token, per extra GPU", "s", "0.000E+00",
            "4*{shape_layers}*{shape_d_model}*2/({link_gbs}*1E+9)", output=False, needs="inputs"),
) + tuple(
    Formula(f"batch_g{g}", f"Largest batch on {g} GPU{'s' if g > 1 else ''} (0: none)", "sequences", "count",
            floored(batch_bound(g, "{tpot_target_ms}/1000", "{ttft_target_ms}")), output=False, needs="spec")
    for g in GPU_COUNTS
) + tuple(
    Formula(f"step_g{g}", f"Time per output token on {g} GPU{'s' if g > 1 else ''} at that batch (or 1)", "s",
            "0.0000", step(g, f"MAX(1,{{batch_g{g}}})"), output=False, needs="spec")
    for g in GPU_COUNTS
) + tuple(
    Formula(f"ttft_g{g}", f"Time to first token on {g} GPU{'s' if g > 1 else ''} at that batch (or 1)", "s",
            "0.000", first_token(g, f"MAX(1,{{batch_g{g}}})"), output=False, needs="spec")
    for g in GPU_COUNTS
) + tuple(
    Formula(f"prefill_g{g}", f"Prefill on {g} GPU{'s' if g > 1 else ''} at that batch (or 1)", "s", "0.000",
            prefill(g, f"MAX(1,{{batch_g{g}}})"), output=False, needs="spec")
    for g in GPU_COUNTS
) + tuple(
    Formula(f"gpu_s_per_token_g{g}", f"GPU-seconds per output token on {g} GPU{'s' if g > 1 else ''}", "GPU-s",
            NONE_SCIENTIFIC, f"IF({{batch_g{g}}}>=1,{g}*{{step_g{g}}}/{{batch_g{g}}},{HUGE})", output=False,
            needs="spec")
    for g in GPU_COUNTS
) + (
    Formula("slo_gpus_choice", "Cheapest replica size (0: none meets the target)", "GPUs", "count",
            "IF(MIN(" + ",".join(f"{{gpu_s_per_token_g{g}}}" for g in GPU_COUNTS) + f")>={HUGE},0,"
            + "".join(f"IF({{gpu_s_per_token_g{g}}}=MIN(" + ",".join(f"{{gpu_s_per_token_g{h}}}" for h in GPU_COUNTS)
                      + f"),{g}," for g in GPU_COUNTS[:-1]) + str(GPU_COUNTS[-1]) + ")" * len(GPU_COUNTS), output=False,
            needs="spec"),
    Formula("slo_fastest_s", "Fastest time per output token at batch 1 on a replica that fits", "s", NONE_SECONDS,
            "MIN(" + ",".join(f"IF({g}*{{memory_free_gb}}>={{weights_gb}}+{{sequence_gb}},{{step_g{g}}},{HUGE})"
                              for g in GPU_COUNTS) + ")", output=False, needs="spec"),
    Formula("slo_fastest_ttft_s", "Fastest time to first token at batch 1 on a replica that fits", "s",
            NONE_SECONDS,
            "MIN(" + ",".join(f"IF({g}*{{memory_free_gb}}>={{weights_gb}}+{{sequence_gb}},{{ttft_g{g}}},{HUGE})"
                              for g in GPU_COUNTS) + ")", output=False, needs="spec"),
)

#: Results: the largest batch within the target, its replica, times, throughput and $ per million tokens.
RESULTS = (
    Formula("slo_status", "Within the latency target", "", "text",
            f'IF({{slo_gpus_choice}}>0,"OK",IF({{slo_fastest_s}}>={HUGE},'
            f'"{NO_FIT}"&TEXT({{weights_gb}}+{{sequence_gb}},"#,##0")&" GB, more than 8 x "'
            f'&TEXT({{memory_free_gb}},"#,##0")&" GB usable",'
            f'"{NO_BATCH}"&TEXT({{slo_fastest_s}}*1000,"0.0")&" ms per output token and "'
            f'&TEXT({{slo_fastest_ttft_s}}*1000,"#,##0")&" ms to the first token: loosen the targets to these"))',
            output=False, needs="spec", wrap=True),
    Formula("slo_gpus", "GPUs per replica (cheapest of 1, 2, 4, 8)", "GPUs", "count", "{slo_gpus_choice}",
            needs="slo"),
    Formula("slo_batch", "Largest batch within the target", "sequences", "count", _pick("batch"), needs="slo"),
    Formula("slo_tpot_ms", "Time per output token at that batch", "ms", "#,##0.0", _pick("step") + "*1000",
            needs="slo"),
    Formula("slo_ttft_ms", "Time to first token at that batch", "ms", "#,##0", _pick("ttft") + "*1000",
            needs="slo"),
    Formula("slo_tokens_per_sec", "Output tokens/s per replica", "tokens/s", "#,##0", "{slo_batch}/"
            + _pick("step"), needs="slo"),
    Formula("slo_usd_per_mtok_input", "$ per million input tokens at the target", "$/1M tokens", "usd_precise",
            "IF({input_tokens}>0,{usd_per_hour}*{slo_gpus}*" + _pick("prefill")
            + "/({slo_batch}*{input_tokens})/3600*1E+6,0)", needs="slo_cost"),
    Formula("slo_usd_per_mtok_output", "$ per million output tokens at the target", "$/1M tokens", "usd_precise",
            "{usd_per_hour}*{slo_gpus}*" + _pick("step") + "/{slo_batch}/3600*1E+6", needs="slo_cost"),
)

NEEDS = {"slo": "AND({spec_ok},{slo_gpus_choice}>0)", "slo_cost": "AND({spec_ok},{price_ok},{slo_gpus_choice}>0)"}
