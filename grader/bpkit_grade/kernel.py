"""The sandboxed Jupyter kernel: the kernel managers nbgrader's run and the re-check use, and
:class:`Kernel`, which runs code with a time limit.

The only module of bpkit-grade that imports ``jupyter_client``; import it where a kernel is
started, not at the top of pure code.
"""
from __future__ import annotations

import dataclasses
import queue
import tempfile
import time

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Instance
from traitlets.config import LoggingConfigurable

from bpkit_grade.sandbox import Confinement, kill_user


class _Sandboxed(LoggingConfigurable):
    """Starts the kernel through ``python -m bpkit_grade.sandbox`` (see that module)."""

    confinement = Instance(Confinement, help="how the kernel is confined (sandbox.Confinement)").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        confinement = self.confinement
        if not confinement.home:
            confinement = dataclasses.replace(confinement, home=tempfile.mkdtemp(prefix="bpkit-kernel-"))
        return confinement.argv(cmd, conn=self.connection_file)


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

    return SandboxedExecute


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

    def run(self, code: str):
        """-> (status, stdout, error): status is ok, error, timeout (interrupted), hang (ignored
        the interrupt) or died."""
        if not self.ready:
            self.kc.wait_for_ready(timeout=60)
            self.ready = True
        msg_id = self.kc.execute(code, allow_stdin=False)
        deadline, interrupted, out, err = time.monotonic() + self.timeout, False, [], None
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
                out.append(content["text"])
            elif kind == "error":
                err = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                status = "timeout" if interrupted else ("error" if err else "ok")
                return status, "".join(out), err
