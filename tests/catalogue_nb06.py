"""The mistake catalogue of 06-build-your-own-engine, and of notebook 5's training loop.

Notebook 6's exercises are parts of a class; the grader reads them through the functions the
notebook gives (record, order_report, backward_report, sigmoid_report). Each entry here is the
student's wrong code — a Value class with one wrong method, a wrong topological_order, a wrong
backward — wrapped by a copy of the notebook's given function.
"""
from __future__ import annotations

import math

import numpy as np

from catalogue import right, wrong


# ----- the notebook's given code, over a Value class of the student's ---------------------------
class Value:
    """A right answer of exercises 1, 3 and 4 (the base every wrong class changes one method of)."""

    def __init__(self, value, parents=(), local=(), op=""):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local = tuple(float(d) for d in local)
        self.op = op

    def __add__(self, other):
        other = as_value(other)
        return type(self)(self.value + other.value, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = as_value(other)
        return type(self)(self.value * other.value, (self, other), (other.value, self.value), "*")

    def __pow__(self, k):
        return type(self)(self.value ** k, (self,), (k * self.value ** (k - 1),), "**")

    def __radd__(self, other):
        return self.__add__(other)

    def __rmul__(self, other):
        return self.__mul__(other)

    def backward(self, order=None):
        if order is None:
            order = topological_order(self)
        self.grad = 1.0
        for vertex in reversed(order):
            for parent, d in zip(vertex.parents, vertex.local):
                parent.grad += d * vertex.grad

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.value))
        return type(self)(s, (self,), (s * (1.0 - s),), "sigmoid")


def as_value(x):
    return x if isinstance(x, Value) else Value(x)


def topological_order(output):
    order, visited, stack = [], set(), [(output, False)]
    while stack:
        vertex, done = stack.pop()
        if done:
            order.append(vertex)
        elif vertex not in visited:
            visited.add(vertex)
            stack.append((vertex, True))
            stack.extend((p, False) for p in vertex.parents if p not in visited)
    return order


STEPS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "pow": lambda a, k: a ** k,
         "plus": lambda a, c: a + c, "times": lambda a, c: c * a}


def record_with(cls):
    def record(leaves, steps):
        vertices = [cls(v) for v in leaves]
        for op, i, arg in steps:
            other = vertices[arg] if op in ("add", "mul") else arg
            vertices.append(STEPS[op](vertices[i], other))
        return [v.value for v in vertices], [d for v in vertices for d in v.local]
    return record


def graph_from(n_leaves, nodes, depth=0, cls=Value):
    vertices = [cls(1.0) for _ in range(n_leaves)]
    for parents, local in nodes:
        vertices.append(cls(1.0, [vertices[p] for p in parents], local))
    for _ in range(depth):
        vertices.append(cls(1.0, [vertices[-1], vertices[0]], [0.5, 0.5]))
    return vertices


def order_report_with(order_fn):
    def order_report(n_leaves, nodes, depth):
        order = order_fn(graph_from(n_leaves, nodes, depth)[-1])
        position = {}
        for k, vertex in enumerate(order):
            position.setdefault(vertex, k)
        late = sum(p not in position or position[p] > position[v] for v in position for p in v.parents)
        return len(order), len(order) - len(position), late
    return order_report


def backward_report_with(cls):
    def backward_report(n_leaves, nodes):
        vertices = graph_from(n_leaves, nodes, cls=cls)
        vertices[-1].backward(order=vertices)
        return [v.grad for v in vertices]
    return backward_report


def sigmoid_report_with(cls):
    def sigmoid_report(xs):
        outs = [cls(x).sigmoid() for x in xs]
        return [s.value for s in outs], [d for s in outs for d in s.local]
    return sigmoid_report


# ----- exercise 1: the operators ---------------------------------------------------------------
class MulSwapped(Value):
    def __mul__(self, other):
        other = as_value(other)
        return MulSwapped(self.value * other.value, (self, other), (self.value, other.value), "*")


class MulLikeAdd(Value):
    def __mul__(self, other):
        other = as_value(other)
        return MulLikeAdd(self.value * other.value, (self, other), (1.0, 1.0), "*")


class PowKX(Value):
    def __pow__(self, k):
        return PowKX(self.value ** k, (self,), (k * self.value,), "**")


class PowNoK(Value):
    def __pow__(self, k):
        return PowNoK(self.value ** k, (self,), (self.value ** (k - 1),), "**")


class PowSameExponent(Value):
    def __pow__(self, k):
        return PowSameExponent(self.value ** k, (self,), (k * self.value ** k,), "**")


class PowTimes(Value):
    def __pow__(self, k):
        return PowTimes(self.value * k, (self,), (k * self.value ** (k - 1),), "**")


class AddNoParents(Value):
    def __add__(self, other):
        other = as_value(other)
        return AddNoParents(self.value + other.value)


for _cls, _label, _phrase in [
        (MulSwapped, "mul_swapped", "swapped the local derivatives of a * b"),
        (MulLikeAdd, "mul_like_add", "local derivatives of a + b (1 and 1)"),
        (PowKX, "pow_k_x", "k * x for the local derivative"),
        (PowNoK, "pow_no_k", "forgot the factor k"),
        (PowSameExponent, "pow_same_exponent", "kept the exponent k"),
        (PowTimes, "pow_times", "x * k for the value"),
        (AddNoParents, "add_no_parents", "did not record the parents of a + b")]:
    _f = record_with(_cls)
    _f.__name__ = _label
    wrong("record", _phrase)(_f)


@wrong("record", "worked example")
def record_hard_coded(leaves, steps):
    return [2.0, -3.0, -6.0, -4.5, -91.125, -89.125, 178.25], \
        [-3.0, 2.0, 1.0, 1.0, 60.75, 1.0, 1.0, -2.0, -89.125]


class ValueOtherWay(Value):
    """Right, written differently: the local derivatives named, pow through exp/log-free math."""

    def __mul__(self, other):
        other = other if isinstance(other, Value) else ValueOtherWay(other)
        d_self, d_other = other.value, self.value
        return ValueOtherWay(d_other * d_self, [self, other], [d_self, d_other])

    def __pow__(self, k):
        out = ValueOtherWay(self.value ** k, [self])
        out.local = (k * self.value ** k / self.value,)
        return out


_f = record_with(ValueOtherWay)
_f.__name__ = "record_other_way"
right("record")(_f)


# ----- exercise 2: the topological order ---------------------------------------------------------
def order_reversed(output):
    return topological_order(output)[::-1]


def order_no_visited(output):
    order, stack = [], [(output, False)]
    while stack:
        vertex, done = stack.pop()
        if done:
            order.append(vertex)
        else:
            stack.append((vertex, True))
            stack.extend((p, False) for p in vertex.parents)
    return order


def order_no_leaves(output):
    return [v for v in topological_order(output) if v.parents]


def order_preorder(output):
    order, seen, stack = [], set(), [output]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        order.append(v)
        stack.extend(v.parents)
    return order


def order_recursive(output):
    order, seen = [], set()

    def visit(v):
        if v in seen:
            return
        seen.add(v)
        for p in v.parents:
            visit(p)
        order.append(v)
    visit(output)
    return order


def order_bfs(output):
    queue, seen = [output], {output}
    for v in queue:
        for p in v.parents:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return queue[::-1]


for _fn, _phrase in [(order_reversed, "returned the order reversed"),
                     (order_no_visited, "did not remember which vertices were already visited"),
                     (order_no_leaves, "left out the leaves"),
                     (order_preorder, "pre-order"),
                     (order_recursive, "recursion"),
                     (order_bfs, "breadth-first")]:
    _f = order_report_with(_fn)
    _f.__name__ = _fn.__name__
    wrong("order_report", _phrase)(_f)


def order_kahn(output):
    """Right, written differently: count each vertex's children, then peel off from the output."""
    children, stack, seen = {}, [output], {output}
    while stack:
        v = stack.pop()
        for p in v.parents:
            children[p] = children.get(p, 0) + 1
            if p not in seen:
                seen.add(p)
                stack.append(p)
    ready, backwards = [output], []
    while ready:
        v = ready.pop()
        backwards.append(v)
        for p in v.parents:
            children[p] -= 1
            if children[p] == 0:
                ready.append(p)
    return backwards[::-1]


_f = order_report_with(order_kahn)
_f.__name__ = "order_kahn"
right("order_report")(_f)


# ----- exercise 3: backward ------------------------------------------------------------------
def _backward_class(step):
    class V(Value):
        def backward(self, order=None):
            if order is None:
                order = topological_order(self)
            step(self, order)
    return V


def bw_assign(out, order):
    out.grad = 1.0
    for vertex in reversed(order):
        for parent, d in zip(vertex.parents, vertex.local):
            parent.grad = d * vertex.grad


def bw_no_seed(out, order):
    for vertex in reversed(order):
        for parent, d in zip(vertex.parents, vertex.local):
            parent.grad += d * vertex.grad


def bw_forwards(out, order):
    out.grad = 1.0
    for vertex in order:
        for parent, d in zip(vertex.parents, vertex.local):
            parent.grad += d * vertex.grad


def bw_no_upstream(out, order):
    out.grad = 1.0
    for vertex in reversed(order):
        for parent, d in zip(vertex.parents, vertex.local):
            parent.grad += d


def bw_no_local(out, order):
    out.grad = 1.0
    for vertex in reversed(order):
        for parent in vertex.parents:
            parent.grad += vertex.grad


def bw_first_parent(out, order):
    out.grad = 1.0
    for vertex in reversed(order):
        if vertex.parents:
            vertex.parents[0].grad += vertex.local[0] * vertex.grad


def bw_parents_merged(out, order):
    out.grad = 1.0
    for vertex in reversed(order):
        for parent, d in dict(zip(vertex.parents, vertex.local)).items():   # a + a: a once
            parent.grad += d * vertex.grad


for _step, _phrase in [(bw_assign, "+= was needed"), (bw_no_seed, "output.grad = 1"),
                       (bw_forwards, "walked the order forwards"),
                       (bw_no_upstream, "left out the vertex's own gradient"),
                       (bw_no_local, "left out the local derivative"),
                       (bw_first_parent, "first parent only"),
                       (bw_parents_merged, "kept one edge of a parent listed twice")]:
    _f = backward_report_with(_backward_class(_step))
    _f.__name__ = _step.__name__
    wrong("backward_report", _phrase)(_f)


def bw_dictionary(out, order):
    """Right, written differently: gradients kept in a dict, then stored."""
    grads = {out: 1.0}
    for vertex in order[::-1]:
        g = grads.get(vertex, 0.0)
        for k, parent in enumerate(vertex.parents):
            grads[parent] = grads.get(parent, 0.0) + vertex.local[k] * g
    for vertex, g in grads.items():
        vertex.grad = g


_f = backward_report_with(_backward_class(bw_dictionary))
_f.__name__ = "bw_dictionary"
right("backward_report")(_f)


# ----- exercise 4: sigmoid -------------------------------------------------------------------
def _sigmoid_class(make):
    class V(Value):
        def sigmoid(self):
            return make(V, self)
    return V


def sig_input(V, x):
    s = 1 / (1 + math.exp(-x.value))
    return V(s, (x,), (x.value * (1 - x.value),))


def sig_tanh_rule(V, x):
    s = 1 / (1 + math.exp(-x.value))
    return V(s, (x,), (1 - s * s,))


def sig_only_s(V, x):
    s = 1 / (1 + math.exp(-x.value))
    return V(s, (x,), (s,))


def sig_only_one_minus(V, x):
    s = 1 / (1 + math.exp(-x.value))
    return V(s, (x,), (1 - s,))


def sig_exp_sign(V, x):
    s = 1 / (1 + math.exp(x.value))
    return V(s, (x,), (s * (1 - s),))


def sig_no_parent(V, x):
    return V(1 / (1 + math.exp(-x.value)))


for _make, _phrase in [(sig_input, "used the input x"), (sig_tanh_rule, "tanh rule"),
                       (sig_only_s, "forgot the factor (1 - s)"),
                       (sig_only_one_minus, "forgot the factor s"),
                       (sig_exp_sign, "exp(x) where exp(-x)"),
                       (sig_no_parent, "did not record the parent")]:
    _f = sigmoid_report_with(_sigmoid_class(_make))
    _f.__name__ = _make.__name__
    wrong("sigmoid_report", _phrase)(_f)


def sig_tanh_form(V, x):
    """Right, written differently: sigma(x) = (1 + tanh(x/2)) / 2, derivative from the output."""
    s = 0.5 * (1 + math.tanh(x.value / 2))
    return V(s, [x], [s - s * s])


_f = sigmoid_report_with(_sigmoid_class(sig_tanh_form))
_f.__name__ = "sig_tanh_form"
right("sigmoid_report")(_f)


# ----- notebook 5: one epoch of minibatch SGD with the student's layer rules -------------------
def linear_backward(W, z, g):
    return W.T @ g, np.outer(g, z)


def relu_backward(z, g):
    return g * (z > 0)


def sigmoid_backward(out, g):
    return g * out * (1 - out)


def linear_backward_batch(W, Z, G):
    parts = [linear_backward(W, z, g) for z, g in zip(Z, G)]
    return np.array([p[0] for p in parts]), sum(p[1] for p in parts)


def _epoch(W1, b1, W2, b2, X, y, lr, batch_size, seed, *, order=None, size=None, mean=True,
           keep_last=True, sign=-1.0, biases=True, mask=True, two=2.0):
    n = len(X)
    order = np.random.default_rng(seed).permutation(n) if order is None else order
    size = size or batch_size
    stop = n if keep_last else n - n % size
    for start in range(0, stop, size):
        rows = order[start:start + size]
        Xb, yb = X[rows], y[rows]
        Z1 = Xb @ W1.T + b1
        H = np.maximum(Z1, 0)
        out = 1 / (1 + np.exp(-(H @ W2.T + b2)))
        g_out = two * (out - yb[:, None]) / (len(rows) if mean else 1)
        g_z2 = sigmoid_backward(out, g_out)
        g_h, dW2 = linear_backward_batch(W2, H, g_z2)
        g_z1 = relu_backward(Z1, g_h) if mask else g_h
        _, dW1 = linear_backward_batch(W1, Xb, g_z1)
        W1 = W1 + sign * lr * dW1
        W2 = W2 + sign * lr * dW2
        if biases:
            b1 = b1 + sign * lr * g_z1.sum(axis=0)
            b2 = b2 + sign * lr * g_z2.sum(axis=0)
    return W1, b1, W2, b2


def _epoch_entry(label, phrase, **how):
    def train_epoch(W1, b1, W2, b2, X, y, lr, batch_size, seed):
        extra = dict(how)
        if extra.pop("no_shuffle", False):
            extra["order"] = np.arange(len(X))
        if extra.pop("full", False):
            extra["size"] = len(X)
        return _epoch(W1, b1, W2, b2, X, y, lr, batch_size, seed, **extra)
    train_epoch.__name__ = label
    wrong("train_epoch", phrase)(train_epoch)


_epoch_entry("epoch_no_shuffle", "did not shuffle", no_shuffle=True)
_epoch_entry("epoch_full_batch", "one step on the whole data set", full=True)
_epoch_entry("epoch_sum", "summed the loss over the minibatch", mean=False)
_epoch_entry("epoch_drop_last", "dropped the last, shorter minibatch", keep_last=False)
_epoch_entry("epoch_ascent", "up the gradient", sign=1.0)
_epoch_entry("epoch_no_biases", "did not update the biases", biases=False)
_epoch_entry("epoch_no_relu", "relu_backward", mask=False)
_epoch_entry("epoch_no_two", "the 2 of the square", two=1.0)


@right("train_epoch")
def epoch_in_place(W1, b1, W2, b2, X, y, lr, batch_size, seed):
    W1, b1, W2, b2 = (np.array(a, dtype=float) for a in (W1, b1, W2, b2))
    order = np.random.default_rng(seed).permutation(len(X))
    for rows in np.array_split(order, range(batch_size, len(X), batch_size)):
        Xb = X[rows]
        Z1 = Xb @ W1.T + b1
        H = np.maximum(Z1, 0)
        out = 1 / (1 + np.exp(-(H @ W2.T + b2)))
        g_z2 = sigmoid_backward(out, 2 * (out - y[rows][:, None]) / len(rows))
        g_h, dW2 = linear_backward_batch(W2, H, g_z2)
        g_z1 = relu_backward(Z1, g_h)
        dW1 = linear_backward_batch(W1, Xb, g_z1)[1]
        W1 -= lr * dW1
        W2 -= lr * dW2
        b1 -= lr * g_z1.sum(axis=0)
        b2 -= lr * g_z2.sum(axis=0)
    return W1, b1, W2, b2
