"""Jacobians: analytic (from the graph) and numeric (central differences), and log-softmax.

The Jacobian of y = f(x), x in R^m, y in R^n, is the n x m matrix J[i, j] = d y_i / d x_j.
Matrices and other arrays are treated as vectors of their entries (row-major), as Collins does
for dz/dW.
"""
from __future__ import annotations

import numpy as np

from .backprop import backprop, one_hot_jacobian, topological_order
from .graph import GraphError, Var


def jacobian(output, wrt):
    """d output / d wrt as a matrix (output.size x wrt.size), one backward pass per row.

    ``wrt`` must be a vertex that ``output`` depends on (an ancestor, or ``output`` itself).
    ``.grad`` fields are not touched.
    """
    if not isinstance(output, Var) or not isinstance(wrt, Var):
        raise TypeError("jacobian(output, wrt) takes two bpkit vertices")
    order = topological_order(output)
    if not any(n is wrt for n in order):
        raise GraphError(f"{output.label()!r} does not depend on {wrt.label()!r}")
    return one_hot_jacobian(output.value, wrt.value,
                            lambda seed: backprop(output, seed, order).get(wrt, 0.0))


def numeric_jacobian(f, x, eps=1e-6):
    """Central differences: J[:, j] = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps).

    ``f`` maps an array (or number) to an array (or number); the error is O(eps^2).
    """
    x = np.array(x, dtype=float)
    y0 = np.asarray(f(x.copy()), dtype=float)
    J = np.zeros((y0.size, x.size))
    flat = x.reshape(-1)
    for j in range(x.size):
        old = flat[j]
        flat[j] = old + eps
        up = np.asarray(f(x.copy()), dtype=float).reshape(-1)
        flat[j] = old - eps
        down = np.asarray(f(x.copy()), dtype=float).reshape(-1)
        flat[j] = old
        J[:, j] = (up - down) / (2 * eps)
    return J


def numeric_grad(f, x, eps=1e-6):
    """The gradient of a scalar function by central differences, shaped like ``x``."""
    return numeric_jacobian(f, x, eps).reshape(np.shape(x))


def check_gradients(build, *values, eps=1e-6, rtol=1e-4, atol=1e-6):
    """Compare backprop with central differences for a function written with bpkit ops.

    ``build(*vars)`` returns a scalar vertex. Returns the largest absolute difference, or
    raises AssertionError naming the input and the entries that disagree.
    """
    leaves = [Var(v, name=f"arg{i}") for i, v in enumerate(values)]
    out = build(*leaves)
    out.backward()
    worst = 0.0
    for i, leaf in enumerate(leaves):
        def f(v, i=i):
            args = [Var(w) for w in values]
            args[i] = Var(v)
            return build(*args).value
        numeric = numeric_grad(f, values[i], eps)
        analytic = np.asarray(leaf.grad)
        diff = np.abs(analytic - numeric)
        if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
            where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), np.shape(diff)))
            raise AssertionError(
                f"gradient of argument {i} disagrees with central differences at index {where}: "
                f"backprop {np.asarray(analytic)[where]:.6g}, numeric {np.asarray(numeric)[where]:.6g}")
        worst = max(worst, float(np.max(diff)) if np.size(diff) else 0.0)
    return worst
