"""The sandbox of a submission's kernels (bubblewrap, issue 10) without nbgrader: what a sandboxed
command sees and leaves behind, a kernel over the ipc transport, the one huge message, and the
grader's copy of a submission's folder that follows no symbolic link. End to end, with -j 2:
tests/test_attacks.py."""
import json
import os
import resource
import shutil
import subprocess
import sys

import pytest

import bpkit
import bpkit_grade
from bpkit_grade.merge import copy_tree
from bpkit_grade.sandbox import Confinement
from bpkit_grade.settings import _not_world_reachable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UID = 100000 + (os.getpid() % 10000) * 8  # free uids (as bpkit-grade's --uid-base in the tests)

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                                   reason="the sandbox needs root and bubblewrap (./course test installs it)")


def confinement(tmp_path, **changes) -> Confinement:
    """A sandbox like bpkit-grade's: the course shows bpkit, bpkit_grade and the venv only,
    ``tmp_path`` (the run's work folder) only its ``box/home``."""
    keep = tuple(os.path.dirname(os.path.abspath(m.__file__)) for m in (bpkit, bpkit_grade)) + (sys.prefix, sys.base_prefix)
    roots = tuple(sorted({ROOT} | {d for p in keep for d in _not_world_reachable(p)}))
    home = tmp_path / "box" / "home"
    home.mkdir(parents=True)
    os.chown(home, UID, UID)
    base = dict(memory=2 << 30, home=str(home), uid=UID, roots=roots, keep=keep, cover=(str(tmp_path),))
    return Confinement(**(base | changes))


PROBE = r'''
import json, os
seen = {"uid": os.getuid(), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
        "tcp": len(open("/proc/net/tcp").readlines()) - 1, "workroot": sorted(os.listdir(WORKROOT)),
        "course": sorted(os.listdir(COURSE)), "tmp": sorted(os.listdir("/tmp"))}
for d in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(d, NAME), "wb") as f:
            for _ in range(64):
                f.write(b"x" * (1 << 20))
        seen[d] = "written"
    except OSError as e:
        seen[d] = e.strerror
print(json.dumps(seen))
'''


@needs_sandbox
def test_a_sandboxed_command_sees_only_itself_and_leaves_nothing(tmp_path):
    (tmp_path / "s-classmate").mkdir()
    (tmp_path / "s-classmate" / "toy.ipynb").write_text("a classmate's answers")
    c = confinement(tmp_path, tmp_size=8 << 20)
    name = f"bpkit-sandbox-test-{UID}"
    probe = PROBE.replace("WORKROOT", repr(str(tmp_path))).replace("COURSE", repr(ROOT)).replace("NAME", repr(name))
    done = subprocess.run(c.argv([sys.executable, "-c", probe]), cwd=c.home, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["uid"] == UID and seen["pids"] == ["1", "2"] and seen["tcp"] == 0, seen
    # no classmate, nothing of the host's /tmp but the way to this submission's folder
    assert seen["workroot"] == ["box"] and seen["tmp"] == [os.path.relpath(tmp_path, "/tmp").split(os.sep)[0]], seen
    assert "solutions" not in seen["course"] and ".git" not in seen["course"], seen
    assert seen["/tmp"] == seen["/var/tmp"] == seen["/dev/shm"] == "No space left on device", seen
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(os.path.join(d, name)), f"{d}/{name} outlived the sandbox"


@needs_sandbox
def test_the_recheck_process_runs_sandboxed_and_ctrl_c_reaches_it(tmp_path):
    from bpkit_grade.runner import Runner

    c = confinement(tmp_path)
    runner = Runner(c.home, 10, c)
    try:
        assert runner.run("print(6 * 7)")[:2] == ("ok", "42\n")
        assert runner.run("import os; print(os.getpid() < 10)")[:2] == ("ok", "True\n")  # own PID namespace
        # Ctrl-C reaches the process, not bwrap (which would take the sandbox with it): "timeout", not "died"
        assert runner.run("import time; time.sleep(60)")[0] == "timeout"
        assert runner.run("print(1)")[:2] == ("ok", "1\n")
    finally:
        runner.close()


@needs_sandbox
def test_nbgraders_kernel_talks_ipc_and_one_huge_message_is_never_read(tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from bpkit_grade.kernel import MAX_MESSAGE, SandboxKernelManager

    seen = {}

    class Recording(SandboxKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            seen["transport"], seen["ip"] = self.transport, self.ip
            return super().format_kernel_cmd(extra_arguments)

    c = confinement(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    NotebookClient(nb, km=Recording(confinement=c, kernel_name="python3"), timeout=60,
                   resources={"metadata": {"path": c.home}}).execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert seen["transport"] == "ipc" and seen["ip"].startswith(c.home), seen
    # one message of 4 x MAX_MESSAGE, sent the way student code can (not through print's buffer)
    huge = nbformat.v4.new_code_cell(f'''k = get_ipython().kernel
k.session.send(k.iopub_socket, "stream", {{"name": "stdout", "text": "x" * {4 * MAX_MESSAGE}}},
               parent=k.get_parent("shell"), ident=b"stream.stdout")''')
    nb = nbformat.v4.new_notebook(cells=[huge])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    try:  # the cell may time out waiting for output that never comes, or finish without it
        NotebookClient(nb, km=SandboxKernelManager(confinement=c, kernel_name="python3"), timeout=20,
                       resources={"metadata": {"path": c.home}}).execute()
    except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError):
        pass
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - before
    assert grown < MAX_MESSAGE, grown
    assert not any(o.get("text", "").startswith("xxx") for o in huge.get("outputs", []))


def test_the_grader_copies_only_regular_files_and_follows_no_link(tmp_path):
    src, secret = tmp_path / "autograded", tmp_path / "secret"
    secret.mkdir()
    (secret / "gradebook.db").write_text("root only")
    (src / "sub").mkdir(parents=True)
    (src / "toy.ipynb").write_text("{}")
    (src / "sub" / "data.txt").write_text("ok")
    os.symlink(secret / "gradebook.db", src / "timestamp.txt")
    os.symlink(secret, src / "linked")
    os.mkfifo(src / "fifo")
    left_out = copy_tree(str(src), str(tmp_path / "copy"))
    copied = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "copy")
                    for d, dirs, files in os.walk(tmp_path / "copy") for f in dirs + files)
    assert copied == ["sub", "sub/data.txt", "toy.ipynb"], copied
    assert sorted(left_out) == ["fifo", "linked", "timestamp.txt"], left_out
    assert {"toy.ipynb", "sub/data.txt"} <= set(copy_tree(str(src), str(tmp_path / "none"), limit=0))


# ------------------------------------------- tripwires: a report student code cannot silence
def test_the_stand_ins_show_names_never_content_and_nothing_of_a_private_folder(tmp_path):
    from bpkit_grade.tripwire import Tripwires, plan

    hidden, private = tmp_path / "solutions", tmp_path / "submitted"
    (hidden / "01" / "deeper" / "deepest").mkdir(parents=True)
    for i in range(12):
        (hidden / f"nb{i:02d}.ipynb").write_text("the answers")
    (private / "ann" / "toy").mkdir(parents=True)
    (tmp_path / "gradebook.db").write_text("scores")
    wanted = plan([hidden, private, tmp_path / "gradebook.db", hidden / "01", tmp_path / "absent"],
                  private={str(private)}, per_path=6, depth=2)
    names = [os.path.relpath(p, tmp_path) for p, _ in wanted]
    # breadth first within the budget, one level deep; a hidden path inside another once; absent: none
    assert names == ["gradebook.db", "solutions", "solutions/01", "solutions/nb00.ipynb", "solutions/nb01.ipynb",
                     "solutions/nb02.ipynb", "solutions/nb03.ipynb", "solutions/nb04.ipynb", "submitted"], names
    t = Tripwires(wanted, str(tmp_path / "tw"))
    try:
        assert t.tops == tuple(str(tmp_path / n) for n in ("gradebook.db", "solutions", "submitted"))
        assert t.tripped() == []  # planting them is no attempt
        planted = sorted(os.path.relpath(os.path.join(d, f), t.stand_in(str(tmp_path)))
                         for d, _, files in os.walk(t.stand_in(str(tmp_path))) for f in files)
        assert planted == [n for n in names if n.endswith((".db", ".ipynb"))], planted
        assert all(os.path.getsize(t.stand_in(str(tmp_path / n))) == 0 for n in planted)
        assert os.listdir(t.stand_in(str(private))) == []
        # this walk opened the folders (looking at sizes opens nothing), wherever it was done from
        assert t.tripped() == [str(tmp_path / n) for n in ("solutions", "solutions/01", "submitted")]
    finally:
        t.close()
    assert not os.path.exists(tmp_path / "tw")


LOOK = r'''
import json, os
seen = {"listed": sorted(os.listdir(SOLUTIONS)), "private": os.listdir(TESTS)}
seen["read"] = open(os.path.join(SOLUTIONS, seen["listed"][0]) + "/" + NOTEBOOK).read()
os.stat(README)  # only looked at: not an attempt to read
print(json.dumps(seen))
'''


@needs_sandbox
def test_opening_a_hidden_path_is_reported_by_the_kernel_not_by_the_process(tmp_path):
    """No audit hook at all in this process (nothing of it reports anything): the stand-ins of
    the checkout's solutions/, tests/ and README are bound in, and what it opens is known outside."""
    from bpkit_grade.tripwire import Tripwires, plan

    solutions, tests, readme = (os.path.join(ROOT, n) for n in ("solutions", "tests", "README.md"))
    first = sorted(os.listdir(solutions))[0]
    notebook = sorted(n for n in os.listdir(os.path.join(solutions, first)) if n.endswith(".ipynb"))[0]
    wanted = plan([solutions, tests, readme], private={tests})
    probe = (LOOK.replace("SOLUTIONS", repr(solutions)).replace("TESTS", repr(tests))
             .replace("README", repr(readme)).replace("NOTEBOOK", repr(notebook)))
    t = Tripwires(wanted, str(tmp_path / "tw"))
    try:
        c = confinement(tmp_path, tripwires=t.binds())
        done = subprocess.run(c.argv([sys.executable, "-c", probe]), cwd=c.home, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen == {"listed": sorted(os.listdir(solutions)), "private": [], "read": ""}, seen
        assert t.tripped() == [solutions, tests, os.path.join(solutions, first, notebook)]  # in that order
    finally:
        t.close()
    honest = Tripwires(wanted, str(tmp_path / "tw2"))  # a notebook's imports open no stand-in
    try:
        c = confinement(tmp_path / "honest", tripwires=honest.binds())
        code = "import bpkit, bpkit.checks, numpy, IPython, json; print(bpkit.var(2.0) * 3)"
        done = subprocess.run(c.argv([sys.executable, "-c", code]), cwd=c.home, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert honest.tripped() == []
    finally:
        honest.close()


@needs_sandbox
def test_listing_the_runs_work_folder_is_reported_and_shows_only_the_submissions_own(tmp_path):
    """The work folder holds every submission's folder under a random name: listing it is the only
    way to a classmate's, and the listing is of a watched stand-in (no audit hook here either)."""
    from bpkit_grade.tripwire import Tripwires, plan

    (tmp_path / "s-classmate").mkdir()
    (tmp_path / "s-classmate" / "toy.ipynb").write_text("a classmate's answers")
    wanted = plan([tmp_path], private={str(tmp_path)})
    probe = (f"import os\nprint(sorted(os.listdir({str(tmp_path)!r})))\n"
             f"print(os.path.exists({str(tmp_path / 's-classmate')!r}))")
    t = Tripwires(wanted, str(tmp_path / "tw"))
    try:
        c = confinement(tmp_path, tripwires=t.binds())
        # bwrap making the home's mount point in the stand-in is no attempt; nor is running there
        code = "import bpkit, bpkit.checks, numpy, IPython, os; os.listdir('.'); print(bpkit.var(2.0) * 3)"
        done = subprocess.run(c.argv([sys.executable, "-c", code]), cwd=c.home, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert t.tripped() == []
        done = subprocess.run(c.argv([sys.executable, "-c", probe]), cwd=c.home, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:2] == ["['box']", "False"], done.stdout
        assert t.tripped() == [str(tmp_path)]
    finally:
        t.close()
    assert (tmp_path / "s-classmate" / "toy.ipynb").read_text() == "a classmate's answers"
