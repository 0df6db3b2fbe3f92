"""The course notebooks: they run, they grade, and notebooks/ is what nbgrader makes of solutions/.

For each of the five assignments:
  * solutions/ is committed with outputs cleared, and runs top to bottom without an error;
  * every graded test cell passes on the solution and fails on the blank student version with
    the exercise's own message ("... is not written yet");
  * notebooks/ equals a fresh ``nbgrader generate_assignment`` of solutions/ (no drift);
  * ``nbgrader validate`` passes on the source;
  * the exercise registry (bpkit_grade.exercises) agrees with the notebook's test cells;
  * a second run gives the same outputs (nbval; cells tagged ``nbval-ignore-output``, such as
    timings, are exempt).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bpkit_grade.exercises import MODULES, for_assignment

ROOT = Path(__file__).resolve().parents[1]
# every notebook of solutions/ (not the registry's list: an assignment missing there must fail
# test_every_assignment_has_a_registry, not drop out of these tests)
ASSIGNMENTS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.stem == p.parent.name)
NBGRADER = [sys.executable, "-m", "nbgrader"]
# nbgrader starts `alembic` by name when it creates a gradebook: find it next to this Python
ENV = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}

pytestmark = pytest.mark.slow


def source_path(name):
    return ROOT / "solutions" / name / f"{name}.ipynb"


def student_path(name):
    return ROOT / "notebooks" / name / f"{name}.ipynb"


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")
            and not nbgrader_meta(c).get("solution")]


def copy_data_files(folder, workdir):
    """The files beside a notebook that it reads (visible-checks.json)."""
    for other in folder.iterdir():
        if other.is_file() and other.suffix != ".ipynb":
            shutil.copy(other, workdir / other.name)


def run(path, workdir):
    """Execute a copy of the notebook in ``workdir`` (beside copies of its folder's other files);
    errors are kept in the outputs."""
    copy_data_files(path.parent, workdir)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb, time.perf_counter() - start


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each notebook executed once, solution and student version, shared by the tests below."""
    cache = {}

    def get(name, version):
        if (name, version) not in cache:
            path = source_path(name) if version == "solution" else student_path(name)
            assert path.exists(), f"{path.relative_to(ROOT)} is missing"
            work = tmp_path_factory.mktemp(f"{version}-{name}")
            cache[name, version] = run(path, work)
        return cache[name, version]

    return get


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_is_committed_with_outputs_cleared(name):
    nb = nbformat.read(source_path(name), as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_runs_top_to_bottom(name, executed):
    nb, seconds = executed(name, "solution")
    failed = [(i, e["ename"], e["evalue"]) for i, c in enumerate(nb.cells) for e in errors(c)]
    assert not failed, f"{name}: cells raised errors: {failed}"
    print(f"{name}: executed in {seconds:.1f} s")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_graded_cells_pass_on_solution_and_fail_on_blank(name, executed):
    solved, _ = executed(name, "solution")
    blank, _ = executed(name, "student")
    solved_tests, blank_tests = graded_cells(solved), graded_cells(blank)
    assert len(solved_tests) >= 3, f"{name} has {len(solved_tests)} graded test cells; at least 3 wanted"
    assert [nbgrader_meta(c)["grade_id"] for c in solved_tests] == \
        [nbgrader_meta(c)["grade_id"] for c in blank_tests]
    for cell in solved_tests:
        assert not errors(cell), f"{name}/{nbgrader_meta(cell)['grade_id']} fails on the solution: " \
                                 f"{errors(cell)[0]['evalue']}"
    for cell in blank_tests:
        grade_id = nbgrader_meta(cell)["grade_id"]
        found = errors(cell)
        assert found, f"{name}/{grade_id} passes on the blank student version"
        assert found[0]["ename"] == "NotAnswered", \
            f"{name}/{grade_id} fails on the blank version with {found[0]['ename']}: " \
            f"{found[0]['evalue']} (expected the exercise's own 'not written yet' message)"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_tests_and_registry_match_the_notebook(name):
    nb = nbformat.read(source_path(name), as_version=4)
    cells = graded_cells(nb)
    for cell in cells:
        assert "### BEGIN HIDDEN TESTS" in cell.source, \
            f"{name}/{nbgrader_meta(cell)['grade_id']} has no hidden tests"
        assert nbgrader_meta(cell).get("locked"), f"{nbgrader_meta(cell)['grade_id']} is not locked"
    in_notebook = [(nbgrader_meta(c)["grade_id"], float(nbgrader_meta(c)["points"])) for c in cells]
    in_registry = [(ex.grade_id, float(ex.points)) for ex in for_assignment(name)]
    assert in_notebook == in_registry, "bpkit_grade.exercises and the notebook's test cells disagree"
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{name}: duplicated grade_ids"


def test_every_assignment_has_a_registry():
    assert len(ASSIGNMENTS) >= 5, f"only {ASSIGNMENTS} in solutions/"
    assert sorted(MODULES) == ASSIGNMENTS, "bpkit_grade.exercises.MODULES and solutions/ disagree"


def test_visible_checks_are_current():
    """solutions/<a>/visible-checks.json is what the registry gives now (notebooks/ gets it from
    there through nbgrader, which the release test below compares)."""
    done = subprocess.run([sys.executable, "-m", "bpkit_grade.visible", "--check"], cwd=ROOT,
                          capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_visible_checks_drift_test_forgives_only_the_last_bits_of_a_number():
    """The file is written on one machine and checked on another (other BLAS, other CPU): a
    number that differs in its last bits is the same; another number, key or text is drift."""
    from bpkit_grade.visible import same
    committed = {"exercises": {"f": {"names": ["dx"], "asks_for": ["bpkit.paths.path_sum"],
                                     "cases": [{"inputs": [1, -2.4337], "expected": 0.633238817049884}]}}}
    assert same(committed, json.loads(json.dumps(committed).replace("0.633238817049884", "0.6332388170498842")))
    assert same(committed, json.loads(json.dumps(committed).replace("-2.4337", "-2.4337000000000004")))
    for drift in [("0.633238817049884", "0.6332388"), ("-2.4337", "-2.4338"), ("[1,", "[1.5,"),
                  ("path_sum", "dp_backward"), ('"dx"', '"dy"'), ('"names"', '"name"'), ("[1, ", "[true, ")]:
        changed = json.dumps(committed).replace(*drift)
        assert changed != json.dumps(committed), drift
        assert not same(committed, json.loads(changed)), drift


def test_generate_keeps_a_visible_checks_file_that_differs_only_in_the_last_bits(tmp_path):
    """`./course generate` rewrites visible-checks.json only when something really changed: the
    last bits of a number from another machine's BLAS leave the committed file as it is."""
    from bpkit_grade.visible import CHECKS_FILE, render, write
    name = ASSIGNMENTS[0]
    folder = tmp_path / "solutions" / name
    folder.mkdir(parents=True)
    fresh = render(name)
    number = re.findall(r"-?\d+\.\d{12,}", fresh)[0]
    nudged = repr(math.nextafter(float(number), math.inf))  # the next float up: one last bit
    noisy = fresh.replace(number, nudged, 1)
    (folder / CHECKS_FILE).write_text(noisy)
    assert write(tmp_path, name) == (folder / CHECKS_FILE, False)
    assert (folder / CHECKS_FILE).read_text() == noisy              # left as it was
    (folder / CHECKS_FILE).write_text(fresh.replace(number, repr(float(number) + 0.5), 1))
    assert write(tmp_path, name) == (folder / CHECKS_FILE, True)
    assert (folder / CHECKS_FILE).read_text() == fresh              # a real change: rewritten
    (folder / CHECKS_FILE).unlink()
    assert write(tmp_path, name)[1] and (folder / CHECKS_FILE).read_text() == fresh


def _heading_ids(path):
    """The anchors JupyterLab gives a notebook's headings (the text, spaces as hyphens)."""
    nb = nbformat.read(path, as_version=4)
    return {re.sub(r"\s+", "-", h.strip()) for cell in nb.cells if cell.cell_type == "markdown"
            for h in re.findall(r"^#+\s+(.+)$", cell.source, re.M)}


def test_every_link_of_a_student_notebook_leads_somewhere():
    """A relative link in a markdown cell opens a file of the student edition, and its
    ``#anchor`` (in this notebook or another) is a heading there."""
    checked = []
    for name in ASSIGNMENTS:
        path = student_path(name)
        nb = nbformat.read(path, as_version=4)
        for link in [link for cell in nb.cells if cell.cell_type == "markdown"
                     for link in re.findall(r"\]\(([^)\s]+)\)", cell.source) if not re.match(r"[a-z]+:", link)]:
            target, _, anchor = link.partition("#")
            file = (path.parent / target).resolve() if target else path
            assert file.is_file() and ROOT / "notebooks" in file.parents, f"{name}: {link} leads nowhere"
            if anchor and file.suffix == ".ipynb":
                assert anchor in _heading_ids(file), f"{name}: {link}: no heading {anchor!r} in {file.name}"
            checked.append((name, target, anchor))
    # notebooks 7 and 8 send the reader to notebook 1's Sources: links into another notebook exist
    assert {n for n, target, anchor in checked if target and anchor} >= {ASSIGNMENTS[6], ASSIGNMENTS[7]}, checked


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebooks_hold_no_instructor_code(name):
    """The student version imports only bpkit: no registry, no reference, no grader."""
    text = student_path(name).read_text()
    assert "bpkit_grade" not in text and "HIDDEN TESTS" not in text
    source = nbformat.read(source_path(name), as_version=4)
    outside_hidden = [re.sub(r"### BEGIN HIDDEN TESTS[\s\S]*?### END HIDDEN TESTS", "", c.source)
                      for c in source.cells]
    assert not [s for s in outside_hidden if "bpkit_grade" in s], \
        f"{name}: only hidden tests (stripped from the student version) may use bpkit_grade"


def test_at_least_fifteen_exercises_in_all():
    assert sum(len(for_assignment(name)) for name in ASSIGNMENTS) >= 15


def normalized(path):
    nb = nbformat.read(path, as_version=4)
    return json.loads(nbformat.writes(nb))


def test_notebooks_folder_is_a_fresh_nbgrader_release(tmp_path):
    """notebooks/ is never edited by hand: regenerate it and compare."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    for name in ASSIGNMENTS:
        done = subprocess.run(NBGRADER + ["generate_assignment", name, "--force"], cwd=course,
                              capture_output=True, text=True, env=ENV)
        assert done.returncode == 0, f"generate_assignment {name} failed:\n{done.stdout}\n{done.stderr}"
    for name in ASSIGNMENTS:
        fresh = course / "notebooks" / name / f"{name}.ipynb"
        assert normalized(fresh) == normalized(student_path(name)), (
            f"notebooks/{name} differs from a fresh nbgrader release of solutions/{name}: run "
            f"`.venv/bin/nbgrader generate_assignment {name} --force` from the repo root")
    released = sorted(p.relative_to(course / "notebooks") for p in (course / "notebooks").rglob("*")
                      if p.is_file())
    committed = sorted(p.relative_to(ROOT / "notebooks") for p in (ROOT / "notebooks").rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert released == committed, "notebooks/ holds files nbgrader does not make (or misses some)"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_validate_passes_on_the_source(name, tmp_path):
    shutil.copy(source_path(name), tmp_path / f"{name}.ipynb")
    copy_data_files(source_path(name).parent, tmp_path)
    done = subprocess.run(NBGRADER + ["validate", f"{name}.ipynb"], cwd=tmp_path,
                          capture_output=True, text=True, env=ENV)
    assert done.returncode == 0 and "Success!" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_outputs_are_deterministic(name, executed, tmp_path):
    """nbval runs the executed solution again and compares every output with the first run."""
    nb, _ = executed(name, "solution")
    copy = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, copy)
    copy_data_files(source_path(name).parent, tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
                           copy.name], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, f"{name}: outputs differ between two runs:\n{done.stdout[-3000:]}"
