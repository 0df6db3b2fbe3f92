"""Smoke test of the benchmarks: `python -m benchmarks --quick` writes well-formed results.

Never asserts a timing (the machine is shared; benchmarks measure, tests check). What it checks
can fail: every section has the rows and sizes of the --quick configuration, every time is a
finite positive number, every ratio is the quotient of the two columns it was computed from,
and both libraries agree on the gradients. micrograd and matplotlib are dependencies (the
`bench` and `course` extras that `./course` installs): without them this test fails, it never
skips.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "install it with `./course test`, or `.venv/bin/pip install -e '.[course,test,bench]'`"


def require(module, extra):
    assert importlib.util.find_spec(module) is not None, \
        f"{module} is missing: it is in bpkit's `{extra}` extra; {INSTALL}"


def is_time(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def check_summary(s, n, where):
    """A summary() of n timings: median, min and max finite, positive and in order."""
    assert s is not None, f"{where}: not measured"
    assert s["n"] == n, f"{where}: {s['n']} timings, expected {n}"
    assert all(is_time(s[k]) for k in ("median", "min", "max")), f"{where}: {s}"
    assert s["min"] <= s["median"] <= s["max"], f"{where}: {s}"


def check_ratio(got, a, b, where):
    assert got == pytest.approx(a / b, rel=1e-12), f"{where}: {got} is not {a} / {b}"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    require("micrograd", "bench")
    require("matplotlib", "course")
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out),
                           "--solutions", str(tmp / "no-notebooks"), "--course", str(tmp),
                           "--autograde-json", str(tmp / "no-autograde.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    res = json.loads((out / "results.json").read_text())
    # res["config"]: the sizes the run was asked for; every section must have them all
    return out, res, res["config"]


def test_missing_micrograd_fails_with_instructions(monkeypatch):
    """Without micrograd the comparison is not skipped: the check fails and says how to install."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(AssertionError, match=r"micrograd is missing.*bench.*\./course test"):
        require("micrograd", "bench")


@pytest.mark.slow
def test_quick_benchmarks_write_results(quick):
    out, res, cfg = quick
    assert res["quick"] is True
    assert cfg["depth_sizes"] and cfg["mlp_batches"] and cfg["path_depths"] and cfg["dp_depths"], cfg
    assert res["machine"]["nproc"] >= 1 and res["machine"]["numpy"]
    assert "python -m benchmarks" in res["command"]
    assert is_time(res["seconds_total"])


@pytest.mark.slow
def test_scalar_dag_compares_bpkit_with_micrograd(quick):
    _, res, cfg = quick
    for key, collector in (("scalar_dag", "on"), ("scalar_dag_no_gc", "off during each round")):
        dag = res[key]
        assert dag["garbage_collector"] == collector
        assert cfg["dag_ops"] <= dag["n_ops"] <= cfg["dag_ops"] + dag["n_leaves"]
        assert dag["n_nodes"] == dag["n_ops"] + dag["n_leaves"] and dag["repeats"] == cfg["dag_repeats"]
        libs = dag["libraries"]
        assert libs["micrograd"] is not None, f"{key}: micrograd was not measured; {INSTALL}"
        for lib in ("bpkit", "micrograd"):
            for phase in ("build", "backward", "build_plus_backward"):
                check_summary(libs[lib][phase], cfg["dag_repeats"], f"{key} {lib} {phase}")
        ratios = dag["ratio_bpkit_over_micrograd"]
        for phase in ("build", "backward", "build_plus_backward"):
            check_ratio(ratios[phase], libs["bpkit"][phase]["median"], libs["micrograd"][phase]["median"],
                        f"{key} ratio {phase}")
        assert is_time(ratios["per_round_median"])
        # same graph, same numbers: the same gradients (a real number, not None)
        assert 0 <= dag["max_abs_difference_of_leaf_gradients"] < 1e-9
    assert res["scalar_dag_sizes"] == [] and cfg["dag_other_sizes"] == []  # --quick: one size


@pytest.mark.slow
def test_depth_runs_every_chain_in_both_libraries(quick):
    _, res, cfg = quick
    assert [row["n_ops"] for row in res["depth"]] == cfg["depth_sizes"]
    for row in res["depth"]:
        b = row["bpkit"]
        assert b["error"] is None, f"bpkit on a chain of {row['n_ops']}: {b['error']}"  # no recursion
        assert is_time(b["seconds_per_node"]), row
        check_summary(b["backward"], row["repeats"], f"bpkit chain {row['n_ops']} backward")
        assert row["micrograd"] is not None, f"micrograd was not measured; {INSTALL}"
    limit = res["micrograd_recursion_error_from"]
    assert isinstance(limit, int) and 10 < limit <= 5000, limit  # micrograd's recursive sort


@pytest.mark.slow
def test_mlp_compares_every_implementation_with_numpy(quick):
    _, res, cfg = quick
    assert [(run["batch"], run["repeats"]) for run in res["mlp"]] == [tuple(b) for b in cfg["mlp_batches"]]
    for run in res["mlp"]:
        impl = run["implementations"]
        assert set(impl) >= {"numpy", "graph", "layers", "numpy+dX", "numpy-kept"}
        for name, s in impl.items():
            check_summary(s, run["repeats"], f"MLP batch {run['batch']} {name}")
            check_ratio(run["ratio_over_numpy"][name], s["median"], impl["numpy"]["median"],
                        f"MLP batch {run['batch']} {name} / numpy")
        assert set(run["max_abs_difference_from_numpy"]) == set(impl)
        mem = run["memory_per_step"]  # what GRAPH_WHY reports: bpkit keeps more alive
        assert set(mem) == {"numpy", "graph"} and all(m["peak_mb"] > 0 and m["page_faults"] >= 0
                                                      for m in mem.values()), mem
        assert max(run["max_abs_difference_from_numpy"].values()) < 1e-8
    kept = res["mlp_kept_memory"]  # the same step, the allocator keeping freed memory
    assert (kept["batch"], kept["repeats"]) == tuple(cfg["mlp_batches"][0]), kept
    assert set(kept["allocator"]) == {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"}
    assert set(kept["implementations"]) >= {"numpy", "graph", "layers"}
    for name, s in kept["implementations"].items():
        check_summary(s, kept["repeats"], f"MLP (memory kept) {name}")
    assert max(kept["max_abs_difference_from_numpy"].values()) < 1e-8


@pytest.mark.slow
def test_path_sum_race_agrees_with_dynamic_programming(quick):
    _, res, cfg = quick
    assert [race["graph"] for race in res["paths"]] == ["product_graph", "layered_sin_cos"]
    for race in res["paths"]:
        rows = race["rows"]
        assert [r["L"] for r in rows] == sorted(set(cfg["path_depths"]) | set(cfg["dp_depths"]))
        for r in rows:
            assert r["log2_paths"] >= 0 and r["edges"] >= r["vertices"] - 1
            if r["L"] in cfg["dp_depths"]:
                check_summary(r["dp_backward"], r["dp_backward"]["n"], f"{race['graph']} L={r['L']} dp")
        both = [r for r in rows if "path_sum" in r and "dp_backward" in r]
        # the first depth is always raced (enumeration stops growing only after a slow one)
        assert both and both[0]["L"] == rows[0]["L"], f"{race['graph']}: path_sum never raced dp_backward"
        wrong = [r["L"] for r in both if r["path_sum_matches_dp"] is not True]
        assert not wrong, f"{race['graph']}: path_sum differs from dp_backward at L = {wrong}"


@pytest.mark.slow
def test_report_has_every_section_target_and_plot(quick):
    out, res, cfg = quick
    assert res["notebooks"] == {"notebooks": [], "note": "skipped in --quick mode"}
    assert res["autograde"]["rows"] == [] and "no autograding numbers found" in res["autograde"]["note"]
    targets = {t["target"] for t in res["targets"]}
    assert any(t.startswith("scalar DAG: bpkit build+backward") for t in targets), targets
    assert "depth: bpkit completes every chain" in targets, targets
    assert {t for t in targets if t.startswith("MLP batch 256")} == {
        "MLP batch 256: bpkit graph ≤ 1.05× hand-written NumPy",
        "MLP batch 256: bpkit layers ≤ 1.10× hand-written NumPy"}, targets
    assert all(isinstance(t["met"], bool) and t["measured"] for t in res["targets"])
    graph = next(t for t in res["targets"] if t["target"].startswith("MLP batch 256: bpkit graph"))
    assert "with the allocator keeping freed memory" in graph["measured"], graph
    readme = (out / "README.md").read_text()
    assert "| bpkit / micrograd |" in readme
    assert len(res["plots"]) == 3, res["plots"]  # paths, scalar, MLP
    for name in res["plots"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_autograde_speed_compares_bpkit_grade_with_plain_nbgrader(tmp_path):
    """benchmarks/autograde_speed.py on a tiny class of a real assignment (2 submissions, one
    round): every command graded it, the table has every row and both target ratios, and each
    ratio is the quotient of the medians it names. No timing is asserted."""
    out = tmp_path / "autograde.json"
    done = subprocess.run([sys.executable, "benchmarks/autograde_speed.py", "-n", "2", "--repeats", "1",
                           "--out", str(out), "--workdir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    res = json.loads(out.read_text())
    rows = res["rows"]
    assert [(r["pipeline"], r["jobs"]) for r in rows] == [("nbgrader", 1), ("bpkit-grade", 1), ("bpkit-grade", 2)]
    for r in rows:
        assert r["submissions"] == 2 and r["rounds"] == 1 and r["assignment"] == "01-computational-graphs", r
        assert is_time(r["seconds_per_submission"]) and is_time(r["cpu_seconds_per_submission"]), r
        assert r["wall_per_submission_each_round"] == [r["seconds_per_submission"]], r
    plain, j1, j2 = (r["seconds_per_submission"] for r in rows)
    assert res["ratios"]["j1_over_plain"] == pytest.approx(j1 / plain, abs=1e-3)
    assert res["ratios"]["speedup_j2_over_j1"] == pytest.approx(j1 / j2, abs=1e-3)
    for line in ("| plain `nbgrader autograde` |", "| `bpkit-grade -j 1` |", "| `bpkit-grade -j 2` |",
                 "| `-j 1` / plain nbgrader |", "| speed-up `-j 2` over `-j 1` |"):
        assert line in done.stdout, f"{line!r} not in the table:\n{done.stdout}"
    assert list(tmp_path.iterdir()) == [out], "the course copies were not removed"
