"""The mistake catalogue: wrong answers a student would write, one Python function each.

Every entry is written as student code (not as a formula on the reference), carries the name
of the exercise's function, and a phrase the feedback must contain to count as *naming* the
mistake. ``CORRECT`` holds right answers written differently from the references (other
orders of operations, loops, recursion): they must pass on every seed.

tests/test_catalogue.py runs the catalogue against the visible checks (visible-checks.json)
and the hidden checks / re-check comparison (bpkit_grade.exercises.check_exercise) and
measures: wrong answers passed, named, misleading, raw exceptions shown.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bpkit_grade.exercises import MODULES, for_assignment

ASSIGNMENT = {ex.function: a for a in MODULES for ex in for_assignment(a)}


@dataclass
class Entry:
    assignment: str
    function: str
    label: str
    phrase: str          # the feedback must contain this (case-insensitive) to name the mistake
    fn: Callable
    #: wrong only in one branch of a scalar exercise (x < 0, a closed gate, no path, ...): the
    #: fixed cases always try that branch, one random case only when it falls into it; "fixed":
    #: only a fixed case has it (source == target, no path at all)
    regime: object = False


CATALOGUE: list[Entry] = []
CORRECT: list[Entry] = []


def _register(store, function, phrase, regime=False):
    def deco(f):
        label = f.__name__
        f.__name__ = f.__qualname__ = function
        store.append(Entry(ASSIGNMENT[function], function, label, phrase, f, regime))
        return f
    return deco


def wrong(function, phrase, regime=False):
    return _register(CATALOGUE, function, phrase, regime)


def right(function):
    return _register(CORRECT, function, "")


def sigmoid(a):
    return 1 / (1 + math.exp(-a))


# =============================== 01-computational-graphs =======================================
@wrong("forward_max_square", "left out the max", regime=True)
def fms_no_max(x, y, z):
    p = 3 * x
    q = p
    r = q - y
    s = r ** 2
    return p, q, r, s, s + z


@wrong("forward_max_square", "r = y - q")
def fms_r_flipped(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = y - q
    s = r ** 2
    return p, q, r, s, s + z


@wrong("forward_max_square", "3 of p = 3x")
def fms_no_three(x, y, z):
    p = x
    q = max(p, 0)
    r = q - y
    s = r ** 2
    return p, q, r, s, s + z


@wrong("forward_max_square", "forgot the square")
def fms_no_square(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    s = r
    return p, q, r, s, s + z


@wrong("forward_max_square", "t = s + z")
def fms_minus_z(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    s = r * r
    return p, q, r, s, s - z


@wrong("forward_max_square", "max of x", regime=True)
def fms_max_of_x(x, y, z):
    p = 3 * x
    q = max(x, 0)
    r = q - y
    s = r ** 2
    return p, q, r, s, s + z


@wrong("forward_max_square", "worked example")
def fms_hard_coded(x, y, z):
    return 3.0, 3.0, 3.0, 9.0, 7.0


@wrong("forward_max_square", "expected 5 values")
def fms_only_t(x, y, z):
    return (max(3 * x, 0) - y) ** 2 + z


@right("forward_max_square")
def fms_right(x, y, z):
    p = x * 3.0
    q = p if p > 0 else 0.0
    r = -y + q
    return p, q, r, r * r, z + r * r


@wrong("square_plus_x_size", "u * u as one edge")
def size_one_edge(n):
    return 2 * n + 1, 3 * n


@wrong("square_plus_x_size", "forgot the leaf x")
def size_no_leaf(n):
    return 2 * n, 4 * n


@wrong("square_plus_x_size", "a new vertex for x")
def size_new_x(n):
    return 3 * n + 1, 4 * n


@wrong("square_plus_x_size", "one step too few")
def size_off_by_one(n):
    vertices, edges = 1, 0
    for _ in range(n - 1):
        vertices += 2
        edges += 4
    return vertices, edges


@wrong("square_plus_x_size", "vertices: the value is wrong")
def size_one_vertex_too_many(n):
    return 2 * n + 2, 4 * n    # at n = 1 what a new x per step gives, not at n = 2


@wrong("square_plus_x_size", "wrong order")
def size_swapped(n):
    return 4 * n, 2 * n + 1


@wrong("square_plus_x_size", "worked example")
def size_hard_coded(n):
    return 5, 8


@wrong("square_plus_x_size", "expected 2 values")
def size_vertices_only(n):
    return 2 * n + 1


@right("square_plus_x_size")
def size_right(n):
    vertices, edges = 1, 0
    for _ in range(n):
        vertices += 2      # u * u and (u * u) + x
        edges += 2 + 2
    return vertices, edges


@wrong("forward_collins", "parents are u2 and u3")
def collins_u5(u1, u2, u3):
    u4 = u1 * u2
    u5 = u1 + u3
    u6 = math.exp(u5)
    return u4, u5, u6, u4 * u6


@wrong("forward_collins", "multiplied u4 by u5")
def collins_u7_u5(u1, u2, u3):
    u4 = u1 * u2
    u5 = u2 + u3
    return u4, u5, math.exp(u5), u4 * u5


@wrong("forward_collins", "u4 = u1 * u2")
def collins_add_u4(u1, u2, u3):
    u4 = u1 + u2
    u5 = u2 + u3
    u6 = math.exp(u5)
    return u4, u5, u6, u4 * u6


@wrong("forward_collins", "u6 = exp(u5)")
def collins_u6_of_u4(u1, u2, u3):
    u4 = u1 * u2
    u5 = u2 + u3
    u6 = math.exp(u4)
    return u4, u5, u6, u4 * u6


@wrong("forward_collins", "u7 = u4 * u6")
def collins_u7_sum(u1, u2, u3):
    u4 = u1 * u2
    u5 = u2 + u3
    u6 = math.exp(u5)
    return u4, u5, u6, u4 + u6


@wrong("forward_collins", "wrong order")
def collins_order(u1, u2, u3):
    u4 = u1 * u2
    u5 = u2 + u3
    u6 = math.exp(u5)
    return u5, u4, u6, u4 * u6


@wrong("forward_collins", "worked example")
def collins_hard_coded(u1, u2, u3):
    return 2.0, 1.0, math.e, 2 * math.e


@right("forward_collins")
def collins_right(u1, u2, u3):
    values = {"u1": u1, "u2": u2, "u3": u3}
    values["u4"] = values["u1"] * values["u2"]
    values["u5"] = values["u3"] + values["u2"]
    values["u6"] = float(np.exp(values["u5"]))
    values["u7"] = values["u6"] * values["u4"]
    return tuple(values[f"u{i}"] for i in range(4, 8))


@wrong("local_derivatives_reciprocal", "global derivatives")
def recip_global(x, y):
    a = -x
    b = math.exp(a)
    c = y + b
    dd = 1.0
    dc = -1 / c ** 2 * dd
    db = dc
    dy = dc
    da = b * db
    dx = -da
    return dx, da, db, dy, dc


@wrong("local_derivatives_reciprocal", "-e^a for the derivative of b = e^a")
def recip_minus_exp(x, y):
    a = -x
    b = math.exp(a)
    c = y + b
    return -1.0, -b, 1.0, 1.0, -1 / c ** 2


@wrong("local_derivatives_reciprocal", "edge x -> a is -1")
def recip_plus_one(x, y):
    a = -x
    b = math.exp(a)
    c = y + b
    return 1.0, b, 1.0, 1.0, -1 / c ** 2


@wrong("local_derivatives_reciprocal", "-1/c^2")
def recip_no_minus(x, y):
    a = -x
    b = math.exp(a)
    c = y + b
    return -1.0, b, 1.0, 1.0, 1 / c ** 2


@wrong("local_derivatives_reciprocal", "-1/c^2")
def recip_one_over_c(x, y):
    a = -x
    b = math.exp(a)
    c = y + b
    return -1.0, b, 1.0, 1.0, -1 / c


@wrong("local_derivatives_reciprocal", "e^a at a = -x")
def recip_exp_of_x(x, y):
    b = math.exp(-x)
    c = y + b
    return -1.0, math.exp(x), 1.0, 1.0, -1 / c ** 2


@wrong("local_derivatives_reciprocal", "worked example")
def recip_hard_coded(x, y):
    return -1.0, 1.0, 1.0, 1.0, -0.25


@right("local_derivatives_reciprocal")
def recip_right(x, y):
    c = y + np.exp(-x)
    return (-1, float(np.exp(-x)), 1, 1, float(-(c ** -2)))


# ============================ 02-paths-vs-dynamic-programming ==================================
@wrong("two_path_products", "local derivative 2x")
def two_no_2x(x):
    s, c = math.cos(x * x), -math.sin(x * x)
    return s, c, s + c


@wrong("two_path_products", "+sin for the derivative of cos")
def two_plus_sin(x):
    s, c = 2 * x * math.cos(x * x), 2 * x * math.sin(x * x)
    return s, c, s + c


@wrong("two_path_products", "swapped the two paths")
def two_swapped(x):
    s, c = 2 * x * math.cos(x * x), -2 * x * math.sin(x * x)
    return c, s, s + c


@wrong("two_path_products", "paths add up")
def two_multiplied(x):
    s, c = 2 * x * math.cos(x * x), -2 * x * math.sin(x * x)
    return s, c, s * c


@wrong("two_path_products", "the 2 of x²")
def two_x_only(x):
    s, c = x * math.cos(x * x), -x * math.sin(x * x)
    return s, c, s + c


@wrong("two_path_products", "at x² (the value of the vertex x²)")
def two_at_x(x):
    s, c = 2 * x * math.cos(x), -2 * x * math.sin(x)
    return s, c, s + c


@wrong("two_path_products", "worked example")
def two_hard_coded(x):
    return 1.0806046117362795, -1.682941969615793, -0.6023373578795135


@right("two_path_products")
def two_right(x):
    u = x ** 2
    along_sin = np.cos(u) * 2 * x
    along_cos = -np.sin(u) * 2 * x
    return float(along_sin), float(along_cos), float(along_sin + along_cos)


def _out_edges(edges):
    out = {}
    for i, j, z in edges:
        out.setdefault(i, []).append((j, z))
    return out


@wrong("path_sum_derivative", "one of two edges joining the same two vertices")
def ps_dict_of_pairs(edges, source, target):
    z_of = {}
    for i, j, z in edges:
        z_of[(i, j)] = z       # a second edge between i and j overwrites the first
    total = 0.0
    stack = [(source, 1.0)]
    while stack:
        v, prod = stack.pop()
        if v == target:
            total += prod
            continue
        for (i, j), z in z_of.items():
            if i == v:
                stack.append((j, prod * z))
    return total


@wrong("path_sum_derivative", "added the local derivatives along a path")
def ps_added(edges, source, target):
    out = _out_edges(edges)
    total, stack = 0.0, [(source, 0.0)]
    while stack:
        v, acc = stack.pop()
        if v == target:
            total += acc
            continue
        for j, z in out.get(v, []):
            stack.append((j, acc + z))
    return total


@wrong("path_sum_derivative", "multiplied the paths")
def ps_product_of_paths(edges, source, target):
    out = _out_edges(edges)
    total, stack = 1.0, [(source, 1.0)]
    while stack:
        v, acc = stack.pop()
        if v == target:
            total *= acc
            continue
        for j, z in out.get(v, []):
            stack.append((j, acc * z))
    return total


@wrong("path_sum_derivative", "visited")
def ps_visited(edges, source, target):
    out = _out_edges(edges)
    total, stack, visited = 0.0, [(source, 1.0)], set()
    while stack:
        v, acc = stack.pop()
        if v in visited:
            continue
        visited.add(v)
        if v == target:
            total += acc
            continue
        for j, z in out.get(v, []):
            stack.append((j, acc * z))
    return total


@wrong("path_sum_derivative", "source == target", regime="fixed")
def ps_no_empty_path(edges, source, target):
    out = _out_edges(edges)
    total, stack = 0.0, [(j, z) for j, z in out.get(source, [])]
    while stack:
        v, acc = stack.pop()
        if v == target:
            total += acc
            continue
        for j, z in out.get(v, []):
            stack.append((j, acc * z))
    return total


@wrong("path_sum_derivative", "no path", regime="fixed")
def ps_none_without_paths(edges, source, target):
    out = _out_edges(edges)
    products, stack = [], [(source, 1.0)]
    while stack:
        v, acc = stack.pop()
        if v == target:
            products.append(acc)
            continue
        for j, z in out.get(v, []):
            stack.append((j, acc * z))
    if not products:
        return None
    return sum(products)


@wrong("path_sum_derivative", "worked example")
def ps_hard_coded(edges, source, target):
    return 32 * 1.1 ** 31


@right("path_sum_derivative")
def ps_right(edges, source, target):
    out = _out_edges(edges)

    def total(v):                      # recursion is fine on these small graphs
        if v == target:
            return 1.0
        return sum(z * total(j) for j, z in out.get(v, []))
    return total(source)


@wrong("dp_derivative", "S(i) += S(j) z(i, j)")
def dp_overwrite(edges, source, target):
    S = {target: 1.0}
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] = S.get(j, 0.0) * z
    return S.get(source, 0.0)


@wrong("dp_derivative", "S(i) += S(j) z(i, j)")
def dp_overwrite_vertex_by_vertex(edges, source, target):
    # the notebook's own loop with = where += was due (its "Careful" note)
    outgoing = {}
    for i, j, z in edges:
        outgoing.setdefault(i, []).append((j, z))
    S = {target: 1.0}
    for i in range(target - 1, source - 1, -1):
        S[i] = 0.0
        for j, z in outgoing.get(i, []):
            S[i] = z * S.get(j, 0.0)
    return S.get(source, 0.0)


@wrong("dp_derivative", "order of the list")
def dp_list_order(edges, source, target):
    S = {target: 1.0}
    for i, j, z in edges:
        S[i] = S.get(i, 0.0) + S.get(j, 0.0) * z
    return S.get(source, 0.0)


@wrong("dp_derivative", "increasing order")
def dp_forward_order(edges, source, target):
    S = {target: 1.0}
    for i, j, z in sorted(edges, key=lambda e: e[1]):
        S[i] = S.get(i, 0.0) + S.get(j, 0.0) * z
    return S.get(source, 0.0)


@wrong("dp_derivative", "one of two edges joining the same two vertices")
def dp_single_edges(edges, source, target):
    z_of = {(i, j): z for i, j, z in edges}
    S = {target: 1.0}
    for (i, j), z in sorted(z_of.items(), key=lambda kv: -kv[0][1]):
        S[i] = S.get(i, 0.0) + S.get(j, 0.0) * z
    return S.get(source, 0.0)


@wrong("dp_derivative", "S(target) = 1")
def dp_no_start(edges, source, target):
    n = 1 + max(max(i, j) for i, j, _ in edges)
    S = [0.0] * max(n, source + 1, target + 1)
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] += S[j] * z
    return S[source]


@wrong("dp_derivative", "has no entry")
def dp_key_error(edges, source, target):
    S = {target: 1.0}
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        S[i] = S.get(i, 0.0) + S[j] * z
    return S[source]


@wrong("dp_derivative", "chain rule multiplies them")
def dp_added(edges, source, target):
    S = {target: 0.0}
    for i, j, z in sorted(edges, key=lambda e: -e[1]):
        if j in S:
            S[i] = S.get(i, 0.0) + S[j] + z
    return S.get(source, 0.0)


@wrong("dp_derivative", "worked example")
def dp_hard_coded(edges, source, target):
    return 32 * 1.1 ** 31


@wrong("dp_derivative", "sum over the paths")
def dp_by_every_path(edges, source, target):
    # the right number by the wrong method: every path walked (exercise 2 again)
    out = _out_edges(edges)

    def total(v):
        if v == target:
            return 1.0
        return sum(z * total(j) for j, z in out.get(v, []))
    return total(source)


@right("dp_derivative")
def dp_right_memoized_recursion(edges, source, target):
    # the same recursion with each S(v) computed once: dynamic programming
    import functools
    out = _out_edges(edges)

    @functools.lru_cache(maxsize=None)
    def S(v):
        if v == target:
            return 1.0
        return sum(z * S(j) for j, z in out.get(v, []))
    return S(source)


@right("dp_derivative")
def dp_right_forward_mode(edges, source, target):
    # forward mode: F(j) = sum_i F(i) z(i, j), in increasing vertex order, from F(source) = 1
    F = {source: 1.0}
    for i, j, z in sorted(edges, key=lambda e: e[0]):
        F[j] = F.get(j, 0.0) + F.get(i, 0.0) * z
    return F.get(target, 0.0)


@wrong("uniform_edges_derivative", "layers + 1 edges")
def uniform_one_edge_short(z, layers):
    return 2 ** layers, 2 ** layers * z ** layers


@wrong("uniform_edges_derivative", "2^(layers+1) paths")
def uniform_too_many(z, layers):
    return 2 ** (layers + 1), 2 ** (layers + 1) * z ** (layers + 1)


@wrong("uniform_edges_derivative", "choices multiply")
def uniform_added_choices(z, layers):
    n = 2 * layers
    return n, n * z ** (layers + 1)


@wrong("uniform_edges_derivative", "along a path they multiply")
def uniform_added_along(z, layers):
    n = 2 ** layers
    return n, n * (layers + 1) * z


@wrong("uniform_edges_derivative", "one path")
def uniform_one_path(z, layers):
    return 2 ** layers, z ** (layers + 1)


@wrong("uniform_edges_derivative", "wrong order")
def uniform_swapped(z, layers):
    n = 2 ** layers
    return n * z ** (layers + 1), n


@wrong("uniform_edges_derivative", "worked example")
def uniform_hard_coded(z, layers):
    return 16, 16 * 0.3 ** 5


@right("uniform_edges_derivative")
def uniform_right(z, layers):
    up = low = z                     # d h(1, .) / dx
    for _ in range(layers - 1):
        up, low = z * (up + low), z * (up + low)
    count = 1
    for _ in range(layers):
        count *= 2
    return count, z * (up + low)


def _layered(x, layers, *, dsin=math.cos, dcos=lambda s: -math.sin(s), swap_out=False,
             at_x=False, short=0):
    """Forward then backward of the layered sin/cos graph with a student's slip built in."""
    inputs = [x]
    up, low = math.sin(x), math.cos(x)
    for _ in range(2, layers + 1 - short):
        s = up + low
        inputs.append(s)
        up, low = math.sin(s), math.cos(s)
    dup, dlow = (up, low) if swap_out else (low, up)
    for s in reversed(inputs[1:]):
        at = x if at_x else s
        ds = dup * dsin(at) + dlow * dcos(at)
        dup, dlow = ds, ds
    at = x
    return dup * dsin(at) + dlow * dcos(at)


@wrong("layered_sin_cos_derivative", "+sin for the derivative of cos")
def layered_plus_sin(x, layers):
    d = _layered(x, layers, dcos=math.sin)
    return d, d


@wrong("layered_sin_cos_derivative", "o = up * low")
def layered_out_not_swapped(x, layers):
    d = _layered(x, layers, swap_out=True)
    return d, d


@wrong("layered_sin_cos_derivative", "at the layer's input s")
def layered_at_x(x, layers):
    d = _layered(x, layers, at_x=True)
    return d, d


@wrong("layered_sin_cos_derivative", "one layer too few")
def layered_short(x, layers):
    d = _layered(x, layers, short=1)
    return d, d


@wrong("layered_sin_cos_derivative", "-cos for the derivative of sin")
def layered_minus_cos(x, layers):
    d = _layered(x, layers, dsin=lambda s: -math.cos(s))
    return d, d


@wrong("layered_sin_cos_derivative", "dynamic programming")
def layered_dp_overwrites(x, layers):
    right = _layered(x, layers)
    inputs = [x]
    up, low = math.sin(x), math.cos(x)
    for _ in range(2, layers + 1):
        s = up + low
        inputs.append(s)
        up, low = math.sin(s), math.cos(s)
    dup, dlow = low, up
    for s in reversed(inputs[1:]):
        ds = dup * math.cos(s)
        ds = dlow * -math.sin(s)       # = where += was needed
        dup, dlow = ds, ds
    return right, dup * math.cos(x) + dlow * -math.sin(x)


@wrong("layered_sin_cos_derivative", "worked example")
def layered_hard_coded(x, layers):
    d = _layered(1.0, 4)
    return d, d


@right("layered_sin_cos_derivative")
def layered_right(x, layers):
    d = _layered(x, layers)
    # the path sum, enumerating every path as the sequence of up/low choices
    import itertools
    values = [(math.sin(x), math.cos(x))]
    inputs = [x]
    for _ in range(2, layers + 1):
        s = sum(values[-1])
        inputs.append(s)
        values.append((math.sin(s), math.cos(s)))
    total = 0.0
    for choice in itertools.product((0, 1), repeat=layers):
        prod = 1.0
        for k, c in enumerate(choice):
            prod *= math.cos(inputs[k]) if c == 0 else -math.sin(inputs[k])
        last = choice[-1]
        prod *= values[-1][1 - last]
        total += prod
    return total, d


# ================================= 03-backpropagation ==========================================
@wrong("backward_max_square", "through the max gate", regime=True)
def bms_through_gate(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    dr = 2 * r
    return 3 * dr, -dr, 1.0


@wrong("backward_max_square", "the 2 of the square")
def bms_no_two(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    dr = r
    dp = dr if p > 0 else 0.0
    return 3 * dp, -dr, 1.0


@wrong("backward_max_square", "factor 3 of p = 3x", regime=True)
def bms_no_three(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    dr = 2 * r
    dp = dr if p > 0 else 0.0
    return dp, -dr, 1.0


@wrong("backward_max_square", "dy = -dr")
def bms_dy_sign(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    dr = 2 * r
    dp = dr if p > 0 else 0.0
    return 3 * dp, dr, 1.0


@wrong("backward_max_square", "dz = dt = 1")
def bms_dz_value(x, y, z):
    p = 3 * x
    q = max(p, 0)
    r = q - y
    dr = 2 * r
    dp = dr if p > 0 else 0.0
    return 3 * dp, -dr, z


@wrong("backward_max_square", "2r with r = q - y")
def bms_two_q(x, y, z):
    p = 3 * x
    q = max(p, 0)
    dr = 2 * q
    dp = dr if p > 0 else 0.0
    return 3 * dp, -dr, 1.0


@wrong("backward_max_square", "worked example")
def bms_hard_coded(x, y, z):
    return 18.0, -6.0, 1.0


@right("backward_max_square")
def bms_right(x, y, z):
    r = max(3 * x, 0) - y
    gate = 1.0 if 3 * x > 0 else 0.0
    return 6 * r * gate, -2 * r, 1


@wrong("backward_neuron", "sigmoid's input")
def neuron_input(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    ddot = (1 - dot) * dot
    return np.array([x[0] * ddot, x[1] * ddot, ddot]), np.array([w[0] * ddot, w[1] * ddot])


@wrong("backward_neuron", "f (1 - f)")
def neuron_ddot_f(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = f
    return np.array([x[0] * ddot, x[1] * ddot, ddot]), np.array([w[0] * ddot, w[1] * ddot])


@wrong("backward_neuron", "bias")
def neuron_no_bias(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1 - f) * f
    return np.array([x[0] * ddot, x[1] * ddot]), np.array([w[0] * ddot, w[1] * ddot])


@wrong("backward_neuron", "dw = x")
def neuron_swapped_w_x(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1 - f) * f
    return np.array([w[0] * ddot, w[1] * ddot, ddot]), np.array([x[0] * ddot, x[1] * ddot])


@wrong("backward_neuron", "list")
def neuron_lists(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1 - f) * f
    dw = (x + [1.0]) * ddot
    dx = w[:2] * ddot
    return dw, dx


@wrong("backward_neuron", "sign")
def neuron_sign(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (f - 1) * f
    return np.array([x[0] * ddot, x[1] * ddot, ddot]), np.array([w[0] * ddot, w[1] * ddot])


@wrong("backward_neuron", "wrong order")
def neuron_order(w, x):
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1 - f) * f
    return np.array([w[0] * ddot, w[1] * ddot]), np.array([x[0] * ddot, x[1] * ddot, ddot])


@right("backward_neuron")
def neuron_right(w, x):
    w, x = np.asarray(w, dtype=float), np.append(np.asarray(x, dtype=float), 1.0)
    f = 1 / (1 + np.exp(-(w @ x)))
    return x * f * (1 - f), w[:2] * f * (1 - f)


@wrong("backward_staged", "x is used twice")
def staged_dx_overwritten(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - c * c) * dc
    da, dx = db, db
    dx = y * da                 # = where += was needed
    dy += x * da
    return dx, dy


@wrong("backward_staged", "x is used twice")
def staged_dx_first_only(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - c * c) * dc
    da, dx = db, db
    dy += x * da
    return dx, dy


@wrong("backward_staged", "y is used twice")
def staged_dy_overwritten(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - c * c) * dc
    da, dx = db, db
    dx += y * da
    dy = x * da                 # = where += was needed
    return dx, dy


@wrong("backward_staged", "y is used twice")
def staged_dy_first_only(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - c * c) * dc
    da, dx = db, db
    dx += y * da
    return dx, dy


@wrong("backward_staged", "tanh's input")
def staged_tanh_input(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - b * b) * dc
    da, dx = db, db
    dx += y * da
    dy += x * da
    return dx, dy


@wrong("backward_staged", "1 - c^2")
def staged_no_square(x, y):
    a = x * y
    b = a + x
    c = math.tanh(b)
    dc, dy = y, c
    db = (1 - c) * dc
    da, dx = db, db
    dx += y * da
    dy += x * da
    return dx, dy


@wrong("backward_staged", "worked example")
def staged_hard_coded(x, y):
    return 0.9659, 0.9545


@right("backward_staged")
def staged_right(x, y):
    c = np.tanh(x * y + x)
    g = (1 - c ** 2) * y
    return float(g * (y + 1)), float(c + g * x)


def _mlp(x, w1, b1, w2, b2):
    z1 = w1 * x + b1
    h = max(z1, 0)
    z2 = h * w2 + b2
    return z1, h, z2, max(z2, 0)


@wrong("backward_mlp", "max gate", regime=True)
def mlp_no_masks(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y)
    dz1 = dz2 * w2
    return dz1 * x, dz1, dz2 * h, dz2


@wrong("backward_mlp", "outer max gate", regime=True)
def mlp_no_outer_mask(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1 * x, dz1, dz2 * h, dz2


@wrong("backward_mlp", "inner max gate", regime=True)
def mlp_no_inner_mask(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * (z2 > 0)
    dz1 = dz2 * w2
    return dz1 * x, dz1, dz2 * h, dz2


@wrong("backward_mlp", "used z1", regime=True)
def mlp_z1_for_h(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * (z2 > 0)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1 * x, dz1, dz2 * z1, dz2


@wrong("backward_mlp", "the 2 of the square", regime=True)
def mlp_no_two(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = (out - y) * (z2 > 0)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1 * x, dz1, dz2 * h, dz2


@wrong("backward_mlp", "dL/dw1 = dz1 * x", regime=True)
def mlp_dw1_times_w1(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * (z2 > 0)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1 * w1, dz1, dz2 * h, dz2


@wrong("backward_mlp", "dL/dw1: it is the value of dL/db1 (which is right)", regime=True)
def mlp_dw1_without_x(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * (z2 > 0)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1, dz1, dz2 * h, dz2     # the factor x of dL/dw1 forgotten


@wrong("backward_mlp", "sign", regime=True)
def mlp_sign(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (y - out) * (z2 > 0)
    dz1 = dz2 * w2 * (z1 > 0)
    return dz1 * x, dz1, dz2 * h, dz2


@wrong("backward_mlp", "inverted")
def mlp_inverted_masks(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    dz2 = 2 * (out - y) * (z2 < 0)
    dz1 = dz2 * w2 * (z1 < 0)
    return dz1 * x, dz1, dz2 * h, dz2


@right("backward_mlp")
def mlp_right(x, y, w1, b1, w2, b2):
    z1, h, z2, out = _mlp(x, w1, b1, w2, b2)
    g = 2 * (out - y) if z2 > 0 else 0.0
    dw2, db2 = g * h, g
    g = g * w2 if z1 > 0 else 0.0
    return g * x, g, dw2, db2


# ============================= 04-jacobians-and-log-softmax ====================================
@wrong("log_softmax", "softmax")
def ls_softmax(l):
    e = np.exp(l - np.max(l))
    return e / e.sum()


@wrong("log_softmax", "overflows")
def ls_naive(l):
    return l - np.log(np.sum(np.exp(l)))


@wrong("log_softmax", "not from l_k")
def ls_max_inside_only(l):
    m = np.max(l)
    return l - np.log(np.sum(np.exp(l - m)))


@wrong("log_softmax", "mean")
def ls_mean(l):
    m = np.mean(l)
    return (l - m) - np.log(np.sum(np.exp(l - m)))


@wrong("log_softmax", "log of the sum of the exponentials")
def ls_no_log(l):
    m = np.max(l)
    return (l - m) - np.sum(np.exp(l - m))


@wrong("log_softmax", "log sum exp")
def ls_only_shift(l):
    return l - np.max(l)


@wrong("log_softmax", "shape")
def ls_scalar(l):
    m = np.max(l)
    return m + np.log(np.sum(np.exp(l - m)))


@right("log_softmax")
def ls_right(l):
    l = np.asarray(l, dtype=float)
    m = l.max()
    shifted = l - m
    return shifted - np.log(np.exp(shifted).sum())


@wrong("log_softmax_jacobian", "transposed")
def lsj_transposed(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return np.eye(len(l)) - s[:, None]


@wrong("log_softmax_jacobian", "Jacobian of softmax")
def lsj_softmax_jacobian(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return np.diag(s) - np.outer(s, s)


@wrong("log_softmax_jacobian", "identity term")
def lsj_no_identity(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return -np.tile(s, (len(l), 1))


@wrong("log_softmax_jacobian", "overflow")
def lsj_naive(l):
    s = np.exp(l) / np.sum(np.exp(l))
    return np.eye(len(l)) - s[None, :]


@wrong("log_softmax_jacobian", "off the diagonal")
def lsj_diagonal_only(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return np.diag(1 - s)


@wrong("log_softmax_jacobian", "sign")
def lsj_sign(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return s[None, :] - np.eye(len(l))


@wrong("log_softmax_jacobian", "outer product")
def lsj_outer(l):
    s = np.exp(l - np.max(l))
    s /= s.sum()
    return np.eye(len(l)) - np.outer(s, s)


@right("log_softmax_jacobian")
def lsj_right(l):
    l = np.asarray(l, dtype=float)
    K = len(l)
    J = np.zeros((K, K))
    s = np.exp(l - l.max())
    s = s / s.sum()
    for k in range(K):
        for j in range(K):
            J[k, j] = (1.0 if k == j else 0.0) - s[j]
    return J


def _net(x, W, b, V, gamma):
    h = np.tanh(W @ x + b)
    l = V @ h + gamma
    s = np.exp(l - l.max())
    return W @ x + b, h, l, s / s.sum()


@wrong("grad_V", "transposed")
def gv_transposed(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    return np.outer(h, dl), dl


@wrong("grad_V", "left out the softmax")
def gv_no_softmax(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = np.zeros_like(l)
    dl[y] = -1
    return np.outer(dl, h), dl


@wrong("grad_V", "input of tanh")
def gv_z_for_h(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    return np.outer(dl, z), dl


@wrong("grad_V", "sign")
def gv_sign(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = -s
    dl[y] += 1
    return np.outer(dl, h), dl


@wrong("grad_V", "subtract 1 at the label")
def gv_no_label(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s
    return np.outer(dl, h), dl


@wrong("grad_V", "np.outer(dl, h)")
def gv_broadcast(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dV = dl * h
    return dV, dl


@wrong("grad_V", "np.outer(dl, h)")
def gv_matmul(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dV = dl @ h
    return dV, dl


@right("grad_V")
def gv_right(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    onehot = np.eye(len(l))[y]
    dl = s - onehot
    return dl[:, None] * h[None, :], dl


@wrong("grad_W", "input z of tanh")
def gw_z_for_h(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dz = (V.T @ dl) * (1 - z ** 2)
    return np.outer(dz, x), dz


@wrong("grad_W", "transposed")
def gw_transposed(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dz = (V.T @ dl) * (1 - h ** 2)
    return np.outer(x, dz), dz


@wrong("grad_W", "derivative of tanh")
def gw_no_tanh(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dz = V.T @ dl
    return np.outer(dz, x), dz


@wrong("grad_W", "V.T @ dl")
def gw_no_transpose(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dh = V @ dl
    dz = dh * (1 - h ** 2)
    return np.outer(dz, x), dz


@wrong("grad_W", "1 - h^2")
def gw_one_minus_h(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dz = (V.T @ dl) * (1 - h)
    return np.outer(dz, x), dz


@wrong("grad_W", "sign")
def gw_sign(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s.copy()
    dl[y] -= 1
    dz = (V.T @ dl) * (h ** 2 - 1)
    return np.outer(dz, x), dz


@wrong("grad_W", "left out the softmax")
def gw_no_softmax(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = np.zeros_like(l)
    dl[y] = -1
    dz = (V.T @ dl) * (1 - h ** 2)
    return np.outer(dz, x), dz


@right("grad_W")
def gw_right(x, y, W, b, V, gamma):
    z, h, l, s = _net(x, W, b, V, gamma)
    dl = s - (np.arange(len(l)) == y)
    dz = np.einsum("km,k->m", V, dl) / np.cosh(z) ** 2
    return np.einsum("m,d->md", dz, x), dz


# ============================ 05-decoupled-vector-network ======================================
@wrong("linear_backward", "g' z^T")
def lin_dw_transposed(W, z, g):
    return W.T @ g, np.outer(z, g)


@wrong("linear_backward", "W.T @ g")
def lin_no_transpose(W, z, g):
    return W @ g, np.outer(g, z)


@wrong("linear_backward", "np.outer(g, z)")
def lin_broadcast(W, z, g):
    return W.T @ g, g * z


@wrong("linear_backward", "sign")
def lin_sign(W, z, g):
    return -(W.T @ g), -np.outer(g, z)


@wrong("linear_backward", "np.outer(g, z)")
def lin_dot(W, z, g):
    return W.T @ g, np.dot(g, z)


@wrong("linear_backward", "wrong order")
def lin_order(W, z, g):
    return np.outer(g, z), W.T @ g


@wrong("linear_backward", "W.T @ g")
def lin_elementwise(W, z, g):
    return W.T * g, np.outer(g, z)


@right("linear_backward")
def lin_right(W, z, g):
    return g @ W, g[:, None] * z[None, :]


@wrong("relu_backward", "max(z, 0) instead of the indicator")
def relu_times_output(z, g):
    return g * np.maximum(z, 0)


@wrong("relu_backward", "inverted")
def relu_inverted(z, g):
    return g * (z < 0)


@wrong("relu_backward", "without multiplying by the incoming gradient")
def relu_mask_only(z, g):
    return (z > 0).astype(float)


@wrong("relu_backward", "closed gate")
def relu_no_mask(z, g):
    return g


@wrong("relu_backward", "sign of g")
def relu_mask_of_g(z, g):
    return np.maximum(g, 0)


@wrong("relu_backward", "multiplied by z")
def relu_times_z(z, g):
    return g * z


@wrong("relu_backward", "return")
def relu_no_return(z, g):
    g = g * (z > 0)


@right("relu_backward")
def relu_right(z, g):
    out = np.array(g, dtype=float)
    out[np.asarray(z) <= 0] = 0.0
    return out


@wrong("sigmoid_backward", "input of the sigmoid")
def sig_input(out, g):
    s = 1 / (1 + np.exp(-out))
    return g * s * (1 - s)


@wrong("sigmoid_backward", "incoming gradient")
def sig_no_g(out, g):
    return out * (1 - out)


@wrong("sigmoid_backward", "tanh rule")
def sig_tanh(out, g):
    return g * (1 - out ** 2)


@wrong("sigmoid_backward", "factor out")
def sig_no_out(out, g):
    return g * (1 - out)


@wrong("sigmoid_backward", "factor (1 - out)")
def sig_no_one_minus(out, g):
    return g * out


@wrong("sigmoid_backward", "sign")
def sig_sign(out, g):
    return g * out * (out - 1)


@wrong("sigmoid_backward", "return")
def sig_no_return(out, g):
    result = g * out * (1 - out)


@right("sigmoid_backward")
def sig_right(out, g):
    return g * (out - out ** 2)


@wrong("fan_out_backward", "kept only the ReLU branch")
def fan_relu_only(W1, W2, h1, h2, g1, g2):
    return W1.T @ (g1 * (h1 > 0))


@wrong("fan_out_backward", "kept only the sigmoid branch")
def fan_sigmoid_only(W1, W2, h1, h2, g1, g2):
    return W2.T @ (g2 * h2 * (1 - h2))


@wrong("fan_out_backward", "sigmoid(h2)")
def fan_sigmoid_of_h2(W1, W2, h1, h2, g1, g2):
    s = 1 / (1 + np.exp(-h2))
    return W1.T @ (g1 * (h1 > 0)) + W2.T @ (g2 * s * (1 - s))


@wrong("fan_out_backward", "ReLU mask I(h1 > 0)")
def fan_no_mask(W1, W2, h1, h2, g1, g2):
    return W1.T @ g1 + W2.T @ (g2 * h2 * (1 - h2))


@wrong("fan_out_backward", "W1.T @")
def fan_no_transpose(W1, W2, h1, h2, g1, g2):
    return W1 @ (g1 * (h1 > 0)) + W2 @ (g2 * h2 * (1 - h2))


@wrong("fan_out_backward", "tanh rule")
def fan_tanh_rule(W1, W2, h1, h2, g1, g2):
    return W1.T @ (g1 * (h1 > 0)) + W2.T @ (g2 * (1 - h2 ** 2))


@wrong("fan_out_backward", "multiplied the two contributions")
def fan_product(W1, W2, h1, h2, g1, g2):
    return (W1.T @ (g1 * (h1 > 0))) * (W2.T @ (g2 * h2 * (1 - h2)))


@right("fan_out_backward")
def fan_right(W1, W2, h1, h2, g1, g2):
    dv = np.zeros(W1.shape[1])
    for k in range(len(h1)):
        if h1[k] > 0:
            dv += g1[k] * W1[k]
    for k in range(len(h2)):
        dv += g2[k] * h2[k] * (1 - h2[k]) * W2[k]
    return dv


def _skip(W1, W2, W3, w4, x):
    a1 = W1 @ x
    h1 = np.maximum(a1, 0)
    a2 = W2 @ x + W3 @ h1
    return a1, h1, a2


@wrong("skip_connection_grads", "forgot the skip connection")
def skip_no_skip(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4 * (a2 > 0)
    dh1 = W3.T @ da2
    return w4, dh1, W1.T @ (dh1 * (a1 > 0))


@wrong("skip_connection_grads", "kept only the skip connection")
def skip_only_skip(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4 * (a2 > 0)
    return w4, W3.T @ da2, W2.T @ da2


@wrong("skip_connection_grads", "ReLU mask of h2")
def skip_no_mask_h2(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4
    dh1 = W3.T @ da2
    return w4, dh1, W1.T @ (dh1 * (a1 > 0)) + W2.T @ da2


@wrong("skip_connection_grads", "ReLU mask of h1")
def skip_no_mask_h1(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4 * (a2 > 0)
    dh1 = W3.T @ da2
    return w4, dh1, W1.T @ dh1 + W2.T @ da2


@wrong("skip_connection_grads", "W3.T @")
def skip_no_transpose(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4 * (a2 > 0)
    dh1 = W3 @ da2
    return w4, dh1, W1.T @ (dh1 * (a1 > 0)) + W2.T @ da2


@wrong("skip_connection_grads", "dy/dh2 = w4")
def skip_masked_dh2(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = w4 * (a2 > 0)
    dh1 = W3.T @ da2
    return da2, dh1, W1.T @ (dh1 * (a1 > 0)) + W2.T @ da2


@wrong("skip_connection_grads", "sign")
def skip_sign(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    da2 = -w4 * (a2 > 0)
    dh1 = W3.T @ da2
    return -w4, dh1, W1.T @ (dh1 * (a1 > 0)) + W2.T @ da2


@right("skip_connection_grads")
def skip_right(W1, W2, W3, w4, x):
    a1, h1, a2 = _skip(W1, W2, W3, w4, x)
    m2 = (a2 > 0).astype(float)
    m1 = (a1 > 0).astype(float)
    dh1 = (w4 * m2) @ W3
    return w4.copy(), dh1, (dh1 * m1) @ W1 + (w4 * m2) @ W2


def _mb(X, W, y):
    P = X @ W
    return P, np.maximum(P, 0) - y


@wrong("minibatch_backward", "sum over axis 0")
def mb_no_sum(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    return dP @ W.T, X.T @ dP, -dR, np.ones_like(R)


@wrong("minibatch_backward", "averaged instead of summed")
def mb_mean(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    B = len(X)
    return dP @ W.T, X.T @ dP / B, -dR.mean(axis=0), np.ones_like(R).mean(axis=0)


@wrong("minibatch_backward", "ReLU mask (P > 0) into dy")
def mb_mask_in_dy(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    return dP @ W.T, X.T @ dP, -dP.sum(axis=0), np.ones_like(R).sum(axis=0)


@wrong("minibatch_backward", "ReLU mask (P > 0) in dP")
def mb_no_mask(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR
    return dP @ W.T, X.T @ dP, -dR.sum(axis=0), np.ones_like(R).sum(axis=0)


@wrong("minibatch_backward", "X.T @ dP")
def mb_no_transpose_x(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    return dP @ W.T, X @ dP, -dR.sum(axis=0), np.ones_like(R).sum(axis=0)


@wrong("minibatch_backward", "dP @ W.T")
def mb_no_transpose_w(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    return dP @ W, X.T @ dP, -dR.sum(axis=0), np.ones_like(R).sum(axis=0)


@wrong("minibatch_backward", "the 2 of the square")
def mb_no_two(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = R
    dP = dR * (P > 0)
    return dP @ W.T, X.T @ dP, -dR.sum(axis=0), np.ones_like(R).sum(axis=0)


@wrong("minibatch_backward", "each example adds 1")
def mb_dz_ones(X, W, y, z):
    P, R = _mb(X, W, y)
    dR = 2 * R
    dP = dR * (P > 0)
    return dP @ W.T, X.T @ dP, -dR.sum(axis=0), np.ones_like(z)


@right("minibatch_backward")
def mb_right(X, W, y, z):
    B = X.shape[0]
    dX, dW = np.zeros_like(X), np.zeros_like(W)
    dy, dz = np.zeros_like(y), np.zeros_like(z)
    for b in range(B):
        p = X[b] @ W
        dr = 2 * (np.maximum(p, 0) - y)
        dp = dr * (p > 0)
        dX[b] = W @ dp
        dW += np.outer(X[b], dp)
        dy -= dr
        dz += 1
    return dX, dW, dy, dz


# Later notebooks keep their mistakes in tests/catalogue_nbNN.py (registered on import, here);
# catalogue_nb06.py also holds notebook 5's training loop, which uses notebook 6's ideas.
for _path in sorted(__import__("pathlib").Path(__file__).parent.glob("catalogue_nb*.py")):
    __import__(_path.stem)
