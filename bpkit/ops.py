"""The op table: what every vertex of a computational graph can compute.

Each op is one :class:`Op` entry holding
  * ``forward(*values, **attrs)``: the local function f^i of the vertex, and
  * ``vjps``: one vector-Jacobian product per argument. ``vjps[k](g, out, *values, **attrs)``
    returns ``g J^{k->i}``: the gradient ``g`` of the vertex's output, carried back along the
    edge from argument ``k``. That is one term of the backward pass ``p^j = sum_i p^i J^{j->i}``.
    It is written as the math reads (add's is ``g``, mul's ``g * b``), in the shape the output
    has; where NumPy broadcast the argument, the backward pass sums it back down to the
    argument's shape (:func:`unbroadcast`), in one place for every op.

An op never builds a Jacobian matrix; :func:`bpkit.backprop.edge_jacobian` recovers one from the
vector-Jacobian product when a lesson wants to look at it.

The docstring of each op gives its local derivative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .values import shape as _shape


@dataclass(frozen=True)
class Op:
    name: str
    symbol: str  # how a drawing labels the op
    forward: Callable
    vjps: object  # vjps[k]: the vector-Jacobian product along the edge from argument k
    doc: str = ""
    arity: int | None = field(default=None)  # None: any number of arguments

    def vjp(self, k):
        """The vector-Jacobian product along the edge from argument k."""
        return self.vjps[k]


class EveryArgument:
    """The ``vjps`` of an op with any number of arguments: ``vjps[k] = make(k)``, made once."""

    def __init__(self, make):
        self.make, self.made = make, {}

    def __getitem__(self, k):
        if k not in self.made:
            self.made[k] = self.make(k)
        return self.made[k]


OPS: dict[str, Op] = {}


def _define(name, symbol, forward, *vjps, doc="", arity="vjps"):
    OPS[name] = Op(name, symbol, forward, tuple(vjps), doc,
                   len(vjps) if arity == "vjps" else arity)


def unbroadcast(g, like):
    """Sum ``g`` down to the shape of the operand ``like``: undo NumPy broadcasting on the way back.

    An operand that was broadcast was, in effect, used many times; its gradient is the sum of
    the gradients of all its copies.
    """
    if type(g) is float:  # the output is a scalar, so every operand was one: nothing to undo
        return g
    shape = _shape(like)
    if np.shape(g) == shape:
        return g
    if shape == ():
        return float(np.sum(g))
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g if g.shape == shape else g.reshape(shape)


def call(f, args, attrs=None):
    """``f(*args, **attrs)``. Python floats raise ZeroDivisionError where NumPy gives inf or nan
    (with a RuntimeWarning); then retry with NumPy floats, so that scalars behave like arrays and
    the non-finite check can name the vertex."""
    try:
        return f(*args) if attrs is None else f(*args, **attrs)
    except ZeroDivisionError:
        args = [np.float64(a) if type(a) is float else a for a in args]
        return f(*args) if attrs is None else f(*args, **attrs)


# ----- elementwise arithmetic (broadcasting as NumPy does) ----------------------------------
_define("add", "+", lambda a, b: a + b,
        lambda g, out, a, b: g,
        lambda g, out, a, b: g,
        doc="a + b.  d/da = 1, d/db = 1: add distributes the gradient unchanged.")
_define("sub", "-", lambda a, b: a - b,
        lambda g, out, a, b: g,
        lambda g, out, a, b: -g,
        doc="a - b.  d/da = 1, d/db = -1.")
_define("mul", "*", lambda a, b: a * b,
        lambda g, out, a, b: g * b,
        lambda g, out, a, b: g * a,
        doc="a * b.  d/da = b, d/db = a: multiply swaps the inputs.")
_define("div", "/", lambda a, b: a / b,
        lambda g, out, a, b: g / b,
        lambda g, out, a, b: -g * out / b,
        doc="a / b.  d/da = 1/b, d/db = -a/b^2.")
_define("neg", "-", lambda a: -a,
        lambda g, out, a: -g,
        doc="-a.  d/da = -1.")
_define("pow", "^", lambda a, *, exponent: a ** exponent,
        lambda g, out, a, *, exponent: g * exponent * a ** (exponent - 1) if exponent else g * 0.0,
        doc="a ** n for a number n.  d/da = n a^(n-1) (0 for n = 0, also at a = 0).")
_define("rpow", "^", lambda a, *, base: base ** a,
        lambda g, out, a, *, base: g * out * math.log(base),
        doc="c ** a for a positive number c (e.g. math.e ** a).  d/da = c^a ln c.")


# ----- elementwise functions -----------------------------------------------------------------
_define("exp", "exp", np.exp, lambda g, out, a: g * out, doc="exp(a).  d/da = exp(a).")
_define("log", "log", np.log, lambda g, out, a: g / a, doc="log(a) (natural).  d/da = 1/a.")
_define("sqrt", "sqrt", np.sqrt, lambda g, out, a: g * 0.5 / out, doc="sqrt(a).  d/da = 1/(2 sqrt(a)).")
_define("sin", "sin", np.sin, lambda g, out, a: g * np.cos(a), doc="sin(a).  d/da = cos(a).")
_define("cos", "cos", np.cos, lambda g, out, a: -g * np.sin(a), doc="cos(a).  d/da = -sin(a).")


def _tanh(a):
    return math.tanh(a) if type(a) is float else np.tanh(a)  # math's is faster on one number


_define("tanh", "tanh", _tanh, lambda g, out, a: g * (1 - out * out),
        doc="tanh(a).  d/da = 1 - tanh(a)^2, written with the output o: 1 - o^2.")
_define("sigmoid", "σ", lambda a: 0.5 * (1 + np.tanh(0.5 * a)),
        lambda g, out, a: g * out * (1 - out),
        doc="sigmoid(a) = 1/(1+exp(-a)).  d/da = o (1 - o), with the output o.")
_define("relu", "relu", lambda a: np.maximum(a, 0.0),
        lambda g, out, a: g * (a > 0),
        doc="max(a, 0).  d/da = 1 where a > 0, else 0.")
_define("maximum", "max", np.maximum,
        lambda g, out, a, b: g * (a > b),
        lambda g, out, a, b: g * (a <= b),
        doc="elementwise max(a, b).  The gradient goes to the larger input (to b on a tie): "
            "max routes the gradient.")


# ----- n-ary ops, for graphs drawn as in Aggarwal's chapter 11 (y(5) = y(1) y(2) y(3)) ------
def _prod(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def _prod_vjp(k):
    def vjp(g, out, *xs):
        others = _prod(*(x for i, x in enumerate(xs) if i != k)) if len(xs) > 1 else 1.0
        return g * others
    return vjp


def _wsum_vjp(k):
    def vjp(g, out, *xs, weights):
        return g * weights[k]
    return vjp


OPS["prod"] = Op("prod", "*", _prod, EveryArgument(_prod_vjp),
                 "x1 * x2 * ... * xn.  d/dxk = the product of the other inputs.", None)
OPS["wsum"] = Op("wsum", "+", lambda *xs, weights: sum(w * x for w, x in zip(weights, xs)),
                 EveryArgument(_wsum_vjp),
                 "w1 x1 + ... + wn xn with fixed edge weights.  d/dxk = wk.", None)


# ----- linear algebra and reductions -----------------------------------------------------------
def _matmul_vjp(k):
    def vjp(g, out, a, b):
        if a.ndim == 2 and b.ndim == 2:
            return g @ b.T if k == 0 else a.T @ g
        a2 = a if a.ndim == 2 else a[None, :]  # a vector on the left is a row
        b2 = b if b.ndim == 2 else b[:, None]  # a vector on the right is a column
        g2 = np.reshape(g, (a2.shape[0], b2.shape[1]))
        return (g2 @ b2.T).reshape(a.shape) if k == 0 else (a2.T @ g2).reshape(b.shape)
    return vjp


def _matmul(a, b):
    if np.ndim(a) not in (1, 2) or np.ndim(b) not in (1, 2):
        raise ValueError("matmul takes vectors and matrices only (1-D or 2-D)")
    return a @ b


_define("matmul", "@", _matmul, _matmul_vjp(0), _matmul_vjp(1),
        doc="a @ b.  For C = A B: dL/dA = dL/dC B^T and dL/dB = A^T dL/dC.")
_define("transpose", "T", lambda a: np.transpose(a), lambda g, out, a: np.transpose(g),
        doc="a.T.  The gradient is transposed back.")


def _sum(a, *, axis=None):
    return np.sum(a, axis=axis)


def _sum_vjp(g, out, a, *, axis=None):
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(a))


_define("sum", "Σ", _sum, _sum_vjp,
        doc="sum of the entries (along an axis).  d/da_k = 1 for every entry: the gradient is copied.")


def _getitem_vjp(g, out, a, *, index):
    grad = np.zeros(np.shape(a))
    np.add.at(grad, index, g)  # add.at: an entry picked twice gets both gradients
    return grad


_define("getitem", "[]", lambda a, *, index: a[index], _getitem_vjp,
        doc="a[index].  The gradient goes back to the entries that were picked (summed if picked twice).")


def _log_softmax(a):
    shifted = a - np.max(a, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


_define("log_softmax", "LS", _log_softmax,
        lambda g, out, a: g - np.exp(out) * np.sum(g, axis=-1, keepdims=True),
        doc="LS_k(l) = l_k - log sum_k' exp(l_k') along the last axis.  "
            "dLS_k/dl_k' = [k = k'] - softmax_k'(l).")
