"""Values in messages and files: shown briefly, written as Python to paste, or as JSON.

:func:`show` puts a value into a feedback message; :func:`literal` writes it as Python source
that rebuilds it exactly (so a student can rerun the case that failed); :func:`to_plain` and
:func:`from_plain` are the JSON codec of ``visible-checks.json`` and of the grader's re-check.
"""
from __future__ import annotations

import numpy as np


def plain(x):
    """Vertices become their values; everything else stays."""
    from .graph import Var

    return x.value if isinstance(x, Var) else x


def show(a, limit=60):
    """A value for a message: numbers and small arrays in full, anything else briefly."""
    a = plain(a)
    if isinstance(a, str) or not isinstance(a, (int, float, np.number, np.ndarray, list, tuple)):
        return repr(a) if len(repr(a)) < 80 else f"a {type(a).__name__}"
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        return f"a {type(a).__name__} of {len(a)} items"
    if arr.size > limit:
        return f"array of shape {arr.shape}"
    return np.array2string(arr, precision=6, separator=", ", suppress_small=True) \
        if arr.ndim else f"{float(arr):.6g}"


def literal(v):
    """``v`` as Python source that rebuilds it exactly (floats in full): for pasting into a cell."""
    v = plain(v)
    if isinstance(v, np.ndarray):
        return f"np.array({literal(v.tolist())})"
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(literal(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {literal(x)}" for k, x in v.items()) + "}"
    return repr(v)


def arguments(inputs):
    if isinstance(inputs, dict):
        return ", ".join(f"{k}={literal(v)}" for k, v in inputs.items())
    return ", ".join(literal(v) for v in inputs)


def to_plain(v):
    """A JSON-ready copy of ``v``: numbers, text, None, lists and dicts as they are; a NumPy array
    as ``{"__ndarray__": nested lists, "dtype": ...}``. Anything else raises TypeError."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_plain(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        if v.dtype == object:
            raise TypeError("an array of Python objects is not a number, list or array of numbers")
        return {"__ndarray__": v.tolist(), "dtype": str(v.dtype)}
    raise TypeError(f"a {type(v).__name__} is not a number, list or array")


def from_plain(v):
    """The inverse of :func:`to_plain` (lists stay lists, tuples come back as lists)."""
    if isinstance(v, dict) and "__ndarray__" in v:
        return np.array(v["__ndarray__"], dtype=v["dtype"])
    if isinstance(v, list):
        return [from_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: from_plain(x) for k, x in v.items()}
    return v
