"""``nbgrader collect`` that refuses what nbgrader's default exchange only warns about, or follows
(issue 10): the course's ``nbgrader_config.py`` sets ``c.ExchangeFactory.collect`` to
:class:`SafeCollect` where bpkit_grade is installed (the instructor's machine).

* a submission whose folder in ``inbound/`` is not owned by the account of the student id in its
  name (``bob`` handing in as ``ann``) is not collected: nbgrader's ``check_owner`` only warns;
* a submission holding a symbolic link, FIFO, socket or device is not collected: nbgrader copies
  it with ``shutil.copytree``, which follows a link to anything the instructor can read (the
  solutions arrived in ``submitted/`` as a file).
Each refusal is logged as an error naming the submission and why; the others are collected as usual.
"""
from __future__ import annotations

import os
import pwd
import stat

from nbgrader.exchange.default.collect import ExchangeCollect


def refusal(path: str, student: str) -> str | None:
    """-> why the inbound submission folder ``path`` claimed by ``student`` is refused, or None."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = f"uid {st.st_uid} (no such user)"
    if owner != student:
        return f"it is owned by {owner}, not by {student}"
    for dirpath, dirs, files in os.walk(path):  # a symlinked folder is listed, never entered
        for name in dirs + files:
            mode = os.lstat(os.path.join(dirpath, name)).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                rel = os.path.relpath(os.path.join(dirpath, name), path)
                return f"{rel!r} is not a regular file or folder (a symbolic link, FIFO, socket or device)"
    return None


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, minus the submissions :func:`refusal` refuses."""

    def init_src(self):
        super().init_src()
        kept = []
        for rec in self.src_records:
            why = refusal(os.path.join(self.inbound_path, rec["filename"]), rec["username"])
            if why:
                self.log.error("Not collecting %s: %s", rec["filename"], why)
            else:
                kept.append(rec)
        self.src_records = kept
