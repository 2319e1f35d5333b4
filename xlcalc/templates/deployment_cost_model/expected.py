"""The deployment cost model's outputs computed with xlcalc.serving and xlcalc.economics: the twin the sheet is
checked against."""

from __future__ import annotations

import numpy as np

from ... import economics, invalid_reasons, serving, slo
from ...errors import InvalidInputError
from .. import checks, price_sheet
from .spec import (CANDIDATES, MONTHS, NEVER, NOT_AVAILABLE, PEAK_FIELDS, check_blocks, default_inputs, input_name)


def _hardware(table: dict, name, field: str) -> float:
    """A field of a listed accelerator as the sheet's lookup gives it (empty: 0; text: NaN, failing every test)."""
    return price_sheet.price_value(table, name, (field,))


def input_problem(values: dict, table: dict) -> str | None:
    """The first unusable input, worded as the sheet's Check rows (Model!C3) word it; None when all are usable."""
    return checks.first_problem(check_blocks().values(), values, {"prices": table})


def expected_outputs(inputs: dict, prices=None) -> dict:
    """The out_ values for the in_ values ``inputs``, computed with xlcalc.serving and xlcalc.economics.

    ``prices`` are the rows of the workbook's price sheet ({field key: value}, see
    :func:`.price_sheet.read_rows`); by default the catalog's. Missing inputs take the template's defaults.
    An unusable input raises InvalidInputError with the sheet's Check text (the sheet shows it in Model!C3
    and NOT_AVAILABLE in its results). A result that needs a price or spec the price sheet lacks, or a ratio
    with nothing to divide by, is NOT_AVAILABLE, as in the sheet: never a silent $0.

    Examples
    --------
    >>> out = expected_outputs({"in_c1_gpu": "GB200 (per GPU)"})  # listed, but no price in the catalog
    >>> out["out_c1_gpus"], out["out_c1_monthly_usd"], out["out_crossover_month"]
    (33.0, 'n/a', 'n/a')
    >>> expected_outputs({"in_requests_per_month": None})
    Traceback (most recent call last):
    ...
    xlcalc.errors.InvalidInputError: Requests in month 1 must be a number of 0 or more
    """
    values = default_inputs() | {k: v for k, v in inputs.items() if k.startswith("in_")}
    table = price_sheet.price_table(price_sheet.catalog_rows() if prices is None else prices)
    problem = input_problem(values, table)
    if problem is not None:
        raise InvalidInputError(problem)
    number = lambda name: float(values[name])  # noqa: E731
    requests = number("in_requests_per_month")
    n_in, n_out = number("in_input_tokens"), number("in_output_tokens")
    peak_factor, utilisation = number("in_peak_factor"), number("in_utilisation")
    train_gpu = values["in_train_gpu"]
    train_usd_per_hour = _hardware(table, train_gpu, "usd_per_hour")
    train_peak = _hardware(table, train_gpu, "peak_tflops_bf16")
    train_peak_ok = train_peak > 0
    train_ok = train_peak_ok and train_usd_per_hour > 0
    months = np.arange(1, MONTHS + 1, dtype=float)
    monthly_requests = requests * (1.0 + number("in_monthly_growth")) ** (months - 1.0)

    out, cumulative = {}, {}
    for k in CANDIDATES:
        get = lambda key: values[input_name(key, k)]  # noqa: E731
        params, batch = float(get("params")), float(get("batch"))
        bpp, kv, context = float(get("bytes_per_param")), float(get("kv_bytes_per_token")), float(get("context_tokens"))
        gpu = get("gpu")
        usd_per_hour = _hardware(table, gpu, "usd_per_hour")
        peak = price_sheet.price_value(table, gpu, PEAK_FIELDS.get(str(get("precision")).casefold(), ()))
        bandwidth = _hardware(table, gpu, "mem_bw_tbs")
        gpu_memory = _hardware(table, gpu, "memory_gb")
        spec_ok = peak > 0 and bandwidth > 0 and gpu_memory > 0
        price_ok = usd_per_hour > 0
        mfu_prefill, mfu_decode, bw_eff = float(get("mfu_prefill")), float(get("mfu_decode")), float(get("bw_eff"))
        prefix = f"out_c{k}_"
        out[prefix + "memory_gb"] = serving.memory_needed_gb(params, bpp, batch, context, kv)
        train_gpu_hours = NOT_AVAILABLE
        if train_peak_ok:
            train_gpu_hours = economics.train_cost(params, float(get("train_tokens")), 1.0, train_peak,
                                                   mfu=number("in_mfu_train")).gpu_hours
        train_usd = train_gpu_hours * train_usd_per_hour if train_ok else NOT_AVAILABLE
        out |= {prefix + "train_gpu_hours": train_gpu_hours, prefix + "train_usd": train_usd}
        computed = ("replica_gpus", "s_per_token", "tokens_per_sec", "prefill_tokens_per_sec", "gpus", "gpus_month24",
                    "usd_per_mtok_input", "usd_per_mtok_output", "monthly_usd", "usd_per_mtok_effective",
                    "monthly_usd_month24", "total_usd")
        out |= {prefix + key: NOT_AVAILABLE for key in computed}
        out |= _within_target(get, peak, bandwidth, gpu_memory, usd_per_hour, n_in, n_out, prefix, spec_ok, price_ok)
        if not spec_ok:
            continue
        replica = serving.gpus_to_fit(params, gpu_memory, bpp, batch, context, kv)
        decode_args = dict(bytes_per_param=bpp, batch=batch, gpus=replica, mfu=mfu_decode, bw_eff=bw_eff,
                           kv_bytes_per_token=kv, context_tokens=context)
        with invalid_reasons() as why:
            # a missing price changes no GPU count: count with $1/GPU-hour and show no $ (as the sheet)
            month = economics.monthly_cost(params, monthly_requests, n_in, n_out,
                                           usd_per_hour if price_ok else 1.0, peak, bandwidth,
                                           bpp, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor, utilisation,
                                           replica, kv, context, memory_gb=gpu_memory)
        if why.any:
            raise InvalidInputError(f"candidate {k}: {next(r for r in why.reasons if r)}")
        gpus = month.gpus
        out |= {
            prefix + "replica_gpus": replica,
            prefix + "s_per_token": serving.time_per_output_token_s(params, peak, bandwidth, **decode_args),
            prefix + "tokens_per_sec": serving.tokens_per_sec(params, peak, bandwidth, **decode_args) / replica,
            prefix + "prefill_tokens_per_sec": serving.prefill_tokens_per_sec(params, peak, 1, mfu_prefill),
            prefix + "gpus": float(gpus[0]),
            prefix + "gpus_month24": float(gpus[MONTHS - 1]),
        }
        if not price_ok:
            continue
        monthly = month.usd
        tokens = requests * (n_in + n_out)
        out |= {
            prefix + "usd_per_mtok_input": serving.input_cost_per_mtok(params, usd_per_hour, peak, 1, mfu_prefill),
            prefix + "usd_per_mtok_output": serving.cost_per_mtok(params, usd_per_hour, peak, bandwidth, **decode_args),
            prefix + "monthly_usd": float(monthly[0]),
            prefix + "usd_per_mtok_effective": float(monthly[0]) / tokens * 1e6 if tokens > 0 else NOT_AVAILABLE,
            prefix + "monthly_usd_month24": float(monthly[MONTHS - 1]),
        }
        if train_ok:
            cumulative[k] = train_usd + np.cumsum(monthly)
            out[prefix + "total_usd"] = float(cumulative[k][-1])
    a, b = int(number("in_crossover_from")), int(number("in_crossover_to"))
    if a in cumulative and b in cumulative:
        below = np.nonzero(cumulative[b] < cumulative[a])[0]
        out["out_crossover_month"] = float(below[0] + 1) if below.size else NEVER
        out["out_crossover_saving_usd"] = out[f"out_c{a}_total_usd"] - out[f"out_c{b}_total_usd"]
    else:
        out["out_crossover_month"] = out["out_crossover_saving_usd"] = NOT_AVAILABLE
    return out


_SLO_OUTPUTS = ("slo_gpus", "slo_batch", "slo_tpot_ms", "slo_ttft_ms", "slo_tokens_per_sec", "slo_usd_per_mtok_input",
                "slo_usd_per_mtok_output")


def _within_target(get, peak, bandwidth, gpu_memory, usd_per_hour, n_in, n_out, prefix, spec_ok, price_ok) -> dict:
    """The latency-target results of one candidate with :func:`xlcalc.slo.max_batch` (n/a where none meets it)."""
    out = {prefix + key: NOT_AVAILABLE for key in _SLO_OUTPUTS}
    if not spec_ok:
        return out
    ttft = get("ttft_target_ms")
    with invalid_reasons() as why:
        r = slo.max_batch(get("shape"), peak, bandwidth, gpu_memory, n_in, n_out,
                          tpot_target_s=float(get("tpot_target_ms")) / 1e3,
                          ttft_target_s=np.inf if checks.is_empty(ttft) else float(ttft) / 1e3,
                          usd_per_hour=usd_per_hour if price_ok else 1.0,
                          bytes_per_param=float(get("bytes_per_param")),
                          kv_bytes_per_value=float(get("kv_bytes_per_value")), mfu_prefill=float(get("mfu_prefill")),
                          mfu_decode=float(get("mfu_decode")), bw_eff=float(get("bw_eff")),
                          link_gbs=float(get("link_gbs")), link_latency_us=float(get("link_latency_us")),
                          gpus=np.array([0.0]))
    if why.any:  # nothing meets the target: the sheet's status row says so in words
        return out
    out |= {prefix + "slo_gpus": float(r.gpus[0]), prefix + "slo_batch": float(r.batch[0]),
            prefix + "slo_tpot_ms": float(r.time_per_token_s[0]) * 1e3,
            prefix + "slo_ttft_ms": float(r.ttft_s[0]) * 1e3,
            prefix + "slo_tokens_per_sec": float(r.tokens_per_sec[0])}
    if price_ok:
        out |= {prefix + "slo_usd_per_mtok_input": float(r.usd_per_mtok_input[0]),
                prefix + "slo_usd_per_mtok_output": float(r.usd_per_mtok_output[0])}
    return out
