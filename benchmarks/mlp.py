"""Vector networks: an MLP 784-512-512-10 (ReLU, log-softmax + NLL), forward + backward.

The same function on the same numbers, implemented in several ways:
  numpy    hand-written NumPy, the way one writes it for a homework (fused softmax-NLL gradient,
           no gradient for the input images); numpy+dX: the same plus the input gradient, the
           work bpkit.layers does; numpy-kept: the same arithmetic with every intermediate kept
           in an array of its own, as the graph engine keeps every value and gradient;
  graph    bpkit's graph engine: bp.var weights, @, relu, log_softmax, indexing, bp.sum;
  layers   bpkit.layers: Linear, ReLU, LogSoftmax, NLL in a Sequential;
  torch    PyTorch on the CPU, when it is installed (autograd, float64 like the others).
Weights are stored (in, out) for numpy/graph/torch and (out, in) for bpkit.layers (its convention).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tracemalloc

import numpy as np

import bpkit as bp
from bpkit import layers as L

from .common import ratio, summary, timed

SIZES = (784, 512, 512, 10)


def make_problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)) for n_in, n_out in zip(SIZES, SIZES[1:])]
    bs = [rng.normal(0, 0.1, n_out) for n_out in SIZES[1:]]
    X = rng.normal(size=(batch, SIZES[0]))
    y = rng.integers(0, SIZES[-1], batch)
    return Ws, bs, X, y


# ----- hand-written NumPy ----------------------------------------------------------------------
def numpy_step(Ws, bs, X, y, input_grad=False):
    """Loss and gradients (dW, db per layer) of the summed NLL, written out by hand.
    ``input_grad=True`` also computes the gradient for the input X, as bpkit.layers does."""
    (W1, W2, W3), (b1, b2, b3) = Ws, bs
    h1 = X @ W1 + b1
    r1 = np.maximum(h1, 0)
    h2 = r1 @ W2 + b2
    r2 = np.maximum(h2, 0)
    logits = r2 @ W3 + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    loss = -q[rows, y].sum()
    g3 = np.exp(q)                       # d loss / d logits = softmax - onehot
    g3[rows, y] -= 1
    dW3, db3 = r2.T @ g3, g3.sum(axis=0)
    g2 = (g3 @ W3.T) * (h2 > 0)
    dW2, db2 = r1.T @ g2, g2.sum(axis=0)
    g1 = (g2 @ W2.T) * (h1 > 0)
    dW1, db1 = X.T @ g1, g1.sum(axis=0)
    if input_grad:
        g1 @ W1.T  # d loss / d X: the same work Linear.backward does for the first layer
    return loss, [dW1, dW2, dW3], [db1, db2, db3]


def numpy_kept_step(Ws, bs, X, y):
    """``numpy_step`` with every intermediate array a name of its own, as the graph engine keeps
    each vertex's value and gradient: ``X @ W1`` and ``+ b1`` two arrays, the ReLU's gradient a
    new one (NumPy cannot reuse a temporary that is still referred to). The same arithmetic;
    what differs from ``numpy_step`` is only the memory touched."""
    (W1, W2, W3), (b1, b2, b3) = Ws, bs
    m1 = X @ W1
    h1 = m1 + b1
    r1 = np.maximum(h1, 0)
    m2 = r1 @ W2
    h2 = m2 + b2
    r2 = np.maximum(h2, 0)
    m3 = r2 @ W3
    logits = m3 + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    loss = -q[rows, y].sum()
    g3 = np.exp(q)
    g3[rows, y] -= 1
    dW3, db3 = r2.T @ g3, g3.sum(axis=0)
    g_r2 = g3 @ W3.T
    g2 = g_r2 * (h2 > 0)
    dW2, db2 = r1.T @ g2, g2.sum(axis=0)
    g_r1 = g2 @ W2.T
    g1 = g_r1 * (h1 > 0)
    dW1, db1 = X.T @ g1, g1.sum(axis=0)
    return loss, [dW1, dW2, dW3], [db1, db2, db3]  # every name above is alive until here


# ----- bpkit's graph engine --------------------------------------------------------------------
def graph_step(Ws, bs, X, y):
    W = [bp.var(w) for w in Ws]
    b = [bp.var(v) for v in bs]
    h = X
    for k in range(3):
        h = h @ W[k] + b[k]
        if k < 2:
            h = bp.relu(h)
    q = bp.log_softmax(h)
    loss = -bp.sum(q[np.arange(len(y)), y])
    loss.backward()
    return loss.value, [w.grad for w in W], [v.grad for v in b]


# ----- bpkit.layers ------------------------------------------------------------------------------
def make_layers(Ws, bs):
    return L.Sequential(L.Linear(Ws[0].T, bs[0]), L.ReLU(), L.Linear(Ws[1].T, bs[1]), L.ReLU(),
                        L.Linear(Ws[2].T, bs[2]), L.LogSoftmax())


def layers_step(net, X, y):
    nll = L.NLL()
    loss = nll.forward(net.forward(X), y)
    net.backward(nll.backward())
    lin = [net.layers[i] for i in (0, 2, 4)]
    return loss, [layer.dW.T for layer in lin], [layer.db for layer in lin]


# ----- PyTorch -----------------------------------------------------------------------------------
def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def make_torch(Ws, bs, X, y):
    import torch
    W = [torch.tensor(w, requires_grad=True) for w in Ws]
    b = [torch.tensor(v, requires_grad=True) for v in bs]
    return W, b, torch.tensor(X), torch.tensor(y)


def torch_step(W, b, X, y):
    import torch
    for p in W + b:
        p.grad = None
    h = X
    for k in range(3):
        h = h @ W[k] + b[k]
        if k < 2:
            h = torch.relu(h)
    q = torch.log_softmax(h, dim=1)
    loss = -q[torch.arange(len(y)), y].sum()
    loss.backward()
    return loss.item(), [w.grad for w in W], [v.grad for v in b]


def _max_difference(a, b):
    (la, dWa, dba), (lb, dWb, dbb) = a, b
    diffs = [abs(float(la) - float(lb))]
    diffs += [float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(dWa + dba, dWb + dbb)]
    return max(diffs)


def compare(batch, repeats=7, seed=0, use_torch=True):
    """Interleaved repetitions of one forward + backward in every implementation."""
    Ws, bs, X, y = make_problem(batch, seed)
    net = make_layers(Ws, bs)
    runs = {"numpy": lambda: numpy_step(Ws, bs, X, y),
            "graph": lambda: graph_step(Ws, bs, X, y),
            "layers": lambda: layers_step(net, X, y),
            "numpy+dX": lambda: numpy_step(Ws, bs, X, y, input_grad=True),
            "numpy-kept": lambda: numpy_kept_step(Ws, bs, X, y)}
    torch_info = None
    if use_torch and torch_available():
        import torch
        tW, tb, tX, ty = make_torch(Ws, bs, X, y)
        runs["torch"] = lambda: torch_step(tW, tb, tX, ty)
        torch_info = {"version": torch.__version__, "threads": torch.get_num_threads()}
    reference = runs["numpy"]()
    check = {}
    for name, run in runs.items():
        got = run()
        if name == "torch":
            got = (got[0], [t.numpy() for t in got[1]], [t.numpy() for t in got[2]])
        check[name] = _max_difference(reference, got)
        run()  # warm-up
    times = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        for name in order:
            t, _ = timed(runs[name])
            times[name].append(t)
    out = {"batch": batch, "repeats": repeats, "torch": torch_info,
           "max_abs_difference_from_numpy": check,
           "implementations": {name: summary(ts) for name, ts in times.items()}}
    base = out["implementations"]["numpy"]["median"]
    out["ratio_over_numpy"] = {name: ratio(s["median"], base)
                               for name, s in out["implementations"].items()}
    per_round = {}
    for name in names:
        rs = sorted(a / b for a, b in zip(times[name], times["numpy"]))
        per_round[name] = rs[len(rs) // 2]
    out["ratio_over_numpy_per_round_median"] = per_round
    out["memory_per_step"] = {name: memory_per_step(runs[name]) for name in ("numpy", "graph")}
    return out


def memory_per_step(step, rounds=5):
    """What one call of ``step`` does to memory: its peak of NumPy and Python allocations
    (tracemalloc, MB) and the page faults it causes (fresh pages touched, per call)."""
    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds
    tracemalloc.start()
    try:
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"peak_mb": peak / 1e6, "page_faults": faults}


# glibc's malloc gives freed memory back to the system when a lot of it is free at the top of the
# heap, so the next step must fault fresh, zeroed pages in again. These two settings make it keep
# what it has (https://man7.org/linux/man-pages/man3/mallopt.3.html).
KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**30)}


def compare_keeping_freed_memory(batch, repeats=7, seed=0, use_torch=True, threads=1):
    """``compare`` in a fresh Python whose allocator keeps freed memory (``KEEP_FREED_MEMORY``):
    the same work, without the cost of faulting fresh pages in on every step. bpkit keeps every
    vertex's value and gradient until the step ends, so it touches more fresh memory per step
    than hand-written NumPy, whose temporaries are freed and reused at once."""
    code = ("import json, sys; from threadpoolctl import threadpool_limits; "
            "from benchmarks.mlp import compare\n"
            f"with threadpool_limits(limits={int(threads)}):\n"
            f"    r = compare({int(batch)}, repeats={int(repeats)}, seed={int(seed)}, use_torch={bool(use_torch)})\n"
            "print(json.dumps(r))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, **KEEP_FREED_MEMORY, "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["allocator"] = KEEP_FREED_MEMORY
    return result
