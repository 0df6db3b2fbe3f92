"""Widgets that make the algorithms something to step through (ipywidgets, imported lazily).

path_explorer(output, source)  a slider over every path from source to output: the path is drawn
                               in red, with its product of local derivatives and the running sum,
                               which ends at the dynamic-programming value.
backprop_stepper(output)       a slider over the steps of the backward pass: at step k the first
                               k vertices (reverse topological order) have passed their gradient
                               back, and the drawing shows the gradients known so far.
modes_stepper(output, source)  forward mode beside reverse mode, one slider: forward mode sweeps
                               from the source, finding d vertex / d source for every vertex;
                               reverse mode sweeps from the output, finding d output / d vertex.
race(max_depth)                times the path sum against dynamic programming on product graphs.
time_race / plot_race          the same measurements as data and as a static matplotlib figure.
"""
from __future__ import annotations

import html
import itertools
import time

import numpy as np

from .backprop import backprop, edge_jacobian
from .drawing import GraphvizMissing, render, to_svg
from .graph import as_graph
from .paths import PerVertex, count_paths, dp_backward, dp_forward, path_product, path_sum, paths
from .values import format_value


def _fmt(v):
    return format_value(v, limit=64)  # a widget has room for a small matrix


def _arg(parent, child, k):
    """Which argument an edge is, when the same vertex feeds one op twice (as in x * x)."""
    if sum(p is parent for p in child.parents) > 1:
        return f"<sub>(as argument {k + 1})</sub>"
    return ""


def _svg(drawing):
    """The drawing as inline SVG for an HTML widget (or the install message)."""
    try:
        svg = to_svg(drawing.source)
    except GraphvizMissing as e:
        return f"<pre>{html.escape(str(e))}</pre>"
    return svg[svg.find("<svg"):]


def _slider_with_play(n, description, interval=900):
    import ipywidgets as w

    slider = w.IntSlider(value=0, min=0, max=n, step=1, description=description,
                         continuous_update=False, layout=w.Layout(width="420px"))
    play = w.Play(value=0, min=0, max=n, step=1, interval=interval, description="play")
    w.jslink((play, "value"), (slider, "value"))
    return slider, play


def path_explorer(output, source, max_paths=256):
    """Step through the paths from ``source`` to ``output`` one at a time.

    Shows up to ``max_paths`` paths (enumeration is lazy, so a huge graph is fine) and always
    says how many there are in all.
    """
    import ipywidgets as w

    g = as_graph(output)
    target = g.output
    total = count_paths(g, source, target)
    shown = list(itertools.islice(paths(g, source, target), max_paths))
    if not shown:
        return w.HTML(f"<b>There is no path from {html.escape(source.label())} to "
                      f"{html.escape(target.label())}.</b>")
    products = [path_product(p) for p in shown]
    running = list(itertools.accumulate(products))
    dp = dp_backward(g, target)[source]
    slider, play = _slider_with_play(len(shown), "path")
    slider.min = play.min = 1
    picture, text = w.HTML(), w.HTML()
    cache = {}

    def show(change=None):
        k = slider.value
        path = shown[k - 1]
        if k not in cache:
            cache[k] = _svg(render(g, grads=False, edge_labels=True, highlight=path))
        picture.value = cache[k]
        names = html.escape(path[0][0].label()) + "".join(
            f" →{_arg(parent, child, j)} {html.escape(child.label())}" for parent, child, j in path)
        factors = " · ".join(_fmt(edge_jacobian(e)) for e in path)
        text.value = (
            f"<b>Path {k} of {total}</b>: {names}<br>"
            f"product of local derivatives: {factors} = <b>{_fmt(products[k - 1])}</b><br>"
            f"running sum of paths 1..{k}: <b>{_fmt(running[k - 1])}</b>"
            + (f" (showing the first {len(shown)} of {total} paths)" if total > len(shown) else "")
            + f"<br>dynamic programming (backprop) gives d{html.escape(target.label())}/"
              f"d{html.escape(source.label())} = <b>{_fmt(dp)}</b>")

    slider.observe(show, names="value")
    show()
    return w.VBox([w.HBox([play, slider]), text, picture])


def backward_steps(output):
    """The backward pass one vertex at a time: a list of (vertex, [(parent, k, term)], grads so far).

    Step 0 is the seed (d output / d output = 1); step k is the k-th vertex that passes its
    gradient back (reverse topological order), adding the term p^i · z(j, i) to each parent j
    that needs a gradient. The steps are recorded from :func:`bpkit.backprop.backprop`, the
    loop ``backward()`` runs, so the last step holds the gradients ``backward()`` stores.
    """
    g = as_graph(output)
    seed = 1.0 if type(g.output.value) is float else np.ones(g.output.shape)
    steps = []

    def known(grads):
        so_far = PerVertex()
        for node in g.nodes:
            if node in grads:
                so_far[node] = grads[node]
        return so_far

    def record(node, terms, grads):
        steps.append((node, terms, known(grads)))

    steps.append((g.output, [], known({g.output: seed})))
    backprop(g.output, seed, g.nodes, on_step=record)
    return steps


def backprop_stepper(output):
    """A slider over the backward pass; the drawing shows the gradients known at each step."""
    import ipywidgets as w

    g = as_graph(output)
    steps = backward_steps(g)
    slider, play = _slider_with_play(len(steps) - 1, "step")
    picture, text = w.HTML(), w.HTML()
    cache = {}

    def show(change=None):
        k = slider.value
        node, terms, known = steps[k]
        if k not in cache:
            edges = [(p, c, j) for p, c, j in g.edges if c is node] if k else []
            cache[k] = _svg(render(g, grads=known, highlight=[node] + edges))
        picture.value = cache[k]
        if k == 0:
            text.value = (f"<b>Step 0</b>: start at the output: d{html.escape(node.label())}/"
                          f"d{html.escape(node.label())} = 1")
            return
        before = steps[k - 1][2][node]
        lines = []
        for p, j, t in terms:
            z = edge_jacobian((p, node, j))
            numbers = f"{_fmt(before)} · {_fmt(z)} = " if type(z) is float else ""
            lines.append(f"p[{html.escape(p.label())}] += p[{html.escape(node.label())}] · "
                         f"z({html.escape(p.label())}, {html.escape(node.label())}) = "
                         f"{numbers}<b>{_fmt(t)}</b>")
        text.value = (f"<b>Step {k} of {len(steps) - 1}</b>: {html.escape(node.label())} passes "
                      "its gradient back to its inputs<br>" + "<br>".join(lines))

    slider.observe(show, names="value")
    show()
    return w.VBox([w.HBox([play, slider]), text, picture])


def forward_steps(output, source):
    """Forward mode one vertex at a time: a list of (vertex, [(parent, k, term)], T so far).

    Step 0 is the seed T(source) = 1; step k is the k-th vertex (topological order) whose
    T = d vertex / d source is complete, the sum of the terms z(parent, vertex) T(parent).
    Recorded from :func:`bpkit.paths.dp_forward`, so the last step holds its result.
    """
    g = as_graph(output)
    steps = []

    def record(node, terms, T):
        so_far = PerVertex()
        for n, v in T.items():
            so_far[n] = v
        steps.append((node, terms, so_far))

    start = PerVertex()
    start[source] = dp_forward(g, source)[source]   # the identity: 1 for a scalar
    steps.append((source, [], start))
    dp_forward(g, source, on_step=record)
    return steps


def _step_text(mode, k, steps, rule):
    if k >= len(steps):
        return f"<b>{mode}</b>: done after {len(steps) - 1} steps"
    node, terms, _ = steps[k]
    if k == 0:
        return f"<b>{mode}, step 0</b>: start at {html.escape(node.label())} with 1"
    lines = [rule(p, node, t) for p, _, t in terms]
    return (f"<b>{mode}, step {k} of {len(steps) - 1}</b>: {html.escape(node.label())}<br>"
            + "<br>".join(lines))


def modes_stepper(output, source):
    """Forward mode (from ``source``) beside reverse mode (from the output), one slider.

    Forward mode's step k completes d vertex / d source for one more vertex, in topological
    order; reverse mode's step k passes the gradient of one more vertex back, in reverse
    order. Both end with d output / d source, found by different sweeps.
    """
    import ipywidgets as w

    g = as_graph(output)
    fwd, bwd = forward_steps(g, source), backward_steps(g)
    slider, play = _slider_with_play(max(len(fwd), len(bwd)) - 1, "step")
    texts = [w.HTML(layout=w.Layout(width="50%")), w.HTML(layout=w.Layout(width="50%"))]
    pictures = [w.HTML(layout=w.Layout(width="50%")), w.HTML(layout=w.Layout(width="50%"))]
    cache = {}
    s, o = html.escape(source.label()), html.escape(g.output.label())
    e = html.escape

    def show(change=None):
        k = slider.value
        for side, (steps, label) in enumerate([(fwd, f"d/d{source.label()}"), (bwd, "grad")]):
            node, terms, known = steps[min(k, len(steps) - 1)]
            if (side, k) not in cache:
                used = [(p, node, j) for p, j, _ in terms] if 0 < k < len(steps) else []
                svg = _svg(render(g, grads=known, grad_label=label, highlight=[node] + used))
                # two drawings side by side: each shrinks to its half of the width
                cache[side, k] = svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
            pictures[side].value = cache[side, k]
        texts[0].value = _step_text(f"Forward mode: d vertex / d{s}", k, fwd, lambda p, n, t:
                                    f"T[{e(n.label())}] += z({e(p.label())}, {e(n.label())}) · "
                                    f"T[{e(p.label())}] = <b>{_fmt(t)}</b>")
        texts[1].value = _step_text(f"Reverse mode: d{o} / d vertex", k, bwd, lambda p, n, t:
                                    f"p[{e(p.label())}] += p[{e(n.label())}] · "
                                    f"z({e(p.label())}, {e(n.label())}) = <b>{_fmt(t)}</b>")

    slider.observe(show, names="value")
    show()
    return w.VBox([w.HBox([play, slider]), w.HBox(texts), w.HBox(pictures)])


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_race(depths, repeats=3, max_path_depth=16):
    """Median seconds of the path sum and of dynamic programming on product graphs.

    Returns {"depth", "paths", "path_sum_s", "dp_s"}; the path sum is skipped (None) above
    ``max_path_depth`` because it needs 2^depth products.
    """
    from .examples import product_graph

    result = {"depth": [], "paths": [], "path_sum_s": [], "dp_s": []}
    for L in depths:
        out = product_graph(L)
        g = out.graph()
        x = g["x"]
        result["depth"].append(int(L))
        result["paths"].append(2 ** int(L))
        result["path_sum_s"].append(
            _median_time(lambda: path_sum(g, x, out), repeats) if L <= max_path_depth else None)
        result["dp_s"].append(_median_time(lambda: dp_backward(g)[x], repeats))
    return result


def plot_race(result, ax=None):
    """Time against depth on a log scale, with the 2^L and L slopes for reference."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2))
    else:
        fig = ax.figure
    depth = np.array(result["depth"], dtype=float)
    ps = [(d, t) for d, t in zip(result["depth"], result["path_sum_s"]) if t is not None]
    if ps:
        d, t = map(np.array, zip(*ps))
        ax.plot(d, t, "o-", color="#d62728", label="path sum (every path)")
        ax.plot(d, t[-1] * 2.0 ** (d - d[-1]), ":", color="#d62728", alpha=0.6,
                label="∝ 2^L (number of paths)")
    dp = np.array(result["dp_s"])
    ax.plot(depth, dp, "s-", color="#1f77b4", label="dynamic programming (backprop)")
    ax.plot(depth, dp[-1] * depth / depth[-1], ":", color="#1f77b4", alpha=0.6, label="∝ L")
    ax.set_yscale("log")
    ax.set_xlabel("depth L of the product graph (2^L paths)")
    ax.set_ylabel("seconds (median)")
    ax.set_title("Summing over paths versus dynamic programming")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    return fig


def race(max_depth=14, repeats=3):
    """A depth slider and a button: time both algorithms up to that depth and plot them."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    depth = w.IntSlider(value=min(10, max_depth), min=2, max=max_depth, description="max depth")
    button = w.Button(description="Race!", button_style="primary")
    out = w.Output()

    def run(_=None):
        button.disabled = True
        out.clear_output(wait=True)
        with out:
            result = time_race(range(1, depth.value + 1), repeats=repeats)
            fig = plot_race(result)
            display(fig)
            plt.close(fig)
            last = len(result["depth"]) - 1
            print(f"depth {result['depth'][last]}: {result['paths'][last]} paths; path sum "
                  f"{result['path_sum_s'][last]:.3g} s, dynamic programming {result['dp_s'][last]:.3g} s")
        button.disabled = False

    button.on_click(run)
    return w.VBox([w.HBox([depth, button]), out])
