"""A student server's memory and CPU, capped by a control group of its own (``course-server/<student>``), so that
one student's runaway training cannot starve the class: past its memory the server's biggest process is killed
(the kernel, usually), and its CPU time is throttled to its share.

cgroup v2 where the machine has it (``/sys/fs/cgroup/cgroup.controllers``), else v1's memory and cpu hierarchies.
The hub runs as root and makes the groups; the spawned process joins them before it execs (a ``preexec_fn``), so
everything it starts, kernels included, is counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "course-server"
CPU_PERIOD_US = 100_000


class LimitsUnavailable(Exception):
    """This machine does not let the hub make control groups; the message says why."""


@dataclass(frozen=True)
class ServerLimits:
    memory_bytes: int
    cpus: float

    @property
    def cpu_quota_us(self) -> int:
        return max(1000, int(self.cpus * CPU_PERIOD_US))


def cgroup_version(root: Path = CGROUP_ROOT) -> int:
    return 2 if (root / "cgroup.controllers").is_file() else 1


@dataclass(frozen=True)
class Groups:
    """Where one server's groups are: v1 keeps memory and CPU in two hierarchies, v2 in one folder."""

    version: int
    memory: Path
    cpu: Path

    @property
    def folders(self) -> list[Path]:
        return list(dict.fromkeys([self.memory, self.cpu]))

    def memory_file(self, v1_name: str, v2_name: str) -> Path:
        return self.memory / (v2_name if self.version == 2 else v1_name)


def groups_of(name: str, root: Path = CGROUP_ROOT) -> Groups:
    if cgroup_version(root) == 2:
        return Groups(2, root / PARENT / name, root / PARENT / name)
    return Groups(1, root / "memory" / PARENT / name, root / "cpu" / PARENT / name)


def prepare(name: str, limits: ServerLimits, root: Path = CGROUP_ROOT) -> list[Path]:
    """Make (or reset) ``name``'s groups with ``limits``; the ``cgroup.procs`` files a process joins them by."""
    groups = groups_of(name, root)
    try:
        if groups.version == 2:
            for parent in (root, root / PARENT):
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        for folder in groups.folders:
            folder.mkdir(parents=True, exist_ok=True)
        _write_limits(groups, limits)
    except OSError as error:
        raise LimitsUnavailable(f"cannot make a control group for {name} under {root} ({error.strerror}): run "
                                "the hub as root on a machine whose control groups are writable") from None
    return [folder / "cgroup.procs" for folder in groups.folders]


def _write_limits(groups: Groups, limits: ServerLimits) -> None:
    groups.memory_file("memory.limit_in_bytes", "memory.max").write_text(str(limits.memory_bytes))
    # swap is no way around the cap: v1 caps memory and swap together, v2 allows no swap
    swap = groups.memory_file("memory.memsw.limit_in_bytes", "memory.swap.max")
    if swap.exists():
        swap.write_text(str(limits.memory_bytes) if groups.version == 1 else "0")
    if groups.version == 2:
        (groups.cpu / "cpu.max").write_text(f"{limits.cpu_quota_us} {CPU_PERIOD_US}")
    else:
        (groups.cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
        (groups.cpu / "cpu.cfs_quota_us").write_text(str(limits.cpu_quota_us))


def joining(procs_files: list[Path]):
    """A ``preexec_fn`` that moves the new process into the groups (it runs in the child, before exec)."""
    paths = [str(path) for path in procs_files]  # no Path objects built in the forked child

    def join() -> None:
        for path in paths:
            with open(path, "w") as procs:
                procs.write(str(os.getpid()))

    return join


def memory_limit(name: str, root: Path = CGROUP_ROOT) -> int:
    """The memory cap ``name``'s group has now (for the instructors' check and the tests)."""
    return int(groups_of(name, root).memory_file("memory.limit_in_bytes", "memory.max").read_text())


def memory_used(name: str, root: Path = CGROUP_ROOT) -> int:
    """The memory ``name``'s server and its kernels hold now."""
    return int(groups_of(name, root).memory_file("memory.usage_in_bytes", "memory.current").read_text())


def members(name: str, root: Path = CGROUP_ROOT) -> list[int]:
    """The processes in ``name``'s memory group."""
    return [int(pid) for pid in (groups_of(name, root).memory / "cgroup.procs").read_text().split()]


def remove(name: str, root: Path = CGROUP_ROOT) -> None:
    """Remove ``name``'s groups once their processes are gone (a group still in use stays)."""
    for folder in groups_of(name, root).folders:
        try:
            folder.rmdir()
        except OSError:
            pass
