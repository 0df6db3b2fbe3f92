"""The course in a real browser: JupyterLab in headless Chromium, as a student meets it.

For every course notebook (each of solutions/, COURSE_NOTEBOOKS, and any other in notebooks/, on a copy
whose solution cells are filled in from solutions/, so every cell runs): open it, Run All, and
check that
- every cell whose executed outputs hold an SVG (a Graphviz graph) shows a decoded SVG image,
- every cell whose outputs hold a widget shows a rendered widget (not "Loading widget...",
  "Error displaying widget" or its text repr), and operating one widget changes what is shown,
- no cell shows an error (or stderr) output, the browser console has no errors, the Jupyter
  server logs no traceback,
- nbgrader's lab extension is there (its Validate button) in the students' configuration
  (binder/postBuild applied), and its Assignment List opens without errors in the full one.
A screenshot per notebook goes to test-artifacts/browser/.

Only the real notebooks are checked: a course notebook that is missing fails its case, it is
never replaced. The fixture (tests/fixtures/browser-course) serves the meta-tests alone, which
prove that the check catches a broken page.

Chromium is Debian's /usr/bin/chromium (`./course test` installs it as root); when there is
none, these tests fail with a message saying how to get it. They never skip.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

import browserlib as bl

ROOT = bl.ROOT
FIXTURE = Path(__file__).parent / "fixtures" / "browser-course"
# the course's notebooks are its sources: every solutions/<a>/<a>.ipynb (each must be released)
COURSE_NOTEBOOKS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb")
                          if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)


def _found(course: Path) -> list[str]:
    return sorted(p.parent.name for p in course.glob("notebooks/*/*.ipynb")
                  if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)


# The course notebooks: those of solutions/, and any other found in notebooks/.
CASES = COURSE_NOTEBOOKS + [n for n in _found(ROOT) if n not in COURSE_NOTEBOOKS]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _filled_copy(course: Path, name: str, dest_root: Path) -> Path:
    """Copy notebooks/<name>/ to dest_root and fill its solution cells from solutions/."""
    student = course / "notebooks" / name / f"{name}.ipynb"
    solution = course / "solutions" / name / f"{name}.ipynb"
    assert solution.exists(), f"{student} has no solution notebook at {solution}"
    dest = dest_root / "notebooks" / name
    shutil.copytree(student.parent, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    filled = bl.fill_solutions(nbformat.read(student, as_version=4), nbformat.read(solution, as_version=4))
    nbformat.write(filled, dest / f"{name}.ipynb")
    return dest / f"{name}.ipynb"


def _student_config(home: Path) -> None:
    """Apply binder/postBuild to the server's config folder: the students' configuration."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "jupyter-config"), HOME=str(home),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    (home / "jupyter-config").mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["bash", str(ROOT / "binder" / "postBuild")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"binder/postBuild failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """JupyterLab serving filled copies of every course notebook there is, configured as on
    Binder, and Chromium. -> (lab, browser, {notebook: path of its filled copy})"""
    bl.find_chromium()  # fail first, and clearly, when there is no browser
    tmp = tmp_path_factory.mktemp("browser")
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    paths = {name: _filled_copy(ROOT, name, course) for name in CASES
             if (ROOT / "notebooks" / name / f"{name}.ipynb").is_file()}
    _student_config(tmp / "home")
    bl.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with bl.JupyterLab(course, tmp / "home", bl.ARTIFACTS / "jupyter-server-student.log") as lab, \
            bl.Browser(tmp / "chromium-profile") as browser:
        yield lab, browser, paths


def _course_notebook(paths, name):
    assert name in paths, (f"notebooks/{name}/{name}.ipynb is missing: the browser test checks the "
                           "course's own notebooks and has no substitute for one")
    return paths[name]


@pytest.mark.parametrize("case", CASES)
def test_notebook_renders_and_responds_in_browser(student_lab, case):
    lab, browser, paths = student_lab
    path = _course_notebook(paths, case)
    expected = bl.expected_outputs(path)
    assert not expected.errors, f"{case}: executing the notebook (nbclient) gave errors: {expected.errors}"
    assert expected.svg_cells or expected.widget_cells, \
        f"{case} draws no graph and shows no widget when executed: nothing for the browser to check"
    page = browser.new_page()
    try:
        rep = bl.check_notebook(page, lab, str(path.relative_to(lab.root)), expected,
                                bl.ARTIFACTS / f"{case}.png")
    finally:
        page.close()
        lab.shutdown_kernels()
    summary = {"notebook": case, "seconds": rep.seconds, "svg_cells": rep.svg_checked,
               "widget_cells": rep.widgets_checked, "interactions": rep.interactions,
               "svgs_wider_than_the_column": rep.wide_svgs,
               "screenshot": rep.screenshot, "problems": rep.problems}
    (bl.ARTIFACTS / f"{case}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    assert not rep.problems, f"{case} in the browser:\n  - " + "\n  - ".join(rep.problems)


def test_fixture_exercises_every_check(tmp_path):
    """The fixture notebook must keep drawing a graph and a widget, or the test of the test is gone."""
    path = _filled_copy(FIXTURE, "00-browser-demo", tmp_path)
    exp = bl.expected_outputs(path)
    assert exp.svg_cells and exp.widget_cells and not exp.errors, exp


def test_browser_check_fails_on_broken_widgets_and_errors(tmp_path):
    """Prove the check can fail: the fixture notebook, filled, with a last cell that raises,
    served by a JupyterLab whose widget manager is disabled, and expected to draw a graph in a
    cell that only prints, plus a cell that logs a console error. The same check must report the
    unrendered widget (shown as its text repr), the error output, the console error and the
    missing graph."""
    name = "00-browser-demo"
    filled = _filled_copy(FIXTURE, name, tmp_path / "course")
    expected = bl.expected_outputs(filled)  # what the page should show, as in the real test
    assert 3 not in expected.svg_cells
    expected.svg_cells[3] = 1  # and one graph the notebook never draws: cell 3 only prints
    nb = nbformat.read(filled, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "from IPython.display import Javascript\nJavascript(\"console.error('deliberate console error')\")"))
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('deliberately broken')"))
    nbformat.write(nb, filled)
    with bl.JupyterLab(tmp_path / "course", tmp_path / "home", bl.ARTIFACTS / "jupyter-server-broken.log",
                       disabled_extensions=["@jupyter-widgets/jupyterlab-manager"]) as lab, \
            bl.Browser(tmp_path / "profile") as browser:
        page = browser.new_page()
        rep = bl.check_notebook(page, lab, f"notebooks/{name}/{name}.ipynb", expected,
                                bl.ARTIFACTS / "fixture-broken-widgets.png", require_nbgrader_validate=False)
    text = "\n".join(rep.problems)
    assert "cell 5: widget not rendered" in text and "its text repr" in text, text
    assert "deliberately broken" in text, text
    assert "console error: deliberate console error" in text, text
    assert "cell 3: 1 SVG graph(s) expected, 0 rendered" in text, text
    assert "cell 4:" not in text, text  # the real graph still renders without the widget manager


def test_nbgrader_extension_loads_and_exchange_is_writable(tmp_path):
    """With all of nbgrader's extensions (a local `./course start`), the Nbgrader menu and the
    Assignment List open without console errors or server tracebacks ("Unwritable directory")."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    with bl.JupyterLab(course, tmp_path / "home", bl.ARTIFACTS / "jupyter-server-nbgrader.log") as lab, \
            bl.Browser(tmp_path / "profile") as browser:
        page = browser.new_page()
        page.goto(lab.url("lab") + "&reset")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        page.locator(".lm-Menu-item[data-command='nbgrader:open-assignment-list']").click()
        page.get_by_text("Released assignments").first.wait_for()
        page.wait_for_function("() => !document.body.innerText.includes('Loading, please wait')")
        page.screenshot(path=str(bl.ARTIFACTS / "nbgrader-assignment-list.png"))
        activated = [m for m in page.console_log if "activated" in m and "extension" in m.lower()]
        log = lab.log_text()
    problems = list(page.errors)
    for plugin in ("assignment-list", "course-list", "formgrader", "validate-assignment"):
        if not any(plugin in m for m in activated):
            problems.append(f"nbgrader's {plugin} lab plugin did not report activation; console: {activated}")
    for bad in ("Traceback", "Unwritable"):
        if bad in log:
            problems.append(f"server log has {bad!r}:\n{log[log.index(bad):][:1500]}")
    assert not problems, "\n".join(problems)


def test_students_configuration_hides_instructor_tools(student_lab):
    """binder/postBuild leaves students Validate but not Formgrader (menu and server handler)."""
    lab, browser, _ = student_lab
    try:
        urllib.request.urlopen(lab.url("formgrader"), timeout=30)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 404, f"formgrader answered {status} in the students' configuration; expected 404"
    page = browser.new_page()
    try:
        page.goto(lab.url("lab") + "&reset")
        page.locator(".lm-MenuBar-itemLabel", has_text="Help").first.wait_for()
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    finally:
        page.close()
    assert "Nbgrader" not in menus, f"the Nbgrader (instructor) menu is shown to students: {menus}"
    assert not page.errors, page.errors


def test_the_course_notebooks_exist():
    """Every notebook of solutions/ is released in notebooks/, and there are at least five: the
    browser test must never pass on none."""
    found = _found(ROOT)
    assert len(COURSE_NOTEBOOKS) >= 5, COURSE_NOTEBOOKS
    missing = [n for n in COURSE_NOTEBOOKS if n not in found]
    assert not missing, (f"notebooks/ lacks {missing} (found {found}); the browser test only checks "
                         "notebooks that exist")


def test_course_start_prints_the_url_and_lands_on_the_first_notebook(tmp_path):
    """`./course start` (the README's first command) on this machine: it prints a URL with a token
    that opens the first notebook in JupyterLab, and Ctrl+C twice (a user who is not sure the
    first one was taken) stops it cleanly."""
    port = bl.free_port()
    home = tmp_path / "home"
    lab_env = bl.JupyterLab(ROOT, home, tmp_path / "unused.log").env  # private config/settings dirs
    lab_env.pop("DISPLAY", None)
    first = "notebooks/01-computational-graphs/01-computational-graphs.ipynb"
    proc = subprocess.Popen(["./course", "start", "--port", str(port), "--ServerApp.port_retries=0"],
                            cwd=ROOT, env=lab_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    pattern = re.compile(rf"(http://(?:localhost|127\.0\.0\.1):{port}/lab/tree/{re.escape(first)}\?token=\w+)")
    seen = []
    try:
        m = bl.first_match(proc, lines, seen, pattern, 300)  # the first run may install packages
        url = m and m[1]
        assert url, "./course start printed no URL of the first notebook; its output:\n" + "".join(seen)[-3000:]
        with bl.Browser(tmp_path / "profile") as browser:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(bl.JS_KERNEL_READY)
            title = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").get_attribute("aria-label") or ""
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").inner_text()
            page.screenshot(path=str(bl.ARTIFACTS / "course-start.png"))
        assert "01-computational-graphs.ipynb" in tab, f"./course start opened {tab!r} ({title!r}), not {first}"
        assert not page.errors, page.errors
    finally:
        for _ in range(2):  # Ctrl+C twice: a user not sure the first one was taken
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                time.sleep(0.5)
        try:
            proc.wait(120)  # ./course kills the server itself after 30 s; a loaded machine is slow
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError("./course start did not stop on Ctrl+C")
    time.sleep(0.5)  # the reader thread takes the last lines
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, f"./course start exited with {proc.returncode}:\n" + "".join(seen)[-2000:]
    assert "[course] stopped" in "".join(seen), "".join(seen)[-2000:]
    with socket.socket() as probe:   # the server itself is gone, not only the script
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"JupyterLab still listens on port {port}"


def _validate(page, lab, relpath: str, shot: Path) -> str:
    """Open a notebook, press nbgrader's Validate, return the result dialog's text."""
    page.goto(lab.url(f"lab/tree/{relpath}") + "&reset")
    page.wait_for_function(bl.JS_KERNEL_READY)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for()
    page.wait_for_function("() => { const d = document.querySelector('.jp-Dialog-content');"
                           " return d && !/Validating/i.test(d.innerText); }", timeout=bl.DEADLINE_MS)
    page.screenshot(path=str(shot))
    return dialog.inner_text()


def test_validate_button_gives_students_feedback(student_lab):
    """The students' feedback loop the README promises: Validate says Success on a finished
    notebook and names what fails on an unfinished one."""
    lab, browser, paths = student_lab
    name = COURSE_NOTEBOOKS[0]
    filled = _course_notebook(paths, name)
    # the notebook as a student gets it, next to the filled copy
    fresh = filled.with_name("fresh-" + filled.name)
    shutil.copy(ROOT / "notebooks" / name / f"{name}.ipynb", fresh)
    page = browser.new_page()
    try:
        ok = _validate(page, lab, str(filled.relative_to(lab.root)), bl.ARTIFACTS / "validate-success.png")
        page.keyboard.press("Escape")
        bad = _validate(page, lab, str(fresh.relative_to(lab.root)), bl.ARTIFACTS / "validate-failure.png")
    finally:
        page.close()
    assert "Success! Your notebook passes all the tests." in ok, ok
    assert "Success" not in bad and ("failed" in bad.lower() or "error" in bad.lower()), bad
    assert not page.errors, page.errors


def test_missing_chromium_fails_with_instructions(monkeypatch):
    """No Chromium anywhere: the browser tests fail (never skip) and say how to get one."""
    monkeypatch.delenv("BPKIT_CHROMIUM", raising=False)
    monkeypatch.setattr(bl.shutil, "which", lambda name: None)
    monkeypatch.setattr(bl.os, "access", lambda path, mode: False)
    with pytest.raises(AssertionError, match="apt-get install chromium"):
        bl.find_chromium()
