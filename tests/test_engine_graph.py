"""The graph itself: structure, the backward rule, and clear errors on bad input."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import bpkit
import bpkit as bp
import bpkit.jacobian  # noqa: F401  (bp.jacobian.jacobian)
from bpkit.graph import Graph, GraphError, NonFiniteWarning, ShapeError


# ----- structure ----------------------------------------------------------------------------------
def test_graph_nodes_are_in_topological_order_with_edges_and_leaves():
    x, y = bp.var(1.0, "x"), bp.var(2.0, "y")
    a = (x * y).named("a")
    b = bp.sin(a, name="b")
    out = (a + b * x).named("out")
    g = out.graph()
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    assert len(pos) == len(g.nodes) == len(g)
    for parent, child, k in g.edges:
        assert pos[id(parent)] < pos[id(child)]
        assert child.parents[k] is parent
    assert g.nodes[-1] is out and g.output is out
    assert {n.name for n in g.leaves} == {"x", "y"}
    assert all(n.is_leaf for n in g.leaves)
    assert g["a"] is a and x in g and bp.var(0.0) not in g
    assert list(g) == g.nodes
    assert "vertices" in repr(g)


def test_edge_multiplicity_is_kept():
    x = bp.var(3.0, "x")
    sq = x * x
    g = sq.graph()
    assert [(p is x, c is sq, k) for p, c, k in g.edges] == [(True, True, 0), (True, True, 1)]
    assert len(g.nodes) == 2
    assert bp.prod(x, x, x).graph().edges.__len__() == 3


def test_graph_lookup_errors_name_the_known_vertices():
    x = bp.var(1.0, "x")
    g = (x + bp.var(2.0, "x")).named("s").graph()
    with pytest.raises(KeyError, match="2 vertices are named 'x'"):
        g["x"]
    with pytest.raises(KeyError, match="named vertices: x, x, s"):
        g["nope"]
    with pytest.raises(TypeError, match="vertex"):
        Graph(3.0)


def test_forward_recomputes_after_changing_a_leaf():
    x = bp.var(2.0, "x")
    out = bp.exp(x * x) + x
    g = out.graph()
    x.value = 1.5
    assert g.forward() == pytest.approx(np.exp(2.25) + 1.5)
    assert out.value == pytest.approx(np.exp(2.25) + 1.5)
    out.backward()
    assert x.grad == pytest.approx(2 * 1.5 * np.exp(2.25) + 1)
    v = bp.var([1.0, 2.0], "v")
    s = bp.sum(v * v)
    v.value = [3, 4]  # a list is accepted and made a float array
    assert s.graph().forward() == 25.0


def test_values_are_floats_and_float_arrays():
    assert type(bp.var(3).value) is float
    assert type(bp.var(np.int64(3)).value) is float
    assert type(bp.var(True).value) is float
    assert type(bp.var(np.array(2.0)).value) is float
    a = bp.var([1, 2, 3]).value
    assert isinstance(a, np.ndarray) and a.dtype == np.float64
    with pytest.raises(TypeError, match="number"):
        bp.var("three")
    with pytest.raises(TypeError, match="vertex"):
        bp.var(bp.var(1.0))


# ----- backward rule ------------------------------------------------------------------------------
def test_backward_twice_gives_the_same_gradients():
    x, w = bp.var(2.0, "x"), bp.var([1.0, -2.0], "w")
    out = bp.sum(w * x) * x
    out.backward()
    first = (x.grad, w.grad.copy())
    out.backward()
    assert x.grad == first[0]
    np.testing.assert_array_equal(w.grad, first[1])
    assert out.grad == 1.0


def test_backward_from_a_different_output_recomputes():
    x = bp.var(2.0)
    y = x * 3
    z = y * y
    z.backward()
    assert x.grad == 2 * 6 * 3
    y.backward()
    assert x.grad == 3.0


def test_gradients_have_the_shape_of_the_values():
    x = bp.var(2.0)
    v = bp.var(np.ones((2, 3)))
    out = bp.sum(v * x)
    out.backward()
    assert type(x.grad) is float and x.grad == 6.0
    assert v.grad.shape == (2, 3) and v.grad.dtype == np.float64
    unused = bp.var([1.0, 2.0])
    out2 = bp.sum(v) + 0 * bp.sum(unused)
    out2.backward()
    np.testing.assert_array_equal(unused.grad, [0.0, 0.0])


def test_constants_have_no_gradient():
    x = bp.var(2.0)
    out = x * 3 + bp.constant(1.0) + bp.exp(bp.constant(0.5))
    out.backward()
    consts = [n for n in out.graph().nodes if not n.requires_grad]
    assert len(consts) >= 3
    assert all(n.grad is None for n in consts)
    assert x.grad == 3.0


def test_backward_with_a_seed_for_a_vector_output():
    v = bp.var([1.0, 2.0, 3.0])
    out = v * v
    out.backward(seed=[1.0, 0.0, -1.0])
    np.testing.assert_array_equal(v.grad, [2.0, 0.0, -6.0])


def test_backward_on_a_vector_without_seed_says_what_to_do():
    v = bp.var([1.0, 2.0], "v")
    h = bp.tanh(v, name="h")
    with pytest.raises(GraphError, match=r"'h'.*tanh.*\(2,\).*seed"):
        h.backward()


def test_backward_with_a_wrong_seed_shape():
    h = bp.var([1.0, 2.0], "v") * 2
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        h.backward(seed=np.ones(3))
    with pytest.raises(ShapeError, match=r"\(2,\)"):
        bp.sum(h).backward(seed=np.ones(2))


def _stack_depth():
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_long_chain_has_no_recursion_limit():
    """100,000 vertices forward and backward with only 150 frames to spare below the current
    one: nothing recurses over the graph (a recursive sort, as in micrograd, needs a frame per
    vertex)."""
    x = bp.var(1.0, "x")
    h = x
    for _ in range(100_000):
        h = -h
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 150)
    try:
        h.backward()
        g = h.graph()
        x.value = 3.0
        forward = g.forward()
        J = bp.jacobian.jacobian(h, x)
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad == 1.0
    assert len(g.nodes) == 100_001
    assert forward == 3.0 and J.tolist() == [[1.0]]


# ----- bad input --------------------------------------------------------------------------------------
def test_shape_mismatch_names_op_vertices_and_shapes():
    a, b = bp.var(np.ones(3), "a"), bp.var(np.ones(2), "b")
    with pytest.raises(ShapeError, match=r"add of a \(shape \(3,\)\), b \(shape \(2,\)\)"):
        a + b
    W = bp.var(np.ones((2, 3)), "W")
    with pytest.raises(ShapeError, match=r"matmul of W \(shape \(2, 3\)\), b \(shape \(2,\)\)"):
        W @ b
    with pytest.raises(ShapeError, match=r"getitem.*\(3,\)"):
        a[5]
    assert issubclass(ShapeError, ValueError)


def test_non_finite_warning_names_the_first_non_finite_vertex():
    x = bp.var(0.0, "x")
    with pytest.warns(NonFiniteWarning) as record:
        h = bp.log(x, name="h")
        out = (h * 2).named("out")
    mine = [w for w in record if issubclass(w.category, NonFiniteWarning)]
    assert len(mine) == 1, [str(w.message) for w in mine]
    msg = str(mine[0].message)
    assert "h (log of x = 0)" in msg and "-inf" in msg and "first" in msg
    assert out.value == -np.inf


def test_non_finite_warning_for_arrays():
    v = bp.var([1.0, -1.0], "v")
    with pytest.warns(NonFiniteWarning, match=r"^r \(sqrt of v = \[ ?1\.?, -1\.?\]\) is .*nan"):
        bp.sqrt(v, name="r")


def test_scalar_division_by_zero_is_inf_with_a_warning_not_an_exception():
    """Python floats raise ZeroDivisionError where NumPy gives inf; vertices behave like NumPy."""
    x, y = bp.var(1.0, "x"), bp.var(0.0, "y")
    with pytest.warns(NonFiniteWarning, match=r"div of x = 1; y = 0\) is inf"):
        q = (x / y).named("q")
    assert q.value == np.inf
    with pytest.warns(NonFiniteWarning):
        r = y ** -1
    assert r.value == np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q.backward()       # gradients become inf/nan, but backward does not crash
        s = bp.sqrt(y)     # sqrt(0) = 0 is finite; its derivative is infinite
        s.backward()
    assert s.value == 0.0 and y.grad == np.inf


def test_graph_define_builds_and_names_vertices():
    g = Graph.define(leaves={"a": 2.0, "b": 3.0},
                     nodes={"d": ("mul", ["c", "a"]), "c": ("add", ["a", "b"]),
                            "e": ("pow", ["d"], {"exponent": 2})})
    assert g.output.name == "e" and g.output.value == 100.0
    g.backward()
    assert g["a"].grad == pytest.approx(2 * 10 * (2 + 5))
    assert [n.name for n in g.nodes][-1] == "e"


@pytest.mark.parametrize("nodes,pattern", [
    ({"c": ("add", ["a", "d"]), "d": ("mul", ["c", "a"])}, r"cycle: (c -> d -> c|d -> c -> d)"),
    ({"c": ("add", ["c", "a"])}, r"cycle: c -> c"),
    ({"c": ("add", ["a", "zz"])}, r"vertex 'c': unknown parent 'zz'"),
    ({"c": ("frobnicate", ["a"])}, r"vertex 'c': unknown op 'frobnicate'.*known: add"),
    ({"a": ("neg", ["a"])}, r"'a' is both a leaf and a computed vertex"),
    ({"c": ("neg", ["a"]), "d": ("neg", ["a"])}, r"name the output.*\['c', 'd'\]"),
])
def test_graph_define_rejects_bad_graphs(nodes, pattern):
    with pytest.raises(GraphError, match=pattern):
        Graph.define(leaves={"a": 1.0}, nodes=nodes)


def test_graph_define_cycle_downstream_of_a_good_vertex():
    with pytest.raises(GraphError, match=r"cycle: (d -> e -> d|e -> d -> e)"):
        Graph.define(leaves={"a": 1.0}, nodes={
            "c": ("neg", ["a"]), "f": ("add", ["c", "e"]),
            "d": ("add", ["c", "e"]), "e": ("mul", ["d", "a"])}, output="f")


def test_graph_define_with_an_explicit_output():
    g = Graph.define(leaves={"a": 1.0}, nodes={"c": ("neg", ["a"]), "d": ("exp", ["a"])},
                     output="d")
    assert g.output.name == "d" and len(g.nodes) == 2


def test_apply_checks_the_number_of_arguments():
    with pytest.raises(TypeError, match="add takes 2"):
        bp.apply("add", bp.var(1.0))


def test_forward_after_changing_a_leaf_names_bad_shapes_and_non_finite_values():
    W, x = bp.var(np.ones((2, 3)), "W"), bp.var(np.ones(3), "x")
    out = bp.sum(bp.log(W @ x, name="h"))
    g = out.graph()
    x.value = -np.ones(3)
    with pytest.warns(NonFiniteWarning, match=r"^h \(log of matmul"):
        g.forward()
    x.value = np.ones(4)
    with pytest.raises(ShapeError, match=r"matmul of W \(shape \(2, 3\)\), x \(shape \(4,\)\)"):
        g.forward()


def test_non_finite_warning_points_at_the_users_line():
    x = bp.var(0.0, "x")
    with pytest.warns(NonFiniteWarning) as record:
        bp.log(x)                                    # via a bpkit function
        -bp.var(-np.inf)                             # via an operator (input already inf: no warning)
        x / 0.0                                      # via an operator
        (bp.log(x) * 1).graph().forward()            # via Graph.forward
    mine = [w for w in record if issubclass(w.category, NonFiniteWarning)]
    assert len(mine) == 4  # log, x / 0, log (built again), forward's log; neg's input was inf
    assert all(w.filename == __file__ for w in mine), [w.filename for w in mine]


def test_the_public_names_exist():
    for name in bp.__all__:
        assert hasattr(bp, name), name
    import bpkit.examples
    import bpkit.checks
    import bpkit.jacobian
    import bpkit.layers
    import bpkit.paths  # noqa: F401
    for module, names in {
        "paths": "paths path_product path_sum dp_backward dp_forward count_paths all_pairs edge_jacobian",
        "jacobian": "jacobian numeric_jacobian numeric_grad check_gradients",
        "layers": "Linear ReLU Sigmoid Tanh HardTanh Max LogSoftmax NLL Sequential sgd_step",
        "examples": "ln_exp_sqrt product_graph sin_cos_graph sin_cos_loss_graph decoupled_network "
                    "collins_example reciprocal max_square mlp_loss layered_sin_cos",
        "checks": "assert_close call NotAnswered diagnose",
    }.items():
        for name in names.split():
            assert hasattr(getattr(bpkit, module), name), f"bpkit.{module}.{name}"


def test_a_scalar_seed_scales_the_gradients():
    x = bp.var(3.0)
    (x * x).backward(seed=0.5)
    assert x.grad == 3.0


def test_graph_define_names_the_vertex_with_bad_arguments():
    with pytest.raises(TypeError, match=r"vertex 'c': add takes 2 argument\(s\), got 1"):
        Graph.define(leaves={"a": 1.0}, nodes={"c": ("add", ["a"])})
    with pytest.raises(ShapeError, match=r"vertex 'c': add of a \(shape \(2,\)\), b \(shape \(3,\)\)"):
        Graph.define(leaves={"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}, nodes={"c": ("add", ["a", "b"])})
    with pytest.raises(ShapeError, match=r"vertex 'c': pow of a .*exponent"):
        Graph.define(leaves={"a": 1.0}, nodes={"c": ("pow", ["a"])})


def test_no_gradient_can_be_changed_through_another_vertex():
    """An add hands its gradient on unchanged: the two vertices share that array, read-only
    (not copied); every other gradient is the vertex's own, and none is a value or the seed."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3))
    W, b = bp.var(rng.normal(size=(3, 2)), "W"), bp.var(np.zeros(2), "b")
    z = (X @ W).named("z")
    h = (z + b).named("h")
    out = bp.sum(bp.tanh(h))
    out.backward()
    assert np.shares_memory(z.grad, h.grad) and not z.grad.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        z.grad[0, 0] = 5.0
    W.grad[0, 0] += 1.0                  # a parameter's gradient is its own to change
    b.grad[:] = 0.0
    arrays = [n for n in out.graph().nodes if isinstance(n.value, np.ndarray)]
    for n in arrays:
        for m in arrays:
            assert not np.shares_memory(n.grad, m.value), (n, m)
            if m is not n and {n.name, m.name} != {"z", "h"}:
                assert not np.shares_memory(n.grad, m.grad), (n, m)
    seed = np.ones((4, 2))               # the caller's seed is copied, never stored or frozen
    h.backward(seed)
    assert seed.flags.writeable and h.grad.flags.writeable and z.grad.flags.writeable
    assert not np.shares_memory(h.grad, seed) and not np.shares_memory(z.grad, seed)
    assert not np.shares_memory(z.grad, h.grad)
