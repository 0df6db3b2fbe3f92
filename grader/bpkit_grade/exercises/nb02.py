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
from . import Exercise


# ----- exercise 1: the two paths of sin(x^2) + cos(x^2) --------------------------------------
def two_path_products(x):
    """(product along the path through sin, product along the path through cos, their sum)."""
    o = examples.sin_cos_of_square(x)
    g = o.graph()
    by_middle = {path[1][1].name: path_product(path) for path in paths(g, g["x"], o)}
    return (by_middle["sin"], by_middle["cos"], by_middle["sin"] + by_middle["cos"])


def two_path_mistakes(x):
    s, c = math.sin(x * x), math.cos(x * x)
    return [("left out the local derivative 2x of the edge x -> x²", (c, -s, c - s)),
            ("wrote +sin for the derivative of cos (it is -sin)",
             (2 * x * c, 2 * x * s, 2 * x * (c + s)))]


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


def random_dag(rng):
    """(edges, source, target): a random DAG on 4..8 vertices, some edges doubled."""
    n = int(rng.integers(4, 9))
    edges = []
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or rng.random() < 0.4:
                copies = 2 if rng.random() < 0.15 else 1
                for _ in range(copies):
                    edges.append((i, j, round(float(rng.uniform(-1.5, 1.5)), 3)))
    order = rng.permutation(len(edges))
    edges = [edges[k] for k in order]  # the list is not sorted: students must not rely on it
    source = int(rng.integers(0, 2))
    target = int(n - 1 - rng.integers(0, 2))
    return (edges, source, target)


def _overwrite_dp(edges, source, target):
    n = 1 + max([source, target] + [max(i, j) for i, j, _ in edges])
    S = [0.0] * n
    S[target] = 1.0
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] = S[j] * z
    return S[source]


def _single_edges(edges):
    seen, out = set(), []
    for i, j, z in edges:
        if (i, j) not in seen:
            seen.add((i, j))
            out.append((i, j, z))
    return out


def path_mistakes(edges, source, target):
    found = [("kept only one of two edges joining the same two vertices (x * x has two edges "
              "from x)", path_sum_derivative(_single_edges(edges), source, target))]
    found.append(("added the local derivatives along a path; they multiply",
                  _over_paths(edges, source, target, 0.0, lambda total, z: total + z)))
    in_list_order = {source: 1.0}
    for i, j, z in edges:
        in_list_order[j] = in_list_order.get(j, 0.0) + in_list_order.get(i, 0.0) * z
    found.append(("went through the edges in the order of the list; the list is in no particular "
                  "order (go by vertex number: the numbering is topological)",
                  in_list_order.get(target, 0.0)))
    return found


def dp_mistakes(edges, source, target):
    return path_mistakes(edges, source, target) + [
        ("overwrote S(i) with each outgoing edge's term; the terms of all outgoing edges add up "
         "(S(i) += S(j) z(i, j))", _overwrite_dp(edges, source, target))]


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
             "2 more, the output 1", (2 ** (layers + 1), 2 ** (layers + 1) * z ** (layers + 1)))]


# ----- exercise 18: the layered sin/cos graph ----------------------------------------------------
def layered_sin_cos_derivative(x, layers):
    """(d o / d x by the path sum, d o / d x by dynamic programming) for the layered sin/cos graph."""
    o = examples.layered_sin_cos(x, int(layers))
    g = o.graph()
    return (path_sum(g, g["x"], o), dp_backward(g)[g["x"]])


def _edge_list_cases(with_third_leaf):
    """The product graph of section 4 (x = 1.1, 32 paths) and the ten-vertex sin/cos graph."""
    edges, names = edge_list(examples.product_graph(depth=5, x=1.1))
    cases = [(edges, names.index("x"), names.index("o"))]
    edges, names = edge_list(examples.sin_cos_graph())
    leaves = ["y(1)", "y(2)", "y(3)"] if with_third_leaf else ["y(1)", "y(2)"]
    return tuple(cases + [(edges, names.index(leaf), names.index("y(10)")) for leaf in leaves])


EXERCISES = [
    Exercise(
        grade_id="test_two_path_products",
        points=2,
        function="two_path_products",
        make_inputs=lambda rng: (round(float(rng.uniform(-2, 2)), 3),),
        reference=two_path_products,
        description="the product of local derivatives on each path of sin(x^2) + cos(x^2), and their sum",
        mistakes=two_path_mistakes,
        result_names=("path through sin", "path through cos", "do/dx"),
        visible_inputs=((1.0,),),
    ),
    Exercise(
        grade_id="test_path_sum_derivative",
        points=3,
        function="path_sum_derivative",
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
        function="dp_derivative",
        make_inputs=random_dag,
        reference=dp_derivative,
        description="d y(t)/d y(s) on a plain edge list by the backward dynamic program",
        mistakes=dp_mistakes,
        result_names=None,
        visible_inputs=_edge_list_cases(with_third_leaf=True),
    ),
    Exercise(
        grade_id="test_uniform_edges_derivative",
        points=2,
        function="uniform_edges_derivative",
        make_inputs=lambda rng: (round(float(rng.uniform(-1, 1)), 2), int(rng.integers(1, 9))),
        reference=uniform_edges_derivative,
        description="chapter exercise 17: paths and derivative when every edge's local derivative is z",
        mistakes=uniform_mistakes,
        result_names=("number of paths", "do/dx"),
        visible_inputs=((0.3, 4),),
    ),
    Exercise(
        grade_id="test_layered_sin_cos_derivative",
        points=2,
        function="layered_sin_cos_derivative",
        make_inputs=lambda rng: (round(float(rng.uniform(-2, 2)), 3), int(rng.integers(1, 7))),
        reference=layered_sin_cos_derivative,
        description="chapter exercise 18: do/dx of the layered sin/cos graph by path sum and by DP",
        result_names=("path sum", "dynamic programming"),
        visible_inputs=((1.0, 4),),
    ),
]
