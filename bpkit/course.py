"""Student commands behind ``./course``: ``python -m bpkit.course reset NOTEBOOK...``.

``reset 01`` puts ``notebooks/01-.../01-....ipynb`` back to its fresh student version and keeps
the student's work: the current file is first copied to ``backups/<name>/<name>-<time>.ipynb``.
The fresh version is made the way notebooks/ itself is made, by ``nbgrader generate_assignment``
from ``solutions/`` (in a scratch folder, so nothing else in the course changes). Files of the
student's own in the notebook's folder are left alone. Close the notebook in JupyterLab first
(or use File > Reload Notebook from Disk afterwards).
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


#: the student edition's own folder (written by ``./course publish``): its marker and the fresh
#: student versions ``reset`` restores
EDITION = Path(".edition")
EDITION_MARKER = EDITION / "edition.json"
EDITION_NOTEBOOKS = EDITION / "notebooks"


class CourseError(Exception):
    """Something the person typing the command can fix; the message says what."""


def assignments(course: Path) -> list[str]:
    """Assignment names, from solutions/ (each a folder holding <name>.ipynb), or in the student
    edition from its fresh copies."""
    where = course / "solutions" if (course / "solutions").is_dir() else course / EDITION_NOTEBOOKS
    return sorted(p.parent.name for p in where.glob("*/*.ipynb") if p.stem == p.parent.name)


def resolve(course: Path, which: str) -> str:
    """'01', '1', '01-computational-graphs' or a path to the notebook -> the assignment name."""
    names = assignments(course)
    if not names:
        raise CourseError(f"no assignments found in {course / 'solutions'} or {course / EDITION_NOTEBOOKS}")
    stem = Path(which).stem if which.endswith(".ipynb") else Path(which).name
    if stem in names:
        return stem
    if stem.isdigit():
        matches = [n for n in names if n.split("-", 1)[0].isdigit() and int(n.split("-", 1)[0]) == int(stem)]
    else:
        matches = [n for n in names if n.startswith(stem)]
    if len(matches) == 1:
        return matches[0]
    raise CourseError(f"{which!r} names {'no' if not matches else 'more than one'} notebook; "
                      f"use a number or a name: {', '.join(names)}")


def fresh_release(course: Path, name: str, dest: Path) -> Path:
    """Generate the student version of ``name`` into ``dest`` with nbgrader (in the student
    edition: copy the one publish kept); return its folder."""
    if not (course / "solutions").is_dir():
        kept = course / EDITION_NOTEBOOKS / name
        if not (kept / f"{name}.ipynb").exists():
            raise CourseError(f"the fresh version of {name} is missing ({kept.relative_to(course)}/{name}.ipynb)")
        return Path(shutil.copytree(kept, dest / name))
    scratch = dest / "course"
    scratch.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", scratch)
    shutil.copytree(course / "solutions" / name, scratch / "solutions" / name)
    # nbgrader starts `alembic` by name: let it find the one beside this Python
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"],
                          cwd=scratch, capture_output=True, text=True, env=env)
    release = scratch / "notebooks" / name
    if done.returncode != 0 or not (release / f"{name}.ipynb").exists():
        raise CourseError(f"nbgrader could not make the fresh version of {name}:\n{done.stdout}\n{done.stderr}")
    return release


def reset(course: Path, name: str, now: str | None = None) -> list[str]:
    """Reset one notebook folder; return what was done, one line per file."""
    now = now or time.strftime("%Y%m%d-%H%M%S")
    target = course / "notebooks" / name
    done = []
    with tempfile.TemporaryDirectory(prefix="bpkit-reset-") as tmp:
        release = fresh_release(course, name, Path(tmp))
        for src in sorted(p for p in release.rglob("*") if p.is_file()):
            rel = src.relative_to(release)
            dst = target / rel
            shown = dst.relative_to(course)
            if dst.exists() and filecmp.cmp(src, dst, shallow=False):
                done.append(f"{shown}: already the fresh version, left as it is")
                continue
            if dst.exists():
                backup = course / "backups" / name / f"{dst.stem}-{now}{dst.suffix}"
                n = 1
                while backup.exists():
                    n += 1
                    backup = backup.with_name(f"{dst.stem}-{now}-{n}{dst.suffix}")
                backup.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(dst, backup)
                done.append(f"{shown}: your version is saved as {backup.relative_to(course)}")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            done.append(f"{shown}: reset to the fresh student version")
    return done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_reset = sub.add_parser("reset", help="put notebooks back to their fresh student version (keeps a backup)")
    p_reset.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                         help="a number (01), a name (01-computational-graphs), or 'all'")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    course = args.course_dir.resolve()
    try:
        if not (course / "nbgrader_config.py").exists() and not (course / EDITION_MARKER).exists():
            raise CourseError(f"{course} is not the course folder (no nbgrader_config.py, no {EDITION_MARKER}); "
                              "run ./course from it")
        names = assignments(course) if args.notebooks == ["all"] else [resolve(course, w) for w in args.notebooks]
        for name in names:
            for line in reset(course, name):
                print(f"[course] {line}")
    except CourseError as e:
        print(f"[course] error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
