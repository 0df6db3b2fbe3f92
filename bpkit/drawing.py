"""Drawing graphs with Graphviz: values, gradients, local derivatives, highlighted paths.

:func:`render` builds the DOT description (pure Python, deterministic: the same graph always
gives the same text). :func:`to_svg` is the one place where DOT becomes SVG; today it runs
Graphviz's ``dot`` program through the ``graphviz`` package. Notebooks display the object that
:func:`render` returns; it shows as SVG, or, without ``dot``, as a message saying how to install
it (the DOT text stays available as ``.source``).
"""
from __future__ import annotations

import html
import math

import numpy as np

from .backprop import edge_jacobian
from .graph import Var, as_graph
from .ops import OPS
from .values import format_value

INSTALL_HINT = (
    "Graphviz's `dot` program is not installed, so this graph cannot be drawn.\n"
    "Install it, then run the cell again:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "  conda:         conda install -c conda-forge graphviz\n"
    "(./course start and ./course test install it for you when run as root on Debian.)"
)

HIGHLIGHT = "#d62728"
LEAF_FILL = "#e8f1fb"
CONST_FILL = "#f2f2f2"
NODE_FILL = "#ffffff"
GRAD_COLOR = "#b35900"


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` program is not installed."""


def to_svg(source: str) -> str:
    """DOT text -> SVG text. The only function in bpkit that starts a process."""
    import graphviz

    try:
        return graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(INSTALL_HINT) from None


def _make_drawing_class():
    import graphviz

    class Drawing(graphviz.Digraph):
        """A ``graphviz.Digraph`` that displays through :func:`to_svg`."""

        def _repr_mimebundle_(self, include=None, exclude=None, **_):
            try:
                # a fixed text/plain, or Jupyter would store the object's address (which changes
                # every run) next to the SVG and saved outputs would never compare equal
                return {"image/svg+xml": to_svg(self.source), "text/plain": "<bpkit graph drawing>"}
            except GraphvizMissing as e:
                return {"text/plain": f"{e}\n\nDOT source:\n{self.source}"}

        def svg(self) -> str:
            return to_svg(self.source)

    return Drawing


_Drawing = None


def _fmt(v, digits=4):
    return format_value(v, digits=digits, limit=4)


def _symbol(node):
    """How the drawing names an op: x^2 shows as "^2", math.e ** x as "e^x"."""
    if node.op == "pow":
        return f"^{node.attrs['exponent']:g}"
    if node.op == "rpow":
        base = node.attrs["base"]
        return "e^x" if base == math.e else f"{base:g}^x"
    return OPS[node.op].symbol if node.op is not None else None


def _node_label(node, grad, show_op, grad_label="grad"):
    symbol = _symbol(node)
    title = node.label() if node.name is not None or symbol is None else symbol
    rows = [f'<TR><TD><B>{html.escape(title)}</B></TD></TR>']
    if show_op and symbol is not None and node.name is not None:
        rows.append(f'<TR><TD><FONT POINT-SIZE="10">{html.escape(symbol)}</FONT></TD></TR>')
    if not (node.is_constant and node.name is None):
        rows.append(f'<TR><TD>{html.escape(_fmt(node.value))}</TD></TR>')
    if type(node.value) is not float and np.asarray(node.value).size <= 4:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">shape {node.shape}</FONT></TD></TR>')
    if grad is not None:
        rows.append(f'<TR><TD><FONT COLOR="{GRAD_COLOR}">{html.escape(grad_label)} {html.escape(_fmt(grad))}'
                    f'</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + \
        "".join(rows) + "</TABLE>>"


def render(graph, *, grads=True, edge_labels=False, highlight=(), show_op=True,
           rankdir="LR", title=None, grad_label="grad"):
    """Draw a graph (a :class:`Graph` or its output vertex) as a ``graphviz.Digraph``.

    grads        True: show ``.grad`` of vertices that have one; or a mapping from vertices to
                 the gradients to show (e.g. those known part-way through a backward pass)
    edge_labels  label every edge with its local derivative z(i, j) (Jacobian shape for vectors)
    highlight    vertices and/or edges ``(parent, child, k)`` to draw in red, e.g. a path from
                 :func:`bpkit.paths.paths`
    rankdir      "LR" (left to right) or "TB"
    grad_label   the word before the numbers given in ``grads`` (e.g. "d/dx" in forward mode)
    """
    global _Drawing
    if _Drawing is None:
        _Drawing = _make_drawing_class()
    g = as_graph(graph)
    marked_nodes, marked_edges = set(), set()
    if isinstance(highlight, Var):
        highlight = [highlight]  # one vertex (iterating over a vector vertex gives its entries)
    for item in highlight:
        if isinstance(item, Var):
            marked_nodes.add(id(item))
        else:
            parent, child, k = item
            marked_edges.add((id(parent), id(child), k))
            marked_nodes.update((id(parent), id(child)))
    ids = {id(n): f"n{i}" for i, n in enumerate(g.nodes)}

    dot = _Drawing(name="bpkit", format="svg")
    dot.attr(rankdir=rankdir, bgcolor="white", nodesep="0.25", ranksep="0.45")
    if title:
        dot.attr(label=title, labelloc="t", fontsize="14")
    dot.attr("node", shape="box", style="rounded,filled", fontname="DejaVu Sans", fontsize="11")
    dot.attr("edge", fontname="DejaVu Sans", fontsize="10", arrowsize="0.7")
    for n in g.nodes:
        fill = CONST_FILL if n.is_constant else LEAF_FILL if n.op is None else NODE_FILL
        marked = id(n) in marked_nodes
        if grads is True or grads is False:
            grad = n.grad if grads else None
        else:
            grad = grads[n] if n in grads else None
        dot.node(ids[id(n)], _node_label(n, grad, show_op, grad_label), fillcolor=fill,
                 color=HIGHLIGHT if marked else "#555555", penwidth="2.5" if marked else "1")
    for parent, child, k in g.edges:
        attrs = {}
        if edge_labels:
            z = edge_jacobian((parent, child, k))
            attrs["label"] = _fmt(z, 3) if type(z) is float else f"J {z.shape[0]}×{z.shape[1]}"
        if parent.is_constant:
            attrs.update(style="dashed", color="#999999")
        if (id(parent), id(child), k) in marked_edges:
            attrs.update(color=HIGHLIGHT, penwidth="2.5", fontcolor=HIGHLIGHT, style="solid")
        dot.edge(ids[id(parent)], ids[id(child)], **attrs)
    return dot
