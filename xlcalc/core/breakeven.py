"""Break-even between a smaller, longer-trained model and a larger one: inference tokens, requests, days.

Training costs 6ND FLOPs and inference 2N FLOPs per token. Every function broadcasts like numpy; scalar in,
float out.
"""

from __future__ import annotations


from .._checks import Checked
from .._scalar_checks import FloatChecked, float_fast_path, maximum, where
from ._chunks import chunked


# ----------------------------------------------------------------------------------------------
# Break-even between a smaller, longer-trained model and a larger one


def _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio, **more) -> Checked:
    c = FloatChecked(params_a=params_a, tokens_a=tokens_a, params_b=params_b, tokens_b=tokens_b,
                inference_cost_ratio=inference_cost_ratio, **more)
    c.model_size("params_a", "tokens_a", "params_b", "tokens_b")
    c.positive("inference_cost_ratio")
    c.require("params_b", c["params_a"] != c["params_b"],
              "must differ from params_a (models of equal size never break even: their inference costs the same)")
    return c


def _breakeven_tokens(c: Checked):
    n_a, d_a, n_b, d_b = (c.valid(name) for name in ("params_a", "tokens_a", "params_b", "tokens_b"))
    small_first = n_a < n_b
    n_small, d_small = where(small_first, n_a, n_b), where(small_first, d_a, d_b)
    n_big, d_big = where(small_first, n_b, n_a), where(small_first, d_b, d_a)
    extra = 6.0 * n_small * d_small - 6.0 * n_big * d_big
    return maximum(extra, 0.0) / (2.0 * c.valid("inference_cost_ratio") * (n_big - n_small))


@chunked
@float_fast_path
def breakeven_tokens(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio=1.0):
    """Lifetime inference tokens after which the smaller model (trained longer) costs less in training plus inference; 0 if it is also cheaper to train.

    Notes
    -----
    T = (6 N_small D_small - 6 N_big D_big) / (2 r (N_big - N_small)), and 0 when that is negative;
    r = ``inference_cost_ratio`` is the cost of an inference FLOP relative to a training FLOP (above 1
    when decoding runs at a lower MFU than training). Equal sizes are an error. Either model may come first.

    Examples
    --------
    >>> f"{breakeven_tokens(7e9, 4e12, 70e9, 1.4e12):.4g}"  # 7B on 4T is cheaper to train than 70B on 1.4T
    '0'
    >>> f"{breakeven_tokens(7e9, 2e13, 70e9, 1.4e12):.4g}"  # 7B on 20T: 2.52e23 extra FLOPs
    '2e+12'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio)
    return c.finish(_breakeven_tokens(c))


@chunked
@float_fast_path
def breakeven_requests(params_a, tokens_a, params_b, tokens_b, tokens_per_request, inference_cost_ratio=1.0):
    """Break-even point of :func:`breakeven_tokens` in requests of `tokens_per_request` tokens (input + output).

    Notes
    -----
    requests = breakeven_tokens / tokens_per_request.

    Examples
    --------
    >>> f"{breakeven_requests(7e9, 2e13, 70e9, 1.4e12, 500):.4g}"
    '4e+09'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio,
                           tokens_per_request=tokens_per_request)
    c.positive("tokens_per_request")
    return c.finish(_breakeven_tokens(c) / c.valid("tokens_per_request"))


@chunked
@float_fast_path
def breakeven_days(params_a, tokens_a, params_b, tokens_b, tokens_per_request, requests_per_day,
                   inference_cost_ratio=1.0):
    """Days of traffic at `requests_per_day` requests of `tokens_per_request` tokens until the smaller model breaks even (years = days / 365.25).

    Notes
    -----
    days = breakeven_tokens / (tokens_per_request requests_per_day).

    Examples
    --------
    >>> f"{breakeven_days(7e9, 2e13, 70e9, 1.4e12, 500, 10_000 * 10):.4g}"  # 10,000 users x 10 requests/day
    '4e+04'
    """
    c = _checked_breakeven(params_a, tokens_a, params_b, tokens_b, inference_cost_ratio,
                           tokens_per_request=tokens_per_request, requests_per_day=requests_per_day)
    c.positive("tokens_per_request", "requests_per_day")
    return c.finish(_breakeven_tokens(c) / (c.valid("tokens_per_request") * c.valid("requests_per_day")))

