"""The start of the capped fixed-MFU solve (xlcalc.core._capped_start): a table of where the minimum lies."""

import numpy as np

import xlcalc
from xlcalc.core import _capped_start, laws
from xlcalc.core._objective_kernels import _capped
from xlcalc.core.data_limits import R_D_STAR


def _capped_rows(fit, count, seed):
    """(k, free x) of capped fixed-MFU rows over losses, caps and serving costs of many orders of magnitude."""
    rng = np.random.default_rng(seed)
    f = laws.get_fit(fit)
    sizes = 10 ** rng.uniform(6, 13, count)
    loss = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes, fit=fit), fit=fit)
    unique = xlcalc.chinchilla_tokens(sizes, fit=fit) * 10 ** rng.uniform(-2, 0.3, count)
    s = 10 ** rng.uniform(4, 16, count)
    c = loss - f.E
    reachable = f.B / (unique * (1 + R_D_STAR)) ** f.beta < c
    k = dict(c=c[reachable], unique=unique[reachable], log_unique=np.log(unique[reachable]), capped=True,
             roof=False, s=s[reachable])
    return f, k


def test_the_start_lies_near_the_minimum_for_each_fit():
    for fit in ("chinchilla", "epoch2024", "muennighoff2023"):
        f, k = _capped_rows(fit, 20000, 5)
        x = _capped(f, k)   # from ln U (the rows whose minimum lies below it end there)
        start = _capped_start.start_log_effective(f, k["c"], k["unique"], k["log_unique"], k["s"])
        repeats = x > k["log_unique"] + 1e-9    # where the minimum repeats data (else it is ln U, the bracket's end)
        assert repeats.mean() > 0.5, fit
        gap = np.abs(start - x)[repeats]
        assert np.percentile(gap, 99) < 0.02 and gap.max() < 0.2, (fit, np.percentile(gap, [50, 99]), gap.max())


def test_the_table_solves_the_balance():
    """Where the table's h is inside (0, H_MOST), F' changes sign across it (the bisection's bracket)."""
    h = _capped_start.table(0.336, 0.283)
    assert h.shape == (_capped_start.LOG_SIGMA_POINTS, _capped_start.SHARE_POINTS) and not h.flags.writeable
    sigma = np.exp(_capped_start.LOG_SIGMA_FIRST + _capped_start.LOG_SIGMA_STEP * np.arange(h.shape[0]))[:, None]
    share = _capped_start.SHARE_FIRST + _capped_start.SHARE_STEP * np.arange(h.shape[1])
    q = share[None, :] * (1.0 + R_D_STAR) ** 0.283
    width = _capped_start.H_MOST / 2 ** _capped_start.BISECTIONS   # the bisection's last bracket
    inside = (h > width) & (h < _capped_start.H_MOST - width)
    assert 0.3 < inside.mean() < 1.0
    below = _capped_start._balance(h - width, q, sigma, 0.336, 0.283)
    above = _capped_start._balance(h + width, q, sigma, 0.336, 0.283)
    assert np.all(below[inside] <= 0.0) and np.all(above[inside] >= 0.0)
