"""The sandbox of ``grader autograde`` attacked from inside: what it shows and what it lets a program write, with
plain ``python -c`` (no Jupyter kernel, to stay fast); what it lets a program do to processes is
``tests/test_sandbox_processes.py``.

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
import os
import secrets
import sys
from pathlib import Path

import pytest

import course
from grader.sandbox import ETC_PATHS, MiB, Limits, Sandbox, bound_folders
from sandbox_box import CHECKOUT, FILL_CHUNK, LIMITS, OTHER_SOLUTION, box, templates  # noqa: F401 (fixtures)
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]


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
