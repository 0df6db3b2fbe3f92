"""`./course reset 01`: the notebook goes back to its fresh student version, the student's work
is kept in backups/. Run on a copy of the course, through the real ./course script."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bpkit import course as cr

ROOT = Path(__file__).resolve().parents[1]
NAME = "01-computational-graphs"

pytestmark = pytest.mark.slow


def _copy_course(dest: Path) -> Path:
    dest.mkdir()
    for f in ("course", "nbgrader_config.py", "pyproject.toml"):
        shutil.copy2(ROOT / f, dest / f)
    if (ROOT / "requirements" / "lock.txt").exists():
        (dest / "requirements").mkdir()
        shutil.copy2(ROOT / "requirements" / "lock.txt", dest / "requirements" / "lock.txt")
    for part in ("solutions", "notebooks"):
        shutil.copytree(ROOT / part / NAME, dest / part / NAME)
    # The copy's .venv runs this test's Python, and is stamped as installed from the same
    # pyproject and lock, so ./course installs nothing (and never touches the real .venv).
    venv_bin = dest / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    inputs = [dest / "pyproject.toml"] + ([dest / "requirements" / "lock.txt"]
                                          if (dest / "requirements" / "lock.txt").exists() else [])
    (dest / ".venv" / ".bpkit-installed").write_text(
        hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest() + "\n")
    return dest


def _solution_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def test_reset_restores_fresh_version_and_keeps_a_backup(tmp_path):
    course = _copy_course(tmp_path / "course")
    nb_path = course / "notebooks" / NAME / f"{NAME}.ipynb"
    fresh = json.loads(nb_path.read_text())
    nb = nbformat.read(nb_path, as_version=4)
    assert _solution_cells(nb), f"{NAME} has no solution cells to work in"
    _solution_cells(nb)[0].source = "# my own attempt\nanswer = 42\n"
    nbformat.write(nb, nb_path)
    (course / "notebooks" / NAME / "my-notes.txt").write_text("mine")

    done = subprocess.run(["./course", "reset", "01"], cwd=course, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    assert json.loads(nb_path.read_text()) == fresh, "the notebook is not the committed fresh student version"
    backups = list((course / "backups" / NAME).glob(f"{NAME}-*.ipynb"))
    assert len(backups) == 1, backups
    assert "answer = 42" in backups[0].read_text(), "the backup lost the student's work"
    assert (course / "notebooks" / NAME / "my-notes.txt").read_text() == "mine", "a student's own file was touched"
    assert str(backups[0].relative_to(course)) in done.stdout, done.stdout

    again = subprocess.run(["./course", "reset", NAME], cwd=course, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already the fresh version" in again.stdout, again.stdout
    assert len(list((course / "backups" / NAME).iterdir())) == 1, "a fresh notebook was backed up again"


def test_reset_names_and_errors(tmp_path, capsys):
    course = tmp_path / "c"
    for name in ("01-computational-graphs", "02-paths-vs-dynamic-programming"):
        (course / "solutions" / name).mkdir(parents=True)
        (course / "solutions" / name / f"{name}.ipynb").write_text("{}")
    assert cr.resolve(course, "01") == "01-computational-graphs"
    assert cr.resolve(course, "2") == "02-paths-vs-dynamic-programming"
    assert cr.resolve(course, "02-paths") == "02-paths-vs-dynamic-programming"
    assert cr.resolve(course, "notebooks/01-computational-graphs/01-computational-graphs.ipynb") == \
        "01-computational-graphs"
    with pytest.raises(cr.CourseError, match="names no notebook; use a number or a name: 01-computational"):
        cr.resolve(course, "07")
    assert cr.main(["--course-dir", str(tmp_path), "reset", "01"]) == 1
    assert "not the course folder" in capsys.readouterr().err
