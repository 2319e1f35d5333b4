"""A shape for a bare parameter count, interpolated in log params from the model-shape catalog.

The parameter count is then exact and the widths are fractional; its error on the catalog itself, leaving each
model out in turn, is :func:`leave_one_out_errors` (documented in the README and tested). The rule is written
twice: :func:`_interpolate` for an array of counts and :func:`interpolate_one` for one count on Python floats
(the same operations in the same order, so the same digits; a one-cell formula takes it).
"""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np

from .._checks import Checked
from ..errors import InvalidInputError
from .model_catalog import ModelShape, _catalog_shapes, shape_catalog

# Beyond this a shape would be extrapolated a thousandfold past the largest catalog model (405B), and its widths
# would leave the floating-point range near 1e300.
MAX_INTERPOLATED_PARAMS = 1e15
_TOO_LARGE = "must be at most 1e15: a shape is interpolated from published models, the largest 405B"


def _ratios(shapes) -> dict:
    ordered = sorted(shapes, key=lambda s: s.params)
    return dict(
        shapes=ordered,
        log_params=np.log([s.params for s in ordered]),
        log_layers=np.log([s.layers for s in ordered]),
        q_ratio=np.array([s.q_dim / s.d_model for s in ordered]),
        kv_ratio=np.array([s.kv_dim / s.d_model for s in ordered]),
        ffn_ratio=np.array([s.ffn / s.d_model for s in ordered]),
        head_dim=np.array([s.head_dim for s in ordered]),
        vocab=np.array([s.vocab for s in ordered]),
        tied=np.array([s.tied for s in ordered]),
        qkv_bias=np.array([s.qkv_bias for s in ordered]),
        norms=np.array([s.norms_per_layer for s in ordered]),
    )


@functools.lru_cache(maxsize=1)
def _catalog_ratios() -> dict:
    return _ratios(shape_catalog().values())


_NEAREST_FIELDS = ("head_dim", "vocab", "tied", "qkv_bias", "norms")  # taken from the nearest catalog model


def _interpolate(params: np.ndarray, table: dict) -> dict[str, np.ndarray]:
    """The interpolation rule of :func:`interpolated_shape` for an array of counts > 0 (vectorised)."""
    x = np.log(params)
    log_params = table["log_params"]
    nearest = np.argmin(np.abs(log_params[None, :] - x.reshape(-1, 1)), axis=1).reshape(x.shape)
    layers = np.round(np.exp(np.interp(x, log_params, table["log_layers"])))
    q_ratio, kv_ratio, ffn_ratio = (np.interp(x, log_params, table[k]) for k in ("q_ratio", "kv_ratio", "ffn_ratio"))
    row = [table[k][nearest] for k in _NEAREST_FIELDS]
    vocab, tied, bias, norms = row[1:]
    quadratic = layers * (2 * q_ratio + 2 * kv_ratio + 3 * ffn_ratio)
    linear = layers * (norms + np.where(bias, q_ratio + 2 * kv_ratio, 0.0)) + vocab * (2 - tied) + 1
    d_model = (-linear + np.sqrt(linear * linear + 4 * quadratic * params)) / (2 * quadratic)
    return _shape_fields(params, nearest, layers, d_model, (q_ratio, kv_ratio, ffn_ratio), row,
                         np.where(tied, 0.0, vocab * d_model))


def _shape_fields(params, nearest, layers, d_model, ratios, row, embedding_params) -> dict:
    """The fields of an interpolated shape (arrays or floats): ``ratios`` (q, kv, ffn) interpolated, ``row`` the
    nearest model's _NEAREST_FIELDS, ``embedding_params`` the untied input embedding's (0 where tied)."""
    q_ratio, kv_ratio, ffn_ratio = ratios
    head_dim, vocab, tied, bias, norms = row
    return dict(nearest=nearest, layers=layers, d_model=d_model, heads=q_ratio * d_model / head_dim,
                kv_heads=kv_ratio * d_model / head_dim, head_dim=head_dim, ffn=ffn_ratio * d_model, vocab=vocab,
                tied=tied, qkv_bias=bias, norms_per_layer=norms, params=params, matmul_params=params - embedding_params,
                q_dim=q_ratio * d_model, kv_dim=kv_ratio * d_model)


def _interp_one(x: float, xp: tuple, fps: tuple) -> list:
    """``np.interp(x, xp, fp)`` for one finite float (xp increasing) and each fp of ``fps``: the same steps, so the
    same digits."""
    if x < xp[0]:
        return [fp[0] for fp in fps]
    if x >= xp[-1]:
        return [fp[-1] for fp in fps]
    j = bisect.bisect_right(xp, x) - 1  # xp[j] <= x < xp[j + 1]
    if xp[j] == x:
        return [fp[j] for fp in fps]
    # finite, so never NaN: numpy's retry from the other end does not arise
    return [(fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j]) + fp[j] for fp in fps]


@functools.lru_cache(maxsize=1)
def _catalog_rows() -> dict:
    """:func:`_catalog_ratios` as tuples of Python floats (and bools), for :func:`interpolate_one`; ``nearest_rows``
    holds each model's _NEAREST_FIELDS."""
    rows = {k: tuple(v.tolist()) if isinstance(v, np.ndarray) else v for k, v in _catalog_ratios().items()}
    rows["nearest_rows"] = tuple(zip(*(rows[k] for k in _NEAREST_FIELDS)))
    return rows


def interpolate_one(params: float) -> dict:
    """:func:`_interpolate` for one checked count on the catalog, on Python floats: the same operations in the same
    order (numpy's log and exp, np.interp's formula), so the same digits (tests/test_scalar_slo.py compares them)."""
    table = _catalog_rows()
    x = float(np.log(params))
    log_params = table["log_params"]
    distances = [abs(p - x) for p in log_params]
    nearest = distances.index(min(distances))  # np.argmin: the first of equal ones
    log_layers, q_ratio, kv_ratio, ffn_ratio = _interp_one(x, log_params, (
        table["log_layers"], table["q_ratio"], table["kv_ratio"], table["ffn_ratio"]))
    layers = float(round(float(np.exp(log_layers))))
    row = table["nearest_rows"][nearest]
    vocab, tied, bias, norms = row[1:]
    quadratic = layers * (2 * q_ratio + 2 * kv_ratio + 3 * ffn_ratio)
    linear = layers * (norms + (q_ratio + 2 * kv_ratio if bias else 0.0)) + vocab * (2 - tied) + 1
    d_model = (-linear + math.sqrt(linear * linear + 4 * quadratic * params)) / (2 * quadratic)
    return _shape_fields(params, nearest, layers, d_model, (q_ratio, kv_ratio, ffn_ratio), row,
                         0.0 if tied else vocab * d_model)


def interpolation_checked(params) -> float:
    """One parameter count to interpolate a shape for, as a float, checked (> 0 and at most 1e15)."""
    if type(params) is float and 0.0 < params <= MAX_INTERPOLATED_PARAMS:  # the checks below would pass
        return params
    c = Checked(params=params)
    c.positive("params")
    c.require("params", c["params"] <= MAX_INTERPOLATED_PARAMS, _TOO_LARGE)
    if not c.scalar:
        raise InvalidInputError("interpolated_shape takes one parameter count; use shape_arrays for many")
    return float(c["params"])


def interpolated_shape(params, *, catalog=None) -> ModelShape:
    """A shape with exactly `params` parameters, interpolated in log params between the two catalog models that bracket it.

    Notes
    -----
    The rule: between the catalog models just below and just above ``params`` (the nearest one at either
    end), interpolate linearly in ln(params): ln(layers) (then rounded to a whole number), q_dim/d_model,
    kv_dim/d_model and ffn/d_model; take head_dim, vocabulary, tied embeddings, biases and norms from the
    model nearer in ln(params). Then d_model is the root of the quadratic params(d_model) = ``params``, so
    the count is exact and the widths (and head counts) are fractional.

    On the catalog itself, leaving each model out in turn (:func:`leave_one_out_errors`): FLOPs per token
    at 4,096 tokens of context are off by a median of 1.7% and at most 8.7%; d_model by a median of 12%
    (at most 43%); KV bytes per token by a median of 55%, from 0.25x (Llama-2-7B, full multi-head
    attention, guessed from grouped-query neighbours) to 3.7x (Qwen2.5-14B, 8 KV heads among 40). The
    catalog mixes 2 to 40 KV heads at similar sizes, so use a named model wherever the KV cache matters.

    Examples
    --------
    >>> s = interpolated_shape(30e9)
    >>> round(s.params), s.layers, round(s.d_model)
    (30000000000, 55.0, 4808)
    """
    target = interpolation_checked(params)
    if catalog is None:  # the shipped catalog: on Python floats (the same digits)
        table, got = _catalog_ratios(), interpolate_one(target)
    else:
        table = _ratios(_catalog_shapes(catalog))
        got = {k: float(v[0]) for k, v in _interpolate(np.array([target]), table).items()}
    nearest = table["shapes"][int(got["nearest"])]
    return ModelShape(name=f"interpolated {target:.4g} params", layers=got["layers"], d_model=got["d_model"],
                      heads=got["heads"], kv_heads=got["kv_heads"], head_dim=got["head_dim"], ffn=got["ffn"],
                      vocab=got["vocab"], tied=bool(got["tied"]), qkv_bias=bool(got["qkv_bias"]),
                      norms_per_layer=got["norms_per_layer"], family=nearest.family,
                      source=f"interpolated from the catalog (nearest: {nearest.name})", interpolated=True)


def leave_one_out_errors(context_tokens=4096) -> dict[str, dict[str, float]]:
    """For each catalog model, the relative error of the shape interpolated from the others at its parameter count.

    Returns ``{name: {"kv_bytes": ..., "flops": ..., "d_model": ..., "layers": ...}}`` with signed
    relative errors (interpolated / true - 1); FLOPs are per token at ``context_tokens`` of context.
    """
    catalog = shape_catalog()
    out = {}
    for name, true in catalog.items():
        others = {k: v for k, v in catalog.items() if k != name}
        guess = interpolated_shape(true.params, catalog=others)
        out[name] = {
            "kv_bytes": guess.kv_dim * guess.layers / (true.kv_dim * true.layers) - 1,
            "flops": guess.flops_per_token(context_tokens) / true.flops_per_token(context_tokens) - 1,
            "d_model": guess.d_model / true.d_model - 1,
            "layers": guess.layers / true.layers - 1,
        }
    return out

