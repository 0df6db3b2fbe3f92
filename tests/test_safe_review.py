"""Safe review (issue 10, item 5): nothing a student writes runs in the pages the instructor and
the students open.

A tiny assignment of our own, a submission whose outputs and markdown answer carry one payload per
trick a student would try, then real ``nbgrader autograde`` and ``nbgrader generate_feedback`` with
the course's ``nbgrader_config.py``, and headless Chromium opening (a) the feedback HTML file and
(b) the formgrader's submission view served by a real JupyterLab with nbgrader's server extension.
Every payload, if it ran (or loaded anything), would report itself: it pushes its name onto
``window.__pwned`` of the top page and requests ``/hit/<name>`` from a loopback server this test
runs and records. The course's own content must still be there: the Graphviz graph (an SVG image
that decodes and has a size), a pandas-like table, the TeX source of the math.

``BPKIT_SAFE_REVIEW_OFF=1`` runs the same test with the course's sanitizing taken out of the
config: then it must fail (each payload that ran is listed).
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from browserlib import ARTIFACTS, Browser, JupyterLab

browser_test = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
OFF = os.environ.get("BPKIT_SAFE_REVIEW_OFF") == "1"
GRAPH_LABEL = "bpkit_graph_node"
STUDENT = "mallory"
ASSIGNMENT = "safe1"
MATH = r"\frac{\partial L}{\partial w}"
# A file handed in next to the notebook: the formgrader serves it from the instructor's origin.
EXTRA_FILE = "evil.html"
FILE_LINK_TEXT = "see my figure"


# --------------------------------------------------------------------------- the recorder

class Recorder:
    """A loopback HTTP server that records every path requested from it."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "text/css")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def js(base: str, name: str) -> str:
    """Script that reports ``name``: no quotes and no angle brackets, so it fits any attribute."""
    return (f"try{{(top.__pwned=top.__pwned||[]).push(`{name}`)}}catch(e){{}};"
            f"fetch(`{base}/hit/{name}`,{{mode:`no-cors`}})")


# --------------------------------------------------------------------------- the submission

def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Safe review\n\nThe gradient ${MATH}$ of a graph."),
        nbformat.v4.new_code_cell(
            "from bpkit.drawing import to_svg\nfrom IPython.display import SVG, display\n"
            f"display(SVG(to_svg('digraph {{ {GRAPH_LABEL} -> b }}')))"),
        nbformat.v4.new_code_cell(
            "from IPython.display import HTML\n"
            "HTML('<table border=\"1\" class=\"dataframe\"><thead><tr><th>col_a</th></tr></thead>'\n"
            "     '<tbody><tr><td>1.5</td></tr></tbody></table>')"),
        nbformat.v4.new_markdown_cell("Explain the chain rule.", metadata={"nbgrader": {
            "grade": True, "solution": True, "locked": False, "schema_version": 3,
            "grade_id": "explain", "points": 1}}),
    ]
    nb.cells[3].source = "YOUR ANSWER HERE"
    return nb


def evil_svg(base: str) -> str:
    J = lambda name: js(base, name)  # noqa: E731
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'width="50" height="20" onload="{J("svg_onload")}"><script>{J("svg_script")}</script>'
                f'<a xlink:href="javascript:{J("svg_link")}"><rect width="50" height="20"/></a></svg>')


def html_payloads(base: str) -> dict:
    """name -> a text/html payload."""
    J = lambda name: js(base, name)  # noqa: E731
    return {
        "html_script": f"<script>{J('html_script')}</script>",
        "img_onerror": f'<img src="x" onerror="{J("img_onerror")}">',
        "iframe_srcdoc": f'<iframe srcdoc="<script>{J("iframe_srcdoc")}</script>"></iframe>',
        "iframe_src": f'<iframe src="javascript:{J("iframe_src")}"></iframe>',
        "inline_svg": f'<svg onload="{J("inline_svg")}"><script>{J("inline_svg_script")}</script></svg>',
        "details_toggle": f'<details open ontoggle="{J("details_toggle")}">x</details>',
        "autofocus": f'<input autofocus onfocus="{J("autofocus")}">',
        "meta_refresh": f'<meta http-equiv="refresh" content="5;url={base}/hit/meta_refresh">',
        "link_css": f'<link rel="stylesheet" href="{base}/hit/link_css">',
        "style_import": f"<style>@import url({base}/hit/style_import); "
                        f"body {{ background: url({base}/hit/style_bg) }}</style>",
        "remote_img": f'<img src="{base}/hit/remote_img">',
        "object": f'<object data="data:text/html;base64,'
                  f'{base64.b64encode(("<script>" + J("object") + "</script>").encode()).decode()}"></object>',
        "links": f'<a id="jslink" href="javascript:{J("js_link")}">j</a>'
                 f'<a id="datalink" href="data:text/html,<script>{J("data_link")}</script>">d</a>',
        "form": f'<form action="javascript:{J("form")}"><button id="formbtn">go</button></form>',
    }


def payload_cells(base: str) -> tuple[list, str, dict]:
    """(code cells with one payload each, the markdown answer, its attachments)."""
    J = lambda name: js(base, name)  # noqa: E731
    svg_evil = evil_svg(base)
    cells = []
    for name, payload in html_payloads(base).items():
        cells.append(f"from IPython.display import HTML, display\ndisplay(HTML({payload!r}))  # {name}")
    cells += [
        f"from IPython.display import Javascript, display\ndisplay(Javascript({J('js_output')!r}))",
        f"display({{'text/html': {('<script>' + J('isolated') + '</script>')!r}, 'text/plain': 'iso'}},"
        f" raw=True, metadata={{'text/html': {{'isolated': True}}}})",
        f"display({{'image/svg+xml': {svg_evil!r}, 'text/plain': 'svg'}}, raw=True)",
        f"from IPython.display import Markdown\ndisplay(Markdown({('<img src=x onerror=' + chr(34) + J('md_output') + chr(34) + '>')!r}))",
        "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'evil', 'version_major': 2,"
        " 'version_minor': 0}, 'text/plain': 'widget'}, raw=True)",
        f"display({{'text/html': '<b>html</b>', 'application/x-evil': {J('unknown_mime')!r}}}, raw=True)",
        f"print({('<script>' + J('stream') + '</script>')!r})",
    ]
    markdown = "\n".join([
        f"My answer: ${MATH}$ is the chain rule.",
        "",
        f"<script>{J('md_script')}</script>",
        f'<img src="x" onerror="{J("md_img_onerror")}">',
        f'<iframe srcdoc="<script>{J("md_iframe")}</script>"></iframe>',
        f'<a id="md_jslink" href="javascript:{J("md_js_link")}">click me</a>',
        f'<svg onload="{J("md_svg")}"><script>{J("md_svg_script")}</script></svg>',
        f'<meta http-equiv="refresh" content="5;url={base}/hit/md_meta">',
        f"<style>@import url({base}/hit/md_style);</style>",
        f'<details open ontoggle="{J("md_details")}">x</details>',
        "",
        f"[data link](data:text/html,<script>{J('md_data_link')}</script>) "
        f"[js link](javascript:{J('md_md_link')})",
        "",
        "![evil](attachment:evil.svg) ![page](attachment:page.html)",
        "",
        f"[{FILE_LINK_TEXT}]({EXTRA_FILE})",
    ])
    attachments = {
        "evil.svg": {"image/svg+xml": base64.b64encode(svg_evil.encode()).decode()},
        "page.html": {"text/html": base64.b64encode(f"<script>{J('md_attachment')}</script>".encode()).decode()},
    }
    return cells, markdown, attachments


def widget_state(base: str) -> dict:
    return {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {"evil": {
            "model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"value": f'<img src=x onerror="{js(base, "widget_state")}">'}}}}}


# --------------------------------------------------------------------------- the course

def run(cmd, cwd, env):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return r


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course folder with one graded, fed-back submission full of payloads."""
    rec = Recorder()
    course = tmp_path_factory.mktemp("safe-review-course")
    home = tmp_path_factory.mktemp("safe-review-home")
    off = ("\n# BPKIT_SAFE_REVIEW_OFF: the course's sanitizing taken out, to prove the test can fail\n"
           "c.HTMLExporter.preprocessors = []\nc.HTMLExporter.filters = {}\n") if OFF else ""
    (course / "nbgrader_config.py").write_text(
        "import os\n"
        "c = get_config()\n"
        f"_course = {str(ROOT / 'nbgrader_config.py')!r}\n"
        "exec(compile(open(_course).read(), _course, 'exec'), {'get_config': lambda: c, '__file__': _course})\n"
        "c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n" + off)
    env = dict(os.environ, HOME=str(home), NBGRADER_EXCHANGE=str(home / "exchange"),
               JUPYTER_CONFIG_DIR=str(home / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    env.pop("JUPYTER_PATH", None)
    nbg = [sys.executable, "-m", "nbgrader"]

    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(), course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    run(nbg + ["generate_assignment", ASSIGNMENT, "--force"], course, env)

    nb = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    codes, markdown, attachments = payload_cells(rec.base)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "explain")
    answer.source = markdown
    answer["attachments"] = attachments
    nb.cells += [nbformat.v4.new_code_cell(src) for src in codes]
    nb.metadata["widgets"] = widget_state(rec.base)
    sub = course / "submitted" / STUDENT / ASSIGNMENT
    sub.mkdir(parents=True)
    nbformat.write(nb, sub / f"{ASSIGNMENT}.ipynb")
    (sub / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    (sub / EXTRA_FILE).write_text(f"<script>{js(rec.base, 'submitted_file')}</script>")

    t0 = time.monotonic()
    run(nbg + ["autograde", ASSIGNMENT, "--create"], course, env)
    run(nbg + ["generate_feedback", ASSIGNMENT], course, env)
    seconds = time.monotonic() - t0

    # The payloads really are in what the pages are rendered from (else this test proves nothing).
    auto = nbformat.read(course / "autograded" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = json.dumps(auto)
    for needle in ("html_script", "js_output", "svg_onload", "md_script", "widget_state", "page.html"):
        assert needle in text, f"payload {needle} did not reach the autograded notebook"
    assert (course / "autograded" / STUDENT / ASSIGNMENT / EXTRA_FILE).is_file(), \
        f"autograde did not keep the submitted {EXTRA_FILE}"
    assert any(GRAPH_LABEL in "".join(o.get("data", {}).get("image/svg+xml", ""))
               for c in auto.cells if c.cell_type == "code" for o in c.outputs), "no graph was drawn"

    yield {"course": course, "home": home, "env": env, "recorder": rec, "seconds": seconds}
    rec.close()


# --------------------------------------------------------------------------- the page checks

JS_INSPECT = """(args) => {
  const [graphLabel, math] = args;
  const root = document.querySelector('#notebook-container') || document.body;
  const bad = [];
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'meta', 'link', 'style', 'form', 'base', 'frame']
        .includes(tag) && !el.closest('.MathJax, .MathJax_Display, mjx-container'))
      bad.push(`<${tag}>`);
    for (const a of el.attributes) {
      const v = a.value.trim().toLowerCase();
      if (a.name.startsWith('on')) bad.push(`<${tag} ${a.name}>`);
      if (/^(javascript|vbscript):/.test(v)) bad.push(`<${tag} ${a.name}=javascript:>`);
      if (['href', 'xlink:href', 'action', 'formaction'].includes(a.name) && v.startsWith('data:'))
        bad.push(`<${tag} ${a.name}=data:>`);
    }
  }
  const graphs = Array.from(document.querySelectorAll('img[src^="data:image/svg+xml;base64,"]')).filter(i => {
    try { return atob(i.src.split(',')[1]).includes(graphLabel); } catch (e) { return false; }
  }).map(i => ({complete: i.complete, width: i.naturalWidth}));
  const inlineGraphs = Array.from(document.querySelectorAll('svg')).filter(s => s.outerHTML.includes(graphLabel)).length;
  const th = Array.from(document.querySelectorAll('table.dataframe th')).map(e => e.textContent);
  const text = document.body.innerText;
  return {
    pwned: window.__pwned || [],
    bad: bad,
    graphs: graphs, inlineGraphs: inlineGraphs, th: th,
    math: text.includes(math) || !!document.querySelector('.MathJax, mjx-container, .MathJax_Preview'),
    answerShown: text.includes('is the chain rule'),
    url: location.href,
  };
}"""


def inspect(page, recorder, what: str, shot: Path) -> dict:
    # onerror, onload, ontoggle, autofocus and @import fire within this; the payloads' refresh
    # (5 s) comes after the page has been read and clicked
    t0 = time.monotonic()
    page.wait_for_timeout(1200)
    try:
        report = page.evaluate(JS_INSPECT, [GRAPH_LABEL, MATH])
        page.screenshot(path=str(shot), full_page=True)
    except Exception as e:  # a payload navigated the page away mid-evaluation
        report = {"pwned": [], "bad": [f"page navigated away: {e}"], "graphs": [], "th": [],
                  "inlineGraphs": 0, "math": False, "answerShown": False, "url": page.url}
    # Click what a student hopes the grader clicks (javascript:/data: links, a form's button).
    for loc in [page.locator(sel) for sel in ("#jslink", "#datalink", "#md_jslink", "#formbtn")] + \
            [page.get_by_text(FILE_LINK_TEXT)]:
        try:
            if loc.count():
                loc.first.click(timeout=1000, no_wait_after=True)
        except Exception:
            pass
    # the refresh, and what the clicks started
    page.wait_for_timeout(max(1500, int((6.5 - (time.monotonic() - t0)) * 1000)))
    try:
        report["pwned"] = sorted(set(report["pwned"]) | set(page.evaluate("() => window.__pwned || []")))
    except Exception:
        pass
    report["url_after"] = page.url
    report["hits"] = sorted({h.split("/hit/", 1)[1] for h in recorder.hits if "/hit/" in h})
    report["where"] = what
    return report


def assert_safe(report: dict):
    problems = []
    if report["pwned"]:
        problems.append(f"payloads ran in the page: {report['pwned']}")
    if report["hits"]:
        problems.append(f"payloads reached the loopback server: {report['hits']}")
    if report["bad"]:
        problems.append(f"live markup in the page: {sorted(set(report['bad']))}")
    if report["url_after"] != report["url"]:
        problems.append(f"the page navigated to {report['url_after']}")
    if not any(g["complete"] and g["width"] > 0 for g in report["graphs"]) and not report["inlineGraphs"]:
        problems.append(f"the Graphviz graph is not shown (graph images: {report['graphs']})")
    if report["th"] != ["col_a"]:
        problems.append(f"the table is not shown (header cells {report['th']})")
    if not report["math"]:
        problems.append("the math of the markdown cells is missing")
    if not report["answerShown"]:
        problems.append("the student's written answer is not shown")
    assert not problems, f"{report['where']}:\n  " + "\n  ".join(problems)


@browser_test[0]
@browser_test[1]
def test_feedback_html_is_inert(graded, tmp_path):
    feedback = graded["course"] / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.is_file(), f"generate_feedback wrote no {feedback}"
    rec = graded["recorder"]
    rec.hits.clear()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Browser(tmp_path / "profile") as b:
        page = b.new_page()
        page.goto(feedback.as_uri())
        report = inspect(page, rec, "feedback HTML", ARTIFACTS / "safe-review-feedback.png")
    (ARTIFACTS / "safe-review-feedback.json").write_text(json.dumps(report, indent=1))
    assert_safe(report)


@browser_test[0]
@browser_test[1]
def test_formgrader_submission_view_is_inert(graded, tmp_path):
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    rec = graded["recorder"]
    rec.hits.clear()
    env = {"NBGRADER_EXCHANGE": graded["env"]["NBGRADER_EXCHANGE"]}
    with JupyterLab(course, tmp_path / "home", ARTIFACTS / "safe-review-lab.log", env=env) as lab, \
            Browser(tmp_path / "profile") as b:
        page = b.new_page()
        resp = page.goto(lab.url(f"formgrader/submissions/{submission_id}/?index=0"))
        assert resp is not None and resp.status == 200, \
            f"formgrader answered {resp and resp.status}; log:\n{lab.log_text()[-3000:]}"
        assert page.locator(".nbgrader_cell").count() > 0, "this is not the formgrader's submission view"
        report = inspect(page, rec, "formgrader submission view", ARTIFACTS / "safe-review-formgrader.png")
    (ARTIFACTS / "safe-review-formgrader.json").write_text(json.dumps(report, indent=1))
    assert_safe(report)


# --------------------------------------------------------------------------- fast checks (no browser)

def test_safe_html_keeps_content_and_drops_script():
    from bpkit_grade.nbgrader_ext import safe_html

    base = "http://127.0.0.1:9"
    _, markdown, _ = payload_cells(base)
    from nbconvert.filters import markdown2html

    rendered = markdown2html(markdown.replace("![evil](attachment:evil.svg) ![page](attachment:page.html)", ""))
    for payload in [*html_payloads(base).values(), rendered, evil_svg(base)]:
        out = safe_html(payload).lower()
        for bad in ("<script", "onerror", "onload", "ontoggle", "onfocus", "<iframe", "<object", "<meta",
                    "<link", "<style", "<form", "javascript:", "data:text", "127.0.0.1"):
            assert bad not in out, f"{bad!r} survived in {out!r}"
    table = '<table border="1" class="dataframe"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    assert safe_html(table) == table
    assert safe_html('<img src="data:image/png;base64,AAAA">') == '<img src="data:image/png;base64,AAAA">'
    assert safe_html("<p>$a < b$</p>") == "<p>$a &lt; b$</p>"
    assert 'href="https://example.org"' in safe_html('<a href="https://example.org">x</a>')
    assert 'href="#sec"' in safe_html('<a href="#sec">x</a>')
    assert "href" not in safe_html('<a href="evil.html">x</a>')


def test_safe_review_preprocessor():
    from bpkit_grade.nbgrader_ext import SafeReview

    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = widget_state("http://127.0.0.1:9")
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'
    code = nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", {"image/svg+xml": svg, "text/plain": "g"}),
        nbformat.v4.new_output("display_data", {"application/javascript": "x()"}),
        nbformat.v4.new_output("display_data", {"text/html": "<script>x()</script><b>b</b>"},
                               metadata={"text/html": {"isolated": True}}),
        nbformat.v4.new_output("display_data", {"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                                "text/plain": "w"}),
    ])
    md = nbformat.v4.new_markdown_cell("![a](attachment:a.html)", metadata={"nbgrader": {
        "grade_id": 'x"><img src=x onerror=alert(1)>', "solution": True}})
    md["attachments"] = {"a.html": {"text/html": "PHNjcmlwdD4="}, "b.png": {"image/png": "AAAA"}}
    nb.cells = [code, md]
    nb, _ = SafeReview().preprocess(nb, {})
    assert "widgets" not in nb.metadata
    outs = nb.cells[0].outputs
    assert outs[0].data["image/svg+xml"] == svg  # drawn as <img>, where no script runs
    assert outs[1].data == {"text/plain": "[not shown for review: application/javascript output]"}
    assert outs[2].data == {"text/html": "<b>b</b>"} and "isolated" not in outs[2].metadata.get("text/html", {})
    assert outs[3].data == {"text/plain": "w"}
    assert nb.cells[1].attachments == {"a.html": {"image/png": ""}, "b.png": {"image/png": "AAAA"}}
    assert "<" not in nb.cells[1].metadata.nbgrader.grade_id and '"' not in nb.cells[1].metadata.nbgrader.grade_id


def test_course_config_sanitizes_every_html_exporter(tmp_path, monkeypatch):
    """The formgrader and generate_feedback both build an HTMLExporter from nbgrader's config."""
    from traitlets.config import Config

    monkeypatch.setenv("NBGRADER_EXCHANGE", str(tmp_path / "exchange"))

    c = Config()
    exec(compile((ROOT / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec"),  # noqa: S102
         {"get_config": lambda: c, "__file__": str(ROOT / "nbgrader_config.py")})
    assert "bpkit_grade.nbgrader_ext.SafeReview" in c.HTMLExporter.preprocessors
    assert c.HTMLExporter.filters["markdown2html"] == "bpkit_grade.nbgrader_ext.SafeMarkdown2HTML"
    assert not c.HTMLExporter.get("skip_svg_encoding", False)
