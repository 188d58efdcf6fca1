"""Entering the sandbox from inside a process: what bubblewrap does for a cold kernel, done by a forked one.

A kernel forked from :mod:`grader.kernel_template` cannot be started through bubblewrap (that would start a
new interpreter and lose the imports it was forked for), so it builds the same box itself, from the same
:meth:`grader.sandbox.Sandbox.layout`, with the same system calls bubblewrap makes:

1. :func:`unshare_namespaces` (in the forked process): new mount, PID, network, IPC, UTS and cgroup
   namespaces; when the grader is not root, inside a new user namespace that maps only its own user;
2. :func:`build_root` (in the first process of the new PID namespace): every mount made private, the layout
   built on an empty tmpfs from the host's paths, then ``pivot_root`` into it and the host's tree detached;
3. :func:`confine`: resource limits, a session of its own, no capabilities (bounding set, ambient and
   inheritable included), ``no_new_privs``, and as root a drop to the submission's own user; then it reads
   back its own credentials from ``/proc/self/status`` and refuses to go on when any capability is left.

Everything here runs before any student code, in a process that holds nothing of other students. Between the
first ``pivot_root`` and the end of :func:`build_root` the interpreter's own files are out of sight: nothing
here may import a module lazily (an encoding's codec included).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
import resource
import socket
from pathlib import Path

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# system call numbers glibc has no wrapper for: pivot_root, keyctl
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219, "ppc64le": 271, "s390x": 280}
KEYCTL_JOIN_SESSION_KEYRING = 1
# statvfs's flags, and the mount flag each one is kept as when a bind is made read-only (a user namespace may
# not drop a flag the host set: the kernel refuses such a remount)
_KEPT_FLAGS = {os.ST_RDONLY: MS_RDONLY, os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                "stderr": "/proc/self/fd/2", "core": "/proc/kcore", "ptmx": "pts/ptmx"}
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")  # as bubblewrap: the kernel's knobs stay read-only
BASE, OLD_ROOT, NEW_ROOT = "/tmp", "/oldroot", "/newroot"

_libc = ctypes.CDLL(None, use_errno=True)


class EntryRefused(RuntimeError):
    """This machine lets no unprivileged process build the box (no user namespaces, an unknown CPU)."""


def _checked(result: int, what: str) -> int:
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda text: text.encode() if text is not None else None)
    _checked(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
             f"mount {source or fstype} on {target}")


def _prctl(option: int, argument: int) -> None:
    _checked(_libc.prctl(option, ctypes.c_ulong(argument), 0, 0, 0), f"prctl({option})")


def die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, 9)


# -- 1. namespaces ------------------------------------------------------------------------------------------


def unshare_namespaces(as_root: bool) -> None:
    """Leave every namespace of the template; ordinary users get a user namespace mapping their own ids."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    uid, gid = os.getuid(), os.getgid()
    if not as_root:
        flags |= CLONE_NEWUSER
    if _libc.unshare(flags) < 0:
        number = ctypes.get_errno()
        raise EntryRefused(f"unshare: {os.strerror(number)} (this machine allows no new namespaces here)")
    if not as_root:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


# -- 2. the file system -------------------------------------------------------------------------------------


def _mount_points_under(target: str) -> list[str]:
    """The mount points at or below ``target``, outermost first (from the host's /proc while the root is built)."""
    def unescape(field: str) -> str:  # mountinfo writes space, tab, newline and backslash as octal escapes
        return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)

    points = [unescape(line.split()[4]) for line in Path(OLD_ROOT + "/proc/self/mountinfo").read_text().splitlines()]
    return sorted({point for point in points if point == target or point.startswith(target.rstrip("/") + "/")},
                  key=len)


def _remount(target: str, extra_flags: int) -> None:
    """Remount a bind with ``extra_flags`` added to the flags it has."""
    kept = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | extra_flags
    for statvfs_flag, mount_flag in _KEPT_FLAGS.items():
        if kept & statvfs_flag:
            flags |= mount_flag
    _mount(None, target, None, flags)


def _bind(source: str, target: str, read_only: bool, devices: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        Path(target).touch()
    _mount(source, target, None, MS_BIND | MS_REC)
    extra = MS_NOSUID | (0 if devices else MS_NODEV) | (MS_RDONLY if read_only else 0)
    for point in _mount_points_under(target):  # every mount below the bind, as bubblewrap does
        _remount(point, extra)


def _make_dir(path: str, perms: int) -> None:
    os.makedirs(path, exist_ok=True)
    os.chmod(path, perms)


def _tmpfs(target: str, size: int, perms: int) -> None:
    _make_dir(target, 0o755)
    options = f"mode={perms:o}" + (f",size={size}" if size else "")
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)


def _dev(target: str) -> None:
    """bubblewrap's ``--dev``: a tmpfs with the harmless devices, their links and a pts of its own."""
    _tmpfs(target, 0, 0o755)
    for name in DEVICES:
        if os.path.exists(f"{OLD_ROOT}/dev/{name}"):
            _bind(f"{OLD_ROOT}/dev/{name}", f"{target}/{name}", read_only=False, devices=True)
    for name, link in DEVICE_LINKS.items():
        os.symlink(link, f"{target}/{name}")
    _make_dir(f"{target}/shm", 0o755)
    _make_dir(f"{target}/pts", 0o755)
    _mount("devpts", f"{target}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")


def _proc(target: str) -> None:
    _make_dir(target, 0o755)
    _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_READ_ONLY:
        if os.path.exists(f"{target}/{name}"):
            _bind(f"{target}/{name}", f"{target}/{name}", read_only=True)


def _syscall_number(table: dict, name: str) -> int:
    number = table.get(platform.machine())
    if number is None:
        raise EntryRefused(f"{name}'s system call number on {platform.machine()} is not known here")
    return number


def _pivot_root(new_root: str, put_old: str) -> None:
    _checked(_libc.syscall(ctypes.c_long(_syscall_number(_PIVOT_ROOT, "pivot_root")), new_root.encode(),
                           put_old.encode()), "pivot_root")


def fresh_session_keyring() -> None:
    """Leave the session keyring this process inherited (the grader's login may keep tokens there, and a key a box
    added would reach every later box) for a new, empty one of its own. A Linux built without keyrings has
    nothing to leave."""
    result = _libc.syscall(ctypes.c_long(_syscall_number(_KEYCTL, "keyctl")),
                           ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), ctypes.c_void_p(None))
    if result < 0 and ctypes.get_errno() != errno.ENOSYS:
        _checked(result, "keyctl")


def resolved_sources(steps: list[dict]) -> list[dict]:
    """The steps with every bind's source resolved on the host (call before :func:`build_root`)."""
    return [{**step, "source": os.path.realpath(step["source"])} if step["kind"] in ("ro-bind", "bind") else step
            for step in steps]


def build_root(steps: list[dict]) -> None:
    """Build ``steps`` (as :meth:`grader.sandbox.Sandbox.layout`, resolved) and make it the root.

    Must run in a new mount namespace, as the first process of a new PID namespace (for /proc).
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted from here on reaches the host
    _mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    _make_dir(BASE + OLD_ROOT, 0o755)
    _make_dir(BASE + NEW_ROOT, 0o755)
    _pivot_root(BASE, BASE + OLD_ROOT)
    os.chdir("/")
    _mount(NEW_ROOT, NEW_ROOT, None, MS_BIND | MS_REC)  # a mount of its own, so it can be made read-only
    for step in steps:
        target = NEW_ROOT + step["target"].rstrip("/")
        kind = step["kind"]
        if kind == "dir":
            _make_dir(target, step["perms"])
        elif kind == "symlink":
            os.symlink(step["source"], target)
        elif kind in ("ro-bind", "bind"):
            _bind(OLD_ROOT + step["source"], target, read_only=kind == "ro-bind")
        elif kind == "tmpfs":
            _tmpfs(target, step["size"], step["perms"])
        elif kind == "proc":
            _proc(target)
        elif kind == "dev":
            _dev(target)
        elif kind == "remount-ro":
            _remount(target or NEW_ROOT, MS_RDONLY | MS_NOSUID)
        else:
            raise ValueError(f"unknown step {kind!r}")
    _checked(_libc.umount2(OLD_ROOT.encode(), MNT_DETACH), "umount the host's tree")
    os.chdir(NEW_ROOT)
    _pivot_root(".", ".")
    _checked(_libc.umount2(b".", MNT_DETACH), "umount the base")
    os.chdir("/")


# -- 3. confinement -----------------------------------------------------------------------------------------


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _clear_capabilities() -> None:
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _checked(_libc.capset(ctypes.byref(header), data), "capset")


def _drop_bounding_set() -> None:
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _prctl(PR_CAPBSET_DROP, capability)


def confine(limits, uid: int | None, hostname: str) -> None:
    """Limits, a session, no privileges: as ``setpriv --reuid --no-new-privs --inh-caps=-all --bounding-set=-all``
    and ``prlimit`` do for a cold kernel. Raises when the process still holds any privilege afterwards.

    The process stays undumpable: it is the box's PID 1, and the student's code, running as the same user, must
    not ptrace it (it could clear its parent-death signal and outlive the box); the kernel it forks calls
    :func:`make_dumpable`."""
    socket.sethostname(hostname)
    os.setsid()
    fresh_session_keyring()
    for which, value in ((resource.RLIMIT_DATA, limits.memory_bytes), (resource.RLIMIT_AS, limits.address_space_bytes),
                         (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_FSIZE, limits.file_bytes),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    _drop_bounding_set()  # needs CAP_SETPCAP, so before the drop to the user
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _clear_capabilities()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)  # as root the change of user did this already; an ordinary user's did not
    _check_unprivileged(uid)


def make_dumpable() -> None:
    """The kernel's own /proc/self is its own (a cold kernel's exec does this after the change of user)."""
    _prctl(PR_SET_DUMPABLE, 1)


def _check_unprivileged(uid: int | None) -> None:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    held = {name: status[name].strip() for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
            if int(status[name], 16)}
    if held or status["NoNewPrivs"].strip() != "1":
        raise PermissionError(f"the box kept privileges: {held or 'no no_new_privs'}")
    if uid is not None and set(os.getresuid()) | set(os.getresgid()) != {uid}:
        raise PermissionError(f"the box runs as {os.getresuid()}, not as {uid}")
