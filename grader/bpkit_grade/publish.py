"""``./course publish DIR``: write the student edition, the repository students get.

    python -m bpkit_grade.publish DIR [--repo OWNER/NAME] [--branch BRANCH]

The edition holds what a student's Binder, a hub's student image or a student's own computer
needs, and nothing else:

    notebooks/        every file nbgrader releases (a fresh ``nbgrader generate_assignment`` of
                      each assignment in solutions/, made in a scratch folder: no solutions, no
                      hidden tests; data files beside the notebooks come along)
    bpkit/            the student package
    binder/           what repo2docker reads (Binder installs the edition, not this repository)
    README.md         the student README (template ``student_README.md`` beside this module),
                      with the Binder badge of ``--repo``/``--branch``
    pyproject.toml    the student package's, without the instructor's extras and tool tables
    requirements/lock.txt, LICENSE, .gitignore
    course            the entry script without its instructor-only blocks: ``./course start`` and
                      ``./course reset N`` work; the instructor commands say they are not here
    .edition/         ``edition.json`` (the marker a later publish recognises) and the fresh
                      student versions ``./course reset`` restores (``.edition/notebooks/``)

DIR must be new, empty (a ``.git`` folder alone is allowed: a fresh clone of the students'
repository), or an edition an earlier publish wrote; anything else is refused and left as it is.
The edition is built in a scratch folder beside DIR and moved into place at the end; the ``.git``
folder of the DIR it replaces is kept, so DIR can be a clone of the students' repository.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import quote

from . import visible


#: the student edition's own folder: its marker, and the fresh student versions that
#: ``./course reset`` restores there (the edition has no solutions/ to release them from)
EDITION = Path(".edition")
EDITION_MARKER = EDITION / "edition.json"
EDITION_NOTEBOOKS = EDITION / "notebooks"


HERE = Path(__file__).resolve().parent
README_TEMPLATE = HERE / "student_README.md"
#: the extras a student installs (./course in the edition installs ``.[course]``)
STUDENT_EXTRAS = ("course",)
#: what the edition holds at its top level, and nothing else
TOP_LEVEL = (".edition", ".gitignore", "LICENSE", "README.md", "binder", "bpkit", "course",
             "notebooks", "pyproject.toml", "requirements")
#: lines of the ``course`` script from BEGIN to END (inclusive) stay out of the edition
BEGIN_INSTRUCTOR = "# >>> instructor only"
END_INSTRUCTOR = "# <<< instructor only"
KIND = "bpkit student edition"
GITIGNORE = """\
.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
.exchange/
/backups/
"""
NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class PublishError(Exception):
    """Something the person publishing can fix; the message says what."""


# --------------------------------------------------------------------------- the badge

def parse_repo(repo: str) -> tuple[str, str]:
    m = re.fullmatch(r"([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})", repo or "")
    if not m or m[2] in (".", ".."):
        raise PublishError(f"--repo {repo!r} is not a GitHub repository OWNER/NAME (e.g. my-org/bpkit-course)")
    return m[1], m[2].removesuffix(".git")


def check_branch(branch: str) -> str:
    if (not re.fullmatch(r"[A-Za-z0-9._/-]+", branch or "") or ".." in branch or branch.startswith(("/", "-"))
            or branch.endswith(("/", ".lock", "."))):
        raise PublishError(f"--branch {branch!r} is not a git branch name (letters, digits, . _ - /)")
    return branch


def github_repo_of(url: str) -> str | None:
    """'OWNER/NAME' of a GitHub remote URL (https, ssh or scp form), else None."""
    m = re.fullmatch(r"(?:https://(?:[^@/]+@)?github\.com/|(?:ssh://)?git@github\.com[:/])"
                     r"([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?", url.strip())
    return m[1] if m else None


def origin_repo(folder: Path) -> str | None:
    """The GitHub repository of ``folder``'s git remote ``origin``, if it has one."""
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(folder), "remote", "get-url", "origin"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return github_repo_of(done.stdout) if done.returncode == 0 else None


def badge_url(repo: str, branch: str, notebook: str) -> str:
    owner, name = parse_repo(repo)
    return (f"https://mybinder.org/v2/gh/{owner}/{name}/{quote(check_branch(branch), safe='')}"
            f"?urlpath=lab/tree/{notebook}")


def badge_markdown(repo: str | None, branch: str, notebook: str) -> str:
    if repo is None:
        return ("*No Binder link yet: the repository this edition is published to is not known. "
                "Whoever publishes the course writes it here with "
                "`./course publish DIR --repo OWNER/NAME [--branch BRANCH]`, which makes the badge "
                f"`https://mybinder.org/v2/gh/OWNER/NAME/BRANCH?urlpath=lab/tree/{notebook}`.*")
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({badge_url(repo, branch, notebook)})"


# --------------------------------------------------------------------------- the pieces

def assignments(course: Path) -> list[str]:
    names = sorted(p.parent.name for p in (course / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)
    if not names:
        raise PublishError(f"no assignments in {course / 'solutions'} (expected solutions/<a>/<a>.ipynb)")
    return names


def release(course: Path, names: list[str], scratch: Path) -> Path:
    """``nbgrader generate_assignment`` of every assignment, in a scratch copy of the course;
    returns the scratch ``notebooks/`` folder."""
    work = scratch / "course"
    work.mkdir()
    shutil.copy(course / "nbgrader_config.py", work)
    shutil.copytree(course / "solutions", work / "solutions", ignore=NOT_COPIED)
    for name in names:
        try:
            visible.release(work, name)
        except visible.ReleaseError as e:
            raise PublishError(str(e)) from None
    return work / "notebooks"


def student_pyproject(text: str) -> str:
    """pyproject.toml without the extras other than STUDENT_EXTRAS and without [tool.pytest...]."""
    out, table, skipping = [], None, False
    for line in text.splitlines(keepends=True):
        header = re.match(r"\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
        if header:
            table, skipping = header[1].strip(), False
        if table is not None and table.startswith("tool.pytest"):
            continue
        if table == "project.optional-dependencies" and not header:
            key = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", line)
            if key:
                skipping = key[1] not in STUDENT_EXTRAS
                if skipping and "]" in line.split("#", 1)[0]:  # a one-line list
                    continue
            elif skipping and line.split("#", 1)[0].strip() == "]":
                skipping = False
                continue
            if skipping:
                continue
        out.append(line)
    trimmed = re.sub(r"\n{3,}", "\n\n", "".join(out))
    before, after = tomllib.loads(text), tomllib.loads(trimmed)
    extras = set(after["project"].get("optional-dependencies", {}))
    if (extras != set(STUDENT_EXTRAS) or after["project"]["dependencies"] != before["project"]["dependencies"]
            or "pytest" in after.get("tool", {})):
        raise PublishError(f"could not trim pyproject.toml to the student's package (extras left: {sorted(extras)}); "
                           "its layout changed: update bpkit_grade.publish.student_pyproject")
    return trimmed


def student_course_script(text: str) -> str:
    """The ``course`` script without its instructor-only blocks."""
    out, inside = [], False
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if line.strip().startswith(BEGIN_INSTRUCTOR):
            if inside:
                raise PublishError(f"course, line {n}: '{BEGIN_INSTRUCTOR}' inside another instructor-only block")
            inside = True
        elif line.strip().startswith(END_INSTRUCTOR):
            if not inside:
                raise PublishError(f"course, line {n}: '{END_INSTRUCTOR}' without a '{BEGIN_INSTRUCTOR}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise PublishError(f"course: an instructor-only block ('{BEGIN_INSTRUCTOR}') is never closed")
    script = "".join(out)
    if "bpkit_grade" in script:
        raise PublishError("course: the student part of the script mentions bpkit_grade; "
                           f"put that part between '{BEGIN_INSTRUCTOR}' and '{END_INSTRUCTOR}'")
    return script


def notebook_title(path: Path) -> str:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        m = re.search(r"^#\s+(.+)$", src, re.M) if cell["cell_type"] == "markdown" else None
        if m:
            # "1 · Title" and "3. Title" both become "1 · Title"
            return re.sub(r"^(\d+)\s*(?:·|\.)\s*", r"\1 · ", m[1].strip())
    return path.stem


def exercises(path: Path) -> tuple[int, float]:
    """(graded test cells, their points) of a notebook."""
    metas = [c.get("metadata", {}).get("nbgrader", {}) for c in json.loads(path.read_text())["cells"]]
    graded = [m for m in metas if m.get("grade") and not m.get("solution")]
    return len(graded), sum(m.get("points", 0) for m in metas if m.get("grade"))


def notebook_table(notebooks: Path, names: list[str]) -> str:
    rows = ["| Notebook | Graded exercises |", "|---|---|"]
    for name in names:
        nb = notebooks / name / f"{name}.ipynb"
        count, points = exercises(nb)
        rows.append(f"| [{notebook_title(nb)}](notebooks/{name}/{name}.ipynb) | {count} ({points:g} points) |")
    return "\n".join(rows)


def student_readme(template: str, *, badge: str, table: str, first_notebook: str) -> str:
    fields = {"{{badge}}": badge, "{{notebook_table}}": table, "{{first_notebook}}": first_notebook}
    for key, value in fields.items():
        if key not in template:
            raise PublishError(f"{README_TEMPLATE.name} lacks the placeholder {key}")
        template = template.replace(key, value)
    left = re.findall(r"\{\{\w+\}\}", template)
    if left:
        raise PublishError(f"{README_TEMPLATE.name} has unknown placeholders {left}")
    return template


# --------------------------------------------------------------------------- DIR

def is_edition(folder: Path) -> bool:
    try:
        return json.loads((folder / EDITION_MARKER).read_text()).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False


def check_target(dest: Path, course: Path) -> None:
    """Refuse a DIR that is not new, empty (but for .git) or an earlier edition."""
    if dest == course or dest in course.parents:
        raise PublishError(f"{dest} is the course folder or holds it; publish into a folder of its own")
    for part in ("bpkit", "binder", "notebooks", "solutions", "grader", "requirements", ".git"):
        if dest == course / part or (course / part) in dest.parents:
            raise PublishError(f"{dest} is inside the course's {part}/, which the edition is made from; "
                               "publish somewhere else")
    if not dest.exists() and not dest.is_symlink():
        if not dest.parent.is_dir():
            raise PublishError(f"{dest.parent} does not exist; create it first or choose another DIR")
        return
    if dest.is_symlink() or not dest.is_dir():
        raise PublishError(f"{dest} exists and is not a folder; nothing was changed")
    entries = sorted(p.name for p in dest.iterdir() if p.name != ".git")
    if entries and not is_edition(dest):
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise PublishError(f"{dest} is not empty ({shown}) and is not a student edition (no {EDITION_MARKER} "
                           "written by ./course publish); nothing was changed. Publish into a new or empty "
                           "folder (a clone of the students' repository holding only .git is fine).")


def git_commit(course: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(course), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def build(course: Path, out: Path, *, repo: str | None, branch: str) -> None:
    """Write the edition into the (empty) folder ``out``."""
    names = assignments(course)
    for needed in ("bpkit", "binder", "notebooks", "LICENSE", "course", "pyproject.toml",
                   "requirements/lock.txt", "nbgrader_config.py"):
        if not (course / needed).exists():
            raise PublishError(f"{course / needed} is missing; is {course} the course folder?")
    with tempfile.TemporaryDirectory(prefix="bpkit-publish-") as scratch:
        released = release(course, names, Path(scratch))
        shutil.copytree(released, out / "notebooks", ignore=NOT_COPIED)
        shutil.copytree(released, out / EDITION_NOTEBOOKS, ignore=NOT_COPIED)
    shutil.copytree(course / "bpkit", out / "bpkit", ignore=NOT_COPIED)
    shutil.copytree(course / "binder", out / "binder", ignore=NOT_COPIED)
    (out / "requirements").mkdir()
    shutil.copy2(course / "requirements" / "lock.txt", out / "requirements" / "lock.txt")
    shutil.copy2(course / "LICENSE", out / "LICENSE")
    (out / "pyproject.toml").write_text(student_pyproject((course / "pyproject.toml").read_text()))
    (out / "course").write_text(student_course_script((course / "course").read_text()))
    (out / "course").chmod(0o755)
    (out / ".gitignore").write_text(GITIGNORE)
    first = f"notebooks/{names[0]}/{names[0]}.ipynb"
    (out / "README.md").write_text(student_readme(
        README_TEMPLATE.read_text(), badge=badge_markdown(repo, branch, first),
        table=notebook_table(out / "notebooks", names), first_notebook=first))
    (out / EDITION_MARKER).write_text(json.dumps({
        "kind": KIND, "written_by": "./course publish", "course_commit": git_commit(course),
        "repo": repo, "branch": branch, "binder": badge_url(repo, branch, first) if repo else None,
        "notebooks": names}, indent=2) + "\n")
    made = sorted(p.name for p in out.iterdir())
    if made != sorted(TOP_LEVEL):
        raise PublishError(f"the edition's top level is {made}, expected {sorted(TOP_LEVEL)}")


def publish(dest: Path, course: Path, *, repo: str | None = None, branch: str = "main",
            warn=lambda msg: print(f"[publish] warning: {msg}", file=sys.stderr)) -> Path:
    """Write the edition to ``dest`` (see the module docstring); return ``dest``."""
    course, dest = course.resolve(), Path(os.path.abspath(dest))
    check_branch(branch)
    if repo is not None:
        repo = "/".join(parse_repo(repo))
    check_target(dest, course)
    if repo is None:
        for where, found in ((dest, origin_repo(dest) if dest.is_dir() else None), (course, origin_repo(course))):
            if found:
                repo = found
                warn(f"no --repo: the Binder badge uses {repo} (the git remote origin of {where}), branch "
                     f"{branch}; that branch must hold this edition, not the instructor's repository "
                     "(pass --repo OWNER/NAME --branch BRANCH to choose)")
                break
        else:
            warn("no --repo and no GitHub remote 'origin': the README says where the Binder badge goes "
                 "instead of showing one; publish again with --repo OWNER/NAME [--branch BRANCH]")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.publish-", dir=dest.parent))
    try:
        build(course, tmp, repo=repo, branch=branch)
        tmp.chmod(0o755)
        if dest.exists():
            git = dest / ".git"
            kept = git.exists()
            if kept:
                os.rename(git, tmp / ".git")
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.rename(dest, old / "edition")
            try:
                os.rename(tmp, dest)
            except OSError:
                os.rename(old / "edition", dest)
                if kept:
                    os.rename(tmp / ".git", git)
                raise
            shutil.rmtree(old)
        else:
            os.rename(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./course publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, metavar="DIR", help="where to write the edition (new, empty, or an earlier edition)")
    parser.add_argument("--repo", metavar="OWNER/NAME",
                        help="the GitHub repository students get (for the Binder badge); default: the git "
                             "remote 'origin' of DIR or of the course, if it is on GitHub")
    parser.add_argument("--branch", default="main", help="the branch of --repo that holds the edition (default: main)")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        dest = publish(args.dir, args.course_dir, repo=args.repo, branch=args.branch)
    except PublishError as e:
        print(f"[publish] error: {e}", file=sys.stderr)
        return 1
    info = json.loads((dest / EDITION_MARKER).read_text())
    print(f"[publish] wrote the student edition to {dest}: {', '.join(info['notebooks'])}")
    print(f"[publish] Binder: {info['binder'] or '(no badge: pass --repo OWNER/NAME)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
