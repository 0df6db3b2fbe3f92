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
While the check runs, the engine functions that compute what the exercise asks for (the file's
``asks_for``) are switched off (:mod:`bpkit.asks`). ``check_cases`` is the loop behind it (the
hidden tests use it too): it runs every case, then reports the smallest failing one, with the
other cases as witnesses for a diagnosis.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .asks import switched_off
from .explain import NotAnswered, call, call_within  # noqa: F401  (bpkit.checks.call, ...)
from .plain import arguments as _arguments, from_plain, plain as _plain, show as _show
from .plain import literal, to_plain  # noqa: F401  (bpkit.checks.literal, .to_plain)

RTOL, ATOL = 1e-5, 1e-8
CHECKS_FILE = "visible-checks.json"


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
            "and right everywhere else: something stops the gradient there (a mask that blocks too "
            "much, inverted or with the wrong comparison, or a term left out?)")
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
    explains one of them (one with another right answer or another result: the same case
    twice proves nothing), otherwise the sentence says where the answer first differs.
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
        return ("it contains inf: a number overflowed (exp of a number above 709 is inf), "
                "underflowed to 0 and then went into log (exp of a number below -745 is 0, and "
                "log 0 is -inf), or was divided by zero")
    if close:
        return None
    guesses = _explanations(g, e, rtol, atol, batch_size)
    witnesses = []
    for og, oe in others:  # the other wrong results; the same case twice is no second input
        try:
            og, oe = _as_float(og), _as_float(oe)
        except (TypeError, ValueError):
            continue
        if not _close(og, oe, rtol, atol) and not (_close(oe, e, rtol, atol) and _close(og, g, rtol, atol)):
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
                       diagnose(got[i], ej, rtol=rtol, atol=atol) is None and
                       not any(_not_in_slot(og, oe, i, j, rtol, atol) for og, oe in others)]
            if matches and matches[0] in failing:
                raise AssertionError(
                    f"{names[i]}: the results are in the wrong order: {names[i]} holds what "
                    f"{names[matches[0]]} should be; return ({', '.join(names)}) in this order."
                    f"{detail}{where}")
            if matches:                         # not swapped: a copy of a right result
                raise AssertionError(
                    f"{names[i]}: it is the value of {names[matches[0]]} (which is right), not its "
                    f"own: a factor or a term that makes the two differ is missing.{detail}{where}")
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


def _not_in_slot(og, oe, i, j, rtol, atol):
    """Whether another case's results ``og`` (expected ``oe``) show that result i is not
    result j's value: the guess "in the wrong order" is said only if no case contradicts it."""
    if not (isinstance(og, (tuple, list)) and isinstance(oe, (tuple, list)) and len(og) == len(oe) > max(i, j)):
        return False
    return diagnose(og[i], oe[j], rtol=rtol, atol=atol) is not None


def _detail(got, expected):
    try:
        return f"\n  expected: {_show(expected)}\n  got:      {_show(got)}"
    except (TypeError, ValueError):
        return ""


def check_cases(fn, cases, names=None, *, batch_size=None):
    """Run ``fn`` on every case ``(inputs, expected, mistakes)``; raise AssertionError with a
    diagnosis for the smallest failing case, the other cases' results serving as witnesses (a
    guess about the cause must explain two of them, and a typical mistake is named only if no
    other case contradicts it); return the number of cases.

    A case ``(inputs, expected, mistakes, (limits, why))`` may use at most ``limits`` of CPU
    time or memory (:func:`bpkit.explain.call_within`): where the exercise asks for a method."""
    name = getattr(fn, "__name__", None) or "your function"
    runs = []
    for inputs, expected, mistakes, *budget in cases:
        try:
            got = call_within(*budget[0], fn, *inputs) if budget and budget[0] else call(fn, *inputs)
            runs.append((inputs, expected, mistakes, got, None))
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
    mistakes = [(d, v) for d, v in mistakes if not _contradicted(d, runs, k)]
    assert_close(got, expected, names or name, mistakes=mistakes, inputs=inputs,
                 batch_size=batch_size, others=others, function=name)
    raise AssertionError(f"{name}: wrong on the inputs below.{_inputs(inputs, name)}")  # pragma: no cover


def _contradicted(description, runs, k):
    """Whether another case shows that the answer is not this typical mistake: there the
    mistake gives a value (not None; a mistake made in several ways has several) and the answer
    is none of them. Two mistakes can agree on one small case (n = 1, a single path); the name
    is said only if no case tells them apart."""
    for j, (_, expected, mistakes, got, error) in enumerate(runs):
        values = [v for d, v in mistakes if d == description and v is not None]
        if j != k and error is None and values and \
                not any(_matches_mistake(got, expected, v) for v in values):
            return True
    return False


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
              [(description, from_plain(value)) for description, value in case["mistakes"]],
              tuple(case["within"]) if "within" in case else None)
             for case in entry["cases"]]
    with switched_off(entry.get("asks_for", ())):  # the engine functions it asks you to write
        return check_cases(fn, cases, entry["names"] or name)
