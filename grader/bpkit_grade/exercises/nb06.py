"""Exercises of 06-build-your-own-engine: the student's own scalar engine.

The student writes a class ``Value`` (operators that record the graph), ``topological_order``
(iterative), ``Value.backward`` (accumulating with ``+=``) and ``Value.sigmoid`` (a new op).
A class cannot be compared as numbers, so each exercise is graded through a small function the
notebook gives beside it, which builds graphs from plain data with the student's code and
returns numbers:

    record(leaves, steps)                  values of every vertex, local derivatives of every edge
    order_report(n_leaves, nodes, depth)   (vertices listed, listed twice, edges out of order)
    backward_report(n_leaves, nodes)       .grad of every vertex after backward()
    sigmoid_report(xs)                     (values, local derivatives) of sigmoid vertices

``steps``: ``[op, i, arg]`` with op one of add, mul (arg: a vertex index), pow (arg: the
exponent), plus (``vertex + number``), times (``number * vertex``); vertex i is an earlier one
(the leaves come first). ``nodes``: ``[parents, local derivatives]`` per vertex after the
leaves; ``depth`` appends a chain of that many vertices, each with parents (previous vertex,
leaf 0), so the graph is deeper than Python's recursion limit. The references below compute the
answers from the data directly; the notebook compares the student's engine with bpkit.
"""
from __future__ import annotations

import math

import numpy as np

from . import Exercise, DERIVATIVES, LOCAL_DERIVATIVES

CHAIN_LOCAL = (0.5, 0.5)


# ----- 1. operators that record the graph ---------------------------------------------------
def _record(leaves, steps, *, mul=lambda a, b: (b, a), pow_=lambda a, k: (k * a ** (k - 1),),
            add_parents=True, pow_value=lambda a, k: a ** k, mul_value=lambda a, b: a * b):
    values = [float(v) for v in leaves]
    local = []
    for op, i, arg in steps:
        a = values[i]
        if op in ("add", "plus"):
            b = values[arg] if op == "add" else float(arg)
            values.append(a + b)
            local += [1.0, 1.0] if add_parents else []
        elif op in ("mul", "times"):
            b = values[arg] if op == "mul" else float(arg)
            values.append(mul_value(a, b))
            local += list(mul(a, b))
        elif op == "pow":
            values.append(pow_value(a, arg))
            local += list(pow_(a, arg))
        else:
            raise ValueError(f"unknown op {op!r}")
    return np.array(values), np.array(local)


def record(leaves, steps):
    return _record(leaves, steps)


def _record_mistakes(leaves, steps):
    return [
        ("swapped the local derivatives of a * b: d(a*b)/da is b (the OTHER factor), d(a*b)/db is a",
         _record(leaves, steps, mul=lambda a, b: (a, b))),
        ("gave a * b the local derivatives of a + b (1 and 1); for a product they are b and a",
         _record(leaves, steps, mul=lambda a, b: (1.0, 1.0))),
        ("wrote k * x for the local derivative of x ** k; it is k * x ** (k - 1)",
         _record(leaves, steps, pow_=lambda a, k: (k * a,))),
        ("forgot the factor k in the local derivative of x ** k: it is k * x ** (k - 1)",
         _record(leaves, steps, pow_=lambda a, k: (a ** (k - 1),))),
        ("kept the exponent k in the local derivative of x ** k: it is k * x ** (k - 1), one power less",
         _record(leaves, steps, pow_=lambda a, k: (k * a ** k,))),
        ("computed x * k for the value of x ** k", _record(leaves, steps, pow_value=lambda a, k: a * k,
                                                          pow_=lambda a, k: (k * a ** (k - 1),))),
        ("did not record the parents of a + b (parents and local derivatives stay empty): "
         "backward() could never reach a and b", _record(leaves, steps, add_parents=False)),
    ]


def _away(rng, low, high):
    return round(float(rng.uniform(low, high) * rng.choice([-1.0, 1.0])), 2)


def _record_inputs(rng):
    # every op at least once, values away from 0 and from 1; exponents 3 and -1 (for k = 2,
    # k x and k x^(k-1) agree)
    n = int(rng.integers(2, 4))
    leaves = [_away(rng, 0.5, 2) for _ in range(n)]
    ops = ["add", "mul", "pow", "plus", "times", "mul"] + list(rng.choice(
        ["add", "mul", "plus", "times"], size=int(rng.integers(0, 3))))
    rng.shuffle(ops)
    steps, values = [], list(leaves)
    for op in ops:
        i = int(rng.integers(len(values)))
        while abs(values[i]) < 0.3 or abs(values[i]) > 6:
            i = int(rng.integers(len(values)))
        if op in ("add", "mul"):
            j = int(rng.integers(len(values)))
            arg = j
            b = values[j]
            values.append(values[i] + b if op == "add" else values[i] * b)
        elif op == "pow":
            arg = int(rng.choice([3, -1]))
            values.append(values[i] ** arg)
        else:
            arg = _away(rng, 0.5, 3)
            values.append(values[i] + arg if op == "plus" else arg * values[i])
        steps.append([op, i, arg])
    return leaves, steps


RECORD_CASES = (([2.0, -3.0], [["mul", 0, 1], ["plus", 2, 1.5], ["pow", 3, 3], ["add", 4, 0],
                               ["times", 5, -2.0]]),
                ([0.5, 4.0], [["pow", 0, -1], ["mul", 2, 1], ["add", 3, 3]]))


# ----- 2. topological order ---------------------------------------------------------------
def _parents(n_leaves, nodes, depth):
    """parents[v] for every vertex, the chain appended; the output is the last vertex."""
    parents = [[] for _ in range(n_leaves)] + [list(p) for p, _ in nodes]
    for _ in range(depth):
        parents.append([len(parents) - 1, 0])
    return parents


def _reachable(parents):
    out = len(parents) - 1
    reached, stack = {out}, [out]
    while stack:
        for p in parents[stack.pop()]:
            if p not in reached:
                reached.add(p)
                stack.append(p)
    return reached


def _report(order, parents):
    first = {}
    for k, v in enumerate(order):
        first.setdefault(v, k)
    bad = sum(1 for v in first for p in parents[v] if p not in first or first[p] > first[v])
    return (len(order), len(order) - len(first), bad)


def order_report(n_leaves, nodes, depth):
    return (len(_reachable(_parents(n_leaves, nodes, depth))), 0, 0)


def _dfs_no_visited(parents):
    order, stack = [], [(len(parents) - 1, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
            continue
        stack.append((v, True))
        stack.extend((p, False) for p in parents[v])
    return order


def _preorder(parents):
    order, seen, stack = [], set(), [len(parents) - 1]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        order.append(v)
        stack.extend(parents[v])
    return order


def _bfs_reversed(parents):
    out = len(parents) - 1
    queue, queued = [out], {out}
    for v in queue:
        for p in parents[v]:
            if p not in queued:
                queued.add(p)
                queue.append(p)
    return queue[::-1]


def _order_mistakes(n_leaves, nodes, depth):
    parents = _parents(n_leaves, nodes, depth)
    reach = _reachable(parents)
    n = len(reach)
    edges = sum(len(parents[v]) for v in reach)
    leaf_edges = sum(1 for v in reach for p in parents[v] if not parents[p])
    leaves = sum(1 for v in reach if not parents[v])
    no_visited = _dfs_no_visited(parents) if n < 20000 else None
    return [
        ("returned the order reversed (the output first): every vertex must come AFTER its "
         "parents, so a vertex's value can be computed from theirs", (n, 0, edges)),
        ("did not remember which vertices were already visited: a vertex reached along several "
         "paths is listed once per path (keep a set of visited vertices)",
         None if no_visited is None else _report(no_visited, parents)),
        ("left out the leaves: the order must list every vertex the output depends on, the "
         "inputs too", (n - leaves, 0, leaf_edges)),
        ("appended a vertex when it was first reached, before its parents (pre-order): append it "
         "only after all of its parents are in the list", _report(_preorder(parents), parents)),
        ("reversed a breadth-first search from the output: that order is not topological when "
         "two paths to a vertex have different lengths (depth-first, append after the parents)",
         _report(_bfs_reversed(parents), parents)),
    ]


def _random_nodes(rng, n_leaves, n_nodes, local=False):
    """Random vertices over the leaves: fan-out, a vertex used twice by one vertex (a + a), and
    the last vertex also using leaf 0 directly (paths of different lengths)."""
    nodes = []
    for k in range(n_nodes):
        avail = n_leaves + k
        if not k:
            parents = [0, 0] if n_leaves == 1 else [0, 1]
        elif k == 1:
            parents = [n_leaves, n_leaves]            # the vertex before, used twice
        elif k == n_nodes - 1:
            parents = [avail - 1, 0]                  # the output uses leaf 0 directly
        else:
            size = int(rng.integers(1, 3))
            parents = [avail - 1] + [int(rng.integers(avail)) for _ in range(size - 1)]
            rng.shuffle(parents)
        d = [_away(rng, 0.3, 2) for _ in parents] if local else [1.0 for _ in parents]
        nodes.append([[int(p) for p in parents], d])
    return nodes


def _order_inputs(rng):
    n_leaves = int(rng.integers(2, 4))
    return n_leaves, _random_nodes(rng, n_leaves, int(rng.integers(4, 8))), int(rng.integers(1500, 2500))


ORDER_CASES = ((2, [[[0, 1], [1.0, 1.0]], [[2, 2], [1.0, 1.0]], [[3, 0], [1.0, 1.0]]], 0),
               (2, [[[0, 1], [1.0, 1.0]], [[2, 1], [1.0, 1.0]], [[3, 0], [1.0, 1.0]]], 2000))


# ----- 3. the backward pass -------------------------------------------------------------------
def _backward(n_leaves, nodes, *, assign=False, seed=1.0, forwards=False, upstream=True,
              local=True, first_only=False, merged=False):
    parents = [[] for _ in range(n_leaves)] + [p for p, _ in nodes]
    locs = [[] for _ in range(n_leaves)] + [list(d) for _, d in nodes]
    grad = [0.0] * len(parents)
    grad[-1] = seed
    visit = range(len(parents)) if forwards else range(len(parents) - 1, -1, -1)
    for v in visit:
        pairs = list(zip(parents[v], locs[v]))[:1 if first_only else None]
        if merged:  # one entry per parent, as a dict keyed by the parent keeps (its last edge)
            pairs = list(dict(pairs).items())
        for p, d in pairs:
            step = (float(d) if local else 1.0) * (grad[v] if upstream else 1.0)
            grad[p] = step if assign else grad[p] + step
    return np.array(grad)


def backward_report(n_leaves, nodes):
    return _backward(n_leaves, nodes)


def _backward_mistakes(n_leaves, nodes):
    return [
        ("wrote parent.grad = ... where += was needed: a vertex used twice (as in a + a) or by "
         "two vertices must ADD the contributions of all its uses", _backward(n_leaves, nodes, assign=True)),
        ("did not start with output.grad = 1 (d out / d out = 1): with 0 every gradient stays 0",
         _backward(n_leaves, nodes, seed=0.0)),
        ("walked the order forwards: the backward pass visits the vertices in REVERSED "
         "topological order, the output first", _backward(n_leaves, nodes, forwards=True)),
        ("left out the vertex's own gradient: each parent gets local derivative * vertex.grad",
         _backward(n_leaves, nodes, upstream=False)),
        ("left out the local derivative: each parent gets local derivative * vertex.grad",
         _backward(n_leaves, nodes, local=False)),
        ("passed the gradient to the first parent only: loop over all parents of each vertex "
         "(zip(vertex.parents, vertex.local))", _backward(n_leaves, nodes, first_only=True)),
        ("kept one edge of a parent listed twice (a + a: a dict or set of the parents has it once); "
         "each edge passes its own share, so a + a gives a twice the gradient",
         _backward(n_leaves, nodes, merged=True)),
    ]


def _backward_inputs(rng):
    n_leaves = int(rng.integers(2, 4))
    return n_leaves, _random_nodes(rng, n_leaves, int(rng.integers(4, 8)), local=True)


BACKWARD_CASES = ((2, [[[0, 1], [-3.0, 2.0]], [[2, 2], [1.0, 1.0]], [[3, 0], [0.5, 2.0]]]),
                  (1, [[[0, 0], [1.0, 1.0]], [[1, 0], [2.0, 1.5]], [[2, 1], [-1.0, 3.0]]]))


# ----- 4. a new op: the sigmoid ------------------------------------------------------------
def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def sigmoid_report(xs):
    s = np.array([_sig(float(x)) for x in xs])
    return s, s * (1 - s)


def _sigmoid_mistakes(xs):
    x = np.asarray(xs, dtype=float)
    s, ds = sigmoid_report(xs)
    return [
        ("used the input x where the output s was needed: d sigmoid(x)/dx = s (1 - s)", (s, x * (1 - x))),
        ("used the tanh rule 1 - s^2; the sigmoid's local derivative is s (1 - s)", (s, 1 - s * s)),
        ("forgot the factor (1 - s): the sigmoid's local derivative is s (1 - s)", (s, s)),
        ("forgot the factor s: the sigmoid's local derivative is s (1 - s)", (s, 1 - s)),
        ("wrote exp(x) where exp(-x) was needed: sigmoid(x) = 1 / (1 + exp(-x))", (1 - s, ds)),
        ("did not record the parent (parents and local derivatives stay empty): backward() could "
         "not pass a gradient back through it", (s, np.zeros(0))),
    ]


def _sigmoid_inputs(rng):
    # away from 0 (where s = 1 - s) and within [-5, 5]
    return ([_away(rng, 0.2, 5) for _ in range(int(rng.integers(3, 7)))],)


EXERCISES = [
    Exercise(grade_id="test_record", points=2, function="record", asks_for=LOCAL_DERIVATIVES + DERIVATIVES,
             make_inputs=_record_inputs, reference=record,
             description="Value's operators: values and local derivatives they record",
             mistakes=_record_mistakes, result_names=("values", "local derivatives"),
             visible_inputs=RECORD_CASES),
    Exercise(grade_id="test_topological_order", points=3, function="order_report", asks_for=("bpkit.backprop.topological_order",) + DERIVATIVES,
             make_inputs=_order_inputs, reference=order_report,
             description="an iterative topological order, on graphs deeper than the recursion limit",
             mistakes=_order_mistakes,
             result_names=("vertices listed", "vertices listed twice", "edges out of order"),
             visible_inputs=ORDER_CASES,
             decisive=False),   # counts in the thousands: exact, but within _decisive's 1e-3
    Exercise(grade_id="test_backward", points=3, function="backward_report", asks_for=("bpkit.backprop.topological_order",) + DERIVATIVES + LOCAL_DERIVATIVES,
             make_inputs=_backward_inputs, reference=backward_report,
             description="Value.backward: reverse topological order, accumulating with +=",
             mistakes=_backward_mistakes, visible_inputs=BACKWARD_CASES),
    Exercise(grade_id="test_sigmoid", points=2, function="sigmoid_report", asks_for=("bpkit.graph.sigmoid", "bpkit.layers.Sigmoid.backward") + DERIVATIVES + LOCAL_DERIVATIVES,
             make_inputs=_sigmoid_inputs, reference=sigmoid_report,
             description="a new op, Value.sigmoid, with its local derivative s (1 - s)",
             mistakes=_sigmoid_mistakes, result_names=("values", "local derivatives"),
             visible_inputs=(([-1.0, 0.5, 2.0],),)),
]
