"""The fixed-budget optimum (xlcalc.budget_optimal) for a chunk whose fit constants are columns (one per sample).

:func:`xlcalc.budget_optimal`'s kernels take one fit for the whole chunk (its logarithms of the
constants are Python floats); here every constant is an array beside the budgets, so one vectorised solve
covers samples x scenarios (xlcalc.core.uncertainty). The equations, brackets and solver are the same (see
xlcalc.core.lifetime's Notes); a point fit goes to the kernel itself, so a collapsed range gives its digits.
"""

from __future__ import annotations

import math

import numpy as np

from ._solve import solve_decreasing
from .laws import _chinchilla_tokens, _loss
from .lifetime import _budget_kernels


def budget_results(f, total_flops, inference_tokens) -> tuple:
    """BudgetOptimum's eight numbers (params, tokens, loss, train and inference FLOPs, Chinchilla params, tokens,
    loss) for a chunk; ``f`` has E, A, B, alpha, beta as floats (a point fit) or arrays of the chunk's shape."""
    if np.ndim(f.beta) == 0:  # a point fit: budget_optimal's own kernels, so a collapsed range gives its digits
        total_flops, inference_tokens = np.broadcast_arrays(np.asarray(total_flops, float),
                                                            np.asarray(inference_tokens, float))
        out = tuple(np.empty(total_flops.shape) for _ in range(8))
        _budget_kernels(f)[1](f, total_flops.ravel(), inference_tokens.ravel(), [o.reshape(-1) for o in out])
        return out
    a, b, big_a, big_b = (np.asarray(getattr(f, k), dtype=float) for k in ("alpha", "beta", "A", "B"))
    total_flops, inference_tokens = np.broadcast_arrays(np.asarray(total_flops, float),
                                                        np.asarray(inference_tokens, float))
    third, log_c = inference_tokens / 3.0, np.log(total_flops)
    log_ratio = np.log(b * big_b) - np.log(a * big_a)

    def value_and_slope(x, i):  # g(x) = ln(beta B D^-beta (1 + T/(3D))) - ln(alpha A (6(D + T/3)/C)^alpha)
        d = np.exp(x)
        ratio = third[i] / d
        g = log_ratio[i] - b[i] * x + np.log1p(ratio) - a[i] * (np.log(6.0 * (d + third[i])) - log_c[i])
        return g, -b[i] - ratio / (1.0 + ratio) - a[i] * d / (d + third[i])

    n0 = np.power(a * big_a / (b * big_b), 1.0 / (a + b)) * np.power(total_flops / 6.0, b / (a + b))
    x0 = np.log(total_flops / (6.0 * n0))  # the training-only Chinchilla optimum for the whole budget
    value0, _ = value_and_slope(x0, slice(None))
    width = np.abs(value0) / b * (1 + 1e-12) + 1e-12  # the slope is below -beta: the root is within |g0| / beta
    lo, hi = np.where(value0 > 0, x0, x0 - width), np.where(value0 > 0, x0 + width, x0)
    log_tokens, _ = solve_decreasing(value_and_slope, lo, hi, x0=x0)
    # the Chinchilla-proportioned model (D = k N^(alpha/beta)) that spends the same budget: z = ln N
    log_6k = math.log(6.0) + log_ratio / b
    power = 1.0 + a / b
    with np.errstate(divide="ignore"):
        log_2t = np.log(2.0 * inference_tokens)
    top = np.minimum((log_c - log_6k) / power, log_c - log_2t)

    def chinchilla_value_and_slope(z, i):  # negated so that it decreases
        first, second = log_6k[i] + power[i] * z, log_2t[i] + z
        total = np.logaddexp(first, second)
        w_first = np.exp(first - total)
        return -(total - log_c[i]), -(power[i] * w_first + (1.0 - w_first))

    log_params, _ = solve_decreasing(chinchilla_value_and_slope, top - math.log(2.0), top, x0=top)
    tokens, ch_params = np.exp(log_tokens), np.exp(log_params)
    params = total_flops / (6.0 * tokens + 2.0 * inference_tokens)
    ch_tokens = _chinchilla_tokens(f, ch_params)
    return (params, tokens, _loss(f, params, tokens), 6.0 * params * tokens, 2.0 * params * inference_tokens,
            ch_params, ch_tokens, _loss(f, ch_params, ch_tokens))
