"""Traced numpy memory, shared by benchmarks/objectives.py, benchmarks/memory.py and tests/test_objective_chunks.py.

tracemalloc counts numpy's arrays; a figure is a peak beyond what was allocated before and beyond the
outputs, that is a function's working memory.
"""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np

from xlcalc.core import objectives as objectives_module


def arrays_of(result):
    """The numpy arrays a call returns: itself, a tuple's or list's items, or a result dataclass's fields (nested)."""
    if isinstance(result, np.ndarray):
        yield result
    elif isinstance(result, (tuple, list)):
        for item in result:
            yield from arrays_of(item)
    elif dataclasses.is_dataclass(result):
        for field in dataclasses.fields(result):
            yield from arrays_of(getattr(result, field.name))


def output_bytes(result) -> int:
    """Bytes of every array in a result (a dataclass or tuple of arrays, nested)."""
    return sum(a.nbytes for a in arrays_of(result))


def solver_peak_bytes(call) -> list:
    """The peak of each solve (xlcalc.core.objectives._optimum) that ``call()`` runs, in bytes beyond what was
    allocated before it and beyond its outputs; the solver is put back afterwards."""
    peaks = []
    solve = objectives_module._optimum

    def measured(*args, **kwargs):
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = solve(*args, **kwargs)
        peaks.append(tracemalloc.get_traced_memory()[1] - base - output_bytes(result))
        return result

    objectives_module._optimum = measured
    tracemalloc.start()
    try:
        call()
    finally:
        tracemalloc.stop()
        objectives_module._optimum = solve
    return peaks
