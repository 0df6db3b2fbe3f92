"""bpkit: computational graphs and backpropagation, small enough to read in one sitting.

    >>> import bpkit as bp
    >>> x, y = bp.var(0.0, name="x"), bp.var(1.0, name="y")
    >>> d = 1 / (y + bp.exp(-x))
    >>> d.backward()
    >>> x.grad, y.grad
    (0.25, -0.25)
"""
from .graph import (Graph, GraphError, NonFiniteWarning, ShapeError, Var, apply, constant, cos,
                    exp, log, log_softmax, maximum, prod, relu, sigmoid, sin, sqrt, sum, tanh,
                    topological_order, transpose, var, wsum)

__version__ = "0.1.0"

__all__ = [
    "Graph", "GraphError", "NonFiniteWarning", "ShapeError", "Var", "apply", "constant", "cos",
    "exp", "log", "log_softmax", "maximum", "prod", "relu", "sigmoid", "sin", "sqrt", "sum",
    "tanh", "topological_order", "transpose", "var", "wsum", "render", "draw", "to_svg",
]
from .drawing import render, to_svg  # noqa: E402  (graphviz itself is imported on first use)

draw = render
