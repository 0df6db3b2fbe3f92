"""Drive a real JupyterLab in headless Chromium: the machinery behind tests/test_browser.py.

A notebook is checked the way a student meets it: JupyterLab serves a copy of it, Chromium
opens it, "Run All" runs it, and we read the page. What the page must show is derived from the
notebook itself: :func:`expected_outputs` executes the same notebook with nbclient (no browser),
and every cell whose outputs hold ``image/svg+xml`` must show a decoded SVG image in the browser,
every cell whose outputs hold a widget view must show a rendered widget.

:class:`AssignmentList` drives nbgrader's Assignment List by its buttons, as a student on a hub
does (tests/test_hub.py).

Nothing here downloads a browser: Chromium is Debian's ``/usr/bin/chromium`` (``./course test``
installs it with apt-get as root), driven by the Python ``playwright`` package.
"""
from __future__ import annotations

import copy
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SVG_MIME = "image/svg+xml"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# What a widget that failed to render shows instead of itself.
BROKEN_WIDGET_TEXTS = ("Loading widget...", "Error displaying widget")
# Deadlines for things that hang, never assertions about speed.
DEADLINE_MS = 180_000


def find_chromium() -> str:
    """Path of the system Chromium, or an AssertionError that says how to get it."""
    candidates = [os.environ.get("BPKIT_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), "/usr/bin/chromium"]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise AssertionError(
        "Chromium is needed for the browser test and was not found (looked for $BPKIT_CHROMIUM, "
        "`chromium` and `chromium-browser` on PATH, /usr/bin/chromium). `./course test` installs it "
        "with apt-get when run as root on Debian/Ubuntu; otherwise install it yourself "
        "(`sudo apt-get install chromium`) or point BPKIT_CHROMIUM at a Chromium/Chrome binary. "
        "Never `playwright install`: it downloads a browser, which this project does not do.")


# --------------------------------------------------------------------------- notebooks

def fill_solutions(student: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook with every nbgrader solution cell's source taken from the solution
    notebook (matched by grade_id), so that every cell runs."""
    by_id = {}
    for cell in solution.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            by_id[meta["grade_id"]] = cell
    filled = copy.deepcopy(student)
    missing = []
    for cell in filled.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            src = by_id.get(meta.get("grade_id"))
            if src is None:
                missing.append(meta.get("grade_id"))
            else:
                cell.source = src.source
    if missing:
        raise AssertionError(f"solution cells {missing} of the student notebook have no cell with "
                             "that grade_id in the solution notebook")
    return filled


@dataclass
class Expected:
    """What the browser must show, read off an nbclient execution of the notebook."""
    svg_cells: dict = field(default_factory=dict)     # cell index -> number of SVG outputs
    widget_cells: dict = field(default_factory=dict)  # cell index -> the widgets' text reprs
    code_cells: list = field(default_factory=list)    # indices of code cells
    errors: list = field(default_factory=list)        # (cell index, text) of error/stderr outputs


def expected_outputs(path: Path, timeout: int = 300) -> Expected:
    """Execute the notebook at ``path`` (in its folder) with nbclient and list its SVG and
    widget cells."""
    # In a process of its own: nbclient leaves an asyncio loop behind (Playwright's sync API
    # then refuses to start) and a kernel shut down from a thread can abort in libzmq.
    executed = path.with_name(path.stem + ".executed.ipynb.json")
    code = ("import sys, nbformat; from nbclient import NotebookClient\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\n"
            "NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name='python3', allow_errors=True,\n"
            "               resources={'metadata': {'path': sys.argv[4]}}).execute()\n"
            "nbformat.write(nb, sys.argv[2])\n")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code, str(path), str(executed), str(timeout), str(path.parent)],
                       capture_output=True, text=True, timeout=4 * timeout)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"nbclient-{path.stem}.log").write_text(
        f"{time.monotonic() - t0:.1f} s, exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    if r.returncode != 0:
        raise AssertionError(f"executing {path} with nbclient failed:\n{r.stderr[-3000:]}")
    nb = nbformat.read(executed, as_version=4)
    executed.unlink()
    exp = Expected()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        exp.code_cells.append(i)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if SVG_MIME in data:
                exp.svg_cells[i] = exp.svg_cells.get(i, 0) + 1
            if WIDGET_MIME in data:
                exp.widget_cells.setdefault(i, []).append(data.get("text/plain", ""))
            if out.get("output_type") == "error":
                exp.errors.append((i, f"{out.get('ename')}: {out.get('evalue')}"))
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                exp.errors.append((i, "stderr: " + out.get("text", "")[:300]))
    return exp


# --------------------------------------------------------------------------- JupyterLab

def first_match(proc, lines, seen, pattern, seconds):
    """Read a process's output lines (from the queue ``lines``, each kept in ``seen``) until one
    matches ``pattern``; the match, or None when the process ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        m = pattern.search(seen[-1])
        if m:
            return m
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on loopback with a token, serving ``root``, with its own config,
    settings and workspace folders under ``home`` (nothing of the user's is read or written)."""

    def __init__(self, root: Path, home: Path, log_path: Path, disabled_extensions=(), env=None):
        self.root, self.home, self.log_path = Path(root), Path(home), Path(log_path)
        self.token = "bpkit-" + os.urandom(8).hex()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_dir = self.home / "jupyter-config"
        settings = self.home / "lab-settings"
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
        # No "Jupyter news" pop-up over the screenshots, no update check over the network.
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        self.config_dir.mkdir(parents=True, exist_ok=True)
        if disabled_extensions:
            (self.config_dir / "labconfig").mkdir(exist_ok=True)
            (self.config_dir / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {name: True for name in disabled_extensions}}))
        self.env = dict(os.environ, HOME=str(self.home), JUPYTER_CONFIG_DIR=str(self.config_dir),
                        JUPYTERLAB_SETTINGS_DIR=str(settings),
                        JUPYTERLAB_WORKSPACES_DIR=str(self.home / "lab-workspaces"),
                        JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), **(env or {}))
        self.env.pop("JUPYTER_PATH", None)
        self.proc = None

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1",
               "--port", str(self.port), "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited with {self.proc.returncode} while starting; "
                                     f"its log:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"JupyterLab did not answer on {self.base} within 120 s; log:\n"
                                     f"{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def shutdown_kernels(self) -> None:
        """Stop every kernel this server runs (each opened notebook starts one)."""
        with urllib.request.urlopen(self.url("api/kernels"), timeout=30) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(self.url(f"api/kernels/{k['id']}"), method="DELETE")
            urllib.request.urlopen(req, timeout=60).close()

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


# --------------------------------------------------------------------------- the browser

_PW = None


def _playwright():
    """One Playwright driver per process: its sync API cannot run two at once."""
    global _PW
    if _PW is None:
        import atexit

        from playwright.sync_api import sync_playwright

        _PW = sync_playwright().start()
        atexit.register(_PW.stop)
    return _PW


class Browser:
    """Headless system Chromium through Playwright, with a fresh profile."""

    def __init__(self, profile_dir: Path):
        self.profile_dir = Path(profile_dir)

    def __enter__(self):
        executable = find_chromium()
        try:
            self.context = _playwright().chromium.launch_persistent_context(
                str(self.profile_dir), executable_path=executable, headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000})
        except Exception as e:
            raise AssertionError(f"could not start Chromium ({executable}): {e}") from e
        self.context.set_default_timeout(DEADLINE_MS)
        return self

    def __exit__(self, *exc):
        self.context.close()

    def new_page(self):
        """A page that records console errors and uncaught exceptions in ``page.errors``."""
        page = self.context.new_page()
        page.errors = []
        page.console_log = []

        def on_console(msg):
            page.console_log.append(f"{msg.type}: {msg.text}")
            if msg.type == "error":
                page.errors.append(f"console error: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: page.errors.append(f"uncaught exception: {exc}"))
        return page


# JavaScript run in the page. Cells of the open notebook, in notebook order (JupyterLab's default
# windowing mode "contentVisibility" keeps every cell in the DOM).
JS_CELLS = "() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))"

JS_KERNEL_READY = """() => {
  const name = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName');
  const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return !!(name && status && status.dataset.status === 'idle'
            && name.textContent.trim() && !/No Kernel|Kernel$/.test(name.textContent.trim()));
}"""

JS_ALL_RAN = """(codeCells) => {
  const cells = (%s)();
  const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  if (!status || status.dataset.status !== 'idle') return false;
  // JupyterLab's Run All stops at the first error: then nothing more will run.
  if (document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) return true;
  return codeCells.every(i => cells[i] && /^\\[\\d+\\]:$/.test(
      (cells[i].querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim()));
}""" % JS_CELLS

JS_CELL_REPORT = """(i) => {
  const cell = (%s)()[i];
  if (!cell) return null;
  const outs = Array.from(cell.querySelectorAll('.jp-OutputArea-output'));
  return {
    text: outs.map(o => o.innerText).join('\\n'),
    svgImages: Array.from(cell.querySelectorAll('.jp-RenderedSVG img, .jp-RenderedSVG svg, .jp-RenderedImage img[src^="data:image/svg"]'))
        .map(e => e.tagName === 'IMG' ? (e.complete && e.naturalWidth > 0) : (e.getBoundingClientRect().width > 0)),
    widgets: cell.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    // [drawn width, width of the output column] of each SVG image: wider ones are cut/scrolled
    svgWidths: Array.from(cell.querySelectorAll('.jp-RenderedSVG img'))
        .map(e => [Math.round(e.getBoundingClientRect().width), Math.round(e.closest('.jp-OutputArea-output').clientWidth)]),
    errors: Array.from(cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(o => o.innerText.slice(0, 500)),
  };
}""" % JS_CELLS

# Everything the notebook's outputs show, except the control we are about to operate
# (a slider's own readout changing proves nothing).
JS_SHOWN = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const clone = nb.cloneNode(true);
  clone.querySelectorAll('[data-bpkit-control]').forEach(e => e.remove());
  return Array.from(clone.querySelectorAll('.jp-OutputArea-output'))
      .map(o => o.innerText + Array.from(o.querySelectorAll('img')).map(i => i.src).join('') +
                Array.from(o.querySelectorAll('svg')).map(s => s.outerHTML).join('')).join('\\n');
}"""

# Mark the first operable control in one widget cell, of a kind not in `skip`; say which kind.
JS_MARK_CONTROL = """([i, skip]) => {
  document.querySelectorAll('[data-bpkit-control]').forEach(e => e.removeAttribute('data-bpkit-control'));
  document.querySelectorAll('[data-bpkit-part]').forEach(e => e.removeAttribute('data-bpkit-part'));
  const cell = (%s)()[i];
  const kinds = [
    ['slider', '.widget-slider', '.noUi-handle, input[type=range]'],
    ['dropdown', '.widget-dropdown', 'select'],
    ['toggle', '.widget-toggle-buttons', '.widget-toggle-button:not(.mod-active)'],
    ['checkbox', '.widget-checkbox', 'input[type=checkbox]'],
    ['button', 'button.widget-button, button.jupyter-button:not(.widget-toggle-button)', null],
  ];
  for (const [kind, rootSel, partSel] of kinds) {
    if (skip.includes(kind)) continue;
    const root = cell && cell.querySelector('.jp-OutputArea-output ' + rootSel);
    if (!root) continue;
    root.setAttribute('data-bpkit-control', kind);
    const part = partSel ? root.querySelector(partSel) : root;
    (part || root).setAttribute('data-bpkit-part', '1');
    return kind;
  }
  return null;
}""" % JS_CELLS


@dataclass
class Report:
    notebook: str
    svg_checked: dict = field(default_factory=dict)
    widgets_checked: dict = field(default_factory=dict)
    interactions: dict = field(default_factory=dict)  # widget cell -> what was operated
    wide_svgs: dict = field(default_factory=dict)  # cell -> [width, column width]: information, not a failure
    screenshot: str = ""
    problems: list = field(default_factory=list)
    seconds: float = 0.0


def _interact(page, kind: str):
    part = page.locator("[data-bpkit-part]").first
    part.scroll_into_view_if_needed()
    if kind == "slider":
        part.click()
        page.keyboard.press("ArrowRight")
    elif kind == "dropdown":
        n = part.evaluate("s => s.options.length")
        idx = part.evaluate("s => s.selectedIndex")
        part.select_option(index=(idx + 1) % max(n, 1))
    else:
        part.click()


def check_notebook(page, lab: JupyterLab, relpath: str, expected: Expected, shot: Path,
                   require_nbgrader_validate: bool = True) -> Report:
    """Open ``relpath`` in JupyterLab, Run All, and check the page against ``expected``.
    Returns a report; ``report.problems`` lists everything wrong (empty when all is well)."""
    t0 = time.monotonic()
    rep = Report(notebook=relpath)
    problems = rep.problems
    log_start = len(lab.log_text())
    page.goto(lab.url(f"lab/tree/{relpath}") + "&reset")
    page.wait_for_function(JS_KERNEL_READY, timeout=DEADLINE_MS)

    if require_nbgrader_validate and page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").count() == 0:
        problems.append("nbgrader's Validate button is missing from the notebook toolbar "
                        "(the @jupyter/nbgrader lab extension did not load)")

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    try:
        page.wait_for_function(JS_ALL_RAN, arg=expected.code_cells, timeout=DEADLINE_MS)
    except Exception:
        problems.append(f"Run All did not finish: not every code cell got an execution number within "
                        f"{DEADLINE_MS // 1000} s")

    n_cells = page.evaluate(f"() => ({JS_CELLS})().length")
    for i in range(n_cells):
        for err in page.evaluate(JS_CELL_REPORT, i)["errors"]:
            problems.append(f"cell {i}: error output in the browser: {err}")
    for i in expected.code_cells:
        cell = page.evaluate(JS_CELL_REPORT, i)
        if cell is None:
            problems.append(f"cell {i}: not found in the page")
            continue
        if i in expected.svg_cells:
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(i).scroll_into_view_if_needed()
            try:
                page.wait_for_function(
                    "([i, n]) => { const r = (" + JS_CELL_REPORT + ")(i); return r && r.svgImages.filter(Boolean).length >= n; }",
                    arg=[i, expected.svg_cells[i]], timeout=30_000)
            except Exception:
                pass
            cell = page.evaluate(JS_CELL_REPORT, i)
            shown = sum(cell["svgImages"])
            rep.svg_checked[i] = shown
            rep.wide_svgs.update({i: w for w in cell["svgWidths"] if w[0] > w[1]})
            if shown < expected.svg_cells[i]:
                problems.append(f"cell {i}: {expected.svg_cells[i]} SVG graph(s) expected, {shown} rendered "
                                f"(elements found: {cell['svgImages']}); cell shows: {cell['text'][:300]!r}")
        if i in expected.widget_cells:
            reprs = expected.widget_cells[i]
            bad = [t for t in BROKEN_WIDGET_TEXTS if t in cell["text"]]
            bad += [f"its text repr {r[:60]!r}" for r in reprs if r and r[:40] in cell["text"]]
            rep.widgets_checked[i] = cell["widgets"]
            if bad or cell["widgets"] < 1:
                problems.append(f"cell {i}: widget not rendered ({len(reprs)} widget view(s) expected, "
                                f"{cell['widgets']} .jupyter-widgets element(s) found"
                                + (f"; the cell shows {', '.join(bad)}" if bad else "")
                                + f"); cell text: {cell['text'][:300]!r}")

    # Operate one control in every widget cell: what the notebook shows must change.
    broken_cells = {p.split(":")[0] for p in problems}
    for i in sorted(expected.widget_cells):
        if f"cell {i}" in broken_cells:
            continue
        # A slider usually redraws at once; some widgets only act on their button (a slider that
        # sets a parameter, then "Race!"). Try each kind of control until one changes the view.
        tried = []
        while True:
            kind = page.evaluate(JS_MARK_CONTROL, [i, tried])
            if kind is None:
                break
            tried.append(kind)
            before = page.evaluate(JS_SHOWN)
            _interact(page, kind)
            try:
                page.wait_for_function(f"(before) => ({JS_SHOWN})() !== before", arg=before, timeout=15_000)
            except Exception:
                continue
            rep.interactions[i] = kind
            # let the kernel finish what the control started before reading errors or the picture
            page.wait_for_function(JS_KERNEL_READY, timeout=DEADLINE_MS)
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(i) \
                .screenshot(path=str(shot.with_name(f"{shot.stem}-cell{i}-after-{kind}.png")))
            break
        if i not in rep.interactions:
            problems.append(f"cell {i}: " + (f"operating its {', '.join(tried)} changed nothing in the notebook's "
                                             "outputs (waited 15 s after each)" if tried else
                                             "no slider, dropdown, toggle, checkbox or button in its widget"))
    if expected.widget_cells:
        # what the interactions drew must be free of errors too
        for i in range(n_cells):
            for err in page.evaluate(JS_CELL_REPORT, i)["errors"]:
                msg = f"cell {i}: error output in the browser: {err}"
                if msg not in problems:
                    problems.append(msg + " (after the interactions)")
        # the picture shows the first widget and what it drew
        first = min(expected.widget_cells)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(first) \
            .locator(".jp-Cell-outputWrapper").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    elif expected.svg_cells:
        first = min(expected.svg_cells)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(first) \
            .evaluate("e => e.scrollIntoView({block: 'start'})")

    shot.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the last redraw paint before the picture (not a check)
    page.screenshot(path=str(shot))
    rep.screenshot = str(shot)
    problems.extend(page.errors)
    new_log = lab.log_text()[log_start:]
    if "Traceback" in new_log:
        problems.append("the Jupyter server logged a traceback:\n" + new_log[new_log.index("Traceback"):][:2000])
    rep.seconds = round(time.monotonic() - t0, 1)
    return rep


# --------------------------------------------------------------------------- nbgrader's Assignment List

@contextmanager
def screenshot_on_failure(page, shot: Path, what: str):
    """Run the block; if it raises, save a screenshot of ``page`` at ``shot`` and raise an
    AssertionError that says ``what`` was being done (Playwright's own message follows)."""
    try:
        yield
    except Exception as e:
        shot.parent.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(shot))
            where = f"screenshot: {shot}"
        except Exception as e2:   # a page that crashed cannot be photographed: say so, keep the cause
            where = f"no screenshot ({e2})"
        raise AssertionError(f"in Chromium, {what}: {e}\n{where}") from e


class AssignmentList:
    """nbgrader's Assignment List (Nbgrader > Assignment List) in JupyterLab, used by its buttons.

    Each action clicks what a student clicks, then waits (Playwright's auto-waiting, up to
    ``timeout`` ms: the machine may be loaded) for the state the click must lead to. A missing
    button or a state that does not come fails with the step named and a screenshot in
    ``shots``. Structure and labels are nbgrader 0.9.6's (src/assignment_list/assignmentlist.ts):
    three sections (released, fetched, submitted), one top-level ``.list_item`` per assignment
    with one button (Fetch, Submit, Fetch Feedback), and under a submitted assignment one row per
    submission, which says "(feedback available to fetch)" or "(view feedback)"."""

    SECTIONS = {"released": "#released_assignments_list", "fetched": "#fetched_assignments_list",
                "submitted": "#submitted_assignments_list"}
    MENU = "Nbgrader"
    OPEN = "nbgrader:open-assignment-list"

    def __init__(self, page, shots: Path, timeout: float = 60_000):
        self.page, self.shots, self.timeout = page, Path(shots), timeout
        self.done: list[str] = []   # the steps that succeeded, in order

    def step(self, name: str):
        """A context for one step: on failure, ``<shots>/<name>.png`` and the step's name."""
        return screenshot_on_failure(self.page, self.shots / f"{name}.png", name)

    def _succeeded(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{len(self.done) + 1:02d}-{name}.png"))
        self.done.append(name)

    def row(self, section: str, assignment: str):
        return self.page.locator(f"{self.SECTIONS[section]} > .list_item", has_text=assignment)

    def button(self, section: str, assignment: str, label: str):
        return self.row(section, assignment).get_by_role("button", name=label, exact=True)

    def _click(self, section: str, assignment: str, label: str) -> None:
        from playwright.sync_api import expect
        button = self.button(section, assignment, label)
        expect(button, f"the {label!r} button of {assignment} under {section} assignments").to_be_enabled(
            timeout=self.timeout)
        button.click(timeout=self.timeout)

    def menu_commands(self) -> list[str]:
        """Open the Nbgrader menu; -> the commands of the items it shows (it stays open)."""
        from playwright.sync_api import expect
        with self.step("nbgrader-menu"):
            self.page.locator(".lm-MenuBar-item", has_text=self.MENU).click(timeout=self.timeout)
            items = self.page.locator("#jp-mainmenu-nbgrader .lm-Menu-item")
            expect(items.and_(self.page.locator(f'[data-command="{self.OPEN}"]')),
                   "the Nbgrader menu's Assignment List item").to_be_visible(timeout=self.timeout)
            return items.filter(visible=True).evaluate_all("items => items.map(i => i.dataset.command)")

    def open(self, assignment: str) -> None:
        """Nbgrader > Assignment List, until ``assignment`` is listed as released (Fetch)."""
        from playwright.sync_api import expect
        with self.step("open-assignment-list"):
            if not self.page.locator("#jp-mainmenu-nbgrader").is_visible():
                self.page.locator(".lm-MenuBar-item", has_text=self.MENU).click(timeout=self.timeout)
            self.page.locator(f'#jp-mainmenu-nbgrader .lm-Menu-item[data-command="{self.OPEN}"]').click(
                timeout=self.timeout)
            expect(self.button("released", assignment, "Fetch"),
                   f"{assignment} under released assignments, with its Fetch button").to_be_visible(
                timeout=self.timeout)
        self._succeeded("open-assignment-list")

    def fetch(self, assignment: str) -> None:
        """Fetch: the assignment moves from released to fetched, with a Submit button."""
        from playwright.sync_api import expect
        with self.step("fetch"):
            self._click("released", assignment, "Fetch")
            expect(self.button("fetched", assignment, "Submit"),
                   f"{assignment} under downloaded assignments, with its Submit button").to_be_visible(
                timeout=self.timeout)
            expect(self.row("released", assignment), f"{assignment} gone from released assignments") \
                .to_have_count(0, timeout=self.timeout)
        self._succeeded("fetch")

    def submit(self, assignment: str) -> None:
        """Submit: one more submission listed under submitted assignments."""
        from playwright.sync_api import expect
        with self.step("submit"):
            submissions = self.row("submitted", assignment).locator(".nested_list_item")
            before = submissions.count()
            self._click("fetched", assignment, "Submit")
            expect(submissions, f"{before + 1} submission(s) of {assignment} under submitted assignments") \
                .to_have_count(before + 1, timeout=self.timeout)
        self._succeeded("submit")

    def fetch_feedback(self, assignment: str) -> None:
        """Refresh (the feedback the instructor released shows as available to fetch), then
        Fetch Feedback (the submission's feedback is there to view)."""
        from playwright.sync_api import expect
        row = self.row("submitted", assignment)
        with self.step("refresh-before-feedback"):
            self.page.locator("#refresh_assignments_list").click(timeout=self.timeout)
            expect(row, f"{assignment}'s submission with feedback available to fetch (after Refresh)") \
                .to_contain_text("(feedback available to fetch)", timeout=self.timeout)
        with self.step("fetch-feedback"):
            self._click("submitted", assignment, "Fetch Feedback")
            expect(row.get_by_text("(view feedback)"), f"{assignment}'s feedback to view") \
                .to_be_visible(timeout=self.timeout)
        self._succeeded("fetch-feedback")
