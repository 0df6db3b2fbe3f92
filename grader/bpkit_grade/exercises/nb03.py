"""Exercises of 03-backpropagation: write the backward pass for given forward code.

Each reference below is written with plain Python/NumPy, backward step by backward step, the
way the notebook asks the students to write theirs; bpkit's own backward pass agrees with them
(the notebook shows that).
"""
from __future__ import annotations

import math

import numpy as np

from . import Exercise, DERIVATIVES, LOCAL_DERIVATIVES


def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


# ----- 1. f(x, y, z) = [max(3x, 0) - y]^2 + z ---------------------------------------------------
def backward_max_square(x, y, z):
    p = 3 * x
    r = max(p, 0.0) - y
    grad_r = 2 * r                       # t = r^2 + z: 2r towards r, 1 towards z
    grad_p = grad_r if p > 0 else 0.0    # the max gate is open only when p > 0
    return float(3 * grad_p), float(-grad_r), 1.0


def _max_square_mistakes(x, y, z):
    p = 3 * x
    q = max(p, 0.0)
    r = q - y
    return [
        ("let the gradient through the max gate although 3x < 0 (max routes the gradient to the "
         "larger input only)", (3 * 2 * r, -2 * r, 1.0)),
        ("forgot the 2 of the square (d r^2 / dr = 2r)", (3 * (p > 0) * r, -r, 1.0)),
        ("forgot the factor 3 of p = 3x", (2 * r * (p > 0), -2 * r, 1.0)),
        ("wrote dy = dr; y is subtracted (r = q - y), so dy = -dr", (6 * r * (p > 0), 2 * r, 1.0)),
        ("returned z for dz; t = s + z, so dz = dt = 1 whatever z is", (6 * r * (p > 0), -2 * r, z)),
        ("used 2q for dr; the square is of r = q - y, so dr = 2r with r = q - y",
         (6 * q * (p > 0), -2 * q, 1.0)),
    ]


def _away(rng, low, high):
    """A random number of either sign with low <= |value| <= high."""
    return round(float(rng.uniform(low, high) * rng.choice([-1.0, 1.0])), 3)


def _max_square_inputs(rng):
    # x < 0 (the max gate closes) or x > 0 (it opens), never at the kink; y, z and r = q - y
    # away from 0, and z away from 1 (so that dz = z and dz = 1 differ)
    while True:
        x, y, z = _away(rng, 0.2, 2), _away(rng, 0.2, 3), _away(rng, 0.2, 3)
        r = max(3 * x, 0.0) - y        # r = 3 is the worked example's (dx = 18, dy = -6)
        if abs(r) > 0.2 and abs(r - 3) > 0.1 and abs(z - 1) > 0.1:
            return (x, y, z)


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
    return _mlp_gate_mistakes(x, y, w1, b1, w2, b2) + [
        ("let the gradient through a max gate whose input was negative (max(., 0) passes "
         "nothing back where it output 0)", (d * w2 * x, d * w2, d * h, d)),
        ("used z1 = w1 x + b1 where h = max(z1, 0) was needed in dL/dw2", (dw1, db1, db2 * z1, db2)),
        ("forgot the 2 of the square: dL/d out = 2 (out - y)", (dw1 / 2, db1 / 2, dw2 / 2, db2 / 2)),
        ("multiplied dz1 by w1; w1 multiplies x in z1 = w1 x + b1, so dL/dw1 = dz1 * x",
         (db1 * w1, db1, dw2, db2)),
        ("inverted the gates: max(., 0) passes the gradient back where its input is positive and "
         "nothing where it is negative", _mlp_inverted(x, y, w1, b1, w2, b2)),
    ]


def _mlp_gates(x, y, w1, b1, w2, b2, inner, outer):
    """The gradients with the inner and outer gate masks given as functions of z1 and z2."""
    z1, h, z2, out = _mlp_forward(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * outer(z2)
    dz1 = dz2 * w2 * inner(z1)
    return (dz1 * x, dz1, dz2 * h, dz2)


def _mlp_inverted(*args):
    return _mlp_gates(*args, inner=lambda z: float(z < 0), outer=lambda z: float(z < 0))


def _mlp_gate_mistakes(*args):
    z1, h, z2, out = _mlp_forward(*(args[:1] + args[2:]))
    shut, open_ = (lambda z: float(z > 0)), (lambda z: 1.0)
    found = []
    if z1 <= 0 and z2 <= 0:
        found.append(("let the gradient through both max gates although both were closed here "
                      "(w1 x + b1 < 0 and h w2 + b2 < 0): a closed max(., 0) passes nothing back",
                      _mlp_gates(*args, inner=open_, outer=open_)))
    if z1 <= 0:
        found.append(("let the gradient through the inner max gate although it was closed here "
                      "(w1 x + b1 < 0): a closed max(., 0) passes nothing back",
                      _mlp_gates(*args, inner=open_, outer=shut)))
    if z2 <= 0:
        found.append(("let the gradient through the outer max gate although it was closed here "
                      "(h w2 + b2 < 0): a closed max(., 0) passes nothing back",
                      _mlp_gates(*args, inner=shut, outer=open_)))
    return found


#: the worked example (both gates open), then both gates closed, only the inner one closed, only
#: the outer one closed
MLP_CASES = ((2.0, 10.0, -1.0, 4.0, 3.0, 1.0), (1.5, 1.0, -2.0, 1.0, 1.2, -0.5),
             (1.5, 3.0, -2.0, 1.0, 1.2, 0.5), (1.0, 2.0, 1.0, 0.5, -2.0, 0.4))


def _mlp_inputs(rng):
    # both gates open half of the time, the inner or the outer one closed a quarter each; every
    # pre-activation at least 0.3 from its kink, out - y away from 0, w1 != x
    inner_open, outer_open = [(True, True), (True, True), (False, True), (True, False)][
        int(rng.integers(4))]
    while True:
        x, w1, w2 = _away(rng, 0.3, 2.5), _away(rng, 0.3, 2), _away(rng, 0.3, 2)
        z1 = float(rng.uniform(0.3, 3)) * (1 if inner_open else -1)
        b1 = round(z1 - w1 * x, 3)
        z1 = w1 * x + b1
        z2 = float(rng.uniform(0.3, 3)) * (1 if outer_open else -1)
        b2 = round(z2 - max(z1, 0.0) * w2, 3)
        z2 = max(z1, 0.0) * w2 + b2
        y = round(max(z2, 0.0) + _away(rng, 0.3, 3), 3)
        if min(abs(z1), abs(z2)) > 0.25 and min(abs(w1 - x), abs(w1 + x)) > 0.1:
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
    linear_db = (1 - c) * y
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
        ("wrote 1 - c for the derivative of tanh; it is 1 - c^2 (with c = tanh(b))",
         (linear_db * (y + 1), linear_db * x + c)),
    ]


def _staged_inputs(rng):
    # x, y away from 0, y away from 1 (y * db and db differ), b and c = tanh(b) away from 0
    while True:
        x, y = _away(rng, 0.2, 1.5), _away(rng, 0.2, 1.5)
        b = x * y + x
        if abs(y - 1) > 0.1 and abs(b) > 0.1:
            return (x, y)


# ----- 4. a sigmoid neuron: f = sigmoid(w0 x0 + w1 x1 + w2) ------------------------------------------
def backward_neuron(w, x):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    out = _sigmoid(float(w[:2] @ x) + w[2])
    slope = out * (1.0 - out)                 # the sigmoid's local derivative, from its output
    return slope * np.array([x[0], x[1], 1.0]), slope * w[:2]


def _neuron_mistakes(w, x):
    pre = w[0] * x[0] + w[1] * x[1] + w[2]
    wrong = (1 - pre) * pre  # the sigmoid's input where its output was needed
    f = _sigmoid(pre)
    dd = f * (1 - f)
    return [
        ("used the sigmoid's input (the dot product) where its output f was needed: "
         "d sigmoid/d dot = f (1 - f)",
         (np.array([x[0] * wrong, x[1] * wrong, wrong]), np.array([w[0] * wrong, w[1] * wrong]))),
        ("took the sigmoid's output f itself as its derivative: d sigmoid/d dot = f (1 - f), not f",
         (np.array([x[0] * f, x[1] * f, f]), np.array([w[0] * f, w[1] * f]))),
        ("left out the bias: w has three entries (w2 multiplies the constant 1), so dw has three "
         "too, dw[2] = d dot", (np.array([x[0] * dd, x[1] * dd]), np.array([w[0] * dd, w[1] * dd]))),
        ("swapped the roles of w and x: dw = x * d dot (and 1 * d dot for the bias), dx = w * d dot",
         (np.array([w[0] * dd, w[1] * dd, dd]), np.array([x[0] * dd, x[1] * dd]))),
    ]


def _neuron_inputs(rng):
    # entries away from 0 and w != x; the dot product within (-4, 4), where f (1 - f) is not tiny
    while True:
        w = [_away(rng, 0.3, 3) for _ in range(3)]
        x = [_away(rng, 0.2, 2) for _ in range(2)]
        if abs(w[0] * x[0] + w[1] * x[1] + w[2]) < 4 and min(abs(w[0] - x[0]), abs(w[1] - x[1])) > 0.1:
            return (w, x)


EXERCISES = [
    Exercise(
        grade_id="test_backward_max_square", points=2, function="backward_max_square", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_max_square_inputs, reference=backward_max_square,
        description="backward pass of [max(3x, 0) - y]^2 + z: (dx, dy, dz)",
        mistakes=_max_square_mistakes, result_names=("dx", "dy", "dz"), partial=True,
        visible_inputs=((1.0, 0.0, -2.0), (-0.5, 1.0, 2.0), (0.6, 2.5, 0.5))),
    Exercise(
        grade_id="test_backward_neuron", points=2, function="backward_neuron", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_neuron_inputs, reference=backward_neuron,
        description="backward pass of a sigmoid neuron: (dw, dx)",
        mistakes=_neuron_mistakes, result_names=("dw", "dx"), partial=True,
        visible_inputs=(([2.0, -3.0, -3.0], [-1.0, -2.0]), ([0.5, 1.5, -0.3], [2.0, -1.0]))),
    Exercise(
        grade_id="test_backward_staged", points=3, function="backward_staged", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_staged_inputs, reference=backward_staged,
        description="backward pass of staged code where x and y are used twice (+=)",
        mistakes=_staged_mistakes, result_names=("dx", "dy"), partial=True,
        visible_inputs=((0.5, 0.8), (-1.1, 0.6))),
    Exercise(
        grade_id="test_backward_mlp", points=3, function="backward_mlp", asks_for=DERIVATIVES + LOCAL_DERIVATIVES,
        make_inputs=_mlp_inputs, reference=backward_mlp,
        description="gradients of L_MLP with respect to w1, b1, w2, b2",
        mistakes=_mlp_mistakes, result_names=("dL/dw1", "dL/db1", "dL/dw2", "dL/db2"), partial=True,
        visible_inputs=MLP_CASES,
        decisive=False),   # with a gate closed, "no masks" and "no mask there" coincide
]

