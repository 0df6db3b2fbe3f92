"""Sum over paths against dynamic programming, on graphs whose number of paths doubles per layer.

For each depth L the graph is built once; then we time, on that graph,
  path_sum      bpkit.paths.path_sum(graph, x, o): one product per path, 2^L paths;
  dp_backward   bpkit.paths.dp_backward(graph): every edge once;
  backward      the engine's own o.backward() (the same dynamic program, vector-Jacobian style).
Path enumeration stops growing L once one evaluation takes longer than ``path_limit`` seconds.
"""
from __future__ import annotations

import math
import time

from bpkit import examples, paths

from .common import summary, timed

GRAPHS = {
    "product_graph": lambda L: examples.product_graph(depth=L, x=1.0),
    "layered_sin_cos": lambda L: examples.layered_sin_cos(x=1.0, layers=L),
}


def _repeat(fn, repeats, limit):
    """Up to ``repeats`` timings of fn(), fewer once they add up to ``limit`` seconds."""
    ts, value = [], None
    t_start = time.perf_counter()
    for _ in range(repeats):
        t, value = timed(fn)
        ts.append(t)
        if time.perf_counter() - t_start > limit:
            break
    return ts, value


def race(kind, path_depths, dp_depths, repeats=3, path_limit=10.0):
    build = GRAPHS[kind]
    rows = {}
    path_stopped_at = None
    for L in sorted(set(path_depths) | set(dp_depths)):
        out = build(L)
        g = out.graph()
        x, o = g["x"], g.output
        n_paths = paths.count_paths(g, x, o)
        row = {"L": L, "vertices": len(g.nodes), "edges": len(g.edges),
               "log2_paths": math.log2(n_paths), "paths": n_paths if n_paths < 2 ** 63 else None}
        if L in dp_depths:
            ts, S = _repeat(lambda: paths.dp_backward(g), repeats, path_limit)
            row["dp_backward"] = summary(ts)
            dp_value = S[x]
            ts, _ = _repeat(o.backward, repeats, path_limit)
            row["backward"] = summary(ts)
            row["derivative"] = dp_value
        if L in path_depths and path_stopped_at is None:
            ts, value = _repeat(lambda: paths.path_sum(g, x, o), repeats, path_limit)
            row["path_sum"] = summary(ts)
            if L in dp_depths:
                row["path_sum_matches_dp"] = abs(value - dp_value) <= 1e-9 * max(1.0, abs(dp_value))
            if ts[0] > path_limit:
                path_stopped_at = L
        rows[L] = row
    result = {"graph": kind, "rows": [rows[L] for L in sorted(rows)],
              "path_sum_limit_seconds": path_limit, "path_sum_stopped_after_L": path_stopped_at}
    result["crossover_L"] = crossover(result["rows"])
    return result


def crossover(rows):
    """The smallest L from which path_sum is slower than dp_backward at every measured depth."""
    both = [r for r in rows if "path_sum" in r and "dp_backward" in r]
    slower = [r["path_sum"]["median"] > r["dp_backward"]["median"] for r in both]
    for i, r in enumerate(both):
        if all(slower[i:]):
            return r["L"]
    return None
