"""Shared by the commands: readable tables, JSON of plain numbers, and negative numbers as option values."""

from __future__ import annotations

import json
import math
import re
import sys

SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
HUGE = 1e15   # beyond this, numbers print as 1.23e+20 (a suffix or digit grouping would be unreadable)


def human(value: float, kind: str = "") -> str:
    """A number as people write it: 24.18B params, 2.657T tokens, 2.41e+20 FLOPs, $1,234, 12.3%, a loss 2.103452.

    Huge values print as %g (1.5e+228%, $3.2e+21) so a table never holds a 200-digit number.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "percent":
        return f"{value * 100:.2f}%" if abs(value * 100) < 1e6 else f"{value * 100:.4g}%"
    if kind == "usd":
        if abs(value) >= HUGE:
            return f"${value:.4g}"
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
    if kind == "flops":
        return f"{value:.4g}"
    if kind == "loss":
        return decimals(value, 6)
    if kind in ("params", "tokens"):
        for scale, suffix in SUFFIXES:
            if scale <= abs(value) < HUGE:
                return f"{value / scale:.4g}{suffix}"
        return f"{value:.4g}"
    return f"{value:.6g}"


def decimals(value: float, places: int) -> str:
    """``value`` with a fixed number of decimal places (3.5000), or as %g when it is huge (1.2e+300)."""
    return f"{value:.{places}f}" if abs(value) < 1e6 else f"{value:.{places + 1}g}"


def print_table(title: str, header: list[str], rows: list[list[str]], notes: list[str] = (), file=None) -> None:
    """Print a title, an aligned table (first column left, others right) and notes."""
    file = file or sys.stdout
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(title, file=file)
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line, file=file)
    print("-" * len(line), file=file)
    for row in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))),
              file=file)
    for note in notes:
        print(note, file=file)


def print_json(payload: dict, file=None) -> None:
    """Print a dict as JSON (NaN becomes null)."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    json.dump(clean(payload), file or sys.stdout, indent=2)
    print(file=file or sys.stdout)


# What argparse takes for a negative number rather than an option (xlcalc.cli._Parser uses it): -5, -2e9, -.5, -70B, -inf. Its own
# pattern (^-\d+$|^-\d*\.\d+$) misses exponents, so `--requests -2e9` failed with "expected one argument".
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[kKmMbBtT]?$|^-(inf|nan)$", re.IGNORECASE)
