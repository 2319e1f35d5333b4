"""Uncertain fits and ranges: the optima as a median and an interval over samples of the fit and of the inputs.

The fit may be an :class:`~xlcalc.core.uncertain_fits.UncertainFit` (sample constants: bootstrap refits, or
draws from a published fit's standard errors; :mod:`xlcalc.core.uncertain_fits`). An input given as a :class:`Range` (low, base,
high) is drawn from the triangular distribution on [low, high] with its mode at base; an input given as
an array of draws is used as it is (one draw per sample). :func:`compute_optimal_range` and
:func:`cost_optimal_range` solve every sample of every scenario in one vectorised Newton solve (the
kernels of :mod:`xlcalc.core.lifetime`, given the fit's constants as columns) and return, per output, the
percentiles (P10, median, P90 by default) over the samples.

Bad samples (a resample whose constants are not a valid law, a loss at or below a sample's E, a solve
that did not converge) are excluded and counted in ``excluded`` with their reasons; if none is left the
call raises. A range whose low, base and high are equal, with a point fit, gives exactly the point answer.
"""

from __future__ import annotations

import dataclasses
import math
import types
import warnings

import numpy as np

from . import _budget_samples
from . import _lifetime_fused as fused
from . import _lifetime_kernels as kernels
from .._checks import as_float_array, format_value
from ..errors import InvalidInputError
from .laws import DEFAULT_FIT, Fit, get_fit
from .lifetime import COST_ARGUMENTS, budget_optimal, compute_optimal, cost_optimal, cost_optimal_per_request
from .uncertain_fits import (
    CONSTANTS,
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    PUBLISHED_STANDARD_ERRORS,
    UncertainFit,
    uncertain_fit,
    whole_number,
)

DEFAULT_PERCENTILES = (10.0, 50.0, 90.0)
CHUNK = 1 << 16  # elements per solve: keeps the Newton buffers in cache

# ----------------------------------------------------------------------------------------------
# Ranges of inputs


@dataclasses.dataclass(frozen=True)
class Range:
    """An uncertain input: low, base (most likely) and high, drawn from the triangular distribution on them."""

    low: float
    base: float
    high: float

    def __post_init__(self):
        for field in ("low", "base", "high"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(value):
                raise InvalidInputError(f"range {field} = {format_value(value)} is not allowed: must be a finite number")
            object.__setattr__(self, field, float(value))
        if not self.low <= self.base <= self.high:
            raise InvalidInputError(f"range low {format_value(self.low)}, base {format_value(self.base)}, high "
                                    f"{format_value(self.high)} is not allowed: needs low <= base <= high")

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws (exactly base everywhere when low = high)."""
        if self.low == self.high:
            return np.full(n, self.base)
        return rng.triangular(self.low, self.base, self.high, n)


def _as_range(name: str, value):
    """A Range, an array of draws, or a point value, from what the caller gave for one input."""
    if isinstance(value, Range):
        return value
    if isinstance(value, tuple) and len(value) == 3:
        try:
            return Range(*value)
        except InvalidInputError as error:
            raise InvalidInputError(f"{name}: {error}") from None
    return as_float_array(name, value)  # a point value or an array of draws: numbers only, named if not


# ----------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class RangeResult:
    """Percentiles of each output over the samples: ``outputs[name]`` has one row per percentile (P10, P50, P90)."""

    outputs: dict
    percentiles: tuple
    samples: int
    excluded: int
    reasons: dict

    def interval(self, name: str):
        """(low, median, high) of one output: arrays for scenarios, floats for one scenario."""
        rows = self.outputs[name]
        return tuple(float(r) if np.ndim(r) == 0 else r for r in rows)


def _percentiles(samples_by_output: dict, valid: np.ndarray, percentiles) -> dict:
    out = {}
    for name, values in samples_by_output.items():
        values = np.where(valid, values, np.nan)
        with np.errstate(invalid="ignore"):   # inf - inf between two infinite neighbours
            rows = (np.percentile if valid.all() else np.nanpercentile)(values, percentiles, axis=0)
        if np.isnan(rows).any():  # both neighbours infinite (nothing served: $/Mtok inf): the percentile is inf
            with warnings.catch_warnings():  # a column of NaN (an output undefined in every sample) stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                lower, higher = (np.nanpercentile(values, percentiles, axis=0, method=m) for m in ("lower", "higher"))
            rows = np.where(lower == higher, lower, rows)
        out[name] = rows
    return out


def _summary(outputs: dict, valid: np.ndarray, reasons: dict, percentiles, n: int) -> RangeResult:
    if not valid.any(axis=0).all():
        text = "; ".join(f"{why}: {count}" for why, count in reasons.items()) or "no valid sample"
        raise InvalidInputError(f"no valid sample is left for some scenario ({text})")
    squeezed = {k: (v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v) for k, v in
                _percentiles(outputs, valid, percentiles).items()}
    excluded = int(n - valid.all(axis=1).sum()) if valid.ndim == 2 else int(n - valid.sum())
    return RangeResult(squeezed, tuple(percentiles), n, excluded, reasons)


# ----------------------------------------------------------------------------------------------
# Propagation


def _sampled_inputs(values: dict, n: int, rng) -> dict:
    """Each input as a (n, 1) column of draws, a (1, m) row of scenarios, or a (n, m) table of draws."""
    out = {}
    for name, value in values.items():
        value = _as_range(name, value)
        if isinstance(value, Range):
            out[name] = value.draw(n, rng)[:, None]
        else:
            array = np.asarray(value, dtype=float)
            if array.ndim > 1 or array.size == 0:
                raise InvalidInputError(f"{name} has shape {array.shape}: give a number, a Range (low, base, high) "
                                        "or a 1-D array of one or more scenarios")
            out[name] = array.reshape(1, -1)
    return out


def _validate(core, values: dict, fit: Fit, **fixed) -> None:
    """Check every input's low and high with the point fit: the core function raises with its own message."""
    lows = {k: (v.low if isinstance(v, Range) else np.min(v) if np.size(v) else v) for k, v in values.items()}
    highs = {k: (v.high if isinstance(v, Range) else np.max(v) if np.size(v) else v) for k, v in values.items()}
    for corner in (lows, highs):
        core(**corner, **fixed, fit=fit)


def _fit_columns(fit, n: int, rng, shape):
    """The fit's constants for the solve: the point Fit, or a namespace of (n, 1) columns and the sample reasons."""
    if isinstance(fit, UncertainFit):
        index = np.arange(n) % len(fit.samples) if n == len(fit.samples) else rng.integers(0, len(fit.samples), n)
        rows = fit.samples[index]
        reasons = fit.invalid_reasons()[index]
        columns = {name: rows[:, j][:, None] for j, name in enumerate(CONSTANTS)}
        good = reasons == ""
        safe = {name: np.where(good[:, None], col, col[good][0] if good.any() else 1.0)
                for name, col in columns.items()}
        return types.SimpleNamespace(**safe, name=fit.name), reasons[:, None]
    return fit, np.full((1, 1), "", dtype=object)


def _solve(kernel_inputs: dict, f, shape, solve_chunk) -> list:
    """Run ``solve_chunk(fit, **inputs)`` over the flattened samples x scenarios in chunks; arrays of ``shape``."""
    flat = {k: np.broadcast_to(v, shape).ravel() for k, v in kernel_inputs.items()}
    constants = None if isinstance(f, Fit) else {k: np.broadcast_to(getattr(f, k), shape).ravel() for k in CONSTANTS}
    size = int(np.prod(shape))
    pieces = []
    for start in range(0, size, CHUNK):
        part = slice(start, min(size, start + CHUNK))
        chunk_fit = f if constants is None else types.SimpleNamespace(
            name=f.name, **{k: v[part] for k, v in constants.items()})
        with np.errstate(all="ignore"):
            pieces.append(solve_chunk(chunk_fit, **{k: v[part] for k, v in flat.items()}))
    return [np.concatenate([np.atleast_1d(p[i]) for p in pieces]).reshape(shape) for i in range(len(pieces[0]))]


def _propagate(core, inputs: dict, fixed: dict, fit, samples, seed, percentiles, solve_chunk, names):
    n = whole_number("samples", samples, 2, MAX_SAMPLES)
    if seed is not None:
        whole_number("seed", seed, 0, 2**63 - 1)
    try:
        percentiles = tuple(float(p) for p in np.atleast_1d(as_float_array("percentiles", percentiles)))
    except (TypeError, ValueError):
        raise InvalidInputError(f"percentiles = {format_value(percentiles)} is not allowed: each must be a number "
                                "from 0 to 100") from None
    if not percentiles or not all(0 <= p <= 100 for p in percentiles):
        raise InvalidInputError(f"percentiles = {percentiles} is not allowed: each must be from 0 to 100")
    inputs = {k: _as_range(k, v) for k, v in inputs.items()}
    point = fit.base if isinstance(fit, UncertainFit) else get_fit(fit)
    _validate(core, inputs, point, **fixed)
    rng = np.random.default_rng(seed)
    if not isinstance(fit, UncertainFit) and not any(isinstance(v, Range) for v in inputs.values()):
        n = 1  # nothing uncertain: one sample is the point answer
    drawn = _sampled_inputs(inputs, n, rng)
    f, fit_reasons = _fit_columns(fit if isinstance(fit, UncertainFit) else point, n, rng, None)
    shape = np.broadcast_shapes(*(v.shape for v in drawn.values()), fit_reasons.shape, (n, 1))
    results = _solve({**drawn, **fixed}, f, shape, solve_chunk)
    reasons = np.broadcast_to(fit_reasons, shape).copy()
    if "loss" in drawn:
        loss = np.broadcast_to(drawn["loss"], shape)
        e = np.broadcast_to(getattr(f, "E"), shape)
        reasons[(reasons == "") & ~(loss > e)] = "loss at or below the sample's E"
    reasons[(reasons == "") & ~np.isfinite(results[0])] = "solve did not converge"
    reasons[(reasons == "") & ((results[0] < 1.0) | (results[1] < 1.0))] = \
        "a model of under one parameter or one training token"
    valid = reasons == ""
    counts = {why: int(c) for why, c in zip(*np.unique(reasons[~valid].astype(str), return_counts=True))}
    return _summary(dict(zip(names, results)), valid, counts, percentiles, n)


COMPUTE_OUTPUTS = ("params", "tokens", "flops", "saving", "chinchilla_params")
COST_OUTPUTS = ("params", "tokens", "usd", "saving", "chinchilla_params", "usd_per_mtok", "breakeven_tokens")


def _compute_chunk(f, loss, inference_tokens):
    n, d, fl, _, _, sv, cn, _, _ = fused.curve_optimum(f, loss, inference_tokens / 3.0, 6.0, 2.0 * inference_tokens)
    return n, d, fl, sv, cn


def compute_optimal_range(loss, inference_tokens, *, fit=DEFAULT_FIT, samples=DEFAULT_SAMPLES, seed=0,
                          percentiles=DEFAULT_PERCENTILES) -> RangeResult:
    """:func:`xlcalc.compute_optimal` over an uncertain fit and ranges: percentiles of params, tokens, flops, saving.

    Parameters
    ----------
    loss, inference_tokens : a number, a 1-D array of scenarios, or a Range / (low, base, high) tuple.
    fit : a fit (point), or an UncertainFit (see :func:`uncertain_fit`).
    samples : draws of the uncertain inputs and fit (>= 2); seed : of those draws.
    percentiles : which to report, default (10, 50, 90).

    Returns
    -------
    RangeResult whose ``outputs`` are params, tokens, flops, saving and chinchilla_params (the equal-loss
    Chinchilla model's size), each with one row per percentile (and one column per scenario).

    Examples
    --------
    >>> r = compute_optimal_range(Range(1.94, 1.947, 1.96), 2e12, samples=200)
    >>> low, median, high = r.interval("params")
    >>> bool(low < median < high)
    True
    """
    return _propagate(compute_optimal, {"loss": loss, "inference_tokens": inference_tokens}, {}, fit, samples,
                      seed, percentiles, _compute_chunk, COMPUTE_OUTPUTS)


def _cost_chunk(f, loss, input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode):
    k_train, usd_per_param = kernels.cost_prices(input_tokens, output_tokens, train_usd_per_hour, train_peak_tflops,
                                                 infer_usd_per_hour, infer_peak_tflops, mfu_train, mfu_prefill,
                                                 mfu_decode)
    n, d, usd, _, _, sv, cn, cd, _ = fused.curve_optimum(f, loss, usd_per_param / (6.0 * k_train), 6.0 * k_train,
                                                         usd_per_param)
    served = input_tokens + output_tokens
    per_mtok = usd / served * 1e6  # inf when nothing is served: training for no token
    # break-even (xlcalc.core.economics.breakeven_tokens, in dollars): served tokens after which the optimum's extra
    # training is paid back by its cheaper serving against the equal-loss Chinchilla model
    extra_train = 6.0 * k_train * (n * d - cn * cd)
    saving_per_token = (cn - n) * usd_per_param / served
    breakeven = np.where(extra_train > 0, extra_train / saving_per_token, 0.0)  # 0: not dearer to train
    return n, d, usd, sv, cn, per_mtok, breakeven


def _cost_per_request_chunk(f, loss, requests, input_tokens_per_request, output_tokens_per_request, **prices):
    return _cost_chunk(f, loss, np.multiply(requests, input_tokens_per_request),
                       np.multiply(requests, output_tokens_per_request), **prices)


PER_REQUEST = ("requests", "input_tokens_per_request", "output_tokens_per_request")


def cost_optimal_range(loss, input_tokens=None, output_tokens=None, *, train_usd_per_hour, train_peak_tflops,
                       infer_usd_per_hour, infer_peak_tflops, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01,
                       requests=None, input_tokens_per_request=None, output_tokens_per_request=None,
                       fit=DEFAULT_FIT, samples=DEFAULT_SAMPLES, seed=0, percentiles=DEFAULT_PERCENTILES) -> RangeResult:
    """:func:`xlcalc.cost_optimal` over an uncertain fit and ranges: percentiles of params, tokens, lifetime $, saving, $/Mtok, break-even.

    Every input may be a number, a 1-D array of scenarios, or a Range / (low, base, high) tuple. The
    demand is lifetime totals (``input_tokens``, ``output_tokens``) or, as in
    :func:`xlcalc.cost_optimal_per_request`, ``requests`` with ``input_tokens_per_request`` and
    ``output_tokens_per_request``, each drawn on its own (the totals are their products, sample by sample).

    Returns
    -------
    RangeResult whose ``outputs`` are params, tokens, usd (lifetime training + serving), saving (fraction
    of $ saved against the equal-loss Chinchilla model), chinchilla_params, usd_per_mtok (lifetime $ per
    million tokens served) and breakeven_tokens (served tokens after which the optimum's extra training
    is paid back by its cheaper serving; 0 if it is also cheaper to train).

    Examples
    --------
    >>> r = cost_optimal_range(1.947, 1e13, 2.5e12, train_usd_per_hour=(1.2, 1.4, 2.0), train_peak_tflops=312,
    ...                        infer_usd_per_hour=0.6, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2,
    ...                        samples=200)
    >>> r.excluded, len(r.interval("usd"))
    (0, 3)
    >>> r = cost_optimal_range(1.947, requests=(5e9, 1e10, 3e10), input_tokens_per_request=1000,
    ...                        output_tokens_per_request=(100, 250, 400), train_usd_per_hour=1.4,
    ...                        train_peak_tflops=312, infer_usd_per_hour=0.6, infer_peak_tflops=624, samples=200)
    >>> low, median, high = r.interval("params")
    >>> bool(low < median < high)
    True
    """
    prices = dict(zip(COST_ARGUMENTS[3:], (train_usd_per_hour, train_peak_tflops, infer_usd_per_hour,
                                           infer_peak_tflops, mfu_train, mfu_prefill, mfu_decode)))
    per_request = dict(zip(PER_REQUEST, (requests, input_tokens_per_request, output_tokens_per_request)))
    totals = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    given = [k for k, v in {**totals, **per_request}.items() if v is not None]
    if set(given) == set(totals):
        inputs = {"loss": loss, **totals, **prices}
        return _propagate(cost_optimal, inputs, {}, fit, samples, seed, percentiles, _cost_chunk, COST_OUTPUTS)
    if set(given) == set(PER_REQUEST):
        inputs = {"loss": loss, **per_request, **prices}
        return _propagate(cost_optimal_per_request, inputs, {}, fit, samples, seed, percentiles,
                          _cost_per_request_chunk, COST_OUTPUTS)
    raise InvalidInputError(f"the demand given is {', '.join(given) or 'nothing'}: give input_tokens and "
                            "output_tokens (lifetime totals), or requests, input_tokens_per_request and "
                            "output_tokens_per_request, not a mix")


BUDGET_OUTPUTS = ("params", "tokens", "loss", "train_flops", "inference_flops", "chinchilla_params",
                  "chinchilla_loss")


def _budget_chunk(f, total_flops, inference_tokens):
    n, d, lo, tr, inf, cn, _, cl = _budget_samples.budget_results(f, total_flops, inference_tokens)
    return n, d, lo, tr, inf, cn, cl


def budget_optimal_range(total_flops, inference_tokens, *, fit=DEFAULT_FIT, samples=DEFAULT_SAMPLES, seed=0,
                         percentiles=DEFAULT_PERCENTILES) -> RangeResult:
    """:func:`xlcalc.budget_optimal` over an uncertain fit and ranges: percentiles of params, tokens and loss.

    ``total_flops`` and ``inference_tokens`` are each a number, a 1-D array of scenarios or a Range / (low,
    base, high) tuple; ``fit``, ``samples``, ``seed`` and ``percentiles`` as in :func:`compute_optimal_range`.

    Returns
    -------
    RangeResult whose ``outputs`` are params, tokens, loss, train_flops, inference_flops (the optimum's
    split of the budget), chinchilla_params and chinchilla_loss (the Chinchilla-proportioned model that
    spends the same budget).

    Examples
    --------
    >>> r = budget_optimal_range(1e24, (1e12, 2e12, 5e12), fit="epoch2024", samples=200)
    >>> low, median, high = r.interval("params")
    >>> bool(low < median < high)
    True
    """
    inputs = {"total_flops": total_flops, "inference_tokens": inference_tokens}
    return _propagate(budget_optimal, inputs, {}, fit, samples, seed, percentiles, _budget_chunk, BUDGET_OUTPUTS)
