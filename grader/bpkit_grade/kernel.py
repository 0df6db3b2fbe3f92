"""The sandboxed Jupyter kernel of nbgrader's run: its kernel manager, and nbgrader's Execute
preprocessor with the output of each cell capped. (The re-check needs no kernel:
:mod:`bpkit_grade.runner`.)

The only module of bpkit-grade that imports ``jupyter_client``; import it where a kernel is
started, not at the top of pure code.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import uuid

import zmq

from jupyter_client.manager import AsyncKernelManager
from traitlets import Instance
from traitlets.config import LoggingConfigurable

from bpkit_grade.runner import MAX_CELL_TEXT
from bpkit_grade.sandbox import Confinement


#: the largest single message read from a kernel, bytes: ZeroMQ drops a longer one and the
#: connection with it (libzmq 4.3.5 does not reconnect), so that kernel's run then times out;
#: without it one 625 MB print was read whole by the grader (docs/instructor.md)
MAX_MESSAGE = 32 << 20
#: the stored output of one cell in the autograded notebook, characters: MAX_CELL_TEXT of stream
#: text and tracebacks (as the re-check keeps), MAX_CELL_RICH of everything else (images, SVG
#: graphs, HTML)
MAX_CELL_RICH = 2_000_000


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
