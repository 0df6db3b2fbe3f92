"""Scalar graphs: bpkit against micrograd on the same random DAG, and chains of growing depth.

The DAG is described once, as a list of ops on vertex indices (a "spec"), then built through
each library's own API by the same loop; backward runs from its one output. Both libraries see
the same ops in the same order on the same numbers.
"""
from __future__ import annotations

import gc
import math
import random
import sys

import bpkit as bp

from .common import ratio, summary, timed

# ----- micrograd, with a tanh in its own closure style (the package on PyPI has none) -----------


def micrograd_value():
    from micrograd.engine import Value
    return Value


def mg_tanh(v):
    """tanh for micrograd's Value, written the way micrograd writes its ops."""
    Value = type(v)
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward():
        v.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


# ----- the DAG ----------------------------------------------------------------------------------
def dag_spec(n_ops=20_000, width=200, seed=0):
    """A random layered DAG of about ``n_ops`` ops (+, *, tanh), then a sum of the last layer.

    ``width`` lanes: vertex j of a layer uses vertex j of the layer before (so every vertex
    reaches the output) and, for + and *, a random second vertex of that layer. Values are
    simulated with floats while the spec is drawn: an op whose result would leave [-3, 3] is
    replaced by a tanh, so neither library ever sees an overflow. Returns
    (leaf values, [(op, i, j)], n_ops) with indices into the list of all vertices.
    """
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) for _ in range(width)]
    prev = list(range(width))
    ops = []
    layers = max(1, n_ops // width)
    for _ in range(layers):
        layer = []
        for lane in range(width):
            i, j = prev[lane], prev[rng.randrange(width)]
            op = rng.choice("+*t")
            a, b = values[i], values[j]
            v = a + b if op == "+" else a * b if op == "*" else math.tanh(a)
            if op != "t" and abs(v) > 3:
                op, v = "t", math.tanh(a)
            ops.append((op, i, j))
            values.append(v)
            layer.append(len(values) - 1)
        prev = layer
    acc = prev[0]  # the output: the sum of the last layer
    for k in prev[1:]:
        ops.append(("+", acc, k))
        values.append(values[acc] + values[k])
        acc = len(values) - 1
    return values[:width], ops


def build(leaves, ops, make_leaf, tanh):
    """Run the spec through one library: its leaf constructor, its +, * and tanh."""
    vs = [make_leaf(x) for x in leaves]
    append = vs.append
    for op, i, j in ops:
        if op == "+":
            append(vs[i] + vs[j])
        elif op == "*":
            append(vs[i] * vs[j])
        else:
            append(tanh(vs[i]))
    return vs


def _bpkit_round(leaves, ops):
    t_build, vs = timed(build, leaves, ops, bp.var, bp.tanh)
    out = vs[-1]
    t_back, _ = timed(out.backward)
    return t_build, t_back, vs


def _micrograd_round(leaves, ops):
    Value = micrograd_value()
    t_build, vs = timed(build, leaves, ops, Value, mg_tanh)
    out = vs[-1]
    t_back, _ = timed(out.backward)
    return t_build, t_back, vs


def compare_dag(n_ops=20_000, repeats=5, seed=0, check=True, collector=True):
    """Interleaved rounds (the order alternates) of build + backward in both libraries.

    ``collector=False`` switches Python's cyclic garbage collector off while a round runs (as
    timeit does): that isolates each library's own work from the collections its allocations
    trigger, which a student's Python does run.
    """
    leaves, ops = dag_spec(n_ops, seed=seed)
    try:
        micrograd_value()
        have_mg = True
    except ImportError:
        have_mg = False
    times = {"bpkit": {"build": [], "backward": []}, "micrograd": {"build": [], "backward": []}}
    max_diff = None
    for r in range(repeats):
        order = ["bpkit", "micrograd"] if r % 2 == 0 else ["micrograd", "bpkit"]
        results = {}
        for lib in order:
            if lib == "micrograd" and not have_mg:
                continue
            if not collector:
                gc.disable()
            try:
                tb, tk, vs = (_bpkit_round if lib == "bpkit" else _micrograd_round)(leaves, ops)
            finally:
                gc.enable()
            times[lib]["build"].append(tb)
            times[lib]["backward"].append(tk)
            results[lib] = vs
        if check and r == 0 and have_mg:  # same graph, same numbers: the gradients must agree
            b, m = results["bpkit"], results["micrograd"]
            max_diff = max(abs(b[k].grad - m[k].grad) for k in range(len(leaves)))
            max_diff = max(max_diff, abs(b[-1].value - m[-1].data))
        del results
    n_nodes = len(leaves) + len(ops)
    out = {"n_ops": len(ops), "n_leaves": len(leaves), "n_nodes": n_nodes, "repeats": repeats,
           "garbage_collector": "on" if collector else "off during each round",
           "max_abs_difference_of_leaf_gradients": max_diff, "libraries": {}}
    for lib, t in times.items():
        if not t["build"]:
            out["libraries"][lib] = None
            continue
        total = [a + b for a, b in zip(t["build"], t["backward"])]
        s = {"build": summary(t["build"]), "backward": summary(t["backward"]),
             "build_plus_backward": summary(total)}
        s["build_nodes_per_s"] = len(ops) / s["build"]["median"]
        s["backward_nodes_per_s"] = n_nodes / s["backward"]["median"]
        out["libraries"][lib] = s
    if have_mg:
        b, m = out["libraries"]["bpkit"], out["libraries"]["micrograd"]
        out["ratio_bpkit_over_micrograd"] = {
            k: ratio(b[k]["median"], m[k]["median"]) for k in ("build", "backward", "build_plus_backward")}
        # the ratio of medians of per-round ratios: robust to load that changes between rounds
        per_round = sorted(
            (tb + kb) / (tm + km) for tb, kb, tm, km in zip(
                times["bpkit"]["build"], times["bpkit"]["backward"],
                times["micrograd"]["build"], times["micrograd"]["backward"]))
        out["ratio_bpkit_over_micrograd"]["per_round_median"] = per_round[len(per_round) // 2]
    return out


# ----- depth -------------------------------------------------------------------------------------
def chain(n, x, make_leaf, tanh):
    """n ops in a chain: y <- tanh(y) and y <- y * w in turn (w a leaf), starting from x."""
    X, W = make_leaf(x), make_leaf(0.9)
    y = X
    for i in range(n):
        y = tanh(y) if i % 2 == 0 else y * W
    return X, y


def micrograd_recursion_limit_depth(lo=10, hi=5000):
    """The shortest chain whose micrograd backward raises RecursionError (default limit)."""
    Value = micrograd_value()

    def fails(n):
        _, y = chain(n, 0.5, Value, mg_tanh)
        try:
            y.backward()
            return False
        except RecursionError:
            return True
    if not fails(hi):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fails(mid) else (mid, hi)
    return hi


def depth(sizes, repeats=3, budget=None, micrograd_max=100_000):
    """Chains of each size through both libraries: build and backward time per node, or the error."""
    try:
        Value = micrograd_value()
    except ImportError:
        Value = None
    rows = []
    for n in sizes:
        reps = repeats if n <= 100_000 else 1
        row = {"n_ops": n, "repeats": reps, "recursion_limit": sys.getrecursionlimit()}
        for lib in ("bpkit", "micrograd"):
            if lib == "micrograd" and Value is None:
                row[lib] = None
                continue
            if lib == "micrograd" and n > micrograd_max:
                row[lib] = {"note": "not run (its backward fails on much shorter chains)"}
                continue
            leaf, tanh = (bp.var, bp.tanh) if lib == "bpkit" else (Value, mg_tanh)
            builds, backs, error = [], [], None
            for _ in range(reps):
                tb, (X, y) = timed(chain, n, 0.5, leaf, tanh)
                builds.append(tb)
                try:
                    tk, _ = timed(y.backward)
                    backs.append(tk)
                except RecursionError as e:
                    error = f"RecursionError: {str(e)[:80]}"
                    break
                finally:
                    del X, y
            s = {"build": summary(builds), "backward": summary(backs) if backs else None,
                 "error": error}
            if backs:
                s["seconds_per_node"] = (s["build"]["median"] + s["backward"]["median"]) / n
            row[lib] = s
        rows.append(row)
        if budget is not None and budget.left < 0:
            break
    return rows
