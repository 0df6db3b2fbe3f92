"""Tripwires: what a sandbox hides is there as an empty stand-in that the grader watches.

In a sandbox the gradebook, ``solutions/``, ``source/``, ``.git``, ``submitted/``, the exchange
and the rest of the course folder are not themselves: each is a stand-in bound in from a folder
of the submission's own -- an empty file, or a folder that holds stand-ins of the names in it
(never their content; nothing at all in the folders named after students, nor in the run's
work folder, where a sandbox binds only its own submission's folders back in). The grader watches
the stand-ins with inotify from outside the sandbox. So it is the Linux kernel, not the
student's process, that says a stand-in was opened or listed: student code can neither silence
that report nor make it up, unlike the audit hook in its own process (``bpkit_grade._audit``,
still there for the paths no stand-in covers). What it can do unreported is look without opening
(``os.stat``, ``os.path.exists``), which shows an empty file or folder and nothing more.

:func:`plan` decides the stand-ins once per run; :class:`Tripwires` plants and watches them for
one submission, and :meth:`Tripwires.tripped` says what was opened.
"""
from __future__ import annotations

import os
import shutil
from collections import deque

from inotify_simple import INotify, flags

#: stand-ins per hidden path (breadth first: the names nearest the top are kept) and levels below it
PER_PATH = 64
DEPTH = 3


def plan(hidden, private=(), per_path: int = PER_PATH, depth: int = DEPTH) -> tuple[tuple[str, bool], ...]:
    """(path, is a folder) for each stand-in: every path of ``hidden`` that exists, then, but for
    those in ``private`` (folders named after students), the names below it, breadth first."""
    out, seen = [], set()
    for top in sorted({os.path.abspath(p) for p in hidden}):
        if any(top.startswith(s + os.sep) for s in seen) or not os.path.lexists(top):
            continue  # inside another hidden path: a stand-in there already, or nothing
        seen.add(top)
        is_dir = os.path.isdir(top) and not os.path.islink(top)
        out.append((top, is_dir))
        queue, left = deque([(top, 1)] if is_dir and top not in private else []), per_path
        while queue and left:
            folder, level = queue.popleft()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries[:left]:
                sub = e.is_dir(follow_symlinks=False)
                out.append((e.path, sub))
                if sub and level < depth:
                    queue.append((e.path, level + 1))
            left -= min(left, len(entries))
    return tuple(out)


class Tripwires:
    """One submission's stand-ins, planted under ``folder`` (``folder`` + the path each stands
    for) and watched from the moment they are there."""

    def __init__(self, stand_ins: tuple[tuple[str, bool], ...], folder: str):
        self.folder = folder
        folders = {p for p, is_dir in stand_ins if is_dir}
        #: the hidden paths themselves (what a sandbox binds a stand-in over)
        self.tops = tuple(p for p, _ in stand_ins if os.path.dirname(p) not in folders)
        try:
            self._inotify = INotify()
        except OSError as e:
            raise OSError(e.errno, f"cannot watch the hidden paths' stand-ins: inotify: {e.strerror} "
                                   "(raise sysctl fs.inotify.max_user_instances)") from e
        self._watched: dict[int, str] = {}
        try:
            for path, is_dir in stand_ins:  # parents come before their names (plan's order)
                where = self.stand_in(path)
                if is_dir:
                    os.makedirs(where, mode=0o755)
                else:
                    os.makedirs(os.path.dirname(where), mode=0o755, exist_ok=True)
                    os.close(os.open(where, os.O_CREAT | os.O_WRONLY, 0o444))
            for path, is_dir in stand_ins:
                if is_dir or path in self.tops:  # a folder's watch sees its names opened
                    self._watched[self._inotify.add_watch(self.stand_in(path), flags.OPEN)] = path
        except OSError as e:
            self.close()
            raise OSError(e.errno, f"cannot plant or watch the stand-ins of the hidden paths in {folder}: "
                                   f"{e.strerror} (for inotify: raise sysctl fs.inotify.max_user_watches)") from e
        except BaseException:
            self.close()
            raise

    def stand_in(self, path: str) -> str:
        return self.folder + path

    def binds(self, skip=()) -> tuple[tuple[str, str], ...]:
        """(hidden path, its stand-in) for a sandbox (``Confinement.tripwires``), but ``skip``."""
        return tuple((p, self.stand_in(p)) for p in self.tops if p not in skip)

    def tripped(self) -> list[str]:
        """The hidden paths opened or listed so far, first first."""
        seen = []
        while True:
            events = self._inotify.read(timeout=0)
            if not events:
                return list(dict.fromkeys(seen))
            for e in events:
                if e.mask & flags.Q_OVERFLOW:
                    seen.append("(more hidden paths than the report holds)")
                elif e.wd in self._watched:
                    seen.append(os.path.join(self._watched[e.wd], e.name) if e.name else self._watched[e.wd])

    def close(self) -> None:
        """Stop watching (before the stand-ins go: removing them is no attempt) and remove them."""
        self._inotify.close()
        shutil.rmtree(self.folder, ignore_errors=True)
