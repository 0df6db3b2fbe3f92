"""The shape of the bpkit package, read from its source with ``ast`` (nothing is imported):

  * imports point one way, down the layers of docs/DESIGN (no cycle, no arrow up);
  * nothing imports the instructor's package ``bpkit_grade``;
  * no process, thread or socket outside drawing.py's Graphviz pipe (the JupyterLite seam);
  * at module level bpkit imports the standard library and NumPy only (graphviz, ipywidgets
    and matplotlib are imported where they are used);
  * no module over 400 lines, so each can be read in one sitting.

The checks are plain functions of {module: source}; the last tests feed them a package with a
cycle, an arrow up and a subprocess, to show that they fail when they should.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import bpkit

ROOT = Path(bpkit.__file__).parent

# The engine, lowest first: a module may import modules of lower layers only.
LAYERS = [
    {"values"},                                     # what a value is
    {"ops"},                                        # the op table
    {"backprop"},                                   # topological order, vjp, the backward loop
    {"graph"},                                      # Var, tracing, Graph
    {"paths", "jacobian", "layers", "examples",     # what the notebooks compute with graphs,
     "plain"},                                      # and values shown, pasted or sent as JSON
    {"drawing"},                                    # Graphviz (imported lazily)
    {"widgets"},                                    # ipywidgets (imported lazily)
]
# Modules outside the layers, and the bpkit modules each may import.
OUTSIDE = {
    "__init__": None,                        # the package's facade: may re-export anything
    "checks": {"values", "ops", "graph", "explain", "plain", "asks"},  # what a check cell calls
    "explain": {"plain"},                    # calling a student's function; why it raised
    "credit": {"checks", "plain", "asks"},   # partial credit: a check cell of several results
    "asks": set(),                           # engine functions switched off by name, while checked
}
# Allowed to start a process: drawing.py runs Graphviz's dot (its to_svg is the seam).
MAY_START_PROCESSES = {"drawing"}
#: explain.call_within stops a student's function with a CPU timer (SIGPROF) on its own process:
#: the one use of signal, and no process, thread or socket
MAY_SET_A_TIMER = {"explain"}
PROCESS_MODULES = {"subprocess", "multiprocessing", "threading", "_thread", "socket",
                   "concurrent", "asyncio", "pty", "signal"}
PROCESS_CALLS = {"system", "popen", "Popen", "fork", "forkpty", "spawnl", "spawnlp", "spawnv",
                 "spawnvp", "execv", "execvp", "execl", "execlp", "posix_spawn", "startfile"}
THIRD_PARTY_AT_MODULE_LEVEL = {"numpy"}
MAX_LINES = 400


def sources(root=ROOT):
    return {path.stem: path.read_text() for path in sorted(root.glob("*.py"))}


def imports(source):
    """[(imported module, line, at module level?)] for every import statement, lazy ones too.
    Relative imports come out as 'bpkit.<name>'."""
    tree = ast.parse(source)
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import graph / from .graph import var
                if node.module is None:
                    found += [(f"bpkit.{a.name}", node.lineno, id(node) in top) for a in node.names]
                else:
                    found.append((f"bpkit.{node.module}", node.lineno, id(node) in top))
            elif node.module == "bpkit":
                found += [(f"bpkit.{a.name}", node.lineno, id(node) in top) for a in node.names]
            else:
                found.append((node.module, node.lineno, id(node) in top))
    return found


def import_graph(srcs):
    """{module: {bpkit modules it imports}} (module names without the 'bpkit.' prefix)."""
    graph = {}
    for name, src in srcs.items():
        deps = set()
        for module, _, _ in imports(src):
            parts = module.split(".")
            if parts[0] == "bpkit" and len(parts) > 1 and parts[1] in srcs:
                deps.add(parts[1])
        graph[name] = deps - {name}
    return graph


def find_cycle(graph):
    """One import cycle as a list [a, b, ..., a], or None (iterative depth-first search)."""
    state = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def layer_violations(graph, layers=LAYERS, outside=OUTSIDE):
    """Imports that do not point down: 'a imports b' for each such arrow, or an unknown module."""
    level = {name: i for i, layer in enumerate(layers) for name in layer}
    bad = []
    for name, deps in sorted(graph.items()):
        if name in outside:
            allowed = outside[name]
            bad += [f"{name} imports {d}" for d in sorted(deps)
                    if allowed is not None and d not in allowed]
        elif name not in level:
            bad.append(f"{name} is in no layer of tests/test_structure.py: give it one")
        else:
            bad += [f"{name} imports {d} (not below it)" for d in sorted(deps)
                    if d in outside or level.get(d, len(layers)) >= level[name]]
    for name in sorted(set(outside) - {"__init__"}):
        users = [m for m, deps in graph.items() if name in deps and m not in outside]  # engine modules
        bad += [f"{m} imports {name}, which the engine must not use" for m in users]
    return bad


def process_starts(name, source):
    """'module:line what' for every process, thread or socket the module could start."""
    found = []
    for module, line, _ in imports(source):
        if module.split(".")[0] in PROCESS_MODULES:
            found.append(f"{name}:{line} imports {module}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if called in PROCESS_CALLS:
                found.append(f"{name}:{node.lineno} calls {called}")
    return found


def grader_imports(name, source):
    found = [f"{name}:{line} imports {m}" for m, line, _ in imports(source)
             if m.split(".")[0] == "bpkit_grade"]
    for node in ast.walk(ast.parse(source)):  # importlib.import_module("bpkit_grade...") too
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.split(".")[0] == "bpkit_grade":
            found.append(f"{name}:{node.lineno} names {node.value!r}")
    return found


def heavy_module_level_imports(name, source):
    stdlib = sys.stdlib_module_names
    return [f"{name}:{line} imports {m} at module level" for m, line, top in imports(source)
            if top and m.split(".")[0] not in stdlib | {"bpkit"} | THIRD_PARTY_AT_MODULE_LEVEL]


# ----- the package as it is --------------------------------------------------------------------
SRC = sources()


def test_the_layers_name_every_module_and_only_existing_ones():
    named = set().union(*LAYERS) | set(OUTSIDE)
    assert set(SRC) == named, f"not in a layer: {set(SRC) - named}; gone: {named - set(SRC)}"


def test_imports_have_no_cycle():
    cycle = find_cycle(import_graph(SRC))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_only_point_down():
    assert layer_violations(import_graph(SRC)) == []


def test_the_engine_imports_neither_drawing_nor_widgets():
    graph = import_graph(SRC)
    engine = {"values", "ops", "backprop", "graph", "paths", "jacobian", "layers", "examples"}
    assert {(m, d) for m in engine for d in graph[m] if d in {"drawing", "widgets"}} == set()


def test_nothing_imports_the_grader():
    assert [hit for name, src in SRC.items() for hit in grader_imports(name, src)] == []


def test_no_process_thread_or_socket_outside_the_drawing_seam():
    found = [hit for name, src in SRC.items() if name not in MAY_START_PROCESSES
             for hit in process_starts(name, src)
             if not (name in MAY_SET_A_TIMER and hit.endswith(" imports signal"))]
    assert found == []
    assert process_starts("drawing", SRC["drawing"]) == []  # it pipes through graphviz.Source
    assert "graphviz" in {m for m, _, top in imports(SRC["drawing"]) if not top}


def test_at_module_level_only_numpy_and_the_standard_library():
    found = [hit for name, src in SRC.items() for hit in heavy_module_level_imports(name, src)]
    assert found == []


def test_no_module_is_over_400_lines():
    long = {name: src.count("\n") for name, src in SRC.items() if src.count("\n") > MAX_LINES}
    assert long == {}


# ----- the checks can fail ---------------------------------------------------------------------------
BAD = {
    "values": "import numpy as np\n",
    "ops": "from .values import shape\n",
    "backprop": "from .ops import OPS\n",
    "graph": "from .backprop import vjp\n\ndef draw(g):\n    from .drawing import render\n",
    "paths": "from .graph import Graph\nfrom .widgets import race\n",
    "jacobian": "from . import layers\n",
    "layers": "import threading\nfrom bpkit import ops\n",
    "examples": "import importlib\nimportlib.import_module('bpkit_grade.exercises')\n",
    "drawing": "from .paths import paths\nimport graphviz\n",
    "widgets": "from .drawing import render\nimport os\nos.system('ls')\n",
    "checks": "from .paths import paths\n",
    "__init__": "from .graph import Var\n",
}


def test_a_cycle_is_found():
    graph = import_graph(BAD)
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert all(b in graph[a] for a, b in zip(cycle, cycle[1:]))
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_arrows_up_are_found():
    bad = layer_violations(import_graph(BAD))
    for arrow in ("graph imports drawing (not below it)", "paths imports widgets (not below it)",
                  "jacobian imports layers (not below it)", "checks imports paths"):
        assert any(b.startswith(arrow) for b in bad), (arrow, bad)
    assert not any(b.startswith("drawing imports") for b in bad)   # paths is below drawing
    assert not any(b.startswith("layers imports ops") for b in bad)
    assert layer_violations({"new": set()}) == ["new is in no layer of tests/test_structure.py: give it one"]


def test_processes_the_grader_and_heavy_imports_are_found():
    assert process_starts("layers", BAD["layers"]) == ["layers:1 imports threading"]
    assert process_starts("widgets", BAD["widgets"]) == ["widgets:3 calls system"]
    assert grader_imports("examples", BAD["examples"]) == ["examples:2 names 'bpkit_grade.exercises'"]
    assert grader_imports("x", "from bpkit_grade import autograde\n") == ["x:1 imports bpkit_grade"]
    assert heavy_module_level_imports("drawing", BAD["drawing"]) == ["drawing:2 imports graphviz at module level"]
    assert heavy_module_level_imports("drawing", "def f():\n    import graphviz\n") == []


@pytest.mark.parametrize("name", sorted(SRC))
def test_every_module_parses(name):
    assert isinstance(ast.parse(SRC[name]), ast.Module)
