"""The worked examples of the source documents (/work/shared/seeds), computed by bpkit.

Numbers the sources state are typed as they state them, with their rounding as tolerance
(0.27 is checked to +-0.005). Where a source gives a formula or a staged computation but no
number, the test computes the formula independently (plain floats or central differences)
and compares; nothing the sources do not state is typed in as a result.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import bpkit as bp
from bpkit import examples as ex
from bpkit.jacobian import numeric_grad
from bpkit.layers import Linear, ReLU, Sigmoid
from bpkit.paths import count_paths, dp_backward, edge_jacobian, path_product, path_sum, paths


def approx(value, digits):
    """A number the source rounds to ``digits`` decimals."""
    return pytest.approx(value, abs=0.5 * 10 ** -digits + 1e-12)


def named(out):
    g = out.graph()
    return {n.name: n for n in g.nodes if n.name is not None}


# ----- seed 000 (Collins) -------------------------------------------------------------------------
def test_collins_chain_rule_12_times_16_is_192():
    """f(z) = z^2, g(x) = x^3, x = 2: dh/dx = df/dz * dg/dx = 16 x 12 = 192."""
    x = bp.var(2.0, "x")
    z = (x ** 3).named("z")
    h = (z ** 2).named("h")
    h.backward()
    assert edge_jacobian((x, z, 0)) == 12
    assert z.grad == 16
    assert x.grad == 192


def test_collins_four_vertex_example():
    """n = 4, l = 2, E = {(1,3), (2,3), (2,4), (3,4)}, u3 = u1 + u2, u4 = u2 * u3."""
    u4 = ex.collins_example(u1=1.5, u2=-2.0)
    g = u4.graph()
    v = named(u4)
    index = {"u1": 1, "u2": 2, "u3": 3, "u4": 4}
    assert {(index[p.name], index[c.name]) for p, c, _ in g.edges} == {(1, 3), (2, 3), (2, 4), (3, 4)}
    assert {n.name for n in g.leaves} == {"u1", "u2"} and g.output is u4
    assert v["u3"].value == 1.5 - 2.0 and u4.value == -2.0 * (1.5 - 2.0)
    u4.backward()
    # from the local functions: du4/du1 = u2 * du3/du1 = u2; du4/du2 = u3 + u2 * 1
    assert v["u1"].grad == v["u2"].value
    assert v["u2"].grad == v["u3"].value + v["u2"].value
    # the theorem: p^j = sum over paths of products of the edge Jacobians
    assert len(list(paths(g, v["u2"], u4))) == 2
    for leaf in ("u1", "u2"):
        assert path_sum(g, v[leaf], u4) == pytest.approx(v[leaf].grad)


def test_collins_feed_forward_network_chain_of_jacobians():
    """z = W x + b, h = g(z), l = V h + gamma, q = LS(l), o = -q_y: do/dh is the product of the
    Jacobians along the one path, and do/dW is (do/dz)^T x^T."""
    from bpkit.jacobian import jacobian
    rng = np.random.default_rng(0)
    d, m, K, y = 4, 3, 5, 2
    x = bp.var(rng.normal(size=d), "x")
    W, b = bp.var(rng.normal(size=(m, d)), "W"), bp.var(rng.normal(size=m), "b")
    V, gamma = bp.var(rng.normal(size=(K, m)), "V"), bp.var(rng.normal(size=K), "gamma")
    z = (W @ x + b).named("z")
    h = bp.tanh(z, name="h")
    l = (V @ h + gamma).named("l")
    q = bp.log_softmax(l, name="q")
    o = (-q[y]).named("o")
    o.backward()
    chain = jacobian(o, q) @ jacobian(q, l) @ jacobian(l, h)
    np.testing.assert_allclose(chain.ravel(), h.grad, atol=1e-12)
    do_dz = chain @ jacobian(h, z)
    np.testing.assert_allclose(W.grad, np.outer(do_dz, x.value), atol=1e-12)
    np.testing.assert_allclose(V.grad, np.outer(jacobian(o, l), h.value), atol=1e-12)


# ----- seed 001 (Banner & Spiering) -----------------------------------------------------------------
def test_reciprocal_forward_and_gradients_at_0_1():
    d = ex.reciprocal()  # 1 / (y + e^-x) at (0, 1)
    v = named(d)
    assert (v["a"].value, v["b"].value, v["c"].value, d.value) == (0, 1, 2, 0.5)
    d.backward()
    assert v["x"].grad == 0.25 and v["y"].grad == -0.25
    assert v["c"].grad == -0.25  # dd/dc = -1/c^2 = -1/4


def test_reciprocal_one_path_at_a_time():
    """dd/dx as the product of the local derivatives along the one path x -> a -> b -> c -> d:
    dadx = -1, dbda = e^a = e^0, dcdb = 1, dddc = -1/c^2 = -1/4."""
    d = ex.reciprocal()
    v = named(d)
    g = d.graph()
    (path,) = list(paths(g, v["x"], d))
    assert [edge_jacobian(e) for e in path] == [-1.0, math.e ** 0, 1.0, -0.25]
    assert path_product(path) == 0.25
    (ypath,) = list(paths(g, v["y"], d))
    assert path_product(ypath) == -0.25


def test_reciprocal_of_exp_minus_x_has_slope_plus_1_at_0():
    x = bp.var(0.0)
    w = 1 / bp.exp(-x)
    w.backward()
    assert x.grad == 1.0


def test_max_square_forward_at_1_0_minus2():
    t = ex.max_square()
    v = named(t)
    assert [v[k].value for k in "pqrst"] == [3, 3, 3, 9, 7]


def test_max_square_gradients_match_the_staged_backward():
    def staged(x, y, z):  # the backward pass of seed 001, written out by hand
        p = x * 3
        q = max(p, 0)
        r = q - y
        dt = 1.0
        ds, dz = dt, dt
        dr = 2 * r * ds
        dq, dy = dr, -dr
        dp = (p > 0) * dq
        return 3 * dp, dy, dz

    for point in [(1.0, 0.0, -2.0), (-0.5, 2.0, 1.0), (0.7, 4.0, 3.0)]:
        t = ex.max_square(*point)
        t.backward()
        v = named(t)
        assert (v["x"].grad, v["y"].grad, v["z"].grad) == pytest.approx(staged(*point))


def test_mlp_loss_at_2_10_minus1_4_3_1():
    point = dict(x=2.0, y=10.0, w1=-1.0, b1=4.0, w2=3.0, b2=1.0)

    def L(x, y, w1, b1, w2, b2):
        return (max(max(w1 * x + b1, 0) * w2 + b2, 0) - y) ** 2

    def staged(x, y, w1, b1, w2, b2):  # chain rule by hand, one line per vertex
        a = w1 * x + b1
        h = max(a, 0)
        c = h * w2 + b2
        r = max(c, 0) - y
        dc = 2 * r * (c > 0)
        dh = dc * w2
        da = dh * (a > 0)
        return {"w1": da * x, "b1": da, "w2": dc * h, "b2": dc}

    out = ex.mlp_loss(**point)
    assert out.value == L(**point)
    out.backward()
    v = named(out)
    expected = staged(**point)
    for name in ("w1", "b1", "w2", "b2"):
        assert v[name].grad == pytest.approx(expected[name])

        def along(t, name=name):
            return L(**{**point, name: float(t)})
        assert v[name].grad == pytest.approx(float(numeric_grad(along, point[name])), rel=1e-6)


def test_more_lecture_examples_from_their_formulas():
    x = bp.var(1.5)
    w = x ** 2 + 3 * x  # "handling multiple gradients": x is used twice
    w.backward()
    assert x.grad == pytest.approx(2 * 1.5 + 3)
    x0 = bp.var(0.0)
    out = bp.log(bp.exp(x0) ** 2)  # log([e^x]^2) = 2x
    out.backward()
    assert x0.grad == pytest.approx(2.0)
    X, Y, Z = bp.var(1.0), bp.var(2.0), bp.var(-3.0)
    f = (X + Y) * Z
    f.backward()
    assert (X.grad, Y.grad, Z.grad) == (Z.value, Z.value, X.value + Y.value)


# ----- seed 002 (the book chapter) ------------------------------------------------------------------
def test_fig_11_1_values_227_1_and_75_7():
    f = ex.ln_exp_sqrt()
    assert f.value == approx(227.1, 1)
    assert ex.ln_exp_sqrt(w3=-1).value == approx(75.7, 1)
    x1, x2, x3 = 2.0, 2.0, 1.0
    assert f.value == pytest.approx(math.log(x1 * x2) * math.exp(x1 * x2 * x3) * math.sqrt(x2 + 7 * x3))


def test_fig_11_1_gradients_against_central_differences():
    f = ex.ln_exp_sqrt()
    f.backward()
    v = named(f)
    for i, name in enumerate(("x1", "x2", "x3")):
        def along(t, i=i):
            xs = [2.0, 2.0, 1.0]
            xs[i] = float(t)
            return ex.ln_exp_sqrt(*xs).value
        assert v[name].grad == pytest.approx(float(numeric_grad(along, 2.0 if i < 2 else 1.0)), rel=1e-6)


@pytest.mark.parametrize("x", [1.0, 1.1, 0.9, -1.02])
def test_product_graph_is_x_to_the_32(x):
    o = ex.product_graph(depth=5, x=x)
    X = named(o)["x"]
    assert o.value == pytest.approx(x ** 32)
    o.backward()
    assert X.grad == pytest.approx(32 * x ** 31)
    g = o.graph()
    all_paths = list(paths(g, X, o))
    assert len(all_paths) == count_paths(g, X, o) == 2 ** 5 == 32
    for p in all_paths:  # "sum over all 32 paths of x^31"
        assert path_product(p) == pytest.approx(x ** 31)
    assert path_sum(g, X, o) == pytest.approx(32 * x ** 31)


def test_product_graph_every_hidden_vertex_is_on_16_paths():
    o = ex.product_graph(depth=5)
    g = o.graph()
    X = g["x"]
    all_paths = list(paths(g, X, o))
    hidden = [n for n in g.nodes if n.name and n.name.startswith("h(")]
    assert len(hidden) == 8
    for h in hidden:
        assert sum(any(child is h for _, child, _ in p) for p in all_paths) == 16, h.name


def test_fig_11_9_node_to_node_derivatives_match_the_book():
    y10 = ex.sin_cos_graph(y1=0.7, y2=1.3, y3=-0.4, w2=0.8, w3=-1.5)
    v = named(y10)
    y = {i: v[f"y({i})"].value for i in range(1, 11)}
    w2, w3 = 0.8, -1.5
    assert y[10] == pytest.approx(math.sin(y[1] * y[2]) * math.cos(y[1] * y[2] * y[3])
                                  * math.sin(w2 * y[2] + w3 * y[3]))
    S = {7: y[8] * y[9], 8: y[7] * y[9], 9: y[7] * y[8]}
    S[4] = y[8] * y[9] * math.cos(y[4])
    S[5] = -y[7] * y[9] * math.sin(y[5])
    S[6] = y[7] * y[8] * math.cos(y[6])
    S[1] = y[8] * y[9] * math.cos(y[4]) * y[2] - y[7] * y[9] * math.sin(y[5]) * y[2] * y[3]
    S[2] = (y[8] * y[9] * math.cos(y[4]) * y[1] - y[7] * y[9] * math.sin(y[5]) * y[1] * y[3]
            + y[7] * y[8] * math.cos(y[6]) * w2)
    S[3] = -y[7] * y[9] * math.sin(y[5]) * y[1] * y[2] + y[7] * y[8] * math.cos(y[6]) * w3
    S[10] = 1.0
    dp = dp_backward(y10.graph()).by_name()
    y10.backward()
    for i, expected in S.items():
        assert dp[f"y({i})"] == pytest.approx(expected), i
        assert v[f"y({i})"].grad == pytest.approx(expected), i
    for i in (1, 2, 3):  # exercise 16: the pathwise aggregation lemma gives the same
        assert path_sum(y10.graph(), v[f"y({i})"], y10) == pytest.approx(S[i])


def test_fig_11_9_local_derivatives_z_i_j():
    y10 = ex.sin_cos_graph(y1=0.7, y2=1.3, y3=-0.4, w2=0.8, w3=-1.5)
    v = named(y10)
    y = {i: v[f"y({i})"].value for i in range(1, 11)}
    number = {id(node): int(name[2:-1]) for name, node in v.items()}  # "y(7)" -> 7
    z = {(number[id(p)], number[id(c)]): edge_jacobian((p, c, k)) for p, c, k in y10.graph().edges}
    book = {(7, 10): y[8] * y[9], (8, 10): y[7] * y[9], (9, 10): y[7] * y[8],
            (4, 7): math.cos(y[4]), (5, 8): -math.sin(y[5]), (6, 9): math.cos(y[6]),
            (1, 4): y[2], (2, 4): y[1], (1, 5): y[2] * y[3], (2, 5): y[1] * y[3],
            (3, 5): y[1] * y[2], (2, 6): 0.8, (3, 6): -1.5}
    assert set(z) == set(book)
    for edge, expected in book.items():
        assert z[edge] == pytest.approx(expected), edge


def test_fig_11_10_loss_to_weight_derivatives():
    L = ex.sin_cos_loss_graph(y1=0.7, y2=1.3, y3=-0.4, w2=0.8, w3=-1.5)
    v = named(L)
    y = {i: v[f"y({i})"].value for i in range(1, 11)}
    assert L.value == pytest.approx(math.log(y[10] ** 2))
    L.backward()
    common = (2 / y[10]) * (y[7] * y[8] * math.cos(y[6]))
    assert v["w2"].grad == pytest.approx(common * y[2])
    assert v["w3"].grad == pytest.approx(common * y[3])
    S = dp_backward(L.graph()).by_name()
    assert S["w2"] == pytest.approx(common * y[2])


def test_fig_11_15_decoupled_network_forward():
    L = ex.decoupled_network()
    v = named(L)
    np.testing.assert_array_equal(v["h1"].value, [2, 1, -1])
    np.testing.assert_array_equal(v["h2"].value, [2, 1, 0])
    assert v["h3"].value == -1
    assert v["o"].value == pytest.approx(1 / (1 + math.e)) and v["o"].value == approx(0.27, 2)
    assert L.value == approx(1.3, 1)


def test_fig_11_15_decoupled_network_backward():
    L = ex.decoupled_network()
    v = named(L)
    L.backward()
    assert v["o"].grad == pytest.approx(-1 / v["o"].value)
    assert v["h3"].grad == pytest.approx(v["o"].value - 1)   # g3 = o - 1
    assert v["h3"].grad == approx(-0.73, 2)
    np.testing.assert_allclose(v["h2"].grad, [0.73, -0.73, 2.19], atol=0.005)
    np.testing.assert_allclose(v["h1"].grad, [0.73, -0.73, 0], atol=0.005)
    M = [[1.46, 0.73, 1.46], [-1.46, -0.73, -1.46], [0, 0, 0]]
    np.testing.assert_allclose(v["W"].grad, M, atol=0.005)
    np.testing.assert_allclose(v["W2"].grad, [-1.46, -0.73, 0], atol=0.005)
    np.testing.assert_allclose(v["x"].grad, v["W"].value.T @ v["h1"].grad)  # g0 = W^T g1


def test_fig_11_15_with_the_decoupled_layers():
    x = np.array([2.0, 1.0, 2.0])
    lin1 = Linear([[2, -2, 0], [-1, 5, -1], [0, 3, -2]])
    relu, lin2, sig = ReLU(), Linear([[-1, 1, -3]]), Sigmoid()
    o = sig.forward(lin2.forward(relu.forward(lin1.forward(x))))
    assert o[0] == approx(0.27, 2)
    assert -math.log(o[0]) == approx(1.3, 1)
    g3 = sig.backward(np.array([-1 / o[0]]))
    assert g3[0] == approx(-0.73, 2)
    g2 = lin2.backward(g3)
    np.testing.assert_allclose(g2, [0.73, -0.73, 2.19], atol=0.005)
    g1 = relu.backward(g2)
    np.testing.assert_allclose(g1, [0.73, -0.73, 0], atol=0.005)
    lin1.backward(g1)
    np.testing.assert_allclose(lin1.dW, [[1.46, 0.73, 1.46], [-1.46, -0.73, -1.46], [0, 0, 0]], atol=0.005)
    np.testing.assert_allclose(lin2.dW, [[-1.46, -0.73, 0]], atol=0.005)
    ref = ex.decoupled_network()
    ref.backward()
    np.testing.assert_allclose(lin1.dW, named(ref)["W"].grad, atol=1e-12)


def test_exercise_13_two_backpropagated_vectors():
    """h1 = ReLU(W1 v), h2 = sigmoid(W2 v), dL/dh1 = [-2, 1, 4], dL/dh2 = [1, 3, -2]:
    dL/dv = W1^T [-2, 0, 4] + W2^T [0.16, 0.75, -0.42]."""
    relu, sig = ReLU(), Sigmoid()
    relu.forward(np.array([2.0, -1.0, 3.0]))      # the signs of the book's h1
    h2 = sig.forward(np.log(np.array([0.2, 0.5, 0.3]) / (1 - np.array([0.2, 0.5, 0.3]))))
    np.testing.assert_allclose(h2, [0.2, 0.5, 0.3])
    a = relu.backward(np.array([-2.0, 1.0, 4.0]))
    b = sig.backward(np.array([1.0, 3.0, -2.0]))
    np.testing.assert_allclose(a, [-2, 0, 4])
    np.testing.assert_allclose(b, [0.16, 0.75, -0.42])
    # the same with the engine, on weights chosen so that W1 v, W2 v have those values
    v = np.array([2.0, 3.0, 5.0, 1.0])
    pre1, pre2 = np.array([2.0, -1.0, 3.0]), np.log(h2 / (1 - h2))
    W1, W2 = np.outer(pre1, v) / (v @ v), np.outer(pre2, v) / (v @ v)
    V = bp.var(v, "v")
    L = bp.sum(bp.relu(W1 @ V) * np.array([-2.0, 1, 4])) + bp.sum(bp.sigmoid(W2 @ V) * np.array([1.0, 3, -2]))
    L.backward()
    assert V.grad.shape == (4,) and W1.shape == W2.shape == (3, 4)
    np.testing.assert_allclose(V.grad, W1.T @ [-2, 0, 4] + W2.T @ [0.16, 0.75, -0.42])


def test_exercise_18_layered_sin_cos_graph():
    def closed_form(x, layers):
        up, low = math.sin(x), math.cos(x)
        for _ in range(layers - 1):
            s = up + low
            up, low = math.sin(s), math.cos(s)
        return up * low

    for layers in (1, 2, 4):
        o = ex.layered_sin_cos(x=1.0, layers=layers)  # "the single input x is 1 radian"
        assert o.value == pytest.approx(closed_form(1.0, layers))
        o.backward()
        X = named(o)["x"]
        numeric = float(numeric_grad(lambda t: closed_form(float(t), layers), 1.0))
        assert X.grad == pytest.approx(numeric, rel=1e-6)
        assert path_sum(o.graph(), X, o) == pytest.approx(X.grad)   # both ways, as asked
        assert count_paths(o.graph(), X, o) == 2 ** layers


def test_exercise_4_nested_sin_plus_cos():
    """f(f(f(f(x)))) with f = sin + cos at pi/3: the derivative is the product of f' = cos - sin
    at the four intermediate points."""
    x = bp.var(math.pi / 3)
    h, points = x, []
    for _ in range(4):
        points.append(h.value)
        h = bp.sin(h) + bp.cos(h)
    h.backward()
    assert x.grad == pytest.approx(math.prod(math.cos(p) - math.sin(p) for p in points))


# ----- seed 003 (cs231n notes) -----------------------------------------------------------------------
def test_sigmoid_gate_073_and_local_gradient_02():
    x = bp.var(1.0)
    s = bp.sigmoid(x)
    s.backward()
    assert s.value == approx(0.73, 2)
    assert x.grad == approx(0.2, 1)
    assert x.grad == pytest.approx((1 - s.value) * s.value)


def test_sigmoid_neuron():
    w = bp.var([2.0, -3.0, -3.0], "w")
    x = bp.var([-1.0, -2.0], "x")
    dot = (w[0] * x[0] + w[1] * x[1] + w[2]).named("dot")
    f = bp.sigmoid(dot, name="f")
    assert dot.value == 1.0                      # "the sigmoid receives the input 1.0"
    assert f.value == approx(0.73, 2)
    f.backward()
    ddot = (1 - f.value) * f.value
    assert dot.grad == pytest.approx(ddot) and dot.grad == approx(0.2, 1)
    np.testing.assert_allclose(x.grad, [2 * ddot, -3 * ddot])
    np.testing.assert_allclose(w.grad, [-1 * ddot, -2 * ddot, ddot])


def test_staged_computation_with_accumulation():
    """f = (x + sigmoid(y)) / (sigmoid(x) + (x + y)^2) at x = 3, y = -4, against the staged
    backward of the notes (x and y get gradient from several places: +=)."""
    def staged(x, y):
        sig = lambda t: 1.0 / (1 + math.exp(-t))  # noqa: E731
        sigy, sigx = sig(y), sig(x)
        num, xpy = x + sigy, x + y
        den = sigx + xpy ** 2
        invden = 1.0 / den
        dnum, dinvden = invden, num
        dden = -1.0 / den ** 2 * dinvden
        dsigx, dxpysqr = dden, dden
        dxpy = 2 * xpy * dxpysqr
        dx, dy = dxpy, dxpy
        dx += (1 - sigx) * sigx * dsigx
        dx += dnum
        dy += (1 - sigy) * sigy * dnum
        return num * invden, dx, dy

    for point in [(3.0, -4.0), (0.5, 1.5)]:
        X, Y = bp.var(point[0]), bp.var(point[1])
        f = (X + bp.sigmoid(Y)) / (bp.sigmoid(X) + (X + Y) ** 2)
        f.backward()
        value, dx, dy = staged(*point)
        assert (f.value, X.grad, Y.grad) == pytest.approx((value, dx, dy))


def test_gates_add_distributes_max_routes_mul_switches():
    a, b = bp.var(2.0), bp.var(-3.0)
    for out, expected in [(a + b, (1.0, 1.0)), (bp.maximum(a, b), (1.0, 0.0)), (a * b, (-3.0, 2.0))]:
        (out * 5.0).backward()
        assert (a.grad, b.grad) == (5 * expected[0], 5 * expected[1])


def test_fig_11_9_built_node_by_node_with_the_books_names():
    w2, w3 = 0.8, -1.5
    g = bp.Graph.define(
        leaves={"y(1)": 0.7, "y(2)": 1.3, "y(3)": -0.4},
        nodes={"y(10)": ("prod", ["y(7)", "y(8)", "y(9)"]),
               "y(7)": ("sin", ["y(4)"]), "y(8)": ("cos", ["y(5)"]), "y(9)": ("sin", ["y(6)"]),
               "y(4)": ("prod", ["y(1)", "y(2)"]), "y(5)": ("prod", ["y(1)", "y(2)", "y(3)"]),
               "y(6)": ("wsum", ["y(2)", "y(3)"], {"weights": (w2, w3)})})
    built = ex.sin_cos_graph(y1=0.7, y2=1.3, y3=-0.4, w2=w2, w3=w3)
    g.backward()
    built.backward()
    other = named(built)
    assert len(g.nodes) == 10 and len(g.edges) == 13
    for i in range(1, 11):
        assert g[f"y({i})"].value == other[f"y({i})"].value
        assert g[f"y({i})"].grad == other[f"y({i})"].grad
