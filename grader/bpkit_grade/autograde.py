"""``bpkit-grade ASSIGNMENT``: autograde a class with stock nbgrader, isolated and re-checked.

Run from the course root (where ``nbgrader_config.py`` is). For every ``submitted/<student>/<ASSIGNMENT>/``:

1. **Isolated nbgrader run.** A throwaway course folder is made for the submission alone: its
   notebooks, the release files, and a gradebook holding only the assignment (a copy of the real
   one with every student removed). Stock ``nbgrader autograde`` runs there (through
   ``NbGraderAPI``), with the kernel started by :class:`SandboxKernelManager`: as an unprivileged
   uid, with a memory limit, in a mount namespace where the real course shows only the bpkit
   package and the venv (no gradebook, ``solutions/``, ``.git``, other submissions).
2. **Re-check.** A second fresh sandboxed kernel runs the student's cells (never the test cells),
   then calls each registered exercise function (``bpkit_grade.exercises``) on fresh random inputs and
   prints the result as JSON. The grader compares it with the reference in its own process. That
   verdict is the score; if the in-kernel test cell said otherwise, the exercise is flagged.
3. **Merge.** The instructor's process writes the scores into the real ``gradebook.db`` with
   ``nbgrader.api.Gradebook``, copies the autograded notebook to ``autograded/`` (so the
   formgrader and ``nbgrader generate_feedback`` work as usual), and writes
   ``grades/<ASSIGNMENT>.csv``: one row per submission with per-exercise scores, status and reason.

Submissions are graded by ``-j`` worker processes in parallel (each with its own sandbox uid and
its own throwaway gradebook, merged afterwards: nbgrader issue #174). A crash, hang, ``os._exit``,
huge allocation, invalid JSON or duplicated/deleted cells costs that exercise or that submission,
never the class, and is reported by name with its reason.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import pwd
import queue
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque

import numpy as np
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Integer, List, Unicode
from traitlets.config import Config, LoggingConfigurable

from bpkit_grade.sandbox import kill_user

STATUS_OK, STATUS_FLAGGED, STATUS_FAILED = "ok", "flagged", "failed"


# --- the sandboxed kernel ------------------------------------------------------------------------

class _Sandboxed(LoggingConfigurable):
    """Starts the kernel through ``python -m bpkit_grade.sandbox`` (see that module)."""

    sandbox_uid = Integer(None, allow_none=True, help="uid the kernel runs as (root only)").tag(config=True)
    memory_limit = Integer(2 << 30, help="address-space limit of the kernel, bytes").tag(config=True)
    sandbox_home = Unicode("", help="HOME of the kernel").tag(config=True)
    roots = List(Unicode(), help="folders in which only `keep` stays visible").tag(config=True)
    keep = List(Unicode()).tag(config=True)
    hide = List(Unicode(), help="paths covered by an empty one").tag(config=True)
    audit = Unicode("", help="file the kernel's audit hook reports to").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        home = self.sandbox_home or tempfile.mkdtemp(prefix="bpkit-kernel-")
        wrap = [sys.executable, "-m", "bpkit_grade.sandbox", "--memory", str(self.memory_limit),
                "--home", home, "--conn", self.connection_file]
        if self.sandbox_uid is not None:
            wrap += ["--uid", str(self.sandbox_uid)]
        if self.audit:
            wrap += ["--audit", self.audit]
        for flag, paths in (("--root", self.roots), ("--keep", self.keep), ("--hide", self.hide)):
            for path in paths:
                wrap += [flag, path]
        return wrap + ["--"] + cmd


class SandboxKernelManager(_Sandboxed, AsyncKernelManager):
    """The kernel manager nbgrader's Execute uses inside bpkit-grade."""


class SyncSandboxKernelManager(_Sandboxed, KernelManager):
    """The kernel manager of the re-check."""


def _sandboxed_execute():
    """nbgrader's Execute preprocessor, starting its kernel with SandboxKernelManager.

    (Execute passes ``kernel_manager_class`` to its parent as an argument, which beats config.)"""
    from nbgrader.preprocessors import Execute

    class SandboxedExecute(Execute):
        def __init__(self, *args, **kwargs):
            kwargs["kernel_manager_class"] = SandboxKernelManager
            super().__init__(*args, **kwargs)

    return SandboxedExecute


class Kernel:
    """A sandboxed kernel that runs code with a time limit, restarted when it hangs or dies."""

    def __init__(self, cwd: str, timeout: float, **sandbox):
        self.cwd, self.timeout, self.uid = cwd, timeout, sandbox.get("sandbox_uid")
        self.sandbox, self.kc = sandbox, None
        self._start()

    def _start(self):
        # returns once the kernel process is launched: it boots while nbgrader runs
        self.km = SyncSandboxKernelManager(kernel_name="python3", **self.sandbox)
        self.km.start_kernel(cwd=self.cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self.kc = self.km.client()
        self.kc.start_channels()
        self.ready = False

    def close(self):
        if self.kc is None:
            return
        self.kc.stop_channels()
        self.kc = None
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:  # already dead
            pass
        if self.uid is not None:
            kill_user(self.uid)

    def restart(self, replay: list[str]):
        self.close()
        self._start()
        for code in replay:
            self.run(code)

    def run(self, code: str):
        """-> (status, stdout, error): status is ok, error, timeout (interrupted), hang (ignored
        the interrupt) or died."""
        if not self.ready:
            self.kc.wait_for_ready(timeout=60)
            self.ready = True
        msg_id = self.kc.execute(code, allow_stdin=False)
        deadline, interrupted, out, err = time.monotonic() + self.timeout, False, [], None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if interrupted:
                    return "hang", "".join(out), err
                self.km.interrupt_kernel()
                interrupted, deadline = True, time.monotonic() + 3
                continue
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    return "died", "".join(out), err
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                err = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                status = "timeout" if interrupted else ("error" if err else "ok")
                return status, "".join(out), err


# --- plain values across the kernel boundary -----------------------------------------------------

# Defined in the student's kernel before each call: turns arguments and results into JSON.
_CODEC = r'''
def __bpkit_enc(v):
    import numpy
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, numpy.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [__bpkit_enc(x) for x in v]
    if isinstance(v, dict):
        return {str(k): __bpkit_enc(x) for k, x in v.items()}
    a = numpy.asarray(v) if isinstance(v, numpy.ndarray) or hasattr(v, "__array__") else None
    if a is None or a.dtype == object:
        raise TypeError(f"returned a {type(v).__name__}, which is not a number, list or array")
    return {"__ndarray__": a.tolist(), "dtype": str(a.dtype)}
def __bpkit_dec(v):
    import numpy
    if isinstance(v, dict) and "__ndarray__" in v:
        return numpy.array(v["__ndarray__"], dtype=v["dtype"])
    if isinstance(v, list):
        return [__bpkit_dec(x) for x in v]
    if isinstance(v, dict):
        return {k: __bpkit_dec(x) for k, x in v.items()}
    return v
'''
_codec: dict = {}
exec(_CODEC, _codec)
encode, decode = _codec["__bpkit_enc"], _codec["__bpkit_dec"]



def _call_code(nonce: str, function: str, args_json: str) -> str:
    """Kernel code: call ``function`` on the decoded arguments, print nonce + JSON of the result."""
    return (_CODEC + "import json as __bpkit_json\n"
            f"print({nonce!r} + __bpkit_json.dumps(__bpkit_enc({function}("
            f"*__bpkit_dec(__bpkit_json.loads({args_json!r}))))))\n")


def _assert_close(got, expected, where="result"):
    """Fallback comparison while bpkit.checks is not there: same structure, allclose values."""
    if isinstance(expected, (list, tuple)) and not isinstance(got, np.ndarray):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected), \
            f"{where}: expected {len(expected)} values, got {got!r}"
        for i, (g, e) in enumerate(zip(got, expected)):
            _assert_close(g, e, f"{where}[{i}]")
        return
    g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert g.shape == e.shape, f"{where}: expected shape {e.shape}, got shape {g.shape}"
    bad = ~np.isclose(g, e, rtol=1e-6, atol=1e-8)
    assert not bad.any(), (f"{where}: {int(bad.sum())} of {bad.size} values differ, e.g. got "
                           f"{g[bad].flat[0]!r} where {e[bad].flat[0]!r} was expected")


def compare(exercise, got, expected, args=()):
    """Raise AssertionError (with a diagnostic) unless ``got`` matches ``expected``: the same
    check as ``bpkit.checks.check_exercise``, here in the grader's process."""
    if exercise.compare is not None:
        return exercise.compare(got, expected)
    try:
        from bpkit.checks import assert_close
    except ImportError:  # an engine without grading.py: a plain allclose
        return _assert_close(got, expected)
    mistakes = exercise.mistakes(*args) if getattr(exercise, "mistakes", None) is not None else ()
    assert_close(got, expected, getattr(exercise, "result_names", None) or exercise.function,
                 mistakes=mistakes, inputs=args)


# --- grading one submission (in a worker process) ------------------------------------------------

def load_exercises(spec: str, assignment: str):
    """The exercise list: from bpkit_grade.exercises, or from MODULE / path/to/module.py."""
    if not spec:
        from bpkit_grade.exercises import for_assignment
        return for_assignment(assignment)
    if spec.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location("bpkit_grade_exercises", spec)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec)
    return list(module.EXERCISES)


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def recheck(nb_path: str, exercises, s: dict, kernel: Kernel) -> dict:
    """Run the student's cells of one notebook in ``kernel`` (fresh, sandboxed), call each
    exercise's function on fresh inputs, compare here. -> {grade_id: (passed, message)}, notes."""
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not _is_test_cell(c)]
    verdicts, notes, done = {}, [], []
    try:
        for i, cell in enumerate(cells):
            status, _, _ = kernel.run(cell.source)
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"code cell {i + 1}"
            if status in ("hang", "died"):
                notes.append(f"re-check: {name} " + ("hung (ignored the interrupt)" if status == "hang"
                                                      else "killed the kernel"))
                kernel.restart(done)
            elif status == "timeout":
                notes.append(f"re-check: {name} timed out after {s['timeout']} s")
            else:
                done.append(cell.source)
        for k, ex in enumerate(exercises):
            rng = np.random.default_rng([s["seed"], k])
            args = ex.make_inputs(rng)
            expected = ex.reference(*args)
            nonce = secrets.token_hex(8)
            code = _call_code(nonce, ex.function, json.dumps(encode(list(args))))
            status, out, err = kernel.run(code)
            call = f"{ex.function}(...)"
            if status == "hang" or status == "timeout":
                verdicts[ex.grade_id] = (False, f"{call} did not return within {s['timeout']} s")
            elif status == "died":
                verdicts[ex.grade_id] = (False, f"{call} killed the kernel (os._exit, crash or memory)")
            elif err:
                verdicts[ex.grade_id] = (False, f"{call} raised {err}")
            else:
                lines = [ln for ln in out.splitlines() if ln.startswith(nonce)]
                try:
                    got = decode(json.loads(lines[-1][len(nonce):]))
                    compare(ex, got, expected, args)
                    verdicts[ex.grade_id] = (True, "")
                except AssertionError as e:
                    verdicts[ex.grade_id] = (False, f"{call} is wrong on fresh inputs: {e}")
                except Exception as e:  # no or unreadable result
                    verdicts[ex.grade_id] = (False, f"{call} gave no readable result ({type(e).__name__})")
            if status in ("hang", "died"):
                kernel.restart(done)
    finally:
        kernel.close()
    return {"verdicts": verdicts, "notes": notes}


def _nbgrader_config(s: dict, sandbox_root: str, uid, home: str) -> Config:
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    c = PyFileConfigLoader("nbgrader_config.py", path=s["root"]).load_config()
    c.CourseDirectory.root = sandbox_root
    c.CourseDirectory.course_id = s["course_id"]
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(sandbox_root, "gradebook.db")
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.submitted_directory = "submitted"
    c.CourseDirectory.autograded_directory = "autograded"
    c.Execute.timeout = s["timeout"]
    pps = c.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default())
    c.Autograde.autograde_preprocessors = [_sandboxed_execute() if p in (Execute, "nbgrader.preprocessors.Execute")
                                           else p for p in pps]
    c.SandboxKernelManager.sandbox_uid = uid
    c.SandboxKernelManager.memory_limit = s["memory"]
    c.SandboxKernelManager.sandbox_home = home
    c.SandboxKernelManager.roots = s["roots"]
    c.SandboxKernelManager.keep = s["keep"]
    c.SandboxKernelManager.hide = s["hide"]
    c.SandboxKernelManager.audit = os.path.join(sandbox_root, "audit.log")
    return c


def grade_submission(s: dict, student: str, uid) -> dict:
    """Grade one submission in its own throwaway course folder; returns plain data."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    asg = s["assignment"]
    result = {"student": student, "status": STATUS_OK, "reasons": [], "grades": {},
              "exercises": {}, "timestamp": None, "autograded": None}
    sub = os.path.join(s["root"], "submitted", student, asg)
    box = tempfile.mkdtemp(prefix="s-", dir=s["workroot"])
    kernels = []
    os.chmod(box, 0o711)
    own = (lambda p: os.chown(p, uid, uid)) if uid is not None else (lambda p: None)
    try:
        # the throwaway course: this submission's notebooks, the release files, a gradebook
        shutil.copyfile(s["template_db"], os.path.join(box, "gradebook.db"))
        os.chmod(os.path.join(box, "gradebook.db"), 0o600)
        mine = os.path.join(box, "submitted", student, asg)
        os.makedirs(mine)
        for name in [f"{nb}.ipynb" for nb in s["notebooks"]] + ["timestamp.txt"]:
            if os.path.isfile(os.path.join(sub, name)):
                shutil.copyfile(os.path.join(sub, name), os.path.join(mine, name))
        shutil.copytree(s["release_files"], os.path.join(box, "source", asg))
        for d in ("home-nbgrader", "home-recheck", "work"):
            os.makedirs(os.path.join(box, d))
            own(os.path.join(box, d))
        shutil.copytree(s["release_files"], os.path.join(box, "work"), dirs_exist_ok=True)
        for dirpath, dirs, files in os.walk(os.path.join(box, "work")):
            for p in [dirpath] + [os.path.join(dirpath, f) for f in files]:
                own(p)

        # the re-check's kernel (its own uid) boots while nbgrader runs
        exercises = load_exercises(s["exercises"], asg)
        sandbox = dict(sandbox_uid=None if uid is None else uid + 1, memory_limit=s["memory"],
                       sandbox_home=os.path.join(box, "home-recheck"), roots=s["roots"], keep=s["keep"],
                       hide=s["hide"] + s["hide_recheck"], audit=os.path.join(box, "audit.log"))
        kernels = [Kernel(os.path.join(box, "work"), s["timeout"], **sandbox)]

        # 1. stock nbgrader autograde, kernel sandboxed
        config = _nbgrader_config(s, box, uid, os.path.join(box, "home-nbgrader"))
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        run = api.autograde(asg, student, force=True, create=True)
        if uid is not None:
            kill_user(uid)
        nbgrader_ok = run["success"]
        if not nbgrader_ok:
            result["reasons"].append("nbgrader autograde failed: " + _last_error(run))
        in_kernel = {}
        with Gradebook("sqlite:///" + os.path.join(box, "gradebook.db"), s["course_id"]) as gb:
            try:
                submission = gb.find_submission(asg, student)
                result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
                for nb in submission.notebooks:
                    for g in nb.grades:
                        result["grades"][g.name] = {"notebook": nb.name, "score": g.auto_score,
                                                    "max": g.max_score, "manual": g.needs_manual_grade}
                        if nbgrader_ok and g.auto_score is not None and not g.needs_manual_grade:
                            in_kernel[g.name] = g.auto_score
            except Exception:
                pass
        out_dir = os.path.join(box, "autograded", student, asg)
        if nbgrader_ok and os.path.isdir(out_dir):
            keep = os.path.join(s["workroot"], "autograded", student)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(out_dir, keep)
            result["autograded"] = keep

        # 2. the re-check, per notebook, from the notebook nbgrader ran (or the raw submission)
        failed = None
        for n, nb_name in enumerate(s["notebooks"]):
            mine_ex = [e for e in exercises if s["exercise_notebook"][e.grade_id] == nb_name]
            path = os.path.join(out_dir, f"{nb_name}.ipynb")
            if not (nbgrader_ok and os.path.isfile(path)):
                path = os.path.join(mine, f"{nb_name}.ipynb")
            if not os.path.isfile(path):
                failed = f"{nb_name}.ipynb was not submitted"
                continue
            if n > 0:  # a fresh kernel for each notebook
                kernels.append(Kernel(os.path.join(box, "work"), s["timeout"], **sandbox))
            try:
                r = recheck(path, mine_ex, s, kernels[-1])
            except Exception as e:
                failed = f"{nb_name}.ipynb could not be re-checked: {_one_line(e)}"
                continue
            result["reasons"] += r["notes"]
            for ex in mine_ex:
                passed, message = r["verdicts"][ex.grade_id]
                result["exercises"][ex.grade_id] = _verdict(ex, passed, message, in_kernel.get(ex.grade_id))
        if failed:
            result["reasons"].insert(0, failed)
            if not result["exercises"]:
                result["status"] = STATUS_FAILED
        for ex in exercises:  # not re-checked (notebook missing or unreadable): 0, said why
            result["exercises"].setdefault(ex.grade_id, {"score": 0.0, "max": ex.points, "flag": "",
                                                          "note": "" if failed else "not graded"})
        if any(e["flag"] == "tampering" for e in result["exercises"].values()):
            result["status"] = STATUS_FLAGGED
        attempts = _audit_report(os.path.join(box, "audit.log"))
        if attempts:  # hidden from it anyway, so no score changes: the instructor should know
            result["status"] = STATUS_FLAGGED
            result["access"] = attempts[0]
            result["reasons"].insert(0, f"suspected tampering: student code tried to open {len(attempts)} "
                                        f"hidden path(s), e.g. {attempts[0]}")
        for gid, e in result["exercises"].items():
            if e["note"]:
                result["reasons"].append(f"{gid}: {e['note']}")
    finally:
        for kernel in kernels:
            kernel.close()
        if uid is not None:
            kill_user(uid)
            kill_user(uid + 1)
        shutil.rmtree(box, ignore_errors=True)
    return result


def _audit_report(path: str) -> list[str]:
    try:
        with open(path, errors="replace") as f:
            return list(dict.fromkeys(line.split(" ", 1)[-1].strip() for line in f if line.strip()))
    except FileNotFoundError:
        return []


def _verdict(ex, passed: bool, message: str, in_kernel) -> dict:
    """Combine the re-check (which wins) with the in-kernel nbgrader score."""
    score = float(ex.points) if passed else 0.0
    flag, note = "", message
    if in_kernel is not None and not passed and in_kernel > 0:
        flag = "tampering"
        note = (f"suspected tampering: the in-kernel test gave {in_kernel:g}/{ex.points:g} but "
                f"the re-check failed: {message}")
    elif in_kernel is not None and passed and in_kernel < ex.points:
        flag = "mismatch"
        note = f"the in-kernel test gave {in_kernel:g}/{ex.points:g}, the re-check passed"
    return {"score": score, "max": float(ex.points), "flag": flag, "note": note, "in_kernel": in_kernel}


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def _last_error(run: dict) -> str:
    """The exception line of nbgrader's failure, e.g. ``DeadKernelError: Kernel died``."""
    text = (run.get("log") or "") + "\n" + (run.get("error") or "")
    found = re.findall(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b(?::.*)?)$", text, re.M)
    return found[0].strip()[:300] if found else "see its log"


def _failure(student: str, reason: str, s: dict) -> dict:
    exercises = {gid: {"score": 0.0, "max": pts, "flag": "", "note": reason}
                 for gid, pts in s["points"].items()}
    return {"student": student, "status": STATUS_FAILED, "reasons": [reason], "grades": {},
            "exercises": exercises, "timestamp": None, "autograded": None}


# --- worker processes ------------------------------------------------------------------------------

def _worker(slot: int, conn, s: dict):
    log = open(os.path.join(s["workroot"], f"worker-{slot}.log"), "a")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    uid = None if s["uid_base"] is None else s["uid_base"] + 2 * slot  # +1: the re-check's
    while True:
        try:
            student = conn.recv()
        except EOFError:
            return
        if student is None:
            return
        t0 = time.monotonic()
        try:
            result = grade_submission(s, student, uid)
        except Exception:
            result = _failure(student, "grader error: " + traceback.format_exc().strip().splitlines()[-1], s)
            traceback.print_exc()
        result["seconds"] = round(time.monotonic() - t0, 2)
        conn.send(result)


class Pool:
    """``jobs`` worker processes; one submission each at a time; a stuck one is killed."""

    def __init__(self, jobs: int, s: dict):
        self.s, self.ctx = s, mp.get_context("spawn")
        self.slots = [self._spawn(i) for i in range(jobs)]
        self.busy: dict[int, tuple[str, float]] = {}

    def _spawn(self, slot):
        mine, theirs = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(slot, theirs, self.s), daemon=True)
        proc.start()
        return proc, mine

    def _replace(self, slot):
        proc, conn = self.slots[slot]
        proc.kill()
        proc.join()
        if self.s["uid_base"] is not None:
            kill_user(self.s["uid_base"] + 2 * slot)
            kill_user(self.s["uid_base"] + 2 * slot + 1)
        self.slots[slot] = self._spawn(slot)

    def run(self, students):
        todo = deque(students)
        while todo or self.busy:
            for slot in range(len(self.slots)):
                if todo and slot not in self.busy:
                    student = todo.popleft()
                    self.slots[slot][1].send(student)
                    self.busy[slot] = (student, time.monotonic())
            conns = {self.slots[slot][1]: slot for slot in self.busy}
            for conn in mp.connection.wait(list(conns), timeout=1):
                slot = conns[conn]
                student, t0 = self.busy.pop(slot)
                try:
                    yield conn.recv()
                except (EOFError, OSError):
                    self._replace(slot)
                    yield dict(_failure(student, "the grading process died", self.s),
                               seconds=round(time.monotonic() - t0, 2))
            for slot, (student, t0) in list(self.busy.items()):
                if time.monotonic() - t0 > self.s["submission_timeout"]:
                    del self.busy[slot]
                    self._replace(slot)
                    yield dict(_failure(student, f"took longer than {self.s['submission_timeout']} s "
                                                 "in all (--submission-timeout)", self.s),
                               seconds=round(time.monotonic() - t0, 2))

    def close(self):
        for proc, conn in self.slots:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc, _ in self.slots:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


# --- the instructor's process ------------------------------------------------------------------------

def merge(gb, s: dict, r: dict) -> None:
    """Write one submission's result into the real gradebook (and autograded/)."""
    from nbgrader.utils import parse_utc
    asg, student = s["assignment"], r["student"]
    gb.update_or_create_student(student)
    kwargs = {"timestamp": parse_utc(r["timestamp"])} if r["timestamp"] else {}
    submission = gb.update_or_create_submission(asg, student, **kwargs)
    for nb in submission.notebooks:
        nb.flagged = r["status"] != STATUS_OK
        for g in nb.grades:
            if g.name in r["exercises"]:
                g.auto_score, g.needs_manual_grade = r["exercises"][g.name]["score"], False
            elif g.name in r["grades"] and r["status"] != STATUS_FAILED:
                g.auto_score, g.needs_manual_grade = r["grades"][g.name]["score"], r["grades"][g.name]["manual"]
            else:
                g.auto_score, g.needs_manual_grade = 0.0, False
    gb.db.commit()
    dest = os.path.join(s["root"], "autograded", student, asg)
    if r["autograded"]:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(r["autograded"], dest)
        shutil.rmtree(r["autograded"], ignore_errors=True)


def write_csv(path: str, s: dict, results: dict) -> None:
    """grades/<assignment>.csv: one row per submission (rows of students not graded now are kept)."""
    gids = list(s["points"])
    rows = {}
    if os.path.exists(path):
        with open(path, newline="") as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
    for student, r in results.items():
        ex = r["exercises"]
        row = {"student": student, "status": r["status"],
               "score": f"{sum(e['score'] for e in ex.values()):g}",
               "max_score": f"{sum(s['points'].values()):g}"}
        row.update({gid: f"{ex[gid]['score']:g}" if gid in ex else "" for gid in gids})
        row["flags"] = " ".join([f"{gid}:{ex[gid]['flag']}" for gid in gids if ex.get(gid, {}).get("flag")]
                                + (["access"] if r.get("access") else []))
        row["reason"] = re.sub(r"\s*\n\s*", " / ", "; ".join(r["reasons"]))
        row["seconds"] = r.get("seconds", "")
        rows[student] = row
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fields = ["student", "status", "score", "max_score"] + gids + ["flags", "reason", "seconds"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for student in sorted(rows):
            w.writerow(rows[student])


def _not_world_reachable(path: str) -> list[str]:
    """Ancestors of ``path`` that others cannot traverse (e.g. /root holding pyenv's Python)."""
    out, parts = [], os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts)):
        d = os.sep.join(parts[:i])
        if os.path.isdir(d) and not os.stat(d).st_mode & 0o001:
            out.append(d)
    return out


def _git_dirs(root: str) -> list[str]:
    """The course's git data (history holds the solutions), also for a worktree's .git file."""
    dot = os.path.join(root, ".git")
    if os.path.isfile(dot):
        with open(dot) as f:
            gitdir = os.path.join(root, f.read().split("gitdir:", 1)[-1].strip())
        return [dot, os.path.normpath(os.path.join(gitdir, "..", ".."))]
    return [dot]


def prepare(args) -> dict:
    """Check the course and build the settings every worker gets."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader
    import bpkit
    import bpkit_grade
    import bpkit_grade.exercises

    root = os.path.abspath(args.course)
    if not os.path.isfile(os.path.join(root, "nbgrader_config.py")):
        sys.exit(f"bpkit-grade: no nbgrader_config.py in {root}: run it from the course root (or --course)")
    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    config.CourseDirectory.root = root
    coursedir = CourseDirectory(config=config)
    asg = args.assignment
    db_url = coursedir.db_url
    db_file = db_url[len("sqlite:///"):] if db_url.startswith("sqlite:///") else None
    if not db_file or not os.path.exists(db_file):
        sys.exit(f"bpkit-grade: no gradebook at {db_url}: run `nbgrader generate_assignment {asg}` first")
    workroot = tempfile.mkdtemp(prefix="bpkit-grade-", dir=args.workdir)
    os.chmod(workroot, 0o711)
    try:
        return _prepare(args, root, config, coursedir, asg, db_url, db_file, workroot)
    except BaseException:
        shutil.rmtree(workroot, ignore_errors=True)
        raise


def _prepare(args, root, config, coursedir, asg, db_url, db_file, workroot) -> dict:
    from nbgrader.api import Gradebook
    import bpkit
    import bpkit_grade
    import bpkit_grade.exercises

    template = os.path.join(workroot, "template.db")
    with sqlite3.connect(db_file) as src, sqlite3.connect(template) as dst:
        src.backup(dst)
    os.chmod(template, 0o600)
    with Gradebook("sqlite:///" + template, coursedir.course_id) as gb:
        try:
            assignment = gb.find_assignment(asg)
        except Exception:
            sys.exit(f"bpkit-grade: assignment {asg!r} is not in the gradebook: run "
                     f"`nbgrader generate_assignment {asg}` first")
        notebooks = [nb.name for nb in assignment.notebooks]
        cells = {c.name: (nb.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells}
        for student in list(gb.students):
            gb.remove_student(student.id)
        for other in [a for a in gb.assignments if a.name != asg]:
            gb.remove_assignment(other.name)
    try:
        exercises = load_exercises(args.exercises, asg)
    except (KeyError, ImportError, FileNotFoundError) as e:
        sys.exit(f"bpkit-grade: no exercise registry for {asg!r} ({_one_line(e)}): pass --exercises MODULE")
    for ex in exercises:
        if ex.grade_id not in cells:
            sys.exit(f"bpkit-grade: exercise {ex.grade_id!r} of the registry is not a grade cell of "
                     f"{asg!r} (grade cells: {', '.join(cells)})")
        if float(ex.points) != float(cells[ex.grade_id][1]):
            sys.exit(f"bpkit-grade: exercise {ex.grade_id!r} is worth {ex.points} in the registry but "
                     f"{cells[ex.grade_id][1]} in the notebook")
    unchecked = [g for g in cells if g not in {e.grade_id for e in exercises}]
    release = coursedir.format_path(coursedir.release_directory, ".", asg)
    release_files = os.path.join(workroot, "release")
    shutil.copytree(release, release_files, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints")) \
        if os.path.isdir(release) else os.makedirs(release_files)
    submitted = coursedir.format_path(coursedir.submitted_directory, ".", ".")
    students = sorted(d for d in os.listdir(submitted)
                      if os.path.isdir(os.path.join(submitted, d, asg))) if os.path.isdir(submitted) else []
    if args.student:
        missing = sorted(set(args.student) - set(students))
        if missing:
            sys.exit(f"bpkit-grade: no submission of {asg!r} for {', '.join(missing)} in {submitted}")
        students = [st for st in students if st in args.student]
    # what a sandboxed kernel may see: in the course folder only bpkit, bpkit_grade (the hidden
    # tests of nbgrader's run import it; the re-check hides its registry) and the venv
    packages = [os.path.dirname(os.path.abspath(m.__file__)) for m in (bpkit, bpkit_grade)]
    needed = packages + [sys.prefix, sys.base_prefix, os.path.abspath(release)]
    roots = {root} | {d for p in needed for d in _not_world_reachable(p)}
    for package in packages:  # installed from a checkout (pip -e): hide the rest of it (solutions/)
        if not package.startswith(os.path.abspath(sys.prefix) + os.sep):
            roots.add(os.path.dirname(package))
    roots = sorted(roots)
    hide = [db_file] + _git_dirs(root) + [os.path.abspath(p) for p in args.hide]
    exchange = config.Exchange.get("root", "/srv/nbgrader/exchange")  # everyone's inbound submissions
    hide += [exchange] if os.path.isdir(exchange) else []
    registry = [os.path.dirname(os.path.abspath(bpkit_grade.exercises.__file__))]
    if args.exercises.endswith(".py"):
        registry.append(os.path.abspath(args.exercises))
    elif args.exercises:
        registry.append(os.path.abspath(importlib.import_module(args.exercises).__file__))
    uid_base = None
    if os.geteuid() == 0:
        uid_base = args.uid_base
        for uid in range(uid_base, uid_base + 2 * args.jobs):
            try:
                sys.exit(f"bpkit-grade: sandbox uid {uid} belongs to user {pwd.getpwuid(uid).pw_name!r}: "
                         "pick free uids with --uid-base")
            except KeyError:
                pass
    else:
        print("bpkit-grade: warning: not root, so student code runs as you, without a private view of "
              "the file system: the gradebook and solutions/ are reachable (see docs/instructor.md)",
              file=sys.stderr)
    timeout = args.timeout or int(config.Execute.get("timeout", 30) or 30)
    return {"root": root, "assignment": asg, "course_id": coursedir.course_id, "workroot": workroot,
            "template_db": template, "db_url": db_url, "notebooks": notebooks, "students": students,
            "exercise_notebook": {e.grade_id: cells[e.grade_id][0] for e in exercises},
            "points": {e.grade_id: float(e.points) for e in exercises} | {g: float(cells[g][1]) for g in unchecked},
            "unchecked": unchecked, "exercises": args.exercises, "release_files": release_files,
            "timeout": timeout, "memory": args.memory << 20, "submission_timeout": args.submission_timeout,
            "seed": args.seed if args.seed is not None else secrets.randbits(32),
            "uid_base": uid_base, "roots": roots, "keep": needed, "hide": hide, "hide_recheck": registry,
            "jobs": args.jobs}


def preflight(s: dict) -> None:
    """Start the sandbox once: it must see bpkit, numpy and ipykernel, and nothing else."""
    import subprocess
    home = tempfile.mkdtemp(dir=s["workroot"])
    uid = s["uid_base"]
    if uid is not None:
        os.chown(home, uid, uid)
    cmd = [sys.executable, "-m", "bpkit_grade.sandbox", "--memory", str(s["memory"]), "--home", home]
    cmd += ["--uid", str(uid)] if uid is not None else []
    for flag, paths in (("--root", s["roots"]), ("--keep", s["keep"]), ("--hide", s["hide"])):
        for p in paths:
            cmd += [flag, p]
    db_file = s["db_url"][len("sqlite:///"):]
    probe = (f"import bpkit, numpy, ipykernel, os\nassert not os.path.exists({db_file!r}), 'gradebook visible'\n"
             f"try: open({s['template_db']!r}).close(); raise SystemExit('template gradebook readable')\n"
             "except PermissionError: pass")
    done = subprocess.run(cmd + ["--", sys.executable, "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("bpkit-grade: the sandbox for student code does not work here:\n"
                 + done.stderr.strip()[-2000:] + "\n(see docs/instructor.md, 'Isolation')")
    shutil.rmtree(home, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bpkit-grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment name, e.g. 01-computational-graphs")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: number of cores)")
    p.add_argument("-t", "--timeout", type=int, default=None,
                   help="seconds per cell (default: Execute.timeout of nbgrader_config.py, or 30)")
    p.add_argument("-m", "--memory", type=int, default=2048, help="memory limit per kernel, MiB (2048)")
    p.add_argument("--submission-timeout", type=int, default=900,
                   help="seconds for one whole submission before its grader is killed (900)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--exercises", default="",
                   help="exercise registry: MODULE or path/to/file.py (default: bpkit_grade.exercises)")
    p.add_argument("--course", default=".", help="course root (default: the current folder)")
    p.add_argument("--hide", action="append", default=[],
                   help="another path student code must not see (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed of the re-check inputs (default: random)")
    p.add_argument("--uid-base", type=int, default=64000, help="first sandbox uid (64000)")
    p.add_argument("--workdir", default=None, help="where the throwaway course folders go (default: $TMPDIR)")
    args = p.parse_args(argv)
    # nbgrader runs `alembic` (and kernels `python`) from PATH: make it this environment's
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

    from nbgrader.api import Gradebook
    warnings.filterwarnings("ignore", message="Object of type .* not in session")  # nbgrader's own noise
    t_start = time.monotonic()
    s = prepare(args)
    try:
        preflight(s)
        students = s.pop("students")
        if not students:
            print(f"bpkit-grade: no submissions of {args.assignment!r} in submitted/", file=sys.stderr)
            return 1
        if s["unchecked"]:
            print(f"bpkit-grade: note: {', '.join(s['unchecked'])} not in the exercise registry: "
                  "scored by the in-kernel test only", file=sys.stderr)
        jobs = max(1, min(args.jobs, len(students)))
        print(f"bpkit-grade: {args.assignment}: {len(students)} submissions, {jobs} at a time, "
              f"{s['timeout']} s per cell, {args.memory} MiB per kernel", flush=True)
        results, pool = {}, Pool(jobs, s)
        total_max = sum(s["points"].values())
        try:
            with Gradebook(s["db_url"], s["course_id"]) as gb:
                for n, r in enumerate(pool.run(students), 1):
                    merge(gb, s, r)
                    results[r["student"]] = r
                    score = sum(e["score"] for e in r["exercises"].values())
                    why = ("  " + "; ".join(r["reasons"])[:160]) if r["status"] != STATUS_OK else ""
                    print(f"[{n:>{len(str(len(students)))}}/{len(students)}] {r['student']:<20} "
                          f"{score:g}/{total_max:g}  {r['status']:<8} {r['seconds']:6.1f} s{why}", flush=True)
        finally:
            pool.close()
        csv_path = os.path.join(s["root"], "grades", f"{args.assignment}.csv")
        write_csv(csv_path, s, results)
        wall = time.monotonic() - t_start
        bad = {k: [r["student"] for r in results.values() if r["status"] == k] for k in (STATUS_FLAGGED, STATUS_FAILED)}
        print(f"bpkit-grade: {len(results)} graded in {wall:.1f} s ({wall / len(results):.2f} s per submission "
              f"wall, {sum(r['seconds'] for r in results.values()) / len(results):.2f} s each in a worker); "
              f"flagged: {', '.join(bad[STATUS_FLAGGED]) or 'none'}; failed: {', '.join(bad[STATUS_FAILED]) or 'none'}")
        print(f"bpkit-grade: wrote {os.path.relpath(csv_path)} and the gradebook; "
              f"`nbgrader generate_feedback {args.assignment}` and `nbgrader export` work as usual")
        return 0
    finally:
        shutil.rmtree(s["workroot"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
