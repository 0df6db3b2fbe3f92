"""nbgrader preprocessors and filters the course adds to stock nbgrader (configured in ``nbgrader_config.py``).

:class:`ShortTestTracebacks` runs in ``generate_feedback``: in autograder test cells it keeps the
error's name and message (the diagnostic the student needs) and drops the traceback, whose frames
quote the cell's source lines, hidden tests included.

:class:`SafeReview` and :class:`SafeMarkdown2HTML` make what a student wrote inert in the pages the
instructor and the students open: the formgrader's submission view (served by the instructor's own
Jupyter server, same origin as its terminals and contents API) and the feedback HTML. Both pages are
rendered by nbconvert's ``HTMLExporter`` from nbgrader's ``formgrade``/``feedback`` templates, which
put a ``text/html`` output, an ``application/javascript`` output and the HTML of a markdown cell
into the page as they are (``HTMLExporter.sanitize_html`` is off by default, and even when on,
nbgrader's templates render markdown cells unsanitized and nbconvert's own ``clean_html`` escapes
``<p>``, headings and ``<img>`` into visible text). So, configured for every ``HTMLExporter``
nbgrader builds:

- :class:`SafeReview` (preprocessor) keeps only output types that cannot carry script (plain text,
  PNG/JPEG/GIF, LaTeX source, SVG) and runs ``text/html`` through :func:`safe_html`; an output
  whose types were all dropped says so in a one-line note. SVG stays ``image/svg+xml``: the
  templates draw it as ``<img src="data:image/svg+xml;base64,...">``, and a browser never runs
  script in, or loads anything for, an SVG shown as an image. It also drops the notebook's widget
  state (the templates would load a widget renderer for it), markdown attachments that are not
  images, ``isolated`` iframes, and escapes cell tags and nbgrader ids that the templates copy into
  attributes.
- :class:`SafeMarkdown2HTML` (the templates' ``markdown2html`` filter) renders markdown exactly as
  nbconvert does (math stays ``$...$`` text for MathJax, attachments become ``data:`` images) and
  then runs the HTML through :func:`safe_html`.

:func:`safe_html` is `nh3 <https://pypi.org/project/nh3/>`_ (the Rust ``ammonia`` sanitizer) with
its default allow-list of tags (tables, text formatting, ``img``; no ``script``, ``style``,
``iframe``, ``svg``, ``form``, ``meta``, ``link``, no ``on*``/``style`` attributes), ``class`` kept,
heading ``id``\\ s kept, links only to ``http``/``https``/``mailto`` URLs and ``#`` fragments (no
``javascript:``/``data:`` links, and no relative ones: the formgrader serves a submission's other
files from the instructor's origin), and images only from ``data:image/...`` or relative URLs (an
image never runs script; no remote loads).
"""
from __future__ import annotations

import html
import re

import jinja2
import nh3
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets.config import LoggingConfigurable


class ShortTestTracebacks(NbGraderPreprocessor):
    """Replace the traceback of every error in a test cell by its last line, ``Name: message``."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# --------------------------------------------------------------------------- safe review

# Images a sanitized page may show inline (never text/html, never anything scriptable as a document).
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_DATA_IMAGE = re.compile(r"^\s*data:(%s)[;,]" % "|".join(re.escape(m) for m in _IMAGE_MIMES), re.I)
_ABSOLUTE_URL = re.compile(r"^\s*([a-z][a-z0-9+.\-]*:|//|\\\\)", re.I)

_TAGS = set(nh3.ALLOWED_TAGS)
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"class", "title"}
for _h in ("h1", "h2", "h3", "h4", "h5", "h6"):  # nbconvert's heading anchors (#id links)
    _ATTRIBUTES.setdefault(_h, set()).add("id")
_ATTRIBUTES.setdefault("table", set()).add("border")  # pandas' to_html()
_URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: only for <img> (see _attribute_filter)


def _attribute_filter(tag: str, attr: str, value: str):
    if tag == "img" and attr == "src":
        # data:image/... or a relative URL (a file of the submission); nothing from elsewhere
        if _DATA_IMAGE.match(value) or not _ABSOLUTE_URL.match(value):
            return value
        return None
    if attr in ("href", "cite"):
        # http(s)/mailto elsewhere, or a #fragment of the page. No data:, and no relative link:
        # the formgrader serves a submission's other files from the instructor's own origin
        # (/formgrader/submissions/<id>/<file>), so a link to a submitted .html/.svg would open
        # it there as a live page.
        v = value.strip()
        if v.startswith("#") or re.match(r"^(https?:|mailto:)", v, re.I):
            return value
        return None
    return value


def safe_html(fragment: str) -> str:
    """``fragment`` with everything that could run script, load a resource from elsewhere, or
    restyle the page removed (see the module's docstring for what stays)."""
    return nh3.clean(str(fragment), tags=_TAGS, attributes=_ATTRIBUTES,
                     attribute_filter=_attribute_filter, url_schemes=_URL_SCHEMES,
                     clean_content_tags={"script", "style"}, strip_comments=True,
                     link_rel="noopener noreferrer nofollow")


# Output types shown as they are: the templates escape text and LaTeX and draw images as <img>.
_INERT_OUTPUT_TYPES = frozenset({"text/plain", "text/latex", "image/png", "image/jpeg", "image/gif",
                                 "image/svg+xml"})
_SAFE_NAME = re.compile(r"^[\w.\-]+$")


def _safe_name(value):
    return value if not isinstance(value, str) or _SAFE_NAME.match(value) else html.escape(value, quote=True)


class SafeReview(Preprocessor):
    """Make a student's notebook inert for the formgrader and feedback pages (see module docstring)."""

    def preprocess(self, nb, resources):
        widgets = nb.metadata.pop("widgets", None)
        if widgets:
            self.log.info("SafeReview: dropped the notebook's widget state")
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.get("metadata", {})
        if isinstance(meta.get("tags"), list):
            meta["tags"] = [t for t in meta["tags"] if isinstance(t, str) and _SAFE_NAME.match(t)]
        nbg = meta.get("nbgrader")
        if isinstance(nbg, dict):
            for key in ("grade_id", "cell_type"):
                if key in nbg:
                    nbg[key] = _safe_name(nbg[key])
        if isinstance(cell.get("attachments"), dict):
            # images only; a name stays (nbconvert fails on a missing one) with an empty image
            cell.attachments = {
                name: ({m: v for m, v in bundle.items() if m in _IMAGE_MIMES and isinstance(v, str)}
                       if isinstance(bundle, dict) else {}) or {"image/png": ""}
                for name, bundle in cell.attachments.items()}
        if cell.cell_type == "raw":
            cell.source = safe_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                self._output(output)
        return cell, resources

    def _output(self, output):
        if output.get("output_type") not in ("display_data", "execute_result"):
            return  # stream and error text: the templates escape it (ansi2html)
        data = output.get("data", {})
        dropped = []
        for mime in list(data):
            if mime == "text/html":
                value = data[mime]
                data[mime] = safe_html("".join(value) if isinstance(value, list) else value)
            elif mime == "text/markdown":
                continue  # rendered by SafeMarkdown2HTML
            elif mime not in _INERT_OUTPUT_TYPES:
                dropped.append(mime)
                del data[mime]
        md = output.get("metadata", {})
        if isinstance(md.get("text/html"), dict):
            md["text/html"].pop("isolated", None)  # the templates would put it in an <iframe>
        output["metadata"] = {m: v for m, v in md.items() if m in data}
        if dropped and not data:
            data["text/plain"] = f"[not shown for review: {', '.join(dropped)} output]"


class SafeMarkdown2HTML(LoggingConfigurable):
    """The ``markdown2html`` template filter: nbconvert's own rendering, then :func:`safe_html`.

    Registered with ``HTMLExporter.filters``; nbconvert constructs it with the exporter as its
    ``parent``, whose ``markdown2html`` does the rendering (math, attachments, anchors)."""

    # the filter receives the template context (the cell, for its attachments), as nbconvert's does
    jinja_pass_arg = jinja2.pass_context(lambda: None).jinja_pass_arg

    def __call__(self, context, source):
        render = getattr(self.parent, "markdown2html", None)
        if render is None:  # not an HTMLExporter: nbconvert's plain filter
            from nbconvert.filters import markdown2html as render_plain
            return safe_html(render_plain(source))
        return safe_html(render(context, source))
