"""Exercises of 03-backpropagation: write the backward pass for given forward code.

Each reference below is written with plain Python/NumPy, backward step by backward step, the
way the notebook asks the students to write theirs; bpkit's own backward pass agrees with them
(the notebook shows that).
"""
from __future__ import annotations

import math

import numpy as np

from . import Exercise


def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


# ----- 1. f(x, y, z) = [max(3x, 0) - y]^2 + z ---------------------------------------------------
def backward_max_square(x, y, z):
    p = 3 * x
    q = max(p, 0.0)
    r = q - y
    dt = 1.0
    ds, dz = dt, dt
    dr = 2 * r * ds
    dq, dy = dr, -dr
    dp = (1.0 if p > 0 else 0.0) * dq
    dx = 3 * dp
    return float(dx), float(dy), float(dz)


def _max_square_mistakes(x, y, z):
    p = 3 * x
    q = max(p, 0.0)
    r = q - y
    return [
        ("let the gradient through the max gate although 3x < 0 (max routes the gradient to the "
         "larger input only)", (3 * 2 * r, -2 * r, 1.0)),
        ("forgot the 2 of the square (d r^2 / dr = 2r)", (3 * (p > 0) * r, -r, 1.0)),
        ("forgot the factor 3 of p = 3x", (2 * r * (p > 0), -2 * r, 1.0)),
    ]


def _max_square_inputs(rng):
    return (float(rng.uniform(-2, 2)), float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3)))


# ----- 2. L_MLP = [max(max(w1 x + b1, 0) w2 + b2, 0) - y]^2 -------------------------------------
def _mlp_forward(x, w1, b1, w2, b2):
    z1 = w1 * x + b1
    h = max(z1, 0.0)
    z2 = h * w2 + b2
    return z1, h, z2, max(z2, 0.0)


def backward_mlp(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp_forward(x, w1, b1, w2, b2)
    dout = 2 * (out - y)
    dz2 = dout * (1.0 if z2 > 0 else 0.0)
    dw2, db2, dh = dz2 * h, dz2, dz2 * w2
    dz1 = dh * (1.0 if z1 > 0 else 0.0)
    dw1, db1 = dz1 * x, dz1
    return float(dw1), float(db1), float(dw2), float(db2)


def _mlp_mistakes(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp_forward(x, w1, b1, w2, b2)
    d = 2 * (out - y)
    dw1, db1, dw2, db2 = backward_mlp(x, y, w1, b1, w2, b2)
    return [
        ("let the gradient through a max gate whose input was negative (max(., 0) passes "
         "nothing back where it output 0)", (d * w2 * x, d * w2, d * h, d)),
        ("used z1 = w1 x + b1 where h = max(z1, 0) was needed in dL/dw2", (dw1, db1, db2 * z1, db2)),
    ]


def _mlp_inputs(rng):
    # mostly both max gates open, sometimes one closed (then part of the gradient is 0)
    x, y = float(rng.uniform(-2, 3)), float(rng.uniform(-2, 10))
    w1, b1 = float(rng.uniform(-2, 2)), float(rng.uniform(0, 4))
    w2, b2 = float(rng.uniform(-1, 3)), float(rng.uniform(-1, 2))
    return (x, y, w1, b1, w2, b2)


# ----- 3. a staged function in which x and y are each used twice ---------------------------------
def staged_forward(x, y):
    """The forward code the students get (also in the notebook)."""
    a = x * y
    b = a + x
    c = math.tanh(b)
    f = c * y
    return f


def backward_staged(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    df = 1.0
    dc, dy = y * df, c * df
    db = (1 - c * c) * dc
    da, dx = db, db
    dx += y * da
    dy += x * da
    return float(dx), float(dy)


def _staged_mistakes(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    db = (1 - c * c) * y
    dx_a, dx_b = y * db, db
    dy_a, dy_f = x * db, c
    input_db = (1 - b * b) * y
    return [
        ("kept only one of the two contributions to dx: x is used twice (in a = x*y and in "
         "b = a + x), so write dx += ... for the second one", (dx_a, dy_a + dy_f)),
        ("kept only one of the two contributions to dx: x is used twice (in a = x*y and in "
         "b = a + x), so write dx += ... for the second one", (dx_b, dy_a + dy_f)),
        ("kept only one of the two contributions to dy: y is used twice (in a = x*y and in "
         "f = c*y), so write dy += ... for the second one", (dx_a + dx_b, dy_a)),
        ("kept only one of the two contributions to dy: y is used twice (in a = x*y and in "
         "f = c*y), so write dy += ... for the second one", (dx_a + dx_b, dy_f)),
        ("used tanh's input b where its output c was needed: d tanh(b)/db = 1 - c^2",
         (input_db * (y + 1), input_db * x + c)),
    ]


def _staged_inputs(rng):
    return (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.5, 1.5)))


# ----- 4. a sigmoid neuron: f = sigmoid(w0 x0 + w1 x1 + w2) ------------------------------------------
def backward_neuron(w, x):
    w = [float(v) for v in w]
    x = [float(v) for v in x]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = _sigmoid(dot)
    ddot = (1 - f) * f
    dw = np.array([x[0] * ddot, x[1] * ddot, ddot])
    dx = np.array([w[0] * ddot, w[1] * ddot])
    return dw, dx


def _neuron_mistakes(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    wrong = (1 - dot) * dot  # the sigmoid's input where its output was needed
    return [
        ("used the sigmoid's input (the dot product) where its output f was needed: "
         "d sigmoid/d dot = f (1 - f)",
         (np.array([x[0] * wrong, x[1] * wrong, wrong]), np.array([w[0] * wrong, w[1] * wrong]))),
    ]


def _neuron_inputs(rng):
    return ([float(v) for v in rng.uniform(-3, 3, 3)], [float(v) for v in rng.uniform(-2, 2, 2)])


EXERCISES = [
    Exercise(
        grade_id="test_backward_max_square", points=2, function="backward_max_square",
        make_inputs=_max_square_inputs, reference=backward_max_square,
        description="backward pass of [max(3x, 0) - y]^2 + z: (dx, dy, dz)",
        mistakes=_max_square_mistakes, result_names=("dx", "dy", "dz"),
        visible_inputs=((1.0, 0.0, -2.0), (-0.5, 1.0, 2.0))),
    Exercise(
        grade_id="test_backward_neuron", points=2, function="backward_neuron",
        make_inputs=_neuron_inputs, reference=backward_neuron,
        description="backward pass of a sigmoid neuron: (dw, dx)",
        mistakes=_neuron_mistakes, result_names=("dw", "dx"),
        visible_inputs=(([2.0, -3.0, -3.0], [-1.0, -2.0]),)),
    Exercise(
        grade_id="test_backward_staged", points=3, function="backward_staged",
        make_inputs=_staged_inputs, reference=backward_staged,
        description="backward pass of staged code where x and y are used twice (+=)",
        mistakes=_staged_mistakes, result_names=("dx", "dy"),
        visible_inputs=((0.5, 0.8),)),
    Exercise(
        grade_id="test_backward_mlp", points=3, function="backward_mlp",
        make_inputs=_mlp_inputs, reference=backward_mlp,
        description="gradients of L_MLP with respect to w1, b1, w2, b2",
        mistakes=_mlp_mistakes, result_names=("dL/dw1", "dL/db1", "dL/dw2", "dL/db2"),
        visible_inputs=((2.0, 10.0, -1.0, 4.0, 3.0, 1.0),)),
]

