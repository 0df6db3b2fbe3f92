"""Partial credit for an exercise that returns several results (dx, dy, dz; dW, db; ...).

Each result is worth an equal share of the exercise's points, and counts only when it is right
on *every* case tried. ``parts(fn)`` is what such an exercise's test cell calls: it runs the
visible cases (``visible-checks.json``, as :func:`bpkit.checks.check` does), prints which results
are right and what is wrong with the first one that is not, and returns a :class:`Credit`: the
points, a number that nbgrader reads from the cell's last line (nbgrader gives a test cell whose
output is a number that many points). No result right raises AssertionError, as ``check`` does.

The hidden tests and the instructor's re-check judge their own cases with the same
:func:`judge` and word the verdict with the same :func:`feedback`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .asks import switched_off
from .checks import CHECKS_FILE, NotAnswered, call, check_cases, diagnose
from .plain import from_plain


class Credit(float):
    """Points scored (a plain number, shown as one), with which results were right (``right``,
    one bool per name in ``names``), the exercise's ``points`` and the feedback ``message``."""

    def __new__(cls, points, right, names, message=""):
        right = tuple(bool(r) for r in right)
        self = super().__new__(cls, float(points) * sum(right) / len(right))
        self.points, self.right, self.names, self.message = float(points), right, tuple(names), message
        return self

    def __repr__(self):
        return float.__repr__(self)


def judge(fn, cases, names, *, batch_size=None) -> tuple[list[bool], str | None]:
    """Run ``fn`` once per case ``(inputs, expected, mistakes)``. -> (for each result, whether
    it is right on every case; None or the diagnosis of :func:`bpkit.checks.check_cases`).
    A case that raises or returns the wrong number of results makes every result wrong."""
    n = len(names)
    runs, right = [], [True] * n
    for inputs, expected, *_ in cases:
        try:
            got, error = call(fn, *inputs), None
        except NotAnswered:
            raise
        except AssertionError as e:
            got, error = None, e
        runs.append((got, error))
        whole = error is None and isinstance(got, (tuple, list)) and len(got) == n
        for i in range(n):
            right[i] = right[i] and whole and diagnose(got[i], expected[i]) is None
    replay = iter(runs)

    def again(*args):  # fn's results again, in the same order: check_cases words the diagnosis
        got, error = next(replay)
        if error is not None:
            raise error
        return got
    again.__name__ = getattr(fn, "__name__", "your function")
    try:
        check_cases(again, cases, list(names), batch_size=batch_size)
    except AssertionError as e:
        return right, str(e)
    return right, None


def feedback(function, names, right, points) -> str:
    """One line: which results are right, which wrong, and the points that gives."""
    good = [n for n, r in zip(names, right) if r]
    bad = [n for n, r in zip(names, right) if not r]
    share = float(points) * len(good) / len(names)
    return (f"{function}: {', '.join(good)} {'is' if len(good) == 1 else 'are'} right; "
            f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} wrong: {len(good)} of "
            f"{len(names)} results, {share:.3g} of {float(points):g} points")


def award(function, names, right, points, problem, *, before=None) -> Credit:
    """The Credit of a judged exercise, printed when not full (``problem``: the diagnosis).
    ``before``: a Credit of earlier cases (the visible ones): a result counts only when it was
    right there too. No result right: AssertionError with the diagnosis."""
    if isinstance(before, Credit) and len(before.right) == len(right):
        right = [a and b for a, b in zip(right, before.right)]
        if problem is None and not all(right):
            problem = before.message.split("\n", 1)[-1]
    if not any(right):
        raise AssertionError(problem or f"{function}: no result is right")
    if all(right):
        return Credit(points, right, names)
    message = feedback(function, names, right, points) + "\n" + (problem or "")
    if not (isinstance(before, Credit) and tuple(right) == before.right):
        print(message)
    return Credit(points, right, names, message)


def parts(fn, *, also=(), path=CHECKS_FILE, batch_size=None) -> Credit:
    """Check ``fn`` on the visible cases of its exercise and on ``also`` (``(inputs, expected)``
    pairs, e.g. bpkit's own answer for the worked example); -> the points (a :class:`Credit`)."""
    name = getattr(fn, "__name__", None)
    if not callable(fn):
        raise AssertionError(f"{name or 'your answer'} should be a function, but it is a {type(fn).__name__}")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError) as e:
        raise AssertionError(f"{path} cannot be read ({type(e).__name__}): `./course reset` "
                             "brings the notebook's folder back (your notebook is kept in backups/)") from None
    entry = data.get("exercises", {}).get(name)
    if entry is None or "points" not in entry:
        raise AssertionError(f"no exercise of this notebook with several results is called {name!r}: "
                             "keep the function's name as given")
    cases = [(from_plain(c["inputs"]), from_plain(c["expected"]),
              [(d, from_plain(v)) for d, v in c["mistakes"]]) for c in entry["cases"]]
    cases += [(tuple(inputs), expected, ()) for inputs, expected in also]
    with switched_off(entry.get("asks_for", ())):
        right, problem = judge(fn, cases, entry["names"], batch_size=batch_size)
    credit = award(name, entry["names"], right, entry["points"], problem)
    if credit == credit.points:
        print(f"{name}: all visible tests pass")
    return credit
