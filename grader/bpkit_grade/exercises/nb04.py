"""Exercises of 04-jacobians-and-log-softmax: LS, its Jacobian, and the gradients of Collins'
feed-forward network  z = W x + b,  h = tanh(z),  l = V h + gamma,  q = LS(l),  o = -q_y.
"""
from __future__ import annotations

import numpy as np

from . import Exercise, DERIVATIVES, LAYERS, LOCAL_DERIVATIVES, LOG_SOFTMAX


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
        ("subtracted the mean of l; it is the max that must come out: with widely spread logits "
         "exp(l - mean) still overflows, while exp(l - max) never does", _shifted(l, np.mean(l))),
        ("forgot the log of the sum of the exponentials: LS(l) = (l - m) - log sum exp(l - m)",
         (l - m) - np.sum(np.exp(l - m))),
        ("left out the normalizer log sum exp(l - m): l - max(l) alone is not log-softmax",
         l - m),
    ]


def _shifted(l, c):
    with np.errstate(all="ignore"):
        return (l - c) - np.log(np.sum(np.exp(l - c)))


def _log_softmax_inputs(rng):
    # widely spread, very negative logits: exp(l) is 0 for every entry (l < -745), and the top
    # entry lies more than 709 above the mean, so exp(l - mean) overflows; one entry close to
    # the top, so that the normalizer log sum exp(l - max) is not 0
    K = int(rng.integers(3, 7))
    top = -float(rng.uniform(760, 900))
    l = np.concatenate([[top, top - rng.uniform(0.2, 3)], top - rng.uniform(2200, 3000, K - 2)])
    return (np.round(rng.permutation(l), 3),)


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
        ("kept only the diagonal: off the diagonal the entries are -softmax_k' (not 0)",
         np.diag(1 - s)),
        ("subtracted the outer product s s^T; the entries are [k = k'] - softmax_k', the same "
         "row s^T repeated in every row", np.eye(K) - np.outer(s, s)),
    ]


def _jacobian_inputs(rng):
    # large logits (either sign): exp(l) overflows or is 0 unless the max is taken out
    K = int(rng.integers(3, 6))
    offset = float(rng.choice([-1.0, 1.0]) * rng.uniform(750, 1000))
    return (np.round(rng.normal(0, 2, K) + offset, 3),)


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
        ("forgot to subtract 1 at the label: do/dl = softmax(l) - e_y", (np.outer(dl - e, h), dl - e)),
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
        ("wrote 1 - h for the derivative of tanh; it is 1 - h^2", (np.outer(dh * (1 - h), x), dh * (1 - h))),
        ("left out the softmax: do/dl = softmax(l) - e_y, not -e_y",
         (np.outer((V.T @ -np.eye(len(l))[y]) * (1 - h * h), x), (V.T @ -np.eye(len(l))[y]) * (1 - h * h))),
    ]


def _network_inputs(rng):
    # d, m, K all different: a transposed dV or dW, V where V^T was needed, or dl * h where the
    # outer product was needed, all show in the shapes
    d, m, K = (int(v) for v in rng.permutation(np.arange(2, 7))[:3])
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
        grade_id="test_log_softmax", points=2, function="log_softmax", asks_for=LOG_SOFTMAX,
        make_inputs=_log_softmax_inputs, reference=log_softmax,
        description="LS(l) = l - log sum exp(l), stable for large l",
        mistakes=_log_softmax_mistakes,
        visible_inputs=tuple((np.array(l),) for l in ([1.0, 2.0, 3.0], [0.5, -1.0, 0.0, 2.0],
                                                    [1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -999.0],
                                                    [700.0, 698.5, 0.0, -2000.0]))),
    Exercise(
        grade_id="test_log_softmax_jacobian", points=2, function="log_softmax_jacobian", asks_for=LOG_SOFTMAX + DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_jacobian_inputs, reference=log_softmax_jacobian,
        description="the K x K Jacobian of log-softmax", mistakes=_jacobian_mistakes,
        visible_inputs=((np.array([1.0, 2.0, 0.5]),),
                        (np.array([1000.0, 998.0, 1001.0, 999.5]),),
                        (np.array([-900.0, -901.5, -899.0]),))),
    Exercise(
        grade_id="test_grad_V", points=3, function="grad_V", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=_network_inputs, reference=grad_V,
        description="do/dV and do/dgamma of o = -LS(V tanh(Wx + b) + gamma)_y",
        mistakes=_grad_V_mistakes, result_names=("dV", "dgamma"), partial=True,
        visible_inputs=(_notebook_network(),)),
    Exercise(
        grade_id="test_grad_W", points=3, function="grad_W", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=_network_inputs, reference=grad_W,
        description="do/dW and do/db of o = -LS(V tanh(Wx + b) + gamma)_y",
        mistakes=_grad_W_mistakes, result_names=("dW", "db"), partial=True,
        visible_inputs=(_notebook_network(),)),
]

