"""Attacks on ``bpkit-grade`` by a student who knows its code (issue 10), end to end: the toy
assignment (tests/fixtures/course) graded with ``-j 2``, one submission per attack, next to an
honest one. The finer variations of each attack are unit tests in test_autograde_units.py.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

import bpkit_grade.synthetic as sc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
REGISTRY = os.path.join(HERE, "fixtures", "toy_exercises.py")
ESC_ID = "esc\x1b]0;owned\x07\x1b[2J"

pytestmark = pytest.mark.slow

# a wrong sin_square_grad, and a hook that prints the right answer after the re-check's call,
# with the call's own one-time token: the last result line used to win
FORGE = '''
def sin_square_grad(x):
    return np.zeros_like(np.asarray(x, dtype=float))
import ast as _ast, json as _json
def _forge(result):
    cell = result.info.raw_cell
    if "__bpkit_one(sin_square_grad, " not in cell:
        return
    nonce = cell.split("print(")[1][1:17]
    cases = _json.loads(_ast.literal_eval(cell.split("__bpkit_json.loads(")[1].split("))]))")[0]))
    xs = [np.array(args[0]["__ndarray__"]) for args in cases]
    print(nonce + _json.dumps([{"__ndarray__": (2 * x * np.cos(x ** 2)).tolist(), "dtype": "float64"}
                               for x in xs]))
get_ipython().events.register("post_run_cell", _forge)
'''
# 44 bytes that made the grader allocate 190 MB per call
INFLATE = '''
import bpkit.checks as _c
_c.to_plain = lambda v: {"__ndarray__": 0, "dtype": "(5000,5000)f8"}
'''
FLOOD = '''
for _ in range(2000):  # 200 MB
    print("x" * 99_999)
'''


def run(cmd, cwd, check=True):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, errors="surrogateescape")
    assert not check or done.returncode == 0, f"`{' '.join(cmd)}` failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


def _append(nb, function, code):
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {function}(" in c.source)
    cell.source = cell.source.rstrip() + "\n" + code


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    course = str(tmp_path_factory.mktemp("attacks"))
    shutil.copytree(os.path.join(HERE, "fixtures", "course", "solutions"), os.path.join(course, "solutions"))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    run(["nbgrader", "generate_assignment", "toy"], course)
    solution = os.path.join(course, "solutions", "toy", "toy.ipynb")
    correct = sc.correct_notebook(nbformat.read(solution, 4),
                                  nbformat.read(os.path.join(course, "notebooks", "toy", "toy.ipynb"), 4))
    subs = {}
    for kind, (function, code) in {"correct": (None, ""), "forged_line": ("sin_square_grad", FORGE),
                                   "inflated": ("sin_square_grad", INFLATE), "flood": ("relu_grad", FLOOD),
                                   "symlink_nb": (None, ""), "sparse_ts": (None, ""),
                                   ESC_ID: (None, "")}.items():
        folder = subs[kind] = os.path.join(course, "submitted", kind, "toy")
        os.makedirs(folder)
        nb = nbformat.reads(nbformat.writes(correct), 4)  # a copy
        if function:
            _append(nb, function, code)
        nbformat.write(nb, os.path.join(folder, "toy.ipynb"))
        with open(os.path.join(folder, "timestamp.txt"), "w") as f:
            f.write("2026-11-21 12:00:00.000000 UTC")
    os.remove(os.path.join(subs["symlink_nb"], "toy.ipynb"))
    os.symlink(solution, os.path.join(subs["symlink_nb"], "toy.ipynb"))  # the instructor's solution
    os.truncate(os.path.join(subs["sparse_ts"], "timestamp.txt"), 1 << 30)  # 1 GB, sparse
    uid_base = str(100000 + (os.getpid() % 10000) * 8 + 4)
    log = run(["bpkit-grade", "toy", "-j", "2", "-t", "20", "--seed", "1", "--uid-base", uid_base,
               "--exercises", REGISTRY], course)
    feedback = run(["nbgrader", "generate_feedback", "toy"], course, check=False)
    with open(os.path.join(course, "grades", "toy.csv"), newline="", errors="surrogateescape") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return dict(course=course, log=log, rows=rows, feedback=feedback)


def _row(attacked, kind):
    row = attacked["rows"][kind]
    return row, f"{kind}: {row}\n--- bpkit-grade:\n{attacked['log']}"


def test_the_honest_submission_scores_full_marks(attacked):
    row, why = _row(attacked, "correct")
    assert (row["score"], row["status"], row["flags"]) == ("5", "ok", ""), why


def test_a_forged_second_result_line_is_tampering(attacked):
    row, why = _row(attacked, "forged_line")  # before: 5/5, "mismatch" only (the forged line won)
    assert (row["score"], row["status"]) == ("2", "flagged"), why
    assert "sin_square_grad_test:tampering" in row["flags"] and "2 result lines" in row["reason"], why


def test_an_inflating_result_is_refused_as_tampering(attacked):
    row, why = _row(attacked, "inflated")  # before: 0/5, not flagged, 190 MB per call in the grader
    assert row["status"] == "flagged" and "dtype '(5000,5000)f8'" in row["reason"], why


def test_a_200_mb_flood_is_cut_and_the_submission_still_graded(attacked):
    row, why = _row(attacked, "flood")
    assert (row["score"], row["status"]) == ("5", "ok"), why
    path = os.path.join(attacked["course"], "autograded", "flood", "toy", "toy.ipynb")
    assert os.path.getsize(path) < 1 << 20, f"the autograded notebook is {os.path.getsize(path)} bytes"
    assert "[output cut at 100 kB by bpkit-grade]" in open(path).read()
    page = os.path.join(attacked["course"], "feedback", "flood", "toy", "toy.html")
    assert os.path.getsize(page) < 2 << 20, f"the feedback page is {os.path.getsize(page)} bytes"


@pytest.mark.parametrize("kind, reason", [("symlink_nb", "toy.ipynb is a symbolic link"),
                                          ("sparse_ts", "timestamp.txt is 1073741824 bytes")])
def test_files_that_are_not_what_they_seem_fail_the_submission(attacked, kind, reason):
    row, why = _row(attacked, kind)  # before: symlink 5/5 (the solution), sparse: 9.4 GB worker
    assert (row["score"], row["status"]) == ("0", "failed") and reason in row["reason"], why
    kept = os.path.join(attacked["course"], "autograded", kind)
    assert not os.path.exists(kept), f"{kept} was written"


def test_student_ids_reach_the_terminal_escaped(attacked):
    assert "\x1b" not in attacked["log"] and "\x07" not in attacked["log"], repr(attacked["log"])
    assert "esc\\x1b]0;owned\\x07" in attacked["log"], attacked["log"]
