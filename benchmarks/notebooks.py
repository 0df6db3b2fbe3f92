"""Execution time of each solution notebook (nbclient, a fresh kernel per notebook)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path


def find(solutions_dir):
    root = Path(solutions_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_one(path, timeout=300):
    """Run one notebook in a fresh kernel whose ``bpkit`` is the notebook's own repository's."""
    import nbformat
    from nbclient import NotebookClient
    path = Path(path).resolve()
    repo = path.parents[2]  # <repo>/solutions/<name>/<name>.ipynb
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(repo)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    error = None
    try:
        client.execute(env=env)
    except Exception as e:  # a failing notebook is a result too, not a crash of the benchmarks
        last = ANSI.sub("", str(e)).strip().splitlines()[-1:] or [""]
        error = f"{type(e).__name__}: {last[0][:200]}"
    seconds = time.perf_counter() - t0
    here = Path(__file__).resolve().parents[1]
    return {"notebook": str(path.relative_to(repo)),
            "repository": "this one" if repo == here else str(repo), "seconds": seconds,
            "cells": len(nb.cells), "error": error}


def run(solutions_dirs, timeout=300):
    """Every solution notebook under the given folders (a folder or a list of them)."""
    if isinstance(solutions_dirs, (str, Path)):
        solutions_dirs = [solutions_dirs]
    solutions_dir = ", ".join(map(str, solutions_dirs))
    notebooks = [p for d in solutions_dirs for p in find(d)]
    if not notebooks:
        return {"solutions_dir": solutions_dir, "notebooks": [],
                "note": "no solution notebooks found"}
    try:
        import nbclient  # noqa: F401
    except ImportError:
        return {"solutions_dir": solutions_dir, "notebooks": [],
                "note": "nbclient is not installed (pip install -e '.[test]')"}
    return {"solutions_dir": solutions_dir, "notebooks": [run_one(p, timeout) for p in notebooks]}
