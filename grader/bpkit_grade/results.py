"""What grading one submission gives back to the instructor's process: plain data (it crosses a
process boundary), one dict per submission.

``student``, ``status`` (ok, flagged or failed), ``reasons`` (what the instructor should read),
``exercises`` (grade_id -> :func:`verdict`), ``grades`` (grade_id -> nbgrader's own score of the
cell, from the throwaway gradebook), ``timestamp``, ``autograded`` (the folder of nbgrader's
autograded notebooks, or None), ``access`` (a hidden path the student's code tried to open, when
it did) and ``seconds``.
"""
from __future__ import annotations

import re

STATUS_OK, STATUS_FLAGGED, STATUS_FAILED = "ok", "flagged", "failed"

#: control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``text`` (a student id, a reason, an exception message: anything that comes from a
    submission) safe for the instructor's terminal: control characters as ``\\x1b``, ``\\u202e``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", str(text))


def new_result(student: str) -> dict:
    return {"student": student, "status": STATUS_OK, "reasons": [], "grades": {},
            "exercises": {}, "timestamp": None, "autograded": None}


def failure(student: str, reason: str, points: dict) -> dict:
    """A submission that could not be graded: every grade cell 0, with the reason."""
    result = new_result(student)
    result.update(status=STATUS_FAILED, reasons=[reason],
                  exercises={gid: {"score": 0.0, "max": pts, "flag": "", "note": reason}
                             for gid, pts in points.items()})
    return result


def verdict(ex, credit, message: str, in_kernel, forged: bool = False) -> dict:
    """Combine the re-check (which wins) with the in-kernel nbgrader score. ``credit``: the share
    of the points the re-check gave (True/1.0 right, False/0.0 wrong, between for some results
    of several); ``forged``: the re-check's result channel was tampered with (flagged whatever
    the in-kernel score)."""
    points = float(ex.points)
    score = min(points, max(0.0, points * float(credit)))
    flag, note = "", message
    if forged:
        score, flag, note = 0.0, "tampering", f"suspected tampering: {message}"
    elif in_kernel is not None and in_kernel > score + 1e-6:
        flag = "tampering"
        note = (f"suspected tampering: the in-kernel test gave {in_kernel:g}/{points:g} but "
                f"the re-check gave {score:.3g}: {message}")
    elif in_kernel is not None and in_kernel < score - 1e-6:
        flag = "mismatch"
        note = f"the in-kernel test gave {in_kernel:g}/{points:g}, the re-check {score:.3g}" + \
            (f": {message}" if message else "")
    return {"score": score, "max": points, "flag": flag, "note": note, "in_kernel": in_kernel}
