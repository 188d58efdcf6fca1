"""The box a student's kernel runs in: an allow-list of read-only folders, no network, capped RAM and processes.

The kernel is started through bubblewrap (``bwrap``, the sandbox Flatpak uses) on an empty root, in new
mount, network, PID, IPC and UTS namespaces. What it sees:

- read-only: the system folders (``SYSTEM_FOLDERS``, as links where the host links them), the few paths of
  ``/etc`` in ``ETC_PATHS``, the Python installation (:func:`_python_folders`) and the ``course`` package
  folder; nothing else of the host (not the checkout, the grader's home, ``/tmp``, ``/srv``, ``/opt``, ...),
  so no solutions, gradebook, other students' notebooks or other checkouts; ``/`` itself is read-only;
- a fresh ``/dev`` (read-only, besides the devices) and a ``/proc`` of its own PID namespace;
- writable, each a size-capped tmpfs (RAM, gone with the kernel): its working folder (mounted at the path the
  grader gave, so its cwd stays that path), ``/tmp`` and ``/dev/shm``;
- writable on the host's disk: only the folder of its connection sockets, which the grader must reach;
- no network interface up, so nothing is reachable (connect fails with errno 101);
- resource limits: data segment and address space (a memory bomb gets ``MemoryError``), processes and
  threads (a fork bomb gets ``BlockingIOError``), file size, no core dumps;
- when the grader runs as root, the kernel runs as an unprivileged user of its own (one per submission,
  so one student's fork bomb cannot use up another's process limit), with no capabilities and
  ``no_new_privs``.

bubblewrap itself is started with :meth:`Sandbox.launch_environment` only (``env -i``), because PID 1 of
the sandbox is bubblewrap: run by an ordinary user, the kernel may read its ``/proc/1/environ``, which
must not hold the grader's secrets. The PID namespace dies with the kernel, and every process in it.

What remains: the socket folder lies on the host's disk; the kernel can create files there, each cut at
``Limits.file_bytes`` (RLIMIT_FSIZE), but not their number (there is no quota). And the caps on RAM are per
mapping and per tmpfs, not a cgroup: memory the kernel gets otherwise (memfd, pipes, a tmpfs of its own
inside a nested user namespace, which an unprivileged uid may create) is bounded by the host alone.
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

# the interpreter, its shared libraries and the tools the kernel may call (/bin, /lib are links on merged-/usr)
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# all of /etc the kernel gets (found by tracing torch, matplotlib, IPython and ipykernel): the dynamic
# loader's index, the time zone, and fontconfig's settings (matplotlib runs fc-list, whose complaint
# without them would land in the student's output); no passwd (the sandbox user of a root grader has no
# entry anyway), no resolver files (there is no network)
ETC_PATHS = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
HOSTNAME = "grader"


class SandboxUnavailable(Exception):
    """This machine cannot start the sandbox; the message says what to install."""


@dataclass(frozen=True)
class Limits:
    """What one student's kernel may use.

    RLIMIT_DATA does not count the pages of the tmpfs folders, so through its heap and those folders a kernel
    holds at most ``memory_bytes`` plus the three tmpfs caps (2 GiB + 384 MiB by default).
    """

    memory_bytes: int = 2 * GiB  # RLIMIT_DATA: heap and anonymous mappings, what a memory bomb grows
    address_space_bytes: int = 8 * GiB  # RLIMIT_AS: must leave room for the gigabytes of libraries torch maps
    processes: int = 256  # RLIMIT_NPROC counts threads too; torch and ipykernel start a few dozen
    file_bytes: int = 256 * MiB  # RLIMIT_FSIZE, for any single file the kernel writes, in any folder
    scratch_bytes: int = 256 * MiB  # the kernel's working folder (a tmpfs: RAM)
    tmp_bytes: int = 64 * MiB  # /tmp (a tmpfs)
    shm_bytes: int = 64 * MiB  # /dev/shm (a tmpfs): torch's DataLoader workers hand tensors over there
    threads_per_kernel: int = 1  # OMP/MKL threads; grader.autograde sets it from the cores and the jobs
    # RLIMIT_DATA of the grader's process for one submission: the judge's comparisons of answers whose sizes the
    # student chose (a broadcast of two long vectors) fail that test instead of exhausting the machine
    grading_process_bytes: int = 6 * GiB


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "student code runs inside bubblewrap, which is not installed: install it "
            "(Debian/Ubuntu: `sudo apt install bubblewrap`; Fedora: `sudo dnf install bubblewrap`), "
            "or pass --no-sandbox to grade trusted notebooks without any protection"
        )
    return path


def _python_folders() -> list[Path]:
    """Where the interpreter and its packages live (the kernel needs every one of them).

    The user's site-packages is left out: the kernel runs with PYTHONNOUSERSITE.
    """
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    return sorted({Path(path).resolve() for path in paths if Path(path).exists()})


def _course_package() -> Path:
    import course  # the kernel imports the course's helpers; the editable install points into the checkout

    return Path(course.__file__).resolve().parent


def _under(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _parents(path: Path, made: set[Path]) -> list["Step"]:
    """Create the folders above a mount point as traversable (bubblewrap would make them 0700, root's)."""
    steps = []
    for parent in reversed(path.parents[:-1]):  # outermost first, without /
        if parent not in made:
            made.add(parent)
            steps.append(Step("dir", str(parent)))
    return steps


def _system_folders() -> list[Path]:
    return [Path(folder).resolve() for folder in SYSTEM_FOLDERS if os.path.isdir(folder)]


def bound_folders() -> list[Path]:
    """The host folders bound read-only into the sandbox besides the system ones, outermost only."""
    folders: list[Path] = []
    system = _system_folders()
    for folder in sorted([*_python_folders(), _course_package()], key=lambda path: len(path.parts)):
        if not _under(folder, system + folders):
            folders.append(folder)
    return folders


@dataclass(frozen=True)
class Step:
    """One part of the sandbox's file system, built in order on an empty root.

    ``kind`` is one of: ``dir`` (a folder, ``perms``), ``symlink`` (``target`` -> ``source``), ``ro-bind`` and
    ``bind`` (a host path, read-only or writable), ``tmpfs`` (``size`` bytes, ``perms``), ``proc``, ``dev``
    (bubblewrap's minimal /dev) and ``remount-ro``. bubblewrap builds it (:meth:`Sandbox.command`), and so
    does :mod:`grader.sandbox_entry` in a kernel forked from a template.
    """

    kind: str
    target: str
    source: str = ""
    size: int = 0
    perms: int = 0o755


@dataclass
class Sandbox:
    """What the box holds, and the command that starts a kernel inside it."""

    course_root: Path  # none of it is bound, but for the course package (checked in ``layout``)
    limits: Limits = field(default_factory=Limits)

    def layout(self, workdir: Path, sockets: Path) -> list[Step]:
        """The file system of one kernel's box, in the order it is built."""
        workdir, sockets = Path(os.path.abspath(workdir)), Path(os.path.abspath(sockets))
        folders = bound_folders()
        exposed = [folder for folder in _system_folders() + folders
                   if _under(Path(self.course_root).resolve(), [folder])]
        if exposed:
            raise SandboxUnavailable(f"binding {exposed[0]} into the sandbox would show the course at "
                                     f"{self.course_root}; install Python and the kit outside the course")
        limits = self.limits
        steps = []
        for folder in SYSTEM_FOLDERS:
            if os.path.islink(folder):  # merged /usr: /bin -> usr/bin, kept a link as on the host
                steps.append(Step("symlink", folder, source=os.readlink(folder)))
            elif os.path.isdir(folder):
                steps.append(Step("ro-bind", folder, source=folder))
        steps += [
            Step("proc", "/proc"), Step("dev", "/dev"),
            Step("tmpfs", "/dev/shm", size=limits.shm_bytes, perms=0o1777),
            Step("remount-ro", "/dev"),  # as an ordinary user the /dev tmpfs would be the kernel's to fill
            # before the binds, so that it covers none (a Python installation or the sockets may lie in /tmp)
            Step("tmpfs", "/tmp", size=limits.tmp_bytes, perms=0o1777),
        ]
        made = {Path("/tmp")}
        for name in ETC_PATHS:
            if os.path.exists(name):
                steps += _parents(Path(name), made) + [Step("ro-bind", name, source=name)]
        for folder in folders:
            steps += _parents(folder, made) + [Step("ro-bind", str(folder), source=str(folder))]
        # 01777 because, as root, the tmpfs is root's; the sockets stay the host's folder, since the grader
        # connects to them (see the top)
        steps += _parents(workdir, made) + [
            Step("tmpfs", str(workdir), size=limits.scratch_bytes, perms=0o1777)]
        steps += _parents(sockets, made) + [Step("bind", str(sockets), source=str(sockets))]
        # last: the empty root is a tmpfs, writable by an ordinary user's kernel
        return steps + [Step("remount-ro", "/")]

    def command(self, kernel_argv: list[str], workdir: Path, sockets: Path, uid: int | None) -> list[str]:
        """``kernel_argv`` wrapped in bubblewrap, resource limits and (as root) a drop to ``uid``."""
        # the paths as the grader gave them (not resolved): its cwd and the connection file name them so
        workdir = Path(os.path.abspath(workdir))
        limits = self.limits
        environment = [f"{name}={value}" for name, value in self.launch_environment().items()]
        wrapped = [shutil.which("env") or "/usr/bin/env", "-i", *environment, bwrap_path()]
        for step in self.layout(workdir, sockets):
            wrapped += _bwrap_arguments(step)
        wrapped += [
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", HOSTNAME, "--chdir", str(workdir),
            "--clearenv",
        ]
        for name, value in self.kernel_environment(workdir).items():
            wrapped += ["--setenv", name, value]
        wrapped += [
            "--",
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

    @staticmethod
    def launch_environment() -> dict[str, str]:
        """All the environment bubblewrap is started with: nothing of the grader's (see the top)."""
        return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

    def kernel_environment(self, workdir: Path) -> dict[str, str]:
        """All the environment the kernel gets."""
        threads = str(self.limits.threads_per_kernel)
        return {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(workdir),
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            # the course package bound here, the grader's own, before any other install of it the interpreter knows
            "PYTHONPATH": str(_course_package().parent),
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "COURSE_DEVICE": "cpu",
            "NBGRADER_EXECUTION": "autograde",
        }


def _bwrap_arguments(step: Step) -> list[str]:
    if step.kind == "tmpfs":
        return ["--perms", f"0{step.perms:o}", "--size", str(step.size), "--tmpfs", step.target]
    if step.kind == "dir":
        return ["--perms", f"0{step.perms:o}", "--dir", step.target]
    if step.kind in ("symlink", "ro-bind", "bind"):
        return [f"--{step.kind}", step.source, step.target]
    return [f"--{step.kind}", step.target]  # proc, dev, remount-ro


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
