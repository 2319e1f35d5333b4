"""Excel functions of the inference-aware optima (fewest lifetime FLOPs, lowest lifetime $, fixed budget) and break-even.

Import them through ``xlcalc.udfs`` (the module xlwings is given); conventions as described there.
"""

from __future__ import annotations

import xlwings as xw

from . import _convert as xl
from ..core import breakeven, lifetime
from ._arguments import CATEGORY, FIT, INFERENCE_TOKENS, LOSS, _arguments, _optional

__all__ = ["INFERENCE_OPT", "COST_OPT", "BUDGET_OPT", "BREAKEVEN_TOKENS"]


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
                                           breakeven.breakeven_tokens, "inference_cost_ratio"))
@xl.cell_errors
def BREAKEVEN_TOKENS(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio=None):
    """Lifetime inference tokens after which the smaller, longer-trained model is cheaper in training + inference FLOPs; 0 if it is cheaper to train."""
    return xl.compute(breakeven.breakeven_tokens, {"params_a": params_a, "tokens_a": tokens_a, "params_b": params_b,
                                                   "tokens_b": tokens_b, "inference_cost_ratio": inference_cost_ratio})
