"""Table 11.1's decoupled layers against numeric gradients, one vector and a minibatch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpkit as bp
from bpkit.jacobian import numeric_grad, numeric_jacobian
from bpkit.layers import (NLL, HardTanh, Linear, LogSoftmax, Max, ReLU, Sequential, Sigmoid, Tanh,
                          sgd_step)

FAST = settings(max_examples=25, deadline=None)
ACTIVATIONS = {"ReLU": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh, "HardTanh": HardTanh,
               "LogSoftmax": LogSoftmax}


def away_from_kinks(z):
    """Inputs not within 1e-3 of 0 or +-1 (the kinks of ReLU and HardTanh)."""
    for k in (-1.0, 0.0, 1.0):
        close = np.abs(z - k) < 1e-3
        z = np.where(close, k + 0.01, z)
    return z


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 5))
def test_activation_layer_single_vector(name, seed, n):
    rng = np.random.default_rng(seed)
    z = away_from_kinks(rng.normal(scale=1.5, size=n))
    g_next = rng.normal(size=n)
    layer = ACTIVATIONS[name]()
    out = layer.forward(z)
    assert out.shape == z.shape
    J = numeric_jacobian(ACTIVATIONS[name]().forward, z)   # d z_{i+1} / d z_i
    np.testing.assert_allclose(layer.backward(g_next), J.T @ g_next, atol=1e-6)  # g_i = J^T g_{i+1}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), batch=st.integers(1, 4), n=st.integers(1, 4))
def test_activation_layer_minibatch_rows_are_examples(name, seed, batch, n):
    rng = np.random.default_rng(seed)
    Z = away_from_kinks(rng.normal(scale=1.5, size=(batch, n)))
    G = rng.normal(size=(batch, n))
    layer = ACTIVATIONS[name]()
    out = layer.forward(Z)
    back = layer.backward(G)
    for i in range(batch):
        one = ACTIVATIONS[name]()
        np.testing.assert_allclose(out[i], one.forward(Z[i]))
        np.testing.assert_allclose(back[i], one.backward(G[i]), atol=1e-12)


def test_activation_layers_use_the_tables_rules():
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    g = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(HardTanh().forward(z), [-1, -0.5, 0.5, 1])
    h = HardTanh()
    h.forward(z)
    np.testing.assert_array_equal(h.backward(g), [0, 2, 3, 0])
    r = ReLU()
    np.testing.assert_array_equal(r.forward(z), [0, 0, 0.5, 2])
    np.testing.assert_array_equal(r.backward(g), [0, 0, 3, 4])
    s = Sigmoid()
    out = s.forward(z)
    np.testing.assert_allclose(s.backward(g), g * out * (1 - out))
    t = Tanh()
    out = t.forward(z)
    np.testing.assert_allclose(t.backward(g), g * (1 - out * out))


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 5), batch=st.integers(1, 4))
def test_max_layer(seed, n, batch):
    rng = np.random.default_rng(seed)
    z = rng.permutation(n) + rng.uniform(0, 0.5, size=n)  # no ties
    m = Max()
    assert m.forward(z) == z.max()
    back = m.backward(2.5)
    assert back[np.argmax(z)] == 2.5 and np.count_nonzero(back) == 1   # copy to the maximal input
    np.testing.assert_allclose(back, 2.5 * numeric_grad(lambda v: np.max(v), z), atol=1e-6)
    Z = np.stack([rng.permutation(n) + rng.uniform(0, 0.5, size=n) for _ in range(batch)])
    G = rng.normal(size=batch)
    mb = Max()
    np.testing.assert_array_equal(mb.forward(Z), Z.max(axis=1))
    back = mb.backward(G)
    for i in range(batch):
        one = Max()
        one.forward(Z[i])
        np.testing.assert_array_equal(back[i], one.backward(G[i]))


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), n_in=st.integers(1, 4), n_out=st.integers(1, 4))
def test_linear_single_vector(seed, n_in, n_out):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    z, g_next = rng.normal(size=n_in), rng.normal(size=n_out)
    lin = Linear(W, b)
    np.testing.assert_allclose(lin.forward(z), W @ z + b)
    np.testing.assert_allclose(lin.backward(g_next), W.T @ g_next)
    np.testing.assert_allclose(lin.dW, np.outer(g_next, z))          # M = g z^T
    np.testing.assert_allclose(lin.dW, numeric_grad(lambda M: g_next @ Linear(M, b).forward(z), W),
                               atol=1e-6)
    np.testing.assert_allclose(lin.db, g_next)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), batch=st.integers(1, 5), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4))
def test_linear_minibatch_gradients_are_sums_over_the_batch(seed, batch, n_in, n_out):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    Z, G = rng.normal(size=(batch, n_in)), rng.normal(size=(batch, n_out))
    lin = Linear(W, b)
    out = lin.forward(Z)
    np.testing.assert_allclose(out, Z @ W.T + b)
    back = lin.backward(G)
    np.testing.assert_allclose(back, G @ W)
    dWs, dbs = [], []
    for i in range(batch):
        one = Linear(W, b)
        one.forward(Z[i])
        np.testing.assert_allclose(back[i], one.backward(G[i]))
        dWs.append(one.dW)
        dbs.append(one.db)
    np.testing.assert_allclose(lin.dW, np.sum(dWs, axis=0))
    np.testing.assert_allclose(lin.db, np.sum(dbs, axis=0))
    np.testing.assert_allclose(lin.dW, numeric_grad(lambda M: np.sum(G * Linear(M, b).forward(Z)), W),
                               atol=1e-6)
    np.testing.assert_allclose(lin.db, numeric_grad(lambda c: np.sum(G * Linear(W, c).forward(Z)), b),
                               atol=1e-6)


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), batch=st.integers(1, 4), K=st.integers(2, 5))
def test_log_softmax_with_nll(seed, batch, K):
    rng = np.random.default_rng(seed)
    l, y = rng.normal(size=K), int(rng.integers(K))
    ls, nll = LogSoftmax(), NLL()
    o = nll.forward(ls.forward(l), y)
    p = np.exp(l) / np.exp(l).sum()
    assert o == pytest.approx(-np.log(p[y]))
    g = ls.backward(nll.backward())
    onehot = np.eye(K)[y]
    np.testing.assert_allclose(g, p - onehot, atol=1e-12)
    L, Y = rng.normal(size=(batch, K)), rng.integers(K, size=batch)
    ls, nll = LogSoftmax(), NLL()
    o = nll(ls.forward(L), Y)   # summed over the minibatch
    P = np.exp(L) / np.exp(L).sum(axis=1, keepdims=True)
    assert o == pytest.approx(-np.log(P[np.arange(batch), Y]).sum())
    G = ls.backward(nll.backward())
    np.testing.assert_allclose(G, P - np.eye(K)[Y], atol=1e-12)
    np.testing.assert_allclose(
        G, numeric_grad(lambda M: NLL().forward(LogSoftmax().forward(M), Y), L), atol=1e-6)


def test_layers_agree_with_the_engine():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    W1, b1, W2, b2 = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=(3, 5)), rng.normal(size=3)
    net = Sequential(Linear(W1, b1), Tanh(), Linear(W2, b2), LogSoftmax())
    nll = NLL()
    loss = nll(net.forward(X), Y)
    gX = net.backward(nll.backward())
    V = [bp.var(a) for a in (X, W1, b1, W2, b2)]
    q = bp.log_softmax(bp.tanh(V[0] @ V[1].T + V[2]) @ V[3].T + V[4])
    L = -bp.sum(q[np.arange(4), Y])
    L.backward()
    assert loss == pytest.approx(L.value)
    np.testing.assert_allclose(gX, V[0].grad, atol=1e-12)
    for (value, grad), v in zip(net.parameters(), V[1:]):
        np.testing.assert_allclose(grad, v.grad, atol=1e-12)


def toy_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    Y = (X[:, 0] * X[:, 1] > 0).astype(int)   # XOR-like: needs the hidden layer
    net = Sequential(Linear.random(2, 8, rng=1), Tanh(), Linear.random(8, 2, rng=2), LogSoftmax())
    return X, Y, net


def test_sequential_and_sgd_lower_the_loss():
    X, Y, net = toy_problem()
    nll = NLL()
    losses = []
    for _ in range(200):
        losses.append(nll(net(X), Y))
        net.backward(nll.backward())
        sgd_step(net.parameters(), lr=0.01)
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a + 1e-9 for a, b in zip(losses[:20], losses[1:21]))  # small steps: downhill


def test_parameters_taken_once_before_the_loop_still_train():
    """The usual loop takes net.parameters() once: the gradient arrays must stay the same
    objects, updated in place by backward()."""
    X, Y, net = toy_problem()
    params = net.parameters()
    nll = NLL()
    first = nll(net(X), Y)
    for _ in range(50):
        nll(net(X), Y)
        net.backward(nll.backward())
        sgd_step(params, lr=0.01)
    assert nll(net(X), Y) < first
    for (value, grad), (value2, grad2) in zip(params, net.parameters()):
        assert value is value2 and grad is grad2


def test_sgd_step_updates_in_place():
    W, dW = np.ones((2, 2)), np.full((2, 2), 3.0)
    sgd_step([(W, dW)], lr=0.1)
    np.testing.assert_allclose(W, 0.7)


def test_bad_shapes_are_explained():
    with pytest.raises(ValueError, match=r"2-D weight matrix.*\(3,\)"):
        Linear([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        Linear(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"expects inputs with 3 entries.*\(2,\)"):
        Linear(np.ones((2, 3))).forward(np.ones(2))
    with pytest.raises(ValueError, match="labels"):
        NLL().forward(np.zeros((3, 2)), np.array([0, 1]))


def test_linear_random_and_reprs():
    a, b = Linear.random(3, 2, rng=7), Linear.random(3, 2, rng=7)
    assert a.W.shape == (2, 3) and a.b.shape == (2,)
    np.testing.assert_array_equal(a.W, b.W)
    assert repr(a) == "Linear(3 -> 2)"
    assert repr(Sequential(a, ReLU())) == "Sequential(Linear(3 -> 2), ReLU())"
    assert Linear(np.ones((2, 3))).b.tolist() == [0.0, 0.0]
