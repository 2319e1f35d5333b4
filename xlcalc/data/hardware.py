"""The accelerator catalog: dense peak TFLOP/s, memory, bandwidth, power and cloud prices, from CSV files with sources.

The package ships ``data/accelerators.csv`` and ``data/prices.csv`` (read with importlib.resources);
:func:`load_catalog` reads your own files of the same shape. Names are looked up ignoring case, spaces
and punctuation, through aliases, or by a unique prefix ("h200" finds "H200 SXM").
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import io
import os
import re
from importlib import resources

from .._checks import format_value
from .csvfile import parse_number, read_table
from ..errors import DataFileError, InvalidInputError, UnknownNameError

NAN = float("nan")
SPEC_COLUMNS = ("name", "aliases", "vendor", "peak_tflops_bf16", "peak_tflops_fp8", "peak_tflops_int8",
                "memory_gb", "mem_bw_tbs", "tdp_w", "interconnect", "interconnect_gbs", "interconnect_latency_us",
                "source", "note", "interconnect_source")
PRICE_COLUMNS = ("accelerator", "provider", "product", "usd_per_hour", "region", "date_seen", "source", "note")
# Columns that a file must have; the others may be absent (empty).
_REQUIRED_SPEC = ("name", "peak_tflops_bf16", "memory_gb", "mem_bw_tbs", "source")
_REQUIRED_PRICE = ("accelerator", "provider", "usd_per_hour", "date_seen", "source")
_OPTIONAL_NUMBERS = ("peak_tflops_fp8", "peak_tflops_int8", "tdp_w", "interconnect_gbs", "interconnect_latency_us")
_PRECISIONS = {"bf16": "peak_tflops_bf16", "fp16": "peak_tflops_bf16", "fp8": "peak_tflops_fp8",
               "int8": "peak_tflops_int8"}


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """One accelerator: dense peak TFLOP/s by precision (NaN where none), memory GB, bandwidth TB/s, TDP W, interconnect GB/s and latency, lowest listed price."""

    name: str
    peak_tflops_bf16: float
    peak_tflops_fp8: float
    peak_tflops_int8: float
    memory_gb: float
    mem_bw_tbs: float
    tdp_w: float
    source: str
    usd_per_hour: float = NAN
    price_provider: str = ""
    price_date: str = ""
    price_source: str = ""
    vendor: str = ""
    aliases: tuple = ()
    note: str = ""
    interconnect: str = ""
    interconnect_gbs: float = NAN
    interconnect_latency_us: float = NAN
    interconnect_source: str = ""

    def peak_tflops(self, precision: str = "bf16") -> float:
        """Dense peak TFLOP/s at ``precision`` ('bf16', 'fp16', 'fp8' or 'int8'); NaN where the chip has none.

        >>> gpu("A100 80GB").peak_tflops("int8")
        624.0
        """
        key = str(precision).strip().lower()
        if key not in _PRECISIONS:
            raise UnknownNameError(f"precision = {precision!r} is not known: use one of {', '.join(_PRECISIONS)}")
        return getattr(self, _PRECISIONS[key])


# Fields that GPU_SPEC(name, field) may ask for (numbers first, then text).
ACCELERATOR_FIELDS = ("peak_tflops_bf16", "peak_tflops_fp8", "peak_tflops_int8", "memory_gb", "mem_bw_tbs", "tdp_w",
                      "usd_per_hour", "interconnect_gbs", "interconnect_latency_us", "name", "vendor", "source",
                      "price_provider", "price_date", "price_source", "note", "interconnect")


@dataclasses.dataclass(frozen=True)
class Price:
    """One cloud offer: accelerator (canonical name), provider, on-demand $ per accelerator-hour, date seen, source."""

    accelerator: str
    provider: str
    usd_per_hour: float
    date_seen: str
    source: str
    product: str = ""
    region: str = ""
    note: str = ""


def _key(name: str) -> str:
    """Lookup key: lower case, letters and digits only ('H100-SXM5' -> 'h100sxm5')."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


class Catalog:
    """Accelerators and prices read from CSV files; look names up with :meth:`get`."""

    def __init__(self, accelerators, prices, origin=""):
        self.origin = origin
        self._prices = list(prices)
        cheapest = {}
        for price in self._prices:
            best = cheapest.get(price.accelerator)
            if best is None or price.usd_per_hour < best.usd_per_hour:
                cheapest[price.accelerator] = price
        self._items = {}
        for acc in accelerators:
            best = cheapest.get(acc.name)
            if best is not None:
                acc = dataclasses.replace(acc, usd_per_hour=best.usd_per_hour, price_provider=best.provider,
                                          price_date=best.date_seen, price_source=best.source)
            self._items[acc.name] = acc
        self._keys = _keys_of(self._items.values())

    @property
    def names(self) -> list[str]:
        """Canonical names in file order."""
        return list(self._items)

    def get(self, name) -> Accelerator:
        """The accelerator called ``name`` (see :func:`gpu`)."""
        if isinstance(name, Accelerator):
            return name
        key = _key(name)
        if key in self._keys:
            return self._items[self._keys[key]]
        starting = sorted({canonical for k, canonical in self._keys.items() if key and k.startswith(key)},
                          key=self.names.index)
        if len(starting) == 1:
            return self._items[starting[0]]
        if starting:
            raise UnknownNameError(f"accelerator {format_value(name)} is ambiguous: it could be {', '.join(starting)}")
        close = difflib.get_close_matches(key, list(self._keys), n=5, cutoff=0.5)
        close_names = list(dict.fromkeys(self._keys[k] for k in close))
        hint = f"did you mean {', '.join(close_names)}? " if close_names else ""
        raise UnknownNameError(f"accelerator {format_value(name)} is not in the catalog: {hint}known: {', '.join(self.names)}")

    def prices(self, name=None) -> list[Price]:
        """Offers for the accelerator ``name`` (cheapest first), or every offer in file order."""
        if name is None:
            return list(self._prices)
        canonical = self.get(name).name
        return sorted((p for p in self._prices if p.accelerator == canonical), key=lambda p: p.usd_per_hour)


def _keys_of(accelerators) -> dict:
    keys = {}
    for acc in accelerators:
        for alias in (acc.name, *acc.aliases):
            keys.setdefault(_key(alias), acc.name)
    return keys


# ----------------------------------------------------------------------------------------------
# Reading CSV files


def _read_rows(source, label, columns, required):
    """Yield (line number, row dict) from a CSV file or text with '#' comment lines; check the header."""
    table = read_table(source, label)
    if not table.header:
        raise DataFileError(f"{label}: no header line (expected columns: {', '.join(columns)})")
    missing = [c for c in required if c not in table.header]
    if missing:
        raise DataFileError(f"{table.where(table.header_line)}: the header lacks the column(s) {', '.join(missing)} "
                            f"(expected columns: {', '.join(columns)})")
    for number, fields in table.rows:
        if len(fields) != len(table.header):
            raise DataFileError(f"{table.where(number)}: has {len(fields)} fields, the header has "
                                f"{len(table.header)} (quote fields that contain commas)")
        row = dict(zip(table.header, fields))
        for column in columns:
            row.setdefault(column, "")
        yield number, row


def _number(row, column, label, number, *, optional=False) -> float:
    return parse_number(row[column], column, f"{label} line {number}", optional=optional)


def _latency(row, label, number) -> float:
    """interconnect_latency_us: empty (NaN) or a number >= 0 (0 means no latency)."""
    text = row["interconnect_latency_us"].strip()
    if text in ("0", "0.0"):
        return 0.0
    return _number(row, "interconnect_latency_us", label, number, optional=True)


def _text(row, column, label, number) -> str:
    if not row[column]:
        raise DataFileError(f"{label} line {number}: {column} is empty")
    return row[column]


def _read_specs(source, label) -> list[Accelerator]:
    accelerators, seen = [], {}
    for number, row in _read_rows(source, label, SPEC_COLUMNS, _REQUIRED_SPEC):
        name = _text(row, "name", label, number)
        acc = Accelerator(
            name=name,
            peak_tflops_bf16=_number(row, "peak_tflops_bf16", label, number),
            peak_tflops_fp8=_number(row, "peak_tflops_fp8", label, number, optional=True),
            peak_tflops_int8=_number(row, "peak_tflops_int8", label, number, optional=True),
            memory_gb=_number(row, "memory_gb", label, number),
            mem_bw_tbs=_number(row, "mem_bw_tbs", label, number),
            tdp_w=_number(row, "tdp_w", label, number, optional=True),
            interconnect=row["interconnect"],
            interconnect_gbs=_number(row, "interconnect_gbs", label, number, optional=True),
            interconnect_latency_us=_latency(row, label, number),
            interconnect_source=row["interconnect_source"],
            source=_text(row, "source", label, number),
            vendor=row["vendor"],
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
            note=row["note"],
        )
        for alias in (acc.name, *acc.aliases):
            key = _key(alias)
            if not key:
                raise DataFileError(f"{label} line {number}: name or alias {alias!r} has no letters or digits")
            if key in seen and seen[key][0] != name:
                raise DataFileError(f"{label} line {number}: {alias!r} is already used by {seen[key][0]!r} "
                                    f"(line {seen[key][1]}); names ignore case and punctuation")
            seen[key] = (name, number)
        accelerators.append(acc)
    if not accelerators:
        raise DataFileError(f"{label}: has no accelerator rows")
    return accelerators


def _read_prices(source, label, accelerators) -> list[Price]:
    keys = _keys_of(accelerators)
    prices = []
    for number, row in _read_rows(source, label, PRICE_COLUMNS, _REQUIRED_PRICE):
        name = _text(row, "accelerator", label, number)
        if _key(name) not in keys:
            raise DataFileError(f"{label} line {number}: accelerator {name!r} is not in the accelerator file "
                                f"(known: {', '.join(a.name for a in accelerators)})")
        prices.append(Price(
            accelerator=keys[_key(name)],
            provider=_text(row, "provider", label, number),
            usd_per_hour=_number(row, "usd_per_hour", label, number),
            date_seen=_text(row, "date_seen", label, number),
            source=_text(row, "source", label, number),
            product=row["product"],
            region=row["region"],
            note=row["note"],
        ))
    return prices


def _label(source, default) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", default)


def load_catalog(specs_csv, prices_csv=None) -> Catalog:
    """Read an accelerator CSV (and optionally a price CSV) of the package's shape; a malformed row raises DataFileError with its line number.

    ``specs_csv`` and ``prices_csv`` are paths or open files (UTF-8 text). Without ``prices_csv`` the
    accelerators have no price (``usd_per_hour`` NaN). Lines starting with '#' are comments.

    Examples
    --------
    >>> import io
    >>> mine = load_catalog(io.StringIO("name,peak_tflops_bf16,memory_gb,mem_bw_tbs,source\\nMyChip,100,32,1.0,lab\\n"))
    >>> gpu("mychip", catalog=mine).mem_bw_tbs
    1.0
    """
    specs_label = _label(specs_csv, "accelerators CSV")
    accelerators = _read_specs(specs_csv, specs_label)
    prices = [] if prices_csv is None else _read_prices(prices_csv, _label(prices_csv, "prices CSV"), accelerators)
    return Catalog(accelerators, prices, origin=specs_label)


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalog shipped in the package (xlcalc/data/accelerators.csv and prices.csv), read once."""
    data = resources.files(__package__)
    specs = io.StringIO((data / "accelerators.csv").read_text(encoding="utf-8"))
    specs.name = "xlcalc/data/accelerators.csv"
    prices = io.StringIO((data / "prices.csv").read_text(encoding="utf-8"))
    prices.name = "xlcalc/data/prices.csv"
    return load_catalog(specs, prices)


def _catalog(catalog) -> Catalog:
    if catalog is not None and not isinstance(catalog, Catalog):
        raise InvalidInputError(f"catalog = {format_value(catalog)} is not allowed: must be a Catalog "
                                "(xlcalc.load_catalog) or None for the bundled one")
    return default_catalog() if catalog is None else catalog


# ----------------------------------------------------------------------------------------------
# Public look-ups


def gpu(name, *, catalog=None) -> Accelerator:
    """The accelerator called `name` (case, spaces and punctuation ignored; aliases and unique prefixes accepted); UnknownNameError lists close names.

    Examples
    --------
    >>> a = gpu("h100 sxm")
    >>> a.name, a.peak_tflops_bf16, a.mem_bw_tbs, a.memory_gb
    ('H100 SXM5', 989.5, 3.35, 80.0)
    >>> gpu("A100-80GB").usd_per_hour  # lowest listed on-demand $/GPU-hour
    1.39
    """
    return _catalog(catalog).get(name)


def gpu_names(*, catalog=None) -> list[str]:
    """Canonical names of the accelerators in the catalog, in file order.

    >>> gpu_names()[:3]
    ['A100-40GB SXM4', 'A100-80GB SXM4', 'H100 SXM5']
    """
    return _catalog(catalog).names


def prices(name=None, *, catalog=None) -> list[Price]:
    """Cloud offers for accelerator `name`, cheapest first (all offers in file order when no name is given).

    >>> [(p.provider, p.usd_per_hour) for p in prices("TPU v5e")]
    [('GCP', 1.2)]
    """
    return _catalog(catalog).prices(name)
