"""``python -m bpkit_grade._audit -m MODULE ARGS...``: run MODULE (the kernel) with an audit hook that
reports attempts to open the course's secrets, and its stdout sent in pieces the grader reads.

The sandbox already hides those files; this only tells the grader that student code *tried*
(``bpkit-grade`` flags the submission). The report goes to the file descriptor in
``$BPKIT_AUDIT_FD``, opened by the sandbox launcher as root on a file the student cannot open.
Audit hooks cannot be removed, but student code can close the descriptor or replace the hook's
code, so this report is best effort. The one student code cannot silence comes from outside its
process: the hidden paths are watched stand-ins (``bpkit_grade.tripwire``); this hook adds the
paths no stand-in covers.
"""
import os
import runpy
import sys

_FD = int(os.environ.pop("BPKIT_AUDIT_FD", "-1"))
_ALLOW = os.environ.pop("BPKIT_AUDIT_ALLOW", "")  # the submission's own throwaway folder
_SECRET_PARTS = {"solutions", "source", ".git", "submitted", "autograded", "feedback", "exchange"}
_EVENTS = {"open", "sqlite3.connect", "os.listdir", "os.scandir", "glob.glob"}


def _suspicious(path: str) -> bool:
    full = os.path.abspath(path)
    if "gradebook" in os.path.basename(full):
        return True
    if _ALLOW and (full + os.sep).startswith(_ALLOW + os.sep):
        return False
    return bool(_SECRET_PARTS.intersection(full.split(os.sep))) or "bpkit-grade-" in full


def _hook(event, args):
    if event not in _EVENTS or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str) and _suspicious(path):
        try:
            os.write(_FD, f"{event} {path}\n".encode(errors="replace"))
        except OSError:
            pass


def _stdout_in_pieces(piece: int = 1 << 20) -> None:
    """ipykernel sends all a cell printed within 0.2 s as one message, and one ``print`` as one:
    a 200 MB flood would be a message the grader does not read (kernel.MAX_MESSAGE), and the
    rest of the notebook would go unseen. Honest output goes out in pieces of ``piece``
    characters instead (student code that undoes this only loses its own output)."""
    from ipykernel.iostream import OutStream

    write = OutStream.write

    def in_pieces(self, string):
        for i in range(0, max(len(string), 1), piece):
            write(self, string[i:i + piece])
            with self._buffer_lock:
                waiting = max((b.tell() for b in self._buffers.values()), default=0)
            if waiting >= piece:
                self.flush()
        return len(string)

    OutStream.write = in_pieces


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "-m":
        sys.exit("usage: python -m bpkit_grade._audit -m MODULE ARGS...")
    module = sys.argv[2]
    sys.argv = [module] + sys.argv[3:]
    if _FD >= 0:
        sys.addaudithook(_hook)
    if module == "ipykernel_launcher":
        _stdout_in_pieces()
    runpy.run_module(module, run_name="__main__", alter_sys=True)
