"""``grader autograde`` on a class of students who do everything wrong, graded in one parallel run.

Each student of the class below breaks something (a file, the test cells, the kernel, the sandbox, the
tests' honesty). Every one must get exactly the points of the exercises they really solved, with a
reason recorded, and nobody else's grade may move. The assignment is ``tests/probe_course.py``'s three
exercises, so the whole class grades in about a minute.
"""

import os

import nbformat
import pytest

from probe_course import (ANSWERS, ASSIGNMENT, HIDDEN_MARK, NOTEBOOK, WRONG, cell_index, ledger, make_course,
                          run_grader, scores, student_notebook, submit)
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

CELL_TIMEOUT = 5
SNOOP = '''\
import os, socket
attempts = {}
for name, path in [("solutions", "{root}/solutions/00_probe/00_probe.ipynb"),
                   ("gradebook", "{root}/gradebook.db"),
                   ("autograded", "{root}/autograded"),
                   ("others", "{root}/submitted/full/00_probe/00_probe.ipynb")]:
    try:
        os.listdir(path) if name == "autograded" else open(path, "rb").read(1)
        attempts[name] = "read"
    except OSError:
        attempts[name] = "blocked"
for name, path in [("write course", "{root}/evil.txt")]:
    try:
        with open(path, "w") as handle:
            handle.write("x")
        attempts[name] = "written" if os.path.exists(path) else "blocked"
    except OSError:
        attempts[name] = "blocked"
with open("/tmp/evil-{root_name}", "w") as handle:  # the sandbox's own /tmp: the test checks the host's
    handle.write("x")
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2).close()
    attempts["network"] = "reached"
except OSError:
    attempts["network"] = "blocked"
print(attempts)
if all(value == "blocked" for value in attempts.values()):
    def double(x):
        return 2 * x
'''

LEAK = """def negate(x):
    running_cell = get_ipython().user_ns["In"][-1]
    print(running_cell)
    raise ValueError(running_cell)"""

# Tricks that defeated checks run inside the student's kernel; judged outside it, each earns nothing.
ALWAYS_EQUAL = """class AlwaysEqual:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True
torch = AlwaysEqual()
"""
LYING_TENSOR = """import torch
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.all, torch.Tensor.__bool__):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def double(x):
    return x.as_subclass(Liar)
"""
DROPS_ASSERTS = """import ast, functools
class DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
DropAsserts.__module__ = "IPython.core.inputtransformer2"
shell = get_ipython()
shell.ast_transformers.append(DropAsserts())
shell.input_transformers_cleanup.append(functools.partial(lambda lines: [l for l in lines if "assert" not in l]))
original = shell.transform_ast
shell.transform_ast = lambda node: DropAsserts().visit(original(node))
"""
LOOKS_LIKE_LIBRARY = """import sys, torch
namespace = {}
exec(compile("def allclose(*args, **kwargs):\\n    return True", sys.prefix + "/lib/torch/functional.py", "exec"),
     namespace)
namespace["allclose"].__wrapped__ = torch.allclose
torch.allclose = namespace["allclose"]
torch.testing.assert_close = lambda *args, **kwargs: None
torch.equal = lambda *args, **kwargs: True
"""
# records every cell that runs, and prints it encoded at the end of the notebook
RECORDS_CELLS = """import base64
seen = []
get_ipython().events.register("pre_run_cell", lambda info: seen.append(info.raw_cell))
"""
PRINTS_RECORD = """
import sys
history = "\\n".join(seen) + "\\n".join(get_ipython().user_ns["In"])
frames = []
def negate(x):
    frames.append(repr(sys._getframe(1).f_code.co_consts) + repr(sys._getframe(1).f_locals))
    print(base64.b64encode("\\n".join(frames).encode()).decode())
    raise ValueError(base64.b64encode(("".join(frames) + history).encode()).decode())
print(base64.b64encode(history.encode()).decode())
print(history)
print(history[::-1])
from IPython.display import display
display({"text/plain": history.encode().hex()}, raw=True)
"""
# each of these earned points when the judge took back what the kernel sent beyond the answer
ZEROES_ITS_INPUT = """import torch
def double(x):  # the tests compute 2 * x after the call
    x.zero_()
    return torch.zeros_like(x)
"""
# a message nested 200,000 deep: orjson, jupyter_client's reader, crashed the grader's process on it
DEEP_MESSAGE = """shell = get_ipython()
deep = b'{"data": {"text/plain": ' + b"[" * 200_000 + b"]" * 200_000 + b'}, "metadata": {}}'
shell.kernel.session.send(shell.kernel.iopub_socket, "display_data", deep, parent=shell.kernel.get_parent())
"""
# the reply to the judge's first call (exercise 1's): 30 MB of empty lists, which cost 1.4 GB and a minute to read
COSTLY_REPLY = """import course.kernel_service as service
from IPython.display import publish_display_data
honest_serve, requests = service.serve, []
def serve():
    requests.append(None)
    if len(requests) != 2:  # the first is the judge's look-up of the notebook's names
        return honest_serve()
    publish_display_data({service.REPLY_MIME: '{"ok": true, "value": [' + "[]," * 10_000_000 + '[]]}'})
service.serve = serve
"""


def class_of(root):
    """student -> (files of the submission, expected {test id: points})."""
    solved = student_notebook(root, ANSWERS)
    full = {"ex1_tests": 10, "ex2_tests": 10, "ex3_tests": 10}
    zero = dict.fromkeys(full, 0)
    only_1 = {**zero, "ex1_tests": 10}
    all_but_2 = {**full, "ex2_tests": 0}

    def answers(base=ANSWERS, **changes):
        return student_notebook(root, {**base, **changes})

    tampered_tests = answers(ex1_answer=WRONG["ex1_answer"])  # and a test cell that passes anything:
    tampered_tests.cells[cell_index(tampered_tests, "ex1_tests")].source = "pass  # trust me"
    del tampered_tests.cells[cell_index(tampered_tests, "ex2_tests")]
    moved = tampered_tests.cells.pop(cell_index(tampered_tests, "ex3_tests"))
    tampered_tests.cells.insert(cell_index(tampered_tests, "ex3_answer"), moved)

    claims_guard = answers(ex2_answer="import time\ntime.sleep(30)\n" + ANSWERS["ex2_answer"])
    claims_guard.cells[cell_index(claims_guard, "ex2_answer")].metadata["grader_guard"] = True

    widgets = answers(ex1_answer="import ipywidgets as widgets\nfrom IPython.display import display\n"
                                 "slider = widgets.IntSlider(3)\ndisplay(slider)\n"
                                 "widgets.interact(lambda n: n * n, n=slider)\n" + ANSWERS["ex1_answer"])
    return {
        "full": ({NOTEBOOK: solved}, full),
        "blank": ({NOTEBOOK: student_notebook(root, {})}, zero),
        "partial": ({NOTEBOOK: student_notebook(root, {"ex1_answer": ANSWERS["ex1_answer"]})}, only_1),
        "empty-file": ({NOTEBOOK: b""}, zero),
        "invalid-json": ({NOTEBOOK: b'{"cells": [ {"cell_type": "code",'}, zero),
        "not-utf8": ({NOTEBOOK: nbformat_bytes(solved).replace(b"return 2", b"return \xff2")}, zero),
        "wrong-name": ({"my lab final.ipynb": solved}, full),
        "no-notebook": ({"answers.txt": b"I did it on paper"}, zero),
        "extra-files": ({NOTEBOOK: answers(WRONG), "torch.py": b"def allclose(*a, **k):\n    return True\n"
                         b"def equal(*a, **k):\n    return True\n"}, zero),
        "two-copies": ({NOTEBOOK: solved, f"{ASSIGNMENT} (1).ipynb": student_notebook(root, {})}, full),
        "edits-tests": ({NOTEBOOK: tampered_tests}, {**full, "ex1_tests": 0}),
        "patches-torch": ({NOTEBOOK: answers(WRONG, ex1_answer="import torch\ntorch.allclose = lambda *a, **k: "
                                             "True\ntorch.equal = lambda *a, **k: True\n" + WRONG["ex1_answer"])},
                          zero),
        "patches-helper": ({NOTEBOOK: answers(ex3_answer="import torch\ntorch.testing.assert_close = lambda *a, "
                                              "**k: None\n" + WRONG["ex3_answer"])}, {**full, "ex3_tests": 0}),
        "redefines-helper": ({NOTEBOOK: answers(ex2_answer="def assert_equal(actual, expected):\n    pass\n"
                                                + WRONG["ex2_answer"])}, all_but_2),
        "hides-errors": ({NOTEBOOK: answers(WRONG, ex1_answer="get_ipython().showtraceback = lambda *a, **k: "
                                            "None\n" + WRONG["ex1_answer"])}, zero),
        "rewrites-tests": ({NOTEBOOK: answers(WRONG, ex1_answer="get_ipython().input_transformers_cleanup."
                                              "append(lambda lines: [l for l in lines if 'assert' not in l])\n"
                                              + WRONG["ex1_answer"])}, zero),
        "endless-loop": ({NOTEBOOK: answers(ex2_answer="while True:\n    pass")}, all_but_2),
        "ignores-interrupt": ({NOTEBOOK: answers(ex2_answer="import signal\nsignal.signal(signal.SIGINT, "
                                                 "signal.SIG_IGN)\nwhile True:\n    pass")}, only_1),
        "memory-bomb": ({NOTEBOOK: answers(ex2_answer="hoard = []\nwhile True:\n    hoard.append(bytearray("
                                           "256 * 1024 ** 2))")}, all_but_2),
        "fork-bomb": ({NOTEBOOK: answers(ex2_answer="import os\nwhile True:\n    os.fork()")}, None),
        "os-exit": ({NOTEBOOK: answers(ex2_answer="import os\nos._exit(3)")}, only_1),
        # IPython's exit() stops the kernel 0.1 s later: the sleep makes that certain, unless the grader disarms it
        "ipython-exit": ({NOTEBOOK: answers(ex2_answer="exit()\nimport time\ntime.sleep(0.3)\n" + ANSWERS["ex2_answer"])},
                         full),
        "asks-input": ({NOTEBOOK: answers(ex2_answer="name = input('your name? ')\n" + ANSWERS["ex2_answer"])},
                       all_but_2),
        "sys-exit": ({NOTEBOOK: answers(ex2_answer="import sys\nsys.exit('bye')")}, all_but_2),
        "segfault": ({NOTEBOOK: answers(ex2_answer="import ctypes\nctypes.string_at(0)")}, only_1),
        "floods-output": ({NOTEBOOK: answers(ex1_answer="print('spam ' * (4 * 1024 ** 2))\n"
                                             + ANSWERS["ex1_answer"])}, full),
        "widgets": ({NOTEBOOK: widgets}, full),
        "leaks-tests": ({NOTEBOOK: answers(ex3_answer=LEAK)}, {**full, "ex3_tests": 0}),
        "always-equal": ({NOTEBOOK: answers(WRONG, ex3_answer=ALWAYS_EQUAL + WRONG["ex3_answer"])}, zero),
        "lying-tensor": ({NOTEBOOK: answers(WRONG, ex1_answer=LYING_TENSOR)}, zero),
        "drops-asserts": ({NOTEBOOK: answers(WRONG, ex1_answer=DROPS_ASSERTS + WRONG["ex1_answer"])}, zero),
        "fake-library": ({NOTEBOOK: answers(WRONG, ex1_answer=LOOKS_LIKE_LIBRARY + WRONG["ex1_answer"])}, zero),
        "records-cells": ({NOTEBOOK: answers(ex1_answer=RECORDS_CELLS + ANSWERS["ex1_answer"],
                                             ex3_answer=PRINTS_RECORD)}, {**full, "ex3_tests": 0}),
        "dies-when-called": ({NOTEBOOK: answers(ex1_answer="def double(x):\n    import os\n    os._exit(1)")},
                             {**full, "ex1_tests": 0}),
        "loops-when-called": ({NOTEBOOK: answers(ex2_answer="def square(x):\n    while True:\n        pass")},
                              all_but_2),
        "hangs-when-called": ({NOTEBOOK: answers(ex2_answer="def square(x):\n    import signal\n"
                                                 "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                 "    while True:\n        pass")}, all_but_2),
        "claims-guard-time": ({NOTEBOOK: claims_guard}, all_but_2),
        "zeroes-its-input": ({NOTEBOOK: answers(ex1_answer=ZEROES_ITS_INPUT)}, {**full, "ex1_tests": 0}),
        "deep-message": ({NOTEBOOK: answers(ex1_answer=DEEP_MESSAGE + ANSWERS["ex1_answer"])}, full),
        "costly-reply": ({NOTEBOOK: answers(ex3_answer=COSTLY_REPLY + ANSWERS["ex3_answer"])},
                         {**full, "ex1_tests": 0}),
        "snoop": ({NOTEBOOK: answers(ex1_answer=SNOOP.replace("{root}", str(root)).replace(
                  "{root_name}", root.name))}, full),
    }


def nbformat_bytes(notebook):
    import nbformat

    return nbformat.writes(notebook).encode()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("probe") / "course")
    students = class_of(root)
    for student, (files, _) in students.items():
        submit(root, student, files)
    submit(root, "full", {}).parent.parent.joinpath("full", "99_not_released").mkdir()
    result = run_grader(root, "autograde", "--jobs", "2", "--timeout", str(CELL_TIMEOUT), "--no-progress")
    return root, students, result


def test_the_run_finishes_and_reports_every_student(graded_class):
    root, students, result = graded_class
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for student in students:
        assert f"{ASSIGNMENT} {student}:" in result.stdout
    assert "skipped  99_not_released full: no such assignment was released" in result.stdout
    assert f"{len(students)} graded, 0 already graded, 1 skipped, 0 grader errors" in result.stdout


@pytest.mark.parametrize("student", [
    "full", "blank", "partial", "empty-file", "invalid-json", "not-utf8", "wrong-name", "no-notebook",
    "extra-files", "two-copies", "edits-tests", "patches-torch", "patches-helper", "redefines-helper",
    "hides-errors",
    "rewrites-tests", "endless-loop", "ignores-interrupt", "memory-bomb", "os-exit", "ipython-exit",
    "asks-input", "sys-exit", "segfault",
    "floods-output", "widgets", "snoop", "leaks-tests", "always-equal", "lying-tensor", "drops-asserts",
    "fake-library", "records-cells", "dies-when-called", "loops-when-called", "hangs-when-called",
    "claims-guard-time", "zeroes-its-input", "deep-message", "costly-reply"])
def test_each_student_gets_exactly_the_points_earned(graded_class, student):
    root, students, _ = graded_class
    expected = students[student][1]
    assert scores(root)[student] == expected, ledger(root, student)["notes"]


def test_a_fork_bomb_costs_only_its_own_exercise(graded_class):
    root, _, _ = graded_class
    got = scores(root)["fork-bomb"]
    assert got["ex1_tests"] == 10 and got["ex2_tests"] == 0


REASONS = {
    "empty-file": "is empty",
    "invalid-json": "is not valid JSON (line 1",
    "not-utf8": "is not UTF-8 text (byte 0xff",
    "no-notebook": "no notebook named 00_probe.ipynb in the submission (found: answers.txt)",
    "wrong-name": "graded my lab final.ipynb in its place",
    "extra-files": "extra files ignored (the kernel does not see them): torch.py",
    "two-copies": "extra files ignored (the kernel does not see them): 00_probe (1).ipynb",
    "edits-tests": "cell ex2_tests was deleted: put back",
    "ignores-interrupt": "did not stop when interrupted",
    "os-exit": "kernel lost: the kernel died",
    "segfault": "kernel lost: the kernel died",
    "floods-output": "was cut to 64 KB",
    "endless-loop": f"ran past the {CELL_TIMEOUT} s limit",
}


@pytest.mark.parametrize("student", sorted(REASONS))
def test_the_reason_is_recorded(graded_class, student):
    root, _, _ = graded_class
    record = ledger(root, student)
    reasons = [*record["rejected"].values(), *(note for notes in record["notes"].values() for note in notes)]
    assert any(REASONS[student] in reason for reason in reasons), reasons


def test_the_kernel_never_saw_a_hidden_test(graded_class):
    """The student recorded every cell that ran in the kernel and printed the record: it holds the student's
    own cells and none of the hidden tests, which ran in the judge."""
    root, _, _ = graded_class
    graded = nbformat.read(str(root / "autograded" / "records-cells" / ASSIGNMENT / NOTEBOOK), as_version=4)
    printed = "".join(output.get("text", "") for cell in graded.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert 'get_ipython().events.register("pre_run_cell"' in printed
    assert HIDDEN_MARK not in printed and HIDDEN_MARK[::-1] not in printed


def test_the_edited_tests_were_graded_as_released(graded_class):
    root, _, _ = graded_class
    notes = ledger(root, "edits-tests")["notes"][NOTEBOOK]
    assert "cell ex1_tests was edited: the original was graded" in notes
    assert "cells were moved: graded in the released order" in notes


def test_the_sandbox_hid_the_course_and_the_network(graded_class):
    root, _, _ = graded_class
    assert scores(root)["snoop"] == {"ex1_tests": 10, "ex2_tests": 10, "ex3_tests": 10}
    assert not (root / "evil.txt").exists() and not os.path.exists(f"/tmp/evil-{root.name}")


def test_a_flood_of_output_is_not_kept(graded_class):
    root, _, _ = graded_class
    assert (root / "autograded" / "floods-output" / ASSIGNMENT / NOTEBOOK).stat().st_size < 1024 ** 2


def test_feedback_shows_points_and_errors_but_no_hidden_test(graded_class):
    root, students, _ = graded_class
    result = run_grader(root, "feedback")
    assert result.returncode == 0, result.stderr
    pages = {student: (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
             for student in students}
    for student, page in pages.items():
        assert HIDDEN_MARK not in page, student
    assert "Score: 0.0 / 10.0" in pages["partial"] and "NotImplementedError" in pages["partial"]
    assert "could not be graded: invalid-json" not in pages["invalid-json"]
    assert "is not valid JSON" in pages["invalid-json"]
    assert "kernel lost" in pages["os-exit"]


def test_export_lists_every_student_with_the_total(graded_class):
    root, students, _ = graded_class
    result = run_grader(root, "export", "--out", "-")
    assert result.returncode == 0, result.stderr
    rows = {line.split(",")[0]: line.split(",") for line in result.stdout.splitlines()[1:]}
    for student, (_, expected) in students.items():
        if expected is not None:
            assert float(rows[student][4]) == sum(expected.values()), student


def test_an_unknown_student_is_skipped_with_roster_only(graded_class):
    root, students, _ = graded_class
    before = scores(root)
    submit(root, "stranger", {NOTEBOOK: student_notebook(root, ANSWERS)})
    result = run_grader(root, "autograde", "--roster-only", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"skipped  {ASSIGNMENT} stranger: not a student in gradebook.db" in result.stdout
    assert f"0 graded, {len(students)} already graded" in result.stdout
    assert scores(root) == before
