"""Argument checking shared by the core functions: broadcasting, per-element validity and its reasons.

A core function checks its arguments with a :class:`Checked` and computes only on the valid elements.
Scalar calls with a bad argument raise :class:`~xlcalc.errors.InvalidInputError`; array calls give NaN
for the bad elements (with an :class:`~xlcalc.errors.InvalidInputWarning`), and the reason for every
element is available inside :func:`invalid_reasons`, which is how the Excel layer shows it per cell.
"""

from __future__ import annotations

import contextvars
import functools
import math
import numbers
import os
import sys
import warnings

import numpy as np

from .errors import InvalidInputError, InvalidInputWarning, XlcalcError

# The most elements one call computes: 16.8 million (the 1,000,000-scenario benchmark is one sixteenth); each
# result array of that size takes 134 MB, and a column of 1e5 against a row of 1e5 would need terabytes.
MAX_ELEMENTS = 2**24

_collector: contextvars.ContextVar = contextvars.ContextVar("xlcalc_invalid_reasons", default=None)


class InvalidReasons:
    """What :func:`invalid_reasons` collects: ``reasons`` of the last checked call ('' where valid)."""

    def __init__(self):
        self.reasons = None

    @property
    def any(self) -> bool:
        """True when the last checked call had at least one invalid element."""
        return self.reasons is not None and bool(np.any(np.asarray(self.reasons, dtype=object) != ""))


class invalid_reasons:  # noqa: N801 - used as a function, ``with invalid_reasons() as why:``
    """Collect per-element reasons instead of raising or warning.

    Inside the block, no core function raises for a bad value, scalar or array; bad elements come back
    as NaN and ``reasons`` holds, for the last call, an object array of the same shape as its result
    with the reason for each element ('' where the element is valid).

    Examples
    --------
    >>> import xlcalc
    >>> with xlcalc.invalid_reasons() as why:
    ...     out = xlcalc.loss([1e9, -1.0], 2e10)
    >>> list(why.reasons)
    ['', 'params = -1 is not allowed: must be a number > 0']
    """

    # A class, not @contextlib.contextmanager: entering and leaving cost a third as much, which a one-cell
    # Excel formula (one block per call) notices.
    def __enter__(self) -> InvalidReasons:
        collected = InvalidReasons()
        self._token = _collector.set(collected)
        return collected

    def __exit__(self, *exc_info) -> None:
        _collector.reset(self._token)


def overflow_checked(function):
    """Run a core function without numpy's overflow and division warnings: :meth:`Checked.finish` turns any inf
    or NaN result of valid inputs into an invalid element with its reason (an error for a scalar call)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return function(*args, **kwargs)
        except (OverflowError, ZeroDivisionError, ValueError) as exc:  # Python float arithmetic on extreme constants
            if isinstance(exc, ValueError) and (isinstance(exc, XlcalcError) or str(exc) != "math domain error"):
                raise  # xlcalc's own errors (InvalidInputError is a ValueError) and anything else unexpected
            fit = kwargs.get("fit")
            constants = getattr(fit, "constants", fit)
            shown = "the inputs give" if constants is None or isinstance(constants, str) else (
                "fit = (" + ", ".join(format_value(v) for v in np.ravel(constants)) + ") gives")
            raise InvalidInputError(f"{function.__name__}: {shown} a result outside the floating-point range "
                                    "(too extreme)") from None

    return wrapper


def format_value(value) -> str:
    """Show a user's value in a message: numbers as %g, anything else as repr (shortened when long)."""
    if isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:  # a Python int beyond the float range, e.g. 10**400
            return f"an integer of {len(str(abs(int(value))))} digits"
        if np.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    shown = " ".join(repr(value).split())  # one line, even for a numpy array
    return shown if len(shown) <= 60 else shown[:57] + "..."


def as_float_array(name: str, value) -> np.ndarray:
    """``value`` as a float array, or an InvalidInputError naming the argument when it is not numeric."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise InvalidInputError(f"{name} = {value!r} is not allowed: must be a number")
    try:
        array = np.asarray(value, dtype=float)
    except OverflowError:  # a Python int beyond the float range, e.g. 10**400
        shown = f"an integer of {len(str(abs(value)))} digits" if isinstance(value, int) else "a value"
        raise InvalidInputError(f"{name} is {shown} beyond the floating-point range: it must be below "
                                "about 1.8e308") from None
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} = {format_value(value)} is not allowed: must be a number or an array of "
                                "numbers") from None
    if np.asarray(value).dtype == bool:
        raise InvalidInputError(f"{name} is an array of booleans: it must hold numbers")
    return array


# Elements per chunk of an array call (see Checked.map_chunks): large enough that numpy's per-call overhead
# (about 20 ufunc calls a Newton step) is small against the work, small enough that a solver's buffers
# (5 x 128 KB) stay in a core's L2 cache and its temporaries are a few MB whatever the call's size.
# Measured on 1e6 compute-optimal solves: 4096 -> 0.081 s, 16384 -> 0.071 s, 32768 -> 0.069 s.
CHUNK_ELEMENTS = 16384
_EXACT_INT = 2**53
NON_FINITE_REASON = "give a result outside the floating-point range (too extreme)"


def _plain_number(value) -> bool:
    """A Python float (or numpy float scalar) or an int that converts exactly: the scalar fast path takes these."""
    return isinstance(value, float) or (type(value) is int and -_EXACT_INT < value < _EXACT_INT)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_stacklevel() -> int:
    """The ``stacklevel`` for a warning issued in the caller of this function that points at the first frame
    outside the xlcalc package: the user's line, however many xlcalc functions lie in between."""
    level, frame = 2, sys._getframe(2)  # level 1 is the function that warns
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    return level


def all_above(values: np.ndarray, low: float, strict: bool = True) -> bool:
    """Every element finite and > ``low`` (>= when not ``strict``; False for NaN): two reductions, where a
    check's masks make about eight passes, so an all-valid array is checked in a quarter of the time."""
    if values.size == 0:
        return False
    smallest = values.min()
    return bool(smallest > low if strict else smallest >= low) and values.max() < math.inf


class Checked:
    """Broadcast named arguments and record which elements are invalid, and why.

    >>> c = Checked(params=[1.0, -2.0], tokens=3.0)
    >>> c.positive("params")
    >>> c.bad.tolist()
    [False, True]
    """

    def __init__(self, **arguments):
        self._why = None  # the reasons, made on the first invalid element (8 bytes an element)
        self._valid_at_solve = None  # the valid mask the kernels computed on, once results are rejected
        if arguments and all(_plain_number(v) for v in arguments.values()):
            # Scalar fast path: no broadcasting; the checks below read these floats (same tests, same messages).
            self.floats = {name: float(v) for name, v in arguments.items()}
            self._values = None  # numpy floats, made when asked for
            self.scalar, self.shape = True, ()
            self.bad = np.zeros((), dtype=bool)
            return
        self.floats = None
        arrays = {name: as_float_array(name, value) for name, value in arguments.items()}
        self.scalar = all(a.ndim == 0 for a in arrays.values())
        try:
            broadcast = np.broadcast_arrays(*arrays.values())
        except ValueError:
            shapes = ", ".join(f"{n}{a.shape}" for n, a in arrays.items())
            raise InvalidInputError(f"arguments have shapes that do not broadcast together: {shapes}") from None
        self.shape = broadcast[0].shape if broadcast else ()
        size = int(np.prod(self.shape, dtype=float))
        if size > MAX_ELEMENTS:
            shapes = ", ".join(f"{n}{a.shape}" for n, a in arrays.items() if a.ndim)
            raise InvalidInputError(f"arguments broadcast to {size:,.0f} elements ({shapes}): at most "
                                    f"{MAX_ELEMENTS:,} in one call; split the call")
        self._values = dict(zip(arrays, broadcast))
        self.bad = np.zeros(self.shape, dtype=bool)

    @property
    def values(self) -> dict:
        """Argument name -> its broadcast array (a numpy float for a scalar call)."""
        if self._values is None:  # scalar call: numpy floats (indexing with () or a 0-d mask works as on 0-d arrays)
            self._values = {name: np.float64(v) for name, v in self.floats.items()}
        return self._values

    @property
    def why(self) -> np.ndarray:
        """The reason for each element ('' where valid), an object array of the broadcast shape."""
        if self._why is None:
            self._why = np.full(self.shape, "", dtype=object)
        return self._why

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def require(self, name: str, ok, allowed: str, shown=None) -> None:
        """Mark elements where ``ok`` is false (NaN counts as false) as invalid: ``name = value`` is not allowed."""
        if self.floats is not None and (self.bad or ok):  # scalar fast path: nothing new to mark
            return
        ok = np.broadcast_to(np.asarray(ok, dtype=bool), self.shape)
        new = ~ok & ~self.bad
        if not new.any():
            return
        shown = self.values[name] if shown is None else np.broadcast_to(shown, self.shape)
        # one message per distinct bad value, not per element: a million-cell range of one bad value is quick
        # (distinct by bit pattern, so -0 stays -0 in its message, as typed)
        bad_values = np.ascontiguousarray(np.asarray(shown, dtype=float)[new].ravel())
        bits, which = np.unique(bad_values.view(np.int64), return_inverse=True)
        texts = np.array([f"{name} = {format_value(v)} is not allowed: {allowed}" for v in bits.view(np.float64)],
                         dtype=object)
        self.mark(new, texts[which.ravel()])

    def mark(self, new, reason_of, error=InvalidInputError) -> None:
        """Mark the elements of mask ``new`` invalid with ``reason_of(index)`` (or the reasons of the marked
        elements in order, as an array); a scalar call raises ``error`` (outside :func:`invalid_reasons`).
        Every check, before or after solving, ends here."""
        if not callable(reason_of):
            self.why[new if self.shape else ()] = reason_of if self.shape else reason_of[0]
        else:
            for index in zip(*np.nonzero(new)) if self.shape else [()]:
                self.why[index] = reason_of(index)
        self.bad |= new
        if self.scalar and _collector.get() is None:
            raise error(self.why[()])

    def _scalar_ok(self, names, test) -> tuple:
        """Scalar fast path: the names whose float fails ``test`` (all of them for an array call)."""
        if self.floats is None:
            return names
        return tuple(name for name in names if not test(self.floats[name]))

    def positive(self, *names: str) -> None:
        """Each named argument must be a finite number > 0."""
        for name in self._scalar_ok(names, lambda x: math.isfinite(x) and x > 0):
            v = self.values[name]
            if all_above(v, 0.0):
                continue
            self.require(name, np.isfinite(v) & (v > 0), "must be a number > 0")

    def model_size(self, *names: str) -> None:
        """Each named argument is a parameter or training-token count: a finite number >= 1 (less is no real model)."""
        for name in self._scalar_ok(names, lambda x: math.isfinite(x) and x >= 1):
            v = self.values[name]
            self.require(name, np.isfinite(v) & (v >= 1), "must be a number >= 1 (a model of under one parameter "
                                                           "or one training token is no real model)")

    def non_negative(self, *names: str) -> None:
        """Each named argument must be a finite number >= 0."""
        for name in self._scalar_ok(names, lambda x: math.isfinite(x) and x >= 0):
            v = self.values[name]
            if all_above(v, 0.0, strict=False):
                continue
            self.require(name, np.isfinite(v) & (v >= 0), "must be a number >= 0")

    def fraction(self, *names: str) -> None:
        """Each named argument must lie in (0, 1] (an efficiency such as MFU)."""
        for name in self._scalar_ok(names, lambda x: 0 < x <= 1):
            v = self.values[name]
            self.require(name, (v > 0) & (v <= 1), "must be in (0, 1]")

    def at_least_one(self, *names: str) -> None:
        """Each named argument must be a whole number >= 1 (a batch size, a GPU count)."""
        for name in self._scalar_ok(names, lambda x: math.isfinite(x) and x >= 1 and x == math.floor(x)):
            v = self.values[name]
            self.require(name, np.isfinite(v) & (v >= 1) & (v == np.floor(v)), "must be a whole number >= 1")

    @property
    def ok(self) -> np.ndarray:
        """Mask of the valid elements."""
        return ~self.bad

    def valid(self, name: str) -> np.ndarray:
        """The valid elements of an argument, flattened (the kernels compute on these only)."""
        if self.floats is not None and not self.bad:
            # a numpy float: its arithmetic costs a fifth of a 1-element array's, with the same digits
            # (for ufuncs and + - * /; the kernels use np.power, not **) and the same np.errstate rules
            return np.float64(self.floats[name])
        if not self.bad.any():
            return self.values[name].ravel()
        return self.values[name][~self.bad]

    def finish(self, *results: np.ndarray):
        """Scatter kernel results (computed on the valid elements) back, NaN where invalid.

        Records the reasons in an active :func:`invalid_reasons` block, or warns once for an array
        call. Returns plain floats for a scalar call, arrays otherwise (a tuple when several results).
        """
        if self.floats is not None and not self.bad and self._valid_at_solve is None:
            # scalar fast path: the same floats the general path below gives, when all are finite
            out = [float(r[0]) if isinstance(r, np.ndarray) and r.ndim else float(r) for r in results]
            if all(map(math.isfinite, out)):
                collector = _collector.get()
                if collector is not None:
                    collector.reasons = ""
                return out[0] if len(out) == 1 else tuple(out)
        valid = self._valid_at_solve if self._valid_at_solve is not None else ~self.bad
        self._reject_non_finite(results, valid)
        self._report()
        out = []
        all_valid = not self.bad.any()
        for result in results:
            if all_valid:
                full = np.empty(self.shape)
                full.reshape(-1)[...] = result
            else:
                full = np.full(self.shape, np.nan)
                full[valid] = result
                full[self.bad] = np.nan
            out.append(float(full) if self.scalar else full)
        return out[0] if len(out) == 1 else tuple(out)

    def _report(self) -> None:
        """Give the reasons to an active :func:`invalid_reasons` block, or warn once when any element is invalid."""
        collector = _collector.get()
        if collector is not None:
            collector.reasons = self.why[()] if self.scalar else self.why
        elif self.bad.any():
            count = int(self.bad.sum())
            first = self.why[np.nonzero(self.bad)][0] if self.shape else self.why[()]
            warnings.warn(
                f"{count} of {self.bad.size} elements are invalid and came back as NaN; first: {first}. "
                "Use xlcalc.invalid_reasons() to get the reason for each.",
                InvalidInputWarning,
                stacklevel=_caller_stacklevel(),
            )

    # ------------------------------------------------------------------------------------------
    # Array calls in chunks: the kernels write into the outputs a chunk at a time, so an array call
    # needs the inputs, the outputs, this object's 1-byte mask and a few chunk-sized buffers, whatever
    # its size (finish() instead holds every kernel result and a copy of it). Same digits as finish():
    # the kernels give each element the same result whatever the other elements of its chunk.

    def map_chunks(self, kernel, count: int, *names: str, chunk: int = CHUNK_ELEMENTS, into: bool = False) -> tuple:
        """Run ``kernel(*named_arguments)`` over the broadcast elements a chunk at a time.

        ``kernel`` takes one value or a 1-D chunk per named argument (a float for an argument that was
        a single value) and returns ``count`` results, each a chunk or a value. Returns ``count``
        arrays of the broadcast shape; invalid elements are computed on a valid stand-in and must be
        finished with :meth:`finish_outputs`, which sets them to NaN. With ``into=True`` the kernel is
        called with one more argument, the ``count`` slices of the outputs to write (no copies).
        """
        outputs = tuple(np.empty(self.shape) for _ in range(count))
        flat_outputs = [o.reshape(-1) for o in outputs]
        bad = self.bad.reshape(-1)
        if bad.all():
            return outputs
        first_valid = int(np.argmin(bad))  # index of the first False
        inputs = [self._flat_or_float(self.values[name]) for name in names]
        stand_in = [x if isinstance(x, float) else float(x[first_valid]) for x in inputs]
        any_bad = bool(bad.any())
        for start in range(0, bad.size, chunk):
            part = slice(start, start + chunk)
            args = [x if isinstance(x, float) else x[part] for x in inputs]
            if any_bad and bad[part].any():
                args = [x if isinstance(x, float) else np.where(bad[part], s, x) for x, s in zip(args, stand_in)]
            if into:
                kernel(*args, [flat[part] for flat in flat_outputs])
                continue
            for flat, result in zip(flat_outputs, kernel(*args)):
                flat[part] = result
        return outputs

    @staticmethod
    def _flat_or_float(value: np.ndarray):
        """A broadcast argument as a float (one value repeated) or a flat array (a view when possible)."""
        if value.ndim == 0 or not any(value.strides):
            return float(value.reshape(-1)[0]) if value.size else 0.0
        if value.flags.c_contiguous:
            return value.reshape(-1)
        return np.ascontiguousarray(value).reshape(-1)  # partly broadcast (a column against a row): a copy

    def reject_where(self, rejected: np.ndarray, reason: str) -> None:
        """:meth:`reject_results` for a mask of the broadcast shape (outputs of :meth:`map_chunks`)."""
        new = np.asarray(rejected, dtype=bool) & ~self.bad
        if new.any():
            self.mark(new, self._inputs_reason(reason))

    def finish_outputs(self, *outputs: np.ndarray, all_finite: bool = False):
        """:meth:`finish` for the full-shape outputs of :meth:`map_chunks`: non-finite results of valid
        inputs become invalid, invalid elements NaN (in place); reasons recorded or warned as there.
        ``all_finite=True``: the kernels found every result finite, so the scan for others is skipped."""
        if not all_finite:
            non_finite = np.zeros(self.shape, dtype=bool)
            for output in outputs:
                non_finite |= ~np.isfinite(output)
            self.reject_where(non_finite, NON_FINITE_REASON)
        self._report()
        if self.bad.any():
            for output in outputs:
                output[self.bad] = np.nan
        return outputs[0] if len(outputs) == 1 else outputs

    def _reject_non_finite(self, results, valid) -> None:
        """Valid inputs whose result overflowed (inf or NaN): invalid too, with a reason naming the inputs."""
        count = int(valid.sum())
        finite = np.ones(count, dtype=bool)
        for result in results:
            finite &= np.isfinite(np.broadcast_to(np.asarray(result, dtype=float), (count,)))
        self.reject_results(~finite, NON_FINITE_REASON, valid)

    def reject_tiny_models(self, *models, reason: str = "") -> None:
        """Mark elements whose model (a ``(params, tokens)`` pair of kernel results) has under one parameter or
        under one training token: a nonsense model, never an answer. ``reason`` says what to change."""
        tiny = False
        for params, tokens in models:
            tiny = tiny | (np.asarray(params) < 1.0) | (np.asarray(tokens) < 1.0)
        self.reject_results(tiny, "give a model of under one parameter or under one training token, which is "
                                  "no real model" + (f": {reason}" if reason else ""))

    def reject_results(self, rejected, reason: str, valid=None) -> None:
        """Mark elements invalid after solving, naming the inputs of each element (the extreme ones if any), then ``reason``.

        ``rejected`` is a mask over the valid elements, in the kernels' order. Call it after the kernels
        have taken their inputs with :meth:`valid`, before :meth:`finish`."""
        if self._valid_at_solve is None:
            self._valid_at_solve = ~self.bad
        valid = self._valid_at_solve if valid is None else valid
        rejected = np.asarray(rejected, dtype=bool)
        if not rejected.any():
            return
        new = np.zeros(self.shape, dtype=bool)
        new[valid] = rejected
        self.mark(new, self._inputs_reason(reason))

    def _inputs_reason(self, reason: str):
        """reason_of(index) for :meth:`mark`: the inputs of the element (the extreme ones if any), then ``reason``."""

        def reason_of(index):
            shown = {name: v[index] for name, v in self.values.items()}
            extreme = {name: x for name, x in shown.items() if abs(x) >= 1e100 or 0 < abs(x) <= 1e-100}
            return ", ".join(f"{name} = {format_value(x)}" for name, x in (extreme or shown).items()) + " " + reason

        return reason_of
