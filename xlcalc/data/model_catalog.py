"""The model-shape catalog: the published architectures of dense decoder-only models, read from model_shapes.csv.

The package ships ``data/model_shapes.csv`` (Llama 2, Llama 3.x, Mistral 7B, Qwen2.5, Gemma 2), read with
importlib.resources; every row names the config.json it comes from and the parameter count its model card
states. Names are looked up ignoring case, spaces and punctuation. :mod:`xlcalc.data.model_shapes` is the
public face (a shape by name or by parameter count, and the quantities that follow from a shape).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import io
import re
from importlib import resources

from .._checks import format_value
from .csvfile import parse_number, read_table
from ..errors import DataFileError, InvalidInputError, UnknownNameError

SHAPE_COLUMNS = ("name", "aliases", "family", "layers", "d_model", "heads", "kv_heads", "head_dim", "ffn", "vocab",
                 "tied", "qkv_bias", "norms_per_layer", "card_params", "card_source", "date", "source")
_COUNTS = ("layers", "d_model", "heads", "kv_heads", "head_dim", "ffn", "vocab", "norms_per_layer", "card_params")
_FLAGS = ("tied", "qkv_bias")


@dataclasses.dataclass(frozen=True)
class ModelShape:
    """A dense decoder-only transformer: layers, widths, heads, vocabulary; params and KV cache follow from them.

    An interpolated shape (``interpolated`` true) has fractional widths and head counts chosen so that
    :attr:`params` equals the count asked for.
    """

    name: str
    layers: float
    d_model: float
    heads: float
    kv_heads: float
    head_dim: float
    ffn: float
    vocab: float
    tied: bool
    qkv_bias: bool = False
    norms_per_layer: float = 2
    family: str = ""
    card_params: float = float("nan")
    card_source: str = ""
    date: str = ""
    source: str = ""
    aliases: tuple = ()
    interpolated: bool = False

    @property
    def q_dim(self) -> float:
        """Width of the query projection: heads x head_dim (not always d_model: Gemma 2 2B has 2048 < 2304)."""
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> float:
        """Width of the key (and of the value) projection: kv_heads x head_dim."""
        return self.kv_heads * self.head_dim

    @property
    def embedding_params(self) -> float:
        """Parameters of the input embedding, vocab x d_model (a lookup: no FLOPs, not streamed per step)."""
        return self.vocab * self.d_model

    @property
    def params(self) -> float:
        """Exact parameter count from the shape: embeddings, attention, gated MLP, norms and biases.

        Notes
        -----
        per block = d q (W_q) + 2 d kv (W_k, W_v) + q d (W_o) + 3 d ffn (gate, up, down) + norms d
        + bias (q + 2 kv); params = layers x per block + vocab d (x 2 when the head is not tied) + d.
        """
        d, q, kv = self.d_model, self.q_dim, self.kv_dim
        block = d * q + 2 * d * kv + q * d + 3 * d * self.ffn + self.norms_per_layer * d
        block += (q + 2 * kv) if self.qkv_bias else 0.0
        return self.layers * block + self.embedding_params * (1 if self.tied else 2) + d

    @property
    def matmul_params(self) -> float:
        """Parameters used in matrix products per token: all but an untied input embedding (2 FLOPs each per token)."""
        return self.params - (0.0 if self.tied else self.embedding_params)

    def kv_bytes_per_token(self, bytes_per_value=2):
        """KV-cache bytes per token of context: 2 (K and V) x layers x kv_heads x head_dim x bytes_per_value."""
        from .model_shapes import kv_bytes_per_token  # the checked quantity (that module imports this one)

        return kv_bytes_per_token(self, bytes_per_value)

    def weights_bytes(self, bytes_per_param=2):
        """Bytes the weights occupy: params x bytes_per_param."""
        from .model_shapes import weights_bytes

        return weights_bytes(self, bytes_per_param)

    def flops_per_token(self, context_tokens=0):
        """FLOPs to process one token that attends to `context_tokens` earlier tokens: 2 x matmul params + 4 x layers x heads x head_dim x context."""
        from .model_shapes import flops_per_token

        return flops_per_token(self, context_tokens)



# ----------------------------------------------------------------------------------------------
# The catalog


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _read_shapes(source, label) -> list[ModelShape]:
    table = read_table(source, label)
    missing = [c for c in SHAPE_COLUMNS if c not in table.header]
    if missing:
        raise DataFileError(f"{table.where(table.header_line)}: the header lacks the column(s) {', '.join(missing)}")
    shapes = []
    for number, fields in table.rows:
        if len(fields) != len(table.header):
            raise DataFileError(f"{table.where(number)}: has {len(fields)} fields, the header has {len(table.header)}")
        row = dict(zip(table.header, fields))
        where = table.where(number)
        counts = {c: parse_number(row[c], c, where) for c in _COUNTS}
        flags = {}
        for column in _FLAGS:
            if row[column] not in ("0", "1"):
                raise DataFileError(f"{where}: {column} = {row[column]!r} is not allowed: must be 0 or 1")
            flags[column] = row[column] == "1"
        shapes.append(ModelShape(name=row["name"], family=row["family"], card_source=row["card_source"],
                                 date=row["date"], source=row["source"],
                                 aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
                                 **counts, **flags))
    return shapes


@functools.lru_cache(maxsize=1)
def shape_catalog() -> dict[str, ModelShape]:
    """The shipped catalog (xlcalc/data/model_shapes.csv), canonical name -> shape, in file order; read once."""
    text = (resources.files(__package__) / "model_shapes.csv").read_text(encoding="utf-8")
    return {shape.name: shape for shape in _read_shapes(io.StringIO(text), "xlcalc/data/model_shapes.csv")}


@functools.lru_cache(maxsize=1)
def _keys() -> dict[str, str]:
    keys = {}
    for shape in shape_catalog().values():
        for alias in (shape.name, *shape.aliases):
            keys.setdefault(_key(alias), shape.name)
    return keys


def model_names() -> list[str]:
    """Canonical names of the models in the shape catalog, in file order.

    >>> model_names()[:3]
    ['Llama-2-7B', 'Llama-2-13B', 'Llama-2-70B']
    """
    return list(shape_catalog())


def _named_shape(name: str) -> ModelShape:
    key = _key(name)
    if key in _keys():
        return shape_catalog()[_keys()[key]]
    close = difflib.get_close_matches(key, list(_keys()), n=5, cutoff=0.6)
    close_names = list(dict.fromkeys(_keys()[k] for k in close))
    hint = f"did you mean {', '.join(close_names)}? " if close_names else ""
    raise UnknownNameError(f"model {name!r} is not in the shape catalog: {hint}known: {', '.join(model_names())}; "
                           "or give a parameter count")


def _catalog_shapes(catalog) -> list:
    """The shapes of a ``catalog=`` argument (a dict or a list of ModelShape, at least two), or InvalidInputError."""
    shapes = list(catalog.values()) if isinstance(catalog, dict) else list(catalog) if isinstance(catalog, (list, tuple)) else []
    if len(shapes) < 2 or not all(isinstance(shape, ModelShape) for shape in shapes):
        raise InvalidInputError(f"catalog = {format_value(catalog) if not isinstance(catalog, (dict, list, tuple)) else type(catalog).__name__} "
                                "is not allowed: must be a dict or list of at least two ModelShape")
    return shapes

