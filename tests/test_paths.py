"""Derivatives as sums over paths == dynamic programming backwards == forwards == backward().

Random DAGs (scalar and vector vertices, vertices used twice by one op) come from a seeded
generator driven by hypothesis; the book's product graph checks the path counts 2^L.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpkit as bp
from bpkit import examples as ex
from bpkit import paths as paths_module
from bpkit.graph import GraphError
from bpkit.paths import (PerVertex, all_pairs, count_paths, dp_backward, dp_forward, edge_jacobian,
                         path_product, path_sum, paths)

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_graph(seed, n_ops=10, vectors=True):
    """A random DAG: 3 scalar leaves (and a vector leaf), ``n_ops`` vertices each applying a
    random op to one or two earlier vertices (possibly the same one twice), a scalar output."""
    rng = np.random.default_rng(seed)
    nodes = [bp.var(float(rng.uniform(-1, 1)), f"x{i}") for i in range(3)]
    if vectors:
        nodes.append(bp.var(rng.uniform(-1, 1, size=3), "v"))
    for i in range(n_ops):
        recent = nodes[-4:]
        a = recent[rng.integers(len(recent))]
        b = nodes[rng.integers(len(nodes))]
        if rng.random() < 0.2:
            b = a  # one op using a vertex twice: two edges
        choice = rng.integers(9)
        if choice == 0:
            out = a * b
        elif choice == 1:
            out = a + b
        elif choice == 2:
            out = bp.sin(a) - b
        elif choice == 3:
            out = bp.tanh(a * 1.5)
        elif choice == 4:
            out = bp.wsum([a, b], [0.5, -1.2])
        elif choice == 5:
            out = bp.prod(a, b, a)
        elif choice == 6:
            out = bp.sigmoid(a) / (1.5 + bp.cos(b))
        elif choice == 7:
            out = bp.sum(a) if np.ndim(a.value) else bp.exp(bp.tanh(a))
        else:
            out = a[1] * b if np.ndim(a.value) else a * b * 0.5
        nodes.append(out.named(f"n{i}"))
    tail = [bp.sum(n) if np.ndim(n.value) else n for n in nodes[-3:]]
    return (tail[0] + tail[1] * tail[2]).named("out")


def flat(x):
    return np.ravel(np.asarray(x, dtype=float))


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), vectors=st.booleans())
def test_path_sum_equals_dp_backward_forward_and_backward(seed, vectors):
    out = random_graph(seed, vectors=vectors)
    g = out.graph()
    out.backward()
    S = dp_backward(g)
    for node in g.nodes:
        if not node.requires_grad:
            continue
        np.testing.assert_allclose(flat(S[node]), flat(node.grad), rtol=1e-9, atol=1e-12)
    for leaf in g.leaves:
        if not leaf.requires_grad:
            continue
        by_paths = path_sum(g, leaf, out)
        forward = dp_forward(g, leaf)[out]
        np.testing.assert_allclose(flat(by_paths), flat(leaf.grad), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(flat(forward), flat(leaf.grad), rtol=1e-9, atol=1e-12)
        if type(leaf.value) is float:
            assert type(by_paths) is float and type(S[leaf]) is float and type(forward) is float


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), vectors=st.booleans())
def test_count_paths_equals_the_number_of_enumerated_paths(seed, vectors):
    out = random_graph(seed, vectors=vectors)
    g = out.graph()
    for source in g.nodes[::2]:
        listed = list(paths(g, source, out))
        assert count_paths(g, source, out) == len(listed)
        assert len(set(listed)) == len(listed)  # no path twice
        for p in listed:  # every path is a chain of edges from source to out
            assert p == () or (p[0][0] is source and p[-1][1] is out)
            for (_, c1, _), (p2, _, _) in zip(p, p[1:]):
                assert c1 is p2


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_dp_backward_to_an_inner_target_and_all_pairs(seed):
    out = random_graph(seed, n_ops=7, vectors=False)
    g = out.graph()
    nodes, S = all_pairs(g)
    assert nodes == g.nodes
    for b, target in enumerate(nodes):
        St = dp_backward(g, target)
        for a, source in enumerate(nodes):
            expected = St[source] if source in St else 0.0
            assert S[a, b] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            if source in St and source.requires_grad:
                assert path_sum(g, source, target) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    np.testing.assert_array_equal(np.diag(S), 1.0)


def test_all_pairs_refuses_vector_graphs():
    out = bp.sum(bp.var([1.0, 2.0]) * 2)
    with pytest.raises(GraphError, match="scalar"):
        all_pairs(out.graph())


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 8])
def test_product_graph_has_2_to_the_L_paths(depth):
    o = ex.product_graph(depth=depth, x=1.01)
    g = o.graph()
    x = g["x"]
    assert count_paths(g, x, o) == 2 ** depth
    assert len(list(paths(g, x, o))) == 2 ** depth
    assert path_sum(g, x, o) == pytest.approx(2 ** depth * 1.01 ** (2 ** depth - 1))
    assert len(g.nodes) == 2 * depth and len(g.edges) == 4 * depth - 2


def test_edge_multiplicity():
    x = bp.var(3.0, "x")
    sq = x * x
    g = sq.graph()
    assert count_paths(g, x, sq) == 2
    assert [len(p) for p in paths(g, x, sq)] == [1, 1]
    assert path_sum(g, x, sq) == 6.0
    o = ex.product_graph(depth=5)
    assert count_paths(o.graph(), o.graph()["x"], o) == 32  # not 16


def test_dynamic_programming_uses_each_edge_once_the_path_sum_each_edge_of_each_path(monkeypatch):
    """Counted, not timed: the local derivatives each algorithm asks for."""
    calls = []

    def counted(edge):
        calls.append(edge)
        return edge_jacobian(edge)
    monkeypatch.setattr(paths_module, "edge_jacobian", counted)
    o = ex.product_graph(depth=6, x=1.01)
    g = o.graph()
    edges = sorted((id(p), id(c), k) for p, c, k in g.edges)
    assert len(edges) == 4 * 5 + 2                           # 4 edges into each layer, 2 into o
    S = dp_backward(g)
    assert sorted((id(p), id(c), k) for p, c, k in calls) == edges
    calls.clear()
    T = dp_forward(g, g["x"])
    assert sorted((id(p), id(c), k) for p, c, k in calls) == edges
    calls.clear()
    total = path_sum(g, g["x"], o)
    assert len(calls) == 2 ** 6 * 6                          # every edge of each of the 64 paths
    assert total == pytest.approx(S[g["x"]]) and T[o] == pytest.approx(S[g["x"]])


class CountingDict(dict):
    """A dict that counts its lookups."""

    lookups = 0

    def __getitem__(self, key):
        self.lookups += 1
        return super().__getitem__(key)


def test_enumeration_is_lazy():
    """The first paths of the depth-40 product graph (2^40 paths) come at once: taking three
    of them looks at the children of a few dozen vertices, not at 2^40 paths."""
    o = ex.product_graph(depth=40, x=1.0)
    g = o.graph()
    g.children = CountingDict(g.children)
    first = list(itertools.islice(paths(g, g["x"], o), 3))
    assert g.children.lookups <= 3 * 41
    assert len(first) == 3 and all(len(p) == 40 for p in first)
    assert len(set(first)) == 3
    assert count_paths(g, g["x"], o) == 2 ** 40
    assert [path_product(p) for p in first] == [1.0, 1.0, 1.0]


def test_paths_are_in_a_fixed_order():
    o1, o2 = ex.sin_cos_graph(), ex.sin_cos_graph()
    names = [[[(p.name, c.name, k) for p, c, k in path] for path in paths(o, o.graph()["y(2)"], o)]
             for o in (o1, o2)]
    assert names[0] == names[1] and len(names[0]) == 3


def test_path_from_a_vertex_to_itself():
    x = bp.var(2.0, "x")
    y = x * 3
    g = y.graph()
    assert list(paths(g, y, y)) == [()]
    assert count_paths(g, y, y) == 1
    assert path_sum(g, y, y) == 1.0 == dp_backward(g)[y]
    v = bp.var([1.0, 2.0])
    w = v * 2
    np.testing.assert_array_equal(path_sum(w.graph(), w, w), np.eye(2))


def test_no_path_gives_zero():
    x, y = bp.var(1.0, "x"), bp.var(2.0, "y")
    a = (x * 2).named("a")
    out = (a + y).named("out")
    g = out.graph()
    assert list(paths(g, y, a)) == [] and count_paths(g, y, a) == 0
    assert path_sum(g, y, a) == 0.0
    v = bp.var([1.0, 2.0], "v")
    vx = (v * x).named("vx")
    s = bp.sum(vx) + y
    np.testing.assert_array_equal(path_sum(s.graph(), y, vx), np.zeros((2, 1)))


def test_vertices_outside_the_graph_are_named_in_the_error():
    out = bp.var(1.0, "x") * 2
    stranger = bp.var(5.0, "stranger")
    for call in (lambda: list(paths(out.graph(), stranger, out)),
                 lambda: count_paths(out, stranger, out), lambda: dp_forward(out, stranger),
                 lambda: dp_backward(out.graph(), stranger), lambda: path_sum(out, stranger, out)):
        with pytest.raises(GraphError, match="'stranger' is not a vertex"):
            call()
    with pytest.raises(TypeError, match="vertex"):
        count_paths(out, 3.0, out)


def test_edge_jacobians_of_vector_vertices():
    rng = np.random.default_rng(1)
    W = bp.var(rng.normal(size=(2, 3)), "W")
    x = bp.var(rng.normal(size=3), "x")
    z = (W @ x).named("z")
    h = bp.tanh(z, name="h")
    s = bp.sum(h, name="s")
    np.testing.assert_allclose(edge_jacobian((x, z, 1)), W.value)
    J_W = edge_jacobian((W, z, 0))   # Collins: W as a vector of its 6 entries
    assert J_W.shape == (2, 6)
    np.testing.assert_allclose(J_W, np.kron(np.eye(2), x.value[None, :]))
    np.testing.assert_allclose(edge_jacobian((z, h, 0)), np.diag(1 - h.value ** 2))
    np.testing.assert_allclose(edge_jacobian((h, s, 0)), np.ones((1, 2)))
    # the one path x -> z -> h -> s: the product of its Jacobians, last edge on the left
    (p,) = list(paths(s.graph(), x, s))
    s.backward()
    np.testing.assert_allclose(path_product(p).ravel(), x.grad)


def test_per_vertex_results():
    out = ex.reciprocal()
    S = dp_backward(out.graph())
    assert isinstance(S, PerVertex)
    names = S.by_name()
    assert names["x"] == 0.25 and names["y"] == -0.25 and names["d"] == 1.0
    assert {n.name for n, _ in S.items() if n.name is not None} == set(names)
    T = dp_forward(out.graph(), out.graph()["x"])
    assert T.by_name()["d"] == 0.25 and "y" not in T.by_name()


def test_path_sum_accepts_the_output_vertex_instead_of_a_graph():
    out = ex.reciprocal()
    x = out.graph()["x"]
    assert path_sum(out, x, out) == 0.25 and count_paths(out, x, out) == 1
