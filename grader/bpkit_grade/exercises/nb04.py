"""Exercises of 04-jacobians-and-log-softmax: LS, its Jacobian, and the gradients of Collins'
feed-forward network  z = W x + b,  h = tanh(z),  l = V h + gamma,  q = LS(l),  o = -q_y.
"""
from __future__ import annotations

import numpy as np

from . import Exercise


# ----- 1. log-softmax, stable ---------------------------------------------------------------------
def log_softmax(l):
    l = np.asarray(l, dtype=float)
    m = np.max(l)
    return (l - m) - np.log(np.sum(np.exp(l - m)))


def _softmax(l):
    return np.exp(log_softmax(l))


def _naive(l):
    with np.errstate(all="ignore"):
        return l - np.log(np.sum(np.exp(l)))


def _log_softmax_mistakes(l):
    l = np.asarray(l, dtype=float)
    m = np.max(l)
    return [
        ("returned the softmax; log-softmax is its logarithm", _softmax(l)),
        ("computed exp(l) directly: it overflows to inf for l > 709 (and is 0 for l < -745); "
         "subtract m = max(l) first, LS(l) = (l - m) - log sum exp(l - m) is the same function",
         _naive(l)),
        ("subtracted max(l) inside the exponentials but not from l_k: "
         "LS(l) = (l - m) - log sum exp(l - m)", l - np.log(np.sum(np.exp(l - m)))),
    ]


def _log_softmax_inputs(rng):
    # large logits on purpose: exp(l) overflows (or underflows to 0) unless the max is taken out
    K = int(rng.integers(3, 7))
    offset = float(rng.choice([-1.0, 1.0]) * rng.uniform(750, 1000))
    return (rng.normal(0, 3, K) + offset,)


# ----- 2. the Jacobian of log-softmax ---------------------------------------------------------------
def log_softmax_jacobian(l):
    s = _softmax(l)
    return np.eye(len(s)) - s[None, :]


def _jacobian_mistakes(l):
    s = _softmax(l)
    K = len(s)
    return [
        ("wrote the entries as [k = k'] - softmax_k (of the row) where softmax_k' (of the column) "
         "belongs: the matrix is transposed", np.eye(K) - s[:, None]),
        ("wrote the Jacobian of softmax (diag(s) - s s^T) instead of log-softmax",
         np.diag(s) - np.outer(s, s)),
        ("forgot the identity term [k = k']", -np.tile(s, (K, 1))),
    ]


def _jacobian_inputs(rng):
    K = int(rng.integers(3, 6))
    offset = float(rng.choice([0.0, 1.0]) * rng.uniform(-900, 900))
    return (rng.normal(0, 2, K) + offset,)


# ----- 3, 4. gradients of o = -LS(V tanh(W x + b) + gamma)_y ----------------------------------------
def _forward(x, y, W, b, V, gamma):
    x, W, b, V, gamma = (np.asarray(a, dtype=float) for a in (x, W, b, V, gamma))
    z = W @ x + b
    h = np.tanh(z)
    l = V @ h + gamma
    return x, int(y), W, b, V, gamma, z, h, l


def _dl(l, y):
    d = _softmax(l)
    d[y] -= 1.0
    return d


def grad_V(x, y, W, b, V, gamma):
    x, y, W, b, V, gamma, z, h, l = _forward(x, y, W, b, V, gamma)
    dl = _dl(l, y)
    return np.outer(dl, h), dl


def grad_W(x, y, W, b, V, gamma):
    x, y, W, b, V, gamma, z, h, l = _forward(x, y, W, b, V, gamma)
    dh = V.T @ _dl(l, y)
    dz = dh * (1 - h * h)
    return np.outer(dz, x), dz


def _grad_V_mistakes(x, y, W, b, V, gamma):
    x, y, W, b, V, gamma, z, h, l = _forward(x, y, W, b, V, gamma)
    dl = _dl(l, y)
    e = np.zeros_like(l)
    e[y] = -1.0
    return [
        ("transposed dV: it is the outer product dl h^T (shape K x m), not h dl^T",
         (np.outer(h, dl), dl)),
        ("left out the softmax: do/dl = softmax(l) - e_y, not -e_y", (np.outer(e, h), e)),
        ("used z = W x + b (the input of tanh) where its output h was needed",
         (np.outer(dl, z), dl)),
    ]


def _grad_W_mistakes(x, y, W, b, V, gamma):
    x, y, W, b, V, gamma, z, h, l = _forward(x, y, W, b, V, gamma)
    dh = V.T @ _dl(l, y)
    dz = dh * (1 - h * h)
    dz_input = dh * (1 - z * z)
    return [
        ("used the input z of tanh where its output h was needed: tanh'(z) = 1 - h^2, not 1 - z^2",
         (np.outer(dz_input, x), dz_input)),
        ("transposed dW: it is the outer product dz x^T (shape m x d), not x dz^T",
         (np.outer(x, dz), dz)),
        ("forgot the derivative of tanh (dz = dh * (1 - h^2))", (np.outer(dh, x), dh)),
    ]


def _network_inputs(rng):
    d, m, K = (int(v) for v in rng.integers(2, 6, 3))
    if m == d:
        m += 1  # a transposed dW then has the wrong shape too
    return (rng.normal(0, 1, d), int(rng.integers(K)), rng.normal(0, 0.8, (m, d)),
            rng.normal(0, 0.5, m), rng.normal(0, 1, (K, m)), rng.normal(0, 0.5, K))


def _notebook_network():
    """The network of the notebook's section 5 (d, m, K = 3, 4, 3; label 2; seed 1)."""
    rng = np.random.default_rng(1)
    d, m, K = 3, 4, 3
    x, label = rng.normal(size=d), 2
    W, b = rng.normal(size=(m, d)), rng.normal(size=m) * 0.5
    V, gamma = rng.normal(size=(K, m)), rng.normal(size=K) * 0.5
    return (x, label, W, b, V, gamma)


EXERCISES = [
    Exercise(
        grade_id="test_log_softmax", points=2, function="log_softmax",
        make_inputs=_log_softmax_inputs, reference=log_softmax,
        description="LS(l) = l - log sum exp(l), stable for large l",
        mistakes=_log_softmax_mistakes,
        visible_inputs=tuple((np.array(l),) for l in ([1.0, 2.0, 3.0], [0.5, -1.0, 0.0, 2.0],
                                                    [1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -999.0]))),
    Exercise(
        grade_id="test_log_softmax_jacobian", points=2, function="log_softmax_jacobian",
        make_inputs=_jacobian_inputs, reference=log_softmax_jacobian,
        description="the K x K Jacobian of log-softmax", mistakes=_jacobian_mistakes,
        visible_inputs=((np.array([1.0, 2.0, 0.5]),),
                        (np.array([1000.0, 998.0, 1001.0, 999.5]),))),
    Exercise(
        grade_id="test_grad_V", points=3, function="grad_V",
        make_inputs=_network_inputs, reference=grad_V,
        description="do/dV and do/dgamma of o = -LS(V tanh(Wx + b) + gamma)_y",
        mistakes=_grad_V_mistakes, result_names=("dV", "dgamma"),
        visible_inputs=(_notebook_network(),)),
    Exercise(
        grade_id="test_grad_W", points=3, function="grad_W",
        make_inputs=_network_inputs, reference=grad_W,
        description="do/dW and do/db of o = -LS(V tanh(Wx + b) + gamma)_y",
        mistakes=_grad_W_mistakes, result_names=("dW", "db"),
        visible_inputs=(_notebook_network(),)),
]

