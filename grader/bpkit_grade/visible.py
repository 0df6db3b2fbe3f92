"""The data behind the notebooks' visible checks, and the command that releases the notebooks.

A student's notebook must check an answer without holding the answer's code. So the visible
check cells call :func:`bpkit.checks.check`, which reads ``visible-checks.json`` beside the
notebook: for each exercise, a few cases of inputs, the expected result, and the results of the
typical mistakes on those inputs (so the feedback can name the mistake). Numbers only, no code.

This module writes that file into ``solutions/<assignment>/`` from the exercise registry
(``Exercise.visible_inputs`` first, then the inputs of the seeds :data:`VISIBLE_SEEDS`);
``nbgrader generate_assignment`` copies it into ``notebooks/<assignment>/`` with the notebook.
The hidden tests draw fresh inputs, so knowing these cases does not help a student.

    python -m bpkit_grade.visible [ASSIGNMENT ...]    (./course generate)

writes the files and regenerates ``notebooks/`` for the given assignments (all by default);
``--check`` only says whether the committed files are current (a test runs it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from bpkit.checks import CHECKS_FILE, to_plain

from .exercises import MODULES, for_assignment, method_cases

VISIBLE_SEEDS = (0, 1, 2)


def cases(exercise) -> list[dict]:
    """The visible cases of one exercise: inputs, expected result, typical mistakes' results."""
    inputs = [tuple(args) for args in exercise.visible_inputs]
    inputs += [exercise.make_inputs(np.random.default_rng(seed)) for seed in VISIBLE_SEEDS]
    out = []
    for args in inputs:
        mistakes = exercise.mistakes(*args) if exercise.mistakes is not None else []
        out.append({"inputs": to_plain(list(args)),
                    "expected": to_plain(exercise.reference(*args)),
                    "mistakes": [[description, to_plain(value)] for description, value in mistakes]})
    for args, expected, _, (limits, why) in method_cases(exercise):
        out.append({"inputs": to_plain(list(args)), "expected": to_plain(expected), "mistakes": [],
                    "within": [limits, why]})
    return out


def build(assignment: str) -> dict:
    """The content of ``visible-checks.json`` for one assignment."""
    exercises = {}
    for ex in for_assignment(assignment):
        if ex.compare is not None:
            raise ValueError(f"{ex.function}: an exercise with its own compare function cannot be "
                             "checked from data in the student's notebook")
        names = list(ex.result_names) if isinstance(ex.result_names, (tuple, list)) else ex.result_names
        exercises[ex.function] = {"names": names, "cases": cases(ex)}
        if ex.asks_for:  # switched off while the check runs (bpkit.asks)
            exercises[ex.function]["asks_for"] = list(ex.asks_for)
        if ex.partial:  # bpkit.credit.parts: each result's share of these points
            exercises[ex.function]["points"] = ex.points
    return {"about": f"The visible checks of {assignment}: inputs, expected results and the "
                     "results of typical mistakes (numbers only). Written by `./course generate` "
                     "from the instructor's exercise registry; do not edit.",
            "exercises": exercises}


def render(assignment: str) -> str:
    return json.dumps(build(assignment), indent=1, ensure_ascii=False) + "\n"


def write(course: Path, assignment: str) -> tuple[Path, bool]:
    """Write the file from the registry -> (its path, whether it changed). A file that differs
    only in the last bits of a number (this machine's BLAS) is left as it is: regenerating
    changes nothing in the instructor's diff unless something really changed."""
    path = course / "solutions" / assignment / CHECKS_FILE
    text = render(assignment)
    if _holds(path, text):
        return path, False
    path.write_text(text, encoding="utf-8")
    return path, True


def _holds(path: Path, text: str) -> bool:
    """The file at ``path`` is the JSON ``text`` up to the last bits of a number (missing or not
    JSON: no)."""
    try:
        return same(json.loads(path.read_text(encoding="utf-8")), json.loads(text))
    except (OSError, ValueError):
        return False


def stale(course: Path, assignment: str) -> bool:
    """The committed file is missing, or differs from what the registry gives now in anything
    but the last bits of a number (BLAS and CPUs differ there: the file is written on one
    machine and checked on another)."""
    return not _holds(course / "solutions" / assignment / CHECKS_FILE, render(assignment))


def same(a, b) -> bool:
    """Equal JSON values, numbers within a relative 1e-9 (and 1e-12 absolute)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None or isinstance(a, str):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or bool(np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False


class ReleaseError(RuntimeError):
    """nbgrader could not release an assignment; the message holds its output."""


def release(course: Path, assignment: str) -> Path:
    """``nbgrader generate_assignment ASSIGNMENT --force`` in the course folder; returns the
    released notebook (``./course generate`` and ``./course publish`` both release through this)."""
    # nbgrader starts `alembic` by name: let it find the one beside this Python
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                          cwd=course, capture_output=True, text=True, env=env)
    released = course / "notebooks" / assignment / f"{assignment}.ipynb"
    if done.returncode != 0 or not released.exists():
        raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return released


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="./course generate", description=__doc__.split("\n\n")[0])
    p.add_argument("assignments", nargs="*", help=f"default: all ({', '.join(MODULES)})")
    p.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: here)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a visible-checks.json is not current")
    a = p.parse_args(argv)
    course = a.course.resolve()
    names = a.assignments or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        p.error(f"unknown assignment {', '.join(unknown)}; known: {', '.join(MODULES)}")
    if a.check:
        old = [n for n in names if stale(course, n)]
        for n in old:
            print(f"solutions/{n}/{CHECKS_FILE} is not current: run ./course generate {n}")
        return 1 if old else 0
    for n in names:
        path, changed = write(course, n)
        try:
            release(course, n)
        except ReleaseError as e:
            raise SystemExit(str(e)) from None
        print(f"[course] {'wrote' if changed else 'kept (current)'} {path.relative_to(course)} "
              f"and released notebooks/{n}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
