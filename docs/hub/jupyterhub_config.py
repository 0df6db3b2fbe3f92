"""JupyterHub for a bpkit class on one machine: local Unix accounts, one server process per user.

Copy this file to the hub machine and run ``sudo jupyterhub -f jupyterhub_config.py`` (the hub
runs as root: it logs users in with PAM and starts each server as that user). The values below
come from environment variables so that tests/test_hub.py runs this very file; on a real hub,
write your values into the defaults. docs/instructor.md ("A class on JupyterHub") explains each.

What it sets up:
- PAM log-in for the accounts listed (students and instructors), nobody else;
- each student's server runs the STUDENT environment (the student edition installed: bpkit,
  JupyterLab, nbgrader's Assignment List; no bpkit_grade, no solutions), the instructor's runs
  the INSTRUCTOR environment (this repository's .venv: nbgrader, bpkit_grade);
- home folders are made private (0700) before each server starts: a student's notebooks and
  nbgrader's submission cache (which holds the secret that names their feedback) stay theirs;
- nbgrader's exchange, created here with the permissions that keep students apart as far as
  nbgrader's exchange allows (see docs/instructor.md for what it cannot do);
- nbgrader's instructor tools (Formgrader, Course List, Create Assignment) turned off in
  students' servers by a Jupyter config folder that only their servers read; yours keep them,
  pointed at the course: its folder is a Jupyter config folder of your server, so the Formgrader
  reads the course's nbgrader_config.py (the course, and its sanitizer for student HTML).
"""
import json
import os
import pwd
import stat

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)


def _names(var, default):
    return sorted({n.strip() for n in os.environ.get(var, default).split(",") if n.strip()})


INSTRUCTORS = _names("BPKIT_HUB_INSTRUCTORS", "instructor")
STUDENTS = _names("BPKIT_HUB_STUDENTS", "student1,student2,student3")
COURSE_ID = "bpkit"
EXCHANGE = os.environ.get("BPKIT_HUB_EXCHANGE", "/srv/nbgrader/exchange")
# a venv (or conda env) with the student edition installed in it, plus jupyterhub:
#   python -m venv /opt/bpkit-student && cd bpkit-students (a checkout of the edition) &&
#   /opt/bpkit-student/bin/pip install -r binder/requirements.txt jupyterhub==<the hub's version>
STUDENT_ENV = os.environ.get("BPKIT_HUB_STUDENT_ENV", "/opt/bpkit-student")
# the instructor's environment: the .venv ./course makes in the instructor's course folder
INSTRUCTOR_ENV = os.environ.get("BPKIT_HUB_INSTRUCTOR_ENV", "/home/instructor/bpkit/.venv")
# the course folder (a checkout of this repository, holding nbgrader_config.py) in your home
INSTRUCTOR_COURSE = os.path.dirname(INSTRUCTOR_ENV)
# a Jupyter config folder that students' servers read (JUPYTER_CONFIG_PATH), written below
STUDENT_JUPYTER_CONFIG = os.environ.get("BPKIT_HUB_STUDENT_JUPYTER_CONFIG", "/etc/bpkit/student-jupyter")

# --- the hub --------------------------------------------------------------------------------
# Only on this machine: put an HTTPS reverse proxy (nginx, Caddy) in front, or set
# c.JupyterHub.ssl_key / ssl_cert and bind to the public address.
c.JupyterHub.bind_url = os.environ.get("BPKIT_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {"NBGRADER_EXCHANGE": EXCHANGE}  # read by the course's nbgrader_config.py
c.Spawner.start_timeout = 120   # a busy machine starts JupyterLab slowly
c.Spawner.http_timeout = 120


def pre_spawn_hook(spawner):
    """Private home, and the user's environment: the instructor's or the students'."""
    name = spawner.user.name
    home = pwd.getpwnam(name).pw_dir
    os.chmod(home, 0o700)
    env = INSTRUCTOR_ENV if name in INSTRUCTORS else STUDENT_ENV
    spawner.cmd = [os.path.join(env, "bin", "jupyterhub-singleuser")]
    spawner.environment = dict(spawner.environment,
                               PATH=os.path.join(env, "bin") + os.pathsep + "/usr/local/bin:/usr/bin:/bin")
    # nbgrader's Formgrader reads nbgrader_config.py from the Jupyter config folders and the
    # folder the server starts in (the home folder); the course's folder, as one of the former,
    # gives it the course (CourseDirectory.root) and the course's HTML sanitizer
    config = INSTRUCTOR_COURSE if name in INSTRUCTORS else STUDENT_JUPYTER_CONFIG
    spawner.environment["JUPYTER_CONFIG_PATH"] = config


c.Spawner.pre_spawn_hook = pre_spawn_hook


# --- nbgrader's exchange ----------------------------------------------------------------------
def make_exchange():
    """EXCHANGE is root's, world-writable with the sticky bit (nbgrader wants it writable by
    all; the sticky bit stops anyone from removing or renaming what is not theirs), and the
    course's folder in it is created for the first instructor before any student could take the
    name: outbound readable by all, inbound writable but not listable (setgid, as nbgrader
    makes it, and sticky: a student who learns another's submission name still cannot rename or
    remove it), feedback not listable (students open their own file by its secret name)."""
    owner = pwd.getpwnam(INSTRUCTORS[0])
    os.makedirs(EXCHANGE, exist_ok=True)
    os.chown(EXCHANGE, 0, 0)
    os.chmod(EXCHANGE, 0o1777)
    course = os.path.join(EXCHANGE, COURSE_ID)
    for path, mode in ((course, 0o755), (os.path.join(course, "outbound"), 0o755),
                       (os.path.join(course, "inbound"), 0o3733), (os.path.join(course, "feedback"), 0o711)):
        if not os.path.isdir(path):
            os.mkdir(path)
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (owner.pw_uid, 0):
            raise SystemExit(f"{path} is not a folder of {INSTRUCTORS[0]}'s: remove it and start the hub again")
        os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(path, mode)


make_exchange()


# --- what students' JupyterLab offers ---------------------------------------------------------
def make_student_jupyter_config():
    """nbgrader enables all its extensions wherever it is installed. In STUDENT_JUPYTER_CONFIG
    (a folder of root's that students can read), turn off its instructor tools: the lab
    extensions of the Formgrader, the Course List and the Create Assignment panel, and the
    server extensions behind the first two. Students keep the Assignment List and Validate.
    (`jupyter labextension disable` and `jupyter server extension disable` write the same
    settings into one environment; this folder applies them per user, whatever they run.)"""
    off = {"labconfig/page_config.json": {"disabledExtensions": {
               "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:course-list": True,
               "@jupyter/nbgrader:create-assignment": True}},
           "jupyter_server_config.d/bpkit-students.json": {"ServerApp": {"jpserver_extensions": {
               "nbgrader.server_extensions.formgrader": False,
               "nbgrader.server_extensions.course_list": False}}}}
    for rel, settings in off.items():
        path = os.path.join(STUDENT_JUPYTER_CONFIG, rel)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "w") as f:
            json.dump(settings, f, indent=2)
        os.chmod(path, 0o644)


make_student_jupyter_config()
