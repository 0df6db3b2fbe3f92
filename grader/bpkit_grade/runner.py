"""The re-check's process: a plain Python process (``python -m bpkit_grade.runner``, started
through :meth:`bpkit_grade.sandbox.Confinement.argv` like every process that runs student code)
that runs code cells in an IPython shell, fed over a pipe. No Jupyter kernel: no ZeroMQ, no
message signing, no rich output formatting, so it starts in about half the CPU time of an
ipykernel and the grader's side of each run is a few system calls.

:class:`Runner` is the grader's side (``run``, ``restart``, ``close``: what
:func:`bpkit_grade.recheck.recheck` uses). The pipes:

* stdin: one request per line, ``{"id": ..., "code": ...}`` (JSON);
* stdout: whatever the code prints, as it is printed (the re-check reads its result line from
  it, :class:`bpkit_grade.recheck.ResultLines`); stderr goes nowhere;
* the control pipe (``--control FD``): ``{"ready": true}`` once, then one line per request,
  ``{"id": ..., "status": "ok" | "error", "error": "Name: message"}``, written after stdout is
  flushed, so everything the code printed has arrived when its line arrives.

Student code runs in that process and can write to any of its pipes. What it writes there can
only make its own re-check fail or look tampered with: the grader reads at most
``MAX_CONTROL_LINE`` characters a line, ignores lines without the request's id, and the verdict is
decided here from a result line marked with a one-time token and compared with a reference that
never enters the process (as with a kernel, whose message key the student's code can read too).
"""
from __future__ import annotations

import codecs
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time

from bpkit_grade.sandbox import Confinement, kill_user

#: characters of one run's stdout kept (also what the autograded notebook keeps of a cell's text,
#: bpkit_grade.kernel), and of its error line (``Name: message``)
MAX_CELL_TEXT, MAX_ERROR = 100_000, 2000
#: longest control line read; longer ones are skipped (forged: the runner's are short)
MAX_CONTROL_LINE = MAX_ERROR + 1000
#: seconds the process may take to start (imports, the sandbox), on top of the first cell's time
BOOT_TIMEOUT = 60


class Runner:
    """A sandboxed re-check process that runs code with a time limit, restarted when it hangs or
    dies. Starting it returns at once: it boots while the caller does other work."""

    def __init__(self, cwd: str, timeout: float, confinement: Confinement):
        self.cwd, self.timeout, self.confinement, self.proc = cwd, timeout, confinement, None
        self.refused: list[str] = []  # what the process's guard refused student code (bpkit_grade.guard)
        self._start()

    def _start(self):
        confinement = self.confinement
        if not confinement.home:
            import dataclasses
            confinement = dataclasses.replace(confinement, home=tempfile.mkdtemp(prefix="bpkit-runner-"))
        control_r, control_w = os.pipe()
        cmd = confinement.argv([sys.executable, "-m", "bpkit_grade.runner", "--control", str(control_w)])
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, pass_fds=(control_w,),
                                         start_new_session=True)  # its own process group: interrupts
        finally:
            os.close(control_w)
        self.control, self._lines, self.ready = control_r, Lines(MAX_CONTROL_LINE), False
        self._stdout_closed = False
        for fd in (self.proc.stdout.fileno(), self.control, self.proc.stdin.fileno()):
            os.set_blocking(fd, False)

    def close(self):
        if self.proc is None:
            return
        self._signal(signal.SIGKILL)
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:  # BrokenPipeError flushing stdin: it is gone
                pass
        os.close(self.control)
        self.proc = None
        if self.confinement.uid is not None:
            kill_user(self.confinement.uid)

    def restart(self, replay: list[str]):
        self.close()
        self._start()
        for code in replay:
            self.run(code)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except OSError:  # gone, or no longer its group's leader
            try:
                self.proc.send_signal(sig)
            except OSError:
                pass

    def run(self, code: str, collect=None, refuse=None):
        """-> (status, stdout, error): status is ok, error, timeout (interrupted), hang (ignored the
        interrupt) or died. ``collect``: called with each piece of the run's stdout as it arrives
        (e.g. ``recheck.ResultLines.feed``); then ``stdout`` is "", else it is the first
        ``MAX_CELL_TEXT`` characters only. ``error`` is cut at ``MAX_ERROR``. ``refuse``: the
        engine functions to switch off (names, bpkit.asks): the code then runs in a copy of the
        process made for it. What the process's guard refused is added to ``self.refused``."""
        out, kept = [], 0

        def take(text):
            nonlocal kept
            if collect is not None:
                collect(text)
            elif kept < MAX_CELL_TEXT:
                out.append(text[:MAX_CELL_TEXT - kept])
                kept += len(out[-1])

        if not self.ready:
            if self._wait(lambda line: line.get("ready") is True, time.monotonic() + BOOT_TIMEOUT, take) is None:
                return "died", "", None
            self.ready = True
        rid = secrets.token_hex(8)
        request = {"id": rid, "code": code} | ({} if refuse is None else {"refuse": list(refuse)})
        request = (json.dumps(request) + "\n").encode("utf-8", "surrogateescape")
        deadline, interrupted = time.monotonic() + self.timeout, False
        while True:
            done = self._wait(lambda line: line.get("id") == rid, deadline, take, request)
            if done is None:
                return "died", "".join(out), None
            if done is not False:
                refused = done.get("refused")
                if isinstance(refused, list):
                    self.refused += [str(r)[:300] for r in refused[:20 - len(self.refused)]]
                if done.get("status") == "died":  # the copy that ran the call ended without a word
                    return "died", "".join(out), None
                error = str(done.get("error") or "")[:MAX_ERROR] or None
                status = "timeout" if interrupted else ("error" if error else "ok")
                return status, "".join(out), error
            if interrupted:
                return "hang", "".join(out), None
            self._signal(signal.SIGINT)
            interrupted, deadline, request = True, time.monotonic() + 3, self._unsent

    def _wait(self, wanted, deadline, take, request=b""):
        """Send ``request``, pass stdout to ``take`` until a control line for which ``wanted`` is
        true arrives (-> that line, a dict), the process ends (-> None) or ``deadline`` passes
        (-> False; ``self._unsent``: what was not sent yet)."""
        stdout, stdin = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._unsent = request
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            writing = [stdin] if self._unsent else []
            reading = [self.control] + ([] if self._stdout_closed else [stdout])
            readable, writable, _ = select.select(reading, writing, [], min(left, 1.0))
            if writable:
                try:
                    self._unsent = self._unsent[os.write(stdin, self._unsent[:65536]):]
                except BlockingIOError:
                    pass
                except OSError:  # BrokenPipeError: it died; its control pipe says so next
                    self._unsent = b""
            if stdout in readable:
                self._drain(decoder, take, 1)
            if self.control in readable:
                data = _read(self.control)
                if data == b"":  # the process closed it: it died (or student code closed it)
                    self._drain(decoder, take)
                    return None
                for line in self._lines.feed(data or b""):
                    if wanted(line):
                        self._drain(decoder, take)  # all it printed before that line
                        return line

    def _drain(self, decoder, take, reads=32):
        """Pass what is in the stdout pipe to ``take``: at most ``reads`` reads (a thread of
        student code that prints on and on cannot hold the grader here)."""
        for _ in range(reads):
            if self._stdout_closed:
                return
            data = _read(self.proc.stdout.fileno())
            if data is None:
                return
            self._stdout_closed = data == b""
            take(decoder.decode(data))


def _read(fd) -> bytes | None:
    """-> what could be read (b"" at the end of the file), None when nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except (BlockingIOError, InterruptedError):
        return None


class Lines:
    """Control lines as they arrive (``feed(bytes)`` -> the complete lines, as dicts): lines longer
    than ``max_len`` and lines that are not a JSON object are dropped."""

    def __init__(self, max_len: int):
        self.max_len, self.buf, self.skipping = max_len, b"", False

    def feed(self, data: bytes) -> list[dict]:
        found = []
        while data:
            nl = data.find(b"\n")
            piece, data = (data, b"") if nl < 0 else (data[:nl], data[nl + 1:])
            if not self.skipping:
                self.buf += piece
                self.skipping = len(self.buf) > self.max_len
            if nl < 0:
                break
            if not self.skipping:
                try:
                    line = json.loads(self.buf)
                except ValueError:
                    line = None
                if isinstance(line, dict):
                    found.append(line)
            self.buf, self.skipping = b"", False
        return found


# --------------------------------------------------------------------------- the process's side

def _shell():
    """An IPython shell that runs cells like a kernel does (magics, ``get_ipython()``, input
    transformers, events) but formats no output: the re-check needs none of it, and rendering a
    drawing would start Graphviz for nothing."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class QuietDisplayHook(DisplayHook):
        def write_output_prompt(self):
            pass

        def compute_format_data(self, result):
            return {}, {}

        def finish_displayhook(self):
            self._is_active = False

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config, displayhook_class=QuietDisplayHook)
    shell.display_formatter.format = lambda obj, include=None, exclude=None: ({}, {})
    # the error reaches the grader as ``Name: message`` (run_cell's result); nobody reads a
    # traceback here, so none is formatted (a kernel sends it, highlighted, for nothing)
    shell.showtraceback = shell.showsyntaxerror = lambda *args, **kwargs: None
    shell._format_exception_for_storage = lambda *args, **kwargs: {}  # (IPython 8.2x formats it too)
    shell.enable_gui = lambda gui=None: None  # %matplotlib inline: nothing is shown here anyway
    return shell


def _engine() -> dict:
    """Import every module of the engine (once the guard is on, its files cannot be opened) and
    make, for each of its functions, the code that switches it off (bpkit.asks): before the first
    student cell, so that nothing of it can be changed by student code."""
    import importlib
    import pkgutil

    import bpkit
    from bpkit.asks import engine_functions, stand_in

    for info in pkgutil.walk_packages(bpkit.__path__, "bpkit."):
        importlib.import_module(info.name)
    # nothing is shown here: a drawing is an empty picture, and no Graphviz process is started
    # (the guard lets student code start none: a check of what a process will run could be
    # fooled by student code, through the Python of subprocess)
    bpkit.drawing.to_svg.__code__ = _no_picture.__code__
    return {name: [(fn, stand_in(fn, name))] for name, fn in engine_functions().items()}


def _no_picture(source: str) -> str:
    return '<svg xmlns="http://www.w3.org/2000/svg"/>'



def serve(requests, control, stand_ins=None) -> None:
    """Run each request of ``requests`` (a binary file) in one shell, reporting to ``control``.

    A request with ``refuse`` (the engine functions its exercise asks for) runs in a copy of
    this process made for it (``os.fork``), where those functions are switched off before
    anything else runs; student cells run here. Everything this loop uses is bound before the
    first student cell, and what it holds cannot be changed (student code can rebind any module's
    names and reach this frame's variables, but not rebind them)."""
    import gc
    import json
    import types

    from bpkit_grade.guard import install

    shell = _shell()
    import numpy  # noqa: F401  (every notebook imports them: while the grader still waits)
    import bpkit.checks  # noqa: F401

    # read-only, all the way down: student code can reach this frame's variables (sys._getframe)
    stand_ins = types.MappingProxyType({name: tuple(map(tuple, pairs)) for name, pairs in (stand_ins or {}).items()})
    readline = requests.readline
    stdout, write, fork, waitpid, exit_now, SIGINT = sys.stdout, os.write, os.fork, os.waitpid, os._exit, signal.SIGINT
    sigmask, all_signals, block, setmask = signal.pthread_sigmask, signal.valid_signals(), signal.SIG_BLOCK, signal.SIG_SETMASK
    set_handler, interrupt, ignore = signal.signal, signal.default_int_handler, signal.SIG_IGN
    gc_enable, gc_disable, objects, threads = gc.enable, gc.disable, gc.get_objects, _thread_count()
    generator, GENERATOR = type(x for x in ()), 0x20  # inspect.CO_GENERATOR
    scan, dumps, run_cell, pipe, read, close = json.JSONDecoder().scan_once, json.dumps, shell.run_cell, os.pipe, os.read, os.close
    refused = install(sys._getframe())

    def report(line: dict):
        for f in {stdout, sys.stdout}:
            try:
                f.flush()
            except Exception:  # noqa: BLE001  (student code replaced or closed it: its own loss)
                pass
        if refused:
            line["refused"] = refused[:20]
            refused.clear()
        write(control, (dumps(line) + "\n").encode())

    def run(request):
        try:
            result = run_cell(request["code"], store_history=True)
            error = result.error_before_exec or result.error_in_exec
        except KeyboardInterrupt as e:  # the interrupt came between the cell and here
            error = e
        report({"id": request.get("id"), "status": "error" if error else "ok",
                "error": f"{type(error).__name__}: {error}"[:MAX_ERROR] if error else None})

    report({"ready": True})
    while True:
        request = {}
        try:
            raw = readline()
            if not raw:
                return
            request = scan(raw.decode("utf-8", "surrogateescape"), 0)[0]
            refuse = request.get("refuse")
            if refuse is None:
                run(request)
                continue
            off = [pair for name in refuse for pair in stand_ins.get(name, ())]
            if len(off) != len(refuse):
                raise ValueError(f"cannot switch off {refuse}: not all are engine functions")
            running = threads()
            if running:
                report({"id": request.get("id"), "status": "error", "error": (
                    f"RuntimeError: {running} thread(s) started by the notebook are still running, "
                    "and an exercise is not re-checked while code of the notebook can run beside it")})
                continue
            done_r, done_w = pipe()
            old = sigmask(block, all_signals)  # no handler of the student's runs until the child is set
            gc_disable()  # nor a finalizer
            pid = fork()
            if pid == 0:
                close(done_r)
                codes = []  # a loop, not a comprehension: this frame is the one the guard trusts
                for fn, _ in off:
                    if fn.__code__.co_flags & GENERATOR:
                        codes.append(fn.__code__)
                if codes:  # a generator made earlier would go on running the real code
                    for obj in objects():
                        if type(obj) is generator and obj.gi_code in codes:
                            obj.close()
                for fn, code in off:
                    fn.__code__ = code
                off = codes = None  # the real code's last references here: gone
                gc_enable()
                sigmask(setmask, old)
                run(request)
                write(done_w, b"1")
                exit_now(0)
            close(done_w)
            waitpid(pid, 0)
            done = read(done_r, 1)
            close(done_r)
            set_handler(SIGINT, ignore)  # drop an interrupt meant for the child
            sigmask(setmask, old)
            set_handler(SIGINT, interrupt)
            gc_enable()
            if not done:
                report({"id": request.get("id"), "status": "died"})
        except KeyboardInterrupt as e:  # the interrupt came between the cell and here
            report({"id": request.get("id"), "status": "error", "error": f"KeyboardInterrupt: {e}"})
        except Exception as e:  # noqa: BLE001  (a request it cannot run: said, and the loop goes on)
            report({"id": request.get("id"), "status": "error", "error": f"{type(e).__name__}: {e}"[:MAX_ERROR]})


def _thread_count():
    import _thread
    return _thread._count


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bpkit_grade.runner")
    p.add_argument("--control", type=int, required=True, help="file descriptor for the control lines")
    a = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the timeout's interrupt, even if inherited ignored
    requests = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # input() in student code gets EOF, not the next request
    os.close(devnull)
    serve(requests, a.control, _engine())


if __name__ == "__main__":
    main()
