"""Computational graphs built by running ordinary Python: vertices, their ops, the forward pass.

Write the function as usual, on ``bpkit.var`` values::

    x, y = var(0.0, name="x"), var(1.0, name="y")
    d = 1 / (y + math.e ** -x)      # every operation adds one vertex to the graph
    d.backward()                    # p^j = sum_i p^i J^{j->i} (bpkit.backprop), in reverse
                                    # topological order
    x.grad, y.grad                  # (0.25, -0.25)

Vertices are :class:`Var` objects. A vertex remembers its op and its parents *in argument
order*, so ``x * x`` has two edges from ``x`` (the multiplicity a path count needs).
Scalars are plain Python floats, everything else a float NumPy array.

Rules worth knowing
  * ``out.backward()`` recomputes every gradient from zero, so calling it twice gives the same
    ``.grad`` (it never doubles). ``.grad`` of a vertex is d out / d vertex, the same shape as
    ``.value``; ``.grad`` of numbers you typed in (constants) stays ``None``.
  * Nothing here recurses over the graph: a chain of a million vertices is fine.
  * The first vertex whose value becomes NaN or inf (while its inputs are finite) raises a
    :class:`NonFiniteWarning` that names it, its op and its inputs.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import backprop as _backprop
from .backprop import GraphError, ShapeError, topological_order
from .ops import OPS, call
from .values import as_value, format_value, is_finite, tidy


class NonFiniteWarning(RuntimeWarning):
    """A vertex's value became NaN or infinite."""


class Var:
    """A vertex of a computational graph: its value, its op, its parents, and after
    ``backward()`` its gradient."""

    __slots__ = ("value", "grad", "name", "op", "parents", "attrs", "requires_grad")
    __array_ufunc__ = None  # NumPy arrays on the left hand their operators over to Var

    def __init__(self, value, name=None, *, requires_grad=True):
        if isinstance(value, Var):
            raise TypeError(f"value must be a number or an array, not a graph vertex ({value!r})")
        self.value = as_value(value)
        self.grad = None
        self.name = name
        self.op = None  # None for a leaf
        self.parents = ()
        self.attrs = None
        self.requires_grad = requires_grad

    # ----- description -------------------------------------------------------------------
    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def is_leaf(self):
        return self.op is None

    @property
    def is_constant(self):
        return self.op is None and not self.requires_grad

    def named(self, name):
        """Give this vertex a name (for drawings and errors) and return it."""
        self.name = name
        return self

    def label(self):
        """Its name, or for unnamed vertices the op (or the constant's value)."""
        if self.name is not None:
            return str(self.name)
        if self.op is None:
            return format_value(self.value) if self.is_constant else "leaf"
        return self.op

    def __repr__(self):
        parts = [f"name={self.name!r}"] if self.name is not None else []
        parts.append("leaf" if self.op is None else f"op={self.op!r}")
        parts.append(f"value={format_value(self.value)}")
        if self.grad is not None:
            parts.append(f"grad={format_value(self.grad)}")
        return f"Var({', '.join(parts)})"

    def graph(self):
        """The graph that computes this vertex (see :class:`Graph`)."""
        return Graph(self)

    # ----- backward ------------------------------------------------------------------------
    def backward(self, seed=None):
        """Fill ``.grad`` of every vertex this one depends on with d self / d vertex.

        ``seed`` is d L / d self for a non-scalar output (same shape as ``.value``); a scalar
        output needs none (the seed is 1). Gradients are recomputed from zero on every call.
        The backward pass itself is :func:`bpkit.backprop.backprop`.
        """
        return _backprop.backward(self, seed)

    # ----- operators -------------------------------------------------------------------------
    def __add__(self, other):
        return apply("add", self, other)

    def __radd__(self, other):
        return apply("add", other, self)

    def __sub__(self, other):
        return apply("sub", self, other)

    def __rsub__(self, other):
        return apply("sub", other, self)

    def __mul__(self, other):
        return apply("mul", self, other)

    def __rmul__(self, other):
        return apply("mul", other, self)

    def __truediv__(self, other):
        return apply("div", self, other)

    def __rtruediv__(self, other):
        return apply("div", other, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"x ** n needs a number n, got {type(exponent).__name__}; "
                            "for a vertex y as exponent write exp(y * log(x))")
        return apply("pow", self, exponent=float(exponent))

    def __rpow__(self, base):
        if not isinstance(base, numbers.Real) or base <= 0:
            raise TypeError(f"c ** x needs a positive number c, got {base!r}")
        return apply("rpow", self, base=float(base))

    def __matmul__(self, other):
        return apply("matmul", self, other)

    def __rmatmul__(self, other):
        return apply("matmul", other, self)

    def __getitem__(self, index):
        if isinstance(index, Var):
            raise TypeError("index with numbers or integer arrays, not with a graph vertex")
        return apply("getitem", self, index=index)

    def __iter__(self):
        """The entries of a vector vertex, one vertex each (so ``a, b = v`` and ``sum(v)`` work)."""
        if type(self.value) is float:
            raise TypeError(f"{self.label()!r} is a scalar vertex: there is nothing to iterate over")
        return (self[i] for i in range(len(self.value)))

    @property
    def T(self):
        return apply("transpose", self)

    def _no_compare(self, other):
        raise TypeError(
            "comparing graph vertices is not differentiable: write bpkit.maximum(a, b) instead "
            "of max(a, b), bpkit.relu(a) instead of max(a, 0), or compare a.value")

    __lt__ = __le__ = __gt__ = __ge__ = _no_compare


def var(value, name=None):
    """A leaf of the graph: an input or a parameter whose gradient you want."""
    return Var(value, name)


def constant(value):
    """A leaf that needs no gradient (numbers typed into an expression become these)."""
    return Var(value, requires_grad=False)


def _describe(parents):
    return ", ".join(f"{p.label()} (shape {p.shape})" for p in parents)


def apply(op_name, *args, name=None, **attrs):
    """Add one vertex that applies ``OPS[op_name]`` to ``args`` (vertices, numbers or arrays)."""
    op = OPS[op_name]
    if op.arity is not None and len(args) != op.arity:
        raise TypeError(f"{op_name} takes {op.arity} argument(s), got {len(args)}")
    parents, values, requires_grad = [], [], False
    for a in args:
        if not isinstance(a, Var):
            a = Var(a, requires_grad=False)  # a number or array typed into the expression
        parents.append(a)
        values.append(a.value)
        requires_grad = requires_grad or a.requires_grad
    node = Var.__new__(Var)
    node.grad = None
    node.name = name
    node.op = op_name
    node.parents = tuple(parents)
    node.attrs = attrs = attrs or None
    node.requires_grad = requires_grad
    # its value, f^i of its parents' values (a shape error, or the first NaN/inf, names it)
    f = op.forward
    try:
        value = f(*values) if attrs is None else f(*values, **attrs)
    except ZeroDivisionError:  # Python floats; NumPy floats give inf or nan instead
        value = call(f, values, attrs)
    except (ValueError, IndexError, TypeError) as e:
        raise ShapeError(f"{op_name} of {_describe(node.parents)}: {e}") from None
    if type(value) is float:
        finite = math.isfinite(value)  # one number: no need to look further
    else:
        value = tidy(value)
        finite = is_finite(value)
    node.value = value
    if not finite and all(is_finite(v) for v in values):
        _warn_non_finite(node)
    return node


def _warn_non_finite(node):
    inputs = "; ".join(f"{p.label()} = {format_value(p.value)}" for p in node.parents)
    # stacklevel 4: past this function, apply and the operator (or bpkit function) that called it
    warnings.warn(f"{node.label()} ({node.op} of {inputs}) is {format_value(node.value)}: "
                  f"the first non-finite value in this graph", NonFiniteWarning, stacklevel=4)


def _unary(op_name, doc_name):
    def f(a, name=None):
        return apply(op_name, a, name=name)
    f.__name__ = doc_name
    f.__doc__ = OPS[op_name].doc
    return f


exp = _unary("exp", "exp")
log = _unary("log", "log")
sqrt = _unary("sqrt", "sqrt")
sin = _unary("sin", "sin")
cos = _unary("cos", "cos")
tanh = _unary("tanh", "tanh")
sigmoid = _unary("sigmoid", "sigmoid")
relu = _unary("relu", "relu")
log_softmax = _unary("log_softmax", "log_softmax")
transpose = _unary("transpose", "transpose")


def maximum(a, b, name=None):
    return apply("maximum", a, b, name=name)


def sum(a, axis=None, name=None):  # noqa: A001  (bpkit.sum, like np.sum)
    return apply("sum", a, name=name, axis=axis)


def prod(*xs, name=None):
    """One vertex computing x1 * x2 * ... * xn (y(5) = y(1) y(2) y(3) in Aggarwal's chapter 11)."""
    return apply("prod", *xs, name=name)


def wsum(xs, weights, name=None):
    """One vertex computing w1 x1 + ... + wn xn, the weights sitting on the edges."""
    if len(xs) != len(weights):
        raise TypeError(f"wsum got {len(xs)} inputs but {len(weights)} weights")
    return apply("wsum", *xs, name=name, weights=tuple(float(w) for w in weights))


maximum.__doc__ = OPS["maximum"].doc
sum.__doc__ = OPS["sum"].doc
log_softmax.__doc__ = OPS["log_softmax"].doc


class Graph:
    """The graph of one output: its vertices in topological order, leaves, and edges.

    ``edges`` lists ``(parent, child, k)`` for the k-th argument of ``child``; a vertex used
    twice by the same op gives two edges. ``graph["y(4)"]`` finds a vertex by name.
    """

    def __init__(self, output):
        if not isinstance(output, Var):
            raise TypeError(f"Graph needs a bpkit vertex as output, got {type(output).__name__}")
        self.output = output
        self.nodes = topological_order(output)
        self.edges = [(p, n, k) for n in self.nodes for k, p in enumerate(n.parents)]
        self.children = {id(n): [] for n in self.nodes}
        for p, n, k in self.edges:
            self.children[id(p)].append((n, k))

    @property
    def leaves(self):
        return [n for n in self.nodes if n.op is None]

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __contains__(self, node):
        return id(node) in self.children

    def __getitem__(self, name):
        found = [n for n in self.nodes if n.name == name]
        if len(found) == 1:
            return found[0]
        names = [n.name for n in self.nodes if n.name is not None]
        if not found:
            raise KeyError(f"no vertex named {name!r}; named vertices: {', '.join(map(str, names))}")
        raise KeyError(f"{len(found)} vertices are named {name!r}; give them different names")

    def __repr__(self):
        return (f"Graph({len(self.nodes)} vertices, {len(self.edges)} edges, "
                f"{len(self.leaves)} leaves, output {self.output.label()!r})")

    def forward(self):
        """Recompute every value from the leaves, in topological order (after changing a leaf)."""
        for node in self.nodes:
            if node.op is None:
                node.value = as_value(node.value)
            else:  # computed as when the vertex was made
                node.value = apply(node.op, *node.parents, name=node.name, **(node.attrs or {})).value
        return self.output.value

    def backward(self, seed=None):
        self.output.backward(seed)
        return self

    @classmethod
    def define(cls, leaves, nodes, output=None):
        """Build a graph vertex by vertex, the way Collins defines one.

        ``leaves``: {name: value}. ``nodes``: {name: (op, [parent names])} or
        {name: (op, [parent names], {attrs})}, in any order; ops are names from
        :data:`bpkit.ops.OPS`. ``output`` defaults to the one vertex nothing depends on.
        """
        built = {name: var(value, name) for name, value in leaves.items()}
        spec = {}
        for name, entry in nodes.items():
            if name in built:
                raise GraphError(f"{name!r} is both a leaf and a computed vertex")
            op, parents, *rest = entry
            if op not in OPS:
                raise GraphError(f"vertex {name!r}: unknown op {op!r}; known: {', '.join(OPS)}")
            for p in parents:
                if p not in leaves and p not in nodes:
                    raise GraphError(f"vertex {name!r}: unknown parent {p!r}")
            spec[name] = (op, list(parents), rest[0] if rest else {})
        waiting = {name: {p for p in parents if p in spec} for name, (_, parents, _) in spec.items()}
        while waiting:
            ready = [name for name, deps in waiting.items() if not deps]
            if not ready:
                raise GraphError(f"the graph has a cycle: {' -> '.join(_find_cycle(waiting))}")
            for name in ready:
                op, parents, attrs = spec[name]
                try:
                    built[name] = apply(op, *[built[p] for p in parents], name=name, **attrs)
                except (TypeError, ShapeError) as e:  # say which vertex of the definition
                    raise type(e)(f"vertex {name!r}: {e}") from None
                del waiting[name]
            for deps in waiting.values():
                deps.difference_update(ready)
        used = {p for _, parents, _ in spec.values() for p in parents}
        if output is None:
            sinks = [name for name in spec if name not in used]
            if len(sinks) != 1:
                raise GraphError(f"name the output: the vertices nothing depends on are {sinks}")
            output = sinks[0]
        return cls(built[output])


def as_graph(x):
    """``x`` itself if it is a :class:`Graph`, else the graph of the vertex ``x``."""
    return x if isinstance(x, Graph) else Graph(x)


def _find_cycle(waiting):
    """Follow unmet dependencies until a vertex repeats: that loop is a cycle."""
    node, path = next(iter(waiting)), []
    while node not in path:
        path.append(node)
        node = sorted(waiting[node])[0]
    return path[path.index(node):] + [node]
