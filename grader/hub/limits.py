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


def prepare(name: str, limits: ServerLimits, root: Path = CGROUP_ROOT) -> list[Path]:
    """Make (or reset) ``name``'s groups with ``limits``; the ``cgroup.procs`` files a process joins them by."""
    try:
        if cgroup_version(root) == 2:
            return [_prepare_v2(root, name, limits)]
        return _prepare_v1(root, name, limits)
    except OSError as error:
        raise LimitsUnavailable(f"cannot make a control group for {name} under {root} ({error.strerror}): run "
                                "the hub as root on a machine whose control groups are writable") from None


def _prepare_v2(root: Path, name: str, limits: ServerLimits) -> Path:
    parent = root / PARENT
    parent.mkdir(exist_ok=True)
    (root / "cgroup.subtree_control").write_text("+memory +cpu")
    (parent / "cgroup.subtree_control").write_text("+memory +cpu")
    group = parent / name
    group.mkdir(exist_ok=True)
    (group / "memory.max").write_text(str(limits.memory_bytes))
    if (group / "memory.swap.max").exists():  # swap is no way around the cap
        (group / "memory.swap.max").write_text("0")
    (group / "cpu.max").write_text(f"{limits.cpu_quota_us} {CPU_PERIOD_US}")
    return group / "cgroup.procs"


def _prepare_v1(root: Path, name: str, limits: ServerLimits) -> list[Path]:
    memory, cpu = root / "memory" / PARENT / name, root / "cpu" / PARENT / name
    for group in (memory, cpu):
        group.mkdir(parents=True, exist_ok=True)
    (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
    swap = memory / "memory.memsw.limit_in_bytes"
    if swap.exists():  # memory and swap together, so that swap is no way around the cap
        swap.write_text(str(limits.memory_bytes))
    (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
    (cpu / "cpu.cfs_quota_us").write_text(str(limits.cpu_quota_us))
    return [memory / "cgroup.procs", cpu / "cgroup.procs"]


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
    if cgroup_version(root) == 2:
        return int((root / PARENT / name / "memory.max").read_text())
    return int((root / "memory" / PARENT / name / "memory.limit_in_bytes").read_text())


def remove(name: str, root: Path = CGROUP_ROOT) -> None:
    """Remove ``name``'s groups once their processes are gone (a group still in use stays)."""
    groups = [root / PARENT / name] if cgroup_version(root) == 2 else [root / "memory" / PARENT / name,
                                                                         root / "cpu" / PARENT / name]
    for group in groups:
        try:
            group.rmdir()
        except OSError:
            pass
