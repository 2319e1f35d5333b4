"""Scaling laws L(N, D) = E + A/N^alpha + B/D^beta: named fits, loss, and the Chinchilla closed forms.

N is parameters, D training tokens; training costs 6ND FLOPs. Every function broadcasts its arguments
like numpy and takes ``fit=``: a fit name (see :data:`FITS`), a :class:`Fit`, or five numbers
E, A, B, alpha, beta.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._checks import Checked, format_value, overflow_checked
from ..errors import InvalidInputError, UnknownNameError
from ._chunks import chunked


@dataclasses.dataclass(frozen=True)
class Fit:
    """Constants of L(N, D) = E + A/N^alpha + B/D^beta, with a name and a citation."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    name: str = "custom"
    source: str = ""

    def __post_init__(self):
        for field in ("E", "A", "B", "alpha", "beta"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise InvalidInputError(f"fit {field} = {format_value(value)} is not allowed: must be a number")
            try:
                object.__setattr__(self, field, float(value))
            except OverflowError:  # an integer beyond the float range, e.g. 10**400
                raise InvalidInputError(f"fit {field} is {format_value(value)}, beyond the floating-point range: "
                                        "must be a finite number") from None
        if not math.isfinite(self.E) or self.E < 0:
            raise InvalidInputError(f"fit E = {format_value(self.E)} is not allowed: must be a finite number >= 0")
        for field in ("A", "B", "alpha", "beta"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInputError(f"fit {field} = {format_value(value)} is not allowed: must be a finite number > 0")

    @property
    def constants(self) -> tuple[float, float, float, float, float]:
        """(E, A, B, alpha, beta)."""
        return (self.E, self.A, self.B, self.alpha, self.beta)


FITS: dict[str, Fit] = {
    fit.name: fit
    for fit in (
        Fit(1.69, 406.4, 410.7, 0.336, 0.283, "chinchilla",
            "Hoffmann et al. 2022 (arXiv 2203.15556) Approach 3, exponents as used by de Vries (2023) "
            "and Sardana et al. 2024 (arXiv 2401.00448, footnote 3)"),
        Fit(1.69, 406.4, 410.7, 0.34, 0.28, "hoffmann2022",
            "Hoffmann et al. 2022 (arXiv 2203.15556), Approach 3 as printed"),
        Fit(1.8172, 482.01, 2085.43, 0.3478, 0.3658, "epoch2024",
            "Besiroglu, Erdil, Barnett, You 2024, 'Chinchilla Scaling: A replication attempt' (arXiv 2404.10102)"),
        Fit(math.exp(0.6254804), math.exp(6.255414), math.exp(7.3049974), 0.3526596, 0.3526596, "muennighoff2023",
            "Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models' (arXiv 2305.16264), "
            "fit without repetition terms"),
    )
}
DEFAULT_FIT = "chinchilla"


def get_fit(fit=DEFAULT_FIT) -> Fit:
    """The scaling-law fit named ``fit`` (case-insensitive), or a custom fit from five numbers E, A, B, alpha, beta.

    >>> get_fit("chinchilla").alpha
    0.336
    >>> get_fit([1.69, 406.4, 410.7, 0.34, 0.28]).name
    'custom'
    """
    if isinstance(fit, Fit):
        return fit
    if fit is None:
        return FITS[DEFAULT_FIT]
    if isinstance(fit, str):
        key = fit.strip().lower()
        if key in FITS:
            return FITS[key]
        raise UnknownNameError(f"fit = {fit!r} is not a known fit: use one of {', '.join(FITS)} or five numbers E, A, B, alpha, beta")
    try:
        numbers = np.asarray(fit, dtype=float).ravel()
    except (TypeError, ValueError, OverflowError):
        shown = str(fit) if len(str(fit)) <= 60 else str(fit)[:57] + "..."
        raise InvalidInputError(f"fit = {shown} is not allowed: must be a fit name or five finite numbers "
                                "E, A, B, alpha, beta") from None
    if numbers.size != 5:
        raise InvalidInputError(f"fit has {numbers.size} numbers: a custom fit needs five, E, A, B, alpha, beta")
    return Fit(*(float(x) for x in numbers))


# ----------------------------------------------------------------------------------------------
# Kernels: plain numpy on valid inputs, shared by the public functions and the lifetime solvers.
# np.power, not **, here and below: a scalar call computes on numpy floats, whose ** (like Python's) rounds
# differently from numpy's vectorised power in about one case in twenty; np.power gives a scalar the
# digits it gets in an array.

def _loss(f: Fit, n, d):
    return f.E + f.A / np.power(n, f.alpha) + f.B / np.power(d, f.beta)


def _chinchilla_tokens(f: Fit, n):
    return np.power(f.beta * f.B * np.power(n, f.alpha) / (f.alpha * f.A), 1.0 / f.beta)


def _chinchilla_for_loss(f: Fit, loss):
    """The point of the iso-loss curve where the Chinchilla condition alpha*A/N^alpha = beta*B/D^beta holds."""
    excess = loss - f.E
    params = np.power(f.A * (f.alpha + f.beta) / (f.beta * excess), 1.0 / f.alpha)
    tokens = np.power(f.B * (f.alpha + f.beta) / (f.alpha * excess), 1.0 / f.beta)
    return params, tokens


def _params_on_curve(f: Fit, loss, tokens):
    """N such that L(N, D) = loss; NaN where the data term alone reaches the loss."""
    rest = loss - f.E - f.B / np.power(tokens, f.beta)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rest > 0, np.power(f.A / np.where(rest > 0, rest, 1.0), 1.0 / f.alpha), np.nan)


# ----------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class ChinchillaOptimum:
    """The training-compute-optimal model for a budget: params, tokens, loss, flops (= 6 * params * tokens)."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    loss: float | np.ndarray
    flops: float | np.ndarray


@dataclasses.dataclass(frozen=True)
class ChinchillaModel:
    """The Chinchilla-style model that reaches a loss: params, tokens and training flops (6ND)."""

    params: float | np.ndarray
    tokens: float | np.ndarray
    flops: float | np.ndarray


# ----------------------------------------------------------------------------------------------
# Public functions


def _check_loss_above_floor(c: Checked, f: Fit, name: str = "loss") -> None:
    if c.floats is not None and math.isfinite(c.floats[name]) and c.floats[name] > f.E:
        return  # scalar fast path: the same test on a float
    if c.floats is None and c.all_within(name, f.E):
        return  # every element valid: two reductions instead of the masks
    c.require(name, np.isfinite(c[name]) & (c[name] > f.E),
              f"must be greater than the irreducible loss E = {format_value(f.E)} of fit '{f.name}'")


def _checked_with_term(loss, name: str, value, scale: float, exponent: float, f: Fit, too_little: str) -> Checked:
    """Check ``loss`` and the model size or data ``name`` whose loss term is scale / value^exponent: the loss above
    E, the value > 0, and the loss above E plus that term (else ``too_little``: no amount of the other reaches it)."""
    c = Checked(loss=loss, **{name: value})
    _check_loss_above_floor(c, f)
    c.positive(name)
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = f.E + scale / np.power(c[name], exponent)
    c.require(name, c["loss"] > floor, too_little)
    return c


@chunked
@overflow_checked
def loss(params, tokens, *, fit=DEFAULT_FIT):
    """Loss L(N, D) = E + A/N^alpha + B/D^beta of a model with `params` parameters trained on `tokens` tokens.

    Notes
    -----
    The fitted loss is in nats per token on the fit's own data; compare losses within one fit only.

    Examples
    --------
    >>> round(loss(70e9, 1e12), 6)  # the paper's model_calculator.py --model 70e9 --data 1e12
    1.947273
    """
    f = get_fit(fit)
    c = Checked(params=params, tokens=tokens)
    c.positive("params", "tokens")
    params, tokens = c.valid("params"), c.valid("tokens")
    c.reject_tiny_models((params, tokens))
    return c.finish(_loss(f, params, tokens))


@chunked
@overflow_checked
def chinchilla_optimal(compute_flops, *, fit=DEFAULT_FIT) -> ChinchillaOptimum:
    """Training-compute-optimal params and tokens for a budget of `compute_flops` FLOPs (C = 6ND), and its loss.

    Notes
    -----
    Closed form: G = (alpha*A / (beta*B))^(1/(alpha+beta)), N* = G (C/6)^(beta/(alpha+beta)),
    D* = C / (6 N*).

    Examples
    --------
    >>> opt = chinchilla_optimal(5.88e23)
    >>> f"{opt.params:.4g} {opt.tokens:.4g}"
    '4.211e+10 2.327e+12'
    """
    f = get_fit(fit)
    c = Checked(compute_flops=compute_flops)
    c.positive("compute_flops")
    flops = c.valid("compute_flops")
    g = (f.alpha * f.A / (f.beta * f.B)) ** (1.0 / (f.alpha + f.beta))
    params = g * np.power(flops / 6.0, f.beta / (f.alpha + f.beta))
    tokens = flops / (6.0 * params)
    c.reject_tiny_models((params, tokens), reason="raise compute_flops (or check the fit)")
    n, d, l, fl = c.finish(params, tokens, _loss(f, params, tokens), flops)
    return ChinchillaOptimum(n, d, l, fl)


@chunked
@overflow_checked
def chinchilla_tokens(params, *, fit=DEFAULT_FIT):
    """Chinchilla-optimal training tokens for a model of `params` parameters: D = (beta*B*N^alpha / (alpha*A))^(1/beta).

    Examples
    --------
    >>> f"{chinchilla_tokens(30e9):.4g}"
    '1.556e+12'
    """
    f = get_fit(fit)
    c = Checked(params=params)
    c.positive("params")
    tokens = _chinchilla_tokens(f, c.valid("params"))
    c.reject_tiny_models((c.valid("params"), tokens))
    return c.finish(tokens)


@chunked
@overflow_checked
def tokens_for_loss(loss, params, *, fit=DEFAULT_FIT):
    """Training tokens a model of `params` parameters needs to reach `loss`: D = (B / (loss - E - A/N^alpha))^(1/beta).

    A model too small to reach the loss with any amount of data is an error (NaN in an array).
    """
    f = get_fit(fit)
    c = _checked_with_term(loss, "params", params, f.A, f.alpha, f, "is too small to reach this loss with any "
                           "number of tokens (its loss with infinite data is higher)")
    rest = c.valid("loss") - f.E - f.A / np.power(c.valid("params"), f.alpha)
    tokens = np.power(f.B / rest, 1.0 / f.beta)
    c.reject_tiny_models((c.valid("params"), tokens), reason="lower the loss")
    return c.finish(tokens)


@chunked
@overflow_checked
def params_for_loss(loss, tokens, *, fit=DEFAULT_FIT):
    """Parameters a model trained on `tokens` tokens needs to reach `loss`: N = (A / (loss - E - B/D^beta))^(1/alpha).

    Too few tokens to reach the loss at any model size is an error (NaN in an array).
    """
    f = get_fit(fit)
    c = _checked_with_term(loss, "tokens", tokens, f.B, f.beta, f, "are too few to reach this loss at any model "
                           "size (the loss with infinite parameters is higher)")
    params = _params_on_curve(f, c.valid("loss"), c.valid("tokens"))
    c.reject_tiny_models((params, c.valid("tokens")), reason="lower the loss")
    return c.finish(params)


@chunked
@overflow_checked
def chinchilla_for_loss(loss, *, fit=DEFAULT_FIT) -> ChinchillaModel:
    """The Chinchilla-style model (params, tokens, training flops) that reaches `loss` with the least training compute.

    Notes
    -----
    On the iso-loss curve, the Chinchilla condition alpha*A/N^alpha = beta*B/D^beta gives
    N = (A (alpha+beta) / (beta (loss-E)))^(1/alpha) and D = (B (alpha+beta) / (alpha (loss-E)))^(1/beta).
    """
    f = get_fit(fit)
    c = Checked(loss=loss)
    _check_loss_above_floor(c, f)
    params, tokens = _chinchilla_for_loss(f, c.valid("loss"))
    c.reject_tiny_models((params, tokens), reason="lower the loss")
    n, d, fl = c.finish(params, tokens, 6.0 * params * tokens)
    return ChinchillaModel(n, d, fl)
