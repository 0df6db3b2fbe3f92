"""Smoke test of the benchmarks: `python -m benchmarks --quick` writes well-formed results.
Never asserts a timing (the machine is shared; benchmarks measure, tests check)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmarks_write_results(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out),
                           "--solutions", str(tmp_path / "no-notebooks"), "--course", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    res = json.loads((out / "results.json").read_text())
    assert res["quick"] is True
    assert res["machine"]["nproc"] >= 1 and res["machine"]["numpy"]
    assert "python -m benchmarks" in res["command"]

    dag = res["scalar_dag"]
    assert dag["libraries"]["bpkit"]["build"]["median"] > 0
    if dag["libraries"]["micrograd"] is not None:  # micrograd is in the bench extra
        assert set(dag["ratio_bpkit_over_micrograd"]) >= {"build", "backward", "build_plus_backward"}
        assert dag["max_abs_difference_of_leaf_gradients"] < 1e-9  # same graph, same gradients

    assert all(row["bpkit"]["error"] is None for row in res["depth"])  # no recursion in bpkit

    for run in res["mlp"]:
        assert set(run["implementations"]) >= {"numpy", "graph", "layers"}
        assert max(run["max_abs_difference_from_numpy"].values()) < 1e-8

    for race in res["paths"]:
        assert any("path_sum" in r for r in race["rows"]) and any("dp_backward" in r for r in race["rows"])
        assert all(r["path_sum_matches_dp"] for r in race["rows"] if "path_sum_matches_dp" in r)

    assert "notebooks" in res and "autograde" in res
    assert {t["target"] for t in res["targets"]}  # every target is reported, met or not
    readme = (out / "README.md").read_text()
    assert "| bpkit / micrograd |" in readme or dag["libraries"]["micrograd"] is None
    for name in res["plots"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
