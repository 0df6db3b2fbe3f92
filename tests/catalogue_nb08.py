"""Mistakes of 08-backprop-through-time, as student code (see tests/catalogue.py)."""
from __future__ import annotations

import numpy as np

from catalogue import right, wrong


# ----- rnn_forward ------------------------------------------------------------------------------
@wrong("rnn_forward", "forgot the tanh")
def rf_no_tanh(W, V, U, xs):
    h, hs, os = np.zeros(len(W)), [], []
    for x in xs:
        h = W @ h + V @ x
        hs.append(h)
        os.append(U @ h)
    return np.array(hs), np.array(os)


@wrong("rnn_forward", "left out the recurrence")
def rf_no_recurrence(W, V, U, xs):
    hs = [np.tanh(V @ x) for x in xs]
    return np.array(hs), np.array([U @ h for h in hs])


@wrong("rnn_forward", "by W^T")
def rf_w_transposed(W, V, U, xs):
    h, hs, os = np.zeros(len(W)), [], []
    for x in xs:
        h = np.tanh(W.T @ h + V @ x)
        hs.append(h)
        os.append(U @ h)
    return np.array(hs), np.array(os)


@wrong("rnn_forward", "applied the tanh to V x_p only")
def rf_split(W, V, U, xs):
    h, hs, os = np.zeros(len(W)), [], []
    for x in xs:
        h = W @ h + np.tanh(V @ x)
        hs.append(h)
        os.append(U @ h)
    return np.array(hs), np.array(os)


@wrong("rnn_forward", "from the sum before the tanh")
def rf_out_pre(W, V, U, xs):
    h, hs, os = np.zeros(len(W)), [], []
    for x in xs:
        a = W @ h + V @ x
        h = np.tanh(a)
        hs.append(h)
        os.append(U @ a)
    return np.array(hs), np.array(os)


@wrong("rnn_forward", "from the previous state")
def rf_out_prev(W, V, U, xs):
    h, hs, os = np.zeros(len(W)), [], []
    for x in xs:
        os.append(U @ h)
        h = np.tanh(W @ h + V @ x)
        hs.append(h)
    return np.array(hs), np.array(os)


@right("rnn_forward")
def rf_right(W, V, U, xs):
    T, m = len(xs), len(W)
    hs = np.zeros((T, m))
    for p in range(T):
        previous = hs[p - 1] if p > 0 else np.zeros(m)
        hs[p] = np.tanh(previous @ W.T + xs[p] @ V.T)
    return hs, hs @ U.T


# ----- bptt_hidden_gradients -------------------------------------------------------------------
def _states(W, V, U, xs):
    h, hs = np.zeros(len(W)), []
    for x in xs:
        h = np.tanh(W @ h + V @ x)
        hs.append(h)
    return np.array(hs)


def _hidden(W, V, U, xs, ys, *, book=False, last_only=False, delta=True, Wt=True,
            pre=False, recurrent=True, sign=1.0):
    """BPTT as a student writes it, with one slip switched on."""
    hs = _states(W, V, U, xs)
    T, m = len(xs), len(W)
    G = np.zeros((T, m))
    for p in range(T - 1, -1, -1):
        if p == T - 1 or not last_only:
            G[p] = U.T @ (sign * (U @ hs[p] - ys[p]))
        if p + 1 < T and recurrent:
            q = p if book else p + 1
            if pre:
                a = W @ (hs[q - 1] if q else np.zeros(m)) + V @ xs[q]
                local = 1 - a ** 2
            else:
                local = 1 - hs[q] ** 2
            if not delta:
                local = 1.0
            G[p] += (W.T if Wt else W) @ (local * G[p + 1])
    return G


@wrong("bptt_hidden_gradients", "the book's index")
def bh_book(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, book=True)


@wrong("bptt_hidden_gradients", "kept only the last output")
def bh_last_only(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, last_only=True)


@wrong("bptt_hidden_gradients", "forgot Delta_p")
def bh_no_delta(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, delta=False)


@wrong("bptt_hidden_gradients", "transpose is needed")
def bh_w(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, Wt=False)


@wrong("bptt_hidden_gradients", "at its input")
def bh_pre(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, pre=True)


@wrong("bptt_hidden_gradients", "left out the recurrence")
def bh_local_only(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, recurrent=False)


@wrong("bptt_hidden_gradients", "flipped the sign")
def bh_sign(W, V, U, xs, ys):
    return _hidden(W, V, U, xs, ys, sign=-1.0)


@right("bptt_hidden_gradients")
def bh_right(W, V, U, xs, ys):
    hs = _states(W, V, U, xs)
    T = len(xs)
    G = [None] * T
    carried = np.zeros(len(W))                   # what later steps send back to h_p
    for p in reversed(range(T)):
        G[p] = carried + U.T @ (U @ hs[p] - ys[p])
        carried = W.T @ (G[p] * (1 - hs[p] * hs[p]))
    return np.array(G)


# ----- bptt_weight_gradients -------------------------------------------------------------------
def _weights(W, V, U, xs, ys, *, book=False, steps=None, mean=False, same_state=False,
             delta=True, recurrent=True):
    hs = _states(W, V, U, xs)
    G = _hidden(W, V, U, xs, ys, recurrent=recurrent)
    T, m = len(xs), len(W)
    dW, dV, dU = np.zeros_like(W), np.zeros_like(V), np.zeros_like(U)
    for p in (range(T) if steps is None else steps):
        prev = hs[p - 1] if p else np.zeros(m)
        d = (1 - hs[p] ** 2) * G[p] if delta else G[p]
        if book:
            if p:
                dW += np.outer((1 - hs[p - 1] ** 2) * G[p], prev)
        else:
            dW += np.outer(d, hs[p] if same_state else prev)
        dV += np.outer(d, xs[p])
        dU += np.outer(U @ hs[p] - ys[p], hs[p])
    if mean:
        return dW / T, dV / T, dU / T
    return dW, dV, dU


@wrong("bptt_weight_gradients", "the book's index")
def bw_book(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, book=True)


@wrong("bptt_weight_gradients", "kept the last time step only")
def bw_last(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, steps=[len(xs) - 1])


@wrong("bptt_weight_gradients", "averaged over the time steps")
def bw_mean(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, mean=True)


@wrong("bptt_weight_gradients", "paired Delta_p dL/dh_p with h_p")
def bw_same_state(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, same_state=True)


@wrong("bptt_weight_gradients", "forgot Delta_p")
def bw_no_delta(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, delta=False)


@wrong("bptt_weight_gradients", "no recurrence")
def bw_local(W, V, U, xs, ys):
    return _weights(W, V, U, xs, ys, recurrent=False)


@right("bptt_weight_gradients")
def bw_right(W, V, U, xs, ys):
    hs = _states(W, V, U, xs)
    G = bh_right(W, V, U, xs, ys)
    D = G * (1 - hs ** 2)
    previous = np.vstack([np.zeros((1, len(W))), hs[:-1]])
    return D.T @ previous, D.T @ np.asarray(xs), (hs @ U.T - ys).T @ hs
