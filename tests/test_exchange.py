"""`nbgrader collect` with the course's nbgrader_config.py (bpkit_grade.exchange.SafeCollect):
a submission in another student's name or holding a symbolic link is refused, where stock
nbgrader collects both (issue 10, the exchange)."""
import os
import pwd
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
STAMP = "2026-11-21 12:00:00.000000 UTC"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hands in as other accounts (chown): needs root")


def nbgrader(course, exchange, *args):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), NBGRADER_EXCHANGE=exchange)
    done = subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def hand_in(inbound, student, owner, secret=None):
    """A submission folder in inbound/ named for ``student``, owned by ``owner``."""
    folder = os.path.join(inbound, f"{student}+toy+{STAMP}+x{len(os.listdir(inbound))}")
    os.makedirs(folder)
    with open(os.path.join(folder, "timestamp.txt"), "w") as f:
        f.write(STAMP)
    if secret:
        os.symlink(secret, os.path.join(folder, "toy.ipynb"))
    else:
        shutil.copy(os.path.join(HERE, "fixtures", "course", "solutions", "toy", "toy.ipynb"), folder)
    uid = pwd.getpwnam(owner).pw_uid
    for dirpath, _, files in os.walk(folder):
        for p in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            os.lchown(p, uid, uid)


@pytest.mark.slow
@pytest.mark.parametrize("collect, refused", [("bpkit_grade.exchange.SafeCollect", True),
                                              ("nbgrader.exchange.default.collect.ExchangeCollect", False)])
def test_collect_refuses_another_students_name_and_planted_links(tmp_path, collect, refused):
    course, exchange = str(tmp_path / "course"), str(tmp_path / "exchange")
    shutil.copytree(os.path.join(HERE, "fixtures", "course", "solutions"), os.path.join(course, "solutions"))
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    os.makedirs(exchange)
    nbgrader(course, exchange, "generate_assignment", "toy")
    nbgrader(course, exchange, "release_assignment", "toy")
    inbound = os.path.join(exchange, "bpkit", "inbound")
    secret = os.path.join(course, "solutions", "toy", "toy.ipynb")
    hand_in(inbound, "root", "root")                      # honest: the account is the student id
    hand_in(inbound, "nobody", "root")                    # root's submission in nobody's name
    hand_in(inbound, "daemon", "daemon", secret=secret)   # a link to the instructor's solution
    log = nbgrader(course, exchange, "collect", "toy", f"--ExchangeFactory.collect={collect}")
    submitted = os.path.join(course, "submitted")
    assert os.path.isfile(os.path.join(submitted, "root", "toy", "toy.ipynb")), log
    for student in ("nobody", "daemon"):
        assert os.path.exists(os.path.join(submitted, student)) != refused, log
    if refused:
        assert "it is owned by root, not by nobody" in log and "'toy.ipynb' is not a regular file" in log, log
