"""Model shapes: a shape by catalog name or for a bare parameter count, and the quantities that follow from it.

From a shape follow the numbers serving needs: KV-cache bytes per token, weight bytes and FLOPs per token
including attention over the context. The catalog and its reading are in :mod:`xlcalc.data.model_catalog`,
the shape of a bare parameter count (interpolated from the catalog) in :mod:`xlcalc.data.shape_interpolation`;
their public names are importable from here too.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .._checks import Checked, format_value, overflow_checked
from ..errors import InvalidInputError, UnknownNameError
from .model_catalog import SHAPE_COLUMNS, ModelShape, _named_shape, model_names, shape_catalog  # noqa: F401
from .shape_interpolation import (  # noqa: F401
    _TOO_LARGE,
    MAX_INTERPOLATED_PARAMS,
    _catalog_ratios,
    _interpolate,
    interpolate_one,
    interpolated_shape,
    interpolation_checked,
    leave_one_out_errors,
)


# ----------------------------------------------------------------------------------------------
# Quantities of a shape (broadcast over their numeric argument)


def kv_bytes_per_token(shape: ModelShape, bytes_per_value=2):
    """KV-cache bytes per token of context of `shape`: 2 x layers x kv_heads x head_dim x bytes_per_value (any precision).

    Examples
    --------
    >>> kv_bytes_per_token(model_shape("Llama-2-7B"))        # FP16: 0.5 MiB per token
    524288.0
    >>> kv_bytes_per_token(model_shape("Llama-3.1-70B"), 1)  # FP8 KV cache, 8 KV heads
    163840.0
    """
    shape = model_shape(shape)  # a ModelShape, or a catalog name or parameter count
    c = Checked(bytes_per_value=bytes_per_value)
    c.positive("bytes_per_value")
    return c.finish(2.0 * shape.layers * shape.kv_dim * c.valid("bytes_per_value"))


@overflow_checked
def weights_bytes(shape: ModelShape, bytes_per_param=2):
    """Bytes the weights of `shape` occupy: params x bytes_per_param.

    Examples
    --------
    >>> weights_bytes(model_shape("Llama-2-70B"), 1) / 1e9  # int8
    68.976648192
    """
    shape = model_shape(shape)  # a ModelShape, or a catalog name or parameter count
    c = Checked(bytes_per_param=bytes_per_param)
    c.positive("bytes_per_param")
    return c.finish(shape.params * c.valid("bytes_per_param"))


def flops_per_token(shape: ModelShape, context_tokens=0):
    """FLOPs of one token attending to `context_tokens` tokens: 2 x matmul_params + 4 x layers x q_dim x context.

    Notes
    -----
    Each weight of a matrix product costs 2 FLOPs per token; attention adds, per layer and query head,
    a score per context token (2 head_dim FLOPs) and a weighted sum of values (2 head_dim FLOPs).
    Gemma 2's sliding-window layers are counted as full attention (an upper bound).

    Examples
    --------
    >>> s = model_shape("Llama-2-7B")
    >>> flops_per_token(s) == 2 * s.matmul_params
    True
    >>> round(flops_per_token(s, 4096) / flops_per_token(s), 3)  # attention over 4k tokens adds 16%
    1.163
    """
    shape = model_shape(shape)  # a ModelShape, or a catalog name or parameter count
    c = Checked(context_tokens=context_tokens)
    c.non_negative("context_tokens")
    return c.finish(2.0 * shape.matmul_params + 4.0 * shape.layers * shape.q_dim * c.valid("context_tokens"))



def model_shape(name_or_params) -> ModelShape:
    """The shape of a catalog model by name, or one interpolated from the catalog for a bare parameter count (e.g. 30E9).

    An unknown name raises UnknownNameError listing close matches. See :func:`interpolated_shape` for
    the rule used for a count.

    Examples
    --------
    >>> s = model_shape("llama 3.1 70b")
    >>> s.name, s.layers, s.kv_heads, int(s.params)
    ('Llama-3.1-70B', 80.0, 8.0, 70553706496)
    >>> round(model_shape(30e9).params)
    30000000000
    """
    if isinstance(name_or_params, ModelShape):
        return name_or_params
    if name_or_params is None or isinstance(name_or_params, (bool, np.bool_)):
        raise InvalidInputError(f"model = {name_or_params!r} is not allowed: must be a name or a parameter count")
    if isinstance(name_or_params, str):
        text = name_or_params.strip()
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return _named_shape(text)
        return interpolated_shape(number)
    return interpolated_shape(name_or_params)



# ----------------------------------------------------------------------------------------------
# Many cells at once (the Excel functions)


def shape_numbers(name_or_params, fields: tuple) -> tuple:
    """The ``fields`` (of :class:`ShapeArrays`) of one name or count as floats: what :func:`shape_arrays` gives for it.

    A name or count is looked up once and kept (tuples are immutable); a count is interpolated as
    :func:`shape_arrays` does (params is then the count itself). Errors are those of :func:`model_shape`.
    """
    if type(name_or_params) is str:
        return _named_numbers(name_or_params, fields)
    if isinstance(name_or_params, ModelShape):
        return tuple(float(getattr(name_or_params, f)) for f in fields)
    return _count_numbers(interpolation_checked(name_or_params), fields)


@functools.lru_cache(maxsize=256)
def _count_numbers(count: float, fields: tuple) -> tuple:
    got = interpolate_one(count)  # the digits of shape_arrays' vectorised rule
    return tuple(got[f] for f in fields)


@functools.lru_cache(maxsize=256)
def _named_numbers(name: str, fields: tuple) -> tuple:
    shape = model_shape(name)
    return tuple(float(getattr(shape, f)) for f in fields)


@dataclasses.dataclass(frozen=True)
class ShapeArrays:
    """The numbers of many shapes, one array each (NaN where the name or count was unusable)."""

    params: np.ndarray
    matmul_params: np.ndarray
    layers: np.ndarray
    d_model: np.ndarray
    q_dim: np.ndarray
    kv_dim: np.ndarray


# Beyond this a shape would be extrapolated a thousandfold past the largest catalog model (405B), and its widths


def _count_or_inf(value) -> float:
    """A parameter count as a float; inf for an integer beyond the float range (then refused with a reason)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def shape_arrays(values) -> tuple[ShapeArrays, np.ndarray]:
    """Shapes for an array of names and/or parameter counts: (ShapeArrays, reasons) with '' where usable.

    Counts are interpolated all at once (vectorised); each distinct name is looked up once.
    """
    values = np.asarray(values, dtype=object)
    shape = values.shape
    flat = values.ravel()
    fields = ShapeArrays.__dataclass_fields__
    out = {f: np.full(flat.shape, np.nan) for f in fields}
    reasons = np.full(flat.shape, "", dtype=object)
    is_number = np.array([isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                          for v in flat], dtype=bool)
    numbers = np.array([_count_or_inf(v) if n else np.nan for v, n in zip(flat, is_number)])
    good = is_number & np.isfinite(numbers) & (numbers > 0) & (numbers <= MAX_INTERPOLATED_PARAMS)
    for index in np.nonzero(is_number & ~good)[0]:
        allowed = _TOO_LARGE if numbers[index] > MAX_INTERPOLATED_PARAMS else "must be a name or a parameter count > 0"
        reasons[index] = f"model = {format_value(numbers[index])} is not allowed: {allowed}"
    if good.any():
        got = _interpolate(numbers[good], _catalog_ratios())
        for f in fields:
            out[f][good] = got[f]
    resolved = {}
    for index in np.nonzero(~is_number)[0]:
        value = flat[index]
        if not isinstance(value, str):  # a list, dict or other object in a cell: nothing to look up
            reasons[index] = f"model = {' '.join(repr(value).split())[:60]} is not allowed: must be a name or a parameter count"
            continue
        if value not in resolved:
            try:
                found = model_shape(value)
                resolved[value] = ({f: float(getattr(found, f)) for f in fields}, "")
            except (InvalidInputError, UnknownNameError, TypeError) as exc:
                resolved[value] = (None, str(exc) if not isinstance(exc, TypeError)
                                   else f"model = {value!r} is not allowed: must be a name or a parameter count")
        found, reason = resolved[value]
        if found is None:
            reasons[index] = reason
        else:
            for f in fields:
                out[f][index] = found[f]
    return ShapeArrays(**{f: v.reshape(shape) for f, v in out.items()}), reasons.reshape(shape)
