"""The course server's spawner: JupyterHub's LocalProcessSpawner, each student's server started in the student's
box (grader/hub/box.py) as their own account, inside a control group that caps its memory and CPU
(grader/hub/limits.py).

On a machine run by systemd, ``jupyterhub-systemdspawner`` does the same with systemd's own units; on Kubernetes,
zero-to-jupyterhub's KubeSpawner (docs/instructors.md, "The course server").
"""

from __future__ import annotations

import shlex
from pathlib import Path
from subprocess import Popen

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Float, Unicode

from grader.hub import limits
from grader.hub.box import COURSE_IN_HOME, Account, StudentBox

GiB = 2 ** 30


class BoxedSpawner(LocalProcessSpawner):
    """One student's server: their account, their home, the exchange, and read-only what the server needs."""

    exchange_root = Unicode("/srv/nbgrader/exchange", help="the nbgrader exchange every server shares").tag(
        config=True)
    student_config = Unicode("", help="the Jupyter configuration the students' servers read").tag(config=True)
    instructor_config = Unicode("", help="the Jupyter configuration the instructor's server reads").tag(config=True)
    instructor = Unicode("instructor", help="the instructor's account").tag(config=True)
    course_root = Unicode("", help="the course folder, writable in the instructor's box alone, where it shows as "
                          "~/course").tag(config=True)
    memory_gib = Float(2.0, help="GiB of memory for the server and its kernels together").tag(config=True)
    cpus = Float(1.0, help="CPUs the server and its kernels may use together").tag(config=True)

    def jupyter_config(self) -> str:
        return self.instructor_config if self.user.name == self.instructor else self.student_config

    def box(self) -> StudentBox:
        extra = (Path(self.jupyter_config()),) if self.jupyter_config() else ()
        course = ()
        if self.course_root and self.user.name == self.instructor:
            course = ((Path(self.course_root), Account.named(self.user.name).home / COURSE_IN_HOME),)
        return StudentBox(Path(self.exchange_root), extra_readonly=extra, extra_writable=course)

    def get_env(self):
        env = super().get_env()
        if self.jupyter_config():
            env["JUPYTER_CONFIG_PATH"] = self.jupyter_config()
        return env

    async def start(self):
        if self.port == 0:
            self.port = random_port()
        account = Account.named(self.user.name)
        server = [*self.cmd, *self.get_args()]
        groups = limits.prepare(self.user.name, limits.ServerLimits(int(self.memory_gib * GiB), self.cpus))
        box = self.box()
        self.log.info("Spawning %s for %s in its box", shlex.join(server), self.user.name)
        # bubblewrap is started by root and drops to the student's account itself: no setuid before it
        self.proc = Popen(box.command(server, account), preexec_fn=limits.joining(groups), start_new_session=True,
                          env=box.environment(account, self.get_env()), **self.popen_kwargs)
        self.pid = self.proc.pid
        return (self.ip or "127.0.0.1", self.port)

    async def stop(self, now=False):
        await super().stop(now=now)
        limits.remove(self.user.name)
