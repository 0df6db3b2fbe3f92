"""nbgrader configuration for the bpkit course (read by nbgrader and by JupyterLab's nbgrader extension).

The design card's folders are nbgrader's own: instructor sources with solutions live in
``solutions/``, and ``nbgrader generate_assignment`` writes the student versions to ``notebooks/``.
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "bpkit"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# --- autograding (see docs/instructor.md) -----------------------------------------------------
# Per-cell time limit for `nbgrader autograde` (and for bpkit-grade, which reads this file).
c.Execute.timeout = 30
# A test cell fails on ANY stderr output, so an honest answer that prints a warning would score 0:
# drop stderr stream outputs before grading (IgnorePattern is stock nbgrader, off by default).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
# A student who deleted a test cell gets it back (and is graded on it).
c.OverwriteCells.add_missing_cells = True
# Feedback shows each test's diagnostic message, never the hidden tests' source: hidden-test
# regions are cleared, and tracebacks of test cells (which quote source lines) are cut to
# "Error: message".
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "bpkit_grade.nbgrader_ext.ShortTestTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# --- reviewing student work safely (docs/instructor.md) ----------------------------------------
# The formgrader's submission view (served by the instructor's own Jupyter server) and the
# feedback HTML are both rendered by nbconvert's HTMLExporter, which by default puts a student's
# text/html and application/javascript outputs and the raw HTML of markdown answers into the page
# as live markup. Every HTMLExporter nbgrader builds (formgrader and generate_feedback) runs
# SafeReview (outputs, widget state, attachments: nh3 allow-list) and renders markdown through
# SafeMarkdown2HTML (nbconvert's rendering, then nh3). SVG stays an <img src="data:..."> (no
# script runs in an SVG image): never set HTMLExporter.skip_svg_encoding, which inlines it.
c.HTMLExporter.preprocessors = ["bpkit_grade.nbgrader_ext.SafeReview"]
c.HTMLExporter.filters = {"markdown2html": "bpkit_grade.nbgrader_ext.SafeMarkdown2HTML"}
c.HTMLExporter.skip_svg_encoding = False
# (HTMLExporter.sanitize_html stays off: its clean_html, a narrow bleach list, would run after ours
# and turn <p>, <th>, <img> into visible text; the templates' markdown cells ignore it anyway.)

# nbgrader's exchange (release/fetch/submit between instructor and students). The default,
# /usr/local/share/nbgrader/exchange, is not writable on Binder or a laptop, and opening the
# Assignment List then logs an "Unwritable directory" traceback. Default to a folder of the
# course's own; a class sharing one server sets NBGRADER_EXCHANGE to a shared, writable folder.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(HERE, ".exchange"))
try:  # nbgrader only checks the folder; it must exist
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass  # nbgrader will say "Unwritable directory" and name it

# `nbgrader collect` refuses a submission not owned by its student's account, or holding a
# symbolic link (stock nbgrader only warns, and copies what a link points to): on the
# instructor's machine only, where bpkit_grade is installed (docs/instructor.md, the exchange)
import importlib.util  # noqa: E402

if importlib.util.find_spec("bpkit_grade"):
    c.ExchangeFactory.collect = "bpkit_grade.exchange.SafeCollect"
