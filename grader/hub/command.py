"""``python -m grader hub setup|start|check``: the course server, from ``[tool.course.server]``.

    sudo python -m grader hub setup --roster students.csv   # accounts, the exchange, the servers' configuration
    sudo python -m grader hub start                          # JupyterHub until stopped (Ctrl-C)
    sudo python -m grader hub check                          # what is missing or wrong, in words
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from grader.collect_roster import read_roster
from grader.exchange import ExchangeError, lay_out, layout_problems
from grader.hub import accounts, limits
from grader.hub.config import COURSE_ROOT_VARIABLE, server_config_folder, state_folder, write_server_config
from grader.hub.settings import read_settings
from grader.layout import KIT_CHECKOUT, Course

DEPLOY = "deploy"
PROXY = Path(DEPLOY) / "node_modules" / ".bin" / "configurable-http-proxy"


def setup(course: Course, roster: Path | None) -> int:
    settings = read_settings(course.root / "pyproject.toml")
    students = sorted(read_roster(roster).students) if roster else []
    report = accounts.ensure_accounts(settings, students)
    state = state_folder(settings)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    if report.made:
        passwords = state / "first-passwords.csv"
        accounts.write_passwords(passwords, report.made)
        print(f"{len(report.made)} new account(s); their first passwords: {passwords} (root only)")
    print(f"{len(report.kept)} account(s) kept as they were")
    Path(settings.exchange_root).mkdir(parents=True, exist_ok=True)
    for change in lay_out(settings.exchange, settings.instructor):
        print(change)
    for change in accounts.give_the_course(settings, course):
        print(change)
    for folder in write_server_config(settings):
        print(f"wrote {folder}")
    return 0


def problems(course: Course) -> list[str]:
    settings = read_settings(course.root / "pyproject.toml")
    found = []
    if os.geteuid() != 0:
        found.append("the hub runs as root (it starts each server as its student's account)")
    if not (KIT_CHECKOUT / PROXY).is_file():
        found.append(f"configurable-http-proxy is missing: npm ci --prefix {KIT_CHECKOUT / DEPLOY}")
    for tool in ("bwrap", "setpriv"):
        if shutil.which(tool) is None:
            found.append(f"{tool} is missing (Debian: apt install bubblewrap util-linux)")
    try:
        found += layout_problems(settings.exchange, settings.instructor)
    except ExchangeError as error:
        found.append(str(error))
    found += accounts.course_problems(settings, course)
    for role in ("students", "instructor"):
        if not server_config_folder(settings, role).is_dir():
            found.append(f"{server_config_folder(settings, role)} is missing: python -m grader hub setup")
    try:
        limits.prepare("check", limits.ServerLimits(2 ** 30, 1.0))
        limits.remove("check")
    except limits.LimitsUnavailable as error:
        found.append(str(error))
    return found


def start(course: Course) -> int:
    found = problems(course)
    if found:
        print("the course server cannot start:\n" + "\n".join(f"  {problem}" for problem in found), file=sys.stderr)
        return 2
    settings = read_settings(course.root / "pyproject.toml")
    command = [sys.executable, "-m", "jupyterhub", "-f", str(KIT_CHECKOUT / DEPLOY / "jupyterhub_config.py")]
    # the hub imports its configuration's helpers from this checkout, as `python -m grader` does its own
    path = os.pathsep.join([str(KIT_CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.chdir(state_folder(settings))
    # JupyterHub takes this process's place, so that a signal to stop it reaches it (and its proxy) directly
    os.execve(sys.executable, command, {**os.environ, COURSE_ROOT_VARIABLE: str(course.root), "PYTHONPATH": path})


def main(course: Course, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader hub", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup", help="accounts, the exchange and the servers' configuration")
    setup_parser.add_argument("--roster", type=Path, help="CSV with an 'id' column: a student account for each")
    commands.add_parser("start", help="run JupyterHub until stopped")
    commands.add_parser("check", help="say what the server still lacks")
    arguments = parser.parse_args(argv)
    if arguments.command == "setup":
        try:
            return setup(course, arguments.roster)
        except accounts.AccountError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if arguments.command == "start":
        return start(course)
    found = problems(course)
    print("\n".join(found) if found else "the course server is ready: python -m grader hub start")
    return 1 if found else 0
