"""The course server's one setting: ``[tool.course.server]`` in the course's ``pyproject.toml``, read by the hub's
configuration (deploy/jupyterhub_config.py), by ``grader hub`` and by the grader's ``--exchange`` options."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from grader.exchange import Exchange

NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")  # a system account's or group's name, as useradd takes it


class SettingError(ValueError):
    """``[tool.course.server]`` has a value the server cannot use; the message says what to write."""


@dataclass(frozen=True)
class ServerSettings:
    course_id: str = "dl-course"  # the course's name in nbgrader's exchange
    exchange_root: str = "/srv/nbgrader/exchange"
    homes: str = "/home"  # where the students' and the instructor's home folders are made
    instructor: str = "instructor"  # the account that releases, collects and grades
    students_group: str = "students"  # every student's account is in it; the hub lets only it and the instructor in
    memory_gib: float = 2.0  # per student server, its kernels included
    cpus: float = 1.0  # per student server
    hub_state: str = "/srv/course-hub"  # the hub's database, cookie secret and the servers' configuration
    ip: str = "127.0.0.1"  # where the hub listens (behind the university's reverse proxy, or 0.0.0.0)
    port: int = 8000

    @property
    def exchange(self) -> Exchange:
        return Exchange(Path(self.exchange_root), self.course_id)


def read_settings(pyproject: Path) -> ServerSettings:
    """``[tool.course.server]`` of ``pyproject`` over the defaults, checked."""
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("course", {}).get(
            "server", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingError(f"{pyproject}: {error}") from None
    known = {field.name: field.type for field in fields(ServerSettings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SettingError(f"[tool.course.server] in {pyproject}: unknown setting(s) {', '.join(unknown)}; "
                           f"known: {', '.join(known)}")
    for name, value in table.items():
        wanted = {"str": str, "float": (int, float), "int": int}[known[name]]
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise SettingError(f"[tool.course.server] {name} = {value!r}: a {known[name]}")
    settings = ServerSettings(**table)
    for name in ("instructor", "students_group"):
        if not NAME.fullmatch(getattr(settings, name)):
            raise SettingError(f"[tool.course.server] {name} = {getattr(settings, name)!r}: a system name, "
                               "lower-case letters, digits, _ and -")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", settings.course_id):
        raise SettingError(f"[tool.course.server] course_id = {settings.course_id!r}: letters, digits, . _ -")
    for name in ("exchange_root", "homes", "hub_state"):
        if not Path(getattr(settings, name)).is_absolute():
            raise SettingError(f"[tool.course.server] {name} = {getattr(settings, name)!r}: an absolute path")
    if not (0.25 <= settings.memory_gib <= 512 and 0.1 <= settings.cpus <= 256):
        raise SettingError("[tool.course.server] memory_gib (0.25 to 512) and cpus (0.1 to 256) per student")
    return settings
