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

# nbgrader's exchange (release/fetch/submit between instructor and students). The default,
# /usr/local/share/nbgrader/exchange, is not writable on Binder or a laptop, and opening the
# Assignment List then logs an "Unwritable directory" traceback. Default to a folder of the
# course's own; a class sharing one server sets NBGRADER_EXCHANGE to a shared, writable folder.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(HERE, ".exchange"))
try:  # nbgrader only checks the folder; it must exist
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass  # nbgrader will say "Unwritable directory" and name it
