"""What each graded exercise asks for, in a form a grader can check outside the student's kernel.

Every graded exercise in the course is a Python function the student writes in an nbgrader
solution cell. The notebook's test cell checks it inside the student's kernel; the instructor's
``bpkit-grade`` checks it again in a process the student's code cannot reach: it runs the
student's cells in a fresh kernel, calls ``function`` on ``make_inputs(rng)`` for fresh random
generators, brings back plain numbers only, and compares them with ``reference`` here.

One module per assignment (``nb01`` ... ``nb05``) defines ``EXERCISES``, a list of
:class:`Exercise`. :func:`for_assignment` collects them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from bpkit.checks import assert_close, call

#: assignment name -> module that lists its exercises
MODULES = {
    "01-computational-graphs": "bpkit_grade.exercises.nb01",
    "02-paths-vs-dynamic-programming": "bpkit_grade.exercises.nb02",
    "03-backpropagation": "bpkit_grade.exercises.nb03",
    "04-jacobians-and-log-softmax": "bpkit_grade.exercises.nb04",
    "05-decoupled-vector-network": "bpkit_grade.exercises.nb05",
}


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    grade_id     the nbgrader grade_id of the exercise's autograder test cell
    points       its points (must equal the test cell's nbgrader points)
    function     the name of the function the student defines
    make_inputs  rng -> tuple of arguments (plain numbers, lists or NumPy arrays)
    reference    the correct function: reference(*make_inputs(rng)) is the expected result
    description  one line: what the exercise asks
    mistakes     optional: (*args) -> [(description, wrong_result), ...], the results of likely
                 mistakes for those inputs; a student result equal to one is diagnosed by name
                 ("it looks like you <description>")
    result_names optional: names of the returned values, e.g. ("dx", "dy", "dz")
    compare      optional: (got, expected) -> None, raising AssertionError with a diagnostic
                 message; the default is bpkit.checks.assert_close with ``mistakes``
    visible_inputs  argument tuples the notebook's visible check always tries first (the worked
                 example of the text, a case where a gate is closed, ...), before the inputs of
                 the fixed seeds ``VISIBLE_SEEDS``; see :mod:`bpkit_grade.visible`
    """

    grade_id: str
    points: float
    function: str
    make_inputs: Callable[[np.random.Generator], tuple]
    reference: Callable[..., Any]
    description: str = ""
    mistakes: Optional[Callable[..., list]] = field(default=None, compare=False)
    result_names: Any = None
    compare: Optional[Callable[[Any, Any], None]] = field(default=None, compare=False)
    visible_inputs: tuple = ()

    def expected(self, rng: np.random.Generator):
        """Fresh inputs and the reference result for them."""
        args = self.make_inputs(rng)
        return args, self.reference(*args)


def for_assignment(name: str) -> list[Exercise]:
    """The exercises of one assignment, in notebook order."""
    if name not in MODULES:
        raise KeyError(f"unknown assignment {name!r}; known: {', '.join(MODULES)}")
    return list(importlib.import_module(MODULES[name]).EXERCISES)


def cases(ex, seeds, *, fixed=True):
    """The argument tuples to try: the exercise's fixed adversarial cases (``visible_inputs``:
    the worked example, closed gates, empty path sets, ...) first, then ``make_inputs`` of a
    fresh generator per seed."""
    out = [tuple(args) for args in ex.visible_inputs] if fixed else []
    return out + [tuple(ex.make_inputs(np.random.default_rng(int(seed)))) for seed in seeds]


def check_exercise(assignment, fn, *, seeds=(0, 1, 2), hidden=False, fixed=True):
    """Check a student's function against the exercise registry.

    The fixed adversarial cases of the exercise come first (with ``fixed=True``), then fresh
    inputs for ``seeds`` (visible tests use fixed ones). With ``hidden=True`` the seeds are
    drawn fresh every time, so a hard-coded answer fails.
    """
    name = getattr(fn, "__name__", None)
    matches = [ex for ex in for_assignment(assignment) if ex.function == name]
    if not matches:
        raise AssertionError(f"no exercise of {assignment} expects a function called {name!r}: "
                             "keep the function's name as given")
    ex = matches[0]
    if hidden:
        seeds = np.random.SeedSequence().generate_state(3)
    for args in cases(ex, seeds, fixed=fixed):
        expected = ex.reference(*args)
        got = call(fn, *args)
        if ex.compare is not None:
            ex.compare(got, expected)
        else:
            mistakes = ex.mistakes(*args) if ex.mistakes is not None else ()
            assert_close(got, expected, ex.result_names or name, mistakes=mistakes, inputs=args)
