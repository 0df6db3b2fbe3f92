"""nbgrader's configuration for the students' servers on the hub (docs/instructor.md).

Install it as ``<student environment>/etc/jupyter/nbgrader_config.py`` (or
``/etc/jupyter/nbgrader_config.py`` in a student image): nbgrader's Assignment List and its
``fetch_assignment`` / ``submit`` / ``fetch_feedback`` commands read it in every student's server.
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "bpkit"
# the hub's spawner sets NBGRADER_EXCHANGE (docs/hub/jupyterhub_config.py)
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# Fetched assignments go to ~/<assignment>/. Not Exchange.path_includes_course = True: it
# would put them in ~/bpkit/, and that folder (a namespace package to Python) shadows the bpkit
# package for code run in the home folder (tests/test_hub.py found it).
