"""Checks that the notebooks' autograder cells call, with feedback that says what is wrong.

``assert_close(got, expected)`` passes silently or raises ``AssertionError`` with a diagnosis:
not answered, not a number, wrong shape, transposed, one row per example where a sum over the
minibatch was due, sign flipped, off by a constant factor (or averaged instead of summed), or
one of the exercise's own likely mistakes (e.g. "used the input of the sigmoid where its output
was needed") -- followed by expected versus got and the inputs of the failing case.

``call(fn, *args)`` runs a student's function so that warnings and stderr output do not fail the
test cell (nbgrader fails a cell with any stderr output), and so that an exception or a missing
answer becomes a readable message.

``check(fn)`` runs the visible cases of the exercise that ``fn`` answers, from the file
``visible-checks.json`` beside the notebook: inputs, expected results and the results of typical
mistakes, as numbers. No reference code is in the student's reach: the file is written by the
instructor's package when the notebooks are released, and the hidden tests use fresh inputs.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path

import numpy as np

RTOL, ATOL = 1e-5, 1e-8
CHECKS_FILE = "visible-checks.json"


class NotAnswered(AssertionError):
    """The exercise still holds its placeholder."""


def _plain(x):
    """Vertices become their values; everything else stays."""
    from .graph import Var

    return x.value if isinstance(x, Var) else x


def _show(a, limit=12):
    if isinstance(a, str) or not isinstance(_plain(a), (int, float, np.number, np.ndarray, list, tuple)):
        return repr(a) if len(repr(a)) < 80 else f"a {type(a).__name__}"
    a = np.asarray(_plain(a))
    if a.dtype == object:
        return f"a {type(a).__name__} of {a.size} items"
    if a.size <= limit:
        return np.array2string(a, precision=5, separator=", ", suppress_small=True) \
            if a.ndim else f"{float(a):.6g}"
    return f"array of shape {a.shape}"


def _close(a, b, rtol=RTOL, atol=ATOL):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _inputs(inputs):
    if inputs is None:
        return ""
    if isinstance(inputs, dict):
        text = ", ".join(f"{k}={_show(v, 8)}" for k, v in inputs.items())
    else:
        text = ", ".join(_show(v, 8) for v in inputs)
    return f"\n  for inputs: {text}"


def _constant_factor(got, expected, rtol):
    """c such that got = c * expected everywhere (expected not all zero), else None."""
    mask = np.abs(expected) > 1e-12
    if not mask.any() or np.any(np.abs(got[~mask]) > 1e-9):
        return None
    ratios = got[mask] / expected[mask]
    c = float(np.median(ratios))
    if abs(c) < 1e-12 or not np.allclose(ratios, c, rtol=max(rtol, 1e-6) * 10, atol=0):
        return None
    return c


def _nice(c):
    return any(np.isclose(abs(c), k) or np.isclose(abs(c), 1 / k) for k in range(2, 11))


def diagnose(got, expected, *, rtol=RTOL, atol=ATOL, mistakes=(), batch_size=None):
    """None if ``got`` matches ``expected``; otherwise one sentence saying what is wrong."""
    if got is None or got is Ellipsis or got is NotImplemented:
        return "there is no answer yet (the function returned None: did you forget `return`?)"
    try:
        if isinstance(got, (str, bytes)) or np.asarray(got).dtype.kind in "SU":
            raise TypeError("text is not a number, even if NumPy would convert it")
        g = np.asarray(_plain(got), dtype=float)
    except (TypeError, ValueError):
        return f"it should be a number or an array of numbers, but it is a {type(got).__name__}"
    e = np.asarray(_plain(expected), dtype=float)
    if np.isnan(g).any() and not np.isnan(e).any():
        return ("it contains NaN (not a number): look for a division by zero, the log of a "
                "non-positive number, or an overflow (exp of a large number is inf, and inf/inf is NaN)")
    if np.isinf(g).any() and not np.isinf(e).any():
        return ("it contains inf: a number overflowed (exp of a number above 709 is inf) or "
                "something was divided by zero")
    for description, value in mistakes:
        if _close(g, np.asarray(_plain(value), dtype=float), rtol, atol) and not _close(g, e, rtol, atol):
            return f"it looks like you {description}"
    if g.shape != e.shape:
        if g.ndim == 2 and g.shape == e.shape[::-1] and _close(g.T, e, rtol, atol):
            return f"it is transposed: expected shape {e.shape}, got {g.shape}"
        if g.ndim == e.ndim + 1 and _close(g.sum(axis=0), e, rtol, atol):
            return ("it has one entry per example: the gradient of a parameter shared by the whole "
                    f"minibatch is the sum over the examples (sum over axis 0, shape {e.shape})")
        if g.size == e.size and _close(g.reshape(e.shape), e, rtol, atol):
            return f"the values are right but the shape is {g.shape}; expected {e.shape}"
        return f"it has shape {g.shape}, expected {e.shape}"
    if _close(g, e, rtol, atol):
        return None
    if _close(-g, e, rtol, atol):
        return "the sign is flipped"
    if g.ndim == 2 and g.shape[0] == g.shape[1] and _close(g.T, e, rtol, atol):
        return "it is transposed"
    c = _constant_factor(g, e, rtol)
    if c is not None and g.size == 1 and not _nice(c):
        c = None  # any two numbers differ by some factor: name only a telling one (2, 1/2, 3, ...)
    if c is not None:
        if batch_size and np.isclose(c, 1 / batch_size):
            return (f"it is {c:.4g} times the right value (1/{batch_size}): you averaged over the "
                    "minibatch where the gradient sums over it")
        return (f"it is {c:.4g} times the right value everywhere: look for a missing or extra "
                "constant factor (a 2 from a square, a repeated chain-rule factor, or a gradient "
                "counted only once for a vertex used twice)")
    return "the value is wrong"


def assert_close(got, expected, name="your answer", *, rtol=RTOL, atol=ATOL, mistakes=(),
                 inputs=None, batch_size=None):
    """Raise AssertionError with a diagnosis unless ``got`` equals ``expected`` (to rtol/atol).

    ``expected`` may be a tuple/list: ``got`` must then be a sequence of the same length and
    each entry is checked (named ``name[i]`` or by ``name`` given as a sequence of names).
    ``mistakes`` is a sequence of ``(description, wrong_value)``: when ``got`` equals a wrong
    value the message says "it looks like you <description>".
    """
    if isinstance(expected, (tuple, list)) and not np.isscalar(expected):
        names = list(name) if isinstance(name, (tuple, list)) else \
            [f"{name}[{i}]" for i in range(len(expected))]
        if got is None:
            raise NotAnswered(f"{', '.join(names)}: there is no answer yet (None was returned)")
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(
                f"expected {len(expected)} values ({', '.join(names)}), got "
                f"{len(got) if isinstance(got, (tuple, list)) else 'a single ' + type(got).__name__}"
                f"{_inputs(inputs)}")
        by_position = {}
        for description, values in mistakes:
            for i, v in enumerate(values):
                by_position.setdefault(i, []).append((description, v))
        for i, (gi, ei) in enumerate(zip(got, expected)):
            assert_close(gi, ei, names[i], rtol=rtol, atol=atol, mistakes=by_position.get(i, ()),
                         inputs=inputs, batch_size=batch_size)
        return
    problem = diagnose(got, expected, rtol=rtol, atol=atol, mistakes=mistakes, batch_size=batch_size)
    if problem is None:
        return
    cls = NotAnswered if problem.startswith("there is no answer") else AssertionError
    detail = ""
    try:
        detail = f"\n  expected: {_show(_plain(expected))}\n  got:      {_show(_plain(got))}"
    except (TypeError, ValueError):
        pass
    raise cls(f"{name}: {problem}.{detail}{_inputs(inputs)}")


def call(fn, *args, **kwargs):
    """Call a student's function on copies of the arguments.

    Warnings and anything written to stderr are kept away from the cell's output (nbgrader would
    otherwise fail an honest answer); an exception becomes an AssertionError that names the
    function and the inputs; ``NotImplementedError`` means the exercise is not answered yet.
    """
    name = getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise AssertionError(f"{name} should be a function, but it is a {type(fn).__name__}")
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    err = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAnswered(f"{name} is not written yet: replace `raise NotImplementedError()` "
                          "with your code") from None
    except AssertionError:
        raise
    except Exception as e:  # noqa: BLE001  (any error of the student's code is reported, not hidden)
        shown = ", ".join(_show(a, 8) for a in args)
        raise AssertionError(f"{name}({shown}) raised {type(e).__name__}: {e}") from e


# ----- plain values: what crosses a file or a kernel boundary as JSON ----------------------------
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


def check(fn, *, path=CHECKS_FILE):
    """Check a student's function on the visible cases of its exercise (see the module's doc).

    Raises AssertionError with a diagnosis on the first case that fails, naming the mistake when
    the answer equals a typical mistake's result; returns the number of cases checked.
    """
    name = getattr(fn, "__name__", None)
    if not callable(fn):
        raise AssertionError(f"{name or 'your answer'} should be a function, but it is a {type(fn).__name__}")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssertionError(
            f"{path} is missing from this notebook's folder, so the visible checks cannot run. "
            "It comes with the notebook: `./course reset` brings the notebook's folder back "
            "(your notebook is kept in backups/).") from None
    except ValueError as e:
        raise AssertionError(f"{path} is damaged ({e}): `./course reset` brings it back") from None
    entry = data.get("exercises", {}).get(name)
    if entry is None:
        raise AssertionError(f"no exercise of this notebook expects a function called {name!r}: "
                             "keep the function's name as given")
    for case in entry["cases"]:
        inputs = from_plain(case["inputs"])
        mistakes = [(description, from_plain(value)) for description, value in case["mistakes"]]
        assert_close(call(fn, *inputs), from_plain(case["expected"]), entry["names"] or name,
                     mistakes=mistakes, inputs=inputs)
    return len(entry["cases"])
