"""Exercises of 01-computational-graphs.

Every reference builds the graph with bpkit and reads the numbers off it, so the expected
values come from the engine, not from a second hand-written formula.
"""
from __future__ import annotations

import math

from bpkit import examples
from bpkit.graph import Graph, var
from bpkit.paths import edge_jacobian
from . import Exercise, DERIVATIVES, LOCAL_DERIVATIVES

# ----- forward pass of f(x, y, z) = [max(3x, 0) - y]^2 + z ------------------------------------
STAGES = ("p", "q", "r", "s", "t")


def forward_max_square(x, y, z):
    """(p, q, r, s, t) of the staged forward pass at (x, y, z)."""
    g = examples.max_square(x, y, z).graph()
    return tuple(g[name].value for name in STAGES)


def _max_square_mistakes(x, y, z):
    p = 3 * x
    no_max = (p, p, p - y, (p - y) ** 2, (p - y) ** 2 + z)
    q = max(p, 0.0)
    flipped = (p, q, y - q, (y - q) ** 2, (y - q) ** 2 + z)
    r = q - y
    q_x = max(x, 0.0)
    no_three = (x, q_x, q_x - y, (q_x - y) ** 2, (q_x - y) ** 2 + z)
    return [("left out the max: q = max(p, 0) is 0 when p is negative", no_max),
            ("computed r = y - q instead of q - y", flipped),
            ("forgot the 3 of p = 3x", no_three),
            ("forgot the square: s = r^2", (p, q, r, r, r + z)),
            ("computed t = s - z; the function adds z: t = s + z", (p, q, r, r * r, r * r - z)),
            ("took the max of x instead of p = 3x: q = max(p, 0)",
             (p, q_x, q_x - y, (q_x - y) ** 2, (q_x - y) ** 2 + z))]


def _away(rng, low, high, digits=3):
    """A random number of either sign with low <= |value| <= high."""
    return round(float(rng.uniform(low, high) * rng.choice([-1.0, 1.0])), digits)


def _max_square_inputs(rng):
    # x < 0 (the max closes) or x > 0 (it passes p) with equal chance, never at the kink; y and
    # z away from 0 and r = q - y away from 0, so that r <-> -r and s + z <-> s - z show
    while True:
        x, y, z = _away(rng, 0.2, 2), _away(rng, 0.2, 2), _away(rng, 0.2, 3)
        if abs(max(3 * x, 0.0) - y) > 0.2:
            return (x, y, z)


# ----- counting vertices and edges ---------------------------------------------------------------
def square_plus_x(x, n):
    """The graph of Exercise 2: u = x, then n times u = u * u + x. Returns its output vertex."""
    u = x
    for _ in range(n):
        u = u * u + x
    return u


def square_plus_x_size(n):
    """(number of vertices, number of edges) of the graph of ``square_plus_x`` for this n."""
    g = square_plus_x(var(0.1, "x"), int(n)).graph()
    return (len(g.nodes), len(g.edges))


def _size_mistakes(n):
    return [("counted u * u as one edge (it is two: u is the first and the second argument)",
             (2 * n + 1, 3 * n)),
            ("forgot the leaf x (it is a vertex too)", (2 * n, 4 * n)),
            ("made a new vertex for x in every step; there is one leaf x, used again in each step",
             (3 * n + 1, 4 * n)),
            ("ran one step too few: the loop body runs n times and each run adds 2 vertices and "
             "4 edges", (2 * n - 1, 4 * (n - 1)))]


# ----- Collins' definition ---------------------------------------------------------------------
COLLINS_NODES = {
    "u4": ("mul", ["u1", "u2"]),
    "u5": ("add", ["u2", "u3"]),
    "u6": ("exp", ["u5"]),
    "u7": ("mul", ["u4", "u6"]),
}


def forward_collins(u1, u2, u3):
    """(u4, u5, u6, u7): the forward pass of the seven-vertex graph of Exercise 3."""
    g = Graph.define(leaves={"u1": u1, "u2": u2, "u3": u3}, nodes=COLLINS_NODES)
    return tuple(g[f"u{i}"].value for i in range(4, 8))


def _collins_mistakes(u1, u2, u3):
    import math

    u4, u5 = u1 * u2, u2 + u3
    wrong5 = u1 + u3
    return [("computed u5 from u1 and u3; its parents are u2 and u3 (edges (2,5) and (3,5))",
             (u4, wrong5, math.exp(wrong5), u4 * math.exp(wrong5))),
            ("multiplied u4 by u5 instead of by u6 = exp(u5)", (u4, u5, math.exp(u5), u4 * u5)),
            ("added u1 and u2; the op of u4 is mul: u4 = u1 * u2",
             (u1 + u2, u5, math.exp(u5), (u1 + u2) * math.exp(u5))),
            ("computed u6 from u4; its parent is u5 (edge (5,6)): u6 = exp(u5)",
             (u4, u5, math.exp(u4), u4 * math.exp(u4))),
            ("added u4 and u6; the op of u7 is mul: u7 = u4 * u6", (u4, u5, math.exp(u5), u4 + math.exp(u5)))]


def _collins_inputs(rng):
    # u1 != u2 (the parents of u5 show), u4 != u5 (their order shows), u4 != 0
    while True:
        u1, u2, u3 = (round(float(v), 3) for v in rng.uniform(-1.5, 1.5, 3))
        if abs(u1 - u2) > 0.1 and abs(u1 * u2 - (u2 + u3)) > 0.1 and abs(u1 * u2) > 0.05 \
                and abs(u1 * u2 - (u1 + u2)) > 0.1:
            return (u1, u2, u3)


# ----- local derivatives of f(x, y) = 1 / (y + e^-x) ---------------------------------------------
RECIPROCAL_EDGES = (("x", "a"), ("a", "b"), ("b", "c"), ("y", "c"), ("c", "d"))


def _reciprocal_edges(g):
    found = []
    for tail, head in RECIPROCAL_EDGES:
        found.append(next(e for e in g.edges if e[0].name == tail and e[1].name == head))
    return found


def _reciprocal_inputs(rng):
    # x away from 0 (e^x and e^-x differ), c = y + e^-x away from 1 (-1/c and -1/c^2 differ)
    while True:
        x, y = _away(rng, 0.2, 2), round(float(rng.uniform(0.5, 3)), 3)
        if abs(y + math.exp(-x) - 1) > 0.1:
            return (x, y)


def local_derivatives_reciprocal(x, y):
    """z on the edges x->a, a->b, b->c, y->c, c->d of the staged 1 / (y + e^-x)."""
    g = examples.reciprocal(x, y).graph()
    return tuple(edge_jacobian(e) for e in _reciprocal_edges(g))


def _reciprocal_mistakes(x, y):
    d = examples.reciprocal(x, y)
    g = d.graph()
    d.backward()
    # global derivatives d(d)/d(tail) of each edge: the total derivative, not the local one
    global_ = tuple(g[tail].grad for tail, _ in RECIPROCAL_EDGES)
    local = local_derivatives_reciprocal(x, y)
    wrong_exp = (local[0], -local[1]) + local[2:]
    c = y + math.exp(-x)
    return [("gave global derivatives d(d)/d(tail) instead of the local ones d(head)/d(tail)",
             global_),
            ("wrote -e^a for the derivative of b = e^a (the minus belongs to the edge x -> a)",
             wrong_exp),
            ("wrote +1 on the edge x -> a; a = -x, so the edge x -> a is -1", (1.0,) + local[1:]),
            ("dropped the minus of d(1/c)/dc: the edge c -> d is -1/c^2", local[:4] + (1 / c ** 2,)),
            ("wrote -1/c for d(1/c)/dc: the edge c -> d is -1/c^2", local[:4] + (-1 / c,)),
            ("took e^x on the edge a -> b; b = e^a, so the edge carries e^a at a = -x",
             (local[0], math.exp(x)) + local[2:])]


EXERCISES = [
    Exercise(
        grade_id="test_forward_max_square",
        points=2,
        function="forward_max_square",
        make_inputs=_max_square_inputs,
        reference=forward_max_square,
        description="the forward pass (p, q, r, s, t) of [max(3x, 0) - y]^2 + z, built with bpkit",
        mistakes=_max_square_mistakes,
        result_names=STAGES,
        # the worked example (the max passes p), x < 0 (the max closes), x > 0 with y > q
        visible_inputs=((1.0, 0.0, -2.0), (-0.5, 1.0, 2.0), (0.4, 2.5, -0.7)),
    ),
    Exercise(
        grade_id="test_square_plus_x_size",
        points=1,
        function="square_plus_x_size",
        make_inputs=lambda rng: (int(rng.integers(4, 40)),),   # 1 and 2 are the fixed cases
        reference=square_plus_x_size,
        description="the number of vertices and edges of the graph of u = u*u + x repeated n times",
        mistakes=_size_mistakes,
        result_names=("vertices", "edges"),
        visible_inputs=((1,), (2,)),
    ),
    Exercise(
        grade_id="test_forward_collins",
        points=2,
        function="forward_collins",
        make_inputs=_collins_inputs,
        reference=forward_collins,
        description="the forward pass of a graph given by Collins' definition (n=7, l=3)",
        mistakes=_collins_mistakes,
        result_names=("u4", "u5", "u6", "u7"),
        visible_inputs=((1.0, 2.0, -1.0), (-0.8, 1.3, 0.4)),
    ),
    Exercise(
        grade_id="test_local_derivatives_reciprocal",
        points=2,
        function="local_derivatives_reciprocal", asks_for=LOCAL_DERIVATIVES + DERIVATIVES,
        make_inputs=_reciprocal_inputs,
        reference=local_derivatives_reciprocal,
        description="the local derivative on each edge of the staged 1 / (y + e^-x)",
        mistakes=_reciprocal_mistakes,
        result_names=("z(x,a)", "z(a,b)", "z(b,c)", "z(y,c)", "z(c,d)"),
        visible_inputs=((0.0, 1.0), (-1.2, 0.5)),
    ),
]
