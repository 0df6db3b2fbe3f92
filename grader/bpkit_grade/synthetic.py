"""A synthetic class of submissions for one assignment, made from its real notebooks: a dry run
of the grading set-up, before the first real class is graded.

    nbgrader generate_assignment A                  # in the course folder: notebooks/A/ exists
    python -m bpkit_grade.synthetic A               # writes submitted/<kind>/A/ for every kind
    bpkit-grade A                                   # then each kind must score as expected()

``make_class(course, assignment, exercises, kinds)`` writes ``submitted/<kind>/<assignment>/``
for each kind, starting from the released student notebook and the instructor's solutions;
``expected(kind, exercises)`` says what each exercise must score and whether the submission is
flagged. Every mutation targets the *last* exercise (nothing later can depend on it), so the
others keep their full marks. Nothing here knows an answer: a correct submission is the
instructor's own solution cells, a wrong one is that answer plus one.

A registry module (``bpkit-grade --exercises path/to/module.py``) may also declare
``SYNTHETIC_MISTAKES = {kind: (function, code appended to its cell)}``: typical wrong answers of
the right shape, which must score 0 on that function's exercise and full marks elsewhere
(:func:`registry_mistakes`).
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import re
import textwrap
import uuid

import nbformat

# A wrong answer of the right shape (the right one plus 1 everywhere), so that a test cell that
# uses the result further (indexing, products) runs on; tampering kinds define {f} with it.
WRONG = """
def _plus_one(v):
    import numpy
    if isinstance(v, (tuple, list)):
        return type(v)(_plus_one(x) for x in v)
    if isinstance(v, (int, float, numpy.ndarray, numpy.generic)) and not isinstance(v, bool):
        return v + 1.0
    return v
_right_{f} = {f}
def _wrong_{f}(*args, **kwargs):
    return _plus_one(_right_{f}(*args, **kwargs))
"""

# kind -> code appended to the cell that defines the last exercise's function ({f}: its name,
# {points}: its points, {course}: the real course folder). None: special-cased below.
APPENDED = {
    "warning": """
        import functools as _ft, warnings as _w
        def _noisy(f):
            @_ft.wraps(f)
            def g(*a, **k):
                _w.warn("an honest warning printed to stderr")
                return f(*a, **k)
            return g
        {f} = _noisy({f})
    """,
    "crash": """
        def {f}(*args, **kwargs):
            raise RuntimeError("student code crashed")
    """,
    "hang": """
        def {f}(*args, **kwargs):
            while True:
                pass
    """,
    "hang_nosigint": """
        def {f}(*args, **kwargs):
            import signal
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                pass
    """,
    "os_exit": """
        def {f}(*args, **kwargs):
            import os
            os._exit(3)
    """,
    "huge_alloc": """
        def {f}(*args, **kwargs):
            hog = [bytearray(1 << 28) for _ in range(200)]  # 50 GiB
            return len(hog)
    """,
    "t_rebind": """
        import numpy, numpy.testing
        numpy.allclose = lambda *a, **k: True
        numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
        numpy.testing.assert_allclose = lambda *a, **k: None
        try:
            import bpkit.checks as _g
            for _n in dir(_g):  # the module's checks, and the names the notebook imported
                if _n.startswith(("assert", "check", "diagnose")):
                    setattr(_g, _n, lambda *a, **k: None)
                    if _n in globals():
                        globals()[_n] = getattr(_g, _n)
        except ImportError:
            pass
        def {f}(*args, **kwargs):
            return _wrong_{f}(*args, **kwargs)
    """,
    "t_transformer": """
        def _swallow(lines):
            body = "".join(lines).splitlines() or ["pass"]
            return ["try:\\n", "    pass\\n"] + ["    " + l + "\\n" for l in body] + ["except BaseException:\\n", "    pass\\n"]
        get_ipython().input_transformers_post.append(_swallow)
        def {f}(*args, **kwargs):
            return _wrong_{f}(*args, **kwargs)
    """,
    "t_custom_exc": """
        _ip = get_ipython()
        _ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
        _ip._showtraceback = lambda *a, **k: None
        _ip.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))
        def {f}(*args, **kwargs):
            return _wrong_{f}(*args, **kwargs)
    """,
    "t_displayhook": """
        def {f}(*args, **kwargs):
            import sys
            sys.displayhook(float({points}))
            return _wrong_{f}(*args, **kwargs)
    """,
    "t_gradebook": """
        import glob, os, sqlite3
        _hit = []
        for _db in ["../../../gradebook.db", "../../gradebook.db", "../gradebook.db", "gradebook.db",
                    os.path.join({course!r}, "gradebook.db")] + glob.glob("/tmp/bpkit-grade-*/**/*.db", recursive=True):
            try:
                with sqlite3.connect(_db) as _c:
                    _c.execute("UPDATE grade SET auto_score = 0, manual_score = 0")
                    _c.execute("UPDATE grade SET auto_score = 99")
                _hit.append(_db)
            except Exception as e:
                print("gradebook write failed:", _db, e)
        def {f}(*args, **kwargs):
            return _wrong_{f}(*args, **kwargs)
    """,
    "t_solutions": """
        import glob, json, os, re, bpkit
        _found = None
        _checkout = os.path.dirname(os.path.dirname(bpkit.__file__))  # an editable install's repository
        for _nb in (glob.glob("../../../source/*/*.ipynb") + glob.glob("../../../solutions/*/*.ipynb")
                    + glob.glob(os.path.join(_checkout, "solutions", "*", "*.ipynb"))
                    + glob.glob(os.path.join(_checkout, "tests", "fixtures", "course", "solutions", "*", "*.ipynb"))
                    + glob.glob(os.path.join({course!r}, "solutions", "*", "*.ipynb"))
                    + glob.glob(os.path.join({course!r}, "source", "*", "*.ipynb"))):
            try:
                for _cell in json.load(open(_nb))["cells"]:
                    if "def {f}(" in "".join(_cell["source"]) and "BEGIN SOLUTION" in "".join(_cell["source"]):
                        _found = "".join(_cell["source"])
            except Exception as e:
                print("cannot read", _nb, e)
        if _found:
            exec(_found)
        else:
            def {f}(*args, **kwargs):
                return _wrong_{f}(*args, **kwargs)
    """,
}
SPECIAL = ["correct", "blank", "crash_toplevel", "invalid_json", "duplicated", "deleted"]
#: every kind of submission this module makes (registry mistakes come on top)
KINDS = SPECIAL + list(APPENDED)
#: kinds whose in-kernel test is fooled: the re-check must score 0 and flag them
TAMPERING = ["t_rebind", "t_transformer", "t_custom_exc", "t_displayhook"]
#: tampering that isolation prevents (only empty stand-ins are there): must score 0, flagged
#: "access" (the stand-ins opened, bpkit_grade.tripwire)
PREVENTED = ["t_gradebook", "t_solutions"]


def _strip_solution_markers(source: str) -> str:
    return re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", source, flags=re.M)


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def correct_notebook(solution_nb, release_nb):
    """The released notebook with every solution cell answered as in the instructor's version."""
    nb = copy.deepcopy(release_nb)
    answers = {_grade_id(c): c.source for c in solution_nb.cells}
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = _strip_solution_markers(answers[_grade_id(cell)])
    return nb


def _defining_cell(nb, function: str):
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            return cell
    raise LookupError(f"no cell defines {function}()")


def make_submission(kind, solution_nb, release_nb, exercises, course):
    """-> notebook (or str for invalid JSON) of one kind."""
    if kind == "blank":
        return copy.deepcopy(release_nb)
    if kind == "invalid_json":
        return '{"cells": [ this is not JSON'
    nb = correct_notebook(solution_nb, release_nb)
    last = exercises[-1]
    target = _defining_cell(nb, last.function)
    if kind == "mistake":
        raise ValueError("mistakes are assignment-specific: pass them to make_class(mistakes=...)")
    if kind == "crash_toplevel":
        target.source = 'raise RuntimeError("crashed at the top of the cell")\n' + target.source
    elif kind == "duplicated":
        first = _defining_cell(nb, exercises[0].function)
        twin = copy.deepcopy(first)  # as a copy-paste in JupyterLab: new cell id, same nbgrader metadata
        twin.id = uuid.uuid4().hex[:8]
        nb.cells.insert(nb.cells.index(first) + 1, twin)
    elif kind == "deleted":
        nb.cells = [c for c in nb.cells if c is not target and _grade_id(c) != last.grade_id]
    elif kind in APPENDED:
        code = textwrap.dedent(APPENDED[kind]).format(f=last.function, points=last.points, course=course)
        if kind.startswith("t_"):
            code = WRONG.format(f=last.function) + code
        target.source = target.source.rstrip() + "\n" + code
    elif kind != "correct":
        raise ValueError(f"unknown kind {kind!r}")
    return nb


def make_class(course: str, assignment: str, exercises, kinds, mistakes=None) -> None:
    """Write submitted/<kind>/<assignment>/<notebook>.ipynb for each kind (one-notebook assignments).

    ``mistakes``: {kind: (function, code appended to the cell that defines it)}, e.g. a
    registry's SYNTHETIC_MISTAKES."""
    notebook = f"{assignment}.ipynb"
    solution_nb = nbformat.read(os.path.join(course, "solutions", assignment, notebook), 4)
    release_nb = nbformat.read(os.path.join(course, "notebooks", assignment, notebook), 4)
    for kind in kinds:
        folder = os.path.join(course, "submitted", kind, assignment)
        os.makedirs(folder, exist_ok=True)
        if mistakes and kind in mistakes:
            nb = correct_notebook(solution_nb, release_nb)
            function, code = mistakes[kind]
            cell = _defining_cell(nb, function)
            cell.source = cell.source.rstrip() + "\n" + textwrap.dedent(code)
        else:
            nb = make_submission(kind, solution_nb, release_nb, exercises, course)
        path = os.path.join(folder, notebook)
        if isinstance(nb, str):
            with open(path, "w") as f:
                f.write(nb)
        else:
            nbformat.write(nb, path)
        with open(os.path.join(folder, "timestamp.txt"), "w") as f:
            f.write("2026-11-21 12:00:00.000000 UTC")


def expected(kind: str, exercises, mistakes=None):
    """-> ({grade_id: score}, status) that bpkit-grade must give a submission of this kind
    (status: ok, failed, or flagged; flagged ones are in TAMPERING or PREVENTED). ``mistakes``
    as for :func:`make_class`: such a kind scores 0 on its function's exercise(s) only."""
    full = {e.grade_id: float(e.points) for e in exercises}
    last = exercises[-1].grade_id
    if kind in ("correct", "warning", "duplicated"):
        return full, "ok"
    if kind in ("blank", "invalid_json"):
        return {g: 0.0 for g in full}, ("failed" if kind == "invalid_json" else "ok")
    if mistakes and kind in mistakes:
        function = mistakes[kind][0]
        wrong = {e.grade_id: 0.0 for e in exercises if e.function == function}
        if not wrong:
            raise ValueError(f"mistake {kind!r} is about {function}(), which no exercise asks for")
        return {**full, **wrong}, "ok"
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    scores = {**full, last: 0.0}
    return scores, ("flagged" if kind in TAMPERING + PREVENTED else "ok")


def registry_mistakes(spec: str) -> dict:
    """The SYNTHETIC_MISTAKES of a registry module given by path (``*.py``) or module name
    ({} when it declares none)."""
    if spec.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location("bpkit_grade_synthetic_registry", spec)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec)
    return dict(getattr(module, "SYNTHETIC_MISTAKES", {}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bpkit_grade.synthetic",
                                description="Write a synthetic class of one assignment into a course "
                                            "folder, for a dry run of bpkit-grade.")
    p.add_argument("assignment")
    p.add_argument("--course", default=".", help="course root: solutions/A and notebooks/A (default .)")
    p.add_argument("--exercises", default="", help="registry module or path, as for bpkit-grade")
    p.add_argument("--kinds", default="", help=f"comma-separated subset of {', '.join(KINDS)} (default: all)")
    args = p.parse_args(argv)
    from .autograde import load_exercises
    exercises = load_exercises(args.exercises, args.assignment)
    mistakes = registry_mistakes(args.exercises) if args.exercises else {}
    kinds = [k for k in args.kinds.split(",") if k] or KINDS + list(mistakes)
    unknown = [k for k in kinds if k not in KINDS and k not in mistakes]
    if unknown:
        p.error(f"unknown kinds {unknown}")
    taken = [k for k in kinds if os.path.exists(os.path.join(args.course, "submitted", k, args.assignment))]
    if taken:
        p.error(f"submitted/<kind>/{args.assignment} already exists for {taken}: use a copy of the course")
    make_class(args.course, args.assignment, exercises, kinds, mistakes)
    for k in kinds:
        scores, status = expected(k, exercises, mistakes)
        print(f"{k:16} {status:8} " + " ".join(f"{g}={v:g}" for g, v in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
