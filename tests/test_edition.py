"""The student edition (`./course publish DIR`): what students get, and that it holds no answer.

- it holds exactly the student's top-level entries, the files nbgrader releases, the bpkit
  package, and a README whose Binder badge opens its first notebook;
- publish refuses a folder that is neither empty nor an earlier edition (and changes nothing),
  replaces an earlier edition and keeps its .git;
- `./course reset` works in it and the instructor commands say they are not part of it;
- repo2docker accepts it (`--no-build`);
- a scan finds no solution-cell line, no hidden-test line, no line of the exercise registry and
  no `bpkit_grade` in any of its files, and the scan reports each of those when one is planted;
- slow: a fresh venv built from the edition's own binder/requirements.txt (run from the edition,
  as Binder does) has no bpkit_grade, runs every edition notebook with its solution cells filled
  in from solutions/ (this is also the check that Binder's pins run the course, formerly in
  tests/test_binder.py), and `./course start` serves the first notebook from it.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import nbformat
import pytest

import browserlib as bl
from bpkit_grade import publish as pub

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.stem == p.parent.name)
FIRST = f"notebooks/{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb"
# written out here, not taken from publish.py: this is the test of what publish writes
EXPECTED_TOP_LEVEL = {".edition", ".gitignore", "LICENSE", "README.md", "binder", "bpkit", "course",
                      "notebooks", "pyproject.toml", "requirements"}
REPO, BRANCH = "test-org/bpkit-students", "term/1"


def test_the_course_has_its_five_assignments():
    assert ASSIGNMENTS[0] == "01-computational-graphs" and len(ASSIGNMENTS) >= 5, ASSIGNMENTS


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    """One edition, published the way an instructor does (a real nbgrader release); read-only."""
    dest = tmp_path_factory.mktemp("published") / "edition"
    done = subprocess.run([sys.executable, "-m", "bpkit_grade.publish", str(dest), "--repo", REPO,
                           "--branch", BRANCH, "--course-dir", str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return dest


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


@pytest.fixture
def quick_publish(monkeypatch):
    """publish() with the nbgrader release replaced by a copy of notebooks/ (which a test of
    tests/test_notebooks.py keeps equal to a fresh release): for the tests of DIR and badge."""
    def release(course, names, scratch):
        shutil.copytree(course / "notebooks", scratch / "notebooks")
        return scratch / "notebooks"
    monkeypatch.setattr(pub, "release", release)
    warnings = []

    def run(dest, **kw):
        return pub.publish(dest, ROOT, warn=warnings.append, **kw)
    run.warnings = warnings
    return run


# --------------------------------------------------------------------------- what it holds

def test_edition_holds_exactly_the_student_entries(edition):
    top = {p.name for p in edition.iterdir()}
    assert top == EXPECTED_TOP_LEVEL, f"extra: {sorted(top - EXPECTED_TOP_LEVEL)}, " \
                                      f"missing: {sorted(EXPECTED_TOP_LEVEL - top)}"
    # every file nbgrader released: the committed release (kept equal to a fresh one by
    # tests/test_notebooks.py), data files included; reset's fresh copies are the same files
    released = _files(ROOT / "notebooks")
    assert _files(edition / "notebooks") == released
    assert _files(edition / ".edition" / "notebooks") == released
    for name in ASSIGNMENTS:  # data files beside a source notebook are released beside the student's
        beside = {p.name for p in (ROOT / "solutions" / name).iterdir() if p.is_file() and p.suffix != ".ipynb"}
        missing = beside - {p.name for p in (edition / "notebooks" / name).iterdir()}
        assert not missing, f"{name}: {sorted(missing)} of solutions/{name}/ are not in the edition"
    assert _files(edition / "bpkit") == _files(ROOT / "bpkit")
    assert _files(edition / "binder") == _files(ROOT / "binder")
    assert os.access(edition / "binder" / "postBuild", os.X_OK) and os.access(edition / "course", os.X_OK)
    assert (edition / "requirements" / "lock.txt").read_bytes() == (ROOT / "requirements" / "lock.txt").read_bytes()
    assert [p.name for p in (edition / "requirements").iterdir()] == ["lock.txt"]
    marker = json.loads((edition / ".edition" / "edition.json").read_text())
    assert marker["kind"] == "bpkit student edition" and marker["notebooks"] == ASSIGNMENTS, marker


def test_edition_pyproject_is_the_student_package(edition):
    import tomllib
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ed = tomllib.loads((edition / "pyproject.toml").read_text())
    assert ed["project"]["name"] == "bpkit" and ed["project"]["dependencies"] == root["project"]["dependencies"]
    assert ed["project"]["optional-dependencies"] == {"course": root["project"]["optional-dependencies"]["course"]}
    assert "pytest" not in ed.get("tool", {}), "the edition has no tests to configure"


def _badge(readme: str) -> tuple[str, str, str]:
    m = re.search(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\((https://mybinder\.org/v2/gh/[^)\s]+)\)",
                  readme)
    assert m, "the README has no Binder badge:\n" + readme[:500]
    url = urlparse(m[1])
    owner, name, branch = url.path.removeprefix("/v2/gh/").split("/", 2)
    return f"{owner}/{name}", unquote(branch), parse_qs(url.query)["urlpath"][0]


def test_readme_badge_opens_the_first_notebook_of_the_published_repository(edition):
    readme = (edition / "README.md").read_text()
    repo, branch, target = _badge(readme)
    assert (repo, branch) == (REPO, BRANCH)
    assert target == f"lab/tree/{FIRST}" and (edition / FIRST).exists(), target
    for command in ("./course start", "./course reset 01"):
        assert command in readme, f"the student README does not say `{command}`"
    links = re.findall(r"\]\((notebooks/[^)]+)\)", readme)
    assert sorted(links) == [f"notebooks/{a}/{a}.ipynb" for a in ASSIGNMENTS], links
    assert "{{" not in readme and "OWNER/NAME" not in readme


def test_github_remote_urls_name_their_repository():
    for url in ("https://github.com/o-1/n.x.git", "git@github.com:o-1/n.x.git", "ssh://git@github.com/o-1/n.x",
                "https://github.com/o-1/n.x/\n"):
        assert pub.github_repo_of(url) == "o-1/n.x", url
    for url in ("https://gitlab.com/o/n.git", "/srv/git/bpkit", "https://github.com/o"):
        assert pub.github_repo_of(url) is None, url


def test_without_repo_the_readme_says_what_the_badge_needs(quick_publish, tmp_path, monkeypatch):
    monkeypatch.setattr(pub, "origin_repo", lambda folder: None)  # whatever remote this checkout has
    dest = quick_publish(tmp_path / "ed")
    readme = (dest / "README.md").read_text()
    assert "mybinder.org/badge_logo" not in readme
    assert "./course publish DIR --repo OWNER/NAME" in readme and f"urlpath=lab/tree/{FIRST}" in readme
    assert any("no --repo" in w for w in quick_publish.warnings), quick_publish.warnings


def test_without_repo_the_badge_comes_from_the_clone_it_is_published_into(quick_publish, tmp_path):
    dest = tmp_path / "students"
    dest.mkdir()
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "remote", "add", "origin", "git@github.com:my-class/students.git"], check=True)
    quick_publish(dest, branch="spring")
    assert _badge((dest / "README.md").read_text())[:2] == ("my-class/students", "spring")
    assert (dest / ".git").is_dir(), "publish must keep the clone's .git"
    assert any("my-class/students" in w for w in quick_publish.warnings), quick_publish.warnings


def test_bad_repo_and_branch_are_refused_by_name(quick_publish, tmp_path):
    for kw, says in (({"repo": "not a repo"}, "--repo 'not a repo'"), ({"repo": "a/b/c"}, "OWNER/NAME"),
                     ({"repo": "o/n", "branch": "a..b"}, "--branch 'a..b'")):
        with pytest.raises(pub.PublishError, match=re.escape(says)):
            quick_publish(tmp_path / "ed", **kw)
        assert not (tmp_path / "ed").exists()


def test_refuses_a_folder_that_is_not_an_edition_and_changes_nothing(tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "sub" / "x.py").write_text("x = 1")
    before = _files(mine)
    done = subprocess.run(["./course", "publish", str(mine), "--repo", REPO], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{mine} is not empty" in done.stderr and "not a student edition" in done.stderr, done.stderr
    assert _files(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"], "publish left a scratch folder behind"
    (tmp_path / "file").write_text("a file")
    with pytest.raises(pub.PublishError, match="exists and is not a folder"):
        pub.publish(tmp_path / "file", ROOT, repo=REPO)
    for inside in (ROOT, ROOT / "notebooks" / "edition", ROOT.parent):
        with pytest.raises(pub.PublishError):
            pub.publish(inside, ROOT, repo=REPO)


def test_replaces_an_earlier_edition_and_keeps_its_git(quick_publish, tmp_path):
    dest = tmp_path / "ed"
    quick_publish(dest, repo=REPO)
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "bpkit" / "stale.py").write_text("left over from an older edition")
    quick_publish(dest, repo="other/repo")
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (dest / "bpkit" / "stale.py").exists()
    assert _badge((dest / "README.md").read_text())[0] == "other/repo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ed"], "publish left a scratch folder behind"


def test_student_course_script_has_no_instructor_blocks_and_refuses_unbalanced_markers():
    script = pub.student_course_script((ROOT / "course").read_text())
    assert "cmd_test()" not in script and "cmd_publish()" not in script and "cmd_reset()" in script
    with pytest.raises(pub.PublishError, match="never closed"):
        pub.student_course_script("a\n# >>> instructor only\nb\n")
    with pytest.raises(pub.PublishError, match="mentions bpkit_grade"):
        pub.student_course_script("python -m bpkit_grade.publish\n")


# --------------------------------------------------------------------------- ./course in the edition

def _stamped_copy(edition: Path, dest: Path) -> Path:
    """A copy of the edition whose .venv is this test's Python, stamped as installed, so that
    ./course installs nothing (as tests/test_course_reset.py does)."""
    shutil.copytree(edition, dest, symlinks=True)
    venv_bin = dest / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    inputs = [dest / "pyproject.toml", dest / "requirements" / "lock.txt"]
    (dest / ".venv" / ".bpkit-installed").write_text(
        hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest() + "\n")
    return dest


def test_instructor_commands_say_they_are_not_in_the_edition(edition):
    for command in (["test"], ["grade", "01-computational-graphs"], ["publish", "/tmp/x"]):
        done = subprocess.run(["./course", *command], cwd=edition, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"'./course {command[0]}' is an instructor command; it is not part of the student edition" \
            in done.stderr, done.stderr
    usage = subprocess.run(["./course"], cwd=edition, capture_output=True, text=True, timeout=60)
    assert "./course start" in usage.stdout and "./course test" not in usage.stdout, usage.stdout


def test_course_reset_in_the_edition_restores_the_fresh_version(edition, tmp_path):
    course = _stamped_copy(edition, tmp_path / "ed")
    nb = course / FIRST
    fresh = nb.read_bytes()
    nb.write_text(nb.read_text().replace("raise NotImplementedError()", "answer = 42", 1))
    assert nb.read_bytes() != fresh
    done = subprocess.run(["./course", "reset", "01"], cwd=course, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert nb.read_bytes() == fresh
    backups = list((course / "backups" / ASSIGNMENTS[0]).glob("*.ipynb"))
    assert len(backups) == 1 and "answer = 42" in backups[0].read_text(), backups


# --------------------------------------------------------------------------- Binder

def test_repo2docker_accepts_the_edition(edition):
    done = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug", "--user-id", "1000",
                           "--user-name", "jovyan", str(edition)], capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    for expect in ('pip install --no-cache-dir -r "binder/requirements.txt"', "RUN ./binder/postBuild",
                   "apt-get install --yes --no-install-recommends graphviz"):
        assert expect in out, f"repo2docker's Dockerfile for the edition lacks {expect!r}:\n{out[-4000:]}"


# --------------------------------------------------------------------------- the scan

def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _norm(line: str) -> str:
    line = line.strip()
    if not line.startswith("#"):
        line = re.sub(r"\s+#.*$", "", line)
    return " ".join(line.split())


def _trivial(line: str, *, defs_too=False) -> bool:
    return (len(re.findall(r"\w+", line)) < 3 or line.startswith(("#", "import ", "from ", '"""', "'''", "@"))
            or (defs_too and line.startswith(("def ", "class "))))


def _regions(text: str, begin: str, end: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            out.append(line)
    return out


def _number(name: str) -> int:
    m = re.match(r"(?:nb)?(\d+)", name)
    return int(m[1]) if m else 0


def secrets(course: Path) -> dict[str, tuple[int, str]]:
    """Every non-trivial line an edition must not hold -> (its notebook's number, where it is from):
    solution regions (whole cells when a solution cell has no markers), hidden tests, and the
    exercise modules' source (their function names are the exercises', so `def` lines are left out)."""
    out = {}
    for path in sorted(course.glob("solutions/*/*.ipynb")):
        number = _number(path.parent.name)
        for cell in nbformat.read(path, as_version=4).cells:
            src = _source(cell)
            lines = []
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                lines += (_regions(src, "### BEGIN SOLUTION", "### END SOLUTION") if "### BEGIN SOLUTION" in src
                          else src.splitlines())
            lines += _regions(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            for line in map(_norm, lines):
                if not _trivial(line):
                    out.setdefault(line, (number, f"{path.relative_to(course)}"))
    # the modules that hold references and mistakes (the package's __init__ is machinery: the
    # Exercise record and the hidden tests' loop, whose plumbing lines bpkit.checks shares)
    for path in sorted((course / "grader" / "bpkit_grade" / "exercises").glob("nb*.py")):
        for line in map(_norm, path.read_text().splitlines()):
            if not _trivial(line, defs_too=True):
                out.setdefault(line, (_number(path.stem), str(path.relative_to(course))))
    return out


def shown(course: Path) -> dict[int, set[str]]:
    """notebook number -> the lines its instructor version shows students (outside solution
    regions and hidden tests): what that notebook gives on purpose."""
    out = {}
    for path in sorted(course.glob("solutions/*/*.ipynb")):
        given = out.setdefault(_number(path.parent.name), set())
        for cell in nbformat.read(path, as_version=4).cells:
            src = _source(cell)
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and "### BEGIN SOLUTION" not in src:
                continue
            hidden = set(_regions(src, "### BEGIN SOLUTION", "### END SOLUTION")) | \
                set(_regions(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
            given.update(_norm(ln) for ln in src.splitlines() if ln not in hidden)
    return out


def _text_lines(path: Path) -> list[str]:
    """Every line a student could read in the file: cell sources and outputs of a notebook, the
    strings of a JSON file as well as its raw lines, any other file's lines."""
    raw = path.read_bytes().decode("latin-1")
    lines = raw.splitlines()
    strings = []

    def walk(x):
        if isinstance(x, str):
            strings.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    if path.suffix in (".ipynb", ".json"):
        try:
            data = json.loads(path.read_bytes())
        except ValueError:
            data = None
        if path.suffix == ".ipynb" and isinstance(data, dict):
            for cell in data.get("cells", []):
                strings.append(_source(cell))
                walk(cell.get("outputs", []))
        else:
            walk(data)
    for s in strings:
        lines += s.splitlines()
    return lines


#: (line, file) pairs that are in the edition on purpose, with the reason
ACCEPTED: dict[tuple[str, str], str] = {
    ('X = var(x, "x")', "bpkit/examples.py"):
        "a leaf of a graph builder; nb02's registry builds its graphs the way bpkit.examples does",
    ("for i in range(2, layers + 1):", "bpkit/examples.py"):
        "the layer loop of a graph builder (bpkit.examples.layered_sin_cos), not a derivative",
}


def scan(edition: Path, course: Path = ROOT) -> list[str]:
    """What in ``edition`` gives an answer away: one message per finding."""
    bad, given = secrets(course), shown(course)
    found = []
    for path in sorted(p for p in edition.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = str(path.relative_to(edition))
        lines = _text_lines(path)
        if any("bpkit_grade" in ln for ln in lines):
            found.append(f"{rel}: mentions bpkit_grade, the instructor's package")
        normed = {_norm(ln) for ln in lines}
        joined = "\n".join(normed)
        m = re.match(r"(?:\.edition/)?notebooks/(\d+)", rel)
        here = int(m[1]) if m else None
        for line, (number, origin) in bad.items():
            if line in normed or (len(line) >= 40 and line in joined):
                if here is not None and here >= number and line in given.get(here, ()):
                    continue  # shown on purpose by this notebook, which comes no earlier than the answer's
                if (line, rel) in ACCEPTED:
                    continue
                found.append(f"{rel}: holds {line!r} (from {origin})")
    return found


def test_scan_finds_no_answer_in_the_edition(edition):
    found = [f for f in scan(edition) if "mentions bpkit_grade" not in f]
    assert not found, "the student edition gives answers away:\n" + "\n".join(found)


def test_nothing_in_the_edition_mentions_the_instructor_package(edition):
    found = [f for f in scan(edition) if "mentions bpkit_grade" in f]
    assert not found, "the student edition refers to the instructor's package:\n" + "\n".join(found)


def _first_secret(kind: str) -> str:
    """A solution line, a hidden-test line or a registry line (with where it is from)."""
    for line, (number, origin) in secrets(ROOT).items():
        if kind in origin and (kind != "solutions" or not line.startswith("assert")):
            return line
    raise AssertionError(f"no {kind} line to plant")


def test_scan_reports_planted_answers(edition, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy, symlinks=True)
    before = set(scan(copy))  # whatever the edition holds today: the planted ones must be new
    hidden = next(line for path in ROOT.glob("solutions/*/*.ipynb")
                  for cell in nbformat.read(path, as_version=4).cells
                  for line in map(_norm, _regions(_source(cell), "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
                  if not _trivial(line))
    solution, registry = _first_secret("solutions"), _first_secret("exercises")
    (copy / "bpkit" / "helpers.py").write_text(f"def helper(x):\n    {solution}\n")
    nb_path = copy / FIRST
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(hidden))
    nbformat.write(nb, nb_path)
    (copy / "notebooks" / ASSIGNMENTS[-1] / "visible-checks.json").write_text(json.dumps({"code": registry}))
    (copy / "binder" / "postBuild").write_text("python -m bpkit_grade.sandbox\n")
    found = "\n".join(sorted(set(scan(copy)) - before))
    for where, what in (("bpkit/helpers.py", solution), (FIRST, hidden),
                        (f"notebooks/{ASSIGNMENTS[-1]}/visible-checks.json", registry)):
        assert f"{where}: holds {what!r}" in found, f"the scan missed {what!r} planted in {where}:\n{found}"
    assert "binder/postBuild: mentions bpkit_grade" in found, found


# --------------------------------------------------------------------------- a fresh venv

@pytest.fixture(scope="module")
def fresh(edition, tmp_path_factory):
    """A copy of the edition and a venv made from its binder/requirements.txt alone, installed
    from the edition folder (`-e .` is the edition's bpkit), as Binder does."""
    base = tmp_path_factory.mktemp("fresh")
    ed = base / "edition"
    shutil.copytree(edition, ed, symlinks=True)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, HOME=str(base / "home"), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
               JUPYTER_CONFIG_DIR=str(base / "home" / ".jupyter"), PYTHONNOUSERSITE="1")
    for var in ("VIRTUAL_ENV", "JUPYTER_PATH", "PYTHONPATH"):
        env.pop(var, None)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                           "-r", "binder/requirements.txt"],
                          cwd=ed, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"pip install -r binder/requirements.txt failed in the edition:\n{done.stderr[-3000:]}"
    return ed, venv, env


@pytest.mark.slow
def test_fresh_venv_has_bpkit_from_the_edition_and_no_instructor_package(fresh):
    ed, venv, env = fresh
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import bpkit, sys; print(sys.prefix); print(bpkit.__file__)"],
                           cwd=ed.parent, env=env, capture_output=True, text=True)
    assert where.stdout.split() == [str(venv), str(ed / "bpkit" / "__init__.py")], where.stdout + where.stderr
    grader = subprocess.run([str(venv / "bin" / "python"), "-c", "import bpkit_grade"],
                            cwd=ed.parent, env=env, capture_output=True, text=True)
    assert grader.returncode != 0 and "No module named 'bpkit_grade'" in grader.stderr, grader.stdout + grader.stderr


RUNNER = """
import json, sys
import nbformat
from nbclient import NotebookClient
path, workdir = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": workdir}}).execute()
errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
          for o in c.get("outputs", []) if o.get("output_type") == "error"]
prefix = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
print(json.dumps({"errors": errors, "prefix": prefix}))
"""


@pytest.mark.slow
def test_edition_notebooks_run_in_the_fresh_venv_with_solutions_filled_in(fresh, tmp_path):
    ed, venv, env = fresh
    failed = []
    for name in ASSIGNMENTS:
        work = tmp_path / name
        shutil.copytree(ed / "notebooks" / name, work)
        student = nbformat.read(work / f"{name}.ipynb", as_version=4)
        filled = bl.fill_solutions(student, nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4))
        nbformat.write(filled, work / f"{name}.ipynb")
        done = subprocess.run([str(venv / "bin" / "python"), "-c", RUNNER, str(work / f"{name}.ipynb"), str(work)],
                              cwd=work, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            failed.append(f"{name}: the runner failed:\n{done.stderr[-2000:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["prefix"] == str(venv), f"{name} ran in {result['prefix']!r}, not the fresh venv"
        if result["errors"]:
            failed.append(f"{name}: " + "; ".join(f"cell {i}: {e}: {v}" for i, e, v in result["errors"][:5]))
    assert not failed, "edition notebooks failed in a venv built from the edition's binder/requirements.txt:\n" + \
        "\n".join(failed)


@pytest.mark.slow
def test_course_start_in_the_edition_serves_the_first_notebook(fresh, tmp_path):
    ed, venv, env = fresh
    (ed / ".venv").symlink_to(venv)
    port = bl.free_port()
    env = dict(env)
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(["./course", "start", "--port", str(port), "--ServerApp.port_retries=0",
                             "--ServerApp.ip=127.0.0.1"],
                            cwd=ed, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    pattern = re.compile(rf"http://(?:localhost|127\.0\.0\.1):{port}/lab/tree/{re.escape(FIRST)}\?token=(\w+)")
    seen = []
    try:
        m = bl.first_match(proc, lines, seen, pattern, 600)  # ./course installs .[course] first
        token = m and m[1]
        assert token, "./course start in the edition printed no URL of the first notebook:\n" + "".join(seen)[-3000:]
        url, info, deadline = f"http://127.0.0.1:{port}/api/contents/{FIRST}?content=0&token={token}", None, \
            time.monotonic() + 90
        while info is None:   # the URL is printed as the server comes up; give it time to answer
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    info = json.load(r)
            except urllib.error.URLError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("./course start printed its URL but nothing answers there:\n"
                                         + "".join(seen)[-3000:]) from None
                time.sleep(1)
        assert info["type"] == "notebook" and info["path"] == FIRST, info
    finally:
        for _ in range(2):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                time.sleep(0.5)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_accepted_lines_are_still_in_the_edition(edition):
    """An entry of ACCEPTED that no longer matches anything is dropped, not kept as a blind spot."""
    stale = [(line, rel) for line, rel in ACCEPTED
             if line not in {_norm(ln) for ln in _text_lines(edition / rel)}]
    assert not stale, f"remove these from ACCEPTED: {stale}"
