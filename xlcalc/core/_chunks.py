"""Array calls of the closed-form core functions a chunk at a time, so their temporaries stay a few chunks in size.

A closed-form function such as ``tokens_per_sec`` evaluates its formula on whole arrays: each operation
makes a temporary of the call's size, 65-145 bytes a scenario at the peak (benchmarks/memory.py). The
decorator :func:`chunked` runs such a call on ``CHUNK_ELEMENTS`` scenarios at a time and writes each
chunk's results into arrays of the call's shape made once, so a call needs its inputs, its outputs and a
few chunk-sized temporaries (a few MB) whatever its size, and the temporaries stay in cache.

The results are the same bit for bit (tests/test_chunked_memory.py): every function decorated is
elementwise, so an element's result, its NaN and its reason do not depend on the other elements of its
chunk. Reasons are gathered as a whole call gives them: inside :func:`xlcalc.invalid_reasons` the block
gets one array of the call's shape; otherwise the call warns once, with the count and the first reason.
Scalar calls, calls of at most one chunk, and calls this does not plan for (lists, arrays of fits,
non-numeric arrays, shapes that do not broadcast or are too large) run the function unchanged, which
also gives their errors.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers

import numpy as np

from .._checks import MAX_ELEMENTS, warn_invalid
from .._reasons import InvalidReasons, _collector

# Scenarios a chunk: four times the solvers' chunk (xlcalc._checks.CHUNK_ELEMENTS), as a closed form does less
# work an element against a call's fixed cost (its checks). On 1e6 scenarios (CPU ms, the best of 5, one run):
# train_flops 8.0 / 6.4 / 5.4 / 5.4 at 16,384 / 32,768 / 65,536 / 131,072 (5.3 as one whole-array call),
# tokens_per_sec 37.4 / 33.8 / 31.5 / 32.9 (41.8 whole), monthly_cost 85.6 / 80.7 / 80.7 / 89.0 (104 whole).
# Its temporaries, 512 KB each, stay a few MB.
CHUNK_ELEMENTS = 2**16


class _ChunkReasons(InvalidReasons):
    """What a chunk's :class:`~xlcalc._checks.Checked` reports to: its reasons, or None when all are valid."""

    lazy = True


def chunked(function):
    """Decorator: an array call of elementwise ``function`` over more than one chunk runs a chunk at a time."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for value in args:
            if type(value) is np.ndarray and value.ndim:
                break
        else:
            for value in kwargs.values():
                if type(value) is np.ndarray and value.ndim:
                    break
            else:  # a scalar call (or lists): untouched
                return function(*args, **kwargs)
        plan = _plan(args, kwargs)
        if plan is None:
            return function(*args, **kwargs)
        result = _run(function, *plan)
        return function(*args, **kwargs) if result is None else result

    return wrapper


def _passes_through(value) -> bool:
    """A value each chunk gets as it is: a 0-d array, a number, None, a name, or a fit of single constants."""
    if value is None or isinstance(value, (str, numbers.Real)) or (type(value) is np.ndarray and not value.ndim):
        return True
    constants = getattr(value, "constants", None)
    return constants is not None and all(isinstance(c, numbers.Real) for c in constants)


def _plan(args, kwargs):
    """(shape, flat positional arguments, flat keyword arguments) for a chunked call, or None to call unchanged."""
    arrays = [v for v in (*args, *kwargs.values()) if type(v) is np.ndarray and v.ndim]
    if any(a.dtype.kind not in "fiu" for a in arrays) or not all(
            type(v) is np.ndarray and v.ndim or _passes_through(v) for v in (*args, *kwargs.values())):
        return None
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        return None
    size = int(np.prod(shape, dtype=float))
    if size <= CHUNK_ELEMENTS or size > MAX_ELEMENTS:
        return None

    def flat(value):
        if type(value) is not np.ndarray or not value.ndim:
            return value
        if value.size == 1:
            return value.reshape(())
        if value.shape == shape and (value.ndim == 1 or value.flags.c_contiguous):
            return value.reshape(-1)  # a view (a strided 1-D one too: its chunks are sliced, not copied)
        return np.ascontiguousarray(np.broadcast_to(value, shape)).reshape(-1)  # partly broadcast: a copy

    return shape, [flat(v) for v in args], {k: flat(v) for k, v in kwargs.items()}


def _leaves(result) -> list:
    """The arrays of a result, in order: itself, a tuple's items, a result dataclass's fields (nested)."""
    if dataclasses.is_dataclass(result):
        return [leaf for field in dataclasses.fields(result) for leaf in _leaves(getattr(result, field.name))]
    if isinstance(result, tuple):
        return [leaf for item in result for leaf in _leaves(item)]
    return [result]


def _rebuilt(template, leaves):
    """``template`` (a chunk's result) with its arrays replaced, in order, by those of the iterator ``leaves``."""
    if dataclasses.is_dataclass(template):
        return type(template)(*(_rebuilt(getattr(template, f.name), leaves) for f in dataclasses.fields(template)))
    if isinstance(template, tuple):
        return tuple(_rebuilt(item, leaves) for item in template)
    return next(leaves)


def _run(function, shape, args, kwargs):
    """The call a chunk at a time into arrays of ``shape``; None when the first chunk's results are not one
    value per element (the caller then calls the function on the whole arrays)."""
    size = int(np.prod(shape))
    outer = _collector.get()
    reasons = _ChunkReasons()
    reasons.first_only = outer is None  # the call warns: each chunk's count and first reason are all it reads
    why, count, first, outputs, template = None, 0, "", None, None
    token = _collector.set(reasons)
    try:
        for start in range(0, size, CHUNK_ELEMENTS):
            part = slice(start, min(start + CHUNK_ELEMENTS, size))
            reasons.reasons, reasons.count, reasons.first = None, 0, ""
            result = function(*[_part(v, part) for v in args], **{k: _part(v, part) for k, v in kwargs.items()})
            leaves = _leaves(result)
            if outputs is None:
                length = part.stop - part.start
                if not all(type(a) is np.ndarray and a.shape == (length,) for a in leaves):
                    return None
                template, outputs = result, [np.empty(size, dtype=a.dtype) for a in leaves]
            for flat, leaf in zip(outputs, leaves):
                flat[part] = leaf
            if outer is not None and reasons.reasons is not None:
                if why is None:
                    why = np.full(size, "", dtype=object)
                why[part] = reasons.reasons
            count += reasons.count
            first = first or reasons.first
    finally:
        _collector.reset(token)
    if outer is not None:
        outer.reasons = (np.full(size, "", dtype=object) if why is None else why).reshape(shape)
    elif count:
        warn_invalid(count, size, first)
    return _rebuilt(template, iter(o.reshape(shape) for o in outputs))


def _part(value, part: slice):
    return value[part] if type(value) is np.ndarray and value.ndim else value
