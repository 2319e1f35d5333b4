"""Owned hardware and energy: $ per busy GPU-hour of a bought GPU, and kWh per million generated tokens.

Every function broadcasts like numpy; scalar in, float out.
"""

from __future__ import annotations

from .._scalar_checks import FloatChecked, float_fast_path
from .serving import _checked_decode, _valid_step_s
from ..units import SECONDS_PER_HOUR, TOKENS_PER_MTOK
from ._chunks import chunked

HOURS_PER_YEAR = 8760.0          # 365 days: amortisation counts calendar hours
WATTS_PER_KW = 1000.0


# ----------------------------------------------------------------------------------------------
# Owned hardware and energy


@chunked
@float_fast_path
def owned_usd_per_hour(purchase_usd, years, tdp_w, pue=1.2, usd_per_kwh=0.10, utilisation=1.0):
    """$ per busy GPU-hour of owned hardware: purchase price amortised over `years` plus power at TDP x PUE x $/kWh.

    Notes
    -----
    usd_per_hour = purchase_usd / (years 8760 utilisation) + tdp_w / 1000 pue usd_per_kwh. The
    purchase is spread over the hours the GPU is busy; power is paid while busy (idle power ignored).

    Examples
    --------
    >>> round(owned_usd_per_hour(30000, 4, 700), 4)  # a $30,000 H100 over 4 years, 700 W, PUE 1.2, $0.10/kWh
    0.9402
    """
    c = FloatChecked(purchase_usd=purchase_usd, years=years, tdp_w=tdp_w, pue=pue, usd_per_kwh=usd_per_kwh,
                utilisation=utilisation)
    c.non_negative("purchase_usd", "usd_per_kwh")
    c.positive("years", "tdp_w")
    c.at_least("pue", 1.0, "must be a number >= 1 (facility power / IT power)")
    c.fraction("utilisation")
    amortised = c.valid("purchase_usd") / (c.valid("years") * HOURS_PER_YEAR * c.valid("utilisation"))
    power = c.valid("tdp_w") / WATTS_PER_KW * c.valid("pue") * c.valid("usd_per_kwh")
    return c.finish(amortised + power)


@chunked
@float_fast_path
def energy_kwh_per_mtok(params, tdp_w, peak_tflops, mem_bw_tbs, bytes_per_param=2, batch=1, gpus=1, mfu=1.0,
                        bw_eff=1.0, kv_bytes_per_token=0, context_tokens=0, pue=1.2):
    """kWh per million generated tokens at TDP x PUE: gpus x tdp_w x pue / 1000 x 1e6 / (tokens_per_sec x 3600).

    Notes
    -----
    energy = gpus tdp_w pue / 1000 kW x 1e6 / tokens_per_sec / 3600 h, with the roofline decode
    throughput of :func:`xlcalc.core.serving.tokens_per_sec`. TDP is an upper bound on board power.

    Examples
    --------
    >>> round(energy_kwh_per_mtok(7e9, 400, 312, 2.0), 4)  # 7B on a 400 W A100 at batch 1
    0.9333
    """
    c = _checked_decode(params, peak_tflops, mem_bw_tbs, bytes_per_param, batch, gpus, mfu, bw_eff,
                        kv_bytes_per_token, context_tokens, tdp_w=tdp_w, pue=pue)
    c.positive("tdp_w")
    c.at_least("pue", 1.0, "must be a number >= 1 (facility power / IT power)")
    rate = c.valid("batch") / _valid_step_s(c)
    kw = c.valid("gpus") * c.valid("tdp_w") * c.valid("pue") / WATTS_PER_KW
    return c.finish(kw * TOKENS_PER_MTOK / rate / SECONDS_PER_HOUR)

