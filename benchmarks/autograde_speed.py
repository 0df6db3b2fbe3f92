"""Seconds per submission: plain `nbgrader autograde` vs `bpkit-grade -j 1` vs `bpkit-grade -j 2`.

    .venv/bin/python benchmarks/autograde_speed.py [N]      (default N = 12 submissions)

Each tool grades the same synthetic class of the toy assignment (tests/fixtures/course) in a
fresh copy of the course: N honest submissions (correct, blank and two typical mistakes, in turn;
no hangs, so that plain nbgrader, which stops at some broken ones, grades them all). Prints a
Markdown table: wall seconds for the whole command and per submission, and CPU seconds per
submission (the command and all it started: on a machine shared with other work, the CPU time is
the steadier number; with k free cores, wall time approaches CPU time / k).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bpkit_grade import synthetic
from bpkit_grade.autograde import load_exercises

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOY_REGISTRY = os.path.join(ROOT, "tests", "fixtures", "toy_exercises.py")  # test data, by path

BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def course_with_class(n: int) -> str:
    course = tempfile.mkdtemp(prefix="bpkit-bench-")
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "course", "solutions"), os.path.join(course, "solutions"))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    subprocess.run(["nbgrader", "generate_assignment", "toy"], cwd=course, env=ENV, check=True, capture_output=True)
    kinds = ["correct", "blank", "mistake_relu", "mistake_chain"]
    exercises = load_exercises(TOY_REGISTRY, "toy")
    synthetic.make_class(course, "toy", exercises, kinds, synthetic.registry_mistakes(TOY_REGISTRY))
    for i in range(n):  # s00, s01, ...: copies of the four kinds in turn
        shutil.copytree(os.path.join(course, "submitted", kinds[i % 4]), os.path.join(course, "submitted", f"s{i:02d}"))
    for kind in kinds:
        shutil.rmtree(os.path.join(course, "submitted", kind))
    return course


def timed(cmd, course) -> tuple[float, float]:
    """-> (wall seconds, CPU seconds of the command and everything it started and waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=course, env=ENV, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    runs = [("plain `nbgrader autograde toy`", "nbgrader", 1, ["nbgrader", "autograde", "toy", "--force"]),
            ("`bpkit-grade toy -j 1`", "bpkit-grade", 1,
             ["bpkit-grade", "toy", "-j", "1", "--exercises", TOY_REGISTRY]),
            ("`bpkit-grade toy -j 2`", "bpkit-grade", 2,
             ["bpkit-grade", "toy", "-j", "2", "--exercises", TOY_REGISTRY])]
    rows = []
    print(f"{n} submissions of the toy assignment; {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| command | wall s | wall s per submission | CPU s per submission |\n|---|---|---|---|")
    for name, pipeline, jobs, cmd in runs:
        course = course_with_class(n)
        try:
            wall, cpu = timed(cmd, course)
        finally:
            shutil.rmtree(course, ignore_errors=True)
        print(f"| {name} | {wall:.1f} | {wall / n:.2f} | {cpu / n:.2f} |", flush=True)
        rows.append({"pipeline": pipeline, "jobs": jobs, "submissions": n, "wall_seconds": round(wall, 1),
                     "seconds_per_submission": round(wall / n, 2),
                     "cpu_seconds_per_submission": round(cpu / n, 2)})
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    # the rows that `python -m benchmarks` puts in its results table (benchmarks/autograde.py)
    out = Path(__file__).resolve().parent / "results" / "autograde.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
