"""Excel functions of the scaling laws: loss, Chinchilla optimum, tokens or parameters for a loss, fits.

Import them through ``xlcalc.udfs`` (the module xlwings is given); conventions as described there.
"""

from __future__ import annotations

import functools

import numpy as np
import xlwings as xw

from . import _convert as xl
from ..core import fitting, laws
from ._arguments import CATEGORY, FIT, LOSS, PARAMS, TOKENS, _arguments

__all__ = ["CHINCHILLA_LOSS", "CHINCHILLA_OPT", "CHINCHILLA_TOKENS", "TOKENS_FOR_LOSS", "PARAMS_FOR_LOSS", "FIT_CONSTANTS", "SCALING_FIT"]


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS, fit=FIT)
@xl.cell_errors
def CHINCHILLA_LOSS(params, tokens, fit=None):
    """Loss L(N, D) = E + A/N^alpha + B/D^beta in nats/token of a model of params parameters trained on tokens tokens."""
    return xl.compute(laws.loss, {"params": params, "tokens": tokens}, fit=fit)


@xw.func(category=CATEGORY)
@_arguments(compute_flops="Training compute budget C in FLOPs (C = 6ND, e.g. 5.88E23); a cell or a column", fit=FIT)
@xl.cell_errors
def CHINCHILLA_OPT(compute_flops, fit=None):
    """Training-compute-optimal model for a FLOP budget: a row of params, training tokens, loss (nats/token)."""
    return xl.compute(laws.chinchilla_optimal, {"compute_flops": compute_flops}, fit=fit,
                      outputs=("params", "tokens", "loss"))


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, fit=FIT)
@xl.cell_errors
def CHINCHILLA_TOKENS(params, fit=None):
    """Chinchilla-optimal training tokens for a model of params parameters: D = (beta B N^alpha / (alpha A))^(1/beta)."""
    return xl.compute(laws.chinchilla_tokens, {"params": params}, fit=fit)


@xw.func(category=CATEGORY)
@_arguments(loss=LOSS, params=PARAMS, fit=FIT)
@xl.cell_errors
def TOKENS_FOR_LOSS(loss, params, fit=None):
    """Training tokens a model of params parameters needs to reach loss (nats/token); #NUM! if it is too small."""
    return xl.compute(laws.tokens_for_loss, {"loss": loss, "params": params}, fit=fit)


@xw.func(category=CATEGORY)
@_arguments(loss=LOSS, tokens=TOKENS, fit=FIT)
@xl.cell_errors
def PARAMS_FOR_LOSS(loss, tokens, fit=None):
    """Parameters a model trained on tokens tokens needs to reach loss (nats/token); #NUM! if too few tokens."""
    return xl.compute(laws.params_for_loss, {"loss": loss, "tokens": tokens}, fit=fit)


@xw.func(category=CATEGORY)
@_arguments(fit_name="Fit name (" + ", ".join(laws.FITS) + "); a cell or a column of names")
@xl.cell_errors
def FIT_CONSTANTS(fit_name):
    """Constants of a named scaling-law fit: a row E (nats/token), A, B, alpha, beta of L = E + A/N^alpha + B/D^beta."""
    return xl.per_cell(lambda fit_name: laws.get_fit(fit_name).constants, {"fit_name": fit_name}, count=5)


@xw.func(category=CATEGORY, call_in_wizard=False)  # a fit takes seconds: not on every edit in the dialog
@_arguments(params_range="Parameters N of each training run: a column (rows left empty are skipped)",
            tokens_range="Training tokens D of each run: a column the same size as params_range",
            loss_range="Final loss of each run in nats/token: a column the same size as params_range",
            bootstrap="Bootstrap resamples to add as rows under the fit (whole number, 0 or 2 to 10000, seed 0); "
                      "optional, empty = 0")
@xl.cell_errors
def SCALING_FIT(params_range, tokens_range, loss_range, bootstrap=None):
    """Fit L = E + A/N^alpha + B/D^beta to your training runs: a row E, A, B, alpha, beta (then one row per bootstrap resample) usable as a fit argument."""
    data = xl.data_columns({"params_range": params_range, "tokens_range": tokens_range, "loss_range": loss_range})
    columns = [np.ascontiguousarray(data[k], dtype=float).tobytes() for k in ("params_range", "tokens_range", "loss_range")]
    return [list(row) for row in _fit_constants(*columns, _resamples(bootstrap))]


def _resamples(bootstrap) -> int:
    """SCALING_FIT's bootstrap argument: empty = 0, else a whole number 0 or 2 to 10000."""
    cells = xl.number_cells("bootstrap", bootstrap, 0)
    if cells.values.size != 1:
        raise xl.ExcelError(xl.VALUE, f"bootstrap has {cells.values.size} cells: give one whole number")
    if cells.errors[0, 0]:
        raise xl.ExcelError(*cells.errors[0, 0].split(" ", 1))
    value = float(cells.values[0, 0])
    if not (value == 0 or 2 <= value <= 10_000) or not value.is_integer():
        raise xl.ExcelError(xl.NUM, f"bootstrap = {value:g} is not allowed: give a whole number, 0 or 2 to 10000 "
                                    "(one resample has no spread)")
    return int(value)


# Excel recalculates SCALING_FIT whenever the sheet holding its ranges changes, usually with the same runs
# (xlwings issues #1981, #2535 ask for caching of slow UDFs). The cache lives here, not in xlcalc.core.fitting:
# only this layer sees identical calls over and over, its options are fixed, and its answer is five plain
# floats, where the core's result holds numpy arrays a shared cache would hand to every caller. The key is
# the bytes of the three float64 columns; a failed fit is not cached (it raises before anything is stored).
@functools.lru_cache(maxsize=32)
def _fit_constants(params: bytes, tokens: bytes, losses: bytes, bootstrap: int = 0) -> tuple[tuple[float, ...], ...]:
    """Rows of fitted constants (E, A, B, alpha, beta): the fit, then each bootstrap resample; remembered for 32 calls."""
    columns = (np.frombuffer(b, dtype=float) for b in (params, tokens, losses))
    result = fitting.fit_scaling_law(*columns, bootstrap=bootstrap, seed=0)
    rows = [result.constants] + ([] if result.bootstrap_constants is None else list(result.bootstrap_constants))
    return tuple(tuple(float(x) for x in row) for row in rows)
