"""An instructor's term on a real JupyterHub, end to end (docs/instructor.md, "A class on JupyterHub").

The hub runs docs/hub/jupyterhub_config.py (the file the docs show) on 127.0.0.1, as root, with
PAM accounts this test creates (one instructor, three students) and the local process spawner.
Students' servers run a venv built from the student edition (`./course publish`) as a hub's
student image would, with docs/hub/nbgrader_config.py; the instructor's runs the course's .venv
in a private copy of this repository. Everything goes through the hub's REST API and the users'
own servers: the instructor's nbgrader commands run in a kernel of the instructor's server; one
student (the correct one) logs in on the hub's page in Chromium and clicks Fetch, Submit and
Fetch Feedback in JupyterLab's Assignment List; the other two call the handlers those buttons
call. Every student's notebook is filled in through the contents API (what JupyterLab's Save
does). Only bpkit-grade runs as root, as it must.

Then, in each student's own kernel: what that student can read of the others, of the
instructor's course folder and of the exchange; and which of nbgrader's tools each server
offers (students: no Formgrader, Course List or Create Assignment; the instructor: all).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import nbformat
import pytest

import browserlib
import hublib

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "hub"
ASG = "01-computational-graphs"
NB = f"{ASG}.ipynb"
COURSE_ID = "bpkit"
TAG = f"bpk{os.getpid() % 10000:04d}"
INSTRUCTOR = f"{TAG}ins"
STUDENTS = {"correct": f"{TAG}s1", "mistake": f"{TAG}s2", "blank": f"{TAG}s3"}
# a typical mistake of the first exercise (the registry's "computed r = y - q instead of q - y")
MISTAKE = """
_right_forward_max_square = forward_max_square
def forward_max_square(x, y, z):
    p, q, r, s, t = _right_forward_max_square(x, y, z)
    return (p, q, -r, r * r, r * r + z)
"""
MISTAKE_SAYS = "computed r = y - q instead of q - y"
# what the mistaken student also hands in: live script in an output and in a markdown answer, if
# it reached the instructor's Formgrader unsanitized
XSS = "window.bpkitHubXss = 1"
XSS_CELLS = [nbformat.v4.new_markdown_cell(f"My answer. <script>{XSS}</script>"),
             nbformat.v4.new_code_cell(f"from IPython.display import HTML, display\n"
                                       f"display(HTML('<b>bold</b><script>{XSS}</script>'))")]
CLICKS = "correct"                # the student who logs in and clicks in Chromium
PASSWORD = os.urandom(12).hex()   # their password (PAM, as the hub checks it)
# nbgrader's instructor tools, which students' servers must not offer (docs/hub/jupyterhub_config.py)
INSTRUCTOR_LAB_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                          "@jupyter/nbgrader:create-assignment"}
INSTRUCTOR_PAGES = {"formgrader": "the Formgrader", "formgraders": "the Course List's handler"}

def _pinned(name: str) -> str:
    m = re.search(rf"^{re.escape(name)}==(\S+)", (ROOT / "requirements" / "lock.txt").read_text(), re.M)
    assert m, f"{name} is not pinned in requirements/lock.txt"
    return m[1]


def _shared_python() -> str:
    """A Python every account can run: this one if its folders let everyone in (here it is
    under /root, as pyenv installs it), else Debian's."""
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        path = Path(os.path.realpath(candidate))
        if path.exists() and all(p.stat().st_mode & 0o001 for p in path.parents) and path.stat().st_mode & 0o005:
            return str(path)
    raise AssertionError(f"no Python that other accounts can run: {sys.executable} is under a private folder "
                         "and /usr/bin/python3 is missing (apt-get install python3)")


def _venv(env: Path, cwd: Path, *requirements: str) -> Path:
    """A venv at ``env`` with ``requirements`` installed by uv (pip's arguments), run in ``cwd``."""
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "--quiet", "--python", _shared_python(), str(env)], check=True,
                   capture_output=True, text=True)
    done = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(env / "bin" / "python"), *requirements],
                          cwd=cwd, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"installing {requirements} into {env} failed:\n{done.stderr[-3000:]}"
    return env


def _student_env(base: Path) -> Path:
    """The student edition, published, and a venv made from its binder/requirements.txt plus
    jupyterhub (the hub's single-user server), with the students' nbgrader configuration."""
    edition = base / "edition"
    done = subprocess.run([sys.executable, "-m", "bpkit_grade.publish", str(edition), "--repo", "test-org/bpkit-students",
                           "--course-dir", str(ROOT)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    env = _venv(base / "student-env", edition, "-r", "binder/requirements.txt", f"jupyterhub=={_pinned('jupyterhub')}")
    (env / "etc" / "jupyter").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "docs" / "hub" / "nbgrader_config.py", env / "etc" / "jupyter" / "nbgrader_config.py")
    return env


def _instructor_course(home: Path, uid: int, gid: int) -> Path:
    """A private copy of this repository's files (as `git clone` gives) in the instructor's
    home, with the .venv ./course would make there (the course and grader packages, from this
    copy, plus jupyterhub), stamped as installed so that ./course installs nothing more."""
    course = home / "bpkit"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("test-artifacts/", ".venv/")):
            (course / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, course / rel)
    env = _venv(course / ".venv", course, "-c", "requirements/lock.txt", "-e", ".[course]", "-e", "./grader",
                f"jupyterhub=={_pinned('jupyterhub')}")
    inputs = [course / "pyproject.toml", course / "grader" / "pyproject.toml", course / "requirements" / "lock.txt"]
    (env / ".bpkit-installed").write_text(hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest() + "\n")
    subprocess.run(["chown", "-R", "--no-dereference", f"{uid}:{gid}", str(course)], check=True)
    course.chmod(0o700)
    return course


def _sh(hub, user: str, *argv: str, cwd: Path) -> str:
    """Run a command in a kernel of ``user``'s server (as that user, in their environment)."""
    code = textwrap.dedent(f"""
        import subprocess
        r = subprocess.run({list(argv)!r}, cwd={str(cwd)!r}, capture_output=True, text=True)
        print(r.stdout[-4000:], r.stderr[-4000:])
        assert r.returncode == 0, f"{{r.returncode}}: {' '.join(argv)}"
    """)
    return hub.run_in_kernel(user, code)


def _assignments(hub, student: str, action: str = "", **extra):
    """nbgrader's Assignment List handler (``action``: fetch, submit, fetch_feedback) -> the list."""
    query = urlencode({"course_id": COURSE_ID, **({"assignment_id": ASG} if action else {}), **extra})
    path = f"assignments/{action}?{query}" if action else f"assignments?{query}"
    status, body = hub.user_api(student, "POST" if action else "GET", path, b"" if action else None)
    assert status == 200 and isinstance(body, dict), f"{student}: {path}: {status} {body}"
    assert body.get("success"), f"{student}: {path}: {body}"
    return body["value"]


def _act(hub, ui, kind: str, student: str, action: str) -> list:
    """``student`` does ``action`` (fetch, submit, fetch_feedback): the one who clicks (CLICKS)
    by the Assignment List's button in Chromium (``ui``), the others through the handler that
    button calls. -> the student's Assignment List afterwards, as their server reports it."""
    if kind == CLICKS:
        {"fetch": ui.fetch, "submit": ui.submit, "fetch_feedback": ui.fetch_feedback}[action](ASG)
    else:
        _assignments(hub, student, action)
    return _assignments(hub, student)


@pytest.fixture(scope="module")
def term():
    assert os.geteuid() == 0, "the hub test runs as root (the hub logs users in and starts their servers)"
    t0 = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="bpkit-hub-"))
    base.chmod(0o755)
    accounts = hublib.Accounts()
    hub = browser = None
    try:
        student_env = _student_env(base)
        ins = accounts.add(INSTRUCTOR)
        for kind, name in STUDENTS.items():
            accounts.add(name, PASSWORD if kind == "correct" else None)
        course = _instructor_course(Path(ins.pw_dir), ins.pw_uid, ins.pw_gid)
        exchange = base / "exchange"
        hub = hublib.Hub(base / "hub", {
            "BPKIT_HUB_INSTRUCTORS": INSTRUCTOR, "BPKIT_HUB_STUDENTS": ",".join(STUDENTS.values()),
            "BPKIT_HUB_EXCHANGE": str(exchange), "BPKIT_HUB_STUDENT_ENV": str(student_env),
            "BPKIT_HUB_INSTRUCTOR_ENV": str(course / ".venv"),
            "BPKIT_HUB_STUDENT_JUPYTER_CONFIG": str(base / "student-jupyter")})
        hub.__enter__()
        for name in [INSTRUCTOR, *STUDENTS.values()]:
            hub.start_server(name)
        for name in [INSTRUCTOR, *STUDENTS.values()]:
            hub.wait_ready(name)
        browser = browserlib.Browser(base / "chromium-profile").__enter__()
        page = browser.new_page()
        shutil.rmtree(ARTIFACTS / "clicks", ignore_errors=True)   # this run's pictures only
        ui = browserlib.AssignmentList(page, ARTIFACTS / "clicks")
        yield run_term(hub, course, exchange, ui) | {"hub": hub, "course": course, "exchange": exchange,
                                                     "student_env": student_env, "t0": t0}
    finally:
        if browser is not None:
            browser.__exit__(None, None, None)
        if hub is not None:
            hub.__exit__(None, None, None)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)   # the hub's log, for a failure's reader
            shutil.copy(hub.log_path, ARTIFACTS / "jupyterhub.log")
        accounts.remove()
        shutil.rmtree(base, ignore_errors=True)
        print(f"\ntests/test_hub.py: the term took {time.monotonic() - t0:.0f} s")


def run_term(hub, course: Path, exchange: Path, ui) -> dict:
    out = {"log": [], "listed": {}, "fetched": {}, "submitted": {}, "feedback": {}}
    say = out["log"].append
    # the instructor generates and releases the assignment (in their own server)
    say(_sh(hub, INSTRUCTOR, "./course", "generate", ASG, cwd=course))
    say(_sh(hub, INSTRUCTOR, "nbgrader", "release_assignment", ASG, cwd=course))
    # one student logs in in Chromium, looks at the Nbgrader menu, opens the Assignment List
    with ui.step("log-in"):
        hub.log_in(ui.page, STUDENTS[CLICKS], PASSWORD)
    out["student_menu"] = ui.menu_commands()
    ui.open(ASG)
    from bpkit_grade import synthetic
    solution = nbformat.read(ROOT / "solutions" / ASG / NB, 4)
    for kind, student in STUDENTS.items():
        out["listed"][student] = _assignments(hub, student)
        out["fetched"][student] = _act(hub, ui, kind, student, "fetch")
        path = f"api/contents/{ASG}/{NB}"
        status, model = hub.user_api(student, "GET", path)
        assert status == 200, f"{student} has no fetched notebook at ~/{ASG}/{NB}: {status} {model}"
        nb = nbformat.from_dict(model["content"])
        if kind != "blank":
            nb = synthetic.correct_notebook(solution, nb)
        if kind == "mistake":
            cell = next(c for c in nb.cells if c.cell_type == "code" and "def forward_max_square(" in c.source)
            cell.source = cell.source.rstrip() + "\n" + MISTAKE
            nb.cells += XSS_CELLS
        status, saved = hub.user_api(student, "PUT", path, {"type": "notebook", "format": "json", "content": nb})
        assert status == 200, f"{student} could not save the notebook: {status} {saved}"
        out["submitted"][student] = _act(hub, ui, kind, student, "submit")
    # the instructor collects; bpkit-grade grades (as root: its sandbox needs it); feedback, export
    say(_sh(hub, INSTRUCTOR, "nbgrader", "collect", ASG, cwd=course))
    done = subprocess.run(["./course", "grade", ASG, "-j", "2", "--uid-base", str(64100 + 2 * (os.getpid() % 200))],
                          cwd=course, capture_output=True, text=True, timeout=1200)
    out["grade_output"] = done.stdout + done.stderr
    assert done.returncode == 0, out["grade_output"][-4000:]
    say(_sh(hub, INSTRUCTOR, "nbgrader", "generate_feedback", ASG, cwd=course))
    say(_sh(hub, INSTRUCTOR, "nbgrader", "release_feedback", ASG, cwd=course))
    say(_sh(hub, INSTRUCTOR, "nbgrader", "export", cwd=course))
    for kind, student in STUDENTS.items():
        _act(hub, ui, kind, student, "fetch_feedback")
        status, folder = hub.user_api(student, "GET", f"api/contents/{ASG}/feedback")
        assert status == 200, f"{student} got no feedback folder: {status} {folder}"
        pages = []
        for stamp in folder["content"]:
            status, page = hub.user_api(student, "GET", f"api/contents/{quote(stamp['path'])}/{ASG}.html?type=file&format=text")
            assert status == 200, f"{student}: {stamp['path']}/{ASG}.html: {status} {page}"
            pages.append(page["content"])
        out["feedback"][student] = pages
    out["clicked"], out["page_errors"] = ui.done, ui.page.errors
    return out


def _text(html: str) -> str:
    import html as h
    return h.unescape(re.sub(r"<[^>]+>", " ", html))


# --------------------------------------------------------------------------- the term

def test_the_docs_show_the_hub_configuration_this_test_runs():
    """docs/instructor.md shows docs/hub/*.py whole, so an instructor copies what the test ran."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "instructor.md").read_text(), re.S)
    for name in ("jupyterhub_config.py", "nbgrader_config.py"):
        assert (ROOT / "docs" / "hub" / name).read_text() in blocks, \
            f"docs/instructor.md does not show docs/hub/{name} as it is: copy the file into the docs again"


@pytest.mark.slow
@pytest.mark.browser
def test_students_fetch_submit_and_get_their_own_feedback(term):
    for student in STUDENTS.values():
        listed = {a["assignment_id"]: a["status"] for a in term["listed"][student]}
        assert listed.get(ASG) == "released", f"{student}'s Assignment List before fetching: {listed}"
        fetched = {a["assignment_id"]: a["status"] for a in term["fetched"][student]}
        assert fetched.get(ASG) == "fetched", fetched
        submitted = [a for a in term["submitted"][student] if a["assignment_id"] == ASG and a["status"] == "submitted"]
        assert submitted, f"{student}'s submission is not listed: {term['submitted'][student]}"
        assert len(term["feedback"][student]) == 1, f"{student} fetched {len(term['feedback'][student])} feedback pages"
    page = {kind: _text(term["feedback"][STUDENTS[kind]][0]) for kind in STUDENTS}
    assert MISTAKE_SAYS in page["mistake"], "the mistaken student's feedback does not name the mistake:\n" + \
        page["mistake"][:3000]
    for kind in ("correct", "blank"):
        assert MISTAKE_SAYS not in page[kind], f"the {kind} student's feedback names another student's mistake"
    # the notebook's own text mentions NotImplementedError once; the blank one's checks raise it
    raised = {kind: page[kind].count("NotImplementedError") for kind in STUDENTS}
    assert raised["blank"] > raised["correct"] == raised["mistake"], raised


@pytest.mark.slow
@pytest.mark.browser
def test_the_instructors_formgrader_shows_the_course_with_student_script_inert(term):
    """The hub points the instructor's Formgrader at the course (before: it looked in their home
    and listed nothing), so it also reads the course's sanitizer: the mistaken student's script,
    in an output and in markdown, is not in the submission view's page (nor in their feedback)."""
    hub = term["hub"]
    status, assignments = hub.user_api(INSTRUCTOR, "GET", "formgrader/api/assignments")
    assert status == 200, f"the instructor's Formgrader API: {status} {assignments}"
    listed = {a["name"]: a["num_submissions"] for a in assignments}
    assert listed.get(ASG) == len(STUDENTS), f"the instructor's Formgrader lists {listed}"
    status, notebooks = hub.user_api(INSTRUCTOR, "GET", f"formgrader/api/submitted_notebooks/{ASG}/{NB[:-6]}")
    assert status == 200, f"{status} {notebooks}"
    ids = {n["student"]: n["id"] for n in notebooks}
    assert set(ids) == set(STUDENTS.values()), ids
    status, page = hub.user_page(INSTRUCTOR, f"formgrader/submissions/{ids[STUDENTS['mistake']]}/")
    assert status == 200 and "forward_max_square" in page, f"the submission view: {status} {page[:2000]}"
    assert "<b>bold</b>" in page, "the student's harmless HTML is gone from the submission view"
    assert f"<script>{XSS}" not in page, "a student's <script> reaches the instructor's Formgrader page"
    assert f"<script>{XSS}" not in term["feedback"][STUDENTS["mistake"]][0], "and their feedback page"


@pytest.mark.slow
@pytest.mark.browser
def test_what_sudo_course_grade_wrote_belongs_to_the_instructor(term):
    """Grading runs as root; what it writes in the course (autograded/, grades/) is handed to the
    course folder's owner (before: root's, which the instructor could not change or remove)."""
    course = term["course"]
    wrote = [p for d in ("autograded", "grades") for p in (course / d, *(course / d).rglob("*"))]
    owner = course.stat().st_uid
    assert len(wrote) > len(STUDENTS) + 2, wrote
    assert not [str(p) for p in wrote if p.lstat().st_uid != owner], f"not the instructor's ({owner})"


@pytest.mark.slow
@pytest.mark.browser
def test_grades_csv_and_nbgrader_export_agree(term):
    course = term["course"]
    with open(course / "grades" / f"{ASG}.csv", newline="") as f:
        ours = {row["student"]: row for row in csv.DictReader(f)}
    with open(course / "grades.csv", newline="") as f:
        export = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASG}
    assert set(ours) == set(export) == set(STUDENTS.values()), (sorted(ours), sorted(export))
    for student, row in ours.items():
        assert float(row["score"]) == float(export[student]["raw_score"]), (student, row, export[student])
        assert row["status"] == "ok", (student, row)
    top = float(ours[STUDENTS["correct"]]["max_score"])
    assert float(ours[STUDENTS["correct"]]["score"]) == top
    assert 0 < float(ours[STUDENTS["mistake"]]["score"]) < top
    assert float(ours[STUDENTS["blank"]]["score"]) == 0
    assert ours[STUDENTS["mistake"]]["test_forward_max_square"] == "0", ours[STUDENTS["mistake"]]


@pytest.mark.slow
@pytest.mark.browser
def test_student_servers_run_the_edition_without_the_grader(term):
    code = ("import bpkit, sys\nprint(sys.prefix, bpkit.__file__)\n"
            "try:\n    import bpkit_grade\nexcept ModuleNotFoundError:\n    print('no bpkit_grade')\n")
    for student in STUDENTS.values():
        out = term["hub"].run_in_kernel(student, code).split()
        env = term["student_env"]
        assert out[0] == str(env) and out[1] == str(env.parent / "edition" / "bpkit" / "__init__.py"), out
        assert out[-2:] == ["no", "bpkit_grade"], f"{student}'s server can import bpkit_grade: {out}"


# --------------------------------------------------------------------------- accounts stay apart

PROBE = """
import json, os
out = {}
for path, kind in json.loads(%r):
    try:
        if kind == "dir":
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        out[path] = "read"
    except OSError as e:
        out[path] = type(e).__name__
print(json.dumps(out))
"""


RENAME = """
import json, os
out = {}
for path in json.loads(%r):
    try:
        os.rename(path, path + ".moved")
        out[path] = "renamed"
    except OSError as e:
        out[path] = type(e).__name__
print(json.dumps(out))
"""


def _one(pattern: str, root: Path) -> str:
    found = sorted(root.glob(pattern))
    assert len(found) == 1, f"{root}/{pattern}: {found}"
    return str(found[0])


@pytest.mark.slow
@pytest.mark.browser
def test_accounts_stay_apart(term):
    """As each student (in their own kernel): nothing of another student's, of the instructor's
    course folder or of the exchange's inbound and feedback listings is readable; their own
    work and the released assignment are (so the probe can tell the difference)."""
    course, exchange = term["course"], term["exchange"] / COURSE_ID
    secret = f".local/share/jupyter/nbgrader_cache/{COURSE_ID}/*+{ASG}+*/submission_secret.txt"
    for student in STUDENTS.values():
        home = Path(f"/home/{student}")
        assert home.stat().st_mode & 0o777 == 0o700, f"{home} is not private: {oct(home.stat().st_mode)}"
        others = [s for s in STUDENTS.values() if s != student]
        hidden = [(str(course.parent), "dir"), (str(course), "dir"), (str(course / "gradebook.db"), "file"),
                  (str(course / "solutions" / ASG / NB), "file"), (str(course / "grades" / f"{ASG}.csv"), "file"),
                  (str(course / "grades.csv"), "file"), (str(exchange / "inbound"), "dir"),
                  (str(exchange / "feedback"), "dir")]
        for other in others:
            ohome = Path(f"/home/{other}")
            hidden += [(str(ohome), "dir"), (str(ohome / ASG / NB), "file"), (_one(secret, ohome), "file"),
                       (_one(f"{ASG}/feedback/*/{ASG}.html", ohome), "file"),
                       (str(course / "submitted" / other / ASG / NB), "file"),
                       (str(course / "autograded" / other / ASG / NB), "file"),
                       (str(course / "feedback" / other / ASG / f"{ASG}.html"), "file")]
        own = [(str(home / ASG / NB), "file"), (str(exchange / "outbound" / ASG / NB), "file"),
               (_one(secret, home), "file")]
        for path, _ in hidden + own:
            assert os.path.exists(path), f"{path} does not exist: the probe would prove nothing"
        seen = json.loads(term["hub"].run_in_kernel(student, PROBE % json.dumps(hidden + own)).strip().splitlines()[-1])
        readable = [p for p, _ in hidden if seen[p] == "read"]
        assert not readable, f"{student} can read: {readable}"
        assert all(seen[p] == "read" for p, _ in own), f"{student} cannot read their own: {seen}"


@pytest.mark.slow
@pytest.mark.browser
def test_a_student_who_knows_anothers_submission_name_cannot_move_it(term):
    """The inbound folder is writable by every student and not listable; its sticky bit (docs/
    hub/jupyterhub_config.py) is what stops a student who learned another's submission name
    (nbgrader's name ends in 72 random bits) from renaming or removing it. Without it the rename
    succeeds: measured on the same modes, 2733 against 3733."""
    inbound = term["exchange"] / COURSE_ID / "inbound"
    assert inbound.stat().st_mode & 0o7777 == 0o3733, oct(inbound.stat().st_mode)
    names = {s: sorted(str(p) for p in inbound.iterdir() if p.name.startswith(s + "+")) for s in STUDENTS.values()}
    assert all(names.values()), f"a student has no submission in {inbound}: {names}"
    for student in STUDENTS.values():
        victims = [p for other, paths in names.items() if other != student for p in paths]
        tried = json.loads(term["hub"].run_in_kernel(student, RENAME % json.dumps(victims)).strip().splitlines()[-1])
        moved = [p for p in victims if tried[p] == "renamed"]
        for p in moved:  # put it back for the tests after this one
            os.rename(p + ".moved", p)
        assert not moved, f"{student} renamed another student's submission: {moved}"
        assert set(tried.values()) == {"PermissionError"}, tried


# --------------------------------------------------------------------------- in Chromium, and each server's tools

@pytest.mark.slow
@pytest.mark.browser
def test_one_student_did_the_term_by_clicks_in_the_assignment_list(term):
    """The correct student logged in on the hub's page (PAM), opened Nbgrader > Assignment List
    and clicked Fetch, Submit and Fetch Feedback, each followed by the state it leads to (the
    term stops at the first that does not come, with a screenshot in test-artifacts/hub/clicks/);
    their server's list agrees (test_students_fetch_submit_and_get_their_own_feedback), and so
    do their grade and feedback. JupyterLab raised nothing uncaught meanwhile."""
    assert term["clicked"] == ["open-assignment-list", "fetch", "submit", "fetch-feedback"], term["clicked"]
    assert not [e for e in term["page_errors"] if "uncaught" in e], term["page_errors"]


@pytest.mark.slow
@pytest.mark.browser
def test_students_servers_offer_no_instructor_tools_and_the_instructors_does(term):
    """Students' Nbgrader menu (in Chromium) has the Assignment List only; their servers load
    neither the Formgrader nor the Course List's handler, and JupyterLab's page is told the
    three instructor plugins are disabled. The instructor's server has them all."""
    problems = []
    if term["student_menu"] != ["nbgrader:open-assignment-list"]:
        problems.append(f"{STUDENTS[CLICKS]}'s Nbgrader menu in Chromium offers {term['student_menu']}")
    hub, everything = term["hub"], INSTRUCTOR_LAB_PLUGINS | set(INSTRUCTOR_PAGES.values())
    for name in [*STUDENTS.values(), INSTRUCTOR]:
        offered = INSTRUCTOR_LAB_PLUGINS - set(hub.lab_page_config(name)["disabledExtensions"])
        for path, what in INSTRUCTOR_PAGES.items():
            status, _ = hub.user_page(name, path)
            assert status in (200, 404), f"{name}'s /{path}: {status}"
            if status == 200:
                offered.add(what)
        if name == INSTRUCTOR and offered != everything:
            problems.append(f"the instructor's server lacks {sorted(everything - offered)}")
        elif name != INSTRUCTOR and offered:
            problems.append(f"{name}'s server offers {sorted(offered)}")
    assert not problems, "\n".join(problems)

