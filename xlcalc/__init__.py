"""xlcalc: inference-aware LLM scaling laws and serving economics, for Python and Excel."""

import importlib

from ._checks import invalid_reasons
from .core.economics import (
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
from .core.laws import (
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
from .core.lifetime import (
    BudgetOptimum,
    ComputeOptimum,
    CostOptimum,
    budget_optimal,
    compute_optimal,
    cost_optimal,
    cost_optimal_per_request,
)
from .core.data_limits import data_constrained_loss, effective_tokens, max_effective_tokens
from .core.serving import (
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
from .core.sensitivity import Sensitivity, cost_sensitivity
from .core.uncertainty import (
    Range,
    RangeResult,
    UncertainFit,
    budget_optimal_range,
    compute_optimal_range,
    cost_optimal_range,
    uncertain_fit,
)

__all__ = [
    "budget_optimal_range", "compute_optimal_range", "cost_optimal_range", "cost_sensitivity", "Range", "RangeResult", "Sensitivity",
    "UncertainFit", "uncertain_fit",
    "EFFICIENCIES",
    "SloServing",
    "TargetUnreachableError",
    "allreduce_s",
    "efficiencies_for",
    "max_batch",
    "time_per_token_s",
    "ttft_s",
    "ModelShape",
    "flops_per_token",
    "interpolated_shape",
    "model_names",
    "model_shape",
    "weights_bytes",
    "Accelerator",
    "ACCELERATOR_FIELDS",
    "blended_cost_per_mtok",
    "breakeven_days",
    "breakeven_requests",
    "breakeven_tokens",
    "budget_optimal",
    "BudgetOptimum",
    "Catalog",
    "check_fits",
    "chinchilla_for_loss",
    "chinchilla_optimal",
    "chinchilla_tokens",
    "ChinchillaModel",
    "ChinchillaOptimum",
    "compute_optimal",
    "ComputeOptimum",
    "cost_optimal",
    "cost_optimal_per_request",
    "cost_per_mtok",
    "CostOptimum",
    "DataFileError",
    "decode_mfu",
    "default_catalog",
    "DEFAULT_FIT",
    "DoesNotFitError",
    "energy_kwh_per_mtok",
    "Fit",
    "fit_overtrain_ratio",
    "fit_scaling_law",
    "FITS",
    "get_fit",
    "gpu",
    "gpu_names",
    "gpus_needed",
    "gpus_to_fit",
    "inference_factor",
    "inference_flops",
    "input_cost_per_mtok",
    "invalid_reasons",
    "InvalidInputError",
    "InvalidInputWarning",
    "kv_bytes_per_token",
    "load_catalog",
    "loss",
    "memory_needed_gb",
    "monthly_cost",
    "MonthlyCost",
    "overtrain_ratio",
    "owned_usd_per_hour",
    "paper_grid",
    "params_for_loss",
    "prefill_tokens_per_sec",
    "Price",
    "prices",
    "read_runs",
    "RecalcError",
    "Runs",
    "ScalingFitResult",
    "time_per_output_token_s",
    "tokens_for_loss",
    "tokens_per_sec",
    "train_cost",
    "train_flops",
    "TrainCost",
    "UnknownNameError",
    "WorkbookError",
    "XlcalcError",
    "LifetimeOptimum", "lifetime_optimal", "data_constrained_loss", "effective_tokens", "max_effective_tokens",
]

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `import xlcalc` and `xlcalc solve` load only numpy and the
# math: fitting (and the optimiser it uses), the hardware catalog (CSV files, importlib.resources) and
# the training-run reader, and the model-shape catalog with the latency models built on it, are loaded when
# one of their names is first asked for.
_LAZY = {
    "core.fitting": ("ScalingFitResult", "fit_scaling_law", "paper_grid"),
    "data.hardware": ("ACCELERATOR_FIELDS", "Accelerator", "Catalog", "Price", "default_catalog", "gpu",
                      "gpu_names", "load_catalog", "prices"),
    "data.runs": ("Runs", "read_runs"),
    "core.latency": ("EFFICIENCIES", "allreduce_s", "efficiencies_for", "time_per_token_s", "ttft_s"),
    "data.model_shapes": ("ModelShape", "flops_per_token", "interpolated_shape", "model_names", "model_shape",
                          "weights_bytes"),
    "core.slo": ("SloServing", "TargetUnreachableError", "max_batch"),
    "core.objectives": ("LifetimeOptimum", "lifetime_optimal"),  # usd / kWh / CO2 optimum with roofline serving
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'xlcalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))
