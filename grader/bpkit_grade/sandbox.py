"""Run a command (a Jupyter kernel) confined: ``python -m bpkit_grade.sandbox [options] -- CMD ...``.

Started as root, it
  1. copies the kernel's connection file (``--conn``) into ``--home`` for the sandbox user,
  2. enters a private mount namespace in which the course folder (``--root``) shows only the
     ``--keep`` paths (the bpkit package, the venv, the released notebooks) and each ``--hide``
     path is covered by an empty one: the gradebook, ``solutions/``, ``.git``, the others'
     submissions and the exercise registry are simply not there,
  3. sets resource limits (address space = the memory limit, no core files, file size, processes),
  4. drops to ``--uid`` (no supplementary groups) and execs CMD.
Not root: steps 2 and 4 are impossible and skipped (the limits still apply); ``bpkit-grade`` says so.

The grader describes a sandbox with :class:`Confinement` (whose :meth:`~Confinement.argv` is the
command line above) and uses :func:`kill_user` to end every process of a sandbox uid.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass

CLONE_NEWNS, MNT_DETACH = 0x00020000, 2
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18


@dataclass(frozen=True)
class Confinement:
    """How one sandboxed command runs: the options of this module's command line.

    memory  address-space limit, bytes
    home    HOME of the command (created; "" lets the caller pick a fresh one)
    uid     the uid it runs as (None: not root, run as the caller)
    roots, keep, hide   what it sees of the file system (see :func:`confine`)
    audit   the file its audit hook reports to ("" for none)
    """

    memory: int
    home: str = ""
    uid: int | None = None
    roots: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    audit: str = ""

    def argv(self, cmd: list[str], conn: str | None = None) -> list[str]:
        """``python -m bpkit_grade.sandbox ... -- CMD``; ``conn``: CMD's kernel connection file."""
        wrap = [sys.executable, "-m", "bpkit_grade.sandbox", "--memory", str(self.memory), "--home", self.home]
        if conn:
            wrap += ["--conn", conn]
        if self.uid is not None:
            wrap += ["--uid", str(self.uid)]
        if self.audit:
            wrap += ["--audit", self.audit]
        for flag, paths in (("--root", self.roots), ("--keep", self.keep), ("--hide", self.hide)):
            for path in paths:
                wrap += [flag, path]
        return wrap + ["--"] + list(cmd)


def _mount(source, target, fstype, flags, data):
    libc = ctypes.CDLL(None, use_errno=True)
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def confine(roots: list[str], keep: list[str], hide: list[str], scratch: str) -> None:
    """Enter a private mount namespace in which each folder in ``roots`` (the course; a home
    folder holding the Python interpreter) shows only the ``keep`` paths inside it (the bpkit
    package, the venv, the interpreter) and each path in ``hide`` is covered: a directory by an
    empty read-only tmpfs, a file by /dev/null. ``scratch``: a root-only folder for the moment
    the kept paths are set aside (the submission's throwaway folder)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNS): {os.strerror(err)}")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    for root in sorted(roots, key=len):
        stash = tempfile.mkdtemp(prefix=".stash-", dir=scratch)  # removed with scratch if we are killed
        kept = []
        for i, path in enumerate(p for p in keep if os.path.exists(p)):
            rel = os.path.relpath(path, root)
            if rel.startswith(".."):
                continue
            saved = os.path.join(stash, str(i))
            os.mkdir(saved) if os.path.isdir(path) else open(saved, "w").close()
            _mount(path, saved, None, MS_BIND | MS_REC, None)
            kept.append((rel, saved, os.path.isdir(path)))
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for rel, saved, isdir in kept:
            target = os.path.join(root, rel)
            os.makedirs(target if isdir else os.path.dirname(target), exist_ok=True)
            if not isdir:
                open(target, "w").close()
            _mount(saved, target, None, MS_BIND | MS_REC, None)
        _mount("none", root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
        for _, saved, isdir in kept:  # the stash was only a stepping stone
            libc.umount2(saved.encode(), MNT_DETACH)
            os.rmdir(saved) if isdir else os.unlink(saved)
        os.rmdir(stash)
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND, None)


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
    p.add_argument("--memory", type=int, required=True, help="address-space limit in bytes")
    p.add_argument("--home", required=True, help="HOME of the sandboxed command (created)")
    p.add_argument("--conn", help="kernel connection file: copied into HOME, path rewritten in CMD")
    p.add_argument("--root", action="append", default=[],
                   help="folder inside which only the --keep paths stay visible (repeatable)")
    p.add_argument("--keep", action="append", default=[], help="path inside --root to keep (repeatable)")
    p.add_argument("--hide", action="append", default=[], help="path made invisible (repeatable)")
    p.add_argument("--audit", help="file (root only) that the kernel's audit hook reports to "
                                   "(CMD must be `python -m MODULE ...`)")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    root = os.geteuid() == 0 and a.uid is not None
    os.makedirs(a.home, mode=0o700, exist_ok=True)
    if a.conn:
        copy = os.path.join(a.home, os.path.basename(a.conn))
        shutil.copyfile(a.conn, copy)
        cmd = [copy if c == a.conn else c for c in cmd]
    if root:
        for dirpath, _, files in os.walk(a.home):
            for q in [dirpath] + [os.path.join(dirpath, f) for f in files]:
                os.chown(q, a.uid, a.uid)
        confine(a.root, a.keep, a.hide, scratch=os.path.dirname(os.path.abspath(a.home)))
    env = dict(os.environ, HOME=a.home, IPYTHONDIR=os.path.join(a.home, ".ipython"),
               MPLCONFIGDIR=os.path.join(a.home, ".mpl"), JUPYTER_RUNTIME_DIR=a.home,
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if a.audit and len(cmd) > 2 and cmd[1] == "-m":
        fd = os.open(a.audit, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.set_inheritable(fd, True)
        env["BPKIT_AUDIT_FD"] = str(fd)
        env["BPKIT_AUDIT_ALLOW"] = os.path.dirname(os.path.abspath(a.audit))
        cmd = [cmd[0], "-m", "bpkit_grade._audit"] + cmd[1:]
    limit(a.memory)
    if root:
        os.setgroups([])
        os.setgid(a.uid)
        os.setuid(a.uid)
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
