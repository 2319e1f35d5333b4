"""xlcalc: inference-aware LLM scaling laws and serving economics, for Python and Excel."""

from ._checks import invalid_reasons
from .errors import (
    DataFileError,
    DoesNotFitError,
    InvalidInputError,
    InvalidInputWarning,
    UnknownNameError,
    WorkbookError,
    XlcalcError,
)
from .laws import (
    DEFAULT_FIT,
    FITS,
    ChinchillaModel,
    ChinchillaOptimum,
    Fit,
    chinchilla_for_loss,
    chinchilla_optimal,
    chinchilla_tokens,
    get_fit,
    loss,
    params_for_loss,
    tokens_for_loss,
)
from .lifetime import (
    BudgetOptimum,
    ComputeOptimum,
    CostOptimum,
    budget_optimal,
    compute_optimal,
    cost_optimal,
)

__version__ = "0.1.0"
