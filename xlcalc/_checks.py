"""Argument checking shared by the core functions: broadcasting, per-element validity and its reasons.

A core function checks its arguments with a :class:`Checked` and computes only on the valid elements.
Scalar calls with a bad argument raise :class:`~xlcalc.errors.InvalidInputError`; array calls give NaN
for the bad elements (with an :class:`~xlcalc.errors.InvalidInputWarning`), and the reason for every
element is available inside :func:`invalid_reasons`, which is how the Excel layer shows it per cell.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._reasons import InvalidReasons, _caller_stacklevel, _collector, format_value, invalid_reasons, overflow_checked
from .errors import InvalidInputError, InvalidInputWarning

# The most elements one call computes: 16.8 million (the 1,000,000-scenario benchmark is one sixteenth); each
# result array of that size takes 134 MB, and a column of 1e5 against a row of 1e5 would need terabytes.
MAX_ELEMENTS = 2**24


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
# From this many elements finish() tests a result for inf and NaN by its min and max (two passes, no mask).
_SCAN_ELEMENTS = 1024
NON_FINITE_REASON = "give a result outside the floating-point range (too extreme)"


def _plain_number(value) -> bool:
    """A Python float (or numpy float scalar) or an int that converts exactly: the scalar fast path takes these."""
    kind = type(value)  # the exact types first: this runs for every argument of every scalar call
    return kind is float or (kind is int and -_EXACT_INT < value < _EXACT_INT) or (
        kind is not int and isinstance(value, float))


def _plain_floats(arguments: dict) -> dict | None:
    """Name -> Python float when every argument is a plain number (see :func:`_plain_number`), else None."""
    floats = {}
    for name, value in arguments.items():
        kind = type(value)
        if kind is float:
            floats[name] = value
        elif kind is int and -_EXACT_INT < value < _EXACT_INT:  # an integer default such as batch=1
            floats[name] = float(value)
        elif _plain_number(value):
            floats[name] = float(value)
        else:
            return None
    return floats


def warn_invalid(count: int, size: int, first: str) -> None:
    """The one warning of an array call with ``count`` invalid elements of ``size``, pointing at the user's line."""
    warnings.warn(
        f"{count} of {size} elements are invalid and came back as NaN; first: {first}. "
        "Use xlcalc.invalid_reasons() to get the reason for each.",
        InvalidInputWarning,
        stacklevel=_caller_stacklevel(),
    )


def finite_everywhere(a: np.ndarray) -> bool:
    """Every element finite, tested by its min and max (NaN when any element is NaN): no mask; False when empty."""
    return a.size > 0 and math.isfinite(a.min()) and math.isfinite(a.max())


def repeated_value(a):
    """The value a non-empty array of stride 0 everywhere (one value broadcast) repeats, a numpy float; else None."""
    if isinstance(a, np.ndarray) and a.ndim and a.size and not any(a.strides):
        return a[(0,) * a.ndim]
    return None


class DeferredReasons:
    """The reasons of the elements one :meth:`Checked.mark` marks, made only when asked for: ``texts(ranks)`` gives
    the texts of the marked elements ``ranks`` (their positions among the marked ones in C order) as a list."""

    __slots__ = ("texts",)

    def __init__(self, texts):
        self.texts = texts


class Checked:
    """Broadcast named arguments and record which elements are invalid, and why.

    >>> c = Checked(params=[1.0, -2.0], tokens=3.0)
    >>> c.positive("params")
    >>> c.bad.tolist()
    [False, True]
    """

    def __init__(self, **arguments):
        self._why = None  # the reasons, made on the first invalid element (8 bytes an element)
        self._pending = []  # marks whose texts are not made yet: (flat positions, reason_of), in marking order
        self._valid_at_solve = None  # the valid mask the kernels computed on, once results are rejected
        floats = _plain_floats(arguments) if arguments else None
        if floats is not None:
            # Scalar fast path: no broadcasting; the checks below read these floats (same tests, same messages).
            self.floats = floats
            self._values = None  # numpy floats, made when asked for
            self.scalar, self.shape = True, ()
            self.bad = np.zeros((), dtype=bool)
            self._given = None
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
        self._given = arrays  # as given, before broadcasting: a single value is checked once, not once an element
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
            self._why = np.empty(self.shape, dtype=object)
            self._why.fill("")   # a quarter of np.full's time for an object array
        if self._pending:
            self._write_pending()
        return self._why

    def _write_pending(self) -> None:
        """Make the texts of the marks made with a function (see :meth:`mark`), in the order they were marked."""
        flat = self._why.reshape(-1)
        pending, self._pending = self._pending, []
        for positions, reason_of in pending:
            if isinstance(reason_of, DeferredReasons):
                flat[positions] = np.array(reason_of.texts(np.arange(positions.size)), dtype=object)
            else:
                for position, index in zip(positions, zip(*np.unravel_index(positions, self.shape))):
                    flat[position] = reason_of(index)

    def _first_reason(self) -> str:
        """The reason of the first invalid element (in C order), making no other pending text."""
        first = int(np.argmax(self.bad.reshape(-1)))
        for positions, reason_of in reversed(self._pending):   # the last mark of an element is its reason
            rank = int(np.searchsorted(positions, first))
            if rank < positions.size and positions[rank] == first:
                if isinstance(reason_of, DeferredReasons):
                    return reason_of.texts(np.array([rank]))[0]
                return reason_of(np.unravel_index(positions[rank], self.shape))
        return self._why.reshape(-1)[first]

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

    def require_each(self, name: str, test, allowed: str) -> None:
        """:meth:`require` with ``ok = test(argument)`` for an elementwise ``test``, tried first on the argument as
        given (a single value once, not once an element): the masks are made only when some element fails."""
        if bool(np.all(test(self.as_given(name)))):
            return
        self.require(name, test(self.values[name]), allowed)

    def as_given(self, name: str):
        """The argument before broadcasting (a numpy float for a scalar call)."""
        return self._given[name] if self._given is not None else self.values[name]

    def mark(self, new, reason_of, error=InvalidInputError) -> None:
        """Mark the elements of mask ``new`` invalid with ``reason_of(index)`` (or the reasons of the marked
        elements in order, as an array, or a :class:`DeferredReasons`); a scalar call raises ``error`` (outside
        :func:`invalid_reasons`). Every check, before or after solving, ends here.

        The texts of ``reason_of`` are made only when asked for (the first one for the warning, all of them
        for :func:`invalid_reasons`), so a function must read values that do not change before :meth:`finish`."""
        if not self.shape:   # a scalar call: the text now (it is raised, or given to invalid_reasons)
            if isinstance(reason_of, DeferredReasons):
                self.why[()] = reason_of.texts(np.zeros(1, dtype=np.intp))[0]
            else:
                self.why[()] = reason_of(()) if callable(reason_of) else reason_of[0]
        elif callable(reason_of) or isinstance(reason_of, DeferredReasons):
            self._pending.append((np.flatnonzero(new), reason_of))
        else:
            self.why[new] = reason_of
        self.bad |= new
        if self.scalar and _collector.get() is None:
            raise error(self.why[()])

    def all_within(self, name: str, low: float, strict: bool = True, high: float = math.inf) -> bool:
        """Every element of the argument finite and > ``low`` (>= when not ``strict``) and <= ``high``, tested on
        the argument as given (each broadcast element is one of its elements; False for NaN): two reductions and
        no temporaries, where a check's masks make full-size arrays, so an all-valid call is checked quickly."""
        v = self.as_given(name)
        if v.size == 0:
            return False
        smallest, largest = v.min(), v.max()
        return bool((smallest > low if strict else smallest >= low) and (largest <= high if high < math.inf
                                                                           else largest < math.inf))

    # Each check first tests the plain floats of a scalar call (the comparisons are false for NaN, as the
    # numpy ones); only an argument failing it, or an array, goes through require() and its messages.

    def positive(self, *names: str) -> None:
        """Each named argument must be a finite number > 0."""
        floats = self.floats
        for name in names:
            if floats is None or not 0.0 < floats[name] < math.inf:
                if self.all_within(name, 0.0):
                    continue
                v = self.values[name]
                self.require(name, np.isfinite(v) & (v > 0), "must be a number > 0")

    def model_size(self, *names: str) -> None:
        """Each named argument is a parameter or training-token count: a finite number >= 1 (less is no real model)."""
        floats = self.floats
        for name in names:
            if floats is None or not 1.0 <= floats[name] < math.inf:
                if self.all_within(name, 1.0, strict=False):
                    continue
                v = self.values[name]
                self.require(name, np.isfinite(v) & (v >= 1), "must be a number >= 1 (a model of under one "
                                                               "parameter or one training token is no real model)")

    def non_negative(self, *names: str) -> None:
        """Each named argument must be a finite number >= 0."""
        floats = self.floats
        for name in names:
            if floats is None or not 0.0 <= floats[name] < math.inf:
                if self.all_within(name, 0.0, strict=False):
                    continue
                v = self.values[name]
                self.require(name, np.isfinite(v) & (v >= 0), "must be a number >= 0")

    def fraction(self, *names: str) -> None:
        """Each named argument must lie in (0, 1] (an efficiency such as MFU)."""
        floats = self.floats
        for name in names:
            if floats is None or not 0.0 < floats[name] <= 1.0:
                if self.all_within(name, 0.0, high=1.0):
                    continue
                v = self.values[name]
                self.require(name, (v > 0) & (v <= 1), "must be in (0, 1]")

    def at_least_one(self, *names: str) -> None:
        """Each named argument must be a whole number >= 1 (a batch size, a GPU count)."""
        floats = self.floats
        for name in names:
            if floats is None or not (1.0 <= floats[name] < math.inf and floats[name].is_integer()):
                if self.all_within(name, 1.0, strict=False) and self._given is not None \
                        and bool((np.floor(self._given[name]) == self._given[name]).all()):
                    continue
                v = self.values[name]
                self.require(name, np.isfinite(v) & (v >= 1) & (v == np.floor(v)), "must be a whole number >= 1")

    def at_least(self, name: str, low: float, allowed: str) -> None:
        """The named argument must be a finite number >= ``low``; ``allowed`` is the message's 'must be ...'."""
        floats = self.floats
        if floats is None or not low <= floats[name] < math.inf:
            if self.all_within(name, low, strict=False):
                return
            v = self.values[name]
            self.require(name, np.isfinite(v) & (v >= low), allowed)

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

    def valid_all(self) -> dict:
        """Argument name -> :meth:`valid` of it, for every argument."""
        if self.floats is not None and not self.bad:
            return {name: self.valid(name) for name in self.floats}
        return {name: self.valid(name) for name in self._values}

    def finish(self, *results: np.ndarray, fresh: bool = False):
        """Scatter kernel results (computed on the valid elements) back, NaN where invalid.

        Records the reasons in an active :func:`invalid_reasons` block, or warns once for an array
        call. Returns plain floats for a scalar call, arrays otherwise (a tuple when several results).
        ``fresh=True`` says the results are new arrays that nothing else refers to once this returns: one
        holding every element (a C-contiguous float64 array of its own) is then returned reshaped, with NaN
        written where invalid, instead of copied. A result given twice, or an argument given, is still copied:
        every output is an array of its own.
        """
        if self.floats is not None and not self.bad and self._valid_at_solve is None:
            # scalar fast path: the same floats the general path below gives, when all are finite
            out = [r if type(r) is float else float(r[0]) if isinstance(r, np.ndarray) and r.ndim else float(r)
                   for r in results]
            if all(map(math.isfinite, out)):
                collector = _collector.get()
                if collector is not None:
                    collector.reasons = ""
                return out[0] if len(out) == 1 else tuple(out)
        valid = self._valid_at_solve if self._valid_at_solve is not None else ~self.bad
        count = self._reject_non_finite(results, valid)
        self._report()
        out = []
        all_valid = not self.bad.any()
        bad_at = None if all_valid else np.flatnonzero(self.bad)   # once: faster than the mask for each result
        kept = []   # the results returned as they are
        for result in results:
            if fresh and self.shape and count == self.bad.size and self._own_array(result, kept):
                kept.append(result)
                full = result.reshape(self.shape)
                if not all_valid:
                    full.reshape(-1)[bad_at] = np.nan
            elif all_valid:
                full = np.empty(self.shape)
                full.reshape(-1)[...] = result
            else:
                full = np.full(self.shape, np.nan)
                full[valid] = result
                full[self.bad] = np.nan
            out.append(float(full) if self.scalar else full)
        return out[0] if len(out) == 1 else tuple(out)

    def _own_array(self, result, kept) -> bool:
        """True when a fresh result (see :meth:`finish`) can be returned as it is: a writeable C-contiguous float64
        array owning its data, not returned already, and not an argument as given."""
        return (type(result) is np.ndarray and result.dtype == np.float64 and result.flags.owndata
                and result.flags.c_contiguous and result.flags.writeable
                and not any(result is other for other in kept)
                and not any(result is given for given in self._given.values()))

    def _report(self) -> None:
        """Give the reasons to an active :func:`invalid_reasons` block, or warn once when any element is invalid."""
        collector = _collector.get()
        if collector is not None and collector.first_only:
            collector.count = int(np.count_nonzero(self.bad))
            collector.first = self._first_reason() if collector.count else ""
        elif collector is not None and not self.scalar and not getattr(collector, "lazy", False):
            collector.defer(lambda: self.why)   # made if read (the Checked is done with: the reasons are final)
        elif collector is not None:
            # a chunk of xlcalc.core._chunks (collector.lazy): None when no element is invalid, not 8 bytes each of ''
            collector.reasons = self.why[()] if self.scalar else self.why if self._pending else self._why
        elif self.bad.any():
            count = int(self.bad.sum())
            first = self._first_reason() if self.shape else self.why[()]
            warn_invalid(count, self.bad.size, first)

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

    def _reject_non_finite(self, results, valid) -> int:
        """Valid inputs whose result overflowed (inf or NaN): invalid too, with a reason naming the inputs.
        Returns the number of elements the results hold."""
        count = int(valid.sum())
        finite = True
        for result in results:
            array = np.asarray(result, dtype=float)
            if count >= _SCAN_ELEMENTS and array.shape == (count,) and finite_everywhere(array):
                continue   # no mask
            finite = finite & np.isfinite(np.broadcast_to(array, (count,)))
        self.reject_results(~np.asarray(finite), NON_FINITE_REASON, valid)
        return count

    def reject_tiny_models(self, *models, reason: str = "") -> None:
        """Mark elements whose model (a ``(params, tokens)`` pair of kernel results) has under one parameter or
        under one training token: a nonsense model, never an answer. ``reason`` says what to change."""
        if self.floats is not None and not self.bad and not any(p < 1.0 or t < 1.0 for p, t in models):
            return  # scalar fast path, a real model: nothing to mark, and finish() stays on its fast path
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
