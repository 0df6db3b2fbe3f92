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

# nbgrader's exchange (release/fetch/submit between instructor and students). The default,
# /usr/local/share/nbgrader/exchange, is not writable on Binder or a laptop, and opening the
# Assignment List then logs an "Unwritable directory" traceback. Default to a folder of the
# course's own; a class sharing one server sets NBGRADER_EXCHANGE to a shared, writable folder.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(HERE, ".exchange"))
try:  # nbgrader only checks the folder; it must exist
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass  # nbgrader will say "Unwritable directory" and name it
