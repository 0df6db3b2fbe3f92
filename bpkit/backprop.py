"""The backward pass: topological order, vector-Jacobian products, and the one backward loop.

Collins' dynamic program: with p^n = seed at the output,

    p^j = sum over edges j -> i of  p^i J^{j->i}        in reverse topological order,

and p^j is d(seed . output) / d u^j. Each term is one vector-Jacobian product from the op
table (:mod:`bpkit.ops`); no Jacobian matrix is ever built for it. :func:`edge_jacobian`
builds the matrix J^{j->i} of one edge when a lesson wants to look at it.

A vertex here is anything with ``value``, ``op`` (a name in ``OPS``, None for a leaf),
``parents`` (in argument order), ``attrs`` (the op's keyword arguments, or None) and
``requires_grad``; :class:`bpkit.graph.Var` is the one the course uses. ``out.backward()``,
:func:`bpkit.jacobian.jacobian` and the backprop stepper widget all run :func:`backprop`.
"""
from __future__ import annotations

import numpy as np

from .ops import OPS, call, unbroadcast
from .values import as_value, shape, size


class GraphError(ValueError):
    """A graph that cannot be built or used: a cycle, an unknown name, a missing seed."""


class ShapeError(GraphError):
    """Operands whose shapes do not fit the op."""


def topological_order(output):
    """Every vertex ``output`` depends on, parents before children (iterative depth-first
    search: go down to the first parent not seen yet; a vertex is listed once it has none left)."""
    order, seen = [], {output}
    stack = [(output, iter(output.parents))]  # each vertex with its parents still to visit
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if p not in seen:
                seen.add(p)
                stack.append((p, iter(p.parents)))
                break
        else:  # every parent is listed: so is this vertex
            stack.pop()
            order.append(node)
    return order


def vjp(node, k, g):
    """g J^{k->node}: the gradient ``g`` of ``node`` carried back along the edge from parent k."""
    values = [p.value for p in node.parents]
    return unbroadcast(call(OPS[node.op].vjp(k), [g, node.value, *values], node.attrs), values[k])


def one_hot_jacobian(out_value, in_value, pull_back):
    """The Jacobian d out / d in (out.size x in.size, arrays flattened row-major), one row at
    a time: row i is ``pull_back(e_i)``, the vector-Jacobian product of the one-hot seed e_i."""
    J = np.zeros((size(out_value), size(in_value)))
    for i in range(len(J)):
        if type(out_value) is float:
            seed = 1.0
        else:
            seed = np.zeros(np.shape(out_value))
            seed.flat[i] = 1.0
        J[i] = np.ravel(np.broadcast_to(pull_back(seed), shape(in_value)))
    return J


def edge_jacobian(edge):
    """The local derivative z(i, j) of an edge ``(parent, child, k)``: a float for two scalars,
    else the d(child) x d(parent) Jacobian J^{parent->child} (arrays flattened)."""
    parent, child, k = edge
    if type(parent.value) is float and type(child.value) is float:
        return float(vjp(child, k, 1.0))
    return one_hot_jacobian(child.value, parent.value, lambda seed: vjp(child, k, seed))


def _check_seed(output, seed):
    if seed is None:
        if type(output.value) is not float:
            raise GraphError(
                f"backward() on {output.label()!r} (op {output.op}, shape {output.shape}) needs a "
                f"seed: the output is not a scalar. Pass out.backward(seed) with an array of shape "
                f"{output.shape} (np.ones for the gradient of the sum), or reduce it with bpkit.sum.")
        return 1.0
    seed = as_value(seed, "seed")
    if shape(seed) != output.shape:
        raise ShapeError(f"seed of shape {shape(seed)} for output {output.label()!r} of "
                         f"shape {output.shape}: they must match")
    return seed


def backprop(output, seed=None, order=None, on_step=None):
    """The backward pass. Returns {vertex: p} with p = d(seed . output) / d vertex for every
    vertex that needs a gradient (constants and what is computed from them alone get none);
    ``.grad`` is not touched.

    ``order``: ``topological_order(output)``, if the caller has it already.
    ``on_step(vertex, terms, grads)``, if given, is called each time a vertex has passed its
    gradient back, with ``terms`` the list of ``(parent, k, p^vertex J^{k->vertex})``.
    """
    grads = {output: _check_seed(output, seed)}
    for node in reversed(order if order is not None else topological_order(output)):
        g = grads.get(node)
        if g is None or node.op is None:
            continue
        vjps, attrs = OPS[node.op].vjps, node.attrs
        args = [g, node.value]                      # the arguments of every vjp: g, out, *values
        for parent in node.parents:
            args.append(parent.value)
        args = tuple(args)                          # one tuple, passed to every vjp call
        terms = [] if on_step is not None else None
        for k, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            f = vjps[k]
            try:                                                   # p^node J^{k->node}
                contribution = f(*args) if attrs is None else f(*args, **attrs)
            except ZeroDivisionError:
                contribution = call(f, args, attrs)
            if type(contribution) is not float:  # an array: summed back to the parent's shape
                contribution = unbroadcast(contribution, parent.value)  # if it was broadcast
            previous = grads.get(parent)
            grads[parent] = contribution if previous is None else previous + contribution
            if terms is not None:
                terms.append((parent, k, contribution))
        if on_step is not None:
            on_step(node, terms, grads)
    return grads


def backward(output, seed=None):
    """What ``output.backward(seed)`` does: the backward pass, its result stored as ``.grad``
    of every vertex that needs one (recomputed from zero on every call, never accumulated)."""
    order = topological_order(output)
    grads = backprop(output, seed, order)
    stored = set()  # ids of the gradient arrays already stored as some vertex's .grad
    for node, g in grads.items():  # every vertex that needs a gradient has one here
        if type(g) is float and type(node.value) is float:
            node.grad = g                                          # a scalar: nothing to copy
        else:
            node.grad = _as_grad(g, node.value, stored, seed)
    return output


def _as_grad(g, value, stored, seed):
    """``g`` as the ``.grad`` of a vertex with this ``value``: a float for a scalar vertex, else
    a float64 array of the value's shape.

    A fresh array that the backward pass computed is stored as it is. Where two vertices get
    the same one (an add hands its gradient on unchanged), they share it *read-only*, so that
    neither can be changed through the other. Anything else (a view, the caller's seed, a
    broadcast number) is copied. Copying every gradient would cost megabytes per step in a
    network, and writing them to fresh memory is most of that cost."""
    if type(value) is float:
        return float(np.sum(g))
    if (type(g) is np.ndarray and g.base is None and g.dtype == np.float64
            and g.shape == value.shape and g is not seed):
        if id(g) in stored:
            g.flags.writeable = False
        stored.add(id(g))
        return g
    return np.array(np.broadcast_to(g, value.shape), dtype=float)
