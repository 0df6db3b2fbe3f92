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
