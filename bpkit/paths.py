"""Derivatives as sums over paths, and the dynamic programs that avoid the sum.

Pathwise aggregation (Collins' theorem; lemma 11.3.1 of Aggarwal's chapter 11):

    d y(t) / d y(s)  =  sum over paths P from s to t of  prod over edges (i, j) in P of  z(i, j)

where z(i, j) is the local derivative of the edge (a Jacobian J^{i->j} for vector vertices,
multiplied in path order: the last edge on the left). Summing over paths costs time
proportional to the number of paths, which grows exponentially with depth; the dynamic
programs below visit every edge once.

An *edge* is ``(parent, child, k)``: ``parent`` is the k-th argument of ``child``.
"""
from __future__ import annotations

import numpy as np

from .backprop import edge_jacobian  # z(i, j); also bpkit.paths.edge_jacobian
from .graph import GraphError, Var, as_graph
from .values import size


def _size(node):
    return size(node.value)


def _times(a, b):
    """a · b for local derivatives: floats multiply, Jacobians compose (a after b)."""
    if type(a) is float and type(b) is float:
        return a * b
    return np.atleast_2d(a) @ np.atleast_2d(b)


def _scalar_if_scalars(z, of, wrt):
    """d of / d wrt as a float when both vertices are scalars (a path through vector vertices
    multiplies matrices and ends with a 1 x 1 one)."""
    if type(of.value) is float and type(wrt.value) is float and type(z) is not float:
        return float(np.reshape(z, ()))
    return z


def _identity(node):
    return 1.0 if type(node.value) is float else np.eye(_size(node))


def paths(graph, source, target):
    """Every path from ``source`` to ``target``, lazily, as tuples of edges.

    Depth-first, in argument order, so the order is the same every time. Only edges that can
    still reach ``target`` are followed, so each path is found without dead ends.
    """
    g = as_graph(graph)
    _check_in(g, source, target)
    reaches = _ancestors(g, target)
    if id(source) not in reaches:
        return
    stack = [(source, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            yield path
            continue
        for child, k in reversed(g.children[id(node)]):
            if id(child) in reaches:
                stack.append((child, path + ((node, child, k),)))


def path_product(path):
    """The product of the local derivatives along one path (last edge on the left)."""
    product = None
    for edge in path:
        z = edge_jacobian(edge)
        product = z if product is None else _times(z, product)
    return product if product is None else _scalar_if_scalars(product, path[-1][1], path[0][0])


def path_sum(graph, source, target):
    """d target / d source as a sum over all paths: exponential time, on purpose."""
    g = as_graph(graph)
    total = None
    for path in paths(g, source, target):
        p = path_product(path) if path else _identity(source)  # the empty path from a vertex to itself
        total = p if total is None else total + p
    if total is None:
        return _zero(source, target)
    return total


def dp_backward(graph, target=None):
    """S(i, t) = d y(t) / d y(i) for every vertex i, by dynamic programming backwards from t.

    S(t, t) = 1 and S(i, t) = sum over edges (i, j) of S(j, t) z(i, j), visiting vertices in
    reverse topological order: every edge is used once. Returns {vertex: S} keyed by the
    vertex objects' ids via :class:`PerVertex`.
    """
    g = as_graph(graph)
    target = g.output if target is None else target
    _check_in(g, target, target)
    S = PerVertex()
    S[target] = _identity(target)
    for node in reversed(g.nodes):
        if node not in S:
            continue
        for k, parent in enumerate(node.parents):
            term = _scalar_if_scalars(_times(S[node], edge_jacobian((parent, node, k))), target, parent)
            S[parent] = term if parent not in S else S[parent] + term
    return S


def dp_forward(graph, source, on_step=None):
    """T(j) = d y(j) / d y(s) for every vertex j, by dynamic programming forwards from s
    (forward-mode differentiation, chapter exercise 14).

    T(s) = 1 and T(j) = sum over edges (i, j) of z(i, j) T(i), visiting vertices in
    topological order. ``on_step(vertex, terms, T)``, if given, is called each time a vertex's
    T is complete, with ``terms`` the list of ``(parent, k, z(parent, vertex) T(parent))``.
    """
    g = as_graph(graph)
    _check_in(g, source, source)
    T = PerVertex()
    T[source] = _identity(source)
    for node in g.nodes:
        terms = []
        for k, parent in enumerate(node.parents):
            if parent in T:
                term = _scalar_if_scalars(_times(edge_jacobian((parent, node, k)), T[parent]), node, source)
                T[node] = term if node not in T else T[node] + term
                terms.append((parent, k, term))
        if terms and on_step is not None:
            on_step(node, terms, T)
    return T


def count_paths(graph, source, target):
    """The number of paths from ``source`` to ``target``, without listing them
    (the same dynamic program with every local derivative replaced by 1)."""
    g = as_graph(graph)
    _check_in(g, source, target)
    count = {id(source): 1}
    for node in g.nodes:
        for parent in node.parents:
            count[id(node)] = count.get(id(node), 0) + count.get(id(parent), 0)
    return count.get(id(target), 0)


def all_pairs(graph):
    """S(i, j) = d y(j) / d y(i) for every pair of scalar vertices (chapter exercise 15).

    Returns ``(nodes, S)`` with ``S[a, b]`` the derivative of ``nodes[b]`` with respect to
    ``nodes[a]`` (0 where no path exists; 1 on the diagonal). One forward dynamic program per
    vertex: O(n m) time in all.
    """
    g = as_graph(graph)
    if any(type(n.value) is not float for n in g.nodes):
        raise GraphError("all_pairs works on scalar graphs; use dp_forward for vector vertices")
    n = len(g.nodes)
    S = np.zeros((n, n))
    for a, source in enumerate(g.nodes):
        T = dp_forward(g, source)
        for b, node in enumerate(g.nodes):
            if node in T:
                S[a, b] = T[node]
    return g.nodes, S


class PerVertex(dict):
    """A dict keyed by vertices (by identity), so results read ``S[x]``."""

    def __setitem__(self, node, value):
        super().__setitem__(id(node), (node, value))

    def __getitem__(self, node):
        return super().__getitem__(id(node))[1]

    def __contains__(self, node):
        return super().__contains__(id(node))

    def items(self):
        return [(n, v) for n, v in super().values()]

    def by_name(self):
        """{name: value} for the named vertices."""
        return {n.name: v for n, v in super().values() if n.name is not None}


def _zero(source, target):
    if type(source.value) is float and type(target.value) is float:
        return 0.0
    return np.zeros((_size(target), _size(source)))


def _ancestors(g, target):
    """Ids of the vertices from which ``target`` can be reached (``target`` included)."""
    found = {id(target)}
    for node in reversed(g.nodes):
        if id(node) in found:
            found.update(id(p) for p in node.parents)
    return found


def _check_in(g, *nodes):
    for node in nodes:
        if not isinstance(node, Var):
            raise TypeError(f"expected a bpkit vertex, got {type(node).__name__}")
        if node not in g:
            raise GraphError(f"{node.label()!r} is not a vertex of this graph ({g!r})")


def edge_list(graph):
    """A graph as plain data: ``(edges, names)``.

    ``edges`` lists ``(i, j, z)``: an edge from vertex i to vertex j with local derivative z,
    where i and j are positions in ``graph.nodes`` (a topological order, so i < j) and a vertex
    used twice by one op gives two edges; ``names[i]`` is the label of vertex i.
    """
    g = as_graph(graph)
    index = {id(n): i for i, n in enumerate(g.nodes)}
    edges = [(index[id(p)], index[id(c)], edge_jacobian((p, c, k))) for p, c, k in g.edges]
    return edges, [n.label() for n in g.nodes]
