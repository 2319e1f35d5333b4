"""Reading training runs (parameters, tokens, final loss per run) from a CSV file, for fitting a scaling law.

The file needs a header row. Columns are found by name (case and spacing ignored): the parameter count in
``Parameters``, ``params``, ``N`` ...; training tokens in ``Tokens``, ``D`` ...; the final loss in
``Smoothed Loss``, ``loss`` ...; or the columns named by the caller. Lines starting with ``#`` and blank
lines are skipped, so a file can carry a commented header with its source. Fields are separated by commas,
or by semicolons or tabs when the header line has more fields split that way (European Excel exports use
semicolons, and then decimal commas: ``1,5`` is 1.5). Every problem is a
:class:`~xlcalc.errors.DataFileError` that names the file and the line.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import format_value
from .csvfile import DELIMITERS, parse_number, read_table
from ..errors import DataFileError, InvalidInputError

# Names tried in order when the caller does not name a column (compared lower-case, without spaces,
# underscores or dashes). The first set is what the paper's trainingresults.csv uses.
PARAMS_COLUMNS = ("parameters", "params", "nparams", "numparams", "modelparams", "n")
TOKENS_COLUMNS = ("tokens", "trainingtokens", "ntokens", "numtokens", "d")
LOSS_COLUMNS = ("smoothedloss", "loss", "finalloss", "trainloss", "evalloss", "l")
NAME_COLUMNS = ("modelname", "name", "run", "model")
# The most runs a file may hold: a fit holds 4,500 starts x runs in memory (0.7 MB a run: 1,000 runs took
# 740 MB and 160 s; 1e6 runs would need 34 GiB). Real sweeps have tens to a few hundred runs.
MAX_RUNS = 2_000


@dataclasses.dataclass(frozen=True)
class Runs:
    """Training runs read from a file: params, tokens, losses (arrays), a name per run, and the columns used."""

    params: np.ndarray
    tokens: np.ndarray
    losses: np.ndarray
    names: list[str]
    columns: dict[str, str]
    path: str


def _key(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " _-")


def _single(header: list[str], index: int, what: str, path: str, exact: bool = False) -> int:
    """``index``, unless another column has the same name (same key, or the same text when ``exact``)."""
    same = [i for i, h in enumerate(header) if (h == header[index] if exact else _key(h) == _key(header[index]))]
    if len(same) > 1:
        listed = " and ".join(f"{i + 1} ({header[i]!r})" for i in same)
        raise DataFileError(f"{path}: the column for {what} is ambiguous: columns {listed} have the same name; "
                            "rename or delete the copies")
    return index


def _find_column(header: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, path: str,
                 option: str) -> int:
    keys = [_key(h) for h in header]
    if wanted is not None:
        if wanted in header:
            return _single(header, header.index(wanted), what, path, exact=True)
        if _key(wanted) in keys:
            return _single(header, keys.index(_key(wanted)), what, path)
        raise DataFileError(f"{path}: no column {wanted!r} for {what}; the columns are {', '.join(map(repr, header))}")
    for candidate in candidates:
        if candidate in keys:
            return _single(header, keys.index(candidate), what, path)
    raise DataFileError(f"{path}: no column for {what} (tried {', '.join(candidates)}); name it with {option}; "
                        f"the columns are {', '.join(map(repr, header))}")


def read_runs(path, *, params_col: str | None = None, tokens_col: str | None = None,
              loss_col: str | None = None) -> Runs:
    """Read training runs (parameters, training tokens, final loss) from the CSV file at `path`.

    Columns are found by their usual names unless given; a run name is taken from a ``Model Name`` or
    ``name`` column when there is one (else ``line N``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "runs.csv"
    >>> _ = file.write_text("# my sweep\\nname,params,tokens,loss\\nsmall,1.5e8,3e9,3.5\\n")
    >>> runs = read_runs(file)
    >>> runs.params.tolist(), runs.columns["loss"]
    ([150000000.0], 'loss')
    """
    shown = str(path)
    for option, value in (("params_col", params_col), ("tokens_col", tokens_col), ("loss_col", loss_col)):
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise InvalidInputError(f"{option} = {format_value(value)} is not allowed: must be a column name "
                                    "(text) or None")
    table = read_table(path, shown, delimiters=DELIMITERS, max_rows=MAX_RUNS,
                       rows_are="runs (a fit holds every run for each of its 4,500 starts)")
    if not table.header:
        raise DataFileError(f"{shown}: the file has no header row and no runs")
    header = table.header
    chosen = {
        "params": _find_column(header, params_col, PARAMS_COLUMNS, "parameters", shown, "--params-col"),
        "tokens": _find_column(header, tokens_col, TOKENS_COLUMNS, "training tokens", shown, "--tokens-col"),
        "loss": _find_column(header, loss_col, LOSS_COLUMNS, "the final loss", shown, "--loss-col"),
    }
    used = {}
    for field, index in chosen.items():
        if index in used:
            raise DataFileError(f"{shown}: column {header[index]!r} is chosen for both {used[index]} and {field}; "
                                "name a different column for one of them")
        used[index] = field
    keys = [_key(h) for h in header]
    name_index = next((keys.index(c) for c in NAME_COLUMNS if c in keys), None)
    values = {field: [] for field in chosen}
    names = []
    for number, row in table.rows:
        for field, index in chosen.items():
            if index >= len(row) or not row[index]:
                raise DataFileError(f"{table.where(number)}: no value in column {header[index]!r}")
            values[field].append(parse_number(row[index], header[index], table.where(number),
                                              decimal_comma=table.delimiter == ";", plain=True))
        label = row[name_index] if name_index is not None and name_index < len(row) else ""
        names.append(label or f"line {number}")
    if not names:
        raise DataFileError(f"{shown}: the file has a header but no runs")
    return Runs(params=np.array(values["params"]), tokens=np.array(values["tokens"]),
                losses=np.array(values["loss"]), names=names,
                columns={field: header[index] for field, index in chosen.items()}, path=shown)
