"""Exercises of 02-paths-vs-dynamic-programming.

Graphs handed to the students' functions are plain data, so that a grader can make random ones:

    edges = [(i, j, z), ...]     one triple per edge: from vertex i to vertex j, local derivative z

Vertices are the integers 0 .. n-1, numbered in topological order (every edge has i < j).
Two edges may join the same pair of vertices (as in x * x): they are two different edges.
:func:`bpkit.paths.edge_list` turns any bpkit graph into this form.
"""
from __future__ import annotations

import math

from bpkit import examples
from bpkit.paths import count_paths, dp_backward, edge_list, path_product, path_sum, paths
from . import Exercise, DERIVATIVES, LOCAL_DERIVATIVES, PATHS
from .method import METHOD_LIMITS, doubled_chain, method_why

#: the exercises that ask for the edges' local derivatives (plain math, an edge list written out)
#: must not get them from the engine's edge list of a textbook graph
OWN_EDGES = PATHS + DERIVATIVES + LOCAL_DERIVATIVES + ("bpkit.paths.edge_list",)


# ----- exercise 1: the two paths of sin(x^2) + cos(x^2) --------------------------------------
def two_path_products(x):
    """(product along the path through sin, product along the path through cos, their sum)."""
    o = examples.sin_cos_of_square(x)
    g = o.graph()
    by_middle = {path[1][1].name: path_product(path) for path in paths(g, g["x"], o)}
    return (by_middle["sin"], by_middle["cos"], by_middle["sin"] + by_middle["cos"])


def two_path_mistakes(x):
    s, c = math.sin(x * x), math.cos(x * x)
    along_sin, along_cos = 2 * x * c, -2 * x * s
    return [("left out the local derivative 2x of the edge x -> x²", (c, -s, c - s)),
            ("wrote +sin for the derivative of cos (it is -sin)",
             (2 * x * c, 2 * x * s, 2 * x * (c + s))),
            ("swapped the two paths: the first value is the path through sin, the second the "
             "path through cos", (along_cos, along_sin, along_sin + along_cos)),
            ("multiplied the two paths' products; the paths add up: do/dx is their sum",
             (along_sin, along_cos, along_sin * along_cos)),
            ("forgot the 2 of x² (d x²/dx = 2x)", (x * c, -x * s, x * (c - s))),
            ("took cos and sin at x; the local derivatives of sin and cos are taken at x² (the "
             "value of the vertex x²)",
             (2 * x * math.cos(x), -2 * x * math.sin(x), 2 * x * (math.cos(x) - math.sin(x))))]


def _two_path_inputs(rng):
    # |x| away from 0 and 1 (where x, x² and 2x coincide), sin(x²) and cos(x²) away from 0
    while True:
        x = round(float(rng.uniform(0.3, 2) * rng.choice([-1.0, 1.0])), 3)
        right = two_path_products(x)
        if all(_differs_all(wrong, right) for _, wrong in two_path_mistakes(x)):
            return (x,)


def _differs_all(wrong, right):
    """Every entry that a mistake changes differs clearly from the right one."""
    return all(math.isclose(w, r, rel_tol=1e-9, abs_tol=1e-12) or
               not math.isclose(w, r, rel_tol=1e-3, abs_tol=1e-3) for w, r in zip(wrong, right)) \
        and any(not math.isclose(w, r, rel_tol=1e-3, abs_tol=1e-3) for w, r in zip(wrong, right))


# ----- exercises 2 and 3: path sum and dynamic programming on plain edge lists ----------------
def _over_paths(edges, source, target, start, step):
    """Sum, over every path from source to target, of the path's edges folded with ``step``."""
    out = {}
    for i, j, z in edges:
        out.setdefault(i, []).append((j, z))
    total, stack = 0.0, [(source, start)]
    while stack:
        node, acc = stack.pop()
        if node == target:
            total += acc
            continue
        for j, z in out.get(node, []):
            stack.append((j, step(acc, z)))
    return total


def path_sum_derivative(edges, source, target):
    """d y(target) / d y(source) as the sum over all paths of the product of local derivatives."""
    return _over_paths(edges, source, target, 1.0, lambda product, z: product * z)


def dp_derivative(edges, source, target):
    """S(source, target) by the backward dynamic program S(i) = sum_j S(j) z(i, j)."""
    n = 1 + max([source, target] + [max(i, j) for i, j, _ in edges])
    S = [0.0] * n
    S[target] = 1.0
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] += S[j] * z
    return S[source]


def _differs(a, b):
    return a is None or not math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-3)


def random_dag(rng):
    """(edges, source, target): a random DAG on 5..7 vertices, shuffled, with a doubled edge.

    The target is the second-to-last vertex and has no outgoing edges; the last vertex is a dead
    end that some earlier vertex feeds (so not every vertex reaches the target). Vertex i feeds
    i + 1 up to the target, so a path exists. Drawn again until every typical mistake (a dropped
    doubled edge, sums along paths, the list's order, increasing order, ...) changes the answer.
    """
    while True:
        n = int(rng.integers(5, 8))
        target, dead_end = n - 2, n - 1
        edges = []
        for i in range(target):
            for j in range(i + 1, n):
                if j == i + 1 or rng.random() < 0.35:
                    copies = 2 if rng.random() < 0.2 else 1
                    for _ in range(copies):
                        edges.append((i, j, _edge_z(rng)))
        source = int(rng.integers(0, 2))
        i = int(rng.integers(source, target))       # one doubled edge on a path to the target
        edges.append((i, i + 1, _edge_z(rng)))
        if not any(j == dead_end for _, j, _ in edges):
            edges.append((int(rng.integers(source, target)), dead_end, _edge_z(rng)))
        order = rng.permutation(len(edges))
        edges = [edges[k] for k in order]  # the list is not sorted: students must not rely on it
        right = dp_derivative(edges, source, target)
        if abs(right) < 0.05:
            continue
        if all(_differs(wrong, right) for _, wrong in dp_mistakes(edges, source, target)):
            return (edges, source, target)


def _edge_z(rng):
    return round(float(rng.uniform(0.4, 1.5) * rng.choice([-1.0, 1.0])), 3)


def _overwrite_dp(edges, source, target):
    n = 1 + max([source, target] + [max(i, j) for i, j, _ in edges])
    S = [0.0] * n
    S[target] = 1.0
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] = S[j] * z
    return S[source]


def _overwrite_dp_by_vertex(edges, source, target):
    """The dynamic program vertex by vertex (target - 1 down to source) with S(i) = ... instead
    of +=: the last outgoing edge in the list wins."""
    last = {}
    for i, j, z in edges:
        last[i] = (j, z)
    S = {target: 1.0}
    for i in range(target - 1, source - 1, -1):
        if i in last:
            j, z = last[i]
            S[i] = z * S.get(j, 0.0)
    return S.get(source, 0.0)


def _single_edges(edges, keep="first"):
    """One edge per pair of vertices: the first of the list, or the last (a dict overwrites)."""
    by_pair = {}
    for i, j, z in edges:
        if keep == "last" or (i, j) not in by_pair:
            by_pair[(i, j)] = z
    return [(i, j, z) for (i, j), z in by_pair.items()]


def _visited_dfs(edges, source, target):
    """A depth-first search that enters every vertex once: paths that meet again are lost."""
    out = {}
    for i, j, z in edges:
        out.setdefault(i, []).append((j, z))
    total, stack, visited = 0.0, [(source, 1.0)], set()
    while stack:
        node, acc = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        if node == target:
            total += acc
            continue
        for j, z in out.get(node, []):
            stack.append((j, acc * z))
    return total


def _has_path(edges, source, target):
    reach, changed = {source}, True
    while changed:
        changed = False
        for i, j, _ in edges:
            if i in reach and j not in reach:
                reach.add(j)
                changed = True
    return target in reach


VISITED = ("kept a visited set: a vertex reached again by another path must be entered again, "
           "every path counts (no visited set in a path sum)")
DOUBLED = ("kept only one of two edges joining the same two vertices (x * x has two edges from "
           "x: each is its own path)")


def path_mistakes(edges, source, target):
    found = []
    if source == target:
        found.append(("returned 0 for source == target: the path from a vertex to itself has no "
                      "edges, its product is 1, so the answer is 1.0", 0.0))
    elif not _has_path(edges, source, target):
        found.append(("returned None where no path leads from the source to the target: the sum "
                      "over no paths is 0.0", None))
    found += [(DOUBLED, path_sum_derivative(_single_edges(edges, keep), source, target))
              for keep in ("first", "last")]
    found.append(("added the local derivatives along a path; along a path they multiply",
                  _over_paths(edges, source, target, 0.0, lambda total, z: total + z)))
    product = 1.0
    for value in _path_products(edges, source, target):
        product *= value
    found.append(("multiplied the paths' products; the products of different paths add up",
                  product))
    found.append((VISITED,
                  _visited_dfs(edges, source, target)))
    in_list_order = {target: 1.0}
    for i, j, z in edges:
        in_list_order[i] = in_list_order.get(i, 0.0) + in_list_order.get(j, 0.0) * z
    found.append(("went through the edges in the order of the list; the list is in no particular "
                  "order (go by vertex number: the numbering is topological)",
                  in_list_order.get(source, 0.0)))
    return found


def _path_products(edges, source, target):
    out = {}
    for i, j, z in edges:
        out.setdefault(i, []).append((j, z))
    stack = [(source, 1.0)]
    while stack:
        node, acc = stack.pop()
        if node == target:
            yield acc
            continue
        for j, z in out.get(node, []):
            stack.append((j, acc * z))


def _dp_in_order(edges, source, target, key, combine=lambda s, z: s * z, start=1.0):
    S = {target: start}
    for i, j, z in sorted(edges, key=key):
        if j in S:
            S[i] = S.get(i, 0.0) + combine(S[j], z)
    return S.get(source, 0.0)


def dp_mistakes(edges, source, target):
    # a path sum's mistakes, but a visited set: the dynamic program has no search, and on most
    # graphs a visited set gives what overwriting S(i) gives (the last edge of each vertex wins)
    found = [m for m in path_mistakes(edges, source, target) if m[0] != VISITED]
    if source != target:
        found.append(("forgot S(target) = 1: the program starts from S(target) = 1 (d y(t) / d y(t)), "
                      "otherwise every S stays 0", 0.0))
    overwrote = ("overwrote S(i) with each outgoing edge's term; the terms of all outgoing edges "
                 "add up (S(i) += S(j) z(i, j))")
    return found + [
        (overwrote, _overwrite_dp(edges, source, target)),
        (overwrote, _overwrite_dp_by_vertex(edges, source, target)),
        ("went through the edges in increasing order of their head j: S(j) must be complete "
         "before it is used, so go backward from the target (decreasing j)",
         _dp_in_order(edges, source, target, key=lambda e: e[1])),
        ("added S(j) and z(i, j); the chain rule multiplies them: S(i) += S(j) * z(i, j)",
         _dp_in_order(edges, source, target, key=lambda e: -e[1], combine=lambda s, z: s + z,
                      start=0.0)),
    ]


# ----- exercise 17: 0.3 on every edge ----------------------------------------------------------
def uniform_edges_derivative(z, layers):
    """(number of paths from x to o, d o / d x) when every edge has local derivative z."""
    o = examples.uniform_layered_graph(z, int(layers))
    g = o.graph()
    return (count_paths(g, g["x"], o), dp_backward(g)[g["x"]])


def uniform_mistakes(z, layers):
    return [("forgot one edge of each path: a path from x to o has layers + 1 edges",
             (2 ** layers, 2 ** layers * z ** layers)),
            ("counted 2^(layers+1) paths: the first layer gives 2 choices, each later layer "
             "2 more, the output 1", (2 ** (layers + 1), 2 ** (layers + 1) * z ** (layers + 1))),
            ("added the choices of the layers: the number of paths is 2 * 2 * ... (one factor 2 "
             "per layer), the choices multiply", (2 * layers, 2 * layers * z ** (layers + 1))),
            ("added the local derivatives along a path: along a path they multiply (z^(layers+1))",
             (2 ** layers, 2 ** layers * (layers + 1) * z)),
            ("took one path only: all 2^layers paths have the same product z^(layers+1), and the "
             "paths add up", (2 ** layers, z ** (layers + 1)))]


def _uniform_inputs(rng):
    # |z| well inside (0, 1) and away from 0 (else every answer is about 0); 3 layers or more,
    # where 2 * layers and 2^layers differ; never the book's case (0.3, 4) itself
    while True:
        z = round(float(rng.uniform(0.3, 0.95) * rng.choice([-1.0, 1.0])), 2)
        layers = int(rng.integers(3, 9))
        if (z, layers) != (0.3, 4):
            return (z, layers)


# ----- exercise 18: the layered sin/cos graph ----------------------------------------------------
def layered_sin_cos_derivative(x, layers):
    """(d o / d x by the path sum, d o / d x by dynamic programming) for the layered sin/cos graph."""
    o = examples.layered_sin_cos(x, int(layers))
    g = o.graph()
    return (path_sum(g, g["x"], o), dp_backward(g)[g["x"]])


#: small cases first: a doubled edge, source == target (1.0), no path at all (0.0)
SMALL = [([(0, 1, 2.0), (1, 2, 3.0), (0, 1, -0.5), (0, 2, 0.25)], 0, 2),
         ([(0, 1, 2.0), (1, 2, 3.0), (0, 1, -0.5), (0, 2, 0.25)], 1, 1),
         ([(0, 1, 2.0), (1, 3, 0.5), (0, 2, -1.5)], 2, 3)]


def _layered(x, layers, *, dsin=math.cos, dcos=lambda s: -math.sin(s), swap_out=True,
             at_x=False, short=0, overwrite=False):
    """d o / d x of the layered sin/cos graph, backward by hand, with a slip built in."""
    inputs = [x]
    up, low = math.sin(x), math.cos(x)
    for _ in range(2, layers + 1 - short):
        s = up + low
        inputs.append(s)
        up, low = math.sin(s), math.cos(s)
    dup, dlow = (low, up) if swap_out else (up, low)
    for s in reversed(inputs[1:]):
        at = x if at_x else s
        ds = dlow * dcos(at) if overwrite else dup * dsin(at) + dlow * dcos(at)
        dup, dlow = ds, ds
    return dup * dsin(x) + dlow * dcos(x)


def layered_mistakes(x, layers):
    def both(**slip):
        wrong = _layered(x, layers, **slip)
        return (wrong, wrong)
    right = _layered(x, layers)
    return [
        ("wrote +sin for the derivative of cos (it is -sin)", both(dcos=math.sin)),
        ("wrote -cos for the derivative of sin (it is +cos)", both(dsin=lambda s: -math.cos(s))),
        ("did not swap the output edges: o = up * low, so do/d(up) = low and do/d(low) = up",
         both(swap_out=False)),
        ("took every layer's derivatives at x; each layer's sin and cos are taken at the layer's "
         "input s", both(at_x=True)),
        ("built one layer too few (the first layer is sin(x), cos(x); count the layers from there)",
         both(short=1)),
        ("overwrote the gradient of s with the second edge's term: s feeds both sin and cos, so "
         "the dynamic program adds their terms (+=)", (right, _layered(x, layers, overwrite=True))),
    ]


def _layered_inputs(rng):
    # two layers or more (so the inner layers' rules matter), x drawn again until every typical
    # slip changes the answer
    while True:
        x, layers = round(float(rng.uniform(-2, 2)), 3), int(rng.integers(2, 7))
        right = layered_sin_cos_derivative(x, layers)
        if abs(right[0]) > 1e-3 and all(_differs_all(wrong, right)
                                        for _, wrong in layered_mistakes(x, layers)):
            return (x, layers)


def _edge_list_cases(with_third_leaf):
    """The small cases, the product graph of section 4 (x = 1.1, 32 paths) and the ten-vertex
    sin/cos graph."""
    edges, names = edge_list(examples.product_graph(depth=5, x=1.1))
    cases = SMALL + [(edges, names.index("x"), names.index("o"))]
    edges, names = edge_list(examples.sin_cos_graph())
    leaves = ["y(1)", "y(2)", "y(3)"] if with_third_leaf else ["y(1)", "y(2)"]
    return tuple(cases + [(edges, names.index(leaf), names.index("y(10)")) for leaf in leaves])


EXERCISES = [
    Exercise(
        grade_id="test_two_path_products",
        points=2,
        function="two_path_products", asks_for=OWN_EDGES,
        make_inputs=_two_path_inputs,
        reference=two_path_products,
        description="the product of local derivatives on each path of sin(x^2) + cos(x^2), and their sum",
        mistakes=two_path_mistakes,
        result_names=("path through sin", "path through cos", "do/dx"),
        visible_inputs=((1.0,), (-0.7,), (1.6,)),
    ),
    Exercise(
        grade_id="test_path_sum_derivative",
        points=3,
        function="path_sum_derivative", asks_for=PATHS + DERIVATIVES,
        make_inputs=random_dag,
        reference=path_sum_derivative,
        description="d y(t)/d y(s) on a plain edge list as the sum over paths of edge products",
        mistakes=path_mistakes,
        result_names=None,
        visible_inputs=_edge_list_cases(with_third_leaf=False),
    ),
    Exercise(
        grade_id="test_dp_derivative",
        points=3,
        function="dp_derivative", asks_for=PATHS + DERIVATIVES,
        make_inputs=random_dag,
        reference=dp_derivative,
        description="d y(t)/d y(s) on a plain edge list by the backward dynamic program",
        mistakes=dp_mistakes,
        result_names=None,
        visible_inputs=_edge_list_cases(with_third_leaf=True),
        method_case=((doubled_chain(40), 0, 40), METHOD_LIMITS, method_why(
            40, "Compute S(i) = sum over the edges (i, j) of z(i, j) S(j) once per vertex, from "
                "the target down, so that each S(j) is reused, not recomputed for every path.")),
    ),
    Exercise(
        grade_id="test_uniform_edges_derivative",
        points=2,
        function="uniform_edges_derivative", asks_for=OWN_EDGES,
        make_inputs=_uniform_inputs,
        reference=uniform_edges_derivative,
        description="chapter exercise 17: paths and derivative when every edge's local derivative is z",
        mistakes=uniform_mistakes,
        result_names=("number of paths", "do/dx"),
        visible_inputs=((0.3, 4), (-0.6, 3)),
    ),
    Exercise(
        grade_id="test_layered_sin_cos_derivative",
        points=2,
        function="layered_sin_cos_derivative", asks_for=OWN_EDGES,
        make_inputs=_layered_inputs,
        reference=layered_sin_cos_derivative,
        mistakes=layered_mistakes,
        description="chapter exercise 18: do/dx of the layered sin/cos graph by path sum and by DP",
        result_names=("path sum", "dynamic programming"),
        visible_inputs=((1.0, 4), (-0.6, 3)),
    ),
]
