"""`./course reset 01`: the notebook goes back to its fresh student version (the one of the
course's last commit), the student's work is kept in backups/. Run through the real ./course
script on a git clone of a copy of the course."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = "01-computational-graphs"


def _git(course, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=course,
                   check=True, capture_output=True)


def _copy_course(dest: Path, *, commit=True) -> Path:
    dest.mkdir()
    shutil.copy2(ROOT / "course", dest / "course")
    for name in (NAME, "02-paths-vs-dynamic-programming"):
        shutil.copytree(ROOT / "notebooks" / name, dest / "notebooks" / name)
    if commit:
        _git(dest, "init", "-q")
        _git(dest, "add", ".")
        _git(dest, "commit", "-qm", "course")
    return dest


def _reset(course, *words):
    return subprocess.run(["./course", "reset", *words], cwd=course, capture_output=True, text=True)


def _solution_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def test_reset_restores_fresh_version_and_keeps_a_backup(tmp_path):
    course = _copy_course(tmp_path / "course")
    folder = course / "notebooks" / NAME
    nb_path = folder / f"{NAME}.ipynb"
    fresh = json.loads(nb_path.read_text())
    nb = nbformat.read(nb_path, as_version=4)
    assert _solution_cells(nb), f"{NAME} has no solution cells to work in"
    _solution_cells(nb)[0].source = "# my own attempt\nanswer = 42\n"
    nbformat.write(nb, nb_path)
    (folder / "visible-checks.json").unlink()               # a data file the student deleted
    (folder / "my-notes.txt").write_text("mine")

    done = _reset(course, "01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(nb_path.read_text()) == fresh, "the notebook is not the committed fresh student version"
    assert (folder / "visible-checks.json").read_bytes() == \
        (ROOT / "notebooks" / NAME / "visible-checks.json").read_bytes(), "a deleted data file is not back"
    backups = list((course / "backups" / NAME).glob(f"{NAME}-*.ipynb"))
    assert len(backups) == 1, backups
    assert "answer = 42" in backups[0].read_text(), "the backup lost the student's work"
    assert (folder / "my-notes.txt").read_text() == "mine", "a student's own file was touched"
    assert str(backups[0].relative_to(course)) in done.stderr, done.stderr

    again = _reset(course, NAME)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already the fresh version" in again.stderr, again.stderr
    assert len(list((course / "backups" / NAME).iterdir())) == 1, "a fresh notebook was backed up again"


def test_reset_twice_in_one_second_keeps_both_backups(tmp_path):
    course = _copy_course(tmp_path / "course")
    nb_path = course / "notebooks" / NAME / f"{NAME}.ipynb"
    for attempt in ("first", "second"):
        nb_path.write_text(nb_path.read_text().replace('"cells": [', f'"cells": [], "x{attempt}": [', 1))
        assert _reset(course, "1").returncode == 0
    kept = sorted(p.read_text() for p in (course / "backups" / NAME).iterdir())
    assert len(kept) == 2 and any("xfirst" in k for k in kept) and any("xsecond" in k for k in kept)


@pytest.mark.parametrize("word,name", [
    ("01", NAME), ("1", NAME), ("02-paths", "02-paths-vs-dynamic-programming"),
    (f"notebooks/{NAME}/{NAME}.ipynb", NAME)])
def test_reset_understands_numbers_names_and_paths(tmp_path, word, name):
    course = _copy_course(tmp_path / "course")
    done = _reset(course, word)
    assert done.returncode == 0 and f"notebooks/{name}/{name}.ipynb: already the fresh version" in done.stderr, \
        done.stderr


def test_reset_errors_name_the_problem(tmp_path):
    course = _copy_course(tmp_path / "course")
    done = _reset(course, "07")
    assert done.returncode != 0 and "'07' names no notebook; use a number or a name: 01-computational" \
        in done.stderr, done.stderr
    assert "usage" in _reset(course).stderr
    loose = _copy_course(tmp_path / "not-a-clone", commit=False)
    done = _reset(loose, "01")
    assert done.returncode != 0 and "neither a student edition (.edition/) nor a git clone" in done.stderr, \
        done.stderr
