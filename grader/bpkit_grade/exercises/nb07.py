"""Exercises of 07-forward-and-reverse-mode: forward-mode dynamic programming, all-pairs
derivatives (chapter exercises 14 and 15), and Jacobian-vector vs vector-Jacobian products.

Graphs are plain edge lists as in notebook 2: ``edges = [(i, j, z), ...]`` on vertices
0 .. n-1 numbered in topological order (i < j), in no particular order, doubled edges allowed.
The two-layer map of the product exercises is f(x) = W2 tanh(W1 x) with W1 (k, n), W2 (m, k).
"""
from __future__ import annotations

import numpy as np

from bpkit import examples
from bpkit.paths import edge_list

from . import Exercise, DERIVATIVES, LAYERS, LOCAL_DERIVATIVES
from .method import METHOD_LIMITS, doubled_chain, method_why
from .nb02 import SMALL, _single_edges, random_dag


# ----- exercise 1: forward mode, T(j) = sum over edges (i, j) of z(i, j) T(i) -------------------
def forward_derivatives(edges, n, source):
    """[d y(j) / d y(source) for j in 0 .. n-1] by the forward dynamic program."""
    T = [0.0] * n
    T[source] = 1.0
    for i, j, z in sorted(edges, key=lambda e: e[0]):
        T[j] += z * T[i]
    return np.array(T)


def _forward(edges, n, source, *, key=lambda e: e[0], combine=lambda t, z: z * t,
             overwrite=False, seeds=None):
    T = [0.0] * n
    for s in seeds if seeds is not None else [source]:
        T[s] = 1.0
    for i, j, z in (sorted(edges, key=key) if key is not None else edges):
        if overwrite:
            T[j] = combine(T[i], z)
        else:
            T[j] += combine(T[i], z)
    return np.array(T)


def _overwrite_by_vertex(edges, n, source):
    """The forward program vertex by vertex (source + 1 up to n - 1) with T(j) = ... instead of
    +=: the last incoming edge in the list wins."""
    last = {}
    for i, j, z in edges:
        last[j] = (i, z)
    T = [0.0] * n
    T[source] = 1.0
    for j in range(source + 1, n):
        if j in last:
            i, z = last[j]
            T[j] = z * T[i]
    return np.array(T)


def _inputs_without_parents(edges, n):
    fed = {j for _, j, _ in edges}
    return [v for v in range(n) if v not in fed]


def forward_mistakes(edges, n, source):
    overwrote = ("overwrote T(j) with each incoming edge's term; the terms of all incoming edges "
                 "add up (T(j) += z(i, j) T(i))")
    return [
        (overwrote, _forward(edges, n, source, overwrite=True)),
        (overwrote, _overwrite_by_vertex(edges, n, source)),
        ("went through the edges in the order of the list; the list is in no particular order "
         "(go by the tail's vertex number: the numbering is topological)",
         _forward(edges, n, source, key=None)),
        ("went through the edges backward (decreasing tail): T(i) must be complete before its "
         "outgoing edges use it, so go forward from the source",
         _forward(edges, n, source, key=lambda e: -e[0])),
        ("forgot T(source) = 1: the program starts from d y(s) / d y(s) = 1, otherwise every T "
         "stays 0", np.zeros(n)),
        ("added T(i) and z(i, j); the chain rule multiplies them: T(j) += z(i, j) * T(i)",
         _forward(edges, n, source, combine=lambda t, z: t + z)),
    ] + [
        ("kept only one of two edges joining the same two vertices (x * x has two edges: each "
         "adds its own term)", forward_derivatives(_single_edges(edges, keep), n, source))
        for keep in ("first", "last")] + [
        ("started every input vertex (every vertex without incoming edges) at 1; only the "
         "source starts at 1, the other inputs are held fixed (their T is 0)",
         _forward(edges, n, source, seeds=sorted(set(_inputs_without_parents(edges, n)) | {source}))),
    ]


def _forward_inputs(rng):
    while True:
        args = _forward_draw(rng)
        if not np.allclose(_forward(*args, key=None), forward_derivatives(*args)):
            return args


def _forward_draw(rng):
    """A random DAG of notebook 2 from its vertex 0, renumbered to start at 1, beside a second
    input: the new vertex 0 feeds a vertex after the source (so it is held fixed, T = 0)."""
    edges, _, target = random_dag(rng)
    n = 2 + max([target] + [max(i, j) for i, j, _ in edges])
    edges = [(i + 1, j + 1, z) for i, j, z in edges]
    edges.insert(int(rng.integers(0, len(edges))),
                 (0, int(rng.integers(2, target + 2)), round(float(rng.uniform(0.5, 1.5)), 3)))
    return (edges, n, 1)


def _forward_cases():
    edges, names = edge_list(examples.product_graph(depth=5, x=1.1))
    cases = [(edges, len(names), names.index("x"))]
    for edges_, source, _ in SMALL:
        cases.append((edges_, 1 + max(max(i, j) for i, j, _ in edges_), source))
    edges, names = edge_list(examples.sin_cos_graph())
    cases += [(edges, len(names), names.index(leaf)) for leaf in ("y(1)", "y(2)")]
    cases.append(([(0, 2, 1.5), (1, 2, -2.0), (2, 3, 0.5), (1, 3, 3.0)], 4, 1))  # a second input
    return tuple(cases)


# ----- exercise 2: all pairs S(i, j) = d y(j) / d y(i) ---------------------------------------------
def all_pairs_derivatives(edges, n):
    """The n x n matrix S with S[i][j] = d y(j) / d y(i) (0 without a path, 1 on the diagonal)."""
    return np.array([forward_derivatives(edges, n, i) for i in range(n)], dtype=float).reshape(n, n)


def all_pairs_mistakes(edges, n):
    S = all_pairs_derivatives(edges, n)
    A = np.zeros((n, n))
    for i, j, z in edges:
        A[i, j] += z
    return [
        ("returned the matrix transposed: row i must hold the derivatives with respect to y(i), "
         "S[i][j] = d y(j) / d y(i)", S.T),
        ("left out the diagonal: the empty path from a vertex to itself has product 1, so "
         "S[i][i] = 1", S - np.eye(n)),
        ("counted direct edges only (paths of length 1); longer paths add their products too",
         A + np.eye(n)),
        ("overwrote S(i, j) with each incoming edge's term; the terms of all incoming edges add up",
         np.array([_forward(edges, n, i, overwrite=True) for i in range(n)]).reshape(n, n)),
        ("went through the edges in the order of the list; the list is in no particular order",
         np.array([_forward(edges, n, i, key=None) for i in range(n)]).reshape(n, n)),
    ] + [("kept only one of two edges joining the same two vertices (each edge is its own path)",
           all_pairs_derivatives(_single_edges(edges, keep), n)) for keep in ("first", "last")]


def _all_pairs_inputs(rng):
    # drawn again while the edge list happens to be in an order that works (a topological one)
    while True:
        edges, source, target = random_dag(rng)
        n = 1 + max([source, target] + [max(i, j) for i, j, _ in edges])
        in_list_order = np.array([_forward(edges, n, i, key=None) for i in range(n)])
        if not np.allclose(in_list_order, all_pairs_derivatives(edges, n)):
            return (edges, n)


def _all_pairs_cases():
    cases = [(e, 1 + max(max(i, j) for i, j, _ in e)) for e, _, _ in SMALL[:1]]
    edges, names = edge_list(examples.sin_cos_graph())
    cases.append((edges, len(names)))
    cases += [([], 1), ([], 3), ([(0, 1, 2.0), (0, 1, 3.0), (1, 2, -1.0)], 3)]
    return tuple(cases)


# ----- exercises 3 and 4: J v and u^T J for f(x) = W2 tanh(W1 x) ---------------------------------
def _prep(W1, W2, x):
    W1, W2, x = (np.asarray(a, dtype=float) for a in (W1, W2, x))
    return W1, W2, x, np.tanh(W1 @ x)


def jvp(W1, W2, x, v):
    """J v, J the Jacobian of f(x) = W2 tanh(W1 x): one forward sweep of the direction v."""
    W1, W2, x, h = _prep(W1, W2, x)
    return W2 @ ((1 - h ** 2) * (W1 @ np.asarray(v, dtype=float)))


def vjp(W1, W2, x, u):
    """J^T u (the row vector u^T J as a 1-D array): one backward sweep of the weights u."""
    W1, W2, x, h = _prep(W1, W2, x)
    return W1.T @ ((1 - h ** 2) * (W2.T @ np.asarray(u, dtype=float)))


def _local_slips(W1, x, h):
    a = W1 @ x
    return [("used the tanh's output h where its derivative 1 - h² belongs", h),
            ("took the derivative at the input of the tanh (1 - a² with a = W1 x); tanh' is "
             "1 - h² with h = tanh(a), the output", 1 - a ** 2),
            ("forgot the tanh's local derivative 1 - h² (the tanh is not linear)", np.ones_like(h)),
            ("wrote the sigmoid's rule h (1 - h); the tanh's is 1 - h²", h * (1 - h)),
            ("flipped the sign of the tanh's derivative: it is 1 - h², not h² - 1", h ** 2 - 1)]


def jvp_mistakes(W1, W2, x, v):
    W1, W2, x, h = _prep(W1, W2, x)
    v = np.asarray(v, dtype=float)
    found = [(d, W2 @ (local * (W1 @ v))) for d, local in _local_slips(W1, x, h)]
    found.append(("pushed x through the linearised map instead of the direction v: J v uses "
                  "v (W1 v), x only sets the point", W2 @ ((1 - h ** 2) * (W1 @ x))))
    if W1.shape[0] == W1.shape[1]:
        found.append(("multiplied v by W1^T; forward mode goes along the edges: W1 v",
                      W2 @ ((1 - h ** 2) * (W1.T @ v))))
    return found


def vjp_mistakes(W1, W2, x, u):
    W1, W2, x, h = _prep(W1, W2, x)
    u = np.asarray(u, dtype=float)
    found = [(d, W1.T @ (local * (W2.T @ u))) for d, local in _local_slips(W1, x, h)]
    found.append(("stopped at the tanh's input: u^T J goes back through W1 too (W1^T times it)",
                  (1 - h ** 2) * (W2.T @ u)))
    if W2.shape[0] == W2.shape[1]:
        found.append(("multiplied u by W2 where its transpose is needed: reverse mode goes "
                      "against the edges, W2^T u", W1.T @ ((1 - h ** 2) * (W2 @ u))))
    return found


def _product_inputs(rng, direction_of="in"):
    n, k, m = (int(s) for s in rng.choice([2, 3, 4, 5], size=3, replace=False))  # no transpose hides
    W1 = np.round(rng.normal(0, 0.8, (k, n)), 2)
    W2 = np.round(rng.normal(0, 1, (m, k)), 2)
    x = np.round(rng.normal(0, 1, n), 2)
    d = np.round(rng.normal(0, 1, n if direction_of == "in" else m), 2)
    return (W1, W2, x, d)


def _wide(direction_of):
    """Inputs of the product exercises with n = m = WIDE and k = 2: J is WIDE x WIDE (1.3 MB), the
    vectors of the two sweeps are WIDE numbers each."""
    rng = np.random.default_rng(7)
    n = m = WIDE
    W1 = np.round(rng.normal(0, 1 / np.sqrt(n), (2, n)), 3)
    W2 = np.round(rng.normal(0, 1, (m, 2)), 2)
    x = np.round(rng.normal(0, 1, n), 2)
    return (W1, W2, x, np.round(rng.normal(0, 1, n if direction_of == "in" else m), 2))


WIDE = 400
#: what a sweep of the product exercises may allocate on :func:`_wide`'s inputs: J is 1.3 MB
PRODUCT_LIMITS = {"memory": 500_000}


def _built_j(sweeps):
    return (f"seems to build the Jacobian J: on W1 of shape (2, {WIDE}) and W2 of shape ({WIDE}, 2) "
            f"it allocated about as much memory as J takes ({WIDE} x {WIDE} numbers, "
            f"{8 * WIDE * WIDE / 1e6:.1f} MB), where two sweeps need a few vectors of {WIDE} numbers. "
            f"{sweeps}")


_W1 = np.array([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5]])       # k = 2, n = 3
_W2 = np.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 1.0], [2.0, 0.0]])   # m = 4
_SQ = np.array([[0.6, -0.4], [0.3, 0.9]])

EXERCISES = [
    Exercise(
        grade_id="test_forward_derivatives",
        points=3,
        function="forward_derivatives", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_forward_inputs,
        reference=forward_derivatives,
        description="chapter exercise 14: d y(j)/d y(s) for every vertex j by forward-mode DP",
        mistakes=forward_mistakes,
        visible_inputs=_forward_cases(),
        method_case=((doubled_chain(40), 41, 0), METHOD_LIMITS, method_why(
            40, "Compute T(j) = sum over the edges (i, j) of z(i, j) T(i) once per vertex, from "
                "the source up, so that each T(i) is reused, not recomputed for every path.")),
    ),
    Exercise(
        grade_id="test_all_pairs_derivatives",
        points=2,
        function="all_pairs_derivatives", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_all_pairs_inputs,
        reference=all_pairs_derivatives,
        description="chapter exercise 15: the matrix of all node-to-node derivatives S(i, j)",
        mistakes=all_pairs_mistakes,
        visible_inputs=_all_pairs_cases(),
        # 30, not 40: one dynamic program per pair of vertices (31 x 31 of them) is quick too
        method_case=((doubled_chain(30), 31), METHOD_LIMITS, method_why(
            30, "One forward sweep per source vertex (your forward_derivatives) gives a whole row "
                "of S; no path needs to be listed.")),
    ),
    Exercise(
        grade_id="test_jvp",
        points=2,
        function="jvp", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=_product_inputs,
        reference=jvp,
        description="J v for f(x) = W2 tanh(W1 x) without building J (forward mode)",
        mistakes=jvp_mistakes,
        visible_inputs=((_W1, _W2, np.array([1.0, 0.5, -1.0]), np.array([1.0, 0.0, 0.0])),
                        (_W1, _W2, np.array([0.2, -0.3, 0.8]), np.array([0.5, -1.0, 2.0])),
                        (_SQ, _SQ.T, np.array([1.0, -0.5]), np.array([0.3, 1.0]))),
        method_case=(_wide("in"), PRODUCT_LIMITS, _built_j(
            "Push v through: W1 v, times 1 - h² entry by entry, then W2 times that.")),
    ),
    Exercise(
        grade_id="test_vjp",
        points=2,
        function="vjp", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=lambda rng: _product_inputs(rng, "out"),
        reference=vjp,
        description="u^T J for f(x) = W2 tanh(W1 x) without building J (reverse mode)",
        mistakes=vjp_mistakes,
        visible_inputs=((_W1, _W2, np.array([1.0, 0.5, -1.0]), np.array([1.0, 0.0, 0.0, 0.0])),
                        (_W1, _W2, np.array([0.2, -0.3, 0.8]), np.array([0.5, -1.0, 2.0, 1.0])),
                        (_SQ, _SQ.T, np.array([1.0, -0.5]), np.array([0.3, 1.0]))),
        method_case=(_wide("out"), PRODUCT_LIMITS, _built_j(
            "Pull u back: W2ᵀ u, times 1 - h² entry by entry, then W1ᵀ times that.")),
    ),
]
