"""Uncertain fits: a scaling-law fit as sample constants, from a bootstrap or from a source's published errors.

An :class:`UncertainFit` holds sample constants (rows E, A, B, alpha, beta): the refitted constants of a
bootstrap (:meth:`UncertainFit.from_bootstrap`), or draws from a published fit's standard errors
(:func:`uncertain_fit`, :data:`PUBLISHED_STANDARD_ERRORS`). :mod:`xlcalc.core.uncertainty` propagates them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import format_value
from ..errors import InvalidInputError
from .laws import DEFAULT_FIT, FITS, Fit, get_fit

CONSTANTS = ("E", "A", "B", "alpha", "beta")
DEFAULT_SAMPLES = 1000
MAX_SAMPLES = 1_000_000

# Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt" (arXiv 2404.10102).
# Checked against the authors' own code, github.com/epoch-research/analyzing-chinchilla, data_analysis.ipynb
# (commit f341459, 2024-05-14, "update notebook with last results"), section "Estimates and standard errors":
# 4,000 bootstrap refits of the 240 runs (five outliers left out), standard deviation of each constant:
#   A 482.00572 (124.52232), B 2085.43420 (1293.28410), E 1.81686 (0.02566), alpha 0.34781 (0.01540),
#   beta 0.36585 (0.02060); on the log scale the authors fit and draw from: ln A 6.178 (0.258),
#   ln B 7.643 (0.421), ln E 0.597 (0.014).
# The paper's own table (Table 1 / Section 3 of arXiv 2404.10102) could not be read with the search tools
# here (only its abstract and introduction); the figures used before, from secondary summaries (A 124.58,
# B 1293.23, E 0.03, alpha 0.02, beta 0.02), are those rounded or slightly off, so the notebook's are used.
# The notebook prints no correlations, so the draws are independent (see uncertain_fit).
PUBLISHED_STANDARD_ERRORS = {
    "epoch2024": (0.02566, 124.52232, 1293.28410, 0.01540, 0.02060),
}
#: Standard deviations of ln A and ln B over the same bootstrap (the authors' log-scale parameters).
PUBLISHED_LOG_STANDARD_ERRORS = {
    "epoch2024": (0.258, 0.421),
}


@dataclasses.dataclass(frozen=True, eq=False)
class UncertainFit:
    """A fit with uncertainty: a point fit and sample constants (rows E, A, B, alpha, beta), e.g. bootstrap refits."""

    base: Fit
    samples: np.ndarray
    name: str = "uncertain"
    source: str = ""

    def __post_init__(self):
        samples = np.array(self.samples, dtype=float)
        if samples.ndim != 2 or samples.shape[1] != 5:
            raise InvalidInputError(f"samples has shape {samples.shape}: an uncertain fit needs rows of five "
                                    "constants E, A, B, alpha, beta")
        if samples.shape[0] < 2:
            raise InvalidInputError(f"samples has {samples.shape[0]} row(s): an uncertain fit needs at least 2 "
                                    "(a bootstrap of 0 or 1 resamples has no spread)")
        samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "base", get_fit(self.base))

    @classmethod
    def from_bootstrap(cls, result, name: str = "bootstrap", source: str = "") -> "UncertainFit":
        """The uncertain fit of a ``fit_scaling_law(..., bootstrap=n)`` result (n >= 2): its constants and refits."""
        if getattr(result, "bootstrap_constants", None) is None:
            raise InvalidInputError("the fit has no bootstrap: call fit_scaling_law(..., bootstrap=n) with n >= 2")
        return cls(Fit(*result.constants, name=name, source=source), result.bootstrap_constants, name, source)

    @property
    def constants(self) -> tuple[float, float, float, float, float]:
        """(E, A, B, alpha, beta) of the point fit."""
        return self.base.constants

    def invalid_reasons(self) -> np.ndarray:
        """Per sample: '' if its constants are a valid law, else why not (E < 0, a non-positive constant...)."""
        s = self.samples
        reasons = np.full(len(s), "", dtype=object)
        for j, name in reversed(list(enumerate(CONSTANTS))):
            bad = ~np.isfinite(s[:, j]) | ((s[:, j] < 0) if name == "E" else (s[:, j] <= 0))
            reasons[bad] = f"{name} {'< 0' if name == 'E' else '<= 0'} or not finite"
        return reasons


def uncertain_fit(fit=DEFAULT_FIT, *, samples=DEFAULT_SAMPLES, seed=0) -> UncertainFit:
    """An uncertain fit: itself, or `samples` draws from a named fit's published standard errors (epoch2024).

    Notes
    -----
    E, alpha and beta are drawn from normal distributions (mean the estimate, sd its standard error); A
    and B, whose errors are large relative to the estimate, from log-normal ones with the same median and
    the published sd of ln A and ln B (:data:`PUBLISHED_LOG_STANDARD_ERRORS`; the authors also draw in
    logs), so that they stay positive. The source publishes no
    correlations, so the draws are independent; the real bootstrap has A rising with alpha and B with
    beta, so these intervals for the optima are wider than the authors' joint bootstrap would give.
    """
    if isinstance(fit, UncertainFit):
        return fit
    base = get_fit(fit)
    errors = PUBLISHED_STANDARD_ERRORS.get(base.name) if base is FITS.get(base.name) else None
    if errors is None:
        raise InvalidInputError(f"fit '{base.name}' has no published uncertainty: use one of "
                                f"{', '.join(PUBLISHED_STANDARD_ERRORS)}, a bootstrap fit (fit_scaling_law(..., "
                                "bootstrap=n)) or an UncertainFit")
    n = whole_number("samples", samples, 2, MAX_SAMPLES)
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal((n, 5))
    values, se = np.array(base.constants), np.array(errors)
    draws = values + se * normal
    for j, log_se in zip((1, 2), PUBLISHED_LOG_STANDARD_ERRORS[base.name]):  # A, B: log-normal
        draws[:, j] = values[j] * np.exp(log_se * normal[:, j])
    return UncertainFit(base, draws, base.name, base.source + "; samples from its published standard errors")


def whole_number(name, value, low, high) -> int:
    """``value`` as an int if it is a whole number from ``low`` to ``high``; else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or not low <= value <= high \
            or value != int(value):  # NaN and infinities fail the range test before int()
        raise InvalidInputError(f"{name} = {format_value(value)} is not allowed: must be a whole number from "
                                f"{low:,} to {high:,}")
    return int(value)
