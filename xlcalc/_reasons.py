"""Why elements are invalid: collecting the reasons of a call (:func:`invalid_reasons`), showing a user's value in a
message, and the warning that points at the user's line.

:mod:`xlcalc._checks` records the reasons; this module holds what the reasons are given to and how values
read in them. Importable from :mod:`xlcalc._checks` as before.
"""

from __future__ import annotations

import contextvars
import functools
import numbers
import os
import sys

import numpy as np

from .errors import InvalidInputError, XlcalcError

_collector: contextvars.ContextVar = contextvars.ContextVar("xlcalc_invalid_reasons", default=None)


class InvalidReasons:
    """What :func:`invalid_reasons` collects: ``reasons`` of the last checked call ('' where valid)."""

    # True for a chunk of an array call that then warns (xlcalc.core._chunks): only the count of its invalid
    # elements and the first one's reason are read, which a check then gives as ``count`` and ``first`` instead
    # of ``reasons`` (so a reason made on demand is made for the first element only)
    first_only = False

    def __init__(self):
        self._reasons = None
        self._make = None   # made on first reading (see defer)

    @property
    def reasons(self):
        """The reasons of the last checked call (an object array, or a str for a scalar call; None: none yet)."""
        if self._make is not None:
            self._reasons, self._make = self._make(), None
        return self._reasons

    @reasons.setter
    def reasons(self, value) -> None:
        self._reasons, self._make = value, None

    def defer(self, make) -> None:
        """The reasons are ``make()``, made when first read: an array call's object array of texts (8 bytes an
        element, and the texts of every invalid one) costs nothing when the block's reasons are not read."""
        self._reasons, self._make = None, make

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

    wrapper.quiet = True  # no numpy warning escapes: xlcalc.excel._convert need not wrap it in np.errstate again
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


def format_floats(values) -> list:
    """:func:`format_value` of each element of a float array, as a list: each distinct value (by its bits, so
    -0 and 0 stay apart) formatted once."""
    values = np.ascontiguousarray(values, dtype=float).reshape(-1)
    distinct, which = np.unique(values.view(np.uint64), return_inverse=True)
    shown = ["NaN" if x != x else f"{x:.6g}" for x in distinct.view(np.float64).tolist()]
    return [shown[i] for i in which.reshape(-1).tolist()]


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_stacklevel() -> int:
    """The ``stacklevel`` for a warning issued in the caller of this function that points at the first frame
    outside the xlcalc package: the user's line, however many xlcalc functions lie in between."""
    level, frame = 2, sys._getframe(2)  # level 1 is the function that warns
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    return level

