"""What an exercise asks you to write stays yours to write (issue: "using the engine instead of
writing it"): the engine functions that compute an exercise's answer are switched off while it is
checked (bpkit.asks), in the check cell, the hidden test and the re-check; in the re-check's
process (bpkit_grade.runner, bpkit_grade.guard) student code cannot get the engine's code back.
The whole path through bpkit-grade, on a real assignment: tests/test_attacks.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import bpkit as bp
import bpkit.jacobian
import bpkit.paths
from bpkit.asks import engine_function, message, switched_off
from bpkit.checks import check
from bpkit_grade.exercises import DERIVATIVES, MODULES, for_assignment
from bpkit_grade.runner import Runner
from bpkit_grade.sandbox import Confinement

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _graph():
    x = bp.var(2.0, name="x")
    return x, x * x + bp.sin(x)


# ----------------------------------------------------------------- bpkit.asks, in any process
@pytest.mark.parametrize("way", ["method", "function", "alias", "through another engine function",
                                 "graph method"])
def test_a_switched_off_function_says_so_however_it_is_reached(way):
    from bpkit.backprop import backward as alias
    x, y = _graph()
    calls = {"method": lambda: y.backward(), "function": lambda: bp.backprop.backward(y),
             "alias": lambda: alias(y), "through another engine function": lambda: bpkit.jacobian.jacobian(y, x),
             "graph method": lambda: bp.Graph(y).backward()}
    with switched_off(DERIVATIVES):
        with pytest.raises(AssertionError) as e:
            calls[way]()
    assert "computes what this exercise asks you to write" in str(e.value)
    assert str(e.value).split("`")[1] in DERIVATIVES, str(e.value)
    calls[way]()  # on again afterwards
    y.backward()
    assert x.grad == pytest.approx(2 * 2.0 + np.cos(2.0))


def test_an_engine_function_that_is_not_named_stays_on():
    x, y = _graph()
    with switched_off(["bpkit.paths.path_sum"]):
        y.backward()
        assert x.grad == pytest.approx(4 + np.cos(2.0))
        assert bp.Graph(y).forward() is not None


def test_every_registered_name_is_an_engine_function_and_derivative_exercises_switch_off_the_engine():
    asks = {}
    for assignment in MODULES:
        for ex in for_assignment(assignment):
            for name in ex.asks_for:
                assert engine_function(name).__module__.startswith("bpkit"), name
            asks[ex.function] = set(ex.asks_for)
    derivatives = [f for f in asks if any(w in f for w in ("backward", "grad", "derivative", "jacobian", "jvp",
                                                           "vjp", "bptt", "report", "epoch", "products"))]
    assert len(derivatives) >= 25, derivatives
    missing = [f for f in derivatives if not set(DERIVATIVES) <= asks[f] and f != "order_report"]
    assert not missing, f"exercises that ask for derivatives but leave the engine's on: {missing}"
    assert "bpkit.ops._log_softmax" in asks["log_softmax"]


def test_bad_names_are_refused_by_name():
    for bad in ["numpy.sum", "bpkit.paths", "bpkit.paths.no_such_function", "bpkit.graph.Var.no_such"]:
        with pytest.raises(ValueError, match="bpkit"):
            engine_function(bad)


# --------------------------------------------------------------- the check cell tells the student
def test_the_check_cell_names_the_engine_function_before_the_student_hands_in(monkeypatch):
    monkeypatch.chdir(NOTEBOOKS / "04-jacobians-and-log-softmax")

    def log_softmax(l):  # the engine's log-softmax vertex instead of the formula
        return bp.log_softmax(bp.var(np.asarray(l, dtype=float))).value
    with pytest.raises(AssertionError) as e:
        check(log_softmax)
    assert "`bpkit.graph.log_softmax` computes what this exercise asks you to write" in str(e.value)

    def relu_backward(z, g):  # notebook 5's layer rule, taken from bpkit.layers
        import bpkit.layers
        layer = bpkit.layers.ReLU()
        layer.forward(z)
        return layer.backward(g)
    monkeypatch.chdir(NOTEBOOKS / "05-decoupled-vector-network")
    with pytest.raises(AssertionError, match="`bpkit.layers.ReLU.backward` computes what"):
        check(relu_backward)

    def two_path_products(x):  # notebook 2 asks for the local derivatives in plain math
        from bpkit import examples, paths
        edges, names = paths.edge_list(examples.sin_cos_of_square(x).graph())
        (_, _, dy), (_, _, dsin), (_, _, dcos), (_, _, one), (_, _, other) = edges  # x, x², sin, cos, o
        return dy * dsin * one, dy * dcos * other, dy * (dsin * one + dcos * other)
    monkeypatch.chdir(NOTEBOOKS / "02-paths-vs-dynamic-programming")
    with pytest.raises(AssertionError, match="`bpkit.paths.edge_list` computes what"):
        check(two_path_products)


# ----------------------------------------------------- the re-check's process: the guard holds
@pytest.fixture
def runner(tmp_path):
    r = Runner(str(tmp_path), 20, Confinement(memory=2 << 30, home=str(tmp_path / "home")))
    assert r.run("import bpkit as bp, numpy as np\nx = bp.var(2.0)\ny = x * x")[0] == "ok"
    yield r
    r.close()


OFF = list(DERIVATIVES) + ["bpkit.paths.paths"]
ENGINE = os.path.dirname(bp.__file__)


def test_a_call_runs_with_the_engine_off_and_the_cells_with_it_on(runner):
    status, _, error = runner.run("y.backward()", refuse=OFF)
    assert status == "error" and message("bpkit.graph.Var.backward") in error, error
    assert runner.run("y.backward(); print(x.grad)") == ("ok", "4.0\n", None)
    assert runner.run("print(x.grad)", refuse=OFF) == ("ok", "4.0\n", None)  # what the cells made stays
    assert runner.refused == []


@pytest.mark.parametrize("attempt", [
    "code = bp.backprop.backprop.__code__",
    "code = bp.Var.backward.__code__",
    "import inspect; inspect.getsource(bp.backprop.backprop)",
    "import dis; dis.dis(bp.backprop.backprop)",
    "import gc; gc.get_referents(bp.backprop.backprop)",
    "try:\n    bp.backprop.backward(y, seed=[1, 2, 3])\nexcept Exception as e:\n"  # an engine frame, from a traceback
    "    tb = e.__traceback__\nwhile tb.tb_next: tb = tb.tb_next\ntb.tb_frame.f_code",
    f"open({os.path.join(ENGINE, 'backprop.py')!r}).read()",
    "open(bp.backprop.__file__.replace('.py', '.py'), 'rb').read()",
    "import importlib; importlib.reload(bp.backprop)",
    "import importlib.util; importlib.util.find_spec('bpkit.backprop').loader.get_data(bp.backprop.__file__)",
    f"import os; os.symlink({os.path.join(ENGINE, 'backprop.py')!r}, 'copy.py'); open('copy.py').read()",
    f"import os; d = os.open({os.path.dirname(ENGINE)!r}, os.O_RDONLY); os.open('bpkit/backprop.py', os.O_RDONLY, dir_fd=d)",
    f"import os; d = os.open({os.path.dirname(ENGINE)!r}, os.O_RDONLY); e = os.open('bpkit', os.O_RDONLY, dir_fd=d)\n"
    "os.open('__pycache__/backprop.cpython-311.pyc', os.O_RDONLY, dir_fd=e)",
    "open('/proc/self/mem', 'rb')",
    "import cProfile; p = cProfile.Profile(); p.enable()",
    "import sys; sys.settrace(lambda *a: None)",
    "(lambda: 0).__code__.replace(co_name='mine')",
    "import subprocess, sys; subprocess.run([sys.executable, '-c', 'print(1)'])",
    "import os; os.system('true')",
    "import os; os.fork()",
    "import ctypes; ctypes.string_at(id(x), 8)",
])
def test_student_code_cannot_get_the_engines_code_in_the_recheck(runner, attempt):
    status, _, error = runner.run(attempt)
    assert status == "error" and error.startswith("PermissionError: the re-check does not let student code"), \
        (status, error)
    # counted for the grader's report when the student's own line asked (not a library for it)
    direct = not attempt.startswith(("import inspect", "import dis", "import importlib"))
    assert (1 <= len(runner.refused) <= 2) if direct else len(runner.refused) <= 2, runner.refused


def test_drawings_are_empty_and_no_program_starts_not_even_graphviz(runner):
    """The re-check shows nothing: bpkit's one seam that starts a process (to_svg, Graphviz's dot)
    gives an empty picture there, so every process can be refused (a check of which program a
    process will run could be fooled by student code rebinding what subprocess calls)."""
    assert runner.run("from bpkit.drawing import to_svg\nprint(to_svg('digraph { a -> b }'))") == \
        ("ok", '<svg xmlns="http://www.w3.org/2000/svg"/>\n', None)
    assert runner.run("from bpkit.widgets import backprop_stepper\nbackprop_stepper(y)")[0] == "ok"
    assert runner.refused == []
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is installed (./course installs it)"
    status, _, error = runner.run(f"import subprocess\nsubprocess.run([{dot!r}, '-V'])")
    assert status == "error" and "start a process" in error, error
    assert runner.refused == ["start a process (subprocess.Popen)"]


def test_the_method_case_runs_in_the_recheck_and_stops_the_wrong_method(runner):
    """bpkit.checks.call_within's CPU limit works in the re-check's process (also in the copy made
    for a call): a dynamic program passes there, the path sum of exercise 2 in its place is
    stopped and named."""
    from bpkit_grade.exercises import nb02
    from bpkit_grade.recheck import _check_one, recheck_cases
    ex = next(e for e in nb02.EXERCISES if e.function == "dp_derivative")
    right = ("def dp_derivative(edges, source, target):\n"
             "    S = {target: 1.0}\n"
             "    for i, j, z in sorted(edges, key=lambda e: -e[1]):\n"
             "        S[i] = S.get(i, 0.0) + z * S.get(j, 0.0)\n"
             "    return S.get(source, 0.0)")
    every_path = ("def dp_derivative(edges, source, target):\n"
                  "    if source == target:\n        return 1.0\n"
                  "    return sum(z * dp_derivative(edges, j, target) for i, j, z in edges if i == source)")
    assert runner.run(right)[0] == "ok"
    (credit, message, forged), status = _check_one(ex, recheck_cases(ex, 1, 2), 20, runner)
    assert (credit, message, forged, status) == (1.0, "", False, "ok")
    assert runner.run(every_path)[0] == "ok"
    (credit, message, forged), status = _check_one(ex, recheck_cases(ex, 1, 2), 20, runner)
    assert credit == 0.0 and not forged and "2^40 = 1,099,511,627,776 paths" in message, message
    assert runner.refused == []


def test_the_memory_limit_of_a_method_case_holds_in_the_recheck(runner):
    """jvp by two sweeps passes in the re-check's process; jvp that forms J is named there."""
    from bpkit_grade.exercises import nb07
    from bpkit_grade.recheck import _check_one, recheck_cases
    ex = next(e for e in nb07.EXERCISES if e.function == "jvp")
    sweeps = ("def jvp(W1, W2, x, v):\n    h = np.tanh(W1 @ x)\n"
              "    return W2 @ ((1 - h * h) * (W1 @ v))")
    forms_j = ("def jvp(W1, W2, x, v):\n    h = np.tanh(W1 @ x)\n"
               "    return (W2 @ np.diag(1 - h * h) @ W1) @ v")
    for source, right in [(sweeps, True), (forms_j, False)]:
        assert runner.run(source)[0] == "ok"
        (credit, message, forged), status = _check_one(ex, recheck_cases(ex, 1, 2), 20, runner)
        assert status == "ok" and not forged
        assert (credit, message) == (1.0, "") if right else \
            (credit == 0.0 and "seems to build the Jacobian J" in message), message
    assert runner.refused == []


def test_honest_cells_still_run(runner):
    assert runner.run("import fractions, json, bpkit.widgets\nprint(fractions.Fraction(1, 3))") == ("ok", "1/3\n", None)
    assert runner.run("def f(v):\n    return v\nprint(f.__code__.co_name)") == ("ok", "f\n", None)  # own code
    assert runner.run("open('mine.txt', 'w').write('x'); print(open('mine.txt').read())") == ("ok", "x\n", None)
    assert runner.run("print(bp.Graph(y).forward() is not None)", refuse=OFF) == ("ok", "True\n", None)
    assert runner.refused == []


def test_a_generator_made_earlier_does_not_run_the_engines_code(runner):
    runner.run("g = bp.Graph(y)\nsaved = bp.paths.paths(g, x, y)")
    assert runner.run("print(len(list(saved)))", refuse=OFF) == ("ok", "0\n", None)  # closed in the call's copy
    assert runner.run("print(len(list(saved)))") == ("ok", "2\n", None)


def test_a_thread_left_running_stops_the_call_with_a_reason(runner):
    runner.run("import threading, time\nstop = threading.Event()\nthreading.Thread(target=stop.wait).start()")
    status, _, error = runner.run("print(1)", refuse=OFF)
    assert status == "error" and "thread(s) started by the notebook are still running" in error, error
    runner.run("stop.set(); time.sleep(0.5)")
    assert runner.run("print(1)", refuse=OFF) == ("ok", "1\n", None)


def test_a_call_that_ends_its_process_died_and_the_next_runs(runner):
    assert runner.run("import os; os._exit(0)", refuse=OFF)[0] == "died"
    assert runner.run("import signal; signal.raise_signal(signal.SIGINT)", refuse=OFF)[0] == "error"
    assert runner.run("print(x.value)", refuse=OFF) == ("ok", "2.0\n", None)
    assert runner.run("print('cells too')") == ("ok", "cells too\n", None)


@pytest.mark.parametrize("tamper", [
    "import json\njson.loads = lambda s, **k: {'id': 'x', 'code': s}\n"
    "json.decoder.JSONDecoder.raw_decode = lambda *a, **k: ({}, 0)",
    # the loop's own variables, where frames reach them (IPython's coroutines end the chain of
    # f_back before the loop, so this finds nothing today: it must not matter)
    "import sys\nloop = None\nfor f in [sys._getframe(), *sys._current_frames().values()]:\n"
    "    while f is not None and loop is None:\n"
    "        loop = f.f_locals if 'stand_ins' in f.f_locals else None\n"
    "        f = f.f_back\n"
    "for change in (lambda: loop['stand_ins'].__setitem__('bpkit.graph.Var.backward', ((print, None),)),\n"
    "               lambda: loop['stand_ins']['bpkit.graph.Var.backward'].__setitem__(0, (print, None)),\n"
    "               lambda: setattr(loop['requests'], 'readline', lambda: b'')):\n"
    "    try:\n        change()\n    except Exception:\n        pass\n",
])
def test_student_code_cannot_make_the_loop_switch_off_less(runner, tamper):
    """The call's names come from the grader's request; student code in the cells cannot make
    the loop read them differently nor change what it switches off (it binds what it uses
    before the first cell, read-only)."""
    assert runner.run(tamper)[0] == "ok"
    status, _, error = runner.run("y.backward()", refuse=OFF)
    assert status == "error" and "switched off" in error, error

