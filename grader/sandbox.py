"""The box a student's kernel runs in: no network, no course files, capped memory and processes.

The kernel is started through bubblewrap (``bwrap``, the sandbox Flatpak uses), in new mount, network,
PID, IPC and UTS namespaces:

- the whole file system is read-only; ``/tmp``, ``/var/tmp``, ``/run``, ``/dev/shm``, the grader's home
  and the course checkout are replaced by empty, private tmpfs folders, so the solutions, the gradebook,
  the other students' notebooks and the autograded copies (which carry the hidden tests) are not there;
- what the kernel needs is bound back read-only: the Python installation and the ``course`` package;
- the kernel's working folder (its own scratch copy) and the folder holding its connection sockets are
  the only places it can write;
- the network namespace has no interface up, so nothing is reachable (connect fails with errno 101);
- resource limits: address space and data segment (a memory bomb gets ``MemoryError``), processes and
  threads (a fork bomb gets ``BlockingIOError``), file size, no core dumps;
- when the grader runs as root, the kernel runs as an unprivileged user of its own (one per submission,
  so one student's fork bomb cannot use up another's process limit), with no capabilities and
  ``no_new_privs``.

The PID namespace dies with the kernel: a process the student left behind is killed when the kernel stops.
"""

from __future__ import annotations

import os
import secrets
import shutil
import site
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

GiB = 1024 ** 3
MiB = 1024 ** 2
SANDBOX_UID_BASE = 1_000_000  # unprivileged ids well above any distribution's regular users
UID_BLOCK_SIZE = 10_000
UID_BLOCKS = 100_000


class SandboxUnavailable(Exception):
    """This machine cannot start the sandbox; the message says what to install."""


@dataclass(frozen=True)
class Limits:
    """What one student's kernel may use."""

    memory_bytes: int = 2 * GiB  # RLIMIT_DATA: heap and anonymous mappings, what a memory bomb grows
    address_space_bytes: int = 8 * GiB  # RLIMIT_AS: must leave room for torch's ~3.3 GB of mapped libraries
    processes: int = 256  # RLIMIT_NPROC counts threads too; torch and ipykernel start a few dozen
    file_bytes: int = 256 * MiB  # RLIMIT_FSIZE, for any single file the kernel writes
    tmp_bytes: int = 512 * MiB  # size of the private /tmp (RAM-backed)
    threads_per_kernel: int = 1  # OMP/MKL threads; grader.autograde sets it from the cores and the jobs


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "student code runs inside bubblewrap, which is not installed: install it "
            "(Debian/Ubuntu: `sudo apt install bubblewrap`; Fedora: `sudo dnf install bubblewrap`), "
            "or pass --no-sandbox to grade trusted notebooks without any protection"
        )
    return path


def _hidden_folders(course_root: Path) -> list[Path]:
    folders = [Path("/tmp"), Path("/var/tmp"), Path("/run"), Path.home(), course_root]
    return [folder.resolve() for folder in folders if folder.exists()]


def _python_folders() -> list[Path]:
    """Where the interpreter and its packages live (the kernel needs every one of them)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return sorted({Path(path).resolve() for path in paths if Path(path).exists()})


def _course_package() -> Path:
    import course  # the kernel imports the course's helpers; the editable install points into the checkout

    return Path(course.__file__).resolve().parent


def _under(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _parents(folder: Path, hidden: list[Path]) -> list[str]:
    """Create the folders above a bind mount as traversable (bubblewrap would make them 0700, root's)."""
    arguments = []
    for parent in reversed(folder.parents):
        if _under(parent, hidden) and parent not in hidden:
            arguments += ["--perms", "0755", "--dir", str(parent)]
    return arguments


@dataclass
class Sandbox:
    """Builds the command that starts a kernel inside the box."""

    course_root: Path
    limits: Limits = field(default_factory=Limits)

    def command(self, kernel_argv: list[str], workdir: Path, sockets: Path, uid: int | None) -> list[str]:
        """``kernel_argv`` wrapped in bubblewrap, resource limits and (as root) a drop to ``uid``."""
        hidden = _hidden_folders(Path(self.course_root))
        wrapped = [bwrap_path(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for folder in hidden:
            if folder == Path("/tmp"):
                wrapped += ["--size", str(self.limits.tmp_bytes)]
            wrapped += ["--tmpfs", str(folder)]
        wrapped += ["--size", str(self.limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        for folder in [*_python_folders(), _course_package()]:
            if _under(folder, hidden):
                wrapped += _parents(folder, hidden) + ["--ro-bind", str(folder), str(folder)]
        for folder in (workdir, sockets):
            wrapped += _parents(folder, hidden) + ["--bind", str(folder), str(folder)]
        wrapped += [
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "grader", "--chdir", str(workdir),
            "--clearenv", *self._environment(workdir),
            "--",
        ]
        limits = self.limits
        wrapped += [
            shutil.which("prlimit") or "prlimit",
            f"--data={limits.memory_bytes}", f"--as={limits.address_space_bytes}",
            f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", "--core=0", "--",
        ]
        if uid is not None:
            wrapped += [
                shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            ]
        return wrapped + kernel_argv

    def _environment(self, workdir: Path) -> list[str]:
        threads = str(self.limits.threads_per_kernel)
        variables = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(workdir),
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "COURSE_DEVICE": "cpu",
            "NBGRADER_EXECUTION": "autograde",
        }
        pairs = []
        for name, value in variables.items():
            pairs += ["--setenv", name, value]
        return pairs


def runs_as_root() -> bool:
    return os.geteuid() == 0


def draw_uid_base() -> int:
    """A block of user ids for one grading run, so that two runs at once never share a process limit."""
    return SANDBOX_UID_BASE + secrets.randbelow(UID_BLOCKS) * UID_BLOCK_SIZE


def sandbox_uid(uid_base: int, unit_number: int) -> int | None:
    """The unprivileged user a submission's kernel runs as (None when the grader itself is not root).

    Each submission of a run has its own (units running at once are fewer than a block apart), so one
    student's fork bomb cannot use up another's process limit.
    """
    return uid_base + unit_number % UID_BLOCK_SIZE if runs_as_root() else None


def prepare_folder(folder: Path, uid: int | None) -> None:
    """Create ``folder`` so that the sandbox user (and only it, besides the grader) can write there."""
    folder.mkdir(parents=True, exist_ok=True)
    if uid is not None:
        os.chown(folder, uid, uid)
    folder.chmod(0o700)
