"""``bpkit-grade ASSIGNMENT``: autograde a class with stock nbgrader, isolated and re-checked.

Run from the course root (where ``nbgrader_config.py`` is). For every ``submitted/<student>/<ASSIGNMENT>/``:

1. **Isolated nbgrader run.** A throwaway course folder is made for the submission alone: its
   notebooks, the release files, and a gradebook holding only the assignment (a copy of the real
   one with every student removed). Stock ``nbgrader autograde`` runs there (through
   ``NbGraderAPI``), with the kernel started by :class:`SandboxKernelManager`: as an unprivileged
   uid, with a memory limit, in a mount namespace where the real course shows only the bpkit
   package and the venv (no gradebook, ``solutions/``, ``.git``, other submissions).
2. **Re-check.** A fresh sandboxed process (``bpkit_grade.runner``: an IPython shell fed over a
   pipe, no Jupyter kernel) runs the student's cells (never the test cells), then calls each
   registered exercise function (``bpkit_grade.exercises``) on fresh random inputs and prints the
   result as JSON. The grader compares it with the reference in its own process. That
   verdict is the score; if the in-kernel test cell said otherwise, the exercise is flagged.
3. **Merge.** The instructor's process writes the scores into the real ``gradebook.db`` with
   ``nbgrader.api.Gradebook``, copies the autograded notebook to ``autograded/`` (so the
   formgrader and ``nbgrader generate_feedback`` work as usual), and writes
   ``grades/<ASSIGNMENT>.csv``: one row per submission with per-exercise scores, status and reason.

Submissions are graded by ``-j`` worker processes in parallel (each with its own sandbox uid and
its own throwaway gradebook, merged afterwards: nbgrader issue #174). A crash, hang, ``os._exit``,
huge allocation, invalid JSON or duplicated/deleted cells costs that exercise or that submission,
never the class, and is reported by name with its reason.

Where it lives: ``settings`` (what a run knows), ``kernel`` (nbgrader's sandboxed kernel; the only
module importing ``jupyter_client``), ``runner`` (the re-check's process), ``recheck``,
``submission`` (grading one submission, step by step), ``results`` (what that gives back), ``pool`` (the ``-j`` workers), ``merge`` (gradebook
and CSV); this module is the command.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings

from bpkit_grade.merge import give_back, merge, write_csv
from bpkit_grade.recheck import compare, decode, encode
from bpkit_grade.results import STATUS_FAILED, STATUS_FLAGGED, STATUS_OK, printable
from bpkit_grade.settings import Settings, load_exercises, preflight, prepare

__all__ = ["main", "load_exercises", "encode", "decode", "compare", "write_csv", "merge", "prepare",
           "preflight", "Settings", "STATUS_OK", "STATUS_FLAGGED", "STATUS_FAILED"]


def parser() -> argparse.ArgumentParser:
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
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    # nbgrader runs `alembic` (and kernels `python`) from PATH: make it this environment's
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    warnings.filterwarnings("ignore", message="Object of type .* not in session")  # nbgrader's own noise
    t_start = time.monotonic()
    s = prepare(args)
    try:
        preflight(s)
        if not s.students:
            print(f"bpkit-grade: no submissions of {args.assignment!r} in submitted/", file=sys.stderr)
            return 1
        if s.unchecked:
            print(f"bpkit-grade: note: {', '.join(s.unchecked)} not in the exercise registry: "
                  "scored by the in-kernel test only", file=sys.stderr)
        jobs = max(1, min(args.jobs, len(s.students)))
        print(f"bpkit-grade: {args.assignment}: {len(s.students)} submissions, {jobs} at a time, "
              f"{s.timeout} s per cell, {args.memory} MiB per kernel", flush=True)
        results = grade_all(s, jobs)
        csv_path = os.path.join(s.root, "grades", f"{args.assignment}.csv")
        write_csv(csv_path, s.points, results)
        give_back(s.root, os.path.relpath(csv_path, s.root))
        summary(args.assignment, results, csv_path, time.monotonic() - t_start)
        return 0
    finally:
        shutil.rmtree(s.workroot, ignore_errors=True)


def grade_all(s: Settings, jobs: int) -> dict:
    """Grade every student with ``jobs`` workers, merging and printing each result as it comes.
    -> {student: result}."""
    from nbgrader.api import Gradebook

    from bpkit_grade.pool import Pool

    results, pool = {}, Pool(jobs, s)
    total_max, n_all = sum(s.points.values()), len(s.students)
    try:
        with Gradebook(s.db_url, s.course_id) as gb:
            for n, r in enumerate(pool.run(s.students), 1):
                merge(gb, s, r)
                results[r["student"]] = r
                print(progress_line(n, n_all, r, total_max), flush=True)
    finally:
        pool.close()
    return results


def progress_line(n: int, n_all: int, r: dict, total_max: float) -> str:
    """One submission's line on the terminal: what came from the submission (its id, the
    reasons) with its control characters escaped (results.printable)."""
    score = sum(e["score"] for e in r["exercises"].values())
    why = ("  " + printable("; ".join(r["reasons"]))[:160]) if r["status"] != STATUS_OK else ""
    return (f"[{n:>{len(str(n_all))}}/{n_all}] {printable(r['student']):<20} "
            f"{score:g}/{total_max:g}  {r['status']:<8} {r['seconds']:6.1f} s{why}")


def summary(assignment: str, results: dict, csv_path: str, wall: float) -> None:
    bad = {k: [printable(r["student"]) for r in results.values() if r["status"] == k]
           for k in (STATUS_FLAGGED, STATUS_FAILED)}
    print(f"bpkit-grade: {len(results)} graded in {wall:.1f} s ({wall / len(results):.2f} s per submission "
          f"wall, {sum(r['seconds'] for r in results.values()) / len(results):.2f} s each in a worker); "
          f"flagged: {', '.join(bad[STATUS_FLAGGED]) or 'none'}; failed: {', '.join(bad[STATUS_FAILED]) or 'none'}")
    print(f"bpkit-grade: wrote {os.path.relpath(csv_path)} and the gradebook; "
          f"`nbgrader generate_feedback {assignment}` and `nbgrader export` work as usual")


def __getattr__(name):
    """The kernel managers, as ``bpkit_grade.autograde.SandboxKernelManager`` (docs/instructor.md),
    without importing jupyter_client for everything else."""
    if name == "SandboxKernelManager":
        from bpkit_grade import kernel
        return getattr(kernel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
