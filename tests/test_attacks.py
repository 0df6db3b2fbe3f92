"""Attacks on ``bpkit-grade`` by a student who knows its code (issue 10), end to end: the toy
assignment (tests/fixtures/course) graded with ``-j 2``, one submission per attack, next to an
honest one; and notebook 3 answered with the engine instead of written (``engine_users``). The
finer variations of each attack are unit tests in test_autograde_units.py and test_engine_use.py.
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
    cases = _json.loads(_ast.literal_eval(cell.split("__bpkit_json.loads(")[1].split(")), ")[0]))
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

# finding 1: a classmate's submission, found through the kernels' command lines (their -f
# connection files sit in the classmate's throwaway course folder), copied cell by cell
COPY = r'''
import glob as _glob, json as _json, os as _os, re as _re, time as _time
def _classmate_cells(me="copier", seconds=10):
    t0 = _time.time()
    while _time.time() - t0 < seconds:
        for pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            for box in set(_re.findall(r"(/[^\0]*?/s-[^/\0]+)/", cmd)):
                for nb in _glob.glob(box + "/submitted/*/toy/toy.ipynb"):
                    if f"/{me}/" in nb:
                        continue
                    try:
                        cells = _json.load(open(nb))["cells"]
                    except (OSError, ValueError):
                        continue
                    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
                            and "def " in "".join(c["source"]) and "/proc" not in "".join(c["source"])]
        _time.sleep(0.1)
    return []
_copied = _classmate_cells()
print("copied", len(_copied), "cells")
for _src in _copied:
    exec(_src, globals())
'''
# finding 2: a classmate's kernel, reached with jupyter_client through its connection file
SABOTAGE = r'''
import json as _json, os as _os, time as _time
def _sabotage(seconds=10):
    from ipykernel.connect import get_connection_file
    from jupyter_client import BlockingKernelClient
    done, t0 = {get_connection_file()}, _time.time()  # not my own kernel
    while _time.time() - t0 < seconds:
        for pid in [p for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()]:
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
            except OSError:
                continue
            for flag, conn in zip(cmd, cmd[1:]):
                if flag != "-f" or conn in done:
                    continue
                try:
                    info = _json.load(open(conn))
                except (OSError, ValueError):
                    continue
                kc = BlockingKernelClient()
                kc.load_connection_info(info)
                kc.start_channels()
                kc.execute("def relu_grad(x):\n    return 0 * np.asarray(x, dtype=float)\n"
                           "def sin_square_grad(x):\n    return 0 * np.asarray(x, dtype=float)\n")
                done.add(conn)
        _time.sleep(0.1)
    print("sabotaged", len(done) - 1, "kernels")
_sabotage()
'''
# finding 3: the audit hook silenced (its descriptor onto /dev/null, its code replaced), then the
# solutions looked for
BLIND = r'''
import gc as _gc, glob as _glob, json as _json, os as _os
_silenced = []
for _fd in range(3, 1024):
    try:
        if _os.readlink(f"/proc/self/fd/{_fd}").endswith("audit.log"):
            _os.dup2(_os.open("/dev/null", _os.O_WRONLY), _fd)
            _silenced.append("descriptor")
    except OSError:
        pass
try:  # the re-check refuses the collector's lists (and says so): the descriptor is enough there
    for _f in _gc.get_objects():
        if getattr(_f, "__name__", "") == "_hook" and "_FD" in getattr(_f, "__globals__", {}):
            _f.__code__ = (lambda event, args: None).__code__
            _silenced.append("hook")
except Exception:
    pass
print("silenced", _silenced)
_found = [p for pattern in ("COURSE/solutions/toy/toy.ipynb", "COURSE/gradebook.db", "COURSE/submitted/*/toy/toy.ipynb",
                            "/tmp/bpkit-grade-*/s-*/submitted/*/toy/toy.ipynb")
          for p in _glob.glob(pattern) if "/blind/" not in p]
print("found", _found)
for _p in _found:
    try:
        for _c in _json.load(open(_p))["cells"]:
            if _c["cell_type"] == "code" and "def " in "".join(_c["source"]) and "_found" not in "".join(_c["source"]):
                exec("".join(_c["source"]), globals())
    except (OSError, ValueError):
        pass
'''
# finding 9 (temporary space): /tmp, /var/tmp and /dev/shm filled, and left behind
FILL = r'''
_full = []
for _d in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(_d + "/NAME", "wb") as _f:
            for _ in range(512):
                _f.write(b"x" * (1 << 20))
    except OSError as e:
        _full.append(f"{_d}: {e.strerror}")
print("full:", _full)
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
    blank = nbformat.read(os.path.join(course, "notebooks", "toy", "toy.ipynb"), 4)
    uid_base = str(100000 + (os.getpid() % 10000) * 8 + 4)
    subs, fill = {}, f"bpkit-fill-{uid_base}"
    for kind, (function, code) in {"correct": (None, ""), "forged_line": ("sin_square_grad", FORGE),
                                   "inflated": ("sin_square_grad", INFLATE), "flood": ("relu_grad", FLOOD),
                                   "symlink_nb": (None, ""), "sparse_ts": (None, ""),
                                   ESC_ID: (None, ""), "copier": ("sin_square_grad", COPY),
                                   "saboteur": ("sin_square_grad", SABOTAGE),
                                   "blind": ("sin_square_grad", BLIND.replace("COURSE", course)),
                                   "tmpfill": ("relu_grad", FILL.replace("NAME", fill)),
                                   "correct2": (None, "")}.items():
        folder = subs[kind] = os.path.join(course, "submitted", kind, "toy")
        os.makedirs(folder)
        nb = nbformat.reads(nbformat.writes(blank if kind in ("copier", "blind") else correct), 4)  # a copy
        if function:
            _append(nb, function, code)
        nbformat.write(nb, os.path.join(folder, "toy.ipynb"))
        with open(os.path.join(folder, "timestamp.txt"), "w") as f:
            f.write("2026-11-21 12:00:00.000000 UTC")
    os.remove(os.path.join(subs["symlink_nb"], "toy.ipynb"))
    os.symlink(solution, os.path.join(subs["symlink_nb"], "toy.ipynb"))  # the instructor's solution
    os.truncate(os.path.join(subs["sparse_ts"], "timestamp.txt"), 1 << 30)  # 1 GB, sparse
    log = run(["bpkit-grade", "toy", "-j", "2", "-t", "20", "--seed", "1", "--uid-base", uid_base,
               "--exercises", REGISTRY], course)
    feedback = run(["nbgrader", "generate_feedback", "toy"], course, check=False)
    with open(os.path.join(course, "grades", "toy.csv"), newline="", errors="surrogateescape") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return dict(course=course, log=log, rows=rows, feedback=feedback, fill=fill, uid_base=int(uid_base))


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


def _output(attacked, kind) -> str:
    with open(os.path.join(attacked["course"], "autograded", kind, "toy", "toy.ipynb")) as f:
        return f.read()


def test_a_classmate_graded_at_the_same_time_cannot_be_copied(attacked):
    row, why = _row(attacked, "copier")  # before (a shared /proc, readable boxes): 5/5 for nothing
    assert row["score"] == "0", why
    assert "copied 0 cells" in _output(attacked, "copier"), why


def test_a_classmate_graded_at_the_same_time_cannot_be_sabotaged(attacked):
    # before: the classmate's kernel reached on its loopback ports, honest submissions scored 0
    assert "sabotaged 0 kernels" in _output(attacked, "saboteur"), _row(attacked, "saboteur")[1]
    for kind in ("correct", "correct2", "flood", "tmpfill", "saboteur"):
        row, why = _row(attacked, kind)
        assert (row["score"], row["flags"]) == ("5", ""), why


def test_a_silenced_audit_hook_still_gets_the_attempt_reported_and_finds_nothing(attacked):
    # before: the descriptor on /dev/null, no report (and nothing found: the paths were not there)
    row, why = _row(attacked, "blind")
    out = _output(attacked, "blind")
    assert "silenced ['descriptor', 'hook']" in out, out  # nothing of the process reports any more
    solution = os.path.join(attacked["course"], "solutions", "toy", "toy.ipynb")
    assert f"found ['{solution}', " in out, out  # its empty stand-in
    assert row["score"] == "0" and row["status"] == "flagged" and "access" in row["flags"], why
    # the classmates' folder and the run's work folder listed, the solution and the gradebook
    # opened: four, told from outside
    submitted = os.path.join(attacked["course"], "submitted")
    assert f"tried to open 4 hidden path(s), e.g. {submitted};" in row["reason"], why


def test_temporary_space_is_bounded_private_and_gone_afterwards(attacked):
    row, why = _row(attacked, "tmpfill")  # before: 256 MB per folder and kernel, left behind
    assert (row["score"], row["status"]) == ("5", "ok"), why
    out = _output(attacked, "tmpfill")
    uids = range(attacked["uid_base"], attacked["uid_base"] + 4)
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert f"{d}: No space left on device" in out, why
        assert not os.path.exists(os.path.join(d, attacked["fill"])), f"{d}/{attacked['fill']} is left over"
        owned = [e.path for e in os.scandir(d) if e.stat(follow_symlinks=False).st_uid in uids]
        assert not owned, f"left over by a sandbox uid: {owned}"


# ------------------------------------------- using the engine instead of writing it (finding 6)
ENGINE_ASSIGNMENT = "03-backpropagation"
_BY_ENGINE = '''    W, X = [bp.var(float(v)) for v in w], [bp.var(float(v)) for v in x]
    out = bp.sigmoid(W[0] * X[0] + W[1] * X[1] + W[2])
    {backward}
    return np.array([v.grad for v in W]), np.array([v.grad for v in X])
'''
#: kind -> the cell that answers notebook 3's backward_neuron(w, x), each a way to the engine's
#: backward pass (or, for forward_only, the engine's forward pass only: allowed)
ENGINE_USES = {
    "engine_method": "def backward_neuron(w, x):\n" + _BY_ENGINE.format(backward="out.backward()"),
    "engine_alias": "from bpkit.backprop import backward as _bw\ndef backward_neuron(w, x):\n"
                    + _BY_ENGINE.format(backward="_bw(out)"),
    "engine_numeric": '''from bpkit.jacobian import numeric_grad as _ng
def backward_neuron(w, x):
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    f = lambda w_, x_: 1 / (1 + np.exp(-(w_[0] * x_[0] + w_[1] * x_[1] + w_[2])))
    return _ng(lambda v: f(v, x), w), _ng(lambda v: f(w, v), x)
''',
    "engine_code_copy": '''import types as _types, bpkit.backprop as _bk
_g = dict(vars(_bk))
for _n, _f in vars(_bk).items():  # the engine's code, in functions of our own
    if isinstance(_f, _types.FunctionType):
        _g[_n] = _types.FunctionType(_f.__code__, _g, _n, _f.__defaults__, _f.__closure__)
        _g[_n].__kwdefaults__ = _f.__kwdefaults__
def backward_neuron(w, x):
''' + _BY_ENGINE.format(backward='_g["backward"](out)'),
    "engine_source_copy": '''import bpkit.backprop as _bk
_g = {"__name__": "bpkit.copy", "__package__": "bpkit"}
exec(open(_bk.__file__).read(), _g)  # the engine's source, run again
def backward_neuron(w, x):
''' + _BY_ENGINE.format(backward='_g["backward"](out)'),
    "engine_subprocess": '''import json as _json, subprocess as _sp, sys as _sys
_CODE = """import json, sys, numpy as np, bpkit as bp
w, x = json.loads(sys.argv[1])
""" + """def f(w, x):
""" + """BODY""" + """dw, dx = f(w, x)
print(json.dumps([dw.tolist(), dx.tolist()]))"""
def backward_neuron(w, x):
    done = _sp.run([_sys.executable, "-c", _CODE, _json.dumps([list(map(float, w)), list(map(float, x))])],
                   capture_output=True, text=True, check=True)
    dw, dx = _json.loads(done.stdout)
    return np.array(dw), np.array(dx)
'''.replace("BODY", _BY_ENGINE.format(backward="out.backward()").replace("\n", "\\n")),
    "engine_thread": '''import os as _os, threading as _th, pickle as _pk
_r1, _w1 = _os.pipe()
_r2, _w2 = _os.pipe()
def _helper():  # computes with the engine, in this process, for whoever writes to the pipe
    while True:
        w, x = _pk.loads(_os.read(_r1, 1 << 16))
        try:
            answer = _by_engine(w, x)
        except AssertionError as e:
            answer = e
        _os.write(_w2, _pk.dumps(answer))
def _by_engine(w, x):
''' + _BY_ENGINE.format(backward="out.backward()") + '''_th.Thread(target=_helper, daemon=True).start()
def backward_neuron(w, x):
    _os.write(_w1, _pk.dumps((w, x)))
    answer = _pk.loads(_os.read(_r2, 1 << 16))
    if isinstance(answer, Exception):
        raise answer
    return answer
''',
    "forward_only": '''def backward_neuron(w, x):
    out = bp.sigmoid(bp.constant(float(np.dot(w[:2], x)) + w[2])).value  # the engine's forward pass
    slope = out * (1.0 - out)
    return slope * np.array([x[0], x[1], 1.0]), slope * np.array(w[:2], dtype=float)
''',
}


@pytest.fixture(scope="module")
def engine_users(tmp_path_factory):
    """Notebook 3 graded with -j 2: each ENGINE_USES answer in an otherwise correct notebook."""
    asg = ENGINE_ASSIGNMENT
    course = str(tmp_path_factory.mktemp("engine"))
    shutil.copytree(os.path.join(ROOT, "solutions", asg), os.path.join(course, "solutions", asg))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    run(["nbgrader", "generate_assignment", asg], course)
    correct = sc.correct_notebook(nbformat.read(os.path.join(course, "solutions", asg, f"{asg}.ipynb"), 4),
                                  nbformat.read(os.path.join(course, "notebooks", asg, f"{asg}.ipynb"), 4))
    for kind, answer in {"correct": None, **ENGINE_USES}.items():
        folder = os.path.join(course, "submitted", kind, asg)
        os.makedirs(folder)
        nb = nbformat.reads(nbformat.writes(correct), 4)
        if answer:
            next(c for c in nb.cells if c.cell_type == "code" and "def backward_neuron(" in c.source).source = answer
        nbformat.write(nb, os.path.join(folder, f"{asg}.ipynb"))
        with open(os.path.join(folder, "timestamp.txt"), "w") as f:
            f.write("2026-11-21 12:00:00.000000 UTC")
    uid_base = str(100000 + (os.getpid() % 10000) * 8 + 6)
    log = run(["bpkit-grade", asg, "-j", "2", "-t", "30", "--seed", "1", "--uid-base", uid_base], course)
    run(["nbgrader", "generate_feedback", asg], course)
    with open(os.path.join(course, "grades", f"{asg}.csv"), newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return dict(course=course, log=log, rows=rows, asg=asg)


def _neuron_score(row):
    """(backward_neuron's score, its points), from the exported row."""
    from bpkit_grade.exercises import for_assignment
    points = {ex.grade_id: ex.points for ex in for_assignment(ENGINE_ASSIGNMENT)}
    return float(row["test_backward_neuron"]), points["test_backward_neuron"]


@pytest.mark.parametrize("kind, named", [("engine_method", "bpkit.graph.Var.backward"),
                                         ("engine_alias", "bpkit.backprop.backward"),
                                         ("engine_numeric", "bpkit.jacobian.numeric_grad")])
def test_calling_the_engine_function_an_exercise_asks_for_scores_0_and_says_which(engine_users, kind, named):
    """Before: full marks, in the kernel and in the re-check."""
    row, why = _row(engine_users, kind)
    neuron, _ = _neuron_score(row)
    assert neuron == 0 and row["status"] == "ok" and not row["flags"], why  # both checks agree: no flag
    assert f"`{named}` computes what this exercise asks you to write" in row["reason"], why
    feedback = open(os.path.join(engine_users["course"], "feedback", kind, engine_users["asg"],
                                 f"{engine_users['asg']}.html")).read()
    assert "computes what this exercise asks you to write" in feedback, f"{kind}: the student is not told why"


@pytest.mark.parametrize("kind, said", [("engine_code_copy", "tried to read the code of the engine's"),
                                       ("engine_source_copy", "tried to open"),
                                       ("engine_subprocess", "tried to start a process"),
                                       ("engine_thread", "thread(s) started by the notebook are still running")])
def test_getting_the_engines_code_another_way_scores_0_and_is_flagged(engine_users, kind, said):
    """The kernel's own check is fooled (it runs in the student's process); the re-check's
    process refuses the copy (bpkit_grade.guard) and says what it refused. A notebook that leaves
    a thread running (here: one that computes with the engine for whoever asks through a pipe) is
    not re-checked at all."""
    row, why = _row(engine_users, kind)
    neuron, _ = _neuron_score(row)
    assert neuron == 0 and row["status"] == "flagged" and said in row["reason"], why
    if kind == "engine_thread":
        assert row["score"] == "0", why


@pytest.mark.parametrize("kind", ["correct", "forward_only"])
def test_the_engine_where_the_exercise_does_not_ask_for_it_stays_allowed(engine_users, kind):
    row, why = _row(engine_users, kind)
    neuron, points = _neuron_score(row)
    assert neuron == points and row["status"] == "ok" and not row["flags"], why
