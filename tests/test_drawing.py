"""Drawings: SVG through Graphviz's dot (required: a missing dot FAILS here, it is not skipped),
labels in the DOT text, deterministic DOT, highlighted paths, and the message without dot."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import graphviz
import numpy as np
import pytest

import bpkit as bp
from bpkit import drawing
from bpkit import examples as ex
from bpkit.paths import dp_backward, paths


def edge_lines(source):
    return [line.strip() for line in source.splitlines() if "->" in line]


def test_dot_is_installed():
    assert shutil.which("dot"), ("Graphviz's `dot` program is not installed: run ./course test "
                                 "(installs it as root on Debian) or apt-get install graphviz")


def test_render_gives_svg():
    d = ex.reciprocal()
    d.backward()
    drawn = bp.render(d)
    assert isinstance(drawn, graphviz.Digraph)
    svg = drawn.svg()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
    bundle = drawn._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert "grad 0.25" in svg   # the label made it through dot
    assert bp.to_svg("digraph { a -> b }").count("<g id=\"node") == 2


def test_labels_show_names_ops_values_and_gradients():
    d = ex.reciprocal()
    before = bp.render(d).source
    assert "grad" not in before
    d.backward()
    src = bp.render(d).source
    for text in ("<B>x</B>", "<B>y</B>", "<B>d</B>", "e^x", "grad 0.25", "grad -0.25", ">0.5<", ">2<"):
        assert text in src, text
    assert "grad" not in bp.render(d, grads=False).source
    assert "e^x" not in bp.render(d, show_op=False).source


def test_vector_vertices_show_their_shape():
    L = ex.decoupled_network()
    L.backward()
    src = bp.render(L).source
    assert "shape (3,)" in src and "array of shape (3, 3)" in src
    assert "[2., 1., 2.]" in src or "[2, 1, 2]" in src


def test_edge_labels_are_local_derivatives():
    d = ex.reciprocal()
    src = bp.render(d, edge_labels=True).source
    labels = [re.search(r"label=(\S+?)[ \]]", line).group(1) for line in edge_lines(src)]
    assert sorted(labels) == sorted(["-1", "1", "1", "1", "0.5", "-0.25"])
    L = ex.decoupled_network()
    assert "J 3×9" in bp.render(L, edge_labels=True).source   # dh1/dW: 3 x (3*3)


def test_dot_is_deterministic():
    def build():
        L = ex.sin_cos_loss_graph()
        L.backward()
        return bp.render(L, edge_labels=True, title="Fig 11.10").source
    assert build() == build()
    o1, o2 = ex.product_graph(5), ex.product_graph(5)
    assert bp.render(o1).source == bp.render(o2.graph()).source
    assert "n0" in build() and "0x" not in build()   # no object addresses


def test_highlighted_path_edges_are_colored():
    o = ex.product_graph(depth=3, x=1.0)
    g = o.graph()
    path = next(iter(paths(g, g["x"], o)))
    src = bp.render(g, highlight=path).source
    colored = [line for line in edge_lines(src) if drawing.HIGHLIGHT in line]
    assert len(colored) == len(path) == 3
    ids = {id(n): f"n{i}" for i, n in enumerate(g.nodes)}
    for parent, child, _ in path:
        assert any(line.startswith(f"{ids[id(parent)]} -> {ids[id(child)]}") for line in colored)
    # x -> h(2,1) has two edges (x * x); only the one on the path is colored
    first = f"{ids[id(path[0][0])]} -> {ids[id(path[0][1])]}"
    twins = [line for line in edge_lines(src) if line.split(" [")[0] == first]
    assert len(twins) == 2 and sum(drawing.HIGHLIGHT in line for line in twins) == 1
    vertex_src = bp.render(g, highlight=[g["x"]]).source
    assert not any(drawing.HIGHLIGHT in line for line in edge_lines(vertex_src))
    assert vertex_src.count(drawing.HIGHLIGHT) == 1


def test_partial_gradients_from_a_mapping():
    d = ex.reciprocal()
    S = dp_backward(d.graph())
    src = bp.render(d, grads=S).source
    assert "grad 0.25" in src and "grad -0.25" in src
    assert d.graph()["x"].grad is None   # drawing did not run backward


def test_options_and_aliases():
    d = ex.reciprocal()
    assert "rankdir=TB" in bp.render(d, rankdir="TB").source
    assert "Fig 11.1" in bp.render(d, title="Fig 11.1").source
    assert bp.draw is bp.render
    assert bp.render(d.graph()).source == bp.render(d).source
    assert not hasattr(bp.Graph, "draw")   # the engine does not know about drawings


def test_without_dot_the_drawing_explains_how_to_install(monkeypatch, tmp_path):
    d = ex.reciprocal()
    drawn = bp.render(d)
    monkeypatch.setenv("PATH", str(tmp_path))   # an empty directory: no dot anywhere
    bundle = drawn._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    text = bundle["text/plain"]
    assert "apt-get install graphviz" in text and "brew install graphviz" in text
    assert drawn.source in text
    with pytest.raises(drawing.GraphvizMissing, match="not installed"):
        drawn.svg()


def test_vertices_with_html_characters_are_escaped():
    x = bp.var(np.array([1.0, 2.0]), "<x & y>")
    src = bp.render(bp.sum(x)).source
    assert "&lt;x &amp; y&gt;" in src
    bp.render(bp.sum(x)).svg()   # dot accepts it


def test_highlight_one_vertex_without_a_list():
    L = ex.decoupled_network()
    h1 = L.graph()["h1"]                 # a vector vertex
    assert bp.render(L, highlight=h1).source == bp.render(L, highlight=[h1]).source
    assert bp.render(L, highlight=h1).source.count(drawing.HIGHLIGHT) == 1
    x = ex.reciprocal().graph()["x"]     # a scalar vertex
    assert bp.render(x, highlight=x).source.count(drawing.HIGHLIGHT) == 1
