"""The widgets' data, without a browser (tests/test_browser.py checks them rendered in JupyterLab)."""
import numpy as np
import pytest

from bpkit import examples as ex
from bpkit import widgets
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
    order = [n for n in reversed(out.graph().nodes) if n.op is not None]
    assert [node for node, _, _ in steps[1:]] == order


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
    result = widgets.time_race([1, 2, 3, 17], repeats=1, max_path_depth=3)
    assert result["depth"] == [1, 2, 3, 17] and result["paths"] == [2, 4, 8, 2 ** 17]
    assert result["path_sum_s"][-1] is None and all(t > 0 for t in result["path_sum_s"][:3])
    assert all(t > 0 for t in result["dp_s"])
    fig = widgets.plot_race(result)
    assert fig.axes[0].get_yscale() == "log"
