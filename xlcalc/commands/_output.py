"""Shared printing for commands: readable tables, and JSON of plain numbers."""

from __future__ import annotations

import json
import math
import sys

SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def human(value: float, kind: str = "") -> str:
    """A number as people write it: 24.18B params, 2.657T tokens, 2.41e+20 FLOPs, $1,234, 12.3%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "percent":
        return f"{value * 100:.2f}%"
    if kind == "usd":
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
    if kind == "flops":
        return f"{value:.4g}"
    if kind in ("params", "tokens"):
        for scale, suffix in SUFFIXES:
            if abs(value) >= scale:
                return f"{value / scale:.4g}{suffix}"
    return f"{value:.6g}"


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
