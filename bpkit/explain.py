"""Why a student's function raised: the student's own line, and the likely fix.

:func:`explain` looks at the traceback of an exception raised inside the student's code, finds
the innermost frame that is the student's (not NumPy's, the standard library's or bpkit's),
and for the usual mistakes says what to change: a matmul or broadcast error names both shapes
(`W @ g`: (3, 4) @ (3,) -- did you mean `W.T @ g`?), a KeyError names the missing key, arithmetic
on a Python list says so. :func:`call` runs a student's function and puts that into its message
(the check cells reach it as ``bpkit.checks.call``); :func:`call_within` also stops it after a
few seconds of computing, or fails it past a peak of memory, for the exercises whose method is
the point (a dynamic program, not a walk over 2^40 paths; J v without building J).
"""
from __future__ import annotations

import ast
import contextlib
import copy
import io
import linecache
import os
import signal
import tracemalloc
import warnings

import numpy as np

from .plain import arguments as _arguments

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


def _frame_of(tb, code):
    """The frame running ``code`` in the traceback (the outermost such), and its line number."""
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    return None


def _given(frame):
    """What a function was called with, as shapes: "W of shape (1, 3), g of shape (3,)"."""
    code = frame.f_code
    out = []
    for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        value = frame.f_locals.get(name)
        if isinstance(value, np.ndarray):
            out.append(f"{name} of shape {value.shape}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(f"{name} a number")
    return ", ".join(out)


def _called_from(e, fn, frame):
    """When the line that raised is in another function than ``fn`` (a helper it calls): the
    line of ``fn`` that led there, and what the helper was given. A helper that passed its own
    check is then more likely given the wrong thing than wrong itself."""
    code = getattr(fn, "__code__", None)
    outer = _frame_of(e.__traceback__, code) if code is not None else None
    if outer is None or outer[0] is frame:
        return "", None
    o_frame, o_lineno = outer
    text = linecache.getline(o_frame.f_code.co_filename, o_lineno).strip()
    name = getattr(fn, "__name__", code.co_name)
    where = f"\n  called from line {o_lineno - code.co_firstlineno + 1} of {name}" + (f": `{text}`" if text else "")
    given = _given(frame)
    note = (f"{frame.f_code.co_name} was given {given}: if {frame.f_code.co_name} passes its own "
            f"check, look at what {name} gives it") if given else None
    return where, note


def explain(e, fn):
    """(where, hint): the student's line that raised ``e``, and what it most likely means."""
    found = _student_frame(e.__traceback__)
    where, hint = _explain(e, fn, found)
    if found is not None:
        called, note = _called_from(e, fn, found[0])
        where += called
        if note:
            hint = f"{hint}\n  {note}" if hint else note
    return where, hint


def _explain(e, fn, found):
    """(where, hint) for the student's frame ``found`` (frame, line number), or None."""
    deep = None if not isinstance(e, RecursionError) else (
        "the function calls itself too deeply: Python stops after about 1000 nested calls (the "
        "recursion limit), and a graph can be deeper than that; walk it with a list used as a "
        "stack instead of recursion")
    if found is None:
        return "", deep
    frame, lineno = found
    line = linecache.getline(frame.f_code.co_filename, lineno).strip()
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__name__", None) if code is not None and frame.f_code is code else None
    place = f"line {lineno - frame.f_code.co_firstlineno + 1} of {name or frame.f_code.co_name}"
    where = f"\n  in {place}: `{line}`" if line else f"\n  in {place}"
    if deep:
        return where, deep
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


class NotAnswered(AssertionError):
    """The exercise still holds its placeholder."""


# ----- calling the student's function: quiet, and exceptions in the student's own words --------
def call(fn, *args, **kwargs):
    """Call a student's function on copies of the arguments.

    Warnings and anything written to stderr are kept away from the cell's output (nbgrader would
    otherwise fail an honest answer); an exception becomes an AssertionError that names the
    function, the inputs, the student's line and, for the usual shape, key and list errors,
    the likely fix; ``NotImplementedError`` means the exercise is not answered yet.
    """
    return _run(fn, args, kwargs)


def call_within(limits, why, fn, *args):
    """:func:`call` with ``limits`` on what ``fn`` may use: ``{"seconds": s}`` of CPU time (it is
    stopped then), ``{"memory": bytes}`` at the peak (NumPy's arrays included). Past one, an
    AssertionError says that ``fn`` ``why``. For the exercises whose *method* is the point: a
    dynamic program on a chain of 40 doubled edges takes a millisecond where a sum over its 2^40
    paths would run for days; ``J v`` by two sweeps needs a few vectors where building a
    400 x 400 Jacobian J takes 1.3 MB. CPU time, not the clock: other programs on a busy machine
    do not count."""
    unknown = set(limits) - {"seconds", "memory"}
    if unknown:
        raise ValueError(f"call_within: unknown limits {sorted(unknown)}")
    return _run(fn, args, {}, limits, why)


class _OverBudget(BaseException):
    """Raised in the student's code once its CPU time is up (a BaseException: ``except
    Exception`` in the student's loop does not swallow it)."""


def _over_budget(signum, frame):
    raise _OverBudget


@contextlib.contextmanager
def _cpu_limit(seconds):
    """Raise _OverBudget in the running code after ``seconds`` of this process's CPU time (the
    profiling timer, SIGPROF). Off the main thread, where no signal handler runs, and where
    there is no such timer (Windows), nothing is limited."""
    try:
        previous = signal.signal(signal.SIGPROF, _over_budget)
    except (AttributeError, ValueError):  # no SIGPROF (Windows), or not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@contextlib.contextmanager
def _memory_peak():
    """Yield a list that holds, on the way out, the peak of memory allocated inside, in bytes
    (tracemalloc: Python's objects and NumPy's arrays)."""
    peak, was_tracing = [0], tracemalloc.is_tracing()
    if was_tracing:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    else:
        tracemalloc.start()
        base = 0
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1] - base
        if not was_tracing:
            tracemalloc.stop()


def _run(fn, args, kwargs, limits=None, why=""):
    name = getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise AssertionError(f"{name} should be a function, but it is a {type(fn).__name__}")
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    err = io.StringIO()
    limits = limits or {}
    timed = _cpu_limit(limits["seconds"]) if "seconds" in limits else contextlib.nullcontext()
    weighed = _memory_peak() if "memory" in limits else contextlib.nullcontext([0])
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with weighed as peak, timed:
                result = fn(*args, **kwargs)
        if "memory" in limits and peak[0] > limits["memory"]:
            raise AssertionError(f"{name} {why} (Its peak here: {peak[0] / 1e6:.1f} MB.)")
        return result
    except _OverBudget:
        raise AssertionError(f"{name} {why}") from None
    except NotImplementedError:
        raise NotAnswered(f"{name} is not written yet: replace `raise NotImplementedError()` "
                          "with your code") from None
    except AssertionError:
        raise
    except Exception as e:  # noqa: BLE001  (any error of the student's code is reported, not hidden)
        try:
            where, hint = explain(e, fn)
        except Exception:  # noqa: BLE001  (an explanation that fails must not hide the error)
            where, hint = "", None
        what = f"{type(e).__name__}: {e}" if hint is None else f"a {type(e).__name__}"
        raise AssertionError(f"{name} raised {what}{where}" + (f"\n  {hint}" if hint else "")
                             + f"\n  to reproduce: {name}({_arguments(args)})") from e
