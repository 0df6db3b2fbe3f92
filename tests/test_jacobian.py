"""Jacobians: from the graph, by central differences, and log-softmax's (seed 000)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bpkit as bp
from bpkit import ops
from bpkit.graph import GraphError
from bpkit.jacobian import check_gradients, jacobian, numeric_grad, numeric_jacobian

FAST = settings(max_examples=30, deadline=None)
vectors = hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-4, 4))


def _log_softmax(l):
    return bp.log_softmax(bp.var(l)).value


@FAST
@given(l=vectors)
def test_the_log_softmax_vertex_has_the_textbook_jacobian(l):
    """[dLS/dl]_{k,k'} = [k = k'] - exp(l_k') / sum_k'' exp(l_k''): backprop through the op, one
    pass per row, against the formula and central differences. (bpkit has no log_softmax_jacobian
    of its own: notebook 4 asks the student to write it.)"""
    L = bp.var(l)
    J = jacobian(bp.log_softmax(L), L)
    K = len(l)
    p = np.exp(l) / np.exp(l).sum()
    expected = np.array([[(k == kk) - p[kk] for kk in range(K)] for k in range(K)])
    np.testing.assert_allclose(J, expected, atol=1e-12)
    np.testing.assert_allclose(J, numeric_jacobian(_log_softmax, l), atol=1e-7)


def test_log_softmax_vertex_is_stable_and_works_on_rows():
    l = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    q = _log_softmax(l)
    np.testing.assert_allclose(np.exp(q).sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(q[1]), [0.5, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(q[0], l[0] - np.log(np.exp(l[0]).sum()))


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), m=st.integers(1, 4), d=st.integers(1, 4))
def test_analytic_jacobian_equals_numeric(seed, m, d):
    rng = np.random.default_rng(seed)
    W0, x0 = rng.normal(size=(m, d)), rng.normal(size=d)

    def f(x):
        return bp.log_softmax(bp.tanh(W0 @ x) * 2.0)

    x = bp.var(x0)
    np.testing.assert_allclose(jacobian(f(x), x), numeric_jacobian(lambda v: f(bp.var(v)).value, x0),
                               atol=1e-7)
    W = bp.var(W0)
    z = W @ bp.var(x0)
    J = jacobian(z, W)   # Collins: dz/dW is m x (m d), W read as a vector of its entries
    assert J.shape == (m, m * d)
    np.testing.assert_allclose(J, np.kron(np.eye(m), x0[None, :]))


def test_jacobian_special_cases():
    x = bp.var([1.0, 2.0], "x")
    y = (x * 3).named("y")
    np.testing.assert_array_equal(jacobian(y, y), np.eye(2))
    s = bp.sum(y * y)
    assert jacobian(s, x).shape == (1, 2)
    c = bp.var(2.0, "c")
    assert jacobian(c * c, c).shape == (1, 1) and jacobian(c * c, c)[0, 0] == 4.0
    s.backward()
    before = x.grad.copy()
    jacobian(y, x)  # does not touch .grad
    np.testing.assert_array_equal(x.grad, before)
    with pytest.raises(GraphError, match="'y' does not depend on 'c'"):
        jacobian(y, c)
    with pytest.raises(TypeError, match="vertices"):
        jacobian(y, np.ones(2))


def test_numeric_jacobian_and_grad():
    A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    np.testing.assert_allclose(numeric_jacobian(lambda x: A @ x, np.ones(3)), A, atol=1e-8)
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(numeric_jacobian(np.sin, x), np.diag(np.cos(x)), atol=1e-8)
    g = numeric_grad(lambda M: np.sum(M ** 2), np.arange(6.0).reshape(2, 3))
    assert g.shape == (2, 3)
    np.testing.assert_allclose(g, 2 * np.arange(6.0).reshape(2, 3), atol=1e-6)
    assert numeric_grad(lambda t: t ** 3, 2.0) == pytest.approx(12.0)
    x = np.array([1.0, 2.0])
    numeric_jacobian(lambda v: v * 2, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])  # the input is not changed


def test_check_gradients_passes_on_correct_ops():
    rng = np.random.default_rng(0)
    worst = check_gradients(lambda W, x: bp.sum(bp.sigmoid(W @ x) ** 2), rng.normal(size=(2, 3)),
                            rng.normal(size=3))
    assert worst < 1e-6
    assert check_gradients(lambda a, b: a * bp.exp(b), 1.5, -0.5) < 1e-6


def test_check_gradients_names_the_wrong_argument(monkeypatch):
    wrong = ops.Op("wrong", "?", lambda a, b: a * b,
                   (lambda g, out, a, b: g * b, lambda g, out, a, b: g * 2 * a), "", 2)
    monkeypatch.setitem(ops.OPS, "wrong", wrong)
    with pytest.raises(AssertionError, match=r"gradient of argument 1 .*backprop 6.*numeric 3"):
        check_gradients(lambda a, b: bp.apply("wrong", a, b), 3.0, 4.0)
    with pytest.raises(AssertionError, match=r"argument 1 .* at index \(1,\)"):
        check_gradients(lambda a, b: bp.sum(bp.apply("wrong", a, b)), np.array([1.0, 2.0]),
                        np.array([0.0, 1.0]))
