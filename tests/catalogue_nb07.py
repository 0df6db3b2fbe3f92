"""Mistakes of 07-forward-and-reverse-mode, as student code (see tests/catalogue.py)."""
from __future__ import annotations

import numpy as np

from catalogue import right, wrong


def _sorted_by_tail(edges):
    return sorted(edges, key=lambda e: e[0])


# ----- forward_derivatives ----------------------------------------------------------------------
@wrong("forward_derivatives", "terms of all incoming edges add up")
def fd_overwrite(edges, n, source):
    T = [0.0] * n
    T[source] = 1.0
    for i, j, z in _sorted_by_tail(edges):
        T[j] = z * T[i]
    return T


@wrong("forward_derivatives", "terms of all incoming edges add up")
def fd_overwrite_vertex_by_vertex(edges, n, source):
    # the notebook's own loop with = where += was due
    incoming = [[] for _ in range(n)]
    for i, j, z in edges:
        incoming[j].append((i, z))
    T = [0.0] * n
    T[source] = 1.0
    for j in range(source + 1, n):
        for i, z in incoming[j]:
            T[j] = z * T[i]
    return T


@wrong("forward_derivatives", "order of the list")
def fd_list_order(edges, n, source):
    T = [0.0] * n
    T[source] = 1.0
    for i, j, z in edges:
        T[j] += z * T[i]
    return T


@wrong("forward_derivatives", "went through the edges backward")
def fd_backward_order(edges, n, source):
    T = [0.0] * n
    T[source] = 1.0
    for i, j, z in sorted(edges, key=lambda e: e[0], reverse=True):
        T[j] += z * T[i]
    return T


@wrong("forward_derivatives", "forgot T(source) = 1")
def fd_no_seed(edges, n, source):
    T = [0.0] * n
    for i, j, z in _sorted_by_tail(edges):
        T[j] += z * T[i]
    return T


@wrong("forward_derivatives", "chain rule multiplies them")
def fd_added(edges, n, source):
    T = [0.0] * n
    T[source] = 1.0
    for i, j, z in _sorted_by_tail(edges):
        T[j] += z + T[i]
    return T


@wrong("forward_derivatives", "only one of two edges")
def fd_single_edges(edges, n, source):
    z_of = {}
    for i, j, z in edges:
        z_of[(i, j)] = z                       # a dict keeps the last edge of a pair
    T = [0.0] * n
    T[source] = 1.0
    for (i, j), z in sorted(z_of.items()):
        T[j] += z * T[i]
    return T


@wrong("forward_derivatives", "started every input vertex")
def fd_all_inputs(edges, n, source):
    has_parent = {j for _, j, _ in edges}
    T = [0.0 if v in has_parent else 1.0 for v in range(n)]
    T[source] = 1.0
    for i, j, z in _sorted_by_tail(edges):
        T[j] += z * T[i]
    return T


@wrong("forward_derivatives", "worked example")
def fd_hard_coded(edges, n, source):
    return [1.0, 2.2, 2.2, 5.324, 5.324, 15.5897368, 15.5897368, 66.8359707, 66.8359707, 614.21896]


def _every_path_product(edges, i, j):
    """The sum over the paths from i to j of their edge products, every path walked."""
    if i == j:
        return 1.0
    return sum(z * _every_path_product(edges, b, j) for a, b, z in edges if a == i)


@wrong("forward_derivatives", "sum over the paths")
def fd_by_every_path(edges, n, source):
    return [_every_path_product(edges, source, j) for j in range(n)]


@right("forward_derivatives")
def fd_right(edges, n, source):
    T = {source: 1.0}
    for j in range(n):                         # vertices in topological order, edges into each
        for i, jj, z in edges:
            if jj == j and i in T:
                T[j] = T.get(j, 0.0) + z * T[i]
    return [T.get(j, 0.0) for j in range(n)]


# ----- all_pairs_derivatives -------------------------------------------------------------------
def _edge_matrix(edges, n):
    A = np.zeros((n, n))
    for i, j, z in edges:
        A[i, j] += z
    return A


@wrong("all_pairs_derivatives", "transposed")
def ap_transposed(edges, n):
    S = np.zeros((n, n))
    for i in range(n):
        T = [0.0] * n
        T[i] = 1.0
        for a, b, z in sorted(edges):
            T[b] += z * T[a]
        S[:, i] = T
    return S


@wrong("all_pairs_derivatives", "diagonal")
def ap_no_diagonal(edges, n):
    A = _edge_matrix(edges, n)
    S, power = np.zeros((n, n)), np.eye(n)
    for _ in range(1, n):
        power = power @ A
        S += power
    return S


@wrong("all_pairs_derivatives", "direct edges only")
def ap_direct_edges(edges, n):
    return np.eye(n) + _edge_matrix(edges, n)


@wrong("all_pairs_derivatives", "terms of all incoming edges add up")
def ap_overwrite(edges, n):
    S = np.zeros((n, n))
    for i in range(n):
        S[i, i] = 1.0
        for a, b, z in sorted(edges, key=lambda e: e[0]):
            S[i, b] = z * S[i, a]
    return S


@wrong("all_pairs_derivatives", "order of the list")
def ap_list_order(edges, n):
    S = np.eye(n)
    for i in range(n):
        for a, b, z in edges:
            S[i, b] += z * S[i, a]
    return S


@wrong("all_pairs_derivatives", "only one of two edges")
def ap_single_edges(edges, n):
    A = np.zeros((n, n))
    for i, j, z in edges:
        A[i, j] = z
    return np.linalg.inv(np.eye(n) - A)


@wrong("all_pairs_derivatives", "sum over the paths")
def ap_by_every_path(edges, n):
    return np.array([[_every_path_product(edges, i, j) for j in range(n)] for i in range(n)])


@right("all_pairs_derivatives")
def ap_right(edges, n):
    A = _edge_matrix(edges, n)
    S, power = np.eye(n), np.eye(n)
    for _ in range(n):
        power = power @ A
        S = S + power
    return S


# ----- jvp and vjp -----------------------------------------------------------------------------
@wrong("jvp", "used the tanh's output h where its derivative")
def jvp_h(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    return W2 @ (h * (W1 @ v))


@wrong("jvp", "derivative at the input of the tanh")
def jvp_pre(W1, W2, x, v):
    a = W1 @ x
    return W2 @ ((1 - a ** 2) * (W1 @ v))


@wrong("jvp", "forgot the tanh's local derivative")
def jvp_linear(W1, W2, x, v):
    return W2 @ (W1 @ v)


@wrong("jvp", "sigmoid's rule")
def jvp_sigmoid_rule(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    return W2 @ (h * (1 - h) * (W1 @ v))


@wrong("jvp", "flipped the sign")
def jvp_sign(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    return W2 @ ((h * h - 1) * (W1 @ v))


@wrong("jvp", "instead of the direction v")
def jvp_x(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    return W2 @ ((1 - h ** 2) * (W1 @ x))


@wrong("jvp", "worked example")
def jvp_hard_coded(W1, W2, x, v):
    return np.array([0.3396127, 0.2676024, -0.40481, 0.9400148])


@wrong("jvp", "seems to build the Jacobian J")
def jvp_builds_j(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    J = W2 @ np.diag(1 - h * h) @ W1            # the right numbers, the m x n matrix the text rules out
    return J @ v


@right("jvp")
def jvp_right(W1, W2, x, v):
    h = np.tanh(W1 @ x)
    return W2 @ (np.diag(1 - h * h) @ (W1 @ v))   # right to left: vectors all the way


@wrong("vjp", "used the tanh's output h where its derivative")
def vjp_h(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return W1.T @ (h * (W2.T @ u))


@wrong("vjp", "derivative at the input of the tanh")
def vjp_pre(W1, W2, x, u):
    a = W1 @ x
    return W1.T @ ((1 - a ** 2) * (W2.T @ u))


@wrong("vjp", "forgot the tanh's local derivative")
def vjp_linear(W1, W2, x, u):
    return W1.T @ (W2.T @ u)


@wrong("vjp", "sigmoid's rule")
def vjp_sigmoid_rule(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return W1.T @ (h * (1 - h) * (W2.T @ u))


@wrong("vjp", "flipped the sign")
def vjp_sign(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return W1.T @ ((h ** 2 - 1) * (W2.T @ u))


@wrong("vjp", "stopped at the tanh's input")
def vjp_no_w1(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return (1 - h ** 2) * (W2.T @ u)


@wrong("vjp", "seems to build the Jacobian J")
def vjp_builds_j(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return (W2 @ np.diag(1 - h * h) @ W1).T @ u


@right("vjp")
def vjp_right(W1, W2, x, u):
    h = np.tanh(W1 @ x)
    return u @ W2 @ np.diag(1 - h * h) @ W1
