"""The pieces of bpkit-grade that need no kernel: settings, the JSON codec, the re-check's
judgement, verdicts, failure reasons, the throwaway gradebook, CSV."""
import contextlib
import csv
import io
import json
import os
import pickle
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from bpkit_grade.autograde import compare, decode, encode, write_csv
from bpkit_grade.exercises import Exercise
from bpkit_grade.pool import grade_or_fail
from bpkit_grade.recheck import recheck
from bpkit_grade.results import new_result, verdict
from bpkit_grade.settings import Settings
from bpkit_grade.submission import Box, GradebookUnreadable, last_error, read_in_kernel_scores

EX = Exercise("test_f", 2, "f", lambda rng: (rng.normal(size=3),), lambda x: x)


def settings(**changes) -> Settings:
    base = dict(root="/course", assignment="a", course_id="bpkit", db_url="sqlite:////course/gradebook.db",
                workroot="/tmp/w", template_db="/tmp/w/template.db", release_files="/tmp/w/release",
                notebooks=("a",), students=("ann",), exercises="", exercise_notebook={"test_f": "a"},
                points={"test_f": 2.0}, unchecked=(), timeout=5, memory=1 << 30, submission_timeout=60,
                seed=1, jobs=1, uid_base=64000, roots=("/course",), keep=("/course/bpkit",),
                hide=("/course/gradebook.db",), hide_recheck=("/course/grader/bpkit_grade/exercises",))
    return Settings(**(base | changes))


@pytest.fixture
def alembic_on_path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` from PATH (bpkit-grade puts its environment first)."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def test_settings_are_frozen_typed_data_that_pickle_to_a_worker():
    s = settings()
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        s.timeout = 1
    assert s.uids(1) == (64002, 64003) and settings(uid_base=None).uids(1) == (None, None)
    recheck_box = s.confinement(64003, "/h", "/a.log", recheck=True)
    assert recheck_box.hide == s.hide + s.hide_recheck and s.confinement(64002, "/h").hide == s.hide
    argv = recheck_box.argv(["python", "-m", "ipykernel_launcher"], conn="/c.json")
    assert argv[argv.index("--uid") + 1] == "64003" and argv[argv.index("--") + 1:] == ["python", "-m", "ipykernel_launcher"]


def test_results_cross_the_kernel_boundary_as_plain_json():
    value = (np.arange(6.0).reshape(2, 3), np.float64(1.5), 3, [True, None], {"k": np.int64(2)})
    back = decode(json.loads(json.dumps(encode(value))))
    assert np.array_equal(back[0], value[0]) and back[0].dtype == np.float64
    assert back[1:] == [1.5, 3, [True, None], {"k": 2}]


def test_objects_that_are_not_numbers_are_refused_with_their_type():
    with pytest.raises(TypeError, match="object"):
        encode(object())


def test_the_comparison_is_bpkit_checks_assert_close():
    compare(EX, np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="f: the sign is flipped"):  # assert_close's own diagnosis
        compare(EX, np.array([-1.0, -2.0]), np.array([1.0, 2.0]))


class InProcess:
    """A stand-in for bpkit_grade.kernel.Kernel that runs the code here, with exec."""

    def __init__(self):
        self.namespace, self.ran, self.closed = {}, [], False

    def run(self, code):
        self.ran.append(code)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, self.namespace)
        except Exception as e:
            return "error", out.getvalue(), f"{type(e).__name__}: {e}"
        return "ok", out.getvalue(), None

    def restart(self, replay):
        raise AssertionError("nothing here hangs or dies")

    def close(self):
        self.closed = True


def _notebook(tmp_path, answer):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(answer, metadata={"nbgrader": {"solution": True, "grade_id": "f_answer"}}),
                nbformat.v4.new_code_cell("raise SystemExit('a test cell must not run')",
                                          metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f"}})]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, str(path))
    return str(path)


@pytest.mark.parametrize("answer, passed, message", [
    ("def f(x):\n    return x\n", True, ""),
    ("def f(x):\n    return -x\n", False, "f(...) is wrong on fresh inputs: f: the sign is flipped"),
    ("def f(x):\n    return object()\n", False, "f(...) raised TypeError: a object is not a number"),
    ("print = lambda *a, **k: None\ndef f(x):\n    return x\n", False, "f(...) gave no readable result (no result line)"),
])
def test_the_recheck_runs_student_cells_only_and_judges_here(tmp_path, answer, passed, message):
    kernel = InProcess()
    r = recheck(_notebook(tmp_path, answer), [EX], seed=1, timeout=5, kernel=kernel)
    got_passed, got_message = r["verdicts"]["test_f"]
    assert (got_passed, got_message[:len(message)]) == (passed, message), got_message
    assert kernel.closed and not any("SystemExit" in code for code in kernel.ran)


def test_the_recheck_wins_and_disagreement_is_flagged():
    assert verdict(EX, True, "", 2.0) == {"score": 2.0, "max": 2.0, "flag": "", "note": "", "in_kernel": 2.0}
    fooled = verdict(EX, False, "f(...) is wrong", 2.0)
    assert (fooled["score"], fooled["flag"]) == (0.0, "tampering") and "in-kernel test gave 2/2" in fooled["note"]
    assert verdict(EX, True, "", 0.0)["flag"] == "mismatch"
    assert verdict(EX, False, "f(...) raised", None) == {"score": 0.0, "max": 2.0, "flag": "",
                                                         "note": "f(...) raised", "in_kernel": None}


def test_nbgrader_failures_are_named_by_their_exception():
    log = "[AutogradeApp | ERROR] Traceback (most recent call last):\n    raise X\n    KeyError: 'grade_id'\n"
    assert last_error({"log": log, "error": ""}) == "KeyError: 'grade_id'"
    assert last_error({"log": "", "error": ""}) == "see its log"


def test_an_unreadable_throwaway_gradebook_fails_the_submission_with_a_reason(tmp_path, alembic_on_path):
    """It used to be skipped silently: no in-kernel scores, so no tampering flag, status ok."""
    (tmp_path / "gradebook.db").write_bytes(b"this is not an SQLite database\n" * 64)
    box, s = Box(str(tmp_path), "ann", "a"), settings()

    def grade(s, student, uid):
        result = new_result(student)
        read_in_kernel_scores(s, box, True, result)
        return result

    r = grade_or_fail(s, "ann", None, grade)
    assert r["status"] == "failed", r
    reason = r["reasons"][0]
    assert "GradebookUnreadable" in reason and "not a database" in reason and "tampering not checked" in reason
    assert r["exercises"]["test_f"]["score"] == 0.0


def test_a_throwaway_gradebook_without_the_submission_is_an_error_only_if_nbgrader_succeeded(tmp_path, alembic_on_path):
    from nbgrader.api import Gradebook
    box, s = Box(str(tmp_path), "ann", "a"), settings()
    with Gradebook(box.gradebook_url, s.course_id) as gb:
        gb.add_assignment("a")
    assert read_in_kernel_scores(s, box, False, new_result("ann")) == {}  # nbgrader failed: said already
    with pytest.raises(GradebookUnreadable, match="no submission"):
        read_in_kernel_scores(s, box, True, new_result("ann"))


def test_the_csv_has_a_row_per_submission_and_keeps_earlier_rows(tmp_path):
    points = {"test_f": 2.0, "test_g": 3.0}
    path = str(tmp_path / "grades" / "a.csv")
    ok = {"status": "ok", "reasons": [], "seconds": 1.0,
          "exercises": {"test_f": {"score": 2.0, "flag": ""}, "test_g": {"score": 3.0, "flag": ""}}}
    bad = {"status": "failed", "reasons": ["a.ipynb could not be re-checked:\n  NotJSONError"], "seconds": 0.1,
           "exercises": {"test_f": {"score": 0.0, "flag": ""}, "test_g": {"score": 0.0, "flag": ""}}}
    write_csv(path, points, {"ann": ok})
    write_csv(path, points, {"bob": bad})
    rows = {r["student"]: r for r in csv.DictReader(open(path))}
    assert rows["ann"]["score"] == "5" and rows["ann"]["status"] == "ok"
    assert rows["bob"]["status"] == "failed" and rows["bob"]["reason"] == "a.ipynb could not be re-checked: / NotJSONError"


PURE = """
import json, sys, tempfile, os
import bpkit_grade.settings, bpkit_grade.results, bpkit_grade.recheck, bpkit_grade.merge
import bpkit_grade.submission, bpkit_grade.pool
from bpkit_grade.autograde import main, load_exercises, encode, decode, compare, write_csv
assert decode(json.loads(json.dumps(encode([1.5])))) == [1.5]
write_csv(os.path.join(tempfile.mkdtemp(), "a.csv"), {"t": 1.0},
          {"ann": {"status": "ok", "reasons": [], "exercises": {"t": {"score": 1.0, "flag": ""}}}})
load_exercises("", "01-computational-graphs")
print("jupyter_client" in sys.modules)
import bpkit_grade.kernel
print("jupyter_client" in sys.modules)
"""


def test_the_pure_parts_import_without_jupyter_client():
    done = subprocess.run([sys.executable, "-c", PURE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the second line shows the probe sees jupyter_client once something does import it
    assert done.stdout.split() == ["False", "True"], "importing the pure parts imported jupyter_client"
