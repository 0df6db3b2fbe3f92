"""Binder, checked without Docker.

- binder/ holds what repo2docker reads, and `repo2docker --no-build` accepts it (it prints the
  Dockerfile it would build: Python from runtime.txt, graphviz from apt.txt, requirements.txt
  installed after the repository is copied in because of `-e .`, then postBuild);
- binder/requirements.txt pins exactly the versions of requirements/lock.txt, and the lock pins
  every requirement of pyproject.toml and grader/pyproject.toml at a version that satisfies it;
- the pins resolve to wheels for Binder's Python and platform (`pip install --dry-run`).

That a fresh virtual environment made from binder/requirements.txt alone runs the course is
checked in tests/test_edition.py, on the student edition Binder really builds (one fresh venv for
both: the edition's notebooks with the solutions filled in).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
# Binder runs on x86_64 Linux; pip needs every manylinux tag a wheel may carry, or it fails falsely.
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (comments and options skipped)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert m, f"{path.relative_to(ROOT)}: {line!r} is not a pin (name==version)"
        out[canonicalize_name(m[1])] = m[2]
    return out


def binder_python() -> str:
    m = re.fullmatch(r"python-(3\.\d+)", (BINDER / "runtime.txt").read_text().strip())
    assert m, "binder/runtime.txt must read python-3.X (repo2docker's form)"
    return m[1]


def test_binder_folder_is_what_repo2docker_reads():
    assert binder_python() in ("3.11", "3.12"), "choose a Python every pinned package has wheels for"
    assert "graphviz" in (BINDER / "apt.txt").read_text().split(), "apt.txt must install graphviz (`dot`)"
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()]
    assert "-e ." in lines, "binder/requirements.txt must install bpkit itself (`-e .`)"
    post = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK) and post.startswith("#!")
    assert "set -euo pipefail" in post


def test_binder_pins_are_the_lock_pins_and_the_lock_satisfies_pyproject():
    lock = pins(ROOT / "requirements" / "lock.txt")
    binder = pins(BINDER / "requirements.txt")
    differ = {n: (v, lock.get(n)) for n, v in binder.items() if lock.get(n) != v}
    assert not differ, f"binder/requirements.txt differs from requirements/lock.txt (binder, lock): {differ}; " \
                       "run requirements/update"
    for heavy in ("torch", "micrograd", "pytest", "playwright"):
        assert heavy not in binder, f"Binder does not need {heavy}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    grader = tomllib.loads((ROOT / "grader" / "pyproject.toml").read_text())["project"]
    grader_deps = [r for r in grader["dependencies"]  # bpkit-grade's, except bpkit itself
                   if canonicalize_name(Requirement(r).name) != canonicalize_name(project["name"])]
    assert grader_deps, "grader/pyproject.toml lists no dependency besides bpkit"
    wanted = {"lock": project["dependencies"] + [r for reqs in extras.values() for r in reqs]
              + grader_deps,
              "binder": project["dependencies"] + extras.get("course", [])}
    for name, table in (("lock", lock), ("binder", binder)):
        for spec in wanted[name]:
            req = Requirement(spec)
            version = table.get(canonicalize_name(req.name))
            assert version is not None, f"{name} does not pin {req.name} (pyproject.toml asks for it); " \
                                        "run requirements/update"
            assert req.specifier.contains(version, prereleases=True), \
                f"{name} pins {req.name}=={version}, but pyproject.toml asks for {spec}; run requirements/update"


def test_repo2docker_accepts_the_binder_folder():
    done = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan",
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    expect = [f"python={binder_python()}",                                   # runtime.txt
              "apt-get install --yes --no-install-recommends graphviz",      # apt.txt
              "COPY --chown=1000:1000 src/ ${REPO_DIR}/",                    # the repo before pip: -e .
              'pip install --no-cache-dir -r "binder/requirements.txt"',
              "RUN ./binder/postBuild"]
    missing = [e for e in expect if e not in out]
    assert not missing, f"repo2docker's Dockerfile lacks {missing}:\n{out[-4000:]}"
    assert out.index("src/ ${REPO_DIR}/") < out.index('-r "binder/requirements.txt"'), \
        "the repository must be in the image before `pip install -e .`"


def _repo2docker_lock(minor: str) -> str:
    """repo2docker's conda lock file for python-3.X: the environment Binder starts from."""
    import importlib.util

    spec = importlib.util.find_spec("repo2docker")  # located, not imported (it warns on import)
    assert spec and spec.origin, "jupyter-repo2docker is not installed (it is in the test extra)"
    lock = Path(spec.origin).parent / "buildpacks" / "conda" / f"environment.py-{minor}-linux-64.lock"
    assert lock.exists(), f"repo2docker has no environment for Python {minor} ({lock})"
    return lock.read_text()


def _repo2docker_python(minor: str) -> str:
    """The exact Python Binder builds for python-3.X."""
    m = re.search(r"/python-(3\.\d+\.\d+)-", _repo2docker_lock(minor))
    assert m, f"no python version in repo2docker's lock for {minor}"
    return m[1]


def _binder_base_packages(minor: str) -> list[str]:
    """The Jupyter add-ons Binder's image already has, which our pins must install beside
    (PyPI name == conda version)."""
    lock = _repo2docker_lock(minor)
    out = []
    for conda, pypi in (("jupyterhub-base", "jupyterhub"), ("jupyter-resource-usage", "jupyter-resource-usage"),
                        ("jupyter-offlinenotebook", "jupyter-offlinenotebook")):
        m = re.search(rf"/{conda}-(\d[\w.]*)-", lock)
        assert m, f"{conda} not in repo2docker's lock for {minor}"
        out.append(f"{pypi}=={m[1]}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("what", ["binder", "lock"])
def test_pins_resolve_to_wheels_for_their_python(what, tmp_path):
    """binder/requirements.txt for the exact Python Binder builds (repo2docker's own conda lock
    for runtime.txt's version, e.g. 3.11.14: Requires-Python checks need the micro version),
    together with the Jupyter add-ons already in Binder's image (JupyterHub's single-user
    server, resource usage, offline notebook);
    requirements/lock.txt for the oldest Python ./course accepts, 3.11.0 (Debian 12 has 3.11.2)."""
    extra = []
    if what == "binder":
        reqs, version = BINDER / "requirements.txt", _repo2docker_python(binder_python())
        extra = _binder_base_packages(binder_python())  # e.g. jupyterhub==5.4.0: must fit our pins
    else:
        reqs, version = ROOT / "requirements" / "lock.txt", "3.11.0"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--target", str(tmp_path / "target"), "--python-version", version,
           *[a for p in PLATFORMS for a in ("--platform", p)], "--only-binary=:all:", "-r", str(reqs), *extra]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{reqs.relative_to(ROOT)} does not resolve for Python {version} on " \
                                 f"{PLATFORMS}:\n{' '.join(cmd)}\n{done.stderr[-3000:]}"
