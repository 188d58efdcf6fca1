"""The sandbox of ``grader autograde`` attacked from inside, with plain ``python -c`` (no Jupyter kernel, to stay fast).

Every program runs in a fresh sandbox, started both ways the grader starts kernels:

- ``bubblewrap``: a new interpreter in the box ``Sandbox.command`` builds (a cold kernel);
- ``forked``: forked from a :class:`grader.kernel_template.KernelTemplate`, which has imported torch and the kit,
  and builds the same box itself (a warm kernel);

and in both of the grader's cases:

- ``root``: the grader runs as root and the program is dropped to a sandbox user of its own;
- ``ordinary user``: the grader runs as uid 65534. When the tests run as root, they become that user with
  ``setpriv`` inside an outer bubblewrap that only makes the Python installation reachable (it may live in
  root's home, as with pyenv, which that user cannot enter); the sandbox under test is the inner one.

The grader's environment holds a secret (``GRADER_SECRET``) that no program may find. The host folders of
a test (a fake other checkout of the kit, the working and socket folders) are world-readable, so only the
sandbox keeps the program out of them.
"""

import errno
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import course
from unittest import mock

from grader.kernel_template import KernelTemplate
from grader.sandbox import ETC_PATHS, MiB, Limits, Sandbox, bound_folders, draw_uid_base, prepare_folder
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

CHECKOUT = Path(__file__).resolve().parents[1]
ORDINARY_UID = 65534  # nobody, on Debian; setpriv needs no account for it
LIMITS = Limits()
FILL_CHUNK = 16 * MiB
OTHER_SOLUTION = "other-kit/solutions/01_lab/01_lab.ipynb"


class Box:
    """One sandbox case: where its host folders are and how a program is started in it."""

    def __init__(self, case: str, start: str, base: Path, templates):
        self.case, self.start, self.base, self.templates = case, start, base, templates
        self.workdir, self.sockets = base / "run" / "w0", base / "run" / "s0"
        self.secret = secrets.token_hex(16)
        as_root = os.geteuid() == 0
        self.uid = draw_uid_base() + 1 if case == "root" else None  # what the grader hands the sandbox
        owner = self.uid if case == "root" else (ORDINARY_UID if as_root else None)
        prepare_folder(self.workdir, owner)
        prepare_folder(self.sockets, owner)
        self.prefix = _become_ordinary_user() if case == "ordinary user" and as_root else []

    def run(self, program: str, parameters: dict | None = None, limits: Limits = LIMITS) -> dict:
        """Run ``program`` in the sandbox; its last line of output, as JSON."""
        argv = [json.dumps(parameters or {})]
        if self.start == "forked":
            template, self.secret = self.templates(self.case, self.prefix, limits)
            with tempfile.TemporaryFile("w+") as output:
                code = template.fork_box(self.workdir, self.sockets, self.uid, output,
                                         {"program": program, "argv": argv}).wait(120)
                output.seek(0)
                stdout = output.read()
        else:
            command = self.prefix + Sandbox(CHECKOUT, limits).command([sys.executable, "-c", program, *argv],
                                                                      self.workdir, self.sockets, self.uid)
            environment = {**os.environ, "GRADER_SECRET": self.secret}
            done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
            code, stdout = done.returncode, done.stdout + done.stderr
        assert code == 0, f"the program failed ({code}):\n{stdout}"
        return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def _become_ordinary_user() -> list[str]:
    """setpriv to uid 65534, in a mount namespace where the folders the sandbox binds are reachable."""
    outer = [shutil.which("bwrap"), "--dev-bind", "/", "/"]
    home = Path.home().resolve()
    hidden = [folder for folder in bound_folders() if home in folder.parents]
    if hidden:
        outer += ["--perms", "0755", "--tmpfs", str(home)]
        made = set()
        for folder in hidden:
            for parent in reversed(folder.parents):
                if home in parent.parents and parent not in made:
                    made.add(parent)
                    outer += ["--perms", "0755", "--dir", str(parent)]
            outer += ["--ro-bind", str(folder), str(folder)]
    return outer + ["--", shutil.which("setpriv"), f"--reuid={ORDINARY_UID}", f"--regid={ORDINARY_UID}",
                    "--clear-groups", "--"]


@pytest.fixture(scope="module")
def templates():
    """case, prefix, limits -> (a template started while the grader's environment held a secret, the secret)."""
    started = {}

    def template(case: str, prefix: list, limits: Limits):
        if (case, limits) not in started:
            secret = secrets.token_hex(16)
            with mock.patch.dict(os.environ, GRADER_SECRET=secret):
                started[case, limits] = KernelTemplate(Sandbox(CHECKOUT, limits), prefix=tuple(prefix)), secret
        return started[case, limits]

    yield template
    for running, _ in started.values():
        running.close()


@pytest.fixture(params=[("root", "bubblewrap"), ("ordinary user", "bubblewrap"), ("root", "forked"),
                        ("ordinary user", "forked")], ids=lambda param: "-".join(param))
def box(request, templates):
    case, start = request.param
    if case == "root" and os.geteuid() != 0:
        pytest.skip("the drop to a sandbox user of its own happens only when the grader runs as root")
    base = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    base.chmod(0o755)
    solution = base / OTHER_SOLUTION
    solution.parent.mkdir(parents=True)
    solution.write_text('{"answer": 42}')
    for folder in solution.relative_to(base).parents:  # readable by anyone on the host
        (base / folder).chmod(0o755)
    solution.chmod(0o644)
    yield Box(case, start, base, templates)
    shutil.rmtree(base, ignore_errors=True)


def _visible_names() -> dict[str, set[str]]:
    """folder -> the names the sandbox may show in it: the way down to what it binds or mounts."""
    names: dict[str, set[str]] = {}
    for path in [*bound_folders(), *map(Path, ETC_PATHS)]:
        for child in [path, *path.parents[:-1]]:
            names.setdefault(str(child.parent), set()).add(child.name)
    return names


READ = """
import json, os, sys
result = {}
for path in json.loads(sys.argv[1])["paths"]:
    try:
        result[path] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()
    except OSError as error:
        result[path] = os.strerror(error.errno)
print(json.dumps(result))
"""


def test_another_checkout_on_the_host_is_not_there(box):
    solution = box.base / OTHER_SOLUTION
    seen = box.run(READ, {"paths": [str(solution), str(box.base)]})
    assert seen[str(solution)] == os.strerror(errno.ENOENT)
    assert seen[str(box.base)] == ["run"]  # only the way down to the kernel's own folders


def test_the_checkout_shows_only_the_course_package(box):
    package = Path(__import__("course").__file__).resolve().parent
    files = [CHECKOUT / "README.md", CHECKOUT / "grader" / "sandbox.py", CHECKOUT / "pyproject.toml"]
    seen = box.run(READ, {"paths": [str(path) for path in files] + [str(CHECKOUT)]})
    for path in files:
        assert seen[str(path)] == os.strerror(errno.ENOENT), path
    if CHECKOUT in package.parents:  # the editable install: the package is bound, and the way down to it
        assert seen[str(CHECKOUT)] == [package.relative_to(CHECKOUT).parts[0]]
    else:
        assert seen[str(CHECKOUT)] == os.strerror(errno.ENOENT)


@pytest.mark.parametrize("folder", ["/root", "/home", "/work", "/srv", "/opt", "/mnt", "/media", "/var", "/run",
                                    "/etc", "/sys", "/boot"])
def test_host_folders_are_not_listed(box, folder):
    seen = box.run(READ, {"paths": [folder]})[folder]
    allowed = _visible_names().get(folder)
    if allowed is None:
        assert seen == os.strerror(errno.ENOENT)
    else:  # only what leads to the Python installation, the course package or the paths of ETC_PATHS
        assert isinstance(seen, list) and set(seen) <= allowed


SNOOP = """
import glob, json, os
readable = {}
for path in sorted(glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + ["/proc/1/environ"]):
    try:
        content = open(path, "rb").read()
    except OSError as error:
        readable[path] = os.strerror(error.errno)
        continue
    readable[path] = content.decode(errors="replace")
print(json.dumps({"environment": dict(os.environ), "proc": readable}))
"""


def test_the_graders_environment_is_not_readable(box):
    seen = box.run(SNOOP)
    assert "GRADER_SECRET" not in seen["environment"]
    leaks = [path for path, content in seen["proc"].items() if box.secret in content or "GRADER_SECRET" in content]
    assert leaks == []
    assert "/proc/1/cmdline" in seen["proc"]  # the snoop did see PID 1, bubblewrap or the box's first process
    pid_1 = seen["proc"]["/proc/1/environ"]
    if box.start == "forked":  # the box's first process runs as the program's user, but stays undumpable
        assert pid_1 == os.strerror(errno.EACCES)
    elif box.case == "root":  # bubblewrap runs as root, the program as its own user
        assert pid_1 == os.strerror(errno.EACCES)
    else:  # bubblewrap runs as the same user, so its environment is readable, and must be bare
        names = {pair.split("=", 1)[0] for pair in pid_1.split("\0") if pair}
        assert names == set(Sandbox.launch_environment())


FILL = """
import errno, json, os, sys
parameters = json.loads(sys.argv[1])
folder, name = parameters["folder"] or os.getcwd(), parameters["name"]
chunk, most = parameters["chunk"], parameters["most"]
written, error, index = 0, None, 0
try:
    while written < most:  # a broken cap stops here rather than filling the host
        with open(os.path.join(folder, f"{name}-{index}"), "wb") as handle:
            for _ in range(4):
                handle.write(b"x" * chunk)
                handle.flush()
                written += chunk
        index += 1
except OSError as failure:
    error = errno.errorcode[failure.errno]
print(json.dumps({"written": written, "error": error, "cwd": os.getcwd()}))
"""

WRITABLE = {"": LIMITS.scratch_bytes, "/tmp": LIMITS.tmp_bytes, "/dev/shm": LIMITS.shm_bytes}


@pytest.mark.parametrize("folder", ["", "/tmp", "/dev/shm", "/var/tmp", "/run", "/", "/dev", "/etc", "course",
                                    "python"], ids=lambda folder: folder or "work folder")
def test_writes_are_capped_and_stay_off_the_host(box, folder):
    package = str(Path(__import__("course").__file__).resolve().parent)
    place = {"course": package, "python": sys.prefix}.get(folder, folder)
    cap = WRITABLE.get(folder, 0)
    name = f"sandbox-fill-{secrets.token_hex(4)}"
    result = box.run(FILL, {"folder": place, "name": name, "chunk": FILL_CHUNK, "most": cap + 8 * FILL_CHUNK})
    host_folders = {"/tmp", "/dev/shm", "/var/tmp", "/run", "/", "/etc", place or str(box.workdir)}
    landed = [path for folder in host_folders if Path(folder).is_dir() for path in Path(folder).glob(f"{name}-*")]
    for path in landed:  # a broken sandbox's litter
        path.unlink()
    assert landed == []  # the work folder, /tmp and /dev/shm were tmpfs over the host's
    assert result["cwd"] == str(box.workdir)
    assert result["error"] is not None, f"wrote {result['written']} bytes into {place or 'the work folder'}"
    if cap:
        assert result["error"] == "ENOSPC" and cap - 4 * FILL_CHUNK <= result["written"] <= cap
    else:
        assert result["error"] in {"EROFS", "ENOENT", "EACCES", "EPERM"} and result["written"] == 0


def test_files_in_the_socket_folder_are_cut_at_the_file_size_limit(box):
    small = Limits(file_bytes=2 * MiB)
    name = "flood"
    result = box.run(FILL, {"folder": str(box.sockets), "name": name, "chunk": MiB, "most": 8 * MiB}, limits=small)
    assert result["error"] == "EFBIG"
    assert (box.sockets / f"{name}-0").stat().st_size == small.file_bytes


HONEST = """
import json, os
import matplotlib.pyplot as plt
import torch
import course
from course import backprop
torch.manual_seed(0)
model = torch.nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 3), torch.randn(64, 1)
losses = []
for _ in range(20):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
plt.plot(losses)
plt.savefig("losses.png")
notes = []
for folder in ["/tmp", "/dev/shm"]:
    with open(os.path.join(folder, "note.txt"), "w") as handle:
        handle.write("kept")
    notes.append(open(os.path.join(folder, "note.txt")).read())
print(json.dumps({"first": losses[0], "last": losses[-1], "cwd": os.getcwd(), "home": os.environ["HOME"],
                  "files": sorted(os.listdir(".")), "notes": notes, "threads": torch.get_num_threads(),
                  "course": os.path.dirname(course.__file__)}))
"""


def test_an_honest_program_imports_torch_and_the_course_and_trains(box):
    result = box.run(HONEST)
    assert result["last"] < result["first"]
    assert result["cwd"] == result["home"] == str(box.workdir)
    assert "losses.png" in result["files"] and result["notes"] == ["kept", "kept"]
    assert result["threads"] == LIMITS.threads_per_kernel
    assert result["course"] == str(Path(course.__file__).resolve().parent)  # the grader's own, wherever pip put one
    assert list(box.workdir.iterdir()) == []  # gone with the sandbox


PRIVILEGES = """
import ctypes, errno, json, os
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
libc = ctypes.CDLL(None, use_errno=True)
tries = {}
for name, call in [("setuid 0", lambda: os.setuid(0)), ("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
                   ("unshare net", lambda: libc.unshare(0x40000000)), ("chroot", lambda: os.chroot("/tmp"))]:
    try:
        result = call()
        tries[name] = "refused" if isinstance(result, int) and result < 0 else "allowed"
    except OSError:
        tries[name] = "refused"
print(json.dumps({"status": {name: status[name].strip() for name in
                             ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Uid")},
                  "tries": tries}))
"""


def test_the_program_holds_no_privilege(box):
    seen = box.run(PRIVILEGES)
    status = seen["status"]
    assert {name: int(status[name], 16) for name in ("CapInh", "CapPrm", "CapEff", "CapAmb")} == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapAmb"), 0)
    assert status["NoNewPrivs"] == "1"
    if box.case == "root" or box.start == "forked":
        assert int(status["CapBnd"], 16) == 0
    if box.case == "root":
        assert set(status["Uid"].split()) == {str(box.uid)}
    assert seen["tries"] == {"setuid 0": "refused", "mount": "refused", "unshare net": "refused", "chroot": "refused"}


NEIGHBOUR = """
import json, os, socket, sys, time
parameters = json.loads(sys.argv[1])
for folder in ("/tmp", "/dev/shm", "."):
    open(os.path.join(folder, "left-by-the-first"), "w").write("mine")
os.environ["LEFT_BY_THE_FIRST"] = "1"
listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listening.bind("\\0course-sandbox-test")  # abstract: no file, scoped by the network namespace
listening.listen()
open(os.path.join(parameters["sockets"], "ready"), "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(parameters["sockets"], "done")) and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"pid": os.getpid()}))
"""

LOOK_AROUND = """
import json, os, socket, sys
parameters = json.loads(sys.argv[1])
seen = {folder: sorted(os.listdir(folder)) for folder in ("/tmp", "/dev/shm", ".")}
seen["first's folder"] = os.path.exists(parameters["other"])
seen["environment"] = "LEFT_BY_THE_FIRST" in os.environ
seen["processes"] = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect("\\0course-sandbox-test")
    seen["abstract socket"] = "connected"
except OSError as error:
    seen["abstract socket"] = os.strerror(error.errno)
print(json.dumps(seen))
"""


def _forked_box(box, workdir: Path, sockets: Path, program: str, parameters: dict, output):
    template, _ = box.templates(box.case, box.prefix, LIMITS)
    return template.fork_box(workdir, sockets, box.uid, output, {"program": program, "argv": [json.dumps(parameters)]})


def test_boxes_forked_from_one_template_share_nothing(box):
    if box.start != "forked":
        pytest.skip("bubblewrap starts every box from nothing")
    first_sockets = box.base / "first" / "s0"
    prepare_folder(box.base / "first" / "w0", box.uid if box.case == "root" else (ORDINARY_UID if box.prefix else None))
    prepare_folder(first_sockets, box.uid if box.case == "root" else (ORDINARY_UID if box.prefix else None))
    with tempfile.TemporaryFile("w+") as output:
        first = _forked_box(box, box.base / "first" / "w0", first_sockets, NEIGHBOUR,
                            {"sockets": str(first_sockets)}, output)
        try:
            for _ in range(600):
                if (first_sockets / "ready").exists() or first.poll() is not None:
                    break
                time.sleep(0.05)
            assert (first_sockets / "ready").exists(), "the first box never got ready"
            seen = box.run(LOOK_AROUND, {"other": str(box.base / "first" / "w0" / "left-by-the-first")})
        finally:
            (first_sockets / "done").touch()
            first.wait(60)
    assert seen["/dev/shm"] == seen["."] == [] and "left-by-the-first" not in seen["/tmp"]
    assert not seen["first's folder"] and not seen["environment"]
    assert seen["abstract socket"] == os.strerror(errno.ECONNREFUSED)
    assert seen["processes"] == [1, 2]  # its own first process and itself: nothing of the first box


HEARTBEAT = """
import json, os, subprocess, sys, time
parameters = json.loads(sys.argv[1])
beat = os.path.join(parameters["sockets"], "heartbeat")
subprocess.Popen([sys.executable, "-c", f"import time\\nwhile True:\\n    open({beat!r}, 'a').write('.')\\n    time.sleep(0.05)"],
                 start_new_session=True)
time.sleep(60)
"""


def test_killing_a_box_ends_every_process_in_it(box):
    if box.start != "forked":
        pytest.skip("bubblewrap's own --die-with-parent and PID namespace do this for a cold kernel")
    beat = box.sockets / "heartbeat"
    with tempfile.TemporaryFile("w+") as output:
        running = _forked_box(box, box.workdir, box.sockets, HEARTBEAT, {"sockets": str(box.sockets)}, output)
        for _ in range(600):
            if beat.exists():
                break
            time.sleep(0.05)
        assert beat.exists(), "the background process never started"
        running.kill()
        running.wait(30)
    time.sleep(0.5)
    size = beat.stat().st_size
    time.sleep(1)
    assert beat.stat().st_size == size  # the detached child died with the box


PTRACE_FIRST_PROCESS = """
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
# PTRACE_SEIZE: the permission check of PTRACE_ATTACH, without stopping PID 1 (a stopped PID 1 would hang the box
# where the attack works); the tracee is let go when this program ends
attached = libc.ptrace(0x4206, 1, None, None)
result = "attached" if attached == 0 else errno.errorcode[ctypes.get_errno()]
try:
    open("/proc/1/mem", "rb").read(1)
    memory = "readable"
except OSError as error:
    memory = errno.errorcode[error.errno]
print(json.dumps({"ptrace": result, "memory": memory}))
"""


def test_the_boxs_first_process_cannot_be_taken_over(box, request):
    """Traced, PID 1 could be made to drop its parent-death signal and keep the box running after the grader
    killed it (found by an attack review of the forked boxes)."""
    if box.case == "ordinary user" and box.start == "bubblewrap":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "known: an ordinary user's bubblewrap runs PID 1 as the grader's own user, and dumpable; grade as root, "
            "or with warm kernels")))
    seen = box.run(PTRACE_FIRST_PROCESS)
    assert seen["ptrace"] == "EPERM" and seen["memory"] in ("EACCES", "EPERM")
