"""The values that sit at the vertices: Python floats for scalars, float64 NumPy arrays for the rest.

Every other module of bpkit converts, measures and prints values through these few functions,
so a number looks the same in a ``repr``, an error message, a drawing and a check's feedback.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def as_value(v, what="value"):
    """A Python float for scalars, a float64 array for anything else (lists included)."""
    if type(v) is float:
        return v
    if isinstance(v, (numbers.Real, np.bool_)):  # bool, int, np.float32, ...
        return float(v)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number or an array of numbers, got {v!r}") from None
    return float(a) if a.ndim == 0 else a


def tidy(v):
    """What an op returned, as a value: NumPy scalars and 0-d arrays become floats."""
    if type(v) is float:
        return v
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return float(v)
        return v if v.dtype == np.float64 else v.astype(float)
    return float(v)


def shape(v):
    """np.shape, without first turning a Python float into an array (which is slow)."""
    return () if type(v) is float else np.shape(v)


def size(v):
    """The number of entries: 1 for a scalar."""
    return 1 if type(v) is float else np.size(v)


def is_finite(v):
    """No NaN and no infinity anywhere in ``v``.

    For an array, NaN and inf survive a sum, so a finite sum proves every entry finite (a sum
    needs no temporary array); only when the sum is not finite are the entries looked at."""
    if type(v) is float:
        return math.isfinite(v)
    return math.isfinite(np.sum(v)) or bool(np.isfinite(v).all())


def format_value(v, digits=6, limit=6):
    """A number or an array as short text, the one way bpkit prints values.

    A number gets ``digits`` significant digits (and -0 prints as 0); an array of at most
    ``limit`` entries is printed whole, with ``digits - 2`` decimals; a larger one is named by
    its shape. Works on floats, ints, NumPy scalars and arrays, and lists of numbers.
    """
    if isinstance(v, (numbers.Real, np.number)) or np.ndim(v) == 0:
        return f"{float(v) + 0.0:.{digits}g}"
    a = np.asarray(v)
    if a.size <= limit:
        return np.array2string(a, precision=max(digits - 2, 1), separator=", ",
                               suppress_small=True)
    return f"array of shape {a.shape}"
