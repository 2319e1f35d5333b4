"""Scalar fast path of the closed-form core functions (serving, economics): checks and arithmetic on plain floats.

A one-cell Excel formula calls a core function with plain numbers. :class:`Checked` already checks those
as floats; :class:`FloatChecked` also hands them to the formulas as Python floats, whose + - * / give the
same IEEE digits as numpy's, about twice as fast as numpy floats and without numpy's overflow warnings.
The formulas are written once for both paths, with :func:`maximum`, :func:`ceil` and :func:`where` in place
of the numpy functions (each takes the float branch for floats and numpy's for arrays).

Python floats differ from numpy in two ways, both handled by :func:`float_fast_path`: a division by zero
and an overflowing ``**`` raise instead of giving inf; the call is then made again on the array path (the
same arguments as 0-d arrays, still a scalar call), which gives inf and the error naming the inputs. Array
calls run under ``np.errstate``: their non-finite results are already turned into a reason per element by
:meth:`Checked.finish`, so numpy's RuntimeWarnings would only repeat it.

tests/test_scalar_udfs.py compares the two paths over thousands of random inputs, bad ones included.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._checks import Checked, _plain_number


class FloatChecked(Checked):
    """:class:`Checked` whose scalar fast path gives the formulas plain Python floats (see the module docstring)."""

    def __getitem__(self, name: str):
        """An argument: a Python float in the scalar fast path, else its broadcast array (as :class:`Checked`)."""
        if self.floats is not None:
            return self.floats[name]
        return self.values[name]

    def valid_all(self) -> dict:
        """Argument name -> :meth:`valid` of it, for every argument (Python floats in the scalar fast path)."""
        if self.floats is not None and not self.bad:
            return dict(self.floats)
        return Checked.valid_all(self)

    def valid(self, name: str):
        """The valid elements of an argument: a Python float in the scalar fast path, else as :meth:`Checked.valid`."""
        if self.floats is not None and not self.bad:
            return self.floats[name]
        return Checked.valid(self, name)


def maximum(a, b):
    """``np.maximum(a, b)``, on Python floats without numpy (NaN if either is NaN, as numpy)."""
    if type(a) is float and type(b) is float:
        return a if a >= b else b if b >= a else math.nan
    return np.maximum(a, b)


def ceil(x):
    """``np.ceil(x)``, on a Python float without numpy (a float; inf and NaN stay as they are)."""
    if type(x) is float:
        return float(math.ceil(x)) if math.isfinite(x) else x
    return np.ceil(x)


def where(condition, a, b):
    """``np.where(condition, a, b)``, on a Python bool without numpy."""
    if type(condition) is bool:
        return a if condition else b
    return np.where(condition, a, b)


def _all_plain(args, kwargs) -> bool:
    """Every argument a plain number (as :class:`Checked` reads them) or None (an option left out)."""
    for value in args:
        if type(value) is not float and value is not None and not _plain_number(value):
            return False
    for value in kwargs.values():
        if type(value) is not float and value is not None and not _plain_number(value):
            return False
    return True


def float_fast_path(function, skip: int = 0):
    """Decorator of a core function computed with :class:`FloatChecked`: plain-number calls take the float path
    (falling back to the array path where Python floats raise); other calls run under ``np.errstate``.
    The first ``skip`` positional arguments are passed as they are (a model's name, say)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _all_plain(args[skip:], kwargs):
            try:
                return function(*args, **kwargs)
            except (ZeroDivisionError, OverflowError):  # inf on the array path, and its reason
                args = args[:skip] + tuple(a if a is None else np.asarray(float(a)) for a in args[skip:])
                kwargs = {k: v if v is None else np.asarray(float(v)) for k, v in kwargs.items()}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return function(*args, **kwargs)

    wrapper.quiet = True  # no numpy warning escapes: xlcalc.excel._convert need not wrap it in np.errstate again
    return wrapper
