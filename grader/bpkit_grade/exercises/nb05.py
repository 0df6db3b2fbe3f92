"""Exercises of 05-decoupled-vector-network: backward rules of decoupled layers, a vertex that
feeds two layers, a skip connection, and a minibatch backward pass.

Every function takes and returns plain NumPy arrays. Vectors are 1-D arrays; a weight matrix W
of a layer z' = W z has shape (out, in), as in the chapter (Table 11.1). The minibatch exercises
put examples in rows instead: P = X @ W with W of shape (in, out), and training's layers take a
minibatch Z of shape (B, in) to Z @ W.T + b.
The references are written step by step in NumPy; the notebook shows that bpkit's graphs and
layers agree with them.
"""
from __future__ import annotations

import numpy as np

from bpkit import examples

from . import Exercise, DERIVATIVES, LAYERS, LOCAL_DERIVATIVES


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a, dtype=float)))


def _relu(a):
    a = np.asarray(a, dtype=float)
    return a * (a > 0)


def _away_from_zero(rng, shape, low=0.2, high=2.0):
    """Random numbers of either sign with |value| >= low (no ReLU sits exactly at its kink)."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


# ----- 1. linear layer z' = W z: g = W^T g', dW = g' z^T ---------------------------------------
def linear_backward(W, z, g):
    W, z, g = (np.asarray(a, dtype=float) for a in (W, z, g))
    return W.T @ g, np.outer(g, z)


def _linear_inputs(rng):
    m, n = (int(k) for k in rng.choice([2, 3, 4, 5], size=2, replace=False))  # never square
    return (np.round(rng.normal(0, 2, (m, n)), 2), np.round(rng.normal(0, 2, n), 2),
            np.round(rng.normal(0, 1, m), 2))


def _linear_mistakes(W, z, g):
    W, z, g = (np.asarray(a, dtype=float) for a in (W, z, g))
    g_prev, dW = linear_backward(W, z, g)
    mistakes = [("wrote dW = z g'^T; the weight gradient is the outer product g' z^T (same "
                 "shape as W)", (g_prev, np.outer(z, g)))]
    if W.shape[0] == W.shape[1]:
        mistakes.append(("multiplied the gradient by W where its transpose W^T was needed "
                         "(W.T @ g)", (W @ g, dW)))
    mistakes.append(("multiplied W^T and g entry by entry (W.T * g); the gradient is the matrix "
                     "product W.T @ g", (W.T * g, dW)))
    if g.size == 1 or g.size == z.size:
        mistakes.append(("multiplied g and z entry by entry (g * z); dW is the outer product "
                         "np.outer(g, z), of the shape of W", (g_prev, g * z)))
    return mistakes


# ----- 2. ReLU layer: g = g' * I(z > 0) ---------------------------------------------------------
def relu_backward(z, g):
    z, g = np.asarray(z, dtype=float), np.asarray(g, dtype=float)
    return g * (z > 0)


def _relu_inputs(rng):
    n = int(rng.integers(4, 8))
    z = np.round(_away_from_zero(rng, n), 2)
    g = np.round(_away_from_zero(rng, n, 0.1, 3), 2)
    z[0], z[1], z[2] = abs(z[0]), -abs(z[1]), abs(z[2])   # open and closed gates, and the
    g[0], g[1], g[2] = -abs(g[0]), abs(g[1]), abs(g[2])   # sign of g is not the gate's
    return z, g


def _relu_mistakes(z, g):
    z, g = np.asarray(z, dtype=float), np.asarray(g, dtype=float)
    return [
        ("multiplied by the ReLU's output max(z, 0) instead of the indicator I(z > 0)", g * _relu(z)),
        ("let the gradient through where z < 0 (the mask is inverted)", g * (z < 0)),
        ("returned the mask I(z > 0) without multiplying by the incoming gradient", (z > 0) * 1.0),
        ("returned g unchanged: a closed gate (z < 0) passes no gradient, so multiply by I(z > 0)", g),
        ("masked by the sign of g (max(g, 0)); the gate is open where z > 0, whatever the sign "
         "of the gradient", np.maximum(g, 0)),
        ("multiplied by z; the ReLU's local derivative is the indicator I(z > 0), not z", g * z),
    ]


# ----- 3. sigmoid layer, written with its output: g = g' * out * (1 - out) ----------------------
def sigmoid_backward(out, g):
    out, g = np.asarray(out, dtype=float), np.asarray(g, dtype=float)
    return g * out * (1 - out)


def _sigmoid_inputs(rng):
    # outputs within [0.05, 0.95] (out and 1 - out both matter), gradients away from 0
    n = int(rng.integers(3, 7))
    return (np.round(rng.uniform(0.05, 0.95, n), 3),
            np.round(_away_from_zero(rng, n, 0.2, 3), 2))


def _sigmoid_mistakes(out, g):
    out, g = np.asarray(out, dtype=float), np.asarray(g, dtype=float)
    s = _sigmoid(out)
    return [
        ("used the input of the sigmoid instead of its output: `out` already is sigmoid(v), so "
         "the local derivative is out * (1 - out), not sigmoid(out) * (1 - sigmoid(out))",
         g * s * (1 - s)),
        ("forgot to multiply by the incoming gradient g", out * (1 - out)),
        ("wrote the tanh rule 1 - out^2 instead of the sigmoid's out (1 - out)", g * (1 - out * out)),
        ("forgot the factor out: the sigmoid's derivative is out (1 - out)", g * (1 - out)),
        ("forgot the factor (1 - out): the sigmoid's derivative is out (1 - out)", g * out),
    ]


# ----- 4. a vertex v feeding two layers (chapter exercise 13) -----------------------------------
def fan_out_backward(W1, W2, h1, h2, g1, g2):
    """h1 = ReLU(W1 v), h2 = sigmoid(W2 v), g1 = dL/dh1, g2 = dL/dh2  ->  dL/dv."""
    W1, W2, h1, h2, g1, g2 = (np.asarray(a, dtype=float) for a in (W1, W2, h1, h2, g1, g2))
    return W1.T @ (g1 * (h1 > 0)) + W2.T @ (g2 * h2 * (1 - h2))


def _fan_out_inputs(rng):
    d = int(rng.integers(2, 6))
    m1, m2 = (int(k) for k in rng.choice([k for k in range(2, 6) if k != d], size=2))
    h1 = np.round(_relu(_away_from_zero(rng, m1)), 2)
    h1[0] = abs(h1[0]) + 0.5                      # at least one open gate
    h1[-1] = 0.0                                  # and one closed
    return (np.round(rng.normal(0, 1, (m1, d)), 2), np.round(rng.normal(0, 1, (m2, d)), 2), h1,
            np.round(_sigmoid(rng.normal(0, 2, m2)), 3),
            np.round(rng.normal(0, 2, m1), 2), np.round(rng.normal(0, 2, m2), 2))


def _fan_out_mistakes(W1, W2, h1, h2, g1, g2):
    W1, W2, h1, h2, g1, g2 = (np.asarray(a, dtype=float) for a in (W1, W2, h1, h2, g1, g2))
    relu_part = W1.T @ (g1 * (h1 > 0))
    sig_part = W2.T @ (g2 * h2 * (1 - h2))
    s = _sigmoid(h2)
    return [
        ("kept only the ReLU branch: v feeds two layers, so dL/dv is the SUM of both "
         "contributions", relu_part),
        ("kept only the sigmoid branch: v feeds two layers, so dL/dv is the SUM of both "
         "contributions", sig_part),
        ("used sigmoid(h2) where h2, the sigmoid's output, was needed", relu_part + W2.T @ (g2 * s * (1 - s))),
        ("forgot the ReLU mask I(h1 > 0)", W1.T @ g1 + sig_part),
        ("used the tanh rule 1 - h2^2 for the sigmoid; its derivative is h2 (1 - h2)",
         relu_part + W2.T @ (g2 * (1 - h2 * h2))),
        ("multiplied the two contributions; v feeds two layers, so their contributions add up",
         relu_part * sig_part),
    ]


# ----- 5. skip connection (chapter exercise 8) --------------------------------------------------
def skip_connection_grads(W1, W2, W3, w4, x):
    """h1 = ReLU(W1 x), h2 = ReLU(W2 x + W3 h1), y = w4 . h2  ->  (dy/dh2, dy/dh1, dy/dx)."""
    W1, W2, W3, w4, x = (np.asarray(a, dtype=float) for a in (W1, W2, W3, w4, x))
    a1 = W1 @ x
    h1 = _relu(a1)
    a2 = W2 @ x + W3 @ h1
    dh2 = w4
    da2 = dh2 * (a2 > 0)
    dh1 = W3.T @ da2
    da1 = dh1 * (a1 > 0)
    dx = W1.T @ da1 + W2.T @ da2
    return dh2, dh1, dx


def _skip_inputs(rng):
    # m1 != m2 (W3 where W3^T was needed shows), open and closed gates in both layers
    d = int(rng.integers(2, 5))
    m1, m2 = (int(k) for k in rng.choice([2, 3, 4, 5], size=2, replace=False))
    while True:
        W1 = np.round(rng.normal(0, 1, (m1, d)), 2)
        W2 = np.round(rng.normal(0, 1, (m2, d)), 2)
        W3 = np.round(rng.normal(0, 1, (m2, m1)), 2)
        x = np.round(rng.normal(0, 1, d), 2)
        a1 = W1 @ x
        a2 = W2 @ x + W3 @ _relu(a1)
        # both gates open somewhere and no pre-activation near the kink
        if (a1 > 0).any() and (a2 > 0).any() and (a1 < 0).any() and (a2 < 0).any() \
                and min(abs(a1).min(), abs(a2).min()) > 0.05:
            return W1, W2, W3, np.round(_away_from_zero(rng, m2, 0.2, 2), 2), x


def _skip_mistakes(W1, W2, W3, w4, x):
    W1, W2, W3, w4, x = (np.asarray(a, dtype=float) for a in (W1, W2, W3, w4, x))
    dh2, dh1, dx = skip_connection_grads(W1, W2, W3, w4, x)
    a1 = W1 @ x
    a2 = W2 @ x + W3 @ _relu(a1)
    da2 = dh2 * (a2 > 0)
    only_long = W1.T @ (dh1 * (a1 > 0))
    only_skip = W2.T @ da2
    return [
        ("forgot the skip connection: x reaches h2 directly through W2 as well as through h1, "
         "so dy/dx adds W2^T (...) to the path through h1", (dh2, dh1, only_long)),
        ("kept only the skip connection W2 and dropped the path x -> h1 -> h2", (dh2, dh1, only_skip)),
        ("forgot the ReLU mask of h2 (I(W2 x + W3 h1 > 0))",
         (dh2, W3.T @ dh2, W1.T @ ((W3.T @ dh2) * (a1 > 0)) + W2.T @ dh2)),
        ("forgot the ReLU mask of h1 (I(W1 x > 0))", (dh2, dh1, W1.T @ dh1 + W2.T @ da2)),
        ("masked dy/dh2: y = w4 . h2, so dy/dh2 = w4; the mask I(a2 > 0) belongs to the step "
         "from h2 back to its pre-activation", (da2, dh1, dx)),
    ]


# ----- 6. minibatch backward pass: T = (max(X W, 0) - y)^2 + z, output = sum of T's entries ----
def minibatch_backward(X, W, y, z):
    """The output is the sum of all entries of T = (max(X W, 0) - y)^2 + z for a minibatch X
    (rows are examples); y and z are shared by every example. -> (dX, dW, dy, dz)."""
    X, W, y, z = (np.asarray(a, dtype=float) for a in (X, W, y, z))
    pre = X @ W
    err = np.maximum(pre, 0) - y
    g_err = 2 * err                       # every entry of T enters the sum once
    g_pre = g_err * (pre > 0)
    return g_pre @ W.T, X.T @ g_pre, -g_err.sum(axis=0), np.full(z.shape, float(len(X)))


def _minibatch_inputs(rng):
    # B, n, m all different (X @ dP, dP @ W fail on their shapes); in every column of P = X W
    # some gates open and some closed, none at the kink
    B = int(rng.integers(5, 8))
    n, m = (int(k) for k in rng.choice([2, 3, 4], size=2, replace=False))
    while True:
        X = np.round(rng.normal(0, 1, (B, n)), 2)
        W = np.round(rng.normal(0, 1, (n, m)), 2)
        P = X @ W
        if abs(P).min() > 0.05 and (P > 0).any(axis=0).all() and (P < 0).any(axis=0).all():
            return X, W, np.round(rng.normal(0, 1, m), 2), np.round(rng.normal(0, 1, m), 2)


def _minibatch_mistakes(X, W, y, z):
    X, W, y, z = (np.asarray(a, dtype=float) for a in (X, W, y, z))
    dX, dW, dy, dz = minibatch_backward(X, W, y, z)
    B = X.shape[0]
    P = X @ W
    dR = 2 * (np.maximum(P, 0) - y)
    dP = (P > 0) * dR
    return [
        ("wrote dz = 1: z is added to every example's row, so each example adds 1 and every "
         "entry of dz is B (the number of examples)", (dX, dW, dy, np.ones_like(z))),
        ("forgot the ReLU mask (P > 0) in dP: dP = (P > 0) * dQ", (dR @ W.T, X.T @ dR,
                                                                   -dR.sum(axis=0), dz)),
        ("forgot the 2 of the square: dR = 2 R", (dX / 2, dW / 2, dy / 2, dz)),
        ("forgot to sum over the batch: y and z are shared by all examples, so their gradients "
         "add up the examples' contributions (sum over axis 0)", (dX, dW, -dR, np.ones_like(dR))),
        ("averaged instead of summed over the batch (the output is the SUM of all entries of T)",
         (dX, dW / B, dy / B, dz / B)),
        ("put the ReLU mask (P > 0) into dy: y is subtracted after the max, so its gradient is "
         "-dR summed over the batch", (dX, dW, -((P > 0) * dR).sum(axis=0), dz)),
    ]


# ----- the notebook's worked cases (visible checks try them first) ------------------------------
def _figure_11_15():
    """Fig 11.15's network after a backward pass, by name (values and gradients from bpkit)."""
    net = examples.decoupled_network()
    net.backward()
    return net.graph()


def _worked_linear():
    fig = _figure_11_15()
    return ((fig["W2"].value.reshape(1, 3), fig["h2"].value, np.array([fig["h3"].grad])),
            (fig["W"].value, fig["x"].value, fig["h1"].grad))   # square W: W for W^T shows


def _worked_relu():
    fig = _figure_11_15()
    return ((fig["h1"].value, fig["h2"].grad),)


def _worked_sigmoid():
    fig = _figure_11_15()
    return ((np.array([fig["o"].value]), np.array([fig["o"].grad])),)


def _worked_fan_out():
    rng = np.random.default_rng(2013)
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    return ((W1, W2, np.array([2.0, -1, 3]), np.array([0.2, 0.5, 0.3]),
             np.array([-2.0, 1, 4]), np.array([1.0, 3, -2])),)


def _worked_skip():
    rng = np.random.default_rng(97)   # both h1 and h2 have open and closed gates
    W1, W2, W3 = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    return ((W1, W2, W3, rng.normal(size=4), rng.normal(size=2)),)


def _worked_minibatch():
    rng = np.random.default_rng(4)
    X, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    return ((X, W, rng.normal(size=2), rng.normal(size=2)),)


# ----- 7. one epoch of minibatch SGD with the student's own layer rules --------------------
def _train(W1, b1, W2, b2, X, y, lr, batch_size, seed, *, shuffle=True, full_batch=False,
           mean=True, drop_last=False, descend=True, biases=True, relu_mask=True, two=True):
    W1, b1, W2, b2, X, y = (np.array(a, dtype=float) for a in (W1, b1, W2, b2, X, y))
    n = len(X)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    size = n if full_batch else batch_size
    stop = n - n % size if drop_last else n
    for start in range(0, stop, size):
        rows = order[start:start + size]
        Xb, yb = X[rows], y[rows]
        Z1 = Xb @ W1.T + b1
        H = _relu(Z1)
        out = _sigmoid(H @ W2.T + b2)
        g_out = (2.0 if two else 1.0) * (out - yb[:, None]) / (len(rows) if mean else 1)
        g_z2 = g_out * out * (1 - out)
        g_h, dW2 = g_z2 @ W2, g_z2.T @ H
        g_z1 = g_h * (Z1 > 0) if relu_mask else g_h
        dW1 = g_z1.T @ Xb
        sign = -1.0 if descend else 1.0
        W1, W2 = W1 + sign * lr * dW1, W2 + sign * lr * dW2
        if biases:
            b1, b2 = b1 + sign * lr * g_z1.sum(axis=0), b2 + sign * lr * g_z2.sum(axis=0)
    return W1, b1, W2, b2


def train_epoch(W1, b1, W2, b2, X, y, lr, batch_size, seed):
    """One epoch: the examples shuffled by default_rng(seed).permutation, minibatches of
    batch_size rows (the last one shorter), a step on the mean squared error of each."""
    return _train(W1, b1, W2, b2, X, y, lr, batch_size, seed)


def _train_mistakes(*args):
    return [
        ("did not shuffle: take the examples in the order np.random.default_rng(seed)."
         "permutation(len(X)), a new order every epoch", _train(*args, shuffle=False)),
        ("took one step on the whole data set: SGD takes one step per minibatch of batch_size "
         "rows", _train(*args, full_batch=True)),
        ("summed the loss over the minibatch where its mean was asked for: divide the gradient "
         "by the number of rows in the batch", _train(*args, mean=False)),
        ("dropped the last, shorter minibatch: every example is used once per epoch",
         _train(*args, drop_last=True)),
        ("moved the parameters up the gradient (+=): a descent step is W -= lr * dW",
         _train(*args, descend=False)),
        ("did not update the biases: b1 and b2 move too, by lr times their gradient (the "
         "layer's g summed over the rows)", _train(*args, biases=False)),
        ("skipped the ReLU's backward step (relu_backward(Z1, g_h)): closed gates pass no gradient",
         _train(*args, relu_mask=False)),
        ("forgot the 2 of the square: d (out - y)^2 / d out = 2 (out - y)", _train(*args, two=False)),
    ]


def _train_inputs(rng):
    h = int(rng.integers(3, 5))
    batch = int(rng.integers(3, 5))
    n = int(rng.integers(2, 4)) * batch + int(rng.integers(1, batch))   # a shorter last batch
    X = np.round(rng.normal(0, 1, (n, 2)), 2)
    W1 = np.round(rng.normal(0, 1, (h, 2)), 2)
    b1 = np.round(rng.normal(0, 0.5, h), 2)
    W2 = np.round(rng.normal(0, 1, (1, h)), 2)
    return (W1, b1, W2, np.round(rng.normal(0, 0.5, 1), 2), X, (rng.uniform(size=n) < 0.5) * 1.0,
            float(rng.choice([0.5, 1.0])), batch, int(rng.integers(100)))


def _worked_train():
    rng = np.random.default_rng(55)
    X = np.round(rng.normal(0, 1, (7, 2)), 2)
    return ((np.array([[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]]), np.array([0.1, -0.2, 0.0]),
             np.array([[0.6, -1.1, 0.9]]), np.array([0.05]), X,
             np.array([1.0, 0, 0, 1, 1, 0, 1]), 0.5, 3, 1),)


EXERCISES = [
    Exercise(grade_id="test_linear_backward", points=2, function="linear_backward", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_linear_inputs, reference=linear_backward,
             description="backward rule of a linear layer z' = W z: (W^T g', g' z^T)",
             mistakes=_linear_mistakes, result_names=("g_prev", "dW"), partial=True,
             visible_inputs=_worked_linear()),
    Exercise(grade_id="test_relu_backward", points=1, function="relu_backward", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_relu_inputs, reference=relu_backward,
             description="backward rule of a ReLU layer: g' * I(z > 0)",
             mistakes=_relu_mistakes,
             visible_inputs=_worked_relu()),
    Exercise(grade_id="test_sigmoid_backward", points=1, function="sigmoid_backward", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_sigmoid_inputs, reference=sigmoid_backward,
             description="backward rule of a sigmoid layer from its output: g' * out * (1 - out)",
             mistakes=_sigmoid_mistakes,
             visible_inputs=_worked_sigmoid()),
    Exercise(grade_id="test_fan_out_backward", points=2, function="fan_out_backward", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_fan_out_inputs, reference=fan_out_backward,
             description="exercise 13: dL/dv for v feeding ReLU(W1 v) and sigmoid(W2 v)",
             mistakes=_fan_out_mistakes,
             visible_inputs=_worked_fan_out()),
    Exercise(grade_id="test_skip_connection_grads", points=3, function="skip_connection_grads", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_skip_inputs, reference=skip_connection_grads,
             description="exercise 8: dy/dh2, dy/dh1, dy/dx with a skip connection",
             mistakes=_skip_mistakes, result_names=("dy/dh2", "dy/dh1", "dy/dx"), partial=True,
             visible_inputs=_worked_skip()),
    Exercise(grade_id="test_minibatch_backward", points=3, function="minibatch_backward", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_minibatch_inputs, reference=minibatch_backward,
             description="minibatch backward pass, sums over the batch: (dX, dW, dy, dz)",
             mistakes=_minibatch_mistakes, result_names=("dX", "dW", "dy", "dz"), partial=True,
             visible_inputs=_worked_minibatch()),
    Exercise(grade_id="test_train_epoch", points=3, function="train_epoch", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
             make_inputs=_train_inputs, reference=train_epoch,
             description="one epoch of minibatch SGD with the student's layer rules",
             mistakes=_train_mistakes, result_names=("W1", "b1", "W2", "b2"),
             visible_inputs=_worked_train()),
]
