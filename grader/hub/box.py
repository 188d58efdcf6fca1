"""The box a student's program runs in on the course server: their own account, their home, the exchange, and
read-only what JupyterLab and the kit need; nothing else of the machine.

Started as root through bubblewrap (as :mod:`grader.sandbox` starts a graded kernel), which binds the folders in
and then drops to the student's account with ``setpriv``: the Python installation and the kit may then live where
an ordinary account could not reach them (``/root``), and a student's server sees no other home, no course folder,
no solutions. Unlike a graded kernel it keeps the machine's network namespace, since the server must answer the
hub on the loopback interface, and the exchange is the real folder, so that its owners and modes decide what
each student may read and write (grader/exchange.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox import (ETC_PATHS, SYSTEM_FOLDERS, Step, _bwrap_arguments, _course_package, _parents, bound_folders,
                            bwrap_path)

ACCOUNT_FILES = ("/etc/passwd", "/etc/group")  # names for ids (JupyterLab, nbgrader); no password is in them


@dataclass(frozen=True)
class Account:
    """A student's (or the instructor's) system account."""

    name: str
    uid: int
    gid: int
    home: Path
    groups: tuple[int, ...]

    @classmethod
    def named(cls, name: str) -> "Account":
        entry = pwd.getpwnam(name)
        return cls(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), tuple(sorted(os.getgrouplist(name,
                                                                                                        entry.pw_gid))))


COURSE_IN_HOME = "course"  # where the instructor's box shows the course folder, in their home


@dataclass(frozen=True)
class StudentBox:
    """What a student's programs see, and the command that runs one there."""

    exchange_root: Path
    extra_readonly: tuple[Path, ...] = ()  # e.g. the server's Jupyter configuration folder
    # (folder, where the box shows it), writable: the instructor's course folder, inside their home because
    # nbgrader's formgrader works only on a course under the server's root folder
    extra_writable: tuple[tuple[Path, Path], ...] = ()

    def layout(self, account: Account) -> list[Step]:
        steps = []
        for folder in SYSTEM_FOLDERS:
            if os.path.islink(folder):
                steps.append(Step("symlink", folder, source=os.readlink(folder)))
            elif os.path.isdir(folder):
                steps.append(Step("ro-bind", folder, source=folder))
        steps += [Step("proc", "/proc"), Step("dev", "/dev"), Step("tmpfs", "/dev/shm", size=256 * 2 ** 20,
                                                                   perms=0o1777),
                  Step("tmpfs", "/tmp", size=1024 * 2 ** 20, perms=0o1777)]
        made = {Path("/tmp")}
        for name in (*ETC_PATHS, *ACCOUNT_FILES):
            if os.path.exists(name):
                steps += _parents(Path(name), made) + [Step("ro-bind", name, source=name)]
        for folder in (*bound_folders(), *self.extra_readonly):
            steps += _parents(Path(folder), made) + [Step("ro-bind", str(folder), source=str(folder))]
        for source, target in ((self.exchange_root, self.exchange_root), (account.home, account.home),
                               *self.extra_writable):
            steps += _parents(Path(target), made) + [Step("bind", str(target), source=str(source))]
        return steps + [Step("remount-ro", "/")]

    def command(self, argv: list[str], account: Account) -> list[str]:
        """``argv`` run as ``account`` in its box, in its home. Start it with :meth:`environment` as its whole
        environment, which bubblewrap hands on: a server's token stays out of the command line, which any account
        on the machine may read."""
        wrapped = [bwrap_path()]
        for step in self.layout(account):
            wrapped += _bwrap_arguments(step)
        wrapped += ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--chdir", str(account.home), "--",
                    shutil.which("setpriv") or "setpriv", f"--reuid={account.uid}", f"--regid={account.gid}",
                    f"--groups={','.join(map(str, account.groups))}", "--no-new-privs", "--inh-caps=-all",
                    "--bounding-set=-all", "--"]
        return wrapped + argv

    @staticmethod
    def environment(account: Account, extra: dict[str, str] | None = None) -> dict[str, str]:
        """All the environment a program in the box gets: the account's names, then ``extra`` (a server's)."""
        return {**StudentBox._base_environment(account), **(extra or {})}

    @staticmethod
    def _base_environment(account: Account) -> dict[str, str]:
        return {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
                "HOME": str(account.home), "USER": account.name, "LOGNAME": account.name, "TMPDIR": "/tmp",
                "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1",
                # the course package bound here (the only folder of its checkout), before any other install of it
                "PYTHONPATH": str(_course_package().parent)}
