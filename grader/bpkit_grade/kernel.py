"""The sandboxed Jupyter kernel: the kernel managers nbgrader's run and the re-check use, and
:class:`Kernel`, which runs code with a time limit.

The only module of bpkit-grade that imports ``jupyter_client``; import it where a kernel is
started, not at the top of pure code.
"""
from __future__ import annotations

import dataclasses
import json
import os
import queue
import tempfile
import time
import uuid

import zmq

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Instance
from traitlets.config import LoggingConfigurable

from bpkit_grade.sandbox import Confinement, kill_user


#: the largest single message read from a kernel, bytes: ZeroMQ drops a longer one and the
#: connection with it (libzmq 4.3.5 does not reconnect), so that kernel's run then times out;
#: without it one 625 MB print was read whole by the grader (docs/instructor.md)
MAX_MESSAGE = 32 << 20
#: the stored output of one cell in the autograded notebook, characters
MAX_CELL_TEXT = 100_000          # stream text and tracebacks
MAX_CELL_RICH = 2_000_000        # everything else (images, SVG graphs, HTML)
#: the error line (``ename: evalue``) kept of one run
MAX_ERROR = 2000


class _Sandboxed(LoggingConfigurable):
    """Starts the kernel through ``python -m bpkit_grade.sandbox`` (see that module): in bwrap,
    talking ZeroMQ's ``ipc`` transport through socket files in the sandbox's home (it has no
    network), and reads no message longer than MAX_MESSAGE from it."""

    confinement = Instance(Confinement, help="how the kernel is confined (sandbox.Confinement)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.confinement.home:
            self.confinement = dataclasses.replace(self.confinement, home=tempfile.mkdtemp(prefix="bpkit-kernel-"))
        if self.confinement.sandboxed:
            base = os.path.join(self.confinement.home, f"k-{uuid.uuid4().hex[:8]}")
            if len(base) > 90:  # a socket file's path has at most 107 bytes
                raise ValueError(f"the sandbox's home {self.confinement.home!r} is too deep for the kernel's "
                                 "socket files: pick a shorter --workdir")
            self.transport, self.connection_file, self.ip = "ipc", base + ".json", base + "-ipc"

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return self.confinement.argv(cmd, conn=self.connection_file)

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)  # for every socket it makes from now on
        return kc


class SandboxKernelManager(_Sandboxed, AsyncKernelManager):
    """The kernel manager nbgrader's Execute uses inside bpkit-grade."""


class SyncSandboxKernelManager(_Sandboxed, KernelManager):
    """The kernel manager of the re-check."""


def sandboxed_execute():
    """nbgrader's Execute preprocessor, starting its kernel with SandboxKernelManager.

    (Execute passes ``kernel_manager_class`` to its parent as an argument, which beats config.)"""
    from nbgrader.preprocessors import Execute

    class SandboxedExecute(Execute):
        def __init__(self, *args, **kwargs):
            kwargs["kernel_manager_class"] = SandboxKernelManager
            super().__init__(*args, **kwargs)
            self._budget = {}

        def preprocess(self, nb, resources=None, km=None):
            self._budget = {}  # per notebook
            return super().preprocess(nb, resources, km=km)

        def output(self, outs, msg, display_id, cell_index):
            """nbclient's output, capped per cell (:class:`OutputBudget`)."""
            budget = self._budget.setdefault(cell_index, OutputBudget())
            if budget.take(msg, outs):
                return super().output(outs, msg, display_id, cell_index)
            return None

    return SandboxedExecute


def _output_size(msg) -> int:
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        return len(content.get("text", ""))
    if msg.get("msg_type") == "error":
        return sum(map(len, content.get("traceback", []))) + len(content.get("evalue", ""))
    return len(json.dumps(content.get("data", {}), default=str))


class OutputBudget:
    """What one cell may store: ``text`` characters of streams and tracebacks, ``rich`` of other
    outputs; past that, outputs are dropped and one note says where (it goes to stdout, so a
    test cell's verdict is not changed by it: nbgrader fails a test cell with any stderr)."""

    def __init__(self, text: int = MAX_CELL_TEXT, rich: int = MAX_CELL_RICH):
        self.left = {"text": text, "rich": rich}
        self.limit = dict(self.left)
        self.noted = set()

    def take(self, msg, outs) -> bool:
        """-> whether ``msg`` may be stored; when it may not, append the note to ``outs`` once."""
        kind = "text" if msg.get("msg_type") in ("stream", "error") else "rich"
        size = _output_size(msg)
        if size <= self.left[kind]:
            self.left[kind] -= size
            return True
        if kind not in self.noted:
            self.noted.add(kind)
            import nbformat
            if kind == "text" and msg.get("msg_type") == "stream" and self.left[kind] > 0:
                head = msg["content"]["text"][:self.left[kind]]  # the part that fits, then the note
                outs.append(nbformat.v4.new_output("stream", name=msg["content"]["name"], text=head))
            self.left[kind] = 0
            outs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                f"\n[output cut at {self.limit[kind] // 1000} kB by bpkit-grade]\n")))
        return False


class Kernel:
    """A sandboxed kernel that runs code with a time limit, restarted when it hangs or dies."""

    def __init__(self, cwd: str, timeout: float, confinement: Confinement):
        self.cwd, self.timeout, self.confinement, self.kc = cwd, timeout, confinement, None
        self._start()

    def _start(self):
        # returns once the kernel process is launched: it boots while nbgrader runs
        self.km = SyncSandboxKernelManager(kernel_name="python3", confinement=self.confinement)
        self.km.start_kernel(cwd=self.cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self.kc = self.km.client()
        self.kc.start_channels()
        self.ready = False

    def close(self):
        if self.kc is None:
            return
        self.kc.stop_channels()
        self.kc = None
        try:
            # a kernel that already died is no error for jupyter_client (measured, 8.10)
            self.km.shutdown_kernel(now=True)
        except OSError as e:  # its process or files are gone under it (kill_user, a cleaned home)
            self.km.log.warning("re-check kernel shutdown: %s", e)
        if self.confinement.uid is not None:
            kill_user(self.confinement.uid)

    def restart(self, replay: list[str]):
        self.close()
        self._start()
        for code in replay:
            self.run(code)

    def run(self, code: str, collect=None):
        """-> (status, stdout, error): status is ok, error, timeout (interrupted), hang (ignored
        the interrupt) or died. ``collect``: called with each piece of the run's stdout as it
        arrives (e.g. ``recheck.ResultLines.feed``); then ``stdout`` is "", else it is the first
        ``MAX_CELL_TEXT`` characters only. ``error`` is cut at ``MAX_ERROR``."""
        if not self.ready:
            self.kc.wait_for_ready(timeout=60)
            self.ready = True
        msg_id = self.kc.execute(code, allow_stdin=False)
        deadline, interrupted, out, err, kept = time.monotonic() + self.timeout, False, [], None, 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if interrupted:
                    return "hang", "".join(out), err
                self.km.interrupt_kernel()
                interrupted, deadline = True, time.monotonic() + 3
                continue
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    return "died", "".join(out), err
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                if collect is not None:
                    collect(content["text"])
                elif kept < MAX_CELL_TEXT:
                    out.append(content["text"][:MAX_CELL_TEXT - kept])
                    kept += len(out[-1])
            elif kind == "error":
                err = f"{content['ename']}: {content['evalue']}"[:MAX_ERROR]
            elif kind == "status" and content["execution_state"] == "idle":
                status = "timeout" if interrupted else ("error" if err else "ok")
                return status, "".join(out), err
