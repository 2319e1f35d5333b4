"""The kinds of cell the deployment cost model is described with: an input, a computed cell, a block of them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Input:
    """An input cell: key (named in_<key>, or in_c<k>_<key> per candidate), label, unit, format, rule, default(s)."""

    key: str
    label: str
    unit: str
    number_format: str
    rule: str
    default: object  # one value, or a tuple with one value per candidate
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Formula:
    """A computed cell: key, label, unit, format, formula (str.format fields are keys), out_ name or calc_ name."""

    key: str
    label: str
    unit: str
    number_format: str
    formula: str
    output: bool = True
    note: str = ""
    needs: str | None = None  # a key of NEEDS: shown as NOT_AVAILABLE unless that condition holds
    wrap: bool = False  # a text that wraps in its cell (status and check messages)


@dataclasses.dataclass(frozen=True)
class Block:
    """A block of the Model sheet: title, column headers (one per candidate, or none), cells, per candidate?"""

    title: str
    headers: tuple
    cells: tuple
    per_candidate: bool
