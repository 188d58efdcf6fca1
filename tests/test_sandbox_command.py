"""grader.sandbox's command line read as bubblewrap will: what the box binds, what it never binds, what it unshares
and which environment it hands on; no kernel is started (fast)."""

import os
import sys
from pathlib import Path

import pytest

from grader import sandbox
from grader.sandbox import ETC_PATHS, SYSTEM_FOLDERS, Limits, Sandbox, SandboxUnavailable, bound_folders

KERNEL = [sys.executable, "-m", "ipykernel_launcher", "-f", "connection.json"]
SECRET = "grader-secret-value"


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder with everything a student must not see: solutions, gradebook, other students' work."""
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    monkeypatch.setenv("GRADER_TOKEN", SECRET)
    root = tmp_path / "course"
    for path in ("solutions/01_lab/01_lab.ipynb", "submitted/other/01_lab/01_lab.ipynb", "autograded/x/01_lab/y",
                 "feedback/other/01_lab/01_lab.html", "labs/01_lab/01_lab.ipynb"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("hidden")
    (root / "gradebook.db").write_text("grades")
    return root


@pytest.fixture
def box(course, tmp_path):
    workdir, sockets = tmp_path / "unit" / "w0", tmp_path / "unit" / "s0"
    return Sandbox(course), workdir, sockets


def options(argv: list[str]) -> list[tuple[str, ...]]:
    """bubblewrap's part of the command as (option, arguments...) tuples."""
    arity = {"--ro-bind": 2, "--bind": 2, "--symlink": 2, "--tmpfs": 1, "--dir": 1, "--proc": 1, "--dev": 1,
             "--remount-ro": 1, "--perms": 1, "--size": 1, "--setenv": 2, "--hostname": 1, "--chdir": 1}
    start, end = argv.index("/usr/bin/bwrap") + 1, argv.index("--")
    found, index = [], start
    while index < end:
        option = argv[index]
        count = arity.get(option, 0)
        found.append((option, *argv[index + 1:index + 1 + count]))
        index += 1 + count
    return found


def binds(argv: list[str], kind: str) -> list[Path]:
    return [Path(option[1]) for option in options(argv) if option[0] == kind]


def shows(bound: Path, path: Path) -> bool:
    return path == bound or bound in path.parents


def test_nothing_of_the_course_is_bound_but_the_course_package(box, course):
    sandbox_, workdir, sockets = box
    argv = sandbox_.command(KERNEL, workdir, sockets, uid=None)
    hidden = [course / "solutions", course / "gradebook.db", course / "submitted" / "other", course / "autograded",
              course / "feedback", course / "labs", course]
    for bound in binds(argv, "--ro-bind") + binds(argv, "--bind"):
        assert not any(shows(bound, path) for path in hidden), f"{bound} shows the course"


def test_the_only_writable_host_folder_is_the_kernels_socket_folder(box):
    sandbox_, workdir, sockets = box
    argv = sandbox_.command(KERNEL, workdir, sockets, uid=None)
    assert binds(argv, "--bind") == [Path(os.path.abspath(sockets))]


def test_read_only_binds_are_the_system_the_python_installation_and_etc_allow_list(box):
    sandbox_, workdir, sockets = box
    allowed = [*map(Path, SYSTEM_FOLDERS), *map(Path, ETC_PATHS), *bound_folders()]
    for bound in binds(sandbox_.command(KERNEL, workdir, sockets, uid=None), "--ro-bind"):
        assert bound in allowed, f"{bound} is bound but not on the allow-list"
    assert Path("/etc") not in allowed and Path("/home") not in allowed and Path("/tmp") not in allowed


def test_the_network_and_the_other_namespaces_are_unshared_and_the_box_dies_with_the_grader(box):
    sandbox_, workdir, sockets = box
    names = {option[0] for option in options(sandbox_.command(KERNEL, workdir, sockets, uid=None))}
    assert {"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--new-session", "--clearenv"} <= names
    assert "--share-net" not in names and "--unshare-all" not in names


def test_bubblewrap_starts_with_an_empty_environment_and_the_kernel_gets_only_its_own(box):
    sandbox_, workdir, sockets = box
    argv = sandbox_.command(KERNEL, workdir, sockets, uid=None)
    assert argv[1] == "-i" and argv[0].endswith("env")
    launch = argv[2:argv.index("/usr/bin/bwrap")]
    assert launch == [f"{name}={value}" for name, value in Sandbox.launch_environment().items()]
    given = {option[1]: option[2] for option in options(argv) if option[0] == "--setenv"}
    assert given == sandbox_.kernel_environment(Path(os.path.abspath(workdir)))
    assert SECRET not in " ".join(argv)
    assert given["HOME"] == str(Path(os.path.abspath(workdir))) and given["PYTHONNOUSERSITE"] == "1"


def test_the_root_and_dev_are_remounted_read_only_last_and_tmp_is_mounted_before_any_bind(box):
    sandbox_, workdir, sockets = box
    steps = sandbox_.layout(workdir, sockets)
    assert (steps[-1].kind, steps[-1].target) == ("remount-ro", "/")
    assert any(step.kind == "remount-ro" and step.target == "/dev" for step in steps)
    tmp = next(index for index, step in enumerate(steps) if (step.kind, step.target) == ("tmpfs", "/tmp"))
    assert all(index > tmp for index, step in enumerate(steps) if step.kind in ("ro-bind", "bind")
               and step.target.startswith("/tmp"))


def test_every_writable_mount_is_a_size_capped_tmpfs(box):
    sandbox_, workdir, sockets = box
    limits = Limits()
    sizes = {step.target: step.size for step in sandbox_.layout(workdir, sockets) if step.kind == "tmpfs"}
    assert sizes == {"/dev/shm": limits.shm_bytes, "/tmp": limits.tmp_bytes,
                     str(Path(os.path.abspath(workdir))): limits.scratch_bytes}


def test_resource_limits_come_before_the_kernel_and_cores_are_off(box):
    sandbox_, workdir, sockets = box
    limits = Limits()
    argv = sandbox_.command(KERNEL, workdir, sockets, uid=None)
    assert argv[-len(KERNEL):] == KERNEL
    prlimit = argv[argv.index("--") + 1:]
    assert prlimit[0].endswith("prlimit")
    assert {f"--data={limits.memory_bytes}", f"--as={limits.address_space_bytes}", f"--nproc={limits.processes}",
            f"--fsize={limits.file_bytes}", "--core=0"} <= set(prlimit[:prlimit.index("--")])


def test_as_root_the_kernel_drops_to_its_own_user_without_any_privilege(box):
    sandbox_, workdir, sockets = box
    argv = sandbox_.command(KERNEL, workdir, sockets, uid=1_234_567)
    setpriv = next(index for index, part in enumerate(argv) if part.endswith("setpriv"))
    assert argv[setpriv + 1:argv.index("--", setpriv)] == [
        "--reuid=1234567", "--regid=1234567", "--clear-groups", "--no-new-privs", "--inh-caps=-all",
        "--bounding-set=-all"]
    assert argv[argv.index("--", setpriv) + 1:] == KERNEL
    assert not any(part.endswith("setpriv") for part in sandbox_.command(KERNEL, workdir, sockets, uid=None))


def test_a_course_inside_a_bound_folder_is_refused(course, tmp_path):
    inside_python = Path(sys.prefix).resolve() / "a-course"
    with pytest.raises(SandboxUnavailable, match="would show the course"):
        Sandbox(inside_python).layout(tmp_path / "w", tmp_path / "s")


def test_each_submission_of_a_run_has_its_own_user_and_none_without_root(monkeypatch):
    monkeypatch.setattr(sandbox, "runs_as_root", lambda: True)
    base = sandbox.draw_uid_base()
    uids = {sandbox.sandbox_uid(base, number) for number in range(200)}
    assert len(uids) == 200 and min(uids) >= sandbox.SANDBOX_UID_BASE
    monkeypatch.setattr(sandbox, "runs_as_root", lambda: False)
    assert sandbox.sandbox_uid(base, 3) is None


def test_a_kernels_folder_is_private_to_it(tmp_path):
    folder = tmp_path / "deep" / "w0"
    sandbox.prepare_folder(folder, uid=None)
    assert folder.stat().st_mode & 0o777 == 0o700
