"""Grading one submission, in a worker process, in its own throwaway course folder (a :class:`Box`):

1. :func:`make_box`: the submission's notebooks, the release files, a gradebook holding only the
   assignment, and home folders owned by the sandbox uids;
2. the re-check's process is started (it boots while nbgrader runs);
3. :func:`run_nbgrader`: stock ``nbgrader autograde`` with its kernel sandboxed;
4. :func:`read_in_kernel_scores`: what nbgrader's test cells gave, from the throwaway gradebook
   (tampering is detected by them: a gradebook that cannot be read fails the submission);
5. :func:`recheck_notebooks`: the verdicts, which win over the in-kernel scores;
6. :func:`judge`: the status and the reasons (failures, tampering, attempts to open hidden paths:
   the stand-ins that were opened, ``bpkit_grade.tripwire``, and what the audit hook reported).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import traceback
from dataclasses import dataclass

from bpkit_grade.merge import copy_tree
from bpkit_grade.recheck import recheck
from bpkit_grade.results import STATUS_FAILED, STATUS_FLAGGED, failure, new_result, printable, verdict
from bpkit_grade.sandbox import kill_user
from bpkit_grade.settings import Settings, load_exercises, one_line
from bpkit_grade.tripwire import Tripwires


#: bytes: the largest notebook, other file and whole submission that is read (larger: failed)
MAX_NOTEBOOK, MAX_FILE, MAX_SUBMISSION = 20 << 20, 50 << 20, 200 << 20
MAX_TIMESTAMP = 4096


class BadSubmission(Exception):
    """The submission holds what is not a regular file of a sane size (a symlink, FIFO, device,
    a sparse 1 GB file): nothing of it is read, the submission fails with this reason."""


class GradebookUnreadable(Exception):
    """nbgrader's throwaway gradebook of a submission cannot be read: without its in-kernel
    scores, tampering cannot be detected, so the submission must not pass as checked."""


@dataclass(frozen=True)
class Box:
    """The throwaway course folder of one submission."""

    path: str
    student: str
    assignment: str
    tripwires: Tripwires | None = None  # the stand-ins of the hidden paths, watched

    @property
    def gradebook_url(self) -> str:
        return "sqlite:///" + os.path.join(self.path, "gradebook.db")

    @property
    def submitted(self) -> str:
        return os.path.join(self.path, "submitted", self.student, self.assignment)

    @property
    def autograded(self) -> str:
        return os.path.join(self.path, "autograded", self.student, self.assignment)

    @property
    def work(self) -> str:
        """The re-check processes' working folder (the release files)."""
        return os.path.join(self.path, "work")

    @property
    def audit_log(self) -> str:
        return os.path.join(self.path, "audit.log")

    def home(self, who: str) -> str:
        return os.path.join(self.path, f"home-{who}")


def grade_submission(s: Settings, student: str, uid) -> dict:
    """Grade one submission in its own throwaway course folder; returns plain data (results.py).
    ``uid``: the sandbox uid of nbgrader's kernel (the re-check's is ``uid + 1``), or None."""
    from bpkit_grade.runner import Runner

    result = new_result(student)
    path = tempfile.mkdtemp(prefix="s-", dir=s.workroot)
    kernels = tripwires = None
    recheck_uid = None if uid is None else uid + 1
    try:
        if uid is not None:  # sandboxed: the hidden paths are stand-ins there, watched
            tripwires = Tripwires(s.tripwires, path + ".tripwires")
        box = Box(path, student, s.assignment, tripwires)
        confinement = s.confinement(recheck_uid, box.home("recheck"), box.audit_log, recheck=True,
                                    binds=[box.work], tripwires=tripwires)
        kernels = Kernels(lambda: Runner(box.work, s.timeout, confinement))
        try:
            make_box(s, box, uid)
        except BadSubmission as e:
            return failure(student, f"not graded: {e}", s.points)
        exercises = load_exercises(s.exercises, s.assignment)
        kernels.start_spare()  # it boots while nbgrader runs
        nbgrader_ok = run_nbgrader(s, box, uid, result)
        in_kernel = read_in_kernel_scores(s, box, nbgrader_ok, result)
        result["autograded"] = keep_autograded(s, box, result) if nbgrader_ok else None
        failed = recheck_notebooks(s, box, exercises, nbgrader_ok, in_kernel, result, kernels.fresh)
        attempts = (tripwires.tripped() if tripwires else []) + _audit_report(box.audit_log)  # the kernel's first
        judge(result, exercises, failed, list(dict.fromkeys(attempts)))
    finally:
        if kernels:
            kernels.close()
        if uid is not None:
            kill_user(uid)
            kill_user(recheck_uid)
        if tripwires:
            tripwires.close()
        shutil.rmtree(path, ignore_errors=True)
    return result


class Kernels:
    """The re-check's processes of one submission (``bpkit_grade.runner.Runner``): a fresh one for
    each notebook, the first started ahead of time. ``start()`` makes one."""

    def __init__(self, start):
        self._start, self._spare, self._started = start, None, []

    def start_spare(self) -> None:
        self._spare = self._spare or self._new()

    def fresh(self):
        kernel, self._spare = self._spare or self._new(), None
        return kernel

    def _new(self):
        self._started.append(self._start())
        return self._started[-1]

    def close(self) -> None:
        for kernel in self._started:
            kernel.close()


def make_box(s: Settings, box: Box, uid) -> None:
    """The throwaway course: this submission's notebooks, the release files, a gradebook."""
    own = (lambda p: os.chown(p, uid, uid)) if uid is not None else (lambda p: None)
    os.chmod(box.path, 0o711)
    shutil.copyfile(s.template_db, os.path.join(box.path, "gradebook.db"))
    os.chmod(os.path.join(box.path, "gradebook.db"), 0o600)
    os.close(os.open(box.audit_log, os.O_CREAT | os.O_WRONLY, 0o600))  # bound into the sandboxes
    os.makedirs(box.submitted)
    sub = os.path.join(s.root, "submitted", box.student, s.assignment)
    # submission_secret.txt (nbgrader submit writes it) names the student's feedback in the
    # exchange: nbgrader's autograde keeps it in autograded/, release_feedback reads it there
    limits = {f"{nb}.ipynb": MAX_NOTEBOOK for nb in s.notebooks} | {"timestamp.txt": MAX_TIMESTAMP,
                                                                    "submission_secret.txt": MAX_TIMESTAMP}
    for name, size in checked_files(os.path.join(s.root, "submitted"), box.student, s.assignment, limits).items():
        copy_regular(os.path.join(sub, name), os.path.join(box.submitted, name), size)
    shutil.copytree(s.release_files, os.path.join(box.path, "source", s.assignment))
    for d in (box.home("nbgrader"), box.home("recheck"), box.work):
        os.makedirs(d)
        own(d)
    shutil.copytree(s.release_files, box.work, dirs_exist_ok=True)
    for dirpath, dirs, files in os.walk(box.work):
        for p in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            own(p)


def _kind(mode: int) -> str:
    for test, name in [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]:
        if test(mode):
            return name
    return "not a regular file"


def checked_files(submitted: str, student: str, assignment: str, limits: dict) -> dict:
    """-> {name: size} of the files of ``submitted/<student>/<assignment>/`` named in ``limits``
    (name -> largest size) that are there, after checking the whole submission with ``os.lstat``
    (nothing followed): its folders are real folders, every entry a regular file or folder,
    no file larger than ``limits`` or MAX_FILE, all of them together at most MAX_SUBMISSION.
    Raises BadSubmission naming the first that is not."""
    top = os.path.join(submitted, student)
    for d, shown in [(top, student), (os.path.join(top, assignment), f"{student}/{assignment}")]:
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode):
            raise BadSubmission(f"submitted/{shown} is {_kind(st.st_mode)}, not a folder")
    folder, total, found = os.path.join(top, assignment), 0, {}
    for dirpath, dirs, files in os.walk(folder):  # never into a symlinked folder: those are refused
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise BadSubmission(f"{printable(rel)[:200]} is {_kind(st.st_mode)}, not a regular file")
            limit = limits.get(rel, MAX_FILE)
            if st.st_size > limit:
                raise BadSubmission(f"{printable(rel)[:200]} is {st.st_size} bytes, more than the "
                                    f"{limit} a submission's {'notebook' if rel.endswith('.ipynb') else 'file'} may have")
            total += st.st_size
            if total > MAX_SUBMISSION:
                raise BadSubmission(f"the submission is more than {MAX_SUBMISSION} bytes")
            if rel in limits:
                found[rel] = st.st_size
    return found


def copy_regular(src: str, dst: str, size: int) -> None:
    """Copy ``src`` (checked by :func:`checked_files`) without following a symlink put there
    since, and no more than ``size`` bytes: a file that changed under us fails the submission."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # NONBLOCK: a FIFO swapped in
    except OSError as e:
        raise BadSubmission(f"{os.path.basename(src)} could not be opened as a regular file ({e.strerror})") from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            raise BadSubmission(f"{os.path.basename(src)} changed while it was being graded")
        data = f.read(size + 1)
    if len(data) != size:
        raise BadSubmission(f"{os.path.basename(src)} changed while it was being graded")
    with open(dst, "xb") as out:
        out.write(data)


def run_nbgrader(s: Settings, box: Box, uid, result: dict) -> bool:
    """Stock ``nbgrader autograde`` in the box, its kernel sandboxed as ``uid``. -> success."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _nbgrader_config(s, box, uid)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    run = api.autograde(s.assignment, box.student, force=True, create=True)
    if uid is not None:
        kill_user(uid)
    if not run["success"]:
        result["reasons"].append("nbgrader autograde failed: " + last_error(run))
    return run["success"]


def _nbgrader_config(s: Settings, box: Box, uid):
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    from bpkit_grade.kernel import sandboxed_execute

    c = PyFileConfigLoader("nbgrader_config.py", path=s.root).load_config()
    c.CourseDirectory.root = box.path
    c.CourseDirectory.course_id = s.course_id
    c.CourseDirectory.db_url = box.gradebook_url
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.submitted_directory = "submitted"
    c.CourseDirectory.autograded_directory = "autograded"
    c.Execute.timeout = s.timeout
    pps = c.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default())
    c.Autograde.autograde_preprocessors = [sandboxed_execute() if p in (Execute, "nbgrader.preprocessors.Execute")
                                           else p for p in pps]
    # nbgrader runs a notebook where it was submitted (the kernel's cwd), writes it to autograded/
    c.SandboxKernelManager.confinement = s.confinement(uid, box.home("nbgrader"), box.audit_log,
                                                       ro_binds=[box.submitted, box.autograded],
                                                       tripwires=box.tripwires)
    return c


def read_in_kernel_scores(s: Settings, box: Box, nbgrader_ok: bool, result: dict) -> dict:
    """nbgrader's scores from the throwaway gradebook into ``result`` (timestamp, grades).
    -> {grade_id: in-kernel score} of the cells nbgrader scored (empty if nbgrader failed).

    Raises GradebookUnreadable when nbgrader succeeded but its gradebook cannot be read: the
    in-kernel scores are what tampering is detected by."""
    from nbgrader.api import Gradebook, MissingEntry

    in_kernel = {}
    try:
        with Gradebook(box.gradebook_url, s.course_id) as gb:
            submission = gb.find_submission(s.assignment, box.student)
            result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
            for nb in submission.notebooks:
                for g in nb.grades:
                    result["grades"][g.name] = {"notebook": nb.name, "score": g.auto_score,
                                                "max": g.max_score, "manual": g.needs_manual_grade}
                    if nbgrader_ok and g.auto_score is not None and not g.needs_manual_grade:
                        in_kernel[g.name] = g.auto_score
    except MissingEntry as e:
        if nbgrader_ok:
            raise GradebookUnreadable("nbgrader succeeded but its gradebook has no submission "
                                      f"({one_line(e)}): in-kernel scores unknown, tampering not checked") from e
        # nbgrader failed (already a reason) before recording the submission: nothing to read
    except Exception as e:  # noqa: BLE001  (named, and re-raised: the submission fails)
        raise GradebookUnreadable(f"nbgrader's gradebook of this submission could not be read "
                                  f"({one_line(e)}): in-kernel scores unknown, tampering not checked") from e
    return in_kernel


def keep_autograded(s: Settings, box: Box, result: dict) -> str | None:
    """Copy nbgrader's autograded notebooks out of the box (the merge copies them to autograded/):
    regular files only, no symbolic link followed (merge.copy_tree)."""
    if not os.path.isdir(box.autograded):
        return None
    keep = os.path.join(s.workroot, "autograded", box.student)
    shutil.rmtree(keep, ignore_errors=True)
    left_out = copy_tree(box.autograded, keep)
    if left_out:
        result["reasons"].append(f"not kept in autograded/ (not regular files): {printable(', '.join(left_out))[:300]}")
    return keep


def recheck_notebooks(s: Settings, box: Box, exercises, nbgrader_ok: bool, in_kernel: dict,
                      result: dict, fresh_kernel) -> str | None:
    """Re-check each notebook (from the notebook nbgrader ran, or the raw submission) in a fresh
    kernel (``fresh_kernel()`` gives one) and put the verdicts into ``result``.
    -> why a notebook could not be re-checked (the last such reason), or None."""
    failed = None
    for nb_name in s.notebooks:
        mine = [e for e in exercises if s.exercise_notebook[e.grade_id] == nb_name]
        path = os.path.join(box.autograded, f"{nb_name}.ipynb")
        if not (nbgrader_ok and os.path.isfile(path)):
            path = os.path.join(box.submitted, f"{nb_name}.ipynb")
        if not os.path.isfile(path):
            failed = f"{nb_name}.ipynb was not submitted"
            continue
        try:
            r = recheck(path, mine, s.seed, s.timeout, fresh_kernel())
        except Exception as e:  # noqa: BLE001  (reported: e.g. a notebook that is not valid JSON)
            traceback.print_exc()  # into the worker's log
            failed = f"{nb_name}.ipynb could not be re-checked: {one_line(e)}"
            continue
        result["reasons"] += r["notes"]
        result.setdefault("refused", []).extend(r["refused"])
        for ex in mine:
            passed, message, forged = r["verdicts"][ex.grade_id]
            result["exercises"][ex.grade_id] = verdict(ex, passed, message, in_kernel.get(ex.grade_id), forged)
    return failed


def judge(result: dict, exercises, failed: str | None, attempts: list[str]) -> None:
    """The submission's status and reasons, from the verdicts, what failed and the audit."""
    if failed:
        result["reasons"].insert(0, failed)
        if not result["exercises"]:
            result["status"] = STATUS_FAILED
    for ex in exercises:  # not re-checked (notebook missing or unreadable): 0, said why
        result["exercises"].setdefault(ex.grade_id, {"score": 0.0, "max": ex.points, "flag": "",
                                                     "note": "" if failed else "not graded"})
    if any(e["flag"] == "tampering" for e in result["exercises"].values()):
        result["status"] = STATUS_FLAGGED
    refused = result.pop("refused", [])
    if refused:  # refused anyway, so no score changes: the instructor should know
        result["status"] = STATUS_FLAGGED
        result["reasons"].insert(0, f"suspected tampering: student code tried to {refused[0]} "
                                    f"({len(refused)} attempt(s) in the re-check, all refused)")
    if attempts:  # hidden from it anyway, so no score changes: the instructor should know
        result["status"] = STATUS_FLAGGED
        result["access"] = attempts[0]
        result["reasons"].insert(0, f"suspected tampering: student code tried to open {len(attempts)} "
                                    f"hidden path(s), e.g. {attempts[0]}")
    for gid, e in result["exercises"].items():
        if e["note"]:
            result["reasons"].append(f"{gid}: {e['note']}")


def _audit_report(path: str) -> list[str]:
    try:
        with open(path, errors="replace") as f:
            return list(dict.fromkeys(line.split(" ", 1)[-1].strip() for line in f if line.strip()))
    except FileNotFoundError:  # no kernel started with the audit hook wrote to it
        return []


def last_error(run: dict) -> str:
    """The exception line of nbgrader's failure, e.g. ``DeadKernelError: Kernel died``."""
    text = (run.get("log") or "") + "\n" + (run.get("error") or "")
    found = re.findall(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b(?::.*)?)$", text, re.M)
    return found[0].strip()[:300] if found else "see its log"
