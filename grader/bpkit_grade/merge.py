"""The instructor's process: each submission's result into the real gradebook (and
``autograded/``), and ``grades/<assignment>.csv``."""
from __future__ import annotations

import csv
import os
import re
import shutil

from bpkit_grade.results import STATUS_FAILED, STATUS_OK


def merge(gb, s, r: dict) -> None:
    """Write one submission's result into the real gradebook ``gb`` (and autograded/);
    ``s``: the run's Settings."""
    from nbgrader.utils import parse_utc
    asg, student = s.assignment, r["student"]
    gb.update_or_create_student(student)
    kwargs = {"timestamp": parse_utc(r["timestamp"])} if r["timestamp"] else {}
    submission = gb.update_or_create_submission(asg, student, **kwargs)
    for nb in submission.notebooks:
        nb.flagged = r["status"] != STATUS_OK
        for g in nb.grades:
            if g.name in r["exercises"]:
                # the re-check's score (a share of the points for some results of several)
                g.auto_score = min(float(r["exercises"][g.name]["score"]), float(g.max_score))
                g.needs_manual_grade = False
            elif g.name in r["grades"] and r["status"] != STATUS_FAILED:
                g.auto_score, g.needs_manual_grade = r["grades"][g.name]["score"], r["grades"][g.name]["manual"]
            else:
                g.auto_score, g.needs_manual_grade = 0.0, False
    gb.db.commit()
    dest = os.path.join(s.root, "autograded", student, asg)
    if r["autograded"]:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(r["autograded"], dest)
        shutil.rmtree(r["autograded"], ignore_errors=True)


def write_csv(path: str, points: dict, results: dict) -> None:
    """grades/<assignment>.csv: one row per submission (rows of students not graded now are kept).
    ``points``: grade_id -> points of every grade cell (Settings.points)."""
    gids = list(points)
    rows = {}
    if os.path.exists(path):
        with open(path, newline="") as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
    for student, r in results.items():
        ex = r["exercises"]
        row = {"student": student, "status": r["status"],
               "score": f"{sum(e['score'] for e in ex.values()):g}",
               "max_score": f"{sum(points.values()):g}"}
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
