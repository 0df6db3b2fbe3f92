"""Every op of bpkit/ops.py against central differences (hypothesis property tests).

Each check builds ``out = op(leaves)``, reduces it to a scalar with fixed, unequal weights (so
every entry of the seed differs), runs ``backward()`` and compares every leaf's ``.grad`` with a
central difference of the same forward computation. Forward values are compared with NumPy.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bpkit as bp
from bpkit.ops import OPS

FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])



# ----- helpers -----------------------------------------------------------------------------------
def weights_like(value):
    """Fixed, unequal weights with the shape of ``value`` (a float for scalars)."""
    if np.ndim(value) == 0:
        return 0.7
    return np.linspace(0.5, 1.7, np.size(value)).reshape(np.shape(value))


def scalarize(out):
    w = weights_like(out.value)
    return out * w if np.ndim(out.value) == 0 else bp.sum(out * w)


def numeric_grads(fn, values, eps=1e-6):
    """Central differences of sum(w * fn(values).value) with respect to each value."""
    values = [np.array(v, dtype=float) for v in values]
    out0 = fn(*[bp.var(v) for v in values]).value
    w = weights_like(out0)

    def phi(vals):
        return float(np.sum(np.asarray(fn(*[bp.var(v) for v in vals]).value) * w))

    grads = []
    for i, v in enumerate(values):
        g = np.zeros(v.shape)
        for idx in np.ndindex(*v.shape):
            up = [u.copy() for u in values]
            down = [u.copy() for u in values]
            up[i][idx] += eps
            down[i][idx] -= eps
            g[idx] = (phi(up) - phi(down)) / (2 * eps)
        grads.append(g)
    return grads


def check(fn, *values, reference=None, rtol=1e-5, atol=1e-6):
    """Backprop == central differences for every input; forward == ``reference`` (NumPy)."""
    leaves = [bp.var(v, name=f"a{i}") for i, v in enumerate(values)]
    out = fn(*leaves)
    if reference is not None:
        np.testing.assert_allclose(out.value, reference(*[np.asarray(v, float) for v in values]),
                                   rtol=1e-12, atol=1e-12)
    loss = scalarize(out)
    loss.backward()
    for leaf, num in zip(leaves, numeric_grads(fn, values)):
        assert np.shape(leaf.grad) == np.shape(leaf.value), (leaf.name, np.shape(leaf.grad))
        if np.ndim(leaf.value) == 0:
            assert type(leaf.grad) is float
        np.testing.assert_allclose(leaf.grad, num, rtol=rtol, atol=atol, err_msg=leaf.name)
    return out


def arrays(shape, lo=-3.0, hi=3.0):
    """Floats in [lo, hi] with the given shape; shape () gives a Python float."""
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    if shape == ():
        return elements
    return hnp.arrays(np.float64, shape, elements=elements)


def away_from(a, kink):
    """Entries within 1e-3 of a kink moved 0.25 away from it (a float stays a float)."""
    moved = np.where(np.abs(np.subtract(a, kink)) < 1e-3, kink + 0.25, a)
    return float(moved) if np.ndim(a) == 0 else moved


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
two_broadcastable = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                      min_side=1, max_side=3)


# ----- elementwise binary ops with broadcasting ---------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("op", list(BINARY))
@FAST
@given(data=st.data(), bshapes=two_broadcastable)
def test_binary_ops_broadcast_both_operands(op, data, bshapes):
    sa, sb = bshapes.input_shapes
    a = data.draw(arrays(sa))
    b = data.draw(arrays(sb, 0.5, 3.0) if op == "div" else arrays(sb))
    if op == "div":
        b = b * data.draw(st.sampled_from([1.0, -1.0]))
    fn, ref = BINARY[op]
    out = check(fn, a, b, reference=ref)
    assert np.shape(out.value) == bshapes.result_shape


@pytest.mark.parametrize("op", list(BINARY))
@FAST
@given(data=st.data(), shape=shapes)
def test_binary_ops_with_numbers_and_arrays_on_either_side(op, data, shape):
    a = data.draw(arrays(shape, 0.5, 3.0))
    c = data.draw(st.floats(0.5, 3.0))
    arr = data.draw(arrays(shape, 0.5, 3.0))
    fn, ref = BINARY[op]
    check(lambda x: fn(x, c), a, reference=lambda x: ref(x, c))       # vertex op number
    check(lambda x: fn(c, x), a, reference=lambda x: ref(c, x))       # number op vertex
    if shape != ():
        check(lambda x: fn(x, arr), a, reference=lambda x: ref(x, arr))   # vertex op array
        check(lambda x: fn(arr, x), a, reference=lambda x: ref(arr, x))   # array op vertex
        out = fn(arr, bp.var(a))
        assert isinstance(out, bp.Var), "an array on the left must hand the operator to the vertex"


@FAST
@given(data=st.data(), shape=shapes)
def test_scalar_vertex_with_array(data, shape):
    """A scalar vertex broadcast against an array: its gradient is the sum over the copies."""
    s = data.draw(arrays((), 0.5, 2.0))
    a = data.draw(arrays(shape))
    check(lambda x, y: x * y + x, s, a, reference=lambda x, y: x * y + x)
    check(lambda x, y: y / x - x, s, a, reference=lambda x, y: y / x - x)


def test_same_vertex_on_both_sides_accumulates():
    for fn, expected in [(lambda x: x * x, 6.0), (lambda x: x + x, 2.0), (lambda x: x - x, 0.0),
                         (lambda x: x / x, 0.0), (lambda x: x * x * x, 27.0)]:
        x = bp.var(3.0)
        fn(x).backward()
        assert math.isclose(x.grad, expected, abs_tol=1e-12)


# ----- unary ops ----------------------------------------------------------------------------------
UNARY = {
    "neg": (lambda a: -a, np.negative, (-3, 3)),
    "exp": (bp.exp, np.exp, (-3, 3)),
    "log": (bp.log, np.log, (0.2, 4)),
    "sqrt": (bp.sqrt, np.sqrt, (0.2, 4)),
    "sin": (bp.sin, np.sin, (-3, 3)),
    "cos": (bp.cos, np.cos, (-3, 3)),
    "tanh": (bp.tanh, np.tanh, (-3, 3)),
    "sigmoid": (bp.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (-6, 6)),
    "relu": (bp.relu, lambda a: np.maximum(a, 0), (-3, 3)),
}


@pytest.mark.parametrize("op", list(UNARY))
@FAST
@given(data=st.data(), shape=shapes)
def test_unary_ops(op, data, shape):
    fn, ref, (lo, hi) = UNARY[op]
    a = data.draw(arrays(shape, lo, hi))
    if op == "relu":
        a = away_from(a, 0.0)
    check(fn, a, reference=ref)


def test_unary_functions_take_a_name():
    x = bp.var(0.5)
    for f in (bp.exp, bp.log, bp.sqrt, bp.sin, bp.cos, bp.tanh, bp.sigmoid, bp.relu):
        assert f(x, name="h").name == "h"
    assert bp.maximum(x, 0.0, name="m").name == "m"
    assert bp.sum(x, name="s").name == "s"
    assert bp.prod(x, x, name="p").name == "p"
    assert bp.wsum([x], [2.0], name="w").name == "w"
    assert bp.log_softmax(bp.var([1.0, 2.0]), name="q").name == "q"
    assert (x * 2).named("y(4)").name == "y(4)"


def test_sigmoid_is_stable_for_large_inputs():
    for v, expected in [(800.0, 1.0), (-800.0, 0.0)]:
        x = bp.var(v)
        s = bp.sigmoid(x)
        s.backward()
        assert s.value == pytest.approx(expected) and x.grad == 0.0


@pytest.mark.parametrize("n", [2, 3, -1, -2, 0.5, 1.5, 0])
@FAST
@given(data=st.data(), shape=shapes)
def test_pow(n, data, shape):
    lo = 0.3 if (n != int(n) or n < 0) else -3.0
    a = data.draw(arrays(shape, lo, 3.0))
    check(lambda x: x ** n, a, reference=lambda x: x ** n)


@pytest.mark.parametrize("base", [math.e, 2.0, 0.5, 10])
@FAST
@given(data=st.data(), shape=shapes)
def test_rpow(base, data, shape):
    a = data.draw(arrays(shape, -2.0, 2.0))
    check(lambda x: base ** x, a, reference=lambda x: base ** x)


def test_pow_rejects_a_vertex_exponent_and_rpow_a_bad_base():
    x = bp.var(2.0)
    with pytest.raises(TypeError, match="exp"):
        x ** bp.var(2.0)
    with pytest.raises(TypeError, match="positive"):
        (-2.0) ** x
    with pytest.raises(TypeError, match="positive"):
        0 ** x


# ----- maximum ------------------------------------------------------------------------------------
@FAST
@given(data=st.data(), bshapes=two_broadcastable)
def test_maximum_broadcast(data, bshapes):
    sa, sb = bshapes.input_shapes
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    for shift in (0.0, 0.0123, 0.0371, 0.111):   # move b off the kink a == b
        if np.all(np.abs(np.subtract(a, b + shift)) > 1e-3):
            break
    assume(np.all(np.abs(np.subtract(a, b + shift)) > 1e-3))
    check(bp.maximum, a, b + shift, reference=np.maximum)


@FAST
@given(data=st.data(), shape=shapes)
def test_maximum_with_a_number_on_either_side(data, shape):
    a = away_from(data.draw(arrays(shape)), 0.0)
    check(lambda x: bp.maximum(x, 0.0), a, reference=lambda x: np.maximum(x, 0.0))
    check(lambda x: bp.maximum(0.0, x), a, reference=lambda x: np.maximum(0.0, x))


def test_maximum_routes_the_gradient_to_one_input_on_a_tie():
    a, b = bp.var(1.0), bp.var(1.0)
    bp.maximum(a, b).backward()
    assert a.grad + b.grad == 1.0  # not 2: a tie does not duplicate the gradient


# ----- n-ary ops ----------------------------------------------------------------------------------
@FAST
@given(data=st.data(), n=st.integers(1, 4), shape=shapes)
def test_prod(data, n, shape):
    xs = [data.draw(arrays(shape)) for _ in range(n)]
    check(lambda *v: bp.prod(*v), *xs, reference=lambda *v: np.prod(np.stack(v), axis=0))


@FAST
@given(data=st.data())
def test_prod_broadcast_and_repeated_argument(data):
    a = data.draw(arrays(()))
    b = data.draw(arrays((3,)))
    check(lambda x, y: bp.prod(x, y, x), a, b, reference=lambda x, y: x * y * x)


@FAST
@given(data=st.data(), n=st.integers(1, 4), shape=shapes)
def test_wsum(data, n, shape):
    xs = [data.draw(arrays(shape)) for _ in range(n)]
    ws = [data.draw(st.floats(-3, 3)) for _ in range(n)]
    check(lambda *v: bp.wsum(list(v), ws), *xs,
          reference=lambda *v: np.sum([w * x for w, x in zip(ws, v)], axis=0))


def test_wsum_repeated_argument_and_length_mismatch():
    x = bp.var(2.0)
    bp.wsum([x, x], [3.0, -1.0]).backward()
    assert x.grad == 2.0
    with pytest.raises(TypeError, match="weights"):
        bp.wsum([x, x], [1.0])


# ----- reductions, indexing, linear algebra ----------------------------------------------------
@FAST
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
def test_sum_with_every_axis(data, shape):
    a = data.draw(arrays(shape))
    nd = len(shape)
    axis = data.draw(st.sampled_from([None, *range(nd), *range(-nd, 0), tuple(range(nd))]))
    check(lambda x: bp.sum(x, axis=axis), a, reference=lambda x: np.sum(x, axis=axis))


def test_sum_of_a_scalar():
    check(lambda x: bp.sum(x), 2.5, reference=np.sum)


@FAST
@given(data=st.data(), n=st.integers(1, 5))
def test_getitem_int_slice_and_negative(data, n):
    a = data.draw(arrays((n,)))
    k = data.draw(st.integers(-n, n - 1))
    check(lambda x: x[k], a, reference=lambda x: x[k])
    check(lambda x: x[1:], a, reference=lambda x: x[1:]) if n > 1 else None
    check(lambda x: x[::-1], a, reference=lambda x: x[::-1])


@FAST
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(2, 4))
def test_getitem_integer_arrays_with_repeats(data, n, k):
    """q[np.arange(n), y]: the negative log-likelihood's pick, labels may repeat."""
    q = data.draw(arrays((n, k)))
    y = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    check(lambda x: x[np.arange(n), y], q, reference=lambda x: x[np.arange(n), y])
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    check(lambda x: x[rows], q, reference=lambda x: x[rows])             # rows picked twice
    check(lambda x: x[:, [0, 0, 1]], q, reference=lambda x: x[:, [0, 0, 1]])
    check(lambda x: x[0, 1], q, reference=lambda x: x[0, 1])


def test_getitem_repeat_gets_both_gradients():
    v = bp.var([1.0, 2.0, 3.0])
    bp.sum(v[[0, 0, 2, 0]]).backward()
    np.testing.assert_array_equal(v.grad, [3.0, 0.0, 1.0])


def test_getitem_rejects_a_vertex_index():
    with pytest.raises(TypeError, match="index"):
        bp.var([1.0, 2.0])[bp.var(0.0)]


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
                 ((3, 1), (1, 2)), ((1,), (1, 3))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@FAST
@given(data=st.data())
def test_matmul_all_1d_2d_combinations(sa, sb, data):
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    check(lambda x, y: x @ y, a, b, reference=np.matmul)
    check(lambda x: x @ b, a, reference=lambda x: x @ b)       # vertex @ array
    check(lambda y: a @ y, b, reference=lambda y: a @ y)       # array @ vertex


def test_matmul_rejects_scalars_and_3d():
    with pytest.raises(bp.ShapeError):
        bp.var(2.0) @ bp.var([1.0, 2.0])
    with pytest.raises(bp.ShapeError):
        bp.var(np.ones((2, 2, 2))) @ bp.var(np.ones((2, 2)))


@FAST
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
def test_transpose(data, shape):
    a = data.draw(arrays(shape))
    check(lambda x: x.T, a, reference=np.transpose)
    check(bp.transpose, a, reference=np.transpose)


@FAST
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
def test_log_softmax(data, shape):
    a = data.draw(arrays(shape, -5.0, 5.0))

    def ref(x):
        return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
    out = check(bp.log_softmax, a, reference=ref)
    np.testing.assert_allclose(np.exp(out.value).sum(axis=-1), 1.0)


def test_log_softmax_is_stable():
    out = bp.log_softmax(bp.var([1000.0, 0.0, -1000.0]))
    assert np.all(np.isfinite(out.value))
    np.testing.assert_allclose(out.value[0], 0.0)


# ----- composites: a small network and chains of every op -------------------------------------------
@FAST
@given(data=st.data(), n=st.integers(1, 3))
def test_minibatch_network_with_nll(data, n):
    X = data.draw(arrays((n, 3)))
    W = data.draw(arrays((4, 3)))
    b = data.draw(arrays((4,)))
    y = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))

    def net(X, W, b):
        q = bp.log_softmax(bp.tanh(X @ W.T + b))
        return -bp.sum(q[np.arange(n), y])
    check(net, X, W, b)


def test_scalar_results_are_floats():
    x = bp.var(2)
    assert type(x.value) is float
    for out in (x + 1, 1 - x, x * np.float64(2.0), bp.sum(bp.var([1.0, 2.0])),
                bp.var([1.0, 2.0]) @ bp.var([3.0, 4.0]), bp.var([1.0, 2.0])[0]):
        assert type(out.value) is float, out


def test_comparisons_of_vertices_explain_what_to_use():
    x = bp.var(1.0)
    for compare in (lambda: x > 0, lambda: x < x, lambda: max(x, 0), lambda: 0 <= x):
        with pytest.raises(TypeError, match="maximum"):
            compare()


COVERED = set(BINARY) | set(UNARY) | {"pow", "rpow", "maximum", "prod", "wsum", "sum", "getitem",
                                      "matmul", "transpose", "log_softmax"}


def test_every_op_is_tested():
    """A new op in OPS needs a property test here (and an entry in COVERED)."""
    assert set(OPS) == COVERED, f"ops without a test: {sorted(set(OPS) - COVERED)}"


def test_iterating_over_a_vector_vertex():
    v = bp.var([1.0, -2.0, 3.0], "v")
    a, b, c = v
    assert (a.value, b.value, c.value) == (1.0, -2.0, 3.0)
    total = sum(v)            # Python's sum: 0 + v[0] + v[1] + v[2]
    (total * total).backward()
    np.testing.assert_array_equal(v.grad, [4.0, 4.0, 4.0])
    M = bp.var(np.ones((2, 3)))
    assert [row.shape for row in M] == [(3,), (3,)]
    with pytest.raises(TypeError, match="scalar vertex"):
        list(bp.var(1.0, "x"))
