"""Seconds per submission: plain `nbgrader autograde` vs `bpkit-grade -j 1` vs `bpkit-grade -j 2`.

    .venv/bin/python benchmarks/autograde_speed.py [-n 24] [--repeats 3] [--assignment A]

(as root, from the repository; default: 24 submissions of 01-computational-graphs, 3 rounds).
Each round grades the same synthetic class of a real assignment (bpkit_grade.synthetic: correct,
blank, crashing and warning submissions in turn -- nothing that hangs, so that plain nbgrader
grades them all) once with each command, side by side, each in a fresh copy of the course.
Prints a Markdown table of the medians over the rounds: wall seconds per submission (the whole
command, start-up included, divided by the submissions), CPU seconds per submission (the command
and everything it started: on a shared machine the steadier number), and the ratios the targets
are about: `-j 1` over plain nbgrader (target: at most 1) and the speed-up of `-j 2` over `-j 1`
(target: at least 1.8 on two free cores). Writes the rows to benchmarks/results/autograde.json
(or --out), which `python -m benchmarks` puts in its report.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bpkit_grade import synthetic
from bpkit_grade.settings import load_exercises

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
KINDS = ["correct", "blank", "crash", "warning"]
#: sandbox uids of this run only (2 per worker), away from other runs' on a shared machine
UID_BASE = 200000 + (os.getpid() % 10000) * 8


def course_with_class(assignment: str, n: int, where: str) -> str:
    """A course folder with the released assignment and ``n`` submissions s00, s01, ...
    (the KINDS in turn)."""
    course = tempfile.mkdtemp(prefix="bpkit-bench-", dir=where)
    shutil.copytree(os.path.join(ROOT, "solutions", assignment), os.path.join(course, "solutions", assignment))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    subprocess.run(["nbgrader", "generate_assignment", assignment], cwd=course, env=ENV, check=True,
                   capture_output=True)
    synthetic.make_class(course, assignment, load_exercises("", assignment), KINDS)
    for i in range(n):
        shutil.copytree(os.path.join(course, "submitted", KINDS[i % len(KINDS)]),
                        os.path.join(course, "submitted", f"s{i:02d}"))
    for kind in KINDS:
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
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def commands(assignment: str) -> list[tuple[str, str, int, list[str]]]:
    grade = ["bpkit-grade", assignment, "--uid-base", str(UID_BASE)]
    return [("plain `nbgrader autograde`", "nbgrader", 1, ["nbgrader", "autograde", assignment, "--force"]),
            ("`bpkit-grade -j 1`", "bpkit-grade", 1, grade + ["-j", "1"]),
            ("`bpkit-grade -j 2`", "bpkit-grade", 2, grade + ["-j", "2"])]


def measure(assignment: str, n: int, repeats: int, where: str) -> list[dict]:
    """Every command once per round, in a fresh copy of the same class. -> one row per command,
    with the per-round numbers and their medians."""
    runs = commands(assignment)
    walls, cpus = {name: [] for name, *_ in runs}, {name: [] for name, *_ in runs}
    template = course_with_class(assignment, n, where)
    try:
        for r in range(repeats):
            for name, _, _, cmd in runs:
                course = tempfile.mkdtemp(prefix="bpkit-bench-run-", dir=where)
                shutil.copytree(template, course, dirs_exist_ok=True)
                try:
                    wall, cpu = timed(cmd, course)
                finally:
                    shutil.rmtree(course, ignore_errors=True)
                walls[name].append(wall / n)
                cpus[name].append(cpu / n)
                print(f"  round {r + 1}: {name}: {wall:.1f} s, {wall / n:.2f} s per submission "
                      f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(template, ignore_errors=True)
    return [{"pipeline": pipeline, "jobs": jobs, "command": " ".join(cmd), "assignment": assignment,
             "submissions": n, "rounds": repeats,
             "seconds_per_submission": round(statistics.median(walls[name]), 3),
             "cpu_seconds_per_submission": round(statistics.median(cpus[name]), 3),
             "wall_per_submission_each_round": [round(x, 3) for x in walls[name]],
             "cpu_per_submission_each_round": [round(x, 3) for x in cpus[name]]}
            for name, pipeline, jobs, cmd in runs]


def ratios(rows: list[dict]) -> dict:
    """The two targets' numbers, from the medians of ``rows`` (plain, -j 1, -j 2)."""
    plain, j1, j2 = (row["seconds_per_submission"] for row in rows)
    return {"j1_over_plain": round(j1 / plain, 3), "speedup_j2_over_j1": round(j1 / j2, 3),
            "j2_over_plain": round(j2 / plain, 3)}


def table(rows: list[dict], r: dict) -> str:
    names = [name for name, *_ in commands(rows[0]["assignment"])]
    lines = ["| command | wall s per submission | CPU s per submission | rounds (wall s per submission) |",
             "|---|---|---|---|"]
    for name, row in zip(names, rows):
        rounds = ", ".join(f"{x:.2f}" for x in row["wall_per_submission_each_round"])
        lines.append(f"| {name} | {row['seconds_per_submission']:.2f} | {row['cpu_seconds_per_submission']:.2f} "
                     f"| {rounds} |")
    lines += ["", "| ratio (medians) | measured | target |", "|---|---|---|",
              f"| `-j 1` / plain nbgrader | {r['j1_over_plain']:.2f} | at most 1 |",
              f"| speed-up `-j 2` over `-j 1` | {r['speedup_j2_over_j1']:.2f} | at least 1.8 (two free cores) |",
              f"| `-j 2` / plain nbgrader | {r['j2_over_plain']:.2f} | |"]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=24, help="submissions in the class (24)")
    p.add_argument("--repeats", type=int, default=3, help="rounds; the table shows medians (3)")
    p.add_argument("--assignment", default="01-computational-graphs")
    p.add_argument("--out", default=os.path.join(HERE, "results", "autograde.json"))
    p.add_argument("--workdir", default=None, help="where the course copies go (default: $TMPDIR)")
    a = p.parse_args(argv)
    if a.n < 1 or a.repeats < 1:
        p.error("-n and --repeats must be at least 1")
    load0 = os.getloadavg()[0]
    rows = measure(a.assignment, a.n, a.repeats, a.workdir)
    r = ratios(rows)
    print(f"{a.n} submissions of {a.assignment}, {a.repeats} round(s); {os.cpu_count()} cores; "
          f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print(table(rows, r))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"rows": rows, "ratios": r, "load_before": load0,
                                       "load_after": os.getloadavg()[0], "cores": os.cpu_count()},
                                      indent=1) + "\n")
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
