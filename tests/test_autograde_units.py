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

from bpkit.asks import switched_off
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
                hide=("/course/gradebook.db",), hide_recheck=("/course/grader/bpkit_grade/exercises",),
                tripwires=())
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
    last = len(argv) - 1 - argv[::-1].index("--")  # bwrap OPTIONS -- python -m bpkit_grade.sandbox ... -- CMD
    assert argv[argv.index("--uid") + 1] == "64003" and argv[last + 1:] == ["python", "-m", "ipykernel_launcher"]
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent"):
        assert flag in argv[:last], argv


def test_the_registry_is_a_stand_in_for_the_recheck_only():
    class Wires:  # what Tripwires.binds gives: (hidden path, its stand-in), but those skipped
        def binds(self, skip=()):
            tops = ("/course/gradebook.db", "/course/grader/bpkit_grade/exercises")
            return tuple((p, "/w" + p) for p in tops if p not in skip)

    s = settings()
    recheck = dict(s.confinement(64003, "/h", recheck=True, tripwires=Wires()).tripwires)
    nbgrader = dict(s.confinement(64002, "/h", tripwires=Wires()).tripwires)
    assert recheck == {"/course/gradebook.db": "/w/course/gradebook.db",
                       "/course/grader/bpkit_grade/exercises": "/w/course/grader/bpkit_grade/exercises"}
    assert nbgrader == {"/course/gradebook.db": "/w/course/gradebook.db"}  # its hidden tests import it
    assert s.confinement(64002, "/h").tripwires == ()


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
    # assert_close's own message: one case is not enough to call it a sign flip (issue 11), so it
    # says where the answer first differs
    with pytest.raises(AssertionError, match="f: it first differs at entry 0: expected 1, got -1"):
        compare(EX, np.array([-1.0, -2.0]), np.array([1.0, 2.0]))


class InProcess:
    """A stand-in for bpkit_grade.runner.Runner that runs the code here, with exec."""

    def __init__(self):
        self.namespace, self.ran, self.closed = {}, [], False

    def run(self, code, collect=None, refuse=None):
        self.ran.append(code)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), switched_off(refuse or ()):
                exec(code, self.namespace)
        except Exception as e:
            return "error", out.getvalue(), f"{type(e).__name__}: {e}"
        finally:
            for hook in self.namespace.get("_post_run_cell", []):  # as IPython's post_run_cell
                with contextlib.redirect_stdout(out):
                    hook(code)
        if collect is not None:
            text = out.getvalue()
            for k in range(0, len(text), 4096):  # in pieces, as ipykernel streams it
                collect(text[k:k + 4096])
            return "ok", "", None
        return "ok", out.getvalue(), None

    def restart(self, replay):
        raise AssertionError("nothing here hangs or dies")

    def close(self):
        self.closed = True


class Prints(InProcess):
    """A kernel whose student code made the call print ``payload`` after the call's token."""

    def __init__(self, payload):
        super().__init__()
        self.payload = payload

    def run(self, code, collect=None, refuse=None):
        if collect is None:
            return super().run(code)
        self.ran.append(code)
        nonce = code.split("print(")[1][1:17]
        collect(nonce + self.payload[:len(self.payload) // 2])
        collect(self.payload[len(self.payload) // 2:] + "\n")
        return "ok", "", None


def _notebook(tmp_path, answer):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(answer, metadata={"nbgrader": {"solution": True, "grade_id": "f_answer"}}),
                nbformat.v4.new_code_cell("raise SystemExit('a test cell must not run')",
                                          metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f"}})]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, str(path))
    return str(path)


@pytest.mark.parametrize("answer, passed, message", [
    ("def f(x):\n    return x\n", 1.0, ""),
    ("def f(x):\n    return -x\n", 0.0, "f(...) is wrong: f: the sign is flipped"),  # two cases agree
    ("def f(x):\n    return object()\n", 0.0,
     "f(...) is wrong: f returned a value that is not numbers: TypeError: a object is not a number"),
    ("print = lambda *a, **k: None\ndef f(x):\n    return x\n", 0.0, "f(...) gave no readable result (no result line)"),
])
def test_the_recheck_runs_student_cells_only_and_judges_here(tmp_path, answer, passed, message):
    kernel = InProcess()
    r = recheck(_notebook(tmp_path, answer), [EX], seed=1, timeout=5, kernel=kernel)
    got_passed, got_message, forged = r["verdicts"]["test_f"]
    assert (got_passed, got_message[:len(message)], forged) == (passed, message, False), got_message
    assert kernel.closed and not any("SystemExit" in code for code in kernel.ran)


# A student who knows the re-check's code: the call's cell carries its one-time token, so code
# that runs around the call (an IPython hook, a wrapper of the function) can print lines with it.
_TOKEN = "import sys as _s\n_tok = lambda: _s._getframe(2).f_code.co_consts  # the call cell's constants\n"
FORGED = {
    # a hook after the call prints a second, "right" line: the last line used to win
    "second_line": ("def f(x):\n    return -x\n_post_run_cell = [lambda code: print(code.split(\"print(\")[1][1:17]"
                    " + '{\"__ndarray__\": [0.0], \"dtype\": \"float64\"}')]\n",
                    "2 result lines"),
    # the token printed early, by the function itself, then the real line
    "early": ("import inspect\ndef f(x):\n    src = [c for fr in inspect.stack() for c in fr.frame.f_code.co_consts]\n"
              "    print([c for c in src if isinstance(c, str) and len(c) == 16 and c.isalnum()][0] + '[1]')\n    return x\n",
              "result lines for one call"),
    # 60 bytes that made the grader allocate 200 MB, per call (the student rebinds
    # bpkit.checks.to_plain or json.dumps in the kernel; here: the line the kernel prints)
    "void_dtype": ('{"__ndarray__": 0, "dtype": "V200000000"}', "dtype 'V200000000'"),
    "subarray_dtype": ('{"__ndarray__": [0], "dtype": "(5000,5000)f8"}', "dtype '(5000,5000)f8'"),
    "object_dtype": ('{"__ndarray__": [0], "dtype": "O"}', "dtype 'O'"),
    "extra_keys": ('{"__ndarray__": [0], "dtype": "float64", "shape": [1000000000]}', "keys"),
    "many_values": ("def f(x):\n    return [0] * 2000\n", "values in the result"),
    "many_values_in_array": ('{"__ndarray__": [' + ",".join(["0"] * 5000) + '], "dtype": "float64"}', "values in the result"),
    "huge_line": ("def f(x):\n    return 'x' * 10**6\n", "longer than"),
    "deep": ("def f(x):\n    v = 1.0\n    for _ in range(50):\n        v = [v]\n    return v\n", "nested deeper"),
    "deep_array": ('{"__ndarray__": ' + "[" * 50 + "1" + "]" * 50 + ', "dtype": "float64"}', "nested deeper"),
    "strings_in_array": ('{"__ndarray__": ["1e9"], "dtype": "float64"}', "holds a str"),
    "ragged": ('{"__ndarray__": [[1.0], [1.0, 2.0]], "dtype": "float64"}', "does not decode"),
    "big_int": ('{"__ndarray__": [1000000000000000000000000000000], "dtype": "int64"}', "does not decode"),
    "huge_digits": ("9" * 9000, "not JSON"),
    "bracket_bomb": ("[" * 15000, "not JSON"),
    "not_json": ('{"__ndarray__": [1.0, ', "not JSON"),
    "no_newline_early": ("def f(x):\n    import inspect\n    src = [c for fr in inspect.stack() for c in fr.frame.f_code.co_consts]\n"
                         "    print([c for c in src if isinstance(c, str) and len(c) == 16 and c.isalnum()][0], end='')\n    return x\n",
                         "not JSON"),
}


@pytest.mark.parametrize("kind", list(FORGED))
def test_a_forged_or_inflated_result_is_tampering_and_allocates_nothing_big(tmp_path, kind):
    import tracemalloc
    answer, reason = FORGED[kind]
    kernel = InProcess() if answer.startswith(("def ", "import")) else Prints(answer)
    answer = answer if isinstance(kernel, InProcess) else "def f(x):\n    return x\n"
    tracemalloc.start()
    r = recheck(_notebook(tmp_path, answer), [EX], seed=1, timeout=5, kernel=kernel)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    passed, message, forged = r["verdicts"]["test_f"]
    assert (passed, forged) == (False, True) and reason in message, message
    assert peak < 30 << 20, f"the grader allocated {peak >> 20} MB for {kind}"
    v = verdict(EX, passed, message, 0.0, forged)
    assert v["flag"] == "tampering" and "suspected tampering: f(...): the result channel" in v["note"]


@pytest.mark.parametrize("answer", [
    "def f(x):\n    print('debugging', x)\n    return x\n",                   # prints of its own
    "def f(x):\n    print('.' * 10**6)\n    return x\n",                       # lots of them
    "import numpy as np\ndef f(x):\n    return np.asarray(x, dtype=np.float32)\n",
    "import numpy as np\ndef f(x):\n    return np.outer(x, x).diagonal() ** 0.5 * np.sign(x)\n",
])
def test_honest_answers_pass_the_bounded_channel(tmp_path, answer):
    r = recheck(_notebook(tmp_path, answer), [EX], seed=1, timeout=5, kernel=InProcess())
    assert r["verdicts"]["test_f"][0], r["verdicts"]


@pytest.mark.parametrize("answer, wrong", [
    ("import numpy as np\ndef f(x):\n    return np.outer(x, x)\n", "shape"),         # a mistake, 3x3
    ("def f(x):\n    return float('nan')\n", "f"),                                    # NaN is a number
    ("def f(x):\n    return {'a': 1}\n", "f"),
])
def test_honest_mistakes_are_wrong_answers_not_tampering(tmp_path, answer, wrong):
    r = recheck(_notebook(tmp_path, answer), [EX], seed=1, timeout=5, kernel=InProcess())
    passed, message, forged = r["verdicts"]["test_f"]
    assert (passed, forged) == (False, False) and "is wrong: " in message, message


def test_result_lines_keep_two_bounded_lines_whatever_streams_in():
    from bpkit_grade.recheck import ResultLines
    lines = ResultLines("TOKEN", 100)
    for _ in range(10_000):
        lines.feed("noise " * 30 + "\n")  # many small lines, dropped as they come
    lines.feed("TOK")
    lines.feed("EN[1.0")
    lines.feed(", 2.0]\nTOKEN" + "9" * 10**6)  # a piece split mid-marker, then a huge line
    lines.feed("\nTOKEN[3]\nTOKEN[4]")
    lines.done()
    assert lines.lines == ["TOKEN[1.0, 2.0]", "TOKEN[3]"] and (lines.count, lines.overlong) == (4, 1)
    assert sum(map(len, lines.lines)) + sum(map(len, lines._cur)) < 300


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


# --- only regular files (issue 10, items 4 and 9) -------------------------------------------

def _course(tmp_path):
    """A course folder with one submission of notebook "a" and the throwaway folders a worker
    needs; -> (settings, the submission's folder)."""
    root, work = tmp_path / "course", tmp_path / "work"
    sub = root / "submitted" / "ann" / "a"
    sub.mkdir(parents=True)
    (work / "release").mkdir(parents=True)
    (work / "template.db").write_bytes(b"")
    nbformat.write(nbformat.v4.new_notebook(), str(sub / "a.ipynb"))
    (sub / "timestamp.txt").write_text("2026-11-21 12:00:00.000000 UTC")
    s = settings(root=str(root), workroot=str(work), template_db=str(work / "template.db"),
                 release_files=str(work / "release"), uid_base=None)
    return s, sub


def _secret(tmp_path):
    secret = tmp_path / "root-only"
    secret.write_text("THE INSTRUCTOR'S SECRET")
    secret.chmod(0o600)
    return secret


BAD_FILES = {  # name -> (make it in the submission folder, the reason's words)
    "symlinked notebook": (lambda sub, secret: (sub / "a.ipynb").unlink() or (sub / "a.ipynb").symlink_to(secret),
                           "a.ipynb is a symbolic link"),
    "symlinked timestamp": (lambda sub, secret: (sub / "timestamp.txt").unlink() or (sub / "timestamp.txt").symlink_to(secret),
                            "timestamp.txt is a symbolic link"),
    "sparse 1 GB timestamp": (lambda sub, secret: os.truncate(sub / "timestamp.txt", 1 << 30),
                              "timestamp.txt is 1073741824 bytes"),
    "FIFO notebook": (lambda sub, secret: (sub / "a.ipynb").unlink() or os.mkfifo(sub / "a.ipynb"), "a.ipynb is a FIFO"),
    "device": (lambda sub, secret: os.mknod(sub / "zero", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 5)),
               "zero is a character device"),
    "symlink in a subfolder": (lambda sub, secret: (sub / "data").mkdir() or (sub / "data" / "x.csv").symlink_to(secret),
                               "data/x.csv is a symbolic link"),
    "25 MB notebook": (lambda sub, secret: os.truncate(sub / "a.ipynb", 25 << 20), "a.ipynb is 26214400 bytes"),
    "60 MB other file": (lambda sub, secret: open(sub / "big.bin", "wb").truncate(60 << 20), "big.bin is 62914560 bytes"),
    "5 x 45 MB": (lambda sub, secret: [open(sub / f"f{i}", "wb").truncate(45 << 20) for i in range(5)],
                  "more than 209715200 bytes"),
    "symlinked assignment folder": (lambda sub, secret: __import__("shutil").rmtree(sub) or sub.symlink_to(secret.parent),
                                    "submitted/ann/a is a symbolic link, not a folder"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_submission_that_is_not_regular_files_fails_and_nothing_is_read(tmp_path, kind):
    import resource
    from bpkit_grade.submission import grade_submission
    s, sub = _course(tmp_path)
    make, reason = BAD_FILES[kind]
    make(sub, _secret(tmp_path))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = grade_submission(s, "ann", None)
    assert r["status"] == "failed" and reason in r["reasons"][0], r["reasons"]
    assert r["exercises"]["test_f"]["score"] == 0.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 << 10, "the file was read"  # KiB
    leftovers = [os.path.join(d, f) for d, _, fs in os.walk(s.workroot) for f in fs]
    assert not [p for p in leftovers if "SECRET" in open(p, errors="replace").read()], leftovers
    assert sorted(os.listdir(s.workroot)) == ["release", "template.db"], "the box was not removed"


def test_a_file_swapped_for_a_symlink_after_the_check_is_not_followed(tmp_path):
    from bpkit_grade.submission import BadSubmission, copy_regular
    src, secret = tmp_path / "timestamp.txt", _secret(tmp_path)
    src.symlink_to(secret)
    with pytest.raises(BadSubmission, match="could not be opened as a regular file"):
        copy_regular(str(src), str(tmp_path / "copy"), 30)
    assert not (tmp_path / "copy").exists()


# --- bounded output (issue 10, item 7) ------------------------------------------------------

def _stream(text, name="stdout"):
    return {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {"msg_id": "m"},
            "content": {"name": name, "text": text}}


def test_each_cells_stored_output_is_capped_with_a_note():
    from bpkit_grade.kernel import sandboxed_execute
    ex = sandboxed_execute()()
    ex.reset_execution_trackers()  # what nbclient does before it runs a notebook, and a cell:
    ex.clear_before_next_output = False
    outs, other = [], []
    for _ in range(2000):  # 200 MB printed, as ipykernel sends it (~100 kB a message)
        ex.output(outs, _stream("x" * 99_999 + "\n"), None, 0)
    png = {"msg_type": "display_data", "header": {"msg_type": "display_data"}, "parent_header": {"msg_id": "m"},
           "content": {"data": {"image/png": "A" * 499_000}, "metadata": {}}}
    for _ in range(10):
        ex.output(outs, png, None, 0)
    ex.output(other, _stream("the next cell still shows its output\n"), None, 1)
    text = "".join(o.get("text", "") for o in outs)
    assert len(text) < 100_200 and "x\n\n[output cut at 100 kB by bpkit-grade]\n" in text
    assert sum(o.output_type == "display_data" for o in outs) == 4  # 2 MB of rich output
    assert "[output cut at 2000 kB by bpkit-grade]" in text
    assert other[0].text == "the next cell still shows its output\n"
    assert not [o for o in outs if o.get("name") == "stderr"], "a note on stderr would fail a test cell"


# --- console output escapes control characters (issue 10, item 11) --------------------------

def test_what_a_submission_says_reaches_the_terminal_escaped():
    from bpkit_grade.autograde import progress_line, summary
    r = {"student": "eve\x1b]0;owned\x07\x1b[2J", "status": "failed", "seconds": 1.0,
         "reasons": ["f(...) raised ValueError: \r\x1b[32mall good\u202e"],
         "exercises": {"test_f": {"score": 0.0}}}
    line = progress_line(1, 1, r, 2.0)
    assert not any(c in line for c in "\x1b\x07\r\u202e"), repr(line)
    assert "eve\\x1b]0;owned\\x07" in line and "\\x0d\\x1b[32mall good\\u202e" in line
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary("a", {"x": r}, "/tmp/a.csv", 1.0)
    assert "\x1b" not in out.getvalue() and "failed: eve\\x1b" in out.getvalue()


# ----- the re-check scores each of several results by its share ---------------------------------
EX3 = Exercise("test_f", 3, "f", lambda rng: (rng.normal(size=2),), lambda x: (x, 2 * x, 3 * x),
               result_names=("a", "b", "c"), partial=True, visible_inputs=((np.array([1.0, -1.0]),),))


@pytest.mark.parametrize("answer, credit, message", [
    ("def f(x):\n    return x, 2 * x, 3 * x\n", 1.0, ""),
    ("def f(x):\n    return x, 2 * x, x\n", 2 / 3,
     "f(...) is partly right: f: a, b are right; c is wrong: 2 of 3 results, 2 of 3 points\nc: "),
    # right on the random cases, wrong on the fixed one: a share is earned only on every case
    ("def f(x):\n    return x, (2 * x if x[0] != 1.0 else x), 3 * x\n", 2 / 3,
     "f(...) is partly right: f: a, c are right; b is wrong"),
    ("def f(x):\n    return -x, x, x\n", 0.0, "f(...) is wrong: "),
    ("def f(x):\n    return x, 2 * x\n", 0.0, "f(...) is wrong: expected 3 values (a, b, c), got 2"),
])
def test_the_recheck_gives_each_right_result_its_share(tmp_path, answer, credit, message):
    r = recheck(_notebook(tmp_path, answer), [EX3], seed=1, timeout=5, kernel=InProcess())
    got, text, forged = r["verdicts"]["test_f"]
    assert (abs(got - credit) < 1e-12, text[:len(message)], forged) == (True, message, False), text
    v = verdict(EX3, got, text, in_kernel=3 * credit)
    assert (abs(v["score"] - 3 * credit) < 1e-9, v["flag"], v["note"]) == (True, "", text)


def test_the_merged_score_never_exceeds_the_points_and_a_higher_in_kernel_one_is_flagged():
    assert verdict(EX3, 1.5, "", in_kernel=None)["score"] == 3.0
    assert verdict(EX3, 2 / 3, "m", in_kernel=2.0 + 1e-12)["flag"] == ""  # nbgrader's number, rounded
    high = verdict(EX3, 1 / 3, "f(...) is partly right", in_kernel=3.0)
    assert (high["score"], high["flag"]) == (1.0, "tampering") and "re-check gave 1" in high["note"]
    low = verdict(EX3, 1.0, "", in_kernel=2.0)
    assert (low["score"], low["flag"]) == (3.0, "mismatch")
    assert verdict(EX3, 1.0, "forged", in_kernel=3.0, forged=True)["score"] == 0.0


@pytest.mark.skipif(os.geteuid() != 0, reason="what root wrote is handed back only when run as root")
def test_what_grading_as_root_writes_in_the_course_belongs_to_the_courses_owner(tmp_path):
    from bpkit_grade.merge import give_back

    course = tmp_path / "course"
    (course / "autograded" / "ann" / "a" / "sub").mkdir(parents=True)
    (course / "autograded" / "ann" / "a" / "a.ipynb").write_text("{}")
    (course / "autograded" / "ann" / "a" / "sub" / "data.txt").write_text("x")
    (course / "autograded" / "bob").mkdir()
    os.chown(course, 64123, 64124)  # the instructor's folder; root made the rest, as sudo does
    give_back(str(course), os.path.join("autograded", "ann", "a"))
    owners = {str(p.relative_to(course)): (p.lstat().st_uid, p.lstat().st_gid) for p in course.rglob("*")}
    assert owners.pop("autograded/bob") == (0, 0)  # not written now: left alone
    assert owners and set(owners.values()) == {(64123, 64124)}, owners


def _preflight_settings(tmp_path, uid_base, db=None):
    """Settings whose sandbox would show the gradebook ``db`` (nothing is hidden)."""
    import bpkit
    import bpkit_grade
    from bpkit_grade.settings import _not_world_reachable

    work = tmp_path / "work"
    work.mkdir()
    if db is None:
        db = tmp_path / "gradebook.db"
        db.write_bytes(b"")
    (work / "template.db").write_bytes(b"")
    keep = tuple(os.path.dirname(m.__file__) for m in (bpkit, bpkit_grade)) + (sys.prefix, sys.base_prefix)
    roots = tuple(sorted({d for p in keep for d in _not_world_reachable(p)}))
    return settings(db_url=f"sqlite:///{db}", workroot=str(work), template_db=str(work / "template.db"),
                    uid_base=uid_base, roots=roots, keep=keep, hide=(), hide_recheck=())


def test_preflight_without_root_only_checks_that_the_kernels_packages_import(tmp_path):
    """Not root there is no sandbox (bpkit-grade warns so): the preflight must not then fail on
    the private view it cannot have (it did: 'gradebook visible', and nothing was graded)."""
    from bpkit_grade.settings import preflight

    preflight(_preflight_settings(tmp_path, uid_base=None))  # the gradebook is visible: no exit


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
def test_preflight_as_root_refuses_a_sandbox_that_shows_the_gradebook(tmp_path):
    from bpkit_grade.settings import preflight

    # a "gradebook" outside /tmp (the sandbox's /tmp is its own) that nothing hides: this file
    with pytest.raises(SystemExit, match="gradebook visible"):
        preflight(_preflight_settings(tmp_path, uid_base=64000 + os.getpid() % 1000 * 2, db=os.path.abspath(__file__)))
