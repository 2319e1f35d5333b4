"""The deployment cost model's outputs computed with xlcalc.core.serving and xlcalc.core.economics: the twin the sheet is
checked against."""

from __future__ import annotations

import numpy as np

from ....core import economics, serving, slo
from .... import invalid_reasons
from ....errors import InvalidInputError
from .. import checks, price_sheet
from . import band_spec
from .spec import CANDIDATES, MONTHS, NEVER, NOT_AVAILABLE, PEAK_FIELDS, check_blocks, default_inputs, input_name


def _hardware(table: dict, name, field: str) -> float:
    """A field of a listed accelerator as the sheet's lookup gives it (empty: 0; text: NaN, failing every test)."""
    return price_sheet.price_value(table, name, (field,))


def input_problem(values: dict, table: dict) -> str | None:
    """The first unusable input, worded as the sheet's Check rows (Model!C3) word it; None when all are usable."""
    return checks.first_problem(check_blocks().values(), values, {"prices": table})


def expected_outputs(inputs: dict, prices=None) -> dict:
    """The out_ values for the in_ values ``inputs``, computed with xlcalc.core.serving and xlcalc.core.economics.

    The band's out_ values are n/a while its factors are unusable (its Check row names the first; see
    :func:`.band_spec.band_problem`); the rest of the workbook is computed as usual.

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
    return _evaluate(inputs, prices)[0]


def expected_band(inputs: dict, prices=None) -> dict:
    """The Band by month sheet's figures for the in_ values ``inputs``: {(candidate, series, case): 24 values}.

    Series are gpus, monthly_usd and cumulative_usd; cases low, base and high (:mod:`.band_spec`); a value that
    cannot be computed is NOT_AVAILABLE, as in the sheet. Unusable inputs raise InvalidInputError as
    :func:`expected_outputs` does.

    Examples
    --------
    >>> band = expected_band({})
    >>> band[(1, "monthly_usd", "low")][0] < band[(1, "monthly_usd", "base")][0] < band[(1, "monthly_usd", "high")][0]
    True
    >>> expected_band({"in_band_traffic_low": 2})[(1, "gpus", "low")][0]
    'n/a'
    """
    return _evaluate(inputs, prices)[1]


def _evaluate(inputs: dict, prices=None) -> tuple[dict, dict]:
    """(out_ values, Band by month figures) for ``inputs``: see :func:`expected_outputs` and :func:`expected_band`."""
    values = default_inputs() | band_spec.default_inputs() | {k: v for k, v in inputs.items() if k.startswith("in_")}
    table = price_sheet.price_table(price_sheet.catalog_rows() if prices is None else prices)
    problem = input_problem(values, table)
    if problem is not None:
        raise InvalidInputError(problem)
    band_ok = band_spec.band_problem(values) is None
    band_factors = band_spec.factors(values) if band_ok else {}
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
    growth = (1.0 + number("in_monthly_growth")) ** (months - 1.0)

    out, cumulative, band = {}, {}, {}
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
        band_keys = [(k, series, case) for series, *_ in band_spec.SERIES for case in band_spec.CASES]
        band |= {key: [NOT_AVAILABLE] * MONTHS for key in band_keys}
        out |= {band_spec.cell_name(f.key, case, k, True): NOT_AVAILABLE for f in band_spec.CANDIDATE_CELLS if f.output
                for case in band_spec.CASES}
        if not spec_ok:
            continue
        replica = serving.gpus_to_fit(params, gpu_memory, bpp, batch, context, kv)
        decode_args = dict(bytes_per_param=bpp, batch=batch, gpus=replica, mfu=mfu_decode, bw_eff=bw_eff,
                           kv_bytes_per_token=kv, context_tokens=context)

        def month_cost(traffic=1.0, price=1.0, efficiency=1.0):
            """A MonthlyCost of the 24 months with traffic, serving price and efficiencies scaled."""
            with invalid_reasons() as why:
                # a missing price changes no GPU count: count with $1/GPU-hour and show no $ (as the sheet)
                month = economics.monthly_cost(params, requests * traffic * growth, n_in, n_out,
                                               (usd_per_hour if price_ok else 1.0) * price, peak, bandwidth, bpp,
                                               batch, mfu_prefill * efficiency, mfu_decode * efficiency,
                                               bw_eff * efficiency, peak_factor, utilisation, replica, kv, context,
                                               memory_gb=gpu_memory)
            if why.any:
                raise InvalidInputError(f"candidate {k}: {next(r for r in why.reasons if r)}")
            return month

        month = month_cost()
        if band_ok:
            train = train_usd if train_ok else None
            for case in band_spec.CASES:
                f = {key: band_factors[(key, case)] for key in ("traffic", "price", "efficiency")}
                band_out, band_months = _band_case(month_cost(**f), k, case, price_ok, train)
                out |= band_out
                band |= band_months
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
    return out, band


def _band_case(month, k: int, case: str, price_ok: bool, train_usd) -> tuple[dict, dict]:
    """A cost case's out_ values and month-by-month series for candidate k (train_usd None: no training price)."""
    name = lambda key: band_spec.cell_name(key, case, k, True)  # noqa: E731
    series = {"gpus": [float(g) for g in month.gpus]}
    out = {name("gpus_month24"): series["gpus"][-1]}
    if price_ok:
        series["monthly_usd"] = [float(u) for u in month.usd]
        out |= {name("monthly_usd"): series["monthly_usd"][0], name("monthly_usd_month24"): series["monthly_usd"][-1]}
        if train_usd is not None:
            series["cumulative_usd"] = [float(u) for u in train_usd + np.cumsum(month.usd)]
            out[name("total_usd")] = series["cumulative_usd"][-1]
    return out, {(k, key, case): values for key, values in series.items()}


_SLO_OUTPUTS = ("slo_gpus", "slo_batch", "slo_tpot_ms", "slo_ttft_ms", "slo_tokens_per_sec", "slo_usd_per_mtok_input",
                "slo_usd_per_mtok_output")


def _within_target(get, peak, bandwidth, gpu_memory, usd_per_hour, n_in, n_out, prefix, spec_ok, price_ok) -> dict:
    """The latency-target results of one candidate with :func:`xlcalc.core.slo.max_batch` (n/a where none meets it)."""
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
