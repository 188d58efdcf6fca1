"""JupyterHub's configuration for the course server, from ``[tool.course.server]``: deploy/jupyterhub_config.py
calls :func:`configure`, and ``grader hub setup`` writes the servers' own Jupyter configuration with
:func:`write_server_config`.

- Accounts: the machine's own (PAM), letting in the students' group and the instructor; another authenticator
  (the university's OAuth or LDAP) is one line in deploy/jupyterhub_config.py (docs/instructors.md).
- Servers: each in its student's box and control group (:class:`grader.hub.spawner.BoxedSpawner`), JupyterLab.
- The proxy: configurable-http-proxy from the npm registry, installed into ``deploy/node_modules``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from course.workspace import STUDENT_CONFIG
from grader.hub.box import COURSE_IN_HOME, Account
from grader.hub.settings import ServerSettings

COURSE_ROOT_VARIABLE = "COURSE_SERVER_ROOT"  # the course whose [tool.course.server] the hub reads
HIDDEN_FROM_STUDENTS = ("@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list",
                        "@jupyter/nbgrader:formgrader")


def state_folder(settings: ServerSettings) -> Path:
    return Path(settings.hub_state)


def server_config_folder(settings: ServerSettings, role: str) -> Path:
    """The Jupyter configuration the servers of ``role`` ("students" or "instructor") read."""
    return state_folder(settings) / f"jupyter-{role}"


def configure(c, settings: ServerSettings, checkout: Path, course_root: Path) -> None:
    """Fill JupyterHub's configuration object ``c`` for the course at ``course_root``."""
    state = state_folder(settings)
    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.port + 1  # the hub's own API, and the proxy's, on the next two ports
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.port + 2}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.command = [str(checkout / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy")]
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.open_sessions = False
    c.Authenticator.allowed_users = {settings.instructor}
    c.LocalAuthenticator.allowed_groups = {settings.students_group}
    c.Authenticator.admin_users = {settings.instructor}

    c.JupyterHub.spawner_class = "grader.hub.spawner.BoxedSpawner"
    c.Spawner.cmd = ["jupyterhub-singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.http_timeout = 60
    c.BoxedSpawner.exchange_root = settings.exchange_root
    c.BoxedSpawner.student_config = str(server_config_folder(settings, "students"))
    c.BoxedSpawner.instructor_config = str(server_config_folder(settings, "instructor"))
    c.BoxedSpawner.instructor = settings.instructor
    c.BoxedSpawner.course_root = str(course_root)
    c.BoxedSpawner.memory_gib = settings.memory_gib
    c.BoxedSpawner.cpus = settings.cpus


def instructor_course(settings: ServerSettings) -> Path:
    """Where the instructor's box shows the course folder (grader.hub.box)."""
    return Account.named(settings.instructor).home / COURSE_IN_HOME


def write_server_config(settings: ServerSettings) -> list[Path]:
    """The servers' Jupyter configuration: nbgrader's exchange for everyone; the students' JupyterLab without the
    instructor's panels (course/student_jupyter) and with the sealed submit; the instructor's with the formgrader
    on the course folder."""
    written = []
    exchange = (f"c.Exchange.root = {settings.exchange_root!r}\n"
                f"c.CourseDirectory.course_id = {settings.course_id!r}\n")
    students = server_config_folder(settings, "students")
    if students.exists():
        shutil.rmtree(students)
    shutil.copytree(STUDENT_CONFIG, students)
    # on the server the Assignments list is the way in, and nbgrader's menu opens it: the menu stays, the
    # instructor's panels (their plugins) stay out
    (students / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        plugin: True for plugin in HIDDEN_FROM_STUDENTS}}, indent=2))
    (students / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n" + exchange +
        "c.ExchangeFactory.submit = 'course.exchange_submit.SealedSubmit'\n")
    instructor = server_config_folder(settings, "instructor")
    instructor.mkdir(parents=True, exist_ok=True)
    (instructor / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n" + exchange +
        f"c.CourseDirectory.root = {str(instructor_course(settings))!r}\n"
        "c.CourseDirectory.source_directory = 'solutions'\nc.CourseDirectory.release_directory = 'labs'\n")
    (instructor / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": True}}}, indent=2))
    for folder in (students, instructor):
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        written.append(folder)
    return written
