"""Checks that the notebooks' autograder cells call, with feedback that says what is wrong.

``assert_close(got, expected)`` passes silently or raises ``AssertionError`` with a diagnosis.
Facts are always stated: not answered, not a number, NaN or inf, the wrong shape, the results in
the wrong order, or equal to one of the exercise's own likely mistakes ("it looks like you used
the input of the sigmoid where its output was needed"). A *guess* about the cause -- sign
flipped, transposed, off by a constant factor, averaged instead of summed, one row per example,
a gate letting gradient through -- is said only when it explains the answer on at least two
different inputs (``others``: the same function's results on other inputs). Otherwise the
message shows where the answer first differs. Every message ends with the inputs as values to
paste into a cell.

``call(fn, *args)`` runs a student's function so that warnings and stderr output do not fail the
test cell (nbgrader fails a cell with any stderr output), and so that an exception becomes a
message about the student's own line: a matmul or broadcast error names both shapes and the
likely fix, a KeyError names the missing key, arithmetic on a Python list says so.

``check(fn)`` runs the visible cases of the exercise that ``fn`` answers, from the file
``visible-checks.json`` beside the notebook: inputs, expected results and the results of typical
mistakes, as numbers. No reference code is in the student's reach: the file is written by the
instructor's package when the notebooks are released, and the hidden tests use fresh inputs.
``check_cases`` is the loop behind it (the hidden tests use it too): it runs every case, then
reports the smallest failing one, with the other cases as witnesses for a diagnosis.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import linecache
import os
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


def _show(a, limit=60):
    """A value for a message: numbers and small arrays in full, anything else briefly."""
    a = _plain(a)
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
    v = _plain(v)
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


def _arguments(inputs):
    if isinstance(inputs, dict):
        return ", ".join(f"{k}={literal(v)}" for k, v in inputs.items())
    return ", ".join(literal(v) for v in inputs)


def _inputs(inputs, function=None):
    if inputs is None:
        return ""
    if function and not isinstance(inputs, dict):
        return f"\n  to reproduce: {function}({_arguments(inputs)})"
    return f"\n  for inputs: {_arguments(inputs)}"


def _size(inputs):
    """How big a case is (small cases are reported first)."""
    try:
        return sum(np.size(np.asarray(v, dtype=object)) for v in
                   (inputs.values() if isinstance(inputs, dict) else inputs))
    except Exception:  # noqa: BLE001
        return 0


def _as_float(x):
    return np.asarray(_plain(x), dtype=float)


def _close(a, b, rtol=RTOL, atol=ATOL):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _constant_factor(g, e, rtol):
    """c such that g = c * e everywhere (e not all zero), else None."""
    mask = np.abs(e) > 1e-12
    if not mask.any() or np.any(np.abs(g[~mask]) > 1e-9):
        return None
    ratios = g[mask] / e[mask]
    c = float(np.median(ratios))
    if abs(c) < 1e-12 or not np.allclose(ratios, c, rtol=max(rtol, 1e-6) * 10, atol=0):
        return None
    return c


def _entries(index):
    return ", ".join(str(list(map(int, i))) if len(i) > 1 else str(int(i[0])) for i in index[:4]) \
        + (", ..." if len(index) > 4 else "")


def _explanations(g, e, rtol, atol, batch_size=None):
    """The guesses that explain ``got`` g for ``expected`` e on this one case: {key: sentence}."""
    found = {}
    if g.shape != e.shape:
        if g.ndim == 2 and g.shape == e.shape[::-1] and _close(g.T, e, rtol, atol):
            found["transposed"] = f"it is transposed: expected shape {e.shape}, got {g.shape}"
        if g.ndim == e.ndim + 1 and _close(g.sum(axis=0), e, rtol, atol):
            found["per example"] = (
                "it has one entry per example: the gradient of a parameter shared by the whole "
                f"minibatch is the sum over the examples (sum over axis 0, shape {e.shape})")
        return found
    if _close(g, e, rtol, atol) or not (np.isfinite(g).all() and np.isfinite(e).all()):
        return found
    if g.ndim == 2 and g.shape[0] == g.shape[1] and _close(g.T, e, rtol, atol):
        found["transposed"] = "it is transposed"
    c = _constant_factor(g, e, rtol)
    if c is not None and np.isclose(c, -1):
        found["sign"] = "the sign is flipped"
    elif c is not None and batch_size and np.isclose(c, 1 / batch_size):
        found["averaged"] = (f"it is {c:.4g} times the right value (1/{batch_size}): you averaged "
                             "over the minibatch where the gradient sums over it")
    elif c is not None:
        found[f"factor {c:.4g}"] = (
            f"it is {c:.4g} times the right value on every input tried: look for a missing or "
            "extra constant factor (a 2 from a square, a factor of a linear step, or a gradient "
            "counted once for a vertex used twice)")
    zero_e = np.abs(e) <= atol
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if bad.any() and zero_e[bad].all():
        found["leak"] = (
            f"it is nonzero where the gradient is 0 ({'entries ' + _entries(np.argwhere(bad)) if g.ndim else 'here'}) "
            "and right everywhere else: a closed gate (a ReLU or max whose input is negative) "
            "lets no gradient through")
    elif bad.any() and (np.abs(g[bad]) <= atol).all():
        found["blocked"] = (
            f"it is 0 where gradient flows ({'entries ' + _entries(np.argwhere(bad)) if g.ndim else 'here'}) "
            "and right everywhere else: a mask blocks too much (inverted, or the wrong comparison?)")
    return found


def _first_difference(g, e, rtol, atol):
    if g.ndim == 0:
        return "the value is wrong"
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    where = first[0] if len(first) == 1 else list(first)
    return (f"it first differs at entry {where}: expected {e[first]:.6g}, got {g[first]:.6g} "
            f"({int(bad.sum())} of {bad.size} entries differ)")


def diagnose(got, expected, *, rtol=RTOL, atol=ATOL, mistakes=(), batch_size=None, others=()):
    """None if ``got`` matches ``expected``; otherwise one sentence saying what is wrong.

    ``mistakes``: ``(description, wrong_value)`` pairs; a ``got`` equal to one is named
    ("it looks like you <description>") from this case alone. ``others``: ``(got, expected)``
    of the same function on other inputs; a guess about the cause is said only when it also
    explains one of them, otherwise the sentence says where the answer first differs.
    """
    for description, value in mistakes:
        if value is None and got is None and expected is not None:
            return f"it looks like you {description}"
    if got is None or got is Ellipsis or got is NotImplemented:
        return "there is no answer yet (the function returned None: did you forget `return`?)"
    try:
        if isinstance(got, (str, bytes)) or np.asarray(got).dtype.kind in "SU":
            raise TypeError("text is not a number, even if NumPy would convert it")
        g = _as_float(got)
    except (TypeError, ValueError):
        return f"it should be a number or an array of numbers, but it is a {type(got).__name__}"
    e = _as_float(expected)
    close = _close(g, e, rtol, atol)
    for description, value in mistakes:
        if value is None or close:
            continue
        try:
            if _close(g, _as_float(value), rtol, atol):
                return f"it looks like you {description}"
        except (TypeError, ValueError):
            continue
    if np.isnan(g).any() and not np.isnan(e).any():
        return ("it contains NaN (not a number): look for a division by zero, the log of a "
                "non-positive number, or an overflow (exp of a large number is inf, and inf/inf is NaN)")
    if np.isinf(g).any() and not np.isinf(e).any():
        return ("it contains inf: a number overflowed (exp of a number above 709 is inf) or "
                "something was divided by zero")
    if close:
        return None
    guesses = _explanations(g, e, rtol, atol, batch_size)
    witnesses = []
    for og, oe in others:
        try:
            og, oe = _as_float(og), _as_float(oe)
        except (TypeError, ValueError):
            continue
        if not _close(og, oe, rtol, atol):
            witnesses.append((og, oe))
    for key, sentence in guesses.items():
        if any(key in _explanations(og, oe, rtol, atol, batch_size) for og, oe in witnesses):
            return sentence
    if g.shape != e.shape:
        if g.size == e.size and g.size > 1 and _close(g.reshape(e.shape), e, rtol, atol):
            return f"the values are right but the shape is {g.shape}; expected {e.shape}"
        return f"it has shape {g.shape}, expected {e.shape}"
    for og, oe in witnesses:
        if og.shape == g.shape and _close(og, g, rtol, atol) and not _close(oe, e, rtol, atol):
            return ("it gives the same answer for different inputs, while the right answer "
                    "changes: was the answer of a worked example typed in? It must be computed "
                    "from the function's arguments")
    return _first_difference(g, e, rtol, atol)


def _split_others(others):
    """A guess about one result is witnessed by any result of another case."""
    out = []
    for og, oe in others:
        if isinstance(og, (tuple, list)) and isinstance(oe, (tuple, list)):
            out.extend(zip(og, oe))
    return out


def _all_close(got, values, rtol, atol):
    try:
        return all(v is None or _close(_as_float(g), _as_float(v), rtol, atol)
                   for g, v in zip(got, values))
    except (TypeError, ValueError):
        return False


def assert_close(got, expected, name="your answer", *, rtol=RTOL, atol=ATOL, mistakes=(),
                 inputs=None, batch_size=None, others=(), function=None):
    """Raise AssertionError with a diagnosis unless ``got`` equals ``expected`` (to rtol/atol).

    ``expected`` may be a tuple/list: ``got`` must then be a sequence of the same length and
    each entry is checked (named ``name[i]`` or by ``name`` given as a sequence of names).
    ``mistakes`` is a sequence of ``(description, wrong_value)``: when ``got`` equals a wrong
    value the message says "it looks like you <description>". ``others`` holds ``(got,
    expected)`` of the same function on other inputs (see :func:`diagnose`); ``inputs`` and
    ``function`` make the message's last line, a call to paste into a cell.
    """
    where = _inputs(inputs, function)
    if isinstance(expected, (tuple, list)) and not np.isscalar(expected):
        names = list(name) if isinstance(name, (tuple, list)) else \
            [f"{name}[{i}]" for i in range(len(expected))]
        for description, values in mistakes:
            if values is None and got is None:
                raise AssertionError(f"{', '.join(names)}: it looks like you {description}.{where}")
        if got is None:
            raise NotAnswered(f"{', '.join(names)}: there is no answer yet (None was returned: "
                              f"did you forget `return`?){where}")
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(
                f"expected {len(expected)} values ({', '.join(names)}), got "
                f"{len(got) if isinstance(got, (tuple, list)) else 'a single ' + type(got).__name__}"
                f"{where}")
        failing = [i for i, (gi, ei) in enumerate(zip(got, expected))
                   if diagnose(gi, ei, rtol=rtol, atol=atol) is not None]
        if not failing:
            return
        first = failing[0]
        detail = _detail(got[first], expected[first])
        for description, values in mistakes:   # the whole answer equals a typical mistake's
            if isinstance(values, (tuple, list)) and len(values) == len(expected) and \
                    _all_close(got, values, rtol, atol):
                raise AssertionError(f"{names[first]}: it looks like you {description}.{detail}{where}")
        for i in failing:                       # the results, in another order
            matches = [j for j, ej in enumerate(expected) if j != i and
                       diagnose(got[i], ej, rtol=rtol, atol=atol) is None]
            if matches:
                raise AssertionError(
                    f"{names[i]}: the results are in the wrong order: {names[i]} holds what "
                    f"{names[matches[0]]} should be; return ({', '.join(names)}) in this order."
                    f"{detail}{where}")
        by_position = {}
        for description, values in mistakes:
            for i, v in enumerate(values if isinstance(values, (tuple, list)) else ()):
                by_position.setdefault(i, []).append((description, v))
        assert_close(got[first], expected[first], names[first], rtol=rtol, atol=atol,
                     mistakes=by_position.get(first, ()), inputs=inputs, batch_size=batch_size,
                     others=_split_others(others), function=function)
        return
    problem = diagnose(got, expected, rtol=rtol, atol=atol, mistakes=mistakes,
                       batch_size=batch_size, others=others)
    if problem is None:
        return
    cls = NotAnswered if problem.startswith("there is no answer") else AssertionError
    raise cls(f"{name}: {problem}.{_detail(got, expected)}{where}")


def _detail(got, expected):
    try:
        return f"\n  expected: {_show(expected)}\n  got:      {_show(got)}"
    except (TypeError, ValueError):
        return ""


# ----- calling the student's function: quiet, and exceptions in the student's own words --------
#: frames from these folders are not the student's (NumPy, the standard library, bpkit itself)
_LIBRARY = tuple(os.path.dirname(m.__file__) for m in (np, os, contextlib)) + (os.path.dirname(__file__),)


def _student_frame(tb):
    """The innermost frame of the traceback that runs the student's code (not NumPy's, not the
    standard library's, not this module's), and its line number."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith(_LIBRARY) and "site-packages" not in filename:
            found = (tb.tb_frame, tb.tb_lineno)
        tb = tb.tb_next
    return found


_SAFE = (ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
         ast.Subscript, ast.Slice, ast.Tuple, ast.Compare, ast.operator, ast.unaryop, ast.cmpop)


def _value(node, frame):
    """The value of a side-effect-free sub-expression of the student's line, else None."""
    tree = ast.Expression(body=node)
    if not all(isinstance(n, _SAFE) for n in ast.walk(tree)):
        return None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return eval(compile(tree, "<check>", "eval"), dict(frame.f_globals), dict(frame.f_locals))
    except Exception:  # noqa: BLE001  (an operand that does not evaluate is simply not explained)
        return None


def _src(node, line):
    text = ast.get_source_segment(line, node) or ast.unparse(node)
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)) \
        else f"({text})"


def _transpose(text):
    return text[:-2] if text.endswith(".T") else f"{text}.T"


def _matmul_fix(a, b, sa, sb):
    """A product that fits, for ``a @ b`` with shapes sa, sb that do not."""
    if len(sa) == 1 and len(sb) == 1:
        return f"np.outer({a}, {b})"
    if len(sa) == 2 and len(sb) == 1:
        return f"{_transpose(a)} @ {b}" if sa[0] == sb[0] else None
    if len(sa) == 1 and len(sb) == 2:
        return f"{a} @ {_transpose(b)}" if sa[0] == sb[1] else None
    if len(sa) == 2 and len(sb) == 2:
        if sa[0] == sb[0]:
            return f"{_transpose(a)} @ {b}"
        if sa[1] == sb[1]:
            return f"{a} @ {_transpose(b)}"
        if sb[1] == sa[0]:
            return f"{b} @ {a}"
    return None


def _fits_matmul(sa, sb):
    if not sa or not sb:
        return True
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    return sa[-1] == inner_b


def _fits_broadcast(sa, sb):
    try:
        np.broadcast_shapes(sa, sb)
        return True
    except ValueError:
        return False


def _shape_hint(tree, line, frame):
    """Name the product or entry-by-entry operation of the line whose shapes do not fit."""
    for node in ast.walk(tree):
        pair, op = None, None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            pair, op = (node.left, node.right), "@"
        elif isinstance(node, ast.Call) and len(node.args) == 2 and \
                ast.unparse(node.func).split(".")[-1] in ("dot", "matmul"):
            pair, op = tuple(node.args), "@"
        elif isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "dot":
            pair, op = (node.func.value, node.args[0]), "@"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub, ast.Div)):
            pair, op = (node.left, node.right), {ast.Mult: "*", ast.Add: "+", ast.Sub: "-",
                                                 ast.Div: "/"}[type(node.op)]
        if pair is None:
            continue
        va, vb = (_value(n, frame) for n in pair)
        if not (isinstance(va, np.ndarray) and isinstance(vb, np.ndarray)):
            continue
        a, b = (_src(n, line) for n in pair)
        sa, sb = va.shape, vb.shape
        if op == "@" and not _fits_matmul(sa, sb):
            fix = _matmul_fix(a, b, sa, sb)
            return (f"`{ast.get_source_segment(line, node) or a + ' @ ' + b}`: {sa} @ {sb} do not "
                    "fit (the last size on the left must equal the first on the right)"
                    + (f" — did you mean `{fix}`?" if fix else ""))
        if op != "@" and not _fits_broadcast(sa, sb):
            fix = _matmul_fix(a, b, sa, sb)
            what = "the outer product" if fix and fix.startswith("np.outer") else "a matrix product"
            return (f"`{a} {op} {b}`: shapes {sa} and {sb} cannot be combined entry by entry"
                    + (f" — did you mean {what}, `{fix}`?" if fix else ""))
    return None


def _key_hint(tree, line, frame, key):
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            container = _value(node.value, frame)
            index = _value(node.slice, frame)
            if isinstance(container, dict) and key not in container and index == key:
                name, index = _src(node.value, line), ast.get_source_segment(line, node.slice) or "key"
                return (f"`{name}[{index}]`: {name} has no entry for {key!r} (vertex {key!r} was "
                        f"never given a value): read it with `{name}.get({index}, 0.0)`, or give "
                        "every vertex an entry before the loop")
    return f"there is no entry for the key {key!r} (vertex {key!r} was never given a value)"


def _list_hint(tree, frame):
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(frame.f_locals.get(n.id), (list, tuple))})
    if not names:
        return None
    first = names[0]
    return (f"{', '.join(names)} {'is a Python list' if len(names) == 1 else 'are Python lists'}: "
            "a list does not compute entry by entry (`list * number` repeats it or fails, `+` "
            f"joins two lists); make an array first: `{first} = np.asarray({first}, dtype=float)`")


def _explain(e, fn):
    """(where, hint): the student's line that raised ``e``, and what it most likely means."""
    found = _student_frame(e.__traceback__)
    if found is None:
        return "", None
    frame, lineno = found
    line = linecache.getline(frame.f_code.co_filename, lineno).strip()
    code = getattr(fn, "__code__", None)
    if code is not None and frame.f_code is code:
        place = f"line {lineno - code.co_firstlineno + 1} of {getattr(fn, '__name__', code.co_name)}"
    else:
        place = f"line {lineno} of {frame.f_code.co_name}"
    where = f"\n  in {place}: `{line}`" if line else f"\n  in {place}"
    try:
        tree = ast.parse(line)
    except SyntaxError:
        return where, None
    hint = None
    if isinstance(e, KeyError) and e.args:
        hint = _key_hint(tree, line, frame, e.args[0])
    elif isinstance(e, (TypeError, AttributeError)) and ("list" in str(e) or "tuple" in str(e)
                                                         or "sequence" in str(e)):
        hint = _list_hint(tree, frame)
    elif isinstance(e, ValueError):
        hint = _shape_hint(tree, line, frame)
    return where, hint


def call(fn, *args, **kwargs):
    """Call a student's function on copies of the arguments.

    Warnings and anything written to stderr are kept away from the cell's output (nbgrader would
    otherwise fail an honest answer); an exception becomes an AssertionError that names the
    function, the inputs, the student's line and, for the usual shape, key and list errors,
    the likely fix; ``NotImplementedError`` means the exercise is not answered yet.
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
        try:
            where, hint = _explain(e, fn)
        except Exception:  # noqa: BLE001  (an explanation that fails must not hide the error)
            where, hint = "", None
        what = f"{type(e).__name__}: {e}" if hint is None else f"a {type(e).__name__}"
        raise AssertionError(f"{name} raised {what}{where}" + (f"\n  {hint}" if hint else "")
                             + f"\n  to reproduce: {name}({_arguments(args)})") from e


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


def check_cases(fn, cases, names=None, *, batch_size=None):
    """Run ``fn`` on every case ``(inputs, expected, mistakes)``; raise AssertionError with a
    diagnosis for the smallest failing case, the other cases' results serving as witnesses (a
    guess about the cause must explain two of them); return the number of cases."""
    name = getattr(fn, "__name__", None) or "your function"
    runs = []
    for inputs, expected, mistakes in cases:
        try:
            runs.append((inputs, expected, mistakes, call(fn, *inputs), None))
        except NotAnswered:
            raise
        except AssertionError as e:
            runs.append((inputs, expected, mistakes, None, e))

    def fails(run):
        inputs, expected, _, got, error = run
        if error is not None:
            return True
        try:
            assert_close(got, expected, names or name)
        except AssertionError:
            return True
        return False

    def ambiguous(run):
        """Two typical mistakes give this very answer: another case tells them apart."""
        inputs, expected, mistakes, got, error = run
        named = {d for d, v in mistakes if v is not None and _matches_mistake(got, expected, v)}
        return len(named) > 1

    failing = [k for k, run in enumerate(runs) if fails(run)]
    if not failing:
        return len(runs)
    k = min(failing, key=lambda k: (runs[k][4] is None, ambiguous(runs[k]), _size(runs[k][0]), k))
    inputs, expected, mistakes, got, error = runs[k]
    if error is not None:
        raise error
    others = [(run[3], run[1]) for j, run in enumerate(runs) if j != k and run[4] is None]
    assert_close(got, expected, names or name, mistakes=mistakes, inputs=inputs,
                 batch_size=batch_size, others=others, function=name)
    raise AssertionError(f"{name}: wrong on the inputs below.{_inputs(inputs, name)}")  # pragma: no cover


def _matches_mistake(got, expected, value):
    if isinstance(expected, (tuple, list)):
        return isinstance(got, (tuple, list)) and isinstance(value, (tuple, list)) and \
            len(got) == len(value) and _all_close(got, value, RTOL, ATOL)
    try:
        return _close(_as_float(got), _as_float(value))
    except (TypeError, ValueError):
        return False


def check(fn, *, path=CHECKS_FILE):
    """Check a student's function on the visible cases of its exercise (see the module's doc).

    Raises AssertionError with a diagnosis on the smallest case that fails, naming the mistake
    when the answer equals a typical mistake's result; returns the number of cases checked.
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
    cases = [(from_plain(case["inputs"]), from_plain(case["expected"]),
              [(description, from_plain(value)) for description, value in case["mistakes"]])
             for case in entry["cases"]]
    return check_cases(fn, cases, entry["names"] or name)
