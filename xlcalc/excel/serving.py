"""Excel functions for serving at a latency target and for model shapes; :mod:`xlcalc.udfs` brings them in.

Import them through ``xlcalc.udfs`` (the module xlwings is given): TTFT, TIME_PER_TOKEN, MAX_BATCH,
COST_PER_MTOK_SLO, MODEL_SHAPE, KV_BYTES_PER_TOKEN. Same conventions as the other functions: a model is a
catalog name or a parameter count, an accelerator a catalog name; ranges broadcast; each cell gets its own
error text. Empty efficiencies take the calibrated set of the accelerator's family
(:data:`xlcalc.core.latency.EFFICIENCIES`); times are in milliseconds.
"""

from __future__ import annotations

import functools
import math
import types

import numpy as np
import xlwings as xw

from . import _convert as xl
from ..data import hardware, model_shapes
from ..core import latency, slo
from .._checks import format_value, invalid_reasons
from ..errors import XlcalcError
from ._arguments import CATEGORY, _arguments

__all__ = ["MODEL_SHAPE", "KV_BYTES_PER_TOKEN", "TTFT", "TIME_PER_TOKEN", "MAX_BATCH", "COST_PER_MTOK_SLO"]

PRECISION_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0}
MODEL = ("Model: a catalog name (e.g. Llama-3.1-70B; see MODEL_SHAPE) or a parameter count (e.g. 30E9, shape "
         "interpolated from the catalog); a cell or a range")
GPU_NAME = "Accelerator name as in GPU_LIST (e.g. H100 SXM); its peak, bandwidth, memory, interconnect and price are used"
PRECISION = ("Weights and KV cache precision: bf16, fp16, fp8 or int8 (sets the peak used and the bytes per value); "
             "optional, empty = bf16")
SHAPE_OUTPUTS = ("params", "layers", "d_model", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied",
                 "kv_bytes_fp16")


def _empty(text: str) -> str:
    return f"{text}; optional, empty = the accelerator family's calibrated value"


EFFICIENCY_DOCS = dict(
    mfu_prefill=_empty("Prefill MFU, in (0, 1]"),
    mfu_decode=_empty("Decode MFU, in (0, 1]"),
    bw_eff=_empty("Achieved fraction of peak memory bandwidth, in (0, 1]"),
)
BATCH = "Sequences decoded together (whole number >= 1); optional, empty = 1"
GPUS = "GPUs of one replica, split by tensor parallelism (whole number >= 1); optional, empty = 1"


# ----------------------------------------------------------------------------------------------
# Excel values -> arrays for xlcalc.core.latency


def _model_cells(value) -> xl.Cells:
    """The model argument: names (text) or counts (numbers), each cell kept as typed."""
    rows = xl.grid(value)
    if all(type(cell) is float or (type(cell) is int and abs(cell) < 2**53) for row in rows for cell in row):  # fast
        values = np.array(rows, dtype=float).astype(object)
        return xl.Cells(values, np.full(values.shape, "", dtype=object))
    values = np.empty((len(rows), len(rows[0])), dtype=object)
    errors = np.full(values.shape, "", dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            text = cell.strip() if isinstance(cell, str) else None
            if cell is None or text == "":
                errors[i, j] = f"{xl.VALUE} model is empty: give a name or a parameter count"
            elif text and text.split(" ", 1)[0] in xl.EXCEL_ERRORS:
                errors[i, j] = f"{text.split(' ', 1)[0]} model is an error cell ({text})"
            elif isinstance(cell, bool) or not isinstance(cell, (str, int, float)):
                errors[i, j] = f"{xl.VALUE} model = {cell!r} is not allowed: give a name or a parameter count"
            values[i, j] = text if text is not None else cell
    return xl.Cells(values, errors)


def _text_or_default(name: str, value, default: str) -> xl.Cells:
    """A text argument whose empty cells mean ``default``."""
    rows = xl.grid(value)
    filled = [[default if cell is None or (isinstance(cell, str) and not cell.strip()) else cell for cell in row]
              for row in rows]
    return xl.text_cells(name, filled)


def _first_errors(named: dict, shape) -> np.ndarray:
    errors = np.full(shape, "", dtype=object)
    for cells in named.values():
        errors = np.where(errors == "", np.broadcast_to(cells.errors, shape), errors)
    return errors


def _shapes(model: xl.Cells, errors: np.ndarray, shape):
    """The model cells' shapes (one look-up per distinct name); their problems added to ``errors``: #N/A unknown name, #NUM! bad count."""
    usable = errors == ""
    shapes, reasons = model_shapes.shape_arrays(np.where(usable, np.broadcast_to(model.values, shape), "_"))
    reasons = np.where(usable, reasons, "")
    codes = np.where(np.char.find(reasons.astype(str), "not in the shape catalog") >= 0, xl.NA, xl.NUM)
    return shapes, np.where(reasons != "", codes.astype(object) + " " + reasons, errors)


def _hardware_arrays(gpu_names: np.ndarray, precisions: np.ndarray, errors: np.ndarray) -> dict:
    """Per cell: peak at the precision, bandwidth, memory, interconnect, price, family efficiencies, bytes."""
    keys = ("peak_tflops", "mem_bw_tbs", "memory_gb", "link_gbs", "link_latency_us", "usd_per_hour", "mfu_prefill",
            "mfu_decode", "bw_eff", "bytes")
    out = {k: np.full(gpu_names.shape, np.nan) for k in keys}
    usable = errors == ""
    pairs = {(g, p) for g, p in zip(gpu_names[usable], precisions[usable])}
    for name, precision in pairs:  # a few distinct accelerators and precisions, each looked up once
        where = usable & (gpu_names == name) & (precisions == precision)
        values = _one_accelerator(name, precision)
        if isinstance(values, str):
            errors[where] = values
            continue
        for k in keys:
            out[k][where] = values[k]
    return out


@functools.lru_cache(maxsize=256)
def _one_accelerator(name: str, precision: str):
    """The numbers of one accelerator at one precision (read-only), or the error text for the cell; looked up once
    per name and precision (the shipped catalog is read once, so a kept answer stays right)."""
    key = precision.strip().lower()
    if key not in PRECISION_BYTES:
        return f"{xl.NA} precision = {precision!r} is not known: use one of {', '.join(PRECISION_BYTES)}"
    try:
        acc = hardware.gpu(name)
    except Exception as exc:  # noqa: BLE001 - an unknown or ambiguous name: that cell's error text
        return xl.error_text(exc)
    peak = acc.peak_tflops(key)
    if np.isnan(peak):
        return f"{xl.NA} {acc.name} has no {key} peak in the catalog: use another precision"
    e = latency.efficiencies_for(acc.name)
    return types.MappingProxyType(dict(
        peak_tflops=peak, mem_bw_tbs=acc.mem_bw_tbs, memory_gb=acc.memory_gb, link_gbs=acc.interconnect_gbs,
        link_latency_us=acc.interconnect_latency_us, usd_per_hour=acc.usd_per_hour, mfu_prefill=e.mfu_prefill,
        mfu_decode=e.mfu_decode, bw_eff=e.bw_eff, bytes=PRECISION_BYTES[key]))


def _serving(core, model, gpu_name, precision, numbers: dict, defaults: dict, call, check=None, one_cell=True):
    """Convert the cells, resolve model and accelerator per distinct value, call ``core`` once on the whole range.

    ``numbers`` are the numeric Excel arguments, ``defaults`` their empty-cell values (NaN = the accelerator's
    own figure), ``call(core, shapes, hw, nums)`` makes the core call and ``check(nums)`` gives error texts for
    arguments whose Excel form differs from the core's (ms against seconds); such functions have their own
    one-cell path (``one_cell=False``). Returns (result, errors, shape); errors is a text for one cell.
    """
    one = _serving_one(core, model, gpu_name, precision, numbers, defaults, call) if one_cell else None
    if one is not None:
        return one
    named = {"model": _model_cells(model), "gpu_name": xl.text_cells("gpu_name", gpu_name),
             "precision": _text_or_default("precision", precision, _NAME_DEFAULTS["precision"])}
    named.update({name: xl.number_cells(name, value, defaults[name]) for name, value in numbers.items()})
    shape = xl.broadcast_shape(named)
    errors = _first_errors(named, shape)
    shapes, errors = _shapes(named["model"], errors, shape)
    hw = _hardware_arrays(np.broadcast_to(named["gpu_name"].values, shape),
                          np.broadcast_to(named["precision"].values, shape), errors)
    nums = {name: np.where(errors == "", np.broadcast_to(named[name].values, shape), np.nan) for name in numbers}
    if check is not None:
        errors = np.where(errors == "", check(nums), errors)
        nums = {name: np.where(errors == "", values, np.nan) for name, values in nums.items()}
    for name in ("mfu_prefill", "mfu_decode", "bw_eff", "usd_per_hour"):
        if name in nums:
            nums[name] = np.where(np.isnan(nums[name]), hw[name], nums[name])
    with invalid_reasons() as why, np.errstate(all="ignore"):
        result = call(core, shapes, hw, nums)
    if why.reasons is not None:
        found = np.broadcast_to(np.asarray(why.reasons, dtype=object), shape)
        errors = np.where(errors != "", errors, np.where(found != "", xl.NUM + " " + found, ""))
    return result, errors, shape


# One cell of each argument (a one-cell formula): the same steps on plain values, without grids and error arrays.
# Only what passes every conversion and look-up takes it; any other cell goes through the general path above,
# which gives its error text (tests/test_scalar_slo.py compares the two paths over thousands of cells).


_NAME_DEFAULTS = {"precision": "bf16"}  # gpu_name has none: an empty one is the general path's error


def _one_model(value):
    """A one-cell model: its stripped name or its count as a float; None when it needs the general path."""
    one = xl._single_texts({"model": value}) or xl._single_numbers({}, {"model": value})
    return None if one is None else one["model"]


def _one_arguments(model, gpu_name, precision, numbers: dict, defaults: dict):
    """(model, gpu_name, precision, name -> float) for one usable cell of each argument (``defaults`` as in
    :func:`_serving`), or None when any needs the general path (which gives its error text)."""
    model = _one_model(model)
    names = xl._single_texts({"gpu_name": gpu_name, "precision": precision}, _NAME_DEFAULTS)
    floats = xl._single_numbers(defaults, numbers)
    if model is None or names is None or floats is None:
        return None
    return model, names["gpu_name"], names["precision"], floats


def _serving_one(core, model, gpu_name, precision, numbers: dict, defaults: dict, call):
    """:func:`_serving` for one cell of each argument: (result, error text or '', (1, 1)), or None for the general path."""
    one = _one_arguments(model, gpu_name, precision, numbers, defaults)
    if one is None:
        return None
    model, gpu_name, precision, nums = one
    try:
        model_shapes.shape_numbers(model, latency._MODEL_FIELDS)  # an unknown name or bad count: the general path
    except Exception:  # noqa: BLE001 - its error text comes from the general path
        return None
    hw = _one_accelerator(gpu_name, precision)
    if isinstance(hw, str):
        return None
    for name in ("mfu_prefill", "mfu_decode", "bw_eff", "usd_per_hour"):
        if name in nums and math.isnan(nums[name]):
            nums[name] = hw[name]
    with invalid_reasons() as why:  # the core functions run on Python floats or under np.errstate themselves
        result = call(core, model, hw, nums)
    return result, f"{xl.NUM} {why.reasons}" if why.reasons else "", (1, 1)


def _cells(values, errors, shape, outputs=1):
    if type(errors) is str:  # one cell (see _serving_one)
        if errors:
            return errors if outputs == 1 else [[errors] * outputs]
        if outputs == 1:
            return xl._one_number(values)
        return [[xl._one_number(v) for v in values]]
    if outputs == 1:
        return xl._excel(xl._result_cells(np.broadcast_to(np.asarray(values, dtype=float), shape), errors))
    stacked = np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values], -1)
    stacked, errors = xl._scenario_rows(stacked, errors, shape, outputs)
    return xl._excel(xl._result_cells(stacked, errors))


def _links(hw):
    return dict(link_gbs=hw["link_gbs"], link_latency_us=hw["link_latency_us"])


# ----------------------------------------------------------------------------------------------
# Model shapes


@xw.func(category=CATEGORY)
@_arguments(model=MODEL)
@xl.cell_errors
def MODEL_SHAPE(model):
    """A row per model: params, layers, d_model, heads, KV heads, head dim, FFN size, vocabulary, tied (1/0), KV bytes per token in FP16."""
    one = _model_shape_one(_one_model(model))
    if one is not None:
        return one
    cells = _model_cells(model)
    shape = cells.shape
    errors = cells.errors.copy()
    out = np.full(shape + (len(SHAPE_OUTPUTS),), np.nan)
    for index in zip(*np.nonzero(errors == "")):
        try:
            s = model_shapes.model_shape(cells.values[index])
        except Exception as exc:  # noqa: BLE001 - per-cell error text
            errors[index] = xl.error_text(exc)
            continue
        out[index] = _shape_row(s)
    return _cells([out[..., k] for k in range(len(SHAPE_OUTPUTS))], errors, shape, len(SHAPE_OUTPUTS))


def _shape_row(s) -> list:
    return [s.params, s.layers, s.d_model, s.heads, s.kv_heads, s.head_dim, s.ffn, s.vocab, float(s.tied),
            s.kv_bytes_per_token(2)]


def _model_shape_one(model):
    """MODEL_SHAPE of one usable cell (a name or a count, see :func:`_one_model`), or None for the general path."""
    if model is None:
        return None
    try:
        row = _shape_row(model_shapes.model_shape(model))
    except Exception as exc:  # noqa: BLE001 - the cell's error text, as the general path gives it
        return [[xl.error_text(exc)] * len(SHAPE_OUTPUTS)]
    return [[xl._one_number(float(x)) for x in row]]


@xw.func(category=CATEGORY)
@_arguments(model=MODEL, bytes_per_value="Bytes per cached K or V value: 2 for FP16/BF16, 1 for FP8/INT8; optional, "
                                         "empty = 2")
@xl.cell_errors
def KV_BYTES_PER_TOKEN(model, bytes_per_value=None):
    """KV-cache bytes per token of context: 2 x layers x KV heads x head dim x bytes_per_value."""
    per_value = xl._single_numbers(_KV_DEFAULTS, {"bytes_per_value": bytes_per_value})
    one = _kv_bytes_one(_one_model(model), per_value and per_value["bytes_per_value"])
    if one is not None:
        return one
    named = {"model": _model_cells(model),
             "bytes_per_value": xl.number_cells("bytes_per_value", bytes_per_value, _KV_DEFAULTS["bytes_per_value"])}
    shape = xl.broadcast_shape(named)
    errors = _first_errors(named, shape)
    shapes, errors = _shapes(named["model"], errors, shape)
    per_value = np.broadcast_to(named["bytes_per_value"].values, shape)
    bad = (errors == "") & ~(per_value > 0)
    errors = np.where(bad, f"{xl.NUM} bytes_per_value must be a number > 0", errors)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf stand in for cells that show their error
        kv_bytes = 2.0 * shapes.layers * shapes.kv_dim * per_value
    return _cells(kv_bytes, errors, shape)


_KV_DEFAULTS = {"bytes_per_value": 2.0}


def _kv_bytes_one(model, per_value):
    """KV_BYTES_PER_TOKEN of one usable model and number, or None for the general path (a bad model or number)."""
    if model is None or per_value is None:
        return None
    try:
        layers, kv_dim = model_shapes.shape_numbers(model, ("layers", "kv_dim"))
    except Exception:  # noqa: BLE001 - its error text comes from the general path
        return None
    if not per_value > 0:
        return f"{xl.NUM} bytes_per_value must be a number > 0"
    return xl._one_number(2.0 * layers * kv_dim * per_value)


# ----------------------------------------------------------------------------------------------
# Times


@xw.func(category=CATEGORY)
@_arguments(model=MODEL, gpu_name=GPU_NAME, input_tokens="Prompt tokens per request (>= 0)", batch=BATCH, gpus=GPUS,
            precision=PRECISION, **EFFICIENCY_DOCS)
@xl.cell_errors
def TTFT(model, gpu_name, input_tokens, batch=None, gpus=None, precision=None, mfu_prefill=None, mfu_decode=None,
         bw_eff=None):
    """Time to first token in ms: prefill of batch prompts (compute-bound) plus one decode step, with tensor-parallel all-reduce."""
    numbers = dict(input_tokens=input_tokens, batch=batch, gpus=gpus, mfu_prefill=mfu_prefill, mfu_decode=mfu_decode,
                   bw_eff=bw_eff)
    defaults = dict(input_tokens=xl.REQUIRED, batch=1.0, gpus=1.0, mfu_prefill=np.nan, mfu_decode=np.nan,
                    bw_eff=np.nan)

    def call(core, shapes, hw, n):
        return 1e3 * core(shapes, hw["peak_tflops"], hw["mem_bw_tbs"], n["input_tokens"], batch=n["batch"],
                          gpus=n["gpus"], bytes_per_param=hw["bytes"], kv_bytes_per_value=hw["bytes"],
                          mfu_prefill=n["mfu_prefill"], mfu_decode=n["mfu_decode"], bw_eff=n["bw_eff"], **_links(hw))

    return _cells(*_serving(latency.ttft_s, model, gpu_name, precision, numbers, defaults, call))


@xw.func(category=CATEGORY)
@_arguments(model=MODEL, gpu_name=GPU_NAME, context_tokens="Tokens of context each sequence holds (its KV cache, >= 0)",
            batch=BATCH, gpus=GPUS, precision=PRECISION, mfu_decode=EFFICIENCY_DOCS["mfu_decode"],
            bw_eff=EFFICIENCY_DOCS["bw_eff"])
@xl.cell_errors
def TIME_PER_TOKEN(model, gpu_name, context_tokens, batch=None, gpus=None, precision=None, mfu_decode=None,
                   bw_eff=None):
    """Time per output token in ms: one decode step of batch sequences (roofline), plus the tensor-parallel all-reduce."""
    numbers = dict(context_tokens=context_tokens, batch=batch, gpus=gpus, mfu_decode=mfu_decode, bw_eff=bw_eff)
    defaults = dict(context_tokens=xl.REQUIRED, batch=1.0, gpus=1.0, mfu_decode=np.nan, bw_eff=np.nan)

    def call(core, shapes, hw, n):
        return 1e3 * core(shapes, hw["peak_tflops"], hw["mem_bw_tbs"], n["context_tokens"], batch=n["batch"],
                          gpus=n["gpus"], bytes_per_param=hw["bytes"], kv_bytes_per_value=hw["bytes"],
                          mfu_decode=n["mfu_decode"], bw_eff=n["bw_eff"], **_links(hw))

    return _cells(*_serving(latency.time_per_token_s, model, gpu_name, precision, numbers, defaults, call))


# ----------------------------------------------------------------------------------------------
# Serving at a latency target


SLO_DOCS = dict(
    model=MODEL, gpu_name=GPU_NAME,
    input_tokens="Prompt tokens per request (>= 0)",
    output_tokens="Generated tokens per request (>= 0); the KV cache holds input + output",
    tpot_ms="Target time per output token in ms (> 0); optional, empty = no target (give it, ttft_ms or both)",
    ttft_ms="Target time to first token in ms (> 0); optional, empty = no target",
    gpus="GPUs per replica (whole number >= 1); optional, empty = the cheapest of 1, 2, 4, 8",
    precision=PRECISION,
    usd_per_hour="Price in $ per GPU-hour; optional, empty = the catalog's lowest price for the accelerator",
    headroom="Fraction of GPU memory kept free (0 to <1); optional, empty = 0.1",
    **EFFICIENCY_DOCS,
)
SLO_OUTPUTS = ("batch", "gpus", "time_per_token_s", "ttft_s", "tokens_per_sec", "usd_per_mtok_input",
               "usd_per_mtok_output")
_SLO_SCALES = tuple(1e3 if k.endswith("_s") else 1.0 for k in SLO_OUTPUTS)  # times in ms


_SLO_DEFAULTS = dict(input_tokens=xl.REQUIRED, output_tokens=xl.REQUIRED, tpot_ms=np.inf, ttft_ms=np.inf, gpus=0.0,
                     usd_per_hour=np.nan, headroom=slo.HEADROOM, mfu_prefill=np.nan, mfu_decode=np.nan, bw_eff=np.nan)


def _slo_one(model, gpu_name, precision, numbers: dict):
    """:func:`_slo` for one cell of each argument, or None for the general path: :func:`_serving_one` written out
    for MAX_BATCH (no closures, the core's error caught rather than collected: the same text)."""
    one = _one_arguments(model, gpu_name, precision, numbers, _SLO_DEFAULTS)
    if one is None:
        return None
    model, gpu_name, precision, n = one
    tpot_ms, ttft_ms, usd_per_hour = n["tpot_ms"], n["ttft_ms"], n["usd_per_hour"]
    mfu_prefill, mfu_decode, bw_eff = n["mfu_prefill"], n["mfu_decode"], n["bw_eff"]
    if not (ttft_ms > 0 and tpot_ms > 0) or (tpot_ms == math.inf and ttft_ms == math.inf):
        return None  # the general path's check gives the text
    hw = _one_accelerator(gpu_name, precision)
    if type(hw) is str:
        return None
    try:
        model_shapes.shape_numbers(model, latency._MODEL_FIELDS)  # an unknown name or bad count: the general path
    except Exception:  # noqa: BLE001 - its error text comes from the general path
        return None
    try:
        result = slo.max_batch(
            model, hw["peak_tflops"], hw["mem_bw_tbs"], hw["memory_gb"], n["input_tokens"], n["output_tokens"],
            tpot_target_s=tpot_ms / 1e3, ttft_target_s=ttft_ms / 1e3, gpus=n["gpus"],
            usd_per_hour=hw["usd_per_hour"] if usd_per_hour != usd_per_hour else usd_per_hour,
            bytes_per_param=hw["bytes"], kv_bytes_per_value=hw["bytes"],
            mfu_prefill=hw["mfu_prefill"] if mfu_prefill != mfu_prefill else mfu_prefill,
            mfu_decode=hw["mfu_decode"] if mfu_decode != mfu_decode else mfu_decode,
            bw_eff=hw["bw_eff"] if bw_eff != bw_eff else bw_eff, headroom=n["headroom"], link_gbs=hw["link_gbs"],
            link_latency_us=hw["link_latency_us"])
    except XlcalcError as exc:  # a scalar call raises what invalid_reasons() would collect
        return None, f"{xl.NUM} {exc}", (1, 1)
    return result, "", (1, 1)


def _slo(model, gpu_name, input_tokens, output_tokens, tpot_ms, ttft_ms, gpus, precision, usd_per_hour, headroom,
         mfu_prefill, mfu_decode, bw_eff):
    numbers = dict(input_tokens=input_tokens, output_tokens=output_tokens, tpot_ms=tpot_ms, ttft_ms=ttft_ms,
                   gpus=gpus, usd_per_hour=usd_per_hour, headroom=headroom, mfu_prefill=mfu_prefill,
                   mfu_decode=mfu_decode, bw_eff=bw_eff)
    one = _slo_one(model, gpu_name, precision, numbers)
    if one is not None:
        return one

    def call(core, shapes, hw, n):
        return core(shapes, hw["peak_tflops"], hw["mem_bw_tbs"], hw["memory_gb"], n["input_tokens"],
                    n["output_tokens"], tpot_target_s=n["tpot_ms"] / 1e3, ttft_target_s=n["ttft_ms"] / 1e3,
                    gpus=n["gpus"], usd_per_hour=n["usd_per_hour"], bytes_per_param=hw["bytes"],
                    kv_bytes_per_value=hw["bytes"], mfu_prefill=n["mfu_prefill"], mfu_decode=n["mfu_decode"],
                    bw_eff=n["bw_eff"], headroom=n["headroom"], **_links(hw))

    def check(n):
        """The targets as typed, in ms: each > 0 where given, and at least one given."""
        errors = np.full(np.shape(n["tpot_ms"]), "", dtype=object)
        for name in ("ttft_ms", "tpot_ms"):
            value = n[name]
            bad = ~(value > 0)
            shown = np.vectorize(format_value, otypes=[object])(value) if bad.any() else None
            errors = np.where(bad, f"{xl.NUM} {name} = " + (shown if shown is not None else "")
                              + " is not allowed: must be a time in ms > 0, or empty for no target", errors)
        none = np.isinf(n["tpot_ms"]) & np.isinf(n["ttft_ms"])
        return np.where(none & (errors == ""), f"{xl.VALUE} give a target: tpot_ms, ttft_ms or both", errors)

    return _serving(slo.max_batch, model, gpu_name, precision, numbers, _SLO_DEFAULTS, call, check, one_cell=False)


@xw.func(category=CATEGORY)
@_arguments(**SLO_DOCS)
@xl.cell_errors
def MAX_BATCH(model, gpu_name, input_tokens, output_tokens, tpot_ms=None, ttft_ms=None, gpus=None, precision=None,
              usd_per_hour=None, headroom=None, mfu_prefill=None, mfu_decode=None, bw_eff=None):
    """Largest batch meeting the latency targets and fitting in memory: a row batch, GPUs per replica, ms per token, TTFT ms, tokens/s, $ per M input, $ per M output tokens."""
    result, errors, shape = _slo(model, gpu_name, input_tokens, output_tokens, tpot_ms, ttft_ms, gpus, precision,
                                 usd_per_hour, headroom, mfu_prefill, mfu_decode, bw_eff)
    if type(errors) is str:  # one cell
        if errors:
            return [[errors] * len(SLO_OUTPUTS)]
        r = result
        return [[xl._one_number(r.batch), xl._one_number(r.gpus), xl._one_number(r.time_per_token_s * 1e3),
                 xl._one_number(r.ttft_s * 1e3), xl._one_number(r.tokens_per_sec),
                 xl._one_number(r.usd_per_mtok_input), xl._one_number(r.usd_per_mtok_output)]]
    values = [getattr(result, k) * scale for k, scale in zip(SLO_OUTPUTS, _SLO_SCALES)]
    return _cells(values, errors, shape, len(SLO_OUTPUTS))


@xw.func(category=CATEGORY)
@_arguments(**SLO_DOCS)
@xl.cell_errors
def COST_PER_MTOK_SLO(model, gpu_name, input_tokens, output_tokens, tpot_ms=None, ttft_ms=None, gpus=None,
                      precision=None, usd_per_hour=None, headroom=None, mfu_prefill=None, mfu_decode=None, bw_eff=None):
    """$ per million output tokens and per million input tokens when serving at the largest batch that meets the latency targets: a row of 2."""
    result, errors, shape = _slo(model, gpu_name, input_tokens, output_tokens, tpot_ms, ttft_ms, gpus, precision,
                                 usd_per_hour, headroom, mfu_prefill, mfu_decode, bw_eff)
    if type(errors) is str and errors:  # one cell, with its error
        return _cells(None, errors, shape, 2)
    return _cells([result.usd_per_mtok_output, result.usd_per_mtok_input], errors, shape, 2)
