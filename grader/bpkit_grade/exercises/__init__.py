"""What each graded exercise asks for, in a form a grader can check outside the student's kernel.

Every graded exercise in the course is a Python function the student writes in an nbgrader
solution cell. The notebook's test cell checks it inside the student's kernel; the instructor's
``bpkit-grade`` checks it again in a process the student's code cannot reach: it runs the
student's cells in a fresh kernel, calls ``function`` on ``make_inputs(rng)`` for fresh random
generators, brings back plain numbers only, and compares them with ``reference`` here.

One module per assignment (``nb01``, ``nb02``, ...) defines ``EXERCISES``, a list of
:class:`Exercise`. :func:`for_assignment` collects them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from bpkit.asks import switched_off
from bpkit.checks import call, check_cases, literal
from bpkit.credit import award, judge

#: assignment name -> module that lists its exercises
MODULES = {
    "01-computational-graphs": "bpkit_grade.exercises.nb01",
    "02-paths-vs-dynamic-programming": "bpkit_grade.exercises.nb02",
    "03-backpropagation": "bpkit_grade.exercises.nb03",
    "04-jacobians-and-log-softmax": "bpkit_grade.exercises.nb04",
    "05-decoupled-vector-network": "bpkit_grade.exercises.nb05",
    "06-build-your-own-engine": "bpkit_grade.exercises.nb06",
    "07-forward-and-reverse-mode": "bpkit_grade.exercises.nb07",
    "08-backprop-through-time": "bpkit_grade.exercises.nb08",
}


#: the engine's ways to a derivative: switched off (bpkit.asks) while an exercise that asks the
#: student to compute derivatives is checked
DERIVATIVES = ("bpkit.backprop.backprop", "bpkit.backprop.backward", "bpkit.graph.Var.backward",
               "bpkit.graph.Graph.backward", "bpkit.jacobian.jacobian",
               "bpkit.jacobian.numeric_jacobian", "bpkit.jacobian.numeric_grad",
               "bpkit.jacobian.check_gradients", "bpkit.paths.path_sum",
               "bpkit.paths.dp_backward", "bpkit.paths.dp_forward", "bpkit.paths.all_pairs")
#: the engine's local derivatives of an edge (an op's vector-Jacobian product, its Jacobian)
LOCAL_DERIVATIVES = ("bpkit.backprop.vjp", "bpkit.backprop.edge_jacobian",
                     "bpkit.backprop.one_hot_jacobian")
#: the engine's enumeration of paths and their products
PATHS = ("bpkit.paths.paths", "bpkit.paths.path_product", "bpkit.paths.count_paths")
#: the engine's layer rules (notebook 5's decoupled layers)
LAYERS = tuple(f"bpkit.layers.{layer}.backward" for layer in
               ("Linear", "ReLU", "Sigmoid", "Tanh", "HardTanh", "Max", "LogSoftmax", "NLL", "Sequential"))
#: the engine's log-softmax, however it is reached (bpkit.log_softmax, bpkit.apply, the layer)
LOG_SOFTMAX = ("bpkit.ops._log_softmax", "bpkit.graph.log_softmax", "bpkit.layers.LogSoftmax.forward")


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
                 the fixed seeds ``VISIBLE_SEEDS``; see :mod:`bpkit_grade.visible`. The hidden
                 tests (check_exercise) try them too, before their random cases; the first of
                 them is the worked example, whose answer typed in is named as a mistake
    partial      the exercise returns several results (gradients), each worth an equal share of
                 the points when it is right on every case (bpkit.credit): in the test cell
                 (``parts``, then ``check_exercise(..., credit=)``) and in the re-check
    asks_for     the engine functions (``bpkit.paths.path_sum``) that compute what the exercise
                 asks the student to write: switched off while it is checked (bpkit.asks), in the
                 check cell, the hidden test and the re-check
    decisive     draw ``make_inputs`` again (from the same generator: still one input per seed)
                 until every typical mistake gives numbers clearly different from the answer
                 and from the other mistakes, so that one case names it; off where two mistakes
                 coincide by nature in a branch worth testing (a closed gate)
    method_case  optional ``(args, limits, why)``: an input on which only the method the
                 exercise asks for stays within ``limits`` (``{"seconds": CPU s}``,
                 ``{"memory": bytes}``), such as a graph with 2^40 paths for a dynamic program.
                 Tried after the other cases, everywhere they are (check cell, hidden test,
                 re-check); past a limit the message is "<function> <why>"
                 (bpkit.explain.call_within). No typical mistakes are computed for it
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
    decisive: bool = True
    partial: bool = False
    asks_for: tuple = ()
    method_case: Optional[tuple] = field(default=None, compare=False)

    def __post_init__(self):
        if self.method_case is not None and (self.partial or self.compare is not None):
            raise ValueError(f"{self.function}: a method case needs the default comparison of one result")
        # the answer of the worked example (the first fixed case), typed in, is a typical mistake
        # too: named wherever the exercise's mistakes are (visible checks, hidden tests, re-check)
        if self.visible_inputs:
            object.__setattr__(self, "mistakes", _with_worked_example(self))
        if self.mistakes is not None and self.decisive:
            object.__setattr__(self, "make_inputs", _decisive(self.make_inputs, self.reference,
                                                              self.mistakes))

    def expected(self, rng: np.random.Generator):
        """Fresh inputs and the reference result for them."""
        args = self.make_inputs(rng)
        return args, self.reference(*args)


def _flat(value):
    if isinstance(value, (tuple, list)):
        parts = [np.ravel(np.asarray(v, dtype=float)) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0), tuple(np.shape(v) for v in value)
    return np.ravel(np.asarray(value, dtype=float)), np.shape(value)


def _differ(a, b):
    (fa, sa), (fb, sb) = a, b
    return sa != sb or not np.allclose(fa, fb, rtol=1e-3, atol=1e-3, equal_nan=True)


def _separates(reference, mistakes, args):
    """Every typical mistake that is wrong on ``args`` is clearly wrong there (not within 1e-3 of
    the right answer) and wrong in its own way (no two give the same numbers), so that one
    case names it."""
    right = _flat(reference(*args))
    wrong = []
    for description, value in mistakes(*args):
        if value is None:
            continue
        try:
            flat = _flat(value)
        except (TypeError, ValueError):
            continue
        same_shape = flat[1] == right[1]
        if same_shape and np.allclose(flat[0], right[0], rtol=1e-7, atol=1e-9, equal_nan=True):
            continue                          # not a mistake on these inputs
        if not _differ(flat, right):
            return False                      # a mistake too close to the right answer
        wrong.append((description, flat))
    return all(_differ(a, b) for k, (da, a) in enumerate(wrong) for db, b in wrong[k + 1:]
               if da != db)


def _decisive(draw, reference, mistakes, tries=200):
    """``draw``, drawn again (from the same generator, so still one input per seed) until every
    typical mistake that shows on the case shows differently from the others."""
    def make_inputs(rng):
        for _ in range(tries):
            args = draw(rng)
            if _separates(reference, mistakes, args):
                return args
        return args
    make_inputs.draw = draw
    return make_inputs


def _with_worked_example(ex):
    own = ex.mistakes
    worked = tuple(ex.visible_inputs[0])
    answer = []

    def mistakes(*args):
        found = list(own(*args)) if own is not None else []
        if not answer:
            answer.append(ex.reference(*worked))
        found.append((f"typed in the answer of the worked example {ex.function}"
                      f"({', '.join(literal(a) for a in worked)}): the function must compute its "
                      "result from its arguments", answer[0]))
        return found
    mistakes.own = own
    return mistakes


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


def method_cases(ex) -> list[tuple]:
    """The exercise's method case as a case of ``bpkit.checks.check_cases``
    ``(inputs, expected, (), (limits, why))``, in a list (empty without one)."""
    if ex.method_case is None:
        return []
    args, limits, why = ex.method_case
    return [(tuple(args), ex.reference(*args), (), (dict(limits), why))]


def check_exercise(assignment, fn, *, seeds=(0, 1, 2), hidden=False, fixed=True, credit=None):
    """Check a student's function against the exercise registry.

    The fixed adversarial cases of the exercise come first (with ``fixed=True``), then fresh
    inputs for ``seeds`` (visible tests use fixed ones). With ``hidden=True`` the seeds are
    drawn fresh every time, so a hard-coded answer fails. An exercise with several results
    (``partial``) returns its points (a ``bpkit.credit.Credit``; ``credit``: the visible check's,
    whose wrong results stay wrong) and raises only when no result is right.
    """
    name = getattr(fn, "__name__", None)
    matches = [ex for ex in for_assignment(assignment) if ex.function == name]
    if not matches:
        raise AssertionError(f"no exercise of {assignment} expects a function called {name!r}: "
                             "keep the function's name as given")
    ex = matches[0]
    if hidden:
        seeds = np.random.SeedSequence().generate_state(3)
    if ex.compare is not None:
        for args in cases(ex, seeds, fixed=fixed):
            expected = ex.reference(*args)
            with switched_off(ex.asks_for):
                got = call(fn, *args)
            ex.compare(got, expected)
        return
    todo = [(args, ex.reference(*args), ex.mistakes(*args) if ex.mistakes else ())
            for args in cases(ex, seeds, fixed=fixed)] + method_cases(ex)
    with switched_off(ex.asks_for):
        if not ex.partial:
            check_cases(fn, todo, ex.result_names or name)
            return None  # (a number here would be the test cell's output: nbgrader's partial credit)
        right, problem = judge(fn, todo, ex.result_names)
    return award(name, ex.result_names, right, ex.points, problem, before=credit)
