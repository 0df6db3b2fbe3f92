"""The ``-j`` worker processes: each grades one submission at a time with its own sandbox uids
and its own throwaway gradebook (nbgrader issue #174); a worker that dies or takes longer than
``--submission-timeout`` costs that submission only and is replaced. Workers are forked from the
instructor's process, so they start without importing anything."""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import time
import traceback
from collections import deque

from bpkit_grade.results import failure
from bpkit_grade.sandbox import kill_user
from bpkit_grade.settings import Settings


def grade_or_fail(s: Settings, student: str, uid, grade=None) -> dict:
    """``grade(s, student, uid)`` (default: grade_submission), timed; an error of the grader
    becomes a failed submission that names it (its traceback goes to the worker's log)."""
    if grade is None:
        from bpkit_grade.submission import grade_submission as grade
    t0 = time.monotonic()
    try:
        result = grade(s, student, uid)
    except Exception:  # noqa: BLE001  (reported as the submission's reason, never dropped)
        result = failure(student, "grader error: " + traceback.format_exc().strip().splitlines()[-1], s.points)
        traceback.print_exc()
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result


def _worker(slot: int, conn, s: Settings):
    log = open(os.path.join(s.workroot, f"worker-{slot}.log"), "a")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    uid, _ = s.uids(slot)
    while True:
        try:
            student = conn.recv()
        except EOFError:
            return
        if student is None:
            return
        conn.send(grade_or_fail(s, student, uid))


class Pool:
    """``jobs`` worker processes; one submission each at a time; a stuck one is killed."""

    def __init__(self, jobs: int, s: Settings):
        # forked: a worker starts with nbgrader and Jupyter imported already (2.5 s of CPU each
        # when spawned). The instructor's process has no threads; what else a worker inherits
        # stays out of student code's reach: that only runs in the sandboxed processes it execs
        self.s, self.ctx = s, mp.get_context("fork")
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
        for uid in self.s.uids(slot):
            if uid is not None:
                kill_user(uid)
        self.slots[slot] = self._spawn(slot)

    def _failed(self, student: str, reason: str, t0: float) -> dict:
        return dict(failure(student, reason, self.s.points), seconds=round(time.monotonic() - t0, 2))

    def run(self, students):
        """Yield each student's result as it is done."""
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
                    yield self._failed(student, "the grading process died", t0)
            for slot, (student, t0) in list(self.busy.items()):
                if time.monotonic() - t0 > self.s.submission_timeout:
                    del self.busy[slot]
                    self._replace(slot)
                    yield self._failed(student, f"took longer than {self.s.submission_timeout} s "
                                                "in all (--submission-timeout)", t0)

    def close(self):
        for proc, conn in self.slots:
            try:
                conn.send(None)
            except OSError:  # that worker is gone already (BrokenPipeError)
                pass
        for proc, _ in self.slots:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
