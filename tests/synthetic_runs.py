"""Synthetic training runs shaped like published ones, for the fitting tests and benchmarks/fit.py."""

import numpy as np

from xlcalc.core.laws import loss

# Hoffmann et al.'s nine IsoFLOP budgets, which Epoch's extraction (245 points read off Hoffmann's Figure 4,
# 240 used in their fit) spans: model sizes 5.7e7 to 1.6e10, tokens 2.5e8 to 3.2e11.
EPOCH_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)


def epoch_shaped_runs(seed=0, points=240):
    """240 runs spread as in Epoch's replication, losses from their fit with noise like an extraction from a plot.

    Per budget, model sizes log-spaced over Epoch's range with tokens C/(6N) inside theirs, jittered as points
    read off a figure are; losses from the epoch2024 fit with 1% log-normal noise, heavy (Student-t, 2 degrees
    of freedom, scale 0.5%) tails and rounded to 0.005 (Epoch's 245 losses take only 99 distinct values).
    """
    rng = np.random.default_rng(seed)
    params, tokens = [], []
    for budget in EPOCH_BUDGETS:
        n = np.geomspace(5.7e7, 1.6e10, 60)
        n = n[(budget / (6 * n) > 2.45e8) & (budget / (6 * n) < 3.2e11)]
        n = n[np.sort(rng.choice(n.size, min(n.size, points // len(EPOCH_BUDGETS) + 1), replace=False))]
        n = n * np.exp(rng.normal(0, 0.02, n.size))
        params.append(n)
        tokens.append(budget * np.exp(rng.normal(0, 0.05, n.size)) / (6 * n))
    n, d = np.concatenate(params)[:points], np.concatenate(tokens)[:points]
    noise = rng.normal(0, 0.01, n.size) + 0.005 * rng.standard_t(2, n.size)
    return n, d, np.round(loss(n, d, fit="epoch2024") * np.exp(noise) / 0.005) * 0.005


def noisy_runs(seed, points=14):
    """Few runs, 10% log-normal noise and a 3% step in loss at mid size: several competing minima."""
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(7.5, 10.5, points)
    d = n * 10 ** rng.uniform(0, 2.5, points)
    losses = loss(n, d, fit="chinchilla") * np.exp(rng.normal(0, 0.1, points))
    return n, d, np.where(n > np.median(n), 0.97 * losses, losses)


def spread_runs(points, seed=0, fit="epoch2024", noise=0.0):
    """``points`` runs with sizes 3e7 to 3e10 and 1 to 300 tokens per parameter, log-uniform, optional noise."""
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(7.5, 10.5, points)
    d = n * 10 ** rng.uniform(0, 2.5, points)
    return n, d, loss(n, d, fit=fit) * np.exp(rng.normal(0, noise, points))
