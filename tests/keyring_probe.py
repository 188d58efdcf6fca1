"""A grader whose session keyring holds a token (as a login with pam_keyinit leaves one) runs a one-cell notebook in a
cold kernel and in a warm one, exactly as ``grader autograde`` starts them; prints, as JSON, what each kernel saw
of the keyring. Run as a script by tests/test_kernel_template.py, so that the token stays out of pytest's own
process."""

import ctypes
import json
import platform
import sys
import tempfile
from pathlib import Path

import nbformat

from grader.kernel import SafeExecute, SandboxedKernelManager, stop_kernel
from grader.kernel_template import KernelTemplate
from grader.sandbox import Limits, Sandbox, draw_uid_base, prepare_folder, sandbox_uid

TOKEN = b"TOKEN-of-the-grader"
SYSCALLS = {"x86_64": {"add_key": 248, "keyctl": 250}, "aarch64": {"add_key": 217, "keyctl": 219}}
KEY_SPEC_SESSION_KEYRING = -3
# the kernel's cell: the keys of its session keyring, each one's payload or why it could not be read, and
# whether it may add one (which would reach later kernels if the keyring were shared)
READER = """
import ctypes, errno, json, platform
numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
def keyctl(*arguments):
    return libc.syscall(ctypes.c_long(numbers[1]), *[ctypes.c_long(a) if isinstance(a, int) else a for a in arguments])
buffer = ctypes.create_string_buffer(4096)
size = keyctl(11, -3, buffer, 4096)  # KEYCTL_READ of the session keyring: its key ids
keys = [int.from_bytes(buffer.raw[i:i + 4], "little") for i in range(0, max(size, 0), 4)]
payloads = []
for key in keys:
    value = ctypes.create_string_buffer(4096)
    read = keyctl(11, key, value, 4096)
    payloads.append(value.raw[:read].decode(errors="replace") if read >= 0 else errno.errorcode[ctypes.get_errno()])
print(json.dumps({"keys": keys, "payloads": payloads, "proc_keys": open("/proc/keys").read()}))
"""


def hold_a_token() -> None:
    numbers = SYSCALLS[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(ctypes.c_long(numbers["keyctl"]), ctypes.c_long(1), b"grader-login") >= 0  # join, by name
    assert libc.syscall(ctypes.c_long(numbers["add_key"]), b"user", b"grader-token", TOKEN,
                        ctypes.c_size_t(len(TOKEN)), ctypes.c_long(KEY_SPEC_SESSION_KEYRING)) >= 0


def kernel_saw(sandbox: Sandbox, template, base: Path) -> dict:
    uid = sandbox_uid(draw_uid_base(), 1)
    workdir, sockets = base / "w", base / "s"
    prepare_folder(workdir, uid)
    prepare_folder(sockets, uid)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(READER)])
    manager = SandboxedKernelManager(sandbox=sandbox, template=template, workdir=str(workdir), sockets=str(sockets),
                                     uid=uid, kernel_name="python3")
    executor = SafeExecute(timeout=60, kernel_name="python3", startup_timeout=60)
    try:
        executor.preprocess(notebook, {"metadata": {"path": str(workdir)}}, km=manager)
    finally:
        stop_kernel(executor, manager)
    text = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    return json.loads(text.strip().splitlines()[-1]) if text.strip() else {"outputs": notebook.cells[0].outputs}


def main() -> None:
    hold_a_token()
    sandbox = Sandbox(Path(sys.argv[1]), Limits())
    template = KernelTemplate(sandbox)
    seen = {}
    try:
        for kind, used in (("cold", None), ("warm", template)):
            seen[kind] = kernel_saw(sandbox, used, Path(tempfile.mkdtemp(prefix=f"keyring-{kind}-")))
    finally:
        template.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
