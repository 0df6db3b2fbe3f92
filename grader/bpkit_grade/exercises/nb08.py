"""Exercises of 08-backprop-through-time: a recurrent network unrolled over T steps (chapter
exercises 9-12).

    h_0 = 0,   h_p = tanh(W h_{p-1} + V x_p),   o_p = U h_p,   L = sum_p 1/2 |o_p - y_p|^2

W is (m, m), V is (m, d), U is (k, m); ``xs`` is (T, d) (row p-1 is x_p), ``ys`` is (T, k).
The backward recurrence, with Delta_p = diag(1 - h_p * h_p) and e_p = o_p - y_p:

    dL/dh_T = U^T e_T,   dL/dh_{p-1} = W^T Delta_p dL/dh_p + U^T e_{p-1}

The book prints Delta_{p-1} in the second line (and in dW): an off-by-one, since h_p is the
tanh's output whose derivative multiplies the edge h_{p-1} -> h_p. That slip is a catalogued
mistake here.
"""
from __future__ import annotations

import numpy as np

from . import Exercise, DERIVATIVES, LAYERS, LOCAL_DERIVATIVES


def _arrays(*a):
    return tuple(np.asarray(v, dtype=float) for v in a)


# ----- exercise 1: the forward pass, unrolled ------------------------------------------------------
def rnn_forward(W, V, U, xs):
    """(hs, os): the hidden states h_1 .. h_T as rows of a (T, m) array, the outputs as (T, k)."""
    W, V, U, xs = _arrays(W, V, U, xs)
    h, hs = np.zeros(W.shape[0]), []
    for x in xs:
        h = np.tanh(W @ h + V @ x)
        hs.append(h)
    hs = np.array(hs).reshape(len(xs), W.shape[0])
    return hs, hs @ U.T


def _run(W, V, U, xs, *, act=np.tanh, recurrent=True, Wt=False, split=False, out_pre=False,
         out_prev=False):
    W, V, U, xs = _arrays(W, V, U, xs)
    h, hs, os = np.zeros(W.shape[0]), [], []
    for x in xs:
        Wm = W.T if Wt else W
        a = (Wm @ h if recurrent else 0) + V @ x
        new = Wm @ h + act(V @ x) if split else act(a)
        os.append(U @ (h if out_prev else a if out_pre else new))
        h = new
        hs.append(h)
    return np.array(hs), np.array(os)


def rnn_forward_mistakes(W, V, U, xs):
    return [
        ("forgot the tanh: h_p = tanh(W h_(p-1) + V x_p)", _run(W, V, U, xs, act=lambda a: a)),
        ("left out the recurrence: each h_p depends on h_(p-1) through W, not on x_p alone",
         _run(W, V, U, xs, recurrent=False)),
        ("multiplied h_(p-1) by W^T; the recurrence is W h_(p-1)", _run(W, V, U, xs, Wt=True)),
        ("applied the tanh to V x_p only; it takes the whole sum W h_(p-1) + V x_p",
         _run(W, V, U, xs, split=True)),
        ("computed o_p from the sum before the tanh; o_p = U h_p uses the new state",
         _run(W, V, U, xs, out_pre=True)),
        ("computed o_p from the previous state h_(p-1); o_p = U h_p uses the state just computed",
         _run(W, V, U, xs, out_prev=True)),
    ]


def _rnn_inputs(rng, T=None):
    m, d, k = 3, 2, int(rng.choice([1, 2, 4]))   # m != d, so V and W cannot be swapped unseen
    T = int(rng.integers(2, 6)) if T is None else T
    W = np.round(rng.normal(0, 0.7, (m, m)), 2)
    V = np.round(rng.normal(0, 1.0, (m, d)), 2)
    U = np.round(rng.normal(0, 1.0, (k, m)), 2)
    return W, V, U, np.round(rng.normal(0, 1, (T, d)), 2)


def _with_targets(rng):
    W, V, U, xs = _rnn_inputs(rng)
    return W, V, U, xs, np.round(rng.normal(0, 1, (len(xs), U.shape[0])), 2)


# ----- exercise 2: dL/dh_p, through every later step -----------------------------------------------
def _backward(W, V, U, xs, ys, *, shift=False, only_last=False, delta=True, Wt=True,
              pre=False, recurrent=True, sign=1.0):
    W, V, U, xs, ys = _arrays(W, V, U, xs, ys)
    hs, os = rnn_forward(W, V, U, xs)
    pre_acts = [W @ (hs[p - 1] if p else np.zeros(W.shape[0])) + V @ xs[p] for p in range(len(xs))]
    es = sign * (os - ys)
    T = len(xs)
    G = np.zeros_like(hs)
    for p in range(T - 1, -1, -1):
        g = U.T @ es[p] if (p == T - 1 or not only_last) else np.zeros(W.shape[0])
        if p + 1 < T and recurrent:
            q = p if shift else p + 1                 # the book's Delta_{p-1}: the earlier state
            local = 1 - (pre_acts[q] ** 2 if pre else hs[q] ** 2) if delta else 1.0
            g = g + (W.T if Wt else W) @ (local * G[p + 1])
        G[p] = g
    return hs, G, pre_acts


def bptt_hidden_gradients(W, V, U, xs, ys):
    """(T, m) array: row p-1 is dL/dh_p, the gradient of the whole loss at the state h_p."""
    return _backward(W, V, U, xs, ys)[1]


def hidden_mistakes(W, V, U, xs, ys):
    def G(**slip):
        return _backward(W, V, U, xs, ys, **slip)[1]
    return [
        ("used Delta_(p-1) (the book's index): the edge h_(p-1) -> h_p passes through the tanh "
         "of h_p, so its local derivative is Delta_p = diag(1 - h_p²)", G(shift=True)),
        ("kept only the last output's loss: every o_p adds U^T (o_p - y_p) to dL/dh_p",
         G(only_last=True)),
        ("forgot Delta_p, the tanh's derivative 1 - h_p², on the way back", G(delta=False)),
        ("multiplied by W where its transpose is needed: backward is W^T (Delta_p dL/dh_p)",
         G(Wt=False)),
        ("took the tanh's derivative at its input (1 - a²); it is 1 - h² at the output h",
         G(pre=True)),
        ("left out the recurrence: dL/dh_p also collects what h_p does to h_(p+1), h_(p+2), ...",
         G(recurrent=False)),
        ("flipped the sign of the loss's gradient: dL/do_p = o_p - y_p", G(sign=-1.0)),
    ]


# ----- exercise 3: the shared weights' gradients, summed over time ---------------------------------
def bptt_weight_gradients(W, V, U, xs, ys):
    """(dL/dW, dL/dV, dL/dU), each summed over the T steps that use the shared matrix."""
    W, V, U, xs, ys = _arrays(W, V, U, xs, ys)
    hs, G, _ = _backward(W, V, U, xs, ys)
    os = hs @ U.T
    previous = np.vstack([np.zeros((1, W.shape[0])), hs[:-1]])
    D = (1 - hs ** 2) * G                         # row p-1: Delta_p dL/dh_p
    return D.T @ previous, D.T @ xs, (os - ys).T @ hs


def _weights(W, V, U, xs, ys, *, shift=False, steps=None, scale=1.0, same_state=False,
             delta=True, recurrent=True):
    W, V, U, xs, ys = _arrays(W, V, U, xs, ys)
    hs, G, _ = _backward(W, V, U, xs, ys, recurrent=recurrent)
    T = len(xs)
    es = hs @ U.T - ys
    dW, dV, dU = np.zeros_like(W), np.zeros_like(V), np.zeros_like(U)
    for p in (steps if steps is not None else range(T)):
        prev = hs[p - 1] if p else np.zeros(W.shape[0])
        dl = (1 - hs[p] ** 2) * G[p] if delta else G[p]
        if shift:                      # the book's sum from p = 2 with Delta_(p-1)
            dW += np.outer((1 - hs[p - 1] ** 2) * G[p], prev) if p else 0.0
        else:
            dW += np.outer(dl, hs[p] if same_state else prev)
        dV += np.outer(dl, xs[p])
        dU += np.outer(es[p], hs[p])
    return dW * scale, dV * scale, dU * scale


def weight_mistakes(W, V, U, xs, ys):
    T = len(np.asarray(xs))

    def g(**slip):
        return _weights(W, V, U, xs, ys, **slip)
    return [
        ("used Delta_(p-1) in dL/dW (the book's index); the step p term is Delta_p dL/dh_p "
         "h_(p-1)^T", g(shift=True)),
        ("kept the last time step only: a shared weight's gradient is the sum over every step "
         "that uses it", g(steps=[T - 1])),
        ("averaged over the time steps; the gradient of a shared weight is their sum",
         g(scale=1.0 / T)),
        ("paired Delta_p dL/dh_p with h_p in dL/dW; W multiplies the previous state: "
         "h_(p-1)^T", g(same_state=True)),
        ("forgot Delta_p, the tanh's derivative, in the weight gradients", g(delta=False)),
        ("used only each step's own output for dL/dh_p (no recurrence): dL/dh_p also collects "
         "the later steps' losses", g(recurrent=False)),
    ]


_W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [-0.2, 0.3, 0.1]])
_V = np.array([[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]])
_U = np.array([[0.6, -1.0, 0.4], [0.2, 0.5, -0.3]])
_XS = np.array([[1.0, 0.0], [0.5, -1.0], [-0.5, 0.5], [1.0, 1.0]])
_YS = np.array([[0.5, -0.5], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.5]])
#: the worked example (T = 4), T = 1 (no recurrence at all: W's gradient is 0, since h_0 = 0),
#: and T = 2 with one output (k = 1)
_CASES = ((_W, _V, _U, _XS, _YS), (_W, _V, _U, _XS[:1], _YS[:1]),
          (_W, _V, _U[:1], _XS[:2], _YS[:2, :1]))

EXERCISES = [
    Exercise(
        grade_id="test_rnn_forward",
        points=2,
        function="rnn_forward",
        make_inputs=_rnn_inputs,
        reference=rnn_forward,
        description="the unrolled forward pass of a tanh RNN: hidden states and outputs",
        mistakes=rnn_forward_mistakes,
        result_names=("hs", "os"),
        visible_inputs=tuple(c[:4] for c in _CASES),
    ),
    Exercise(
        grade_id="test_bptt_hidden_gradients",
        points=3,
        function="bptt_hidden_gradients", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=_with_targets,
        reference=bptt_hidden_gradients,
        description="chapter exercise 11: dL/dh_p for every step, by backpropagation through time",
        mistakes=hidden_mistakes,
        visible_inputs=_CASES,
    ),
    Exercise(
        grade_id="test_bptt_weight_gradients",
        points=3,
        function="bptt_weight_gradients", asks_for=DERIVATIVES + LOCAL_DERIVATIVES + LAYERS,
        make_inputs=_with_targets,
        reference=bptt_weight_gradients,
        description="chapter exercise 12: dL/dW, dL/dV, dL/dU summed over the time steps",
        mistakes=weight_mistakes,
        result_names=("dW", "dV", "dU"),
        visible_inputs=_CASES,
    ),
]
