"""The re-check's process (bpkit_grade.runner): what each kind of cell gives back, and what
student code writing to its pipes can and cannot do. Started through the sandbox launcher as
bpkit-grade starts it (here without a uid: the launcher then only sets the limits)."""
from __future__ import annotations

import os

import pytest

from bpkit_grade.recheck import ResultLines
from bpkit_grade.runner import MAX_CELL_TEXT, Lines, Runner
from bpkit_grade.sandbox import Confinement


@pytest.fixture
def runner(tmp_path):
    r = Runner(str(tmp_path), 2, Confinement(memory=2 << 30, home=str(tmp_path / "home")))
    yield r
    r.close()


def test_cells_run_in_one_ipython_shell(runner):
    assert runner.run("x = 6 * 7\nprint('x is', x)") == ("ok", "x is 42\n", None)
    # magics, get_ipython() and its events work as in a kernel (the attacks use them)
    status, out, _ = runner.run("get_ipython().events.register('post_run_cell', lambda r: print('after'))\n"
                                "%time y = x")
    assert status == "ok" and out.endswith("after\n"), out
    assert runner.run("print(y)") == ("ok", "42\nafter\n", None)


def test_nothing_is_formatted_or_drawn(runner):
    out = runner.run("class Shown:\n    def __repr__(self):\n        print('FORMATTED')\n        return ''\n"
                     "from IPython.display import display\ndisplay(Shown())\nShown()")
    assert out == ("ok", "", None), out


def test_errors_come_back_as_one_line(runner):
    assert runner.run("1 / 0") == ("error", "", "ZeroDivisionError: division by zero")
    assert runner.run("def f(:")[0] == "error"
    assert runner.run("input()") == ("error", "", "EOFError: EOF when reading a line")  # not the next request


def test_a_loop_is_interrupted_and_one_that_ignores_it_is_a_hang(runner):
    status, _, err = runner.run("import time\nwhile True:\n    time.sleep(0.05)")
    assert (status, err) == ("timeout", "KeyboardInterrupt: ")
    assert runner.run("print('still here')") == ("ok", "still here\n", None)
    assert runner.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")[0] == "hang"
    runner.restart(["z = 5"])  # a fresh process, the cells that ran replayed
    assert runner.run("print(z)") == ("ok", "5\n", None)


def test_a_process_that_exits_died(runner):
    assert runner.run("import os\nos._exit(3)")[0] == "died"
    runner.restart([])
    assert runner.run("print('again')") == ("ok", "again\n", None)


def test_a_flood_is_streamed_and_the_kept_text_bounded(runner):
    pieces = []
    status, out, _ = runner.run("for _ in range(200):\n    print('x' * 99_999)", collect=pieces.append)
    assert (status, out) == ("ok", "") and sum(map(len, pieces)) == 200 * 100_000
    assert max(map(len, pieces)) <= 65536
    status, out, _ = runner.run("print('y' * 300_000)")
    assert status == "ok" and len(out) == MAX_CELL_TEXT


def test_forged_control_lines_are_ignored(runner):
    """Student code that writes fake 'done' lines to the control pipe (it can find the descriptor)
    does not end the run early nor set its status; its result line is still read from stdout."""
    code = ("import os, json, time\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        os.write(fd, b'{\"id\": \"nope\", \"status\": \"ok\", \"error\": null}\\n' + b'{' * 10000 + b'\\n')\n"
            "    except OSError:\n"
            "        pass\n"
            "time.sleep(0.3)\n"
            "print('TOKEN' + json.dumps([1, 2]))\n")
    lines = ResultLines("TOKEN", 1000)
    assert runner.run(code, collect=lines.feed) == ("ok", "", None)
    assert lines.done().lines == ["TOKEN[1, 2]"]


def test_control_lines_longer_than_the_limit_are_dropped():
    lines = Lines(20)
    assert lines.feed(b'{"id": 1}\n{"id": "' + b"x" * 50) == [{"id": 1}]
    assert lines.feed(b'"}\nnot json\n[1]\n{"id"') == []  # the long one, a non-object, a list
    assert lines.feed(b': 2}\n') == [{"id": 2}]


def test_the_process_starts_through_the_sandbox_launcher(runner):
    status, out, _ = runner.run("import os, sys\nprint(os.environ['HOME'])\nprint(sys.argv[0])")
    assert status == "ok" and out.splitlines()[0] == runner.confinement.home, out
    assert os.path.basename(os.path.dirname(out.splitlines()[1])) == "bpkit_grade", out
