"""Limited unique data: repeated training tokens are worth less (Muennighoff et al. 2023, the data-constrained law).

Muennighoff, Rush, Barak, Le Scao, Piktus, Tazi, Pyysalo, Wolf, Raffel, "Scaling Data-Constrained Language
Models", NeurIPS 2023 (arXiv 2305.16264), Eq. 5: training on D tokens of which U are unique is worth

    D' = U + U R*_D (1 - exp(-R_D / R*_D)),   R_D = D / U - 1 repetitions (D' = D when D <= U)

effective tokens in L = E + A/N^alpha + B/D'^beta. D' never reaches U (1 + R*_D): past about 16 epochs more
repetition buys almost nothing. The inverse, for D' < U (1 + R*_D), is

    D = U (1 - R*_D ln(1 - (D'/U - 1) / R*_D))      (D = D' when D' <= U).

The constants are the published fit, as printed in the paper's code (github.com/huggingface/datablations,
README.md, "Parametric Fit"): R*_D = 15.387756, R*_N = 5.309743, with E = e^0.6254804, A = e^6.255414,
B = e^7.3049974, alpha = beta = 0.3526596 (the ``muennighoff2023`` fit of :mod:`xlcalc.core.laws`). The optima of
:mod:`xlcalc.core.objectives` use the data term only (as the issue asks); :func:`data_constrained_loss` adds
the paper's excess-parameter term R*_N too, to reproduce the paper's worked numbers.
"""

from __future__ import annotations

import numpy as np

from .._checks import Checked, overflow_checked
from .laws import get_fit
from ._chunks import chunked

R_D_STAR = 15.387756   # repetitions at which repeated data has lost 1 - 1/e of its value (datablations README)
R_N_STAR = 5.309743    # the same for parameters beyond the compute-optimal size for U tokens
DATA_FIT = "muennighoff2023"


# ----------------------------------------------------------------------------------------------
# Kernels (valid inputs only)


def _effective(tokens, unique):
    """D' for D tokens of which U unique (D' = D when D <= U)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        repeats = np.maximum(tokens / unique - 1.0, 0.0)
        capped = unique + unique * R_D_STAR * (-np.expm1(-repeats / R_D_STAR))
    return np.where(tokens <= unique, tokens, capped)


def _log_tokens_of_effective(log_effective, unique):
    """(ln D, d ln D / d ln D') for effective tokens e^log_effective and U unique tokens; ln D = inf past the cap.

    With z = (D'/U - 1)/R*: D/U = 1 - R* ln(1 - z), and d ln D / d ln D' = (D'/U) / ((D/U) (1 - z)),
    which is 1 at D' = U (the curve is smooth there) and grows without bound towards the cap.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = np.exp(log_effective) / unique            # D'/U (inf when U is inf)
        z = (ratio - 1.0) / R_D_STAR
        repeated = ratio > 1.0
        zc = np.where(repeated, np.minimum(z, 1.0), 0.0)
        tokens_per_unique = 1.0 - R_D_STAR * np.log1p(-zc)  # inf at z = 1
        log_tokens = np.where(repeated, np.log(unique) + np.log(tokens_per_unique), log_effective)
        slope = np.where(repeated, ratio / (tokens_per_unique * (1.0 - zc)), 1.0)
    return log_tokens, slope


# ----------------------------------------------------------------------------------------------
# Public functions


@chunked
@overflow_checked
def effective_tokens(tokens, unique_tokens):
    """Effective training tokens D' when D tokens repeat U unique ones (Muennighoff et al. 2023, R*_D = 15.39).

    Parameters
    ----------
    tokens : training tokens D (> 0).
    unique_tokens : unique tokens U (> 0); D' = D when D <= U.

    Examples
    --------
    >>> round(effective_tokens(4e9, 1e9) / 1e9, 4)   # 4 epochs: 3 repetitions worth 2.72 fresh epochs
    3.7257
    >>> effective_tokens(5e8, 1e9)                   # no repetition: the plain law
    500000000.0
    """
    c = Checked(tokens=tokens, unique_tokens=unique_tokens)
    c.positive("tokens", "unique_tokens")
    return c.finish(_effective(c.valid("tokens"), c.valid("unique_tokens")))


@chunked
@overflow_checked
def max_effective_tokens(unique_tokens):
    """The most effective tokens U unique tokens can ever give, U (1 + R*_D): the limit of infinitely many epochs.

    >>> max_effective_tokens(1e9) / 1e9
    16.387756
    """
    c = Checked(unique_tokens=unique_tokens)
    c.positive("unique_tokens")
    return c.finish(c.valid("unique_tokens") * (1.0 + R_D_STAR))


@chunked
@overflow_checked
def data_constrained_loss(params, tokens, unique_tokens, *, fit=DATA_FIT):
    """Loss of N params trained on D tokens of which U unique, with the paper's excess-parameter term too (its Eq. 5).

    Notes
    -----
    L = E + A / N'^alpha + B / D'^beta with D' as in the module notes and N' = U_N + U_N R*_N
    (1 - exp(-R_N / R*_N)), where U_N = min(N, the compute-optimal params for U tokens) and
    R_N = N / U_N - 1 (datablations README; U_N uses the fit's Chinchilla ratio G = (alpha A / (beta B))^(1/(alpha+beta))).

    Examples
    --------
    >>> round(data_constrained_loss(6.34e9, 242e9, 25e9), 6)   # datablations README, Figure 1 (right)
    2.225644
    """
    f = get_fit(fit)
    c = Checked(params=params, tokens=tokens, unique_tokens=unique_tokens)
    c.positive("params", "tokens", "unique_tokens")
    n, d, u = c.valid("params"), c.valid("tokens"), c.valid("unique_tokens")
    g = (f.alpha * f.A / (f.beta * f.B)) ** (1.0 / (f.alpha + f.beta))
    unique_params = np.minimum(n, (u * g) ** (f.beta / f.alpha) * g)
    repeats_n = np.maximum(n / unique_params - 1.0, 0.0)
    params_eff = unique_params + unique_params * R_N_STAR * (-np.expm1(-repeats_n / R_N_STAR))
    d_eff = _effective(d, np.minimum(u, d))
    return c.finish(f.E + f.A / params_eff**f.alpha + f.B / d_eff**f.beta)


__all__ = ["R_D_STAR", "R_N_STAR", "effective_tokens", "max_effective_tokens", "data_constrained_loss"]
