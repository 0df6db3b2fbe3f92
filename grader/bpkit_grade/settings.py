"""What one ``bpkit-grade`` run knows before it grades anyone: :class:`Settings`, built by
:func:`prepare` from the command line and the course, checked by :func:`preflight`.

The settings are plain data (every worker process gets a copy) and need neither a
kernel nor Jupyter to import.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import pwd
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from bpkit_grade import tripwire
from bpkit_grade.sandbox import Confinement, NoSandbox


@dataclass(frozen=True)
class Settings:
    """One run's settings, the same for every submission (treat the dicts as read-only)."""

    root: str                        # the course folder (where nbgrader_config.py is)
    assignment: str
    course_id: str
    db_url: str                      # the real gradebook
    workroot: str                    # this run's throwaway folder (removed at the end)
    template_db: str                 # the gradebook holding the assignment only, no students
    release_files: str               # the release folder's files other than notebooks
    notebooks: tuple[str, ...]       # the assignment's notebook names
    students: tuple[str, ...]        # who is graded now
    exercises: str                   # the registry: "" (bpkit_grade.exercises), MODULE or file.py
    exercise_notebook: dict          # grade_id -> notebook of each registered exercise
    points: dict                     # grade_id -> points, for every grade cell
    unchecked: tuple[str, ...]       # grade cells without a registered exercise
    timeout: int                     # seconds per cell
    memory: int                      # bytes per kernel
    submission_timeout: int          # seconds per submission
    seed: int                        # of the re-check's inputs
    jobs: int
    uid_base: int | None             # first sandbox uid; None when not root
    roots: tuple[str, ...]           # the sandbox's view of the file system (see sandbox.confine)
    keep: tuple[str, ...]
    hide: tuple[str, ...]
    hide_recheck: tuple[str, ...]    # hidden from the re-check only: the exercise registry
    tripwires: tuple[tuple[str, bool], ...]  # the stand-ins of hidden paths (tripwire.plan)

    @property
    def db_file(self) -> str:
        return self.db_url[len("sqlite:///"):]

    def uids(self, slot: int) -> tuple[int | None, int | None]:
        """The sandbox uids of worker ``slot``: nbgrader's kernel, the re-check's kernels."""
        if self.uid_base is None:
            return None, None
        return self.uid_base + 2 * slot, self.uid_base + 2 * slot + 1

    def confinement(self, uid: int | None, home: str, audit: str = "", recheck: bool = False,
                    binds: tuple = (), ro_binds: tuple = (), tripwires=None) -> Confinement:
        """A sandbox that sees, of this run's work folder, only ``home``, ``binds`` (writable) and
        ``ro_binds`` (read-only): one submission's own folders; ``tripwires`` (its
        :class:`~bpkit_grade.tripwire.Tripwires`): stand-ins at the hidden paths."""
        hide = self.hide + self.hide_recheck if recheck else self.hide
        wired = tripwires.binds(skip=() if recheck else self.hide_recheck) if tripwires else ()
        return Confinement(memory=self.memory, home=home, uid=uid, roots=self.roots, keep=self.keep,
                           hide=hide, audit=audit, cover=(self.workroot,), binds=tuple(binds),
                           ro_binds=tuple(ro_binds), tripwires=wired)


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


def one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def prepare(args) -> Settings:
    """Check the course and build the settings every worker gets."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = os.path.abspath(args.course)
    if not os.path.isfile(os.path.join(root, "nbgrader_config.py")):
        sys.exit(f"bpkit-grade: no nbgrader_config.py in {root}: run it from the course root (or --course)")
    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    config.CourseDirectory.root = root
    coursedir = CourseDirectory(config=config)
    db_url = coursedir.db_url
    db_file = db_url[len("sqlite:///"):] if db_url.startswith("sqlite:///") else None
    if not db_file or not os.path.exists(db_file):
        sys.exit(f"bpkit-grade: no gradebook at {db_url}: run `nbgrader generate_assignment {args.assignment}` first")
    workroot = tempfile.mkdtemp(prefix="bpkit-grade-", dir=args.workdir)
    os.chmod(workroot, 0o711)
    try:
        return _prepare(args, root, config, coursedir, db_url, db_file, workroot)
    except BaseException:
        shutil.rmtree(workroot, ignore_errors=True)
        raise


def _prepare(args, root, config, coursedir, db_url, db_file, workroot) -> Settings:
    asg = args.assignment
    template = os.path.join(workroot, "template.db")
    notebooks, cells = _template_gradebook(db_file, template, coursedir.course_id, asg)
    try:
        exercises = load_exercises(args.exercises, asg)
    except (KeyError, ImportError, FileNotFoundError) as e:
        sys.exit(f"bpkit-grade: no exercise registry for {asg!r} ({one_line(e)}): pass --exercises MODULE")
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
    if os.path.isdir(release):
        shutil.copytree(release, release_files, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    else:
        os.makedirs(release_files)
    roots, keep, hide, hide_recheck, folders = _sandbox_view(args, root, config, db_file, release)
    wired = _secrets(folders, keep, workroot) + list(hide) + list(hide_recheck)
    private = [coursedir.format_path(d, ".", ".") for d in (coursedir.submitted_directory,
               coursedir.autograded_directory, coursedir.feedback_directory)]
    private += [os.path.join(root, "grades"), _exchange(config)]  # named after students
    timeout = args.timeout or int(config.Execute.get("timeout", 30) or 30)
    return Settings(
        root=root, assignment=asg, course_id=coursedir.course_id, db_url=db_url, workroot=workroot,
        template_db=template, release_files=release_files, notebooks=tuple(notebooks),
        students=tuple(_students(args, coursedir, asg)), exercises=args.exercises,
        exercise_notebook={e.grade_id: cells[e.grade_id][0] for e in exercises},
        points={e.grade_id: float(e.points) for e in exercises} | {g: float(cells[g][1]) for g in unchecked},
        unchecked=tuple(unchecked), timeout=timeout, memory=args.memory << 20,
        submission_timeout=args.submission_timeout,
        seed=args.seed if args.seed is not None else secrets.randbits(32), jobs=args.jobs,
        uid_base=_uid_base(args), roots=roots, keep=keep, hide=hide, hide_recheck=hide_recheck,
        # the work folder too: the only way to a classmate's sandbox is listing it (mkdtemp names)
        tripwires=tripwire.plan(wired + [workroot], {os.path.abspath(p) for p in private + [workroot]}))


def _template_gradebook(db_file: str, template: str, course_id: str, asg: str):
    """Copy the gradebook to ``template``, keeping only ``asg`` and no students.
    -> (notebook names, {grade cell: (notebook, max score)})."""
    from nbgrader.api import Gradebook, MissingEntry

    with sqlite3.connect(db_file) as src, sqlite3.connect(template) as dst:
        src.backup(dst)
    os.chmod(template, 0o600)
    with Gradebook("sqlite:///" + template, course_id) as gb:
        try:
            assignment = gb.find_assignment(asg)
        except MissingEntry:
            sys.exit(f"bpkit-grade: assignment {asg!r} is not in the gradebook: run "
                     f"`nbgrader generate_assignment {asg}` first")
        notebooks = [nb.name for nb in assignment.notebooks]
        cells = {c.name: (nb.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells}
        for student in list(gb.students):
            gb.remove_student(student.id)
        for other in [a for a in gb.assignments if a.name != asg]:
            gb.remove_assignment(other.name)
    return notebooks, cells


def _students(args, coursedir, asg: str) -> list[str]:
    submitted = coursedir.format_path(coursedir.submitted_directory, ".", ".")
    students = sorted(d for d in os.listdir(submitted)
                      if os.path.isdir(os.path.join(submitted, d, asg))) if os.path.isdir(submitted) else []
    if args.student:
        missing = sorted(set(args.student) - set(students))
        if missing:
            sys.exit(f"bpkit-grade: no submission of {asg!r} for {', '.join(missing)} in {submitted}")
        students = [st for st in students if st in args.student]
    return students


def _exchange(config) -> str:
    return os.path.abspath(config.Exchange.get("root", "/srv/nbgrader/exchange"))


def _sandbox_view(args, root, config, db_file, release):
    """-> (roots, keep, hide, hide_recheck, folders): what a sandboxed kernel may see. In the
    course folder only bpkit, bpkit_grade (the hidden tests of nbgrader's run import it; the
    re-check hides its registry) and the venv; ``folders``: the course and the checkouts bpkit
    is installed from, whose every other name is hidden."""
    import bpkit
    import bpkit_grade
    import bpkit_grade.exercises

    packages = [os.path.dirname(os.path.abspath(m.__file__)) for m in (bpkit, bpkit_grade)]
    keep = packages + [sys.prefix, sys.base_prefix, os.path.abspath(release)]
    roots = {root} | {d for p in keep for d in _not_world_reachable(p)}
    folders = [root]
    for package in packages:  # installed from a checkout (pip -e): hide the rest of it (solutions/)
        if not package.startswith(os.path.abspath(sys.prefix) + os.sep):
            roots.add(os.path.dirname(package))
            folders.append(os.path.dirname(package))
    hide = [db_file] + _git_dirs(root) + [os.path.abspath(p) for p in args.hide]
    exchange = _exchange(config)  # everyone's inbound submissions
    hide += [exchange] if os.path.isdir(exchange) else []
    registry = [os.path.dirname(os.path.abspath(bpkit_grade.exercises.__file__))]
    if args.exercises.endswith(".py"):
        registry.append(os.path.abspath(args.exercises))
    elif args.exercises:
        registry.append(os.path.abspath(importlib.import_module(args.exercises).__file__))
    return tuple(sorted(roots)), tuple(keep), tuple(hide), tuple(registry), list(dict.fromkeys(folders))


def _secrets(folders, keep, workroot: str) -> list[str]:
    """What the sandbox hides of ``folders`` (the course, a checkout bpkit is installed from): each
    name there but the ways to ``keep`` and to the run's work folder."""
    out = []
    for top in folders:
        for e in os.scandir(top):
            if not any(p == e.path or p.startswith(e.path + os.sep) for p in list(keep) + [workroot]):
                out.append(e.path)
    return out


def _uid_base(args) -> int | None:
    """The first sandbox uid (its 2 * jobs uids must be free), or None when not root."""
    if os.geteuid() != 0:
        print("bpkit-grade: warning: not root, so student code runs as you, without a private view of "
              "the file system: the gradebook and solutions/ are reachable (see docs/instructor.md)",
              file=sys.stderr)
        return None
    for uid in range(args.uid_base, args.uid_base + 2 * args.jobs):
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:  # no such user: free
            continue
        sys.exit(f"bpkit-grade: sandbox uid {uid} belongs to user {owner!r}: pick free uids with --uid-base")
    return args.uid_base


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


def preflight(s: Settings) -> None:
    """Start the sandbox once: it must see bpkit, numpy and ipykernel, and nothing else. Not
    root, there is no sandbox (``_uid_base`` said so): the kernel must still start."""
    home = tempfile.mkdtemp(dir=s.workroot)
    uid = s.uid_base
    if uid is not None:
        os.chown(home, uid, uid)
    probe = "import bpkit, numpy, ipykernel, os\n"
    if uid is not None:
        probe += (f"assert not os.path.exists({s.db_file!r}), 'gradebook visible'\n"
                  f"assert not os.path.exists({s.template_db!r}), 'the run\\'s work folder visible'\n"
                  "assert [p for p in os.listdir('/proc') if p.isdigit()] == ['1', '2'], 'other processes visible'\n"
                  "assert len(open('/proc/net/tcp').readlines()) == 1, 'the host network visible'\n")
    try:
        cmd = s.confinement(uid, home).argv([sys.executable, "-c", probe])
    except NoSandbox as e:
        sys.exit(f"bpkit-grade: no sandbox for student code: {e}")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=home)
    if done.returncode != 0:
        sys.exit("bpkit-grade: the sandbox for student code does not work here:\n"
                 + done.stderr.strip()[-2000:] + "\n(see docs/instructor.md, 'How bpkit-grade works, and what it guarantees')")
    shutil.rmtree(home, ignore_errors=True)
