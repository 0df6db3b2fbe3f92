"""Autograding numbers, read from what the autograder left behind (this module grades nothing).

Two sources, both optional:
  * ``benchmarks/results/autograde.json`` (or ``--autograde-json``): written by whoever benchmarks
    the grading pipeline, a list of rows like
    {"pipeline": "bpkit-grade" | "nbgrader", "jobs": 2, "submissions": 20,
     "seconds_per_submission": 3.1, "wall_seconds": 31.0}
  * ``grades/<assignment>.csv`` in a course folder (``--course``), as bpkit-grade writes it: its
    ``seconds`` column is the time each submission took in a worker.
"""
from __future__ import annotations

import csv
import json
import os
import statistics
from pathlib import Path


def from_json(path):
    path = Path(path)
    if not path.is_file():
        return None
    rows = json.loads(path.read_text())
    return rows if isinstance(rows, list) else rows.get("rows", [])


def from_grades(course):
    found = []
    for csv_path in sorted(Path(course).glob("grades/*.csv")):
        with open(csv_path, newline="") as f:
            secs = [float(r["seconds"]) for r in csv.DictReader(f) if r.get("seconds")]
        if secs:
            found.append({"pipeline": "bpkit-grade (grades csv)", "assignment": csv_path.stem,
                          "submissions": len(secs),
                          "seconds_per_submission": statistics.median(secs)})
    return found


def collect(json_path, course, root=None):
    rows = (from_json(json_path) or []) + from_grades(course)
    if not rows:
        def show(p):
            return os.path.relpath(p, root) if root else str(p)
        return {"rows": [], "note": "no autograding numbers found (neither "
                f"{show(json_path)} nor {show(Path(course) / 'grades')}/*.csv with a seconds "
                "column)"}
    return {"rows": rows}
