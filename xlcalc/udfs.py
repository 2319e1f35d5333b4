"""Excel functions (xlwings UDFs): put ``xlcalc.udfs`` in xlwings' "UDF Modules" and click "Import Functions".

Every function is a thin wrapper: :mod:`xlcalc._excel` reads the cells, calls one core function for the
whole range and turns each cell's problem into Excel error text. A range gives a range back: a column of
scenarios gives a column of results (one row of outputs per scenario for the functions that return a
row), a 2-D range into a one-value function gives the same shape, and a column against a row gives a grid.
Empty optional arguments take the defaults shown in each argument's description.

Each docstring is a single line on purpose: xlwings sends the whole docstring to Excel as the function's
description (at most 255 characters), so the equations and references live in the core functions and in
docs/functions.md (``python -m xlcalc.udf_docs docs/functions.md``).

The same module works unchanged in xlwings Lite (``from xlcalc.udfs import *`` in ``main.py``). On Linux
(no Excel) xlwings' decorators leave the functions as they are, so each is an ordinary Python function too,
taking cells as Excel passes them (rows of values) and returning values or error text per cell.
"""

from __future__ import annotations

import functools

import numpy as np
import xlwings as xw

from . import _excel as xl
from . import economics, fitting, hardware, laws, lifetime, serving

__all__ = [  # what ``from xlcalc.udfs import *`` brings into an xlwings Lite main.py: the functions only
    "CHINCHILLA_LOSS", "CHINCHILLA_OPT", "CHINCHILLA_TOKENS", "TOKENS_FOR_LOSS", "PARAMS_FOR_LOSS", "FIT_CONSTANTS",
    "SCALING_FIT", "INFERENCE_OPT", "COST_OPT", "BUDGET_OPT", "BREAKEVEN_TOKENS", "TOKENS_PER_SEC", "COST_PER_MTOK",
    "MONTHLY_COST", "GPUS_NEEDED", "TRAIN_COST", "OVERTRAIN_RATIO", "INFERENCE_FACTOR", "TRAIN_FLOPS", "INFER_FLOPS",
    "GPU_SPEC", "GPU_LIST",
]
CATEGORY = "xlcalc"
ARGUMENT_OPTIONS = {"ndim": 2, "err_to_str": True}  # every argument arrives as rows; error cells as '#DIV/0!'


def _arguments(**docs):
    """Describe every argument to Excel (``xw.arg(..., doc=...)``) and keep the descriptions for the docs."""

    def decorate(udf):
        for name, doc in docs.items():
            udf = xw.arg(name, doc=doc, **ARGUMENT_OPTIONS)(udf)
        udf.xlcalc_arguments = dict(docs)
        return udf

    return decorate


def _optional(text: str, core, name: str) -> str:
    """An optional argument's description, ending with the core function's default."""
    return f"{text}; optional, empty = {xl.default_of(core, name):g}"


FIT = (f"Scaling-law fit: a name ({', '.join(laws.FITS)}) or a range of 5 numbers E, A, B, alpha, beta; "
       f"empty = {laws.DEFAULT_FIT}")
PARAMS = "Model size N in parameters (e.g. 70E9); a cell or a range"
TOKENS = "Training tokens D (e.g. 1.4E12); a cell or a range"
LOSS = "Target loss in nats per token, above the fit's irreducible loss E; a cell or a range"
INFERENCE_TOKENS = "Lifetime inference tokens served (input + output), >= 0"
PEAK_TFLOPS = "Dense peak TFLOP/s of one GPU at the precision used (e.g. 312 for A100 BF16)"
MEM_BW_TBS = "Memory bandwidth of one GPU in TB/s (e.g. 2.0 for A100 80GB)"
USD_PER_HOUR = "Price in $ per GPU-hour"


def _decode_arguments(core):
    """Descriptions of the optional roofline arguments shared by the serving functions."""
    return dict(
        bytes_per_param=_optional("Bytes per weight: 2 for FP16/BF16, 1 for FP8/INT8", core, "bytes_per_param"),
        batch=_optional("Sequences decoded together (whole number >= 1)", core, "batch"),
        gpus=_optional("GPUs the model is split over (whole number >= 1)", core, "gpus"),
        mfu=_optional("Achieved fraction of peak FLOP/s in decode, in (0, 1]", core, "mfu"),
        bw_eff=_optional("Achieved fraction of peak memory bandwidth, in (0, 1]", core, "bw_eff"),
    )


# ----------------------------------------------------------------------------------------------
# Scaling laws


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
# (xlwings issues #1981, #2535 ask for caching of slow UDFs). The cache lives here, not in xlcalc.fitting:
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


# ----------------------------------------------------------------------------------------------
# Inference-aware optima


@xw.func(category=CATEGORY)
@_arguments(loss=LOSS, inference_tokens=INFERENCE_TOKENS, fit=FIT)
@xl.cell_errors
def INFERENCE_OPT(loss, inference_tokens, fit=None):
    """Model reaching loss with the fewest lifetime FLOPs (6ND + 2N per inference token): a row params, tokens, lifetime FLOPs, fraction of FLOPs saved vs the equal-loss Chinchilla model."""
    return xl.compute(lifetime.compute_optimal, {"loss": loss, "inference_tokens": inference_tokens}, fit=fit,
                      outputs=("params", "tokens", "flops", "saving"))


@xw.func(category=CATEGORY)
@_arguments(loss=LOSS,
            requests="Lifetime requests served, >= 0",
            input_tokens_per_request="Prompt (input) tokens per request, >= 0",
            output_tokens_per_request="Generated (output) tokens per request, >= 0",
            train_usd_per_hour="Training price in $ per GPU-hour",
            train_peak_tflops="Training GPU dense peak TFLOP/s (e.g. 312 for A100 BF16)",
            infer_usd_per_hour="Inference price in $ per GPU-hour",
            infer_peak_tflops="Inference GPU dense peak TFLOP/s at the precision served (e.g. 624 for A100 INT8)",
            mfu_train=_optional("Training MFU, in (0, 1]", lifetime.cost_optimal_per_request, "mfu_train"),
            mfu_prefill=_optional("Prefill (input) MFU, in (0, 1]", lifetime.cost_optimal_per_request, "mfu_prefill"),
            mfu_decode=_optional("Decode (output) MFU, in (0, 1]", lifetime.cost_optimal_per_request, "mfu_decode"),
            fit=FIT)
@xl.cell_errors
def COST_OPT(loss, requests, input_tokens_per_request, output_tokens_per_request, train_usd_per_hour,
             train_peak_tflops, infer_usd_per_hour, infer_peak_tflops, mfu_train=None, mfu_prefill=None,
             mfu_decode=None, fit=None):
    """Model reaching loss at the lowest lifetime $ (training + serving): a row params, tokens, lifetime $, fraction of $ saved vs the equal-loss Chinchilla model."""
    return xl.compute(
        lifetime.cost_optimal_per_request,
        {"loss": loss, "requests": requests, "input_tokens_per_request": input_tokens_per_request,
         "output_tokens_per_request": output_tokens_per_request, "train_usd_per_hour": train_usd_per_hour,
         "train_peak_tflops": train_peak_tflops, "infer_usd_per_hour": infer_usd_per_hour,
         "infer_peak_tflops": infer_peak_tflops, "mfu_train": mfu_train, "mfu_prefill": mfu_prefill,
         "mfu_decode": mfu_decode},
        fit=fit, outputs=("params", "tokens", "usd", "saving"))


@xw.func(category=CATEGORY)
@_arguments(total_flops="Lifetime FLOP budget for training (6ND) plus inference (2N per token), > 0",
            inference_tokens=INFERENCE_TOKENS, fit=FIT)
@xl.cell_errors
def BUDGET_OPT(total_flops, inference_tokens, fit=None):
    """Lowest-loss model when training plus serving must fit total_flops FLOPs: a row params, tokens, loss (nats/token)."""
    return xl.compute(lifetime.budget_optimal, {"total_flops": total_flops, "inference_tokens": inference_tokens},
                      fit=fit, outputs=("params", "tokens", "loss"))


@xw.func(category=CATEGORY)
@_arguments(params_a="Parameters of model A (either model may come first)",
            tokens_a="Training tokens of model A",
            params_b="Parameters of model B, different from params_a",
            tokens_b="Training tokens of model B",
            inference_cost_ratio=_optional("Cost of an inference FLOP / cost of a training FLOP",
                                           economics.breakeven_tokens, "inference_cost_ratio"))
@xl.cell_errors
def BREAKEVEN_TOKENS(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio=None):
    """Lifetime inference tokens after which the smaller, longer-trained model is cheaper in training + inference FLOPs; 0 if it is cheaper to train."""
    return xl.compute(economics.breakeven_tokens, {"params_a": params_a, "tokens_a": tokens_a, "params_b": params_b,
                                                   "tokens_b": tokens_b, "inference_cost_ratio": inference_cost_ratio})


# ----------------------------------------------------------------------------------------------
# Serving and costs


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS, **_decode_arguments(serving.tokens_per_sec))
@xl.cell_errors
def TOKENS_PER_SEC(params, peak_tflops, mem_bw_tbs, bytes_per_param=None, batch=None, gpus=None, mfu=None,
                   bw_eff=None):
    """Aggregate decode throughput in output tokens/s by the roofline model (peak in TFLOP/s, bandwidth in TB/s)."""
    return xl.compute(serving.tokens_per_sec, {"params": params, "peak_tflops": peak_tflops,
                                               "mem_bw_tbs": mem_bw_tbs, "bytes_per_param": bytes_per_param,
                                               "batch": batch, "gpus": gpus, "mfu": mfu, "bw_eff": bw_eff})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS,
            **_decode_arguments(serving.cost_per_mtok))
@xl.cell_errors
def COST_PER_MTOK(params, usd_per_hour, peak_tflops, mem_bw_tbs, bytes_per_param=None, batch=None, gpus=None,
                  mfu=None, bw_eff=None):
    """$ per million output tokens: usd_per_hour x gpus / (roofline decode tokens/s x 3600) x 1e6."""
    return xl.compute(serving.cost_per_mtok, {"params": params, "usd_per_hour": usd_per_hour,
                                              "peak_tflops": peak_tflops, "mem_bw_tbs": mem_bw_tbs,
                                              "bytes_per_param": bytes_per_param, "batch": batch, "gpus": gpus,
                                              "mfu": mfu, "bw_eff": bw_eff})


def _monthly_arguments(core):
    return dict(
        params=PARAMS,
        requests_per_month="Requests served per month (730 hours)",
        input_tokens="Prompt (input) tokens per request",
        output_tokens="Generated (output) tokens per request",
        usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS, mem_bw_tbs=MEM_BW_TBS,
        bytes_per_param=_optional("Bytes per weight: 2 for FP16/BF16, 1 for FP8/INT8", core, "bytes_per_param"),
        batch=_optional("Sequences decoded together (whole number >= 1)", core, "batch"),
        mfu_prefill=_optional("Prefill MFU, in (0, 1]", core, "mfu_prefill"),
        mfu_decode=_optional("Decode MFU, in (0, 1]", core, "mfu_decode"),
        bw_eff=_optional("Achieved fraction of peak memory bandwidth, in (0, 1]", core, "bw_eff"),
        peak_factor=_optional("Peak demand / average demand (GPUs are sized for the peak), >= 1", core,
                              "peak_factor"),
        utilisation=_optional("Target busy fraction of the provisioned GPUs at peak, in (0, 1]", core,
                              "utilisation"),
        gpus_per_replica=_optional("GPUs one copy of the model is split over (e.g. 2 for 70B FP16 on 80 GB)", core,
                                   "gpus_per_replica"),
    )


def _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
             bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor, utilisation, gpus_per_replica):
    return dict(params=params, requests_per_month=requests_per_month, input_tokens=input_tokens,
                output_tokens=output_tokens, usd_per_hour=usd_per_hour, peak_tflops=peak_tflops,
                mem_bw_tbs=mem_bw_tbs, bytes_per_param=bytes_per_param, batch=batch, mfu_prefill=mfu_prefill,
                mfu_decode=mfu_decode, bw_eff=bw_eff, peak_factor=peak_factor, utilisation=utilisation,
                gpus_per_replica=gpus_per_replica)


@xw.func(category=CATEGORY)
@_arguments(**_monthly_arguments(economics.monthly_cost))
@xl.cell_errors
def MONTHLY_COST(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                 bytes_per_param=None, batch=None, mfu_prefill=None, mfu_decode=None, bw_eff=None, peak_factor=None,
                 utilisation=None, gpus_per_replica=None):
    """Monthly serving cost (730 h): a row of $ per month for the GPUs provisioned, busy GPU-hours, whole GPUs, $ of the busy GPU-hours only."""
    arguments = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops,
                         mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor,
                         utilisation, gpus_per_replica)
    return xl.compute(economics.monthly_cost, arguments, outputs=("usd", "gpu_hours", "gpus", "busy_usd"))


@xw.func(category=CATEGORY)
@_arguments(**_monthly_arguments(economics.gpus_needed))
@xl.cell_errors
def GPUS_NEEDED(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops, mem_bw_tbs,
                bytes_per_param=None, batch=None, mfu_prefill=None, mfu_decode=None, bw_eff=None, peak_factor=None,
                utilisation=None, gpus_per_replica=None):
    """Whole GPUs needed to serve requests_per_month requests (730 h a month) at the peak demand."""
    arguments = _monthly(params, requests_per_month, input_tokens, output_tokens, usd_per_hour, peak_tflops,
                         mem_bw_tbs, bytes_per_param, batch, mfu_prefill, mfu_decode, bw_eff, peak_factor,
                         utilisation, gpus_per_replica)
    return xl.compute(economics.gpus_needed, arguments)


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS, usd_per_hour=USD_PER_HOUR, peak_tflops=PEAK_TFLOPS,
            mfu=_optional("Training MFU, in (0, 1]", economics.train_cost, "mfu"),
            gpus=_optional("GPUs training in parallel (whole number >= 1)", economics.train_cost, "gpus"))
@xl.cell_errors
def TRAIN_COST(params, tokens, usd_per_hour, peak_tflops, mfu=None, gpus=None):
    """Training cost of 6ND FLOPs: a row of $, GPU-hours, days of wall-clock time, FLOPs."""
    return xl.compute(economics.train_cost, {"params": params, "tokens": tokens, "usd_per_hour": usd_per_hour,
                                             "peak_tflops": peak_tflops, "mfu": mfu, "gpus": gpus},
                      outputs=("usd", "gpu_hours", "days", "flops"))


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS)
@xl.cell_errors
def OVERTRAIN_RATIO(params, tokens):
    """Over-training ratio D / (20 N): training tokens per parameter over the 20 of the Chinchilla rule of thumb."""
    return xl.compute(economics.overtrain_ratio, {"params": params, "tokens": tokens})


@xw.func(category=CATEGORY)
@_arguments(inference_tokens=INFERENCE_TOKENS, train_tokens="Training tokens D of the model")
@xl.cell_errors
def INFERENCE_FACTOR(inference_tokens, train_tokens):
    """Lifetime inference FLOPs over training FLOPs: (2 N D_inf) / (6 N D_train) = D_inf / (3 D_train)."""
    return xl.compute(economics.inference_factor,
                      {"inference_tokens": inference_tokens, "train_tokens": train_tokens})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens=TOKENS)
@xl.cell_errors
def TRAIN_FLOPS(params, tokens):
    """Training compute in FLOPs: 6 N D."""
    return xl.compute(economics.train_flops, {"params": params, "tokens": tokens})


@xw.func(category=CATEGORY)
@_arguments(params=PARAMS, tokens="Inference tokens processed (input + output); a cell or a range")
@xl.cell_errors
def INFER_FLOPS(params, tokens):
    """Inference compute in FLOPs: 2 N per token processed, 2 N D."""
    return xl.compute(economics.inference_flops, {"params": params, "tokens": tokens})


# ----------------------------------------------------------------------------------------------
# Hardware catalog


@xw.func(category=CATEGORY)
@_arguments(gpu_name="Accelerator name as in GPU_LIST (e.g. H100 SXM); case and punctuation do not matter",
            field="What to return: " + ", ".join(hardware.ACCELERATOR_FIELDS))
@xl.cell_errors
def GPU_SPEC(gpu_name, field):
    """One field of an accelerator from the catalog (peak TFLOP/s, memory GB, bandwidth TB/s, TDP W, $ per GPU-hour...)."""
    return xl.per_cell(_gpu_field, {"gpu_name": gpu_name, "field": field})


def _gpu_field(gpu_name, field):
    key = field.strip().lower()
    if key not in hardware.ACCELERATOR_FIELDS:
        known = ", ".join(hardware.ACCELERATOR_FIELDS)
        raise xl.ExcelError(xl.NA, f"field = {field!r} is not known: use one of {known}")
    accelerator = hardware.gpu(gpu_name)
    value = getattr(accelerator, key)
    if isinstance(value, float) and np.isnan(value):
        raise xl.ExcelError(xl.NA, f"{accelerator.name} has no {key} in the catalog")
    return value


@xw.func(category=CATEGORY)
@_arguments()
@xl.cell_errors
def GPU_LIST():
    """The accelerator catalog with its header row: name, peak TFLOP/s (BF16, FP8, INT8), memory GB, TB/s, TDP W, $/GPU-hour, sources."""
    catalog = hardware.default_catalog()
    columns = ["name"] + [field for field in hardware.ACCELERATOR_FIELDS if field != "name"]
    rows = [columns]
    for name in hardware.gpu_names(catalog=catalog):
        accelerator = hardware.gpu(name, catalog=catalog)
        rows.append([_listed(getattr(accelerator, field)) for field in columns])
    return rows


def _listed(value):
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return "" if np.isnan(value) else float(value)
    return "" if value is None else str(value)


from . import udfs_serving as _serving  # noqa: E402 - serving at a latency target (xlwings collects them from here)
from .udfs_serving import *  # noqa: E402,F401,F403
__all__ += _serving.__all__
from . import udfs_objectives as _objectives  # noqa: E402 - lifetime optimum under usd, kWh, CO2 (issue 12)
from .udfs_objectives import *  # noqa: E402,F401,F403
__all__ += _objectives.__all__
from .udfs_ranges import *  # noqa: E402,F401,F403
__all__ += ["COST_OPT_RANGE", "SENSITIVITY"]
