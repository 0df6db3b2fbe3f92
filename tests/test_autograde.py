"""The instructor pipeline end to end, with real nbgrader commands and ``bpkit-grade``.

A synthetic class (bpkit_grade.synthetic) is made from each assignment's real notebooks and
graded in a temporary course folder. Two explicit tiers, neither of which filters anything:

* the whole class -- every kind of submission the generator makes (correct, blank, crashing,
  hanging, os._exit, invalid JSON, tampering, ...): the toy assignment (tests/fixtures/course,
  registry tests/fixtures/toy_exercises.py, plus its typical mistakes) and the real assignments
  of CLASS_ASSIGNMENTS; with ``BPKIT_FULL_CLASS=1`` every real assignment. A kind that is not
  graded, has no expected scores or no row fails.
* a smoke class (SMOKE_KINDS) for every other real assignment, so that each real notebook and
  its registry still go through the whole pipeline; every test that runs on it checks each of
  its kinds.

Every kind costs a few seconds per real assignment (the hanging ones about 20 s of a worker), so
the whole class on all five would add about 5 minutes to CI.
"""
from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys

import pytest

from bpkit_grade import synthetic as sc
from bpkit_grade.autograde import load_exercises
from bpkit_grade.exercises import MODULES

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
TOY_REGISTRY = os.path.join(HERE, "fixtures", "toy_exercises.py")
TIMEOUT = "5"  # seconds per cell: the hanging kinds cost that, twice
TOY_MISTAKES = sc.registry_mistakes(TOY_REGISTRY)
#: real assignments graded with every kind in CI: scalars and tuples (01), matrices (04)
CLASS_ASSIGNMENTS = ["01-computational-graphs", "04-jacobians-and-log-softmax"]
#: the other real assignments: their re-check of every exercise, blank and two tamperings
SMOKE_KINDS = ["correct", "blank", "duplicated", "t_rebind", "t_transformer"]
FULL = os.environ.get("BPKIT_FULL_CLASS") == "1"

pytestmark = pytest.mark.slow


def real_assignments():
    """Every assignment the registry knows and every one in solutions/: one missing on either
    side fails in the fixture, it is not left out."""
    on_disk = {a for a in os.listdir(os.path.join(ROOT, "solutions"))
               if os.path.isdir(os.path.join(ROOT, "solutions", a)) and not a.startswith(".")}
    return sorted(set(MODULES) | on_disk)


def run(cmd, cwd):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"`{' '.join(cmd)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


def whole_class():
    """The assignments graded with every kind of submission."""
    return ["toy"] + (real_assignments() if FULL else CLASS_ASSIGNMENTS)


@pytest.fixture(scope="module", params=["toy"] + real_assignments())
def graded(request, tmp_path_factory):
    asg = request.param
    course = str(tmp_path_factory.mktemp(asg))
    if asg == "toy":
        shutil.copytree(os.path.join(HERE, "fixtures", "course", "solutions"), os.path.join(course, "solutions"))
        registry, kinds, mistakes = ["--exercises", TOY_REGISTRY], sc.KINDS + list(TOY_MISTAKES), TOY_MISTAKES
        exercises = load_exercises(TOY_REGISTRY, asg)
    else:
        notebook = os.path.join(ROOT, "solutions", asg, f"{asg}.ipynb")
        assert os.path.isfile(notebook), f"the registry has {asg} (bpkit_grade.exercises) but {notebook} is missing"
        assert asg in MODULES, f"solutions/{asg} has no exercise registry in bpkit_grade.exercises.MODULES"
        shutil.copytree(os.path.join(ROOT, "solutions", asg), os.path.join(course, "solutions", asg))
        registry, mistakes = [], None
        kinds = list(sc.KINDS) if asg in whole_class() else list(SMOKE_KINDS)
        exercises = load_exercises("", asg)
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    run(["nbgrader", "generate_assignment", asg], course)
    sc.make_class(course, asg, exercises, kinds, mistakes)
    # sandbox uids of our own, so that test runs side by side (other checkouts) never meet
    uid_base = str(100000 + (os.getpid() % 10000) * 8)
    grade = ["bpkit-grade", asg, "-j", "2", "-t", TIMEOUT, "--seed", "1", "--uid-base", uid_base] + registry
    log = run(grade, course)
    if "t_gradebook" in kinds:  # again, now that everyone else's grades are in the gradebook
        log += run(grade + ["--student", "t_gradebook"], course)
    run(["nbgrader", "generate_feedback", asg], course)
    run(["nbgrader", "export"], course)
    with open(os.path.join(course, "grades", f"{asg}.csv"), newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    want = {k: sc.expected(k, exercises, mistakes) for k in kinds}
    return dict(course=course, asg=asg, exercises=exercises, kinds=kinds, rows=rows, want=want, log=log)


def _gradebook_scores(course, asg):
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook("sqlite:///" + os.path.join(course, "gradebook.db"), "bpkit") as gb:
        for sub in gb.assignment_submissions(asg):
            out[sub.student.id] = ({g.name: g.score for nb in sub.notebooks for g in nb.grades},
                                   any(nb.flagged for nb in sub.notebooks))
    return out


def test_the_whole_class_is_graded_on_real_assignments():
    """CLASS_ASSIGNMENTS name real assignments that exist: the whole class never runs on none."""
    assert CLASS_ASSIGNMENTS and set(CLASS_ASSIGNMENTS) <= set(real_assignments()) - {"toy"}, \
        f"CLASS_ASSIGNMENTS {CLASS_ASSIGNMENTS} are not all among {real_assignments()}"
    assert set(SMOKE_KINDS) < set(sc.KINDS)


@pytest.mark.parametrize("graded", whole_class(), indirect=True)
def test_every_kind_of_submission_is_graded(graded):
    """The class is complete: every kind the generator makes (and, for the toy assignment, its
    registry's mistakes), each with what it must score and a row in grades/<a>.csv."""
    need = set(sc.KINDS) | (set(TOY_MISTAKES) if graded["asg"] == "toy" else set())
    assert need >= {"correct", "blank", "crash", "hang", "hang_nosigint", "os_exit", "invalid_json",
                    "duplicated", *sc.TAMPERING, *sc.PREVENTED}, sorted(need)
    assert set(graded["kinds"]) == need, f"{graded['asg']}: not graded: {sorted(need - set(graded['kinds']))}"
    assert set(graded["want"]) == need, f"{graded['asg']}: no expected scores for {sorted(need - set(graded['want']))}"
    assert set(graded["rows"]) == need, f"{graded['asg']}: no row for {sorted(need - set(graded['rows']))}"
    if graded["asg"] == "toy":
        assert TOY_MISTAKES, f"{TOY_REGISTRY} declares no SYNTHETIC_MISTAKES"


def test_every_submission_scores_exactly_as_expected(graded):
    scores = _gradebook_scores(graded["course"], graded["asg"])
    assert set(scores) == set(graded["kinds"]), f"gradebook submissions: {sorted(scores)}"
    wrong = []
    for kind, (want, _) in graded["want"].items():
        assert want, f"{kind}: no exercise to score"
        got = scores[kind][0]
        for gid, points in want.items():
            if got.get(gid) != points:
                wrong.append(f"{kind}: {gid} scored {got.get(gid)} in the gradebook, expected {points} "
                             f"(reason: {graded['rows'].get(kind, {}).get('reason')})")
    assert not wrong, "\n".join(wrong) + "\n--- bpkit-grade output:\n" + graded["log"]


def test_tampering_is_flagged_and_only_tampering(graded):
    scores = _gradebook_scores(graded["course"], graded["asg"])
    wrong = []
    for kind, (_, status) in graded["want"].items():
        assert kind in graded["rows"], f"{kind}: no row in grades/{graded['asg']}.csv"
        row = graded["rows"][kind]
        if row["status"] != status:
            wrong.append(f"{kind}: status {row['status']!r}, expected {status!r} (reason: {row['reason']})")
        flag = "tampering" if kind in sc.TAMPERING else "access"
        if status == "flagged" and flag not in row["flags"]:
            wrong.append(f"{kind}: no {flag!r} flag (flags: {row['flags']!r}, reason: {row['reason']})")
        if status == "ok" and row["flags"]:
            wrong.append(f"{kind}: flagged {row['flags']!r} but should not be (reason: {row['reason']})")
        if scores[kind][1] != (status != "ok"):
            wrong.append(f"{kind}: gradebook 'flagged' is {scores[kind][1]}, expected {status != 'ok'}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("graded", whole_class(), indirect=True)
def test_failures_are_reported_by_name_with_a_reason(graded):
    rows, log = graded["rows"], graded["log"]
    for kind, reason in [("invalid_json", "not a valid notebook|could not be re-checked|JSON"),
                         ("hang", "did not return"), ("hang_nosigint", "did not return"),
                         ("os_exit", "killed the kernel"), ("crash", "raised RuntimeError"),
                         ("duplicated", "nbgrader autograde failed")]:
        assert kind in rows, f"{graded['asg']}: no row for {kind} in grades/{graded['asg']}.csv"
        assert re.search(reason, rows[kind]["reason"]), f"{kind}: reason {rows[kind]['reason']!r} should match {reason!r}"
    assert re.search(r"\binvalid_json\b.*failed", log), f"the progress output does not report invalid_json as failed:\n{log}"


def test_every_submission_has_a_row_in_both_exports(graded):
    kinds = set(graded["kinds"])
    assert set(graded["rows"]) == kinds, f"grades/{graded['asg']}.csv rows: {sorted(graded['rows'])}"
    with open(os.path.join(graded["course"], "grades.csv"), newline="") as f:
        exported = {row["student_id"] for row in csv.DictReader(f) if row["assignment"] == graded["asg"]}
    assert exported == kinds, f"nbgrader export is missing {sorted(kinds - exported)}"


def _text(path):
    with open(path) as f:
        return html.unescape(re.sub(r"<[^>]+>", "", f.read()))


def test_feedback_shows_messages_but_never_hidden_tests(graded):
    import nbformat
    course, asg = graded["course"], graded["asg"]
    source = nbformat.read(os.path.join(course, "solutions", asg, f"{asg}.ipynb"), 4)
    hidden = []
    for cell in source.cells:
        m = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        hidden += [ln.strip() for ln in (m.group(1).splitlines() if m else []) if len(ln.strip()) > 8]
    assert hidden, f"{asg} has no hidden tests to check"
    pages = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(course, "feedback")) for f in fs if f.endswith(".html")]
    assert pages, "generate_feedback wrote nothing"
    for page in pages:
        text = _text(page)
        leaked = [ln for ln in hidden if ln in text]
        assert not leaked, f"{page} quotes hidden test lines: {leaked}"
    if asg == "toy":
        text = _text(os.path.join(course, "feedback", "mistake_relu", asg, f"{asg}.html"))
        assert "relu_grad([-1, 2]) should be [0, 1]" in text or "relu_grad is wrong on random inputs" in text, \
            "the feedback of a wrong answer lacks the test's diagnostic message"


def test_the_dry_run_command_writes_every_kind_and_never_overwrites(tmp_path, capsys):
    """`python -m bpkit_grade.synthetic A` (an instructor's dry run): one submission per kind,
    each listed with what it must score; a second run into the same course is refused."""
    asg = CLASS_ASSIGNMENTS[0]
    for folder in ("solutions", "notebooks"):
        shutil.copytree(os.path.join(ROOT, folder, asg), tmp_path / folder / asg)
    assert sc.main([asg, "--course", str(tmp_path)]) == 0
    written = sorted(p.name for p in (tmp_path / "submitted").iterdir())
    assert written == sorted(sc.KINDS)
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == sc.KINDS
    with pytest.raises(SystemExit):
        sc.main([asg, "--course", str(tmp_path), "--kinds", "correct"])
    assert "already exists" in capsys.readouterr().err


# ----- partial credit: an exercise with several results scores each result's share -------------
CREDIT_ASG = "03-backpropagation"
#: backward_max_square returns (dx, dy, dz), 2 points: kind -> (code appended, results right)
CREDIT_KINDS = {
    "one_of_three": ("_right_bms = backward_max_square\n"
                     "def backward_max_square(x, y, z):\n"
                     "    dx, dy, dz = _right_bms(x, y, z)\n"
                     "    return dx, dy + 1.0, dz + 1.0\n", ["dx"]),
    "none_of_three": ("_right_bms = backward_max_square\n"
                      "def backward_max_square(x, y, z):\n"
                      "    dx, dy, dz = _right_bms(x, y, z)\n"
                      "    return dx + 1.0, dy + 1.0, dz + 1.0\n", []),
    "all_three": ("", ["dx", "dy", "dz"]),
}


@pytest.fixture(scope="module")
def credit_class(tmp_path_factory):
    course = str(tmp_path_factory.mktemp("credit"))
    shutil.copytree(os.path.join(ROOT, "solutions", CREDIT_ASG), os.path.join(course, "solutions", CREDIT_ASG))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    run(["nbgrader", "generate_assignment", CREDIT_ASG], course)
    exercises = load_exercises("", CREDIT_ASG)
    sc.make_class(course, CREDIT_ASG, exercises, list(CREDIT_KINDS),
                  {k: ("backward_max_square", code) for k, (code, _) in CREDIT_KINDS.items()})
    uid_base = str(100000 + (os.getpid() % 10000) * 8 + 4)
    log = run(["bpkit-grade", CREDIT_ASG, "-j", "2", "-t", TIMEOUT, "--seed", "1", "--uid-base", uid_base], course)
    run(["nbgrader", "generate_feedback", CREDIT_ASG], course)
    with open(os.path.join(course, "grades", f"{CREDIT_ASG}.csv"), newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return dict(course=course, rows=rows, log=log, exercises=exercises)


@pytest.mark.parametrize("kind", list(CREDIT_KINDS))
def test_each_result_scores_its_share_and_the_feedback_says_which(credit_class, kind):
    """backward_max_square with one of its three results right gets a third of its 2 points in
    grades/<a>.csv and the gradebook, with the same sentence naming the right result in the
    CSV's reason, the autograded notebook's check cell and nbgrader's feedback page; none
    right gets 0, all right full marks; no flag either way (the in-kernel score agrees)."""
    import nbformat
    right = CREDIT_KINDS[kind][1]
    row, course = credit_class["rows"][kind], credit_class["course"]
    want = 2.0 * len(right) / 3
    assert abs(float(row["test_backward_max_square"]) - want) < 1e-5, row
    assert abs(float(row["score"]) - (sum(e.points for e in credit_class["exercises"]) - 2.0 + want)) < 1e-5, row
    assert (row["status"], row["flags"]) == ("ok", ""), row
    got = _gradebook_scores(course, CREDIT_ASG)[kind][0]["test_backward_max_square"]
    assert abs(got - want) < 1e-9, got
    if len(right) == 3:
        assert "backward_max_square" not in row["reason"], row["reason"]
        return
    if not right:
        assert "test_backward_max_square: backward_max_square(...) is wrong" in row["reason"], row["reason"]
        return
    sentence = "backward_max_square: dx is right; dy, dz are wrong: 1 of 3 results, 0.667 of 2 points"
    assert sentence in row["reason"], row["reason"]
    nb = nbformat.read(os.path.join(course, "autograded", kind, CREDIT_ASG, f"{CREDIT_ASG}.ipynb"), 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_backward_max_square")
    shown = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert sentence in shown, cell.outputs
    page = _text(os.path.join(course, "feedback", kind, CREDIT_ASG, f"{CREDIT_ASG}.html"))
    assert sentence in page and "dy:" in page.split(sentence, 1)[1][:300], page[:2000]


def test_without_root_the_class_is_graded_unsandboxed_and_the_instructor_is_told(tmp_path):
    """Not root, bpkit-grade runs student code as the instructor, without a private view (docs/
    instructor.md says so, and so does its warning) -- and it grades. Until the preflight knew
    this it stopped at 'gradebook visible' and graded nothing. Run as root here, with
    ``os.geteuid`` answering 1000 in bpkit-grade's process (and its forked workers): the code
    paths without a sandbox uid are the ones a user account takes."""
    course, asg = str(tmp_path), "toy"
    shutil.copytree(os.path.join(HERE, "fixtures", "course", "solutions"), os.path.join(course, "solutions"))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    run(["nbgrader", "generate_assignment", asg], course)
    exercises = load_exercises(TOY_REGISTRY, asg)
    kinds = ["correct", "blank", *list(TOY_MISTAKES)[:1]]
    sc.make_class(course, asg, exercises, kinds, TOY_MISTAKES)
    as_a_user = ("import os, sys; os.geteuid = lambda: 1000; from bpkit_grade.autograde import main; "
                 "sys.exit(main(sys.argv[1:]))")
    log = run([sys.executable, "-c", as_a_user, asg, "-j", "1", "-t", TIMEOUT, "--seed", "1",
               "--exercises", TOY_REGISTRY], course)
    assert "warning: not root, so student code runs as you" in log, log
    with open(os.path.join(course, "grades", f"{asg}.csv"), newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(kinds), log
    for kind in kinds:
        want, status = sc.expected(kind, exercises, TOY_MISTAKES)
        got = {gid: float(rows[kind][gid]) for gid in want}
        assert (got, rows[kind]["status"]) == (want, status), (kind, rows[kind], log[-3000:])
