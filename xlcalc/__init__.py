"""xlcalc: inference-aware LLM scaling laws and serving economics, for Python and Excel."""

from ._checks import invalid_reasons
from .economics import (
    MonthlyCost,
    TrainCost,
    breakeven_days,
    breakeven_requests,
    breakeven_tokens,
    energy_kwh_per_mtok,
    fit_overtrain_ratio,
    gpus_needed,
    inference_factor,
    inference_flops,
    monthly_cost,
    overtrain_ratio,
    owned_usd_per_hour,
    train_cost,
    train_flops,
)
from .fitting import ScalingFitResult, fit_scaling_law, paper_grid
from .hardware import (
    ACCELERATOR_FIELDS,
    Accelerator,
    Catalog,
    Price,
    default_catalog,
    gpu,
    gpu_names,
    load_catalog,
    prices,
)
from .errors import (
    DataFileError,
    DoesNotFitError,
    InvalidInputError,
    InvalidInputWarning,
    RecalcError,
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
from .runs import Runs, read_runs
from .serving import (
    blended_cost_per_mtok,
    check_fits,
    cost_per_mtok,
    decode_mfu,
    gpus_to_fit,
    input_cost_per_mtok,
    kv_bytes_per_token,
    memory_needed_gb,
    prefill_tokens_per_sec,
    time_per_output_token_s,
    tokens_per_sec,
)

__version__ = "0.1.0"
