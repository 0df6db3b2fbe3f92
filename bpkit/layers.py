"""Decoupled layers (Table 11.1 of the chapter): forward and backward, one vector or a minibatch.

A network is a chain of layers z_0 -> z_1 -> ... ; backward carries g_i = dL/dz_i from right
to left. Linear layers and activation layers are separate, so each backward rule is one line:

    layer      forward                    backward
    Linear     z' = W z (+ b)              g = W^T g'           (and dW = g' z^T, db = g')
    Sigmoid    z' = sigmoid(z)             g = g' * z' * (1 - z')
    Tanh       z' = tanh(z)                g = g' * (1 - z' * z')
    ReLU       z' = z * I(z > 0)           g = g' * I(z > 0)
    HardTanh   z' = clip(z, -1, 1)         g = g' * I(-1 <= z <= 1)
    Max        z' = max_k z_k              g = g' at the maximal input, 0 elsewhere
    LogSoftmax q = LS(l)                   g = g' - softmax(l) sum(g')

A minibatch is a 2-D array whose *rows* are examples: Linear computes Z W^T + b, and the
gradients of the shared W and b are summed over the rows (every example used them).
"""
from __future__ import annotations

import numpy as np

from .ops import OPS


class Layer:
    """One step of the chain. ``forward`` remembers what ``backward`` needs."""

    params: tuple = ()

    def __call__(self, z):
        return self.forward(z)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(Layer):
    """z' = W z + b; W has shape (out, in). Rows of a minibatch are examples."""

    params = ("W", "b")

    def __init__(self, W, b=None):
        self.W = np.array(W, dtype=float)
        if self.W.ndim != 2:
            raise ValueError(f"Linear needs a 2-D weight matrix W (out, in), got shape {self.W.shape}")
        self.b = np.zeros(self.W.shape[0]) if b is None else np.array(b, dtype=float)
        if self.b.shape != (self.W.shape[0],):
            raise ValueError(f"Linear: b has shape {self.b.shape}, W has {self.W.shape[0]} rows: "
                             f"b must have shape ({self.W.shape[0]},)")
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    @classmethod
    def random(cls, n_in, n_out, rng=None, scale=None):
        """A layer with weights drawn from N(0, scale^2), scale = sqrt(2 / n_in) by default."""
        rng = np.random.default_rng(rng)
        scale = np.sqrt(2.0 / n_in) if scale is None else scale
        return cls(rng.normal(0.0, scale, (n_out, n_in)), np.zeros(n_out))

    def forward(self, z):
        z = np.asarray(z, dtype=float)
        if z.shape[-1] != self.W.shape[1]:
            raise ValueError(f"Linear with W of shape {self.W.shape} expects inputs with "
                             f"{self.W.shape[1]} entries (last axis), got shape {z.shape}")
        self.z = z
        return z @ self.W.T + self.b

    def backward(self, g):
        g = np.asarray(g, dtype=float)
        # written in place, so pairs taken from Sequential.parameters() before a training loop
        # keep seeing the current gradients
        if g.ndim == 1:                      # one example: outer product g z^T
            self.dW[...] = np.outer(g, self.z)
            self.db[...] = g
        else:                                # a minibatch: sum over the rows
            self.dW[...] = g.T @ self.z
            self.db[...] = g.sum(axis=0)
        return g @ self.W                    # W^T g for a column vector g

    def __repr__(self):
        return f"Linear({self.W.shape[1]} -> {self.W.shape[0]})"


class ReLU(Layer):
    def forward(self, z):
        self.z = np.asarray(z, dtype=float)
        return np.maximum(self.z, 0.0)       # (z * (z > 0) would print -0. for negative z)

    def backward(self, g):
        return g * (self.z > 0)


class Sigmoid(Layer):
    def forward(self, z):
        self.out = OPS["sigmoid"].forward(np.asarray(z, dtype=float))  # the graph op's forward
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)  # written with the output, as in the table


class Tanh(Layer):
    def forward(self, z):
        self.out = np.tanh(np.asarray(z, dtype=float))
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class HardTanh(Layer):
    def forward(self, z):
        self.z = np.asarray(z, dtype=float)
        return np.clip(self.z, -1.0, 1.0)

    def backward(self, g):
        return g * ((self.z >= -1) & (self.z <= 1))


class Max(Layer):
    """Many inputs, one output: the largest entry (per row for a minibatch)."""

    def forward(self, z):
        self.z = np.asarray(z, dtype=float)
        self.k = np.argmax(self.z, axis=-1)
        return np.max(self.z, axis=-1)

    def backward(self, g):
        grad = np.zeros_like(self.z)
        if self.z.ndim == 1:
            grad[self.k] = g
        else:
            grad[np.arange(len(self.k)), self.k] = g
        return grad


class LogSoftmax(Layer):
    def forward(self, l):
        self.q = OPS["log_softmax"].forward(np.asarray(l, dtype=float))  # the graph op's forward
        return self.q

    def backward(self, g):
        g = np.asarray(g, dtype=float)
        return g - np.exp(self.q) * g.sum(axis=-1, keepdims=True)


class NLL:
    """o = -q_y: the negative log-likelihood of the true labels, summed over a minibatch."""

    def forward(self, q, y):
        self.q = np.asarray(q, dtype=float)
        self.y = np.asarray(y)
        if self.q.ndim == 1:
            return -float(self.q[int(self.y)])
        if self.y.shape != (self.q.shape[0],):
            raise ValueError(f"NLL: {self.q.shape[0]} rows of log-probabilities but labels of "
                             f"shape {self.y.shape}")
        return -float(self.q[np.arange(len(self.y)), self.y].sum())

    __call__ = forward

    def backward(self, g=1.0):
        grad = np.zeros_like(self.q)
        if self.q.ndim == 1:
            grad[int(self.y)] = -g
        else:
            grad[np.arange(len(self.y)), self.y] = -g
        return grad


class Sequential:
    """Layers applied in order; ``backward`` runs them in reverse."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, g):
        for layer in reversed(self.layers):
            g = layer.backward(g)
        return g

    def parameters(self):
        """(array, gradient) pairs of every parameter, e.g. for :func:`sgd_step`."""
        return [(getattr(layer, p), getattr(layer, "d" + p))
                for layer in self.layers for p in layer.params]

    def __repr__(self):
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"


def sgd_step(parameters, lr):
    """theta <- theta - lr * dL/dtheta, in place, for (array, gradient) pairs."""
    for value, grad in parameters:
        value -= lr * grad
