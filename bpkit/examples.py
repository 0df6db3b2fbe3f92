"""The textbook graphs, built with the sources' own vertex names.

Every builder returns the output vertex; ``out.graph()["y(4)"]`` (or ``["x"]``, ...) finds the
others by name. Numbers that the sources give are the defaults; where a source gives none
(Fig 11.9), the defaults are ours and say so.
"""
from __future__ import annotations

import math

import numpy as np

from . import graph as g
from .graph import var


def ln_exp_sqrt(x1=2.0, x2=2.0, x3=1.0, w2=1.0, w3=7.0):
    """Fig 11.1: f = ln(x1 x2) * exp(x1 x2 x3) * sqrt(w2 x2 + w3 x3), weights on two edges."""
    X1, X2, X3 = var(x1, "x1"), var(x2, "x2"), var(x3, "x3")
    a = g.prod(X1, X2, name="x1·x2")
    b = g.prod(X1, X2, X3, name="x1·x2·x3")
    c = g.wsum([X2, X3], [w2, w3], name="w2·x2+w3·x3")
    return g.prod(g.log(a, name="ln"), g.exp(b, name="exp"), g.sqrt(c, name="sqrt"), name="f")


def product_graph(depth=5, x=1.0):
    """The layered product graph of Aggarwal's chapter 11 (Fig. 11.7): two vertices per layer, each the
    product of the two vertices of the layer before; the output o multiplies the last two.

    The chapter's first layer h(1,1), h(1,2) just holds x, so here x feeds the second layer
    directly: h(2,j) = x * x (two edges from x each), h(3,j) = x^4, ..., o = x^(2^depth).
    There are 2^depth paths from x to o (depth=5: x^32 and 32 paths; counting x * x as one
    edge would give 16). Vertices are named h(i,1), h(i,2) for i = 2 .. depth, then o.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    X = var(x, "x")
    layer = (X, X)
    for i in range(2, depth + 1):
        layer = ((layer[0] * layer[1]).named(f"h({i},1)"), (layer[0] * layer[1]).named(f"h({i},2)"))
    return (layer[0] * layer[1]).named("o")


def sin_cos_graph(y1=1.0, y2=2.0, y3=0.5, w2=1.0, w3=-1.0):
    """Fig 11.9, ten vertices y(1)..y(10):
        y(4) = y(1) y(2),  y(5) = y(1) y(2) y(3),  y(6) = w2 y(2) + w3 y(3)
        y(7) = sin y(4),   y(8) = cos y(5),        y(9) = sin y(6)
        y(10) = y(7) y(8) y(9)
    The chapter gives no input values; the defaults here are ours.
    """
    Y1, Y2, Y3 = var(y1, "y(1)"), var(y2, "y(2)"), var(y3, "y(3)")
    y4 = g.prod(Y1, Y2, name="y(4)")
    y5 = g.prod(Y1, Y2, Y3, name="y(5)")
    y6 = g.wsum([Y2, Y3], [w2, w3], name="y(6)")
    y7, y8, y9 = g.sin(y4, name="y(7)"), g.cos(y5, name="y(8)"), g.sin(y6, name="y(9)")
    return g.prod(y7, y8, y9, name="y(10)")


def sin_cos_loss_graph(y1=1.0, y2=2.0, y3=0.5, w2=1.0, w3=-1.0):
    """Fig 11.10: Fig 11.9 with the weights w2, w3 as input vertices and the loss
    L = log(y(10)^2) as a last vertex, so dL/dw2 and dL/dw3 are node-to-node derivatives."""
    Y1, Y2, Y3 = var(y1, "y(1)"), var(y2, "y(2)"), var(y3, "y(3)")
    W2, W3 = var(w2, "w2"), var(w3, "w3")
    y4 = g.prod(Y1, Y2, name="y(4)")
    y5 = g.prod(Y1, Y2, Y3, name="y(5)")
    y6 = (g.prod(W2, Y2, name="w2·y(2)") + g.prod(W3, Y3, name="w3·y(3)")).named("y(6)")
    y7, y8, y9 = g.sin(y4, name="y(7)"), g.cos(y5, name="y(8)"), g.sin(y6, name="y(9)")
    y10 = g.prod(y7, y8, y9, name="y(10)")
    return g.log(y10 ** 2, name="L")


def decoupled_network(x=(2.0, 1.0, 2.0), W=((2, -2, 0), (-1, 5, -1), (0, 3, -2)), W2=(-1, 1, -3)):
    """Fig 11.15: h1 = W x, h2 = ReLU(h1), h3 = W2 h2, o = sigmoid(h3), L = -log(o).
    W2 is the 1x3 matrix of the chapter, stored as its one row so that h3 is a scalar."""
    X = var(np.array(x, dtype=float), "x")
    Wv, W2v = var(np.array(W, dtype=float), "W"), var(np.array(W2, dtype=float), "W2")
    h1 = (Wv @ X).named("h1")
    h2 = g.relu(h1, name="h2")
    h3 = (W2v @ h2).named("h3")
    o = g.sigmoid(h3, name="o")
    return (-g.log(o)).named("L")


def collins_example(u1=1.0, u2=2.0):
    """Collins' four-vertex graph: n = 4, l = 2, E = {(1,3), (2,3), (2,4), (3,4)},
    u3 = u1 + u2, u4 = u2 * u3."""
    return g.Graph.define(
        leaves={"u1": u1, "u2": u2},
        nodes={"u3": ("add", ["u1", "u2"]), "u4": ("mul", ["u2", "u3"])},
    ).output


def reciprocal(x=0.0, y=1.0):
    """f(x, y) = 1 / (y + e^-x), staged as a = -x, b = e^a, c = y + b, d = 1 / c."""
    X, Y = var(x, "x"), var(y, "y")
    a = (-X).named("a")
    b = (math.e ** a).named("b")
    c = (Y + b).named("c")
    return (1 / c).named("d")


def max_square(x=1.0, y=0.0, z=-2.0):
    """f(x, y, z) = [max(3x, 0) - y]^2 + z, staged as p, q, r, s, t."""
    X, Y, Z = var(x, "x"), var(y, "y"), var(z, "z")
    p = (X * 3).named("p")
    q = g.maximum(p, 0.0, name="q")
    r = (q - Y).named("r")
    s = (r ** 2).named("s")
    return (s + Z).named("t")


def mlp_loss(x=2.0, y=10.0, w1=-1.0, b1=4.0, w2=3.0, b2=1.0):
    """L_MLP = [max(max(w1 x + b1, 0) w2 + b2, 0) - y]^2."""
    X, Y = var(x, "x"), var(y, "y")
    W1, B1, W2, B2 = var(w1, "w1"), var(b1, "b1"), var(w2, "w2"), var(b2, "b2")
    h = g.maximum(W1 * X + B1, 0.0, name="h")
    out = g.maximum(h * W2 + B2, 0.0, name="ŷ")
    return ((out - Y) ** 2).named("L")


def layered_sin_cos(x=1.0, layers=4):
    """Exercise 18's layered graph: the first layer computes sin(x) and cos(x); every later
    layer adds its two inputs (s) and computes sin(s) above and cos(s) below; the output
    multiplies the last two. ``layers`` sets its depth."""
    if layers < 1:
        raise ValueError(f"layers must be at least 1, got {layers}")
    X = var(x, "x")
    up, low = g.sin(X, name="sin(1)"), g.cos(X, name="cos(1)")
    for i in range(2, layers + 1):
        s = (up + low).named(f"s({i})")
        up, low = g.sin(s, name=f"sin({i})"), g.cos(s, name=f"cos({i})")
    return (up * low).named("o")


def sin_cos_of_square(x=1.0):
    """o = sin(x^2) + cos(x^2): two paths from x to o, one through sin and one through cos
    (Fig. 11.6 of the chapter)."""
    X = var(x, "x")
    y = (X ** 2).named("x²")
    return (g.sin(y, name="sin") + g.cos(y, name="cos")).named("o")


def uniform_layered_graph(z=0.3, layers=4, x=0.0):
    """Chapter exercise 17 (our reading of Figure 11.8): the input x, ``layers`` hidden layers
    of two vertices each, every vertex of a layer feeding both vertices of the next, and one
    output fed by the last layer. Every vertex is a weighted sum with all weights ``z``, so
    every edge has the local derivative z whatever the input."""
    if layers < 1:
        raise ValueError(f"layers must be at least 1, got {layers}")
    X = var(x, "x")
    up, low = g.wsum([X], [z], name="h(1,1)"), g.wsum([X], [z], name="h(1,2)")
    for i in range(2, layers + 1):
        up, low = (g.wsum([up, low], [z, z], name=f"h({i},1)"),
                   g.wsum([up, low], [z, z], name=f"h({i},2)"))
    return g.wsum([up, low], [z, z], name="o")
