"""Execution time of each solution notebook (nbclient, a fresh kernel per notebook)."""
from __future__ import annotations

import os
import time
from pathlib import Path


def find(solutions_dir):
    root = Path(solutions_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def run_one(path, timeout=300):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as e:  # a failing notebook is a result too, not a crash of the benchmarks
        error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200] if str(e).strip() else ''}"
    seconds = time.perf_counter() - t0
    return {"notebook": os.path.relpath(path, Path(path).parents[2]), "seconds": seconds,
            "cells": len(nb.cells), "error": error}


def run(solutions_dir, timeout=300):
    notebooks = find(solutions_dir)
    if not notebooks:
        return {"solutions_dir": str(solutions_dir), "notebooks": [],
                "note": "no solution notebooks found"}
    try:
        import nbclient  # noqa: F401
    except ImportError:
        return {"solutions_dir": str(solutions_dir), "notebooks": [],
                "note": "nbclient is not installed (pip install -e '.[test]')"}
    return {"solutions_dir": str(solutions_dir),
            "notebooks": [run_one(p, timeout) for p in notebooks]}
