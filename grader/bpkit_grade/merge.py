"""The instructor's process: each submission's result into the real gradebook (and
``autograded/``), and ``grades/<assignment>.csv``."""
from __future__ import annotations

import csv
import os
import re
import shutil
import stat

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
        copy_tree(r["autograded"], dest)
        shutil.rmtree(r["autograded"], ignore_errors=True)
        give_back(s.root, os.path.join("autograded", student, asg))


def give_back(root: str, rel: str) -> None:
    """Run as root (``sudo ./course grade``), hand what was written at ``rel`` in the course folder
    (and the folders made on the way to it) to the course folder's owner: the instructor, who
    runs nbgrader on them afterwards, could not change or remove root's files."""
    st = os.stat(root)
    if os.geteuid() != 0 or st.st_uid == 0:
        return
    path = root
    for part in rel.split(os.sep):
        path = os.path.join(path, part)
        os.lchown(path, st.st_uid, st.st_gid)
    for dirpath, dirs, files in os.walk(path):  # follows no link: copy_tree makes none
        for name in dirs + files:
            os.lchown(os.path.join(dirpath, name), st.st_uid, st.st_gid)


#: bytes: the most of one submission's autograded folder that is copied
MAX_TREE = 200 << 20


def copy_tree(src: str, dst: str, limit: int = MAX_TREE) -> list[str]:
    """Copy the folders and regular files under ``src`` to ``dst``, at most ``limit`` bytes,
    never following a symbolic link (the grader is root; a submission's folder may hold a link
    to anything). -> what was left out (links, FIFOs, sockets, devices, what is past the limit)."""
    left_out, total = [], 0
    os.makedirs(dst, exist_ok=True)
    for dirpath, dirs, files in os.walk(src):  # never into a symlinked folder: those are left out
        rel = os.path.relpath(dirpath, src)
        out = os.path.normpath(os.path.join(dst, rel))
        for name in list(dirs):
            if stat.S_ISDIR(os.lstat(os.path.join(dirpath, name)).st_mode):
                os.makedirs(os.path.join(out, name), exist_ok=True)
            else:
                dirs.remove(name)
                left_out.append(os.path.join(rel, name))
        for name in files:
            try:
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                left_out.append(os.path.join(rel, name))
                continue
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode) or total + st.st_size > limit:
                    left_out.append(os.path.join(rel, name))
                    continue
                data = f.read(st.st_size)  # no more than it had when checked
            total += len(data)
            with open(os.path.join(out, name), "xb") as g:
                g.write(data)
    return [os.path.normpath(p) for p in left_out]


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
