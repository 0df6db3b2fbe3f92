"""Run a command (a Jupyter kernel) confined: ``python -m bpkit_grade.sandbox [options] -- CMD ...``.

Started as root with ``--uid``, the command line :meth:`Confinement.argv` builds is
``bwrap NAMESPACES VIEW -- python -m bpkit_grade.sandbox --inside ... -- CMD``: bubblewrap
(Debian package ``bubblewrap``) puts the command into its own PID, network, IPC, UTS and mount
namespaces (it sees only its own processes in ``/proc``, no port of anyone: a kernel is reached
over ZeroMQ's ``ipc`` transport, socket files in its home) with this view of the file system:
  * everything read-only; the course folder (``roots``) shows only the ``keep`` paths (the bpkit
    package, the venv, the released files), each ``hide`` path is empty (the gradebook, ``.git``,
    the exchange, the registry for the re-check); ``tripwires`` puts a stand-in, watched from
    outside (``bpkit_grade.tripwire``), at each hidden path instead,
  * ``cover``: folders replaced by an empty one (the run's work folder: every other submission),
    a watched stand-in if ``tripwires`` has one, then the submission's own folders bound back in
    (``binds`` writable, ``ro_binds`` read-only),
  * a private, size-limited ``/tmp``, ``/var/tmp``, ``/dev/shm`` (``tmp_size`` bytes each), gone
    with the sandbox.
Inside, this module (still root, in the sandbox) hands the kernel's connection file to the
sandbox uid, sets resource limits (address space = the memory limit, no core files, file size,
processes), drops to ``--uid`` (no supplementary groups) and execs CMD. Ctrl-C reaches the kernel
(jupyter_client signals the process group) but not bubblewrap, which would end the sandbox.
Not root: no sandbox (only the limits apply); ``bpkit-grade`` says so.

:func:`kill_user` ends every process of a sandbox uid.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import sys
from dataclasses import dataclass

#: bytes of each private /tmp, /var/tmp and /dev/shm
TMP_SIZE = 64 << 20
#: the temp folders a sandbox has of its own
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")


class NoSandbox(RuntimeError):
    """bubblewrap is missing or cannot make namespaces here."""


def bwrap() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise NoSandbox("bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
                        "(./course grade and ./course test install it when run as root)")
    return found


@dataclass(frozen=True)
class Confinement:
    """How one sandboxed command runs (see the module docstring).

    memory  address-space limit, bytes
    home    HOME of the command (created; "" lets the caller pick a fresh one); writable, and
            where the kernel's connection file and ipc sockets go
    uid     the uid it runs as (None: not root, run as the caller, unsandboxed)
    roots, keep, hide   what it sees of the course
    cover   folders shown empty (the run's work folder; its stand-in if tripwires has one), before
            binds/ro_binds
    binds, ro_binds     the submission's own folders, shown writable / read-only (if they exist)
    audit   the file its audit hook reports to ("" for none)
    tripwires   (hidden path, its stand-in): bound read-only over the path, or where it would be
    """

    memory: int
    home: str = ""
    uid: int | None = None
    roots: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    audit: str = ""
    cover: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    ro_binds: tuple[str, ...] = ()
    tripwires: tuple[tuple[str, str], ...] = ()
    tmp_size: int = TMP_SIZE

    @property
    def sandboxed(self) -> bool:
        return self.uid is not None

    def argv(self, cmd: list[str], conn: str | None = None) -> list[str]:
        """The command line that runs CMD confined; ``conn``: CMD's kernel connection file
        (inside ``home``)."""
        inner = [sys.executable, "-m", "bpkit_grade.sandbox", "--memory", str(self.memory), "--home", self.home]
        if conn:
            inner += ["--conn", conn]
        if self.audit:
            inner += ["--audit", self.audit]
        if not self.sandboxed:
            return inner + ["--"] + list(cmd)
        inner += ["--uid", str(self.uid), "--inside", "--"] + list(cmd)
        # SIGINT ignored by bwrap (an ignored signal stays ignored across exec); --inside resets it
        return ["sh", "-c", 'trap "" INT; exec "$@"', "bpkit-sandbox", bwrap()] + self.bwrap_args() + ["--"] + inner

    def bwrap_args(self) -> list[str]:
        made = set()

        def parents(top: str, path: str) -> list[str]:
            """--dir for the folders between ``top`` (a fresh tmpfs) and ``path`` (a bind in it):
            bwrap would make them 0700, which the sandbox uid cannot cross."""
            out, rel = [], os.path.relpath(os.path.dirname(path), top)
            parts = [] if rel == "." else rel.split(os.sep)
            for i in range(len(parts)):
                d = os.path.join(top, *parts[:i + 1])
                if d not in made:
                    made.add(d)
                    out += ["--perms", "0755", "--dir", d]
            return out

        def inside(path, tops):
            return any(not os.path.relpath(path, t).startswith("..") for t in tops)

        a = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
        for d in PRIVATE:
            a += ["--perms", "1777", "--size", str(self.tmp_size), "--tmpfs", d]
        for root in sorted(self.roots, key=len):
            a += ["--tmpfs", root]
            for path in self.keep:
                if os.path.exists(path) and not os.path.relpath(path, root).startswith(".."):
                    a += parents(root, path) + ["--ro-bind", path, path]
        fresh = PRIVATE + self.roots  # tmpfs made above: what is in them is not there unless bound

        def in_fresh(path):
            """The folders to a mount point in a fresh tmpfs, made crossable (none elsewhere)."""
            tops = sorted((t for t in fresh if inside(path, [t])), key=len)
            return parents(tops[-1], path) if tops else []

        wired = dict(self.tripwires)
        for path, stand_in in self.tripwires:
            if inside(path, self.cover):
                continue  # the cover itself (bound below) or another submission's: nothing at all
            a += ([] if inside(path, self.keep) else in_fresh(path)) + ["--ro-bind", stand_in, path]
        for root in sorted(self.roots, key=len):
            a += ["--remount-ro", root]

        for path in self.hide:
            if path in wired or inside(path, PRIVATE + self.cover) or (inside(path, self.roots) and not inside(path, self.keep)):
                continue  # a stand-in there, or not there anyway
            if os.path.isdir(path):
                a += ["--tmpfs", path, "--remount-ro", path]
            elif os.path.exists(path):
                a += ["--ro-bind", "/dev/null", path]
        for path in self.cover:  # a watched stand-in (writable: bwrap makes mount points in it) or empty
            a += in_fresh(path) + (["--bind", wired[path], path] if path in wired else ["--tmpfs", path])

        def under_cover(path):
            tops = [c for c in self.cover if inside(path, [c])]
            return parents(tops[0], path) if tops else []

        for path in self.ro_binds:
            a += under_cover(path) + ["--ro-bind-try", path, path]
        for path in (self.home,) + self.binds:
            a += under_cover(path) + ["--bind-try", path, path]
        if self.audit:
            a += under_cover(self.audit) + ["--bind-try", self.audit, self.audit]
        return a + [arg for path in self.cover for arg in ("--remount-ro", path)]


def limit(memory: int, nproc: int = 256, fsize: int = 256 << 20) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def kill_user(uid: int) -> int:
    """SIGKILL every process running as ``uid`` (a sandbox uid: only kernels we started); count."""
    killed = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return killed


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bpkit_grade.sandbox")
    p.add_argument("--uid", type=int, help="user id to run as (only when started as root)")
    p.add_argument("--inside", action="store_true", help="we are inside bwrap (Confinement.argv)")
    p.add_argument("--memory", type=int, required=True, help="address-space limit in bytes")
    p.add_argument("--home", required=True, help="HOME of the sandboxed command (created)")
    p.add_argument("--conn", help="kernel connection file in HOME: handed to --uid")
    p.add_argument("--audit", help="file (root only) that the kernel's audit hook reports to "
                                   "(CMD must be `python -m MODULE ...`)")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    drop = os.geteuid() == 0 and a.uid is not None
    if drop and not a.inside:
        sys.exit("bpkit_grade.sandbox: --uid without bwrap: run it through Confinement.argv")
    os.makedirs(a.home, mode=0o700, exist_ok=True)
    if drop:
        os.chown(a.home, a.uid, a.uid)
        if a.conn:
            os.chown(a.conn, a.uid, a.uid)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # ignored for bwrap's sake, the kernel's again
    env = dict(os.environ, HOME=a.home, IPYTHONDIR=os.path.join(a.home, ".ipython"),
               MPLCONFIGDIR=os.path.join(a.home, ".mpl"), JUPYTER_RUNTIME_DIR=a.home,
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if drop:
        env["TMPDIR"] = "/tmp"  # its own
        # the grader's pid means nothing in the sandbox's PID namespace (ipykernel would exit at
        # once); bwrap --die-with-parent ends the kernel with its parent instead
        env.pop("JPY_PARENT_PID", None)
    if a.audit and len(cmd) > 2 and cmd[1] == "-m":
        fd = os.open(a.audit, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.set_inheritable(fd, True)
        env["BPKIT_AUDIT_FD"] = str(fd)
        env["BPKIT_AUDIT_ALLOW"] = os.path.dirname(os.path.abspath(a.audit))
        cmd = [cmd[0], "-m", "bpkit_grade._audit"] + cmd[1:]
    limit(a.memory)
    if drop:
        os.setgroups([])
        os.setgid(a.uid)
        os.setuid(a.uid)
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
