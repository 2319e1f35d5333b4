"""Hostile and plausible values for the fuzz tests (tests/test_fuzz_*.py), drawn from a seeded generator.

How many calls each fuzz test makes comes from the environment: ``XLCALC_FUZZ_CALLS`` (default
:data:`DEFAULT_CALLS`, quick enough for every run; CI sets it higher for the full run), and
``XLCALC_FUZZ_SEED`` (default 0) picks the sequence. A failure names the seed and the call, so it can be
replayed with the same two variables.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random

import numpy as np

DEFAULT_CALLS = 300
CALLS = int(os.environ.get("XLCALC_FUZZ_CALLS", DEFAULT_CALLS))
SEED = int(os.environ.get("XLCALC_FUZZ_SEED", 0))
REPLAY = f"(replay with XLCALC_FUZZ_SEED={SEED} XLCALC_FUZZ_CALLS={CALLS})"

# Values a cell, a Python caller or a shell user can hand over that are meant to break things.
HOSTILE_NUMBERS = (math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, -5e-324, 2.2250738585072014e-308,
                   1e-300, 10**400, -(10**400), 2**1023 * 2 - 1, 1, -1, 0.5, 1e-9, 1e30, 1e100, 1e200, 9007199254740993,
                   np.float64(np.nan), np.float32(1e30), np.int64(-7), np.int64(2**62), 1.7100000000000002)
HOSTILE_OTHERS = (True, False, None, "", " ", "abc", "1e9", "-1", "1e400", "nan", "inf", "#DIV/0!", "#N/A", "#VALUE!",
                  "#NAME?", "chinchilla", "Chinchilla ", "=1+1", "\x00", "é" * 3, "x" * 5000, "1" * 400,
                  dt.date(2024, 1, 1), dt.datetime(1899, 12, 30), dt.datetime(9999, 12, 31, 23, 59), b"bytes",
                  complex(1, 2), {"a": 1}, (), [], object())
HOSTILE = HOSTILE_NUMBERS + HOSTILE_OTHERS

FIT_NAMES = ("chinchilla", "hoffmann2022", "epoch2024", "muennighoff2023")


def plausible(rng: random.Random, name: str) -> float:
    """A value a real user might pass for an argument called ``name``."""
    name = name.lower()
    if "loss" in name and "ratio" not in name:
        return rng.uniform(1.7, 4.0)
    if "mfu" in name or "eff" in name or name in ("utilization", "occupancy"):
        return rng.uniform(0.01, 1.0)
    if name in ("batch", "gpus", "layers", "kv_heads", "head_dim") or name.endswith("_count"):
        return float(rng.randint(1, 128))
    if "bytes" in name:
        return float(rng.choice((0.5, 1, 2, 4)))
    if "flops" in name and "tflops" not in name:
        return 10 ** rng.uniform(18, 27)
    if "tflops" in name:
        return rng.uniform(50, 2000)
    if "bw" in name or "tbs" in name:
        return rng.uniform(0.5, 8)
    if "usd" in name or "price" in name or "cost" in name:
        return rng.uniform(0.3, 20)
    if "params" in name:
        return 10 ** rng.uniform(6, 12)
    if "tokens" in name or "requests" in name or "context" in name:
        return 10 ** rng.uniform(2, 14)
    if "year" in name or "days" in name or "month" in name:
        return rng.uniform(0.5, 5)
    return 10 ** rng.uniform(-2, 10)


def hostile(rng: random.Random):
    """One hostile value."""
    return rng.choice(HOSTILE)


def number(rng: random.Random, name: str, hostility: float = 0.3):
    """A plausible value for ``name``, or a hostile one with probability ``hostility``."""
    return hostile(rng) if rng.random() < hostility else plausible(rng, name)


def shape(rng: random.Random) -> tuple[int, int]:
    """A range shape: mostly one cell or a small range, sometimes a long column or row, rarely a big block."""
    roll = rng.random()
    if roll < 0.55:
        return (1, 1)
    if roll < 0.9:
        return (rng.randint(1, 4), rng.randint(1, 4))
    if roll < 0.98:
        return rng.choice(((rng.randint(100, 3000), 1), (1, rng.randint(100, 3000))))
    return (rng.randint(20, 120), rng.randint(20, 120))


def cells(rng: random.Random, name: str, make=None, hostility: float = 0.3):
    """An Excel argument: a single value, or rows of values (a range), as xlwings hands them over."""
    make = make or (lambda: number(rng, name, hostility))
    rows, columns = shape(rng)
    if (rows, columns) == (1, 1) and rng.random() < 0.6:
        return make()
    if rows * columns > 500:  # a big range: one value repeated, with a few hostile cells scattered in
        grid = [[plausible(rng, name)] * columns for _ in range(rows)]
        for _ in range(rng.randint(0, 5)):
            grid[rng.randrange(rows)][rng.randrange(columns)] = hostile(rng)
        return grid
    return [[make() for _ in range(columns)] for _ in range(rows)]


def odd_container(rng: random.Random):
    """Shapes no worksheet range has: ragged rows, 3-D, empty, numpy arrays of objects."""
    return rng.choice(([[1.0, 2.0], [3.0]], [[[1.0]]], [[]], [], np.zeros((2, 2, 2)), np.array([1.0, "x"], dtype=object),
                       np.array([[1e9, 2e9]]), np.float64(3.0), np.array(5.0), [[None, None]], [1e9, [2e9]]))
