"""The widgets' data, without a browser (tests/test_browser.py checks them rendered in JupyterLab)."""
import math

import numpy as np
import pytest

import bpkit as bp
from bpkit import examples as ex
from bpkit import paths, widgets
from bpkit.paths import count_paths, dp_backward


@pytest.mark.parametrize("build", [ex.sin_cos_graph, ex.decoupled_network, ex.mlp_loss,
                                   lambda: ex.product_graph(4, 1.1)])
def test_the_stepper_ends_with_the_gradients_of_backward(build):
    out = build()
    steps = widgets.backward_steps(out)
    known = steps[-1][2]
    out.backward()
    for node in out.graph().nodes:
        if node.requires_grad:
            assert np.allclose(known[node], node.grad)
    # every step hands a gradient back along the edges into one vertex, in reverse topological order
    order = [n for n in reversed(out.graph().nodes) if n.op is not None and n.requires_grad]
    assert [node for node, _, _ in steps[1:]] == order


def test_the_stepper_gives_constants_no_gradient_as_backward_does():
    """x * exp(c) for a constant c: exp(c) needs no gradient, so neither backward() nor the
    stepper gives it one (the stepper once had its own loop that did)."""
    x, c = bp.var(2.0, "x"), bp.constant(0.5)
    e = bp.exp(c, name="e")
    out = (x * e).named("out")
    steps = widgets.backward_steps(out)
    out.backward()
    final = steps[-1][2]
    assert e not in final and c not in final and e.grad is None and c.grad is None
    assert final.by_name() == {"out": 1.0, "x": x.grad} == {"out": 1.0, "x": math.exp(0.5)}
    assert [node for node, _, _ in steps[1:]] == [out]          # exp(c) is not a step
    assert [(p, k) for p, k, _ in steps[1][1]] == [(x, 0)]      # only the edge from x
    box = widgets.backprop_stepper(out)
    slider = box.children[0].children[1]
    slider.value = slider.max
    assert "p[x]" in box.children[1].value and "p[e]" not in box.children[1].value

def test_the_path_explorer_counts_every_path_and_ends_at_the_dp_value():
    out = ex.product_graph(5, 1.1)
    g = out.graph()
    box = widgets.path_explorer(out, g["x"])
    slider = box.children[0].children[1]
    assert (slider.min, slider.max) == (1, count_paths(g, g["x"], out)) == (1, 32)
    slider.value = slider.max
    text = box.children[1].value
    assert "Path 32 of 32" in text
    dp = f"{dp_backward(g)[g['x']]:.6g}"
    assert text.count(dp) == 2, text  # the running sum after the last path, and the DP value
    assert "<svg" in box.children[2].value


def test_race_data_and_plot():
    """The shape of the race's data, not how fast anything ran."""
    result = widgets.time_race([1, 2, 3, 17], repeats=1, max_path_depth=3)
    assert sorted(result) == ["depth", "dp_s", "path_sum_s", "paths"]
    assert result["depth"] == [1, 2, 3, 17] and result["paths"] == [2, 4, 8, 2 ** 17]
    assert result["path_sum_s"][-1] is None   # 2^17 paths: above max_path_depth, not run
    for t in result["path_sum_s"][:3] + result["dp_s"]:
        assert type(t) is float and math.isfinite(t) and t >= 0
    assert len(result["dp_s"]) == 4
    fig = widgets.plot_race(result)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["path sum (every path)"].get_xdata()) == [1, 2, 3]
    assert list(lines["dynamic programming (backprop)"].get_xdata()) == [1, 2, 3, 17]


@pytest.mark.parametrize("build", [ex.sin_cos_graph, lambda: ex.product_graph(4, 1.1)])
def test_forward_steps_end_with_dp_forward_and_follow_the_topological_order(build):
    out = build()
    g = out.graph()
    source = g.leaves[0]
    steps = widgets.forward_steps(out, source)
    assert steps[0][0] is source and steps[0][2][source] == 1.0
    T = paths.dp_forward(g, source)
    final = steps[-1][2]
    assert sorted(n.label() for n, _ in final.items()) == sorted(n.label() for n, _ in T.items())
    for node, value in T.items():
        assert np.isclose(final[node], value)
    reached = [n for n in g.nodes if n in T and n is not source]
    assert [node for node, _, _ in steps[1:]] == reached
    # each step's terms add up to that vertex's T
    for node, terms, known in steps[1:]:
        assert np.isclose(sum(t for _, _, t in terms), known[node])


def test_the_modes_stepper_meets_at_the_same_derivative():
    out = ex.sin_cos_graph()
    g = out.graph()
    source = g["y(1)"]
    box = widgets.modes_stepper(out, source)
    slider = box.children[0].children[1]
    fwd, bwd = widgets.forward_steps(out, source), widgets.backward_steps(out)
    assert slider.max == max(len(fwd), len(bwd)) - 1
    assert "step 0" in box.children[1].children[0].value
    slider.value = slider.max
    texts = [t.value for t in box.children[1].children]
    assert any("done" in t for t in texts) or all("step" in t for t in texts)
    pictures = [p.value for p in box.children[2].children]
    assert all("<svg" in p or "Graphviz" in p for p in pictures)
    assert fwd[-1][2][g.output] == pytest.approx(bwd[-1][2][source])
    assert "d/dy(1)" in pictures[0] or "Graphviz" in pictures[0]
