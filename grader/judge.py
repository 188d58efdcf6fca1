"""Grading a lab outside the student's interpreter.

A judged lab is graded in two steps. First the student's kernel runs the student's notebook with every test
cell left out: the student's code, and nothing of the tests. Then this judge, in the grader's own process,
runs the lab's cells that are not the student's, in order: the release's set-up cells, and every test cell
whole (the visible asserts and the hidden ones), in a namespace where each name an exercise asks for (the
functions and classes of the release's answer cells) stands for the student's object, left in the kernel
(:class:`grader.remote.Remote`). Calling it runs the student's code there and brings back plain data only.

So the expected values are computed here, by the lab's own references, and the comparisons are made here:
nothing the student's code does to its own interpreter (replacing ``torch.allclose``, rebinding ``torch``,
tensor subclasses, IPython hooks) reaches them, hidden test code never enters the kernel, and no student cell
runs after a hidden check has seen its inputs. A test's verdict is written into its cell as nbgrader reads
it: no output for full points, an error for none, a number for partial credit.
"""

from __future__ import annotations

import ast
import contextlib
import io
import random
import sys
import types
from dataclasses import dataclass, field

import torch
from nbformat import NotebookNode

from course import judging
from course.language import ENGLISH, speaking, tr
from grader import messages
from grader.notebooks import nbgrader_metadata
from grader.remote import RECOVERY_SECONDS, CallTimeout, KernelLink, KernelLost, Missing, Remote
from grader.translation import translated

MESSAGE_LIMIT = 600
MIN_STUDENT_TEXT = 4  # shorter strings the student's code sent are common words, not a message


class JudgeError(Exception):
    """The lab's own code failed in the judge (a set-up cell): the grader, not the student, is at fault."""


@dataclass(frozen=True)
class LabCell:
    """One cell of the release, as the judge sees it."""

    kind: str  # "setup", "answer" or "test"
    source: str = ""
    grade_id: str | None = None
    points: float = 0.0
    names: tuple = ()  # for an answer cell: the names it defines


@dataclass
class Verdict:
    grade_id: str
    points: float
    score: float
    message: str | None = None  # why it failed; None when it passed
    error_name: str = "AssertionError"


@dataclass
class Judgement:
    verdicts: dict = field(default_factory=dict)  # grade id -> Verdict
    lost: bool = False  # the kernel was lost during a test: the tests after it were not judged


def lab_cells(release: NotebookNode, locked_sources: dict, test_ids) -> list[LabCell]:
    """The release's cells in order; test cells with their full source (hidden part included)."""
    cells = []
    for cell in release.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_metadata(cell)
        grade_id = meta.get("grade_id")
        if meta.get("solution"):
            cells.append(LabCell("answer", names=defined_names(cell.source)))
        elif grade_id in test_ids:
            cells.append(LabCell("test", locked_sources.get(grade_id, cell.source), grade_id,
                                 float(meta.get("points", 0))))
        elif not meta:
            cells.append(LabCell("setup", cell.source))
    return cells


def defined_names(source: str) -> tuple:
    """The top-level functions, classes and variables a cell defines."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ()
    names = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
    return tuple(dict.fromkeys(names))


def judge(cells: list[LabCell], link: KernelLink, seconds_per_test: float, tests_to_run: set,
          language: str = ENGLISH) -> Judgement:
    """Run the lab's cells here against the student's kernel; a verdict for every test cell, its message in
    ``language`` (the submission's).

    Test cells not in ``tests_to_run`` are not run; only their imports, functions and classes are defined,
    which later tests may use. When the kernel is lost during a test, that test fails
    and the judging stops there (``Judgement.lost``): the caller may judge the rest against a fresh kernel.
    """
    judgement = Judgement()
    namespace = types.ModuleType("__main__")
    known_text = messages.lab_text([cell.source for cell in cells if cell.source])
    vars(namespace).update(messages.helpers(known_text, lambda: link.seen_text))
    wanted = [name for cell in cells if cell.kind == "answer" for name in cell.names]
    with _judge_process_state(namespace):
        student = _student_names(link, wanted)
        for cell in cells:
            if cell.kind == "setup":
                _run_setup(cell.source, namespace)
            elif cell.kind == "answer":
                for name in cell.names:
                    setattr(namespace, name, student.get(name, Missing(name)))
            elif cell.grade_id not in tests_to_run:
                _define_helpers(cell.source, namespace)
            else:
                link.start_test(seconds_per_test)
                judgement.verdicts[cell.grade_id] = _run_test(cell, namespace, link, language)
                if link.lost is not None:
                    judgement.lost = True
                    break
    return judgement


def _student_names(link: KernelLink, wanted: list) -> dict:
    """The notebook's objects for the names the exercises ask for; none when the notebook does not answer."""
    if not wanted or link.lost is not None:
        return {}
    link.start_test(RECOVERY_SECONDS * 2)
    try:
        found = link.globals(wanted)
    except Exception:  # noqa: BLE001 (whatever the notebook answered, it answers nothing)
        return {}
    if not isinstance(found, dict):
        return {}
    for name, value in found.items():
        if isinstance(value, Remote):
            value._label = name
    return found


@contextlib.contextmanager
def _judge_process_state(namespace: types.ModuleType):
    """The lab's set-up changes torch's global state (default dtype, seeds, threads); undo it afterwards.

    The namespace stands in as ``__main__`` while the judge runs, so that the lab's own classes pickle by
    name into the kernel, where the same set-up cells defined them.
    """
    saved = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_rng_state(), torch.get_num_threads(),
             random.getstate())
    main = sys.modules["__main__"]
    sys.modules["__main__"] = namespace
    try:
        # the lab's and the kit's messages are made in English, then put into the submission's language
        with judging.judge_mode(), speaking(ENGLISH), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        sys.modules["__main__"] = main
        dtype, grad, rng, threads, python_random = saved
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.set_rng_state(rng)
        torch.set_num_threads(threads)
        random.setstate(python_random)


def _run_setup(source: str, namespace: types.ModuleType) -> None:
    try:
        exec(compile(source, "<lab set-up>", "exec"), vars(namespace))  # noqa: S102 (the lab's own code)
    except Exception as error:
        raise JudgeError(f"a set-up cell of the lab failed in the judge: {type(error).__name__}: {error}") from error


def _define_helpers(source: str, namespace: types.ModuleType) -> None:
    definitions = [node for node in ast.parse(source).body if isinstance(node, (
        ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))]
    tree = messages.show_messages(ast.Module(definitions, type_ignores=[]))
    exec(compile(tree, "<test helpers>", "exec"), vars(namespace))  # noqa: S102


def _run_test(cell: LabCell, namespace: types.ModuleType, link: KernelLink, language: str) -> Verdict:
    verdict = Verdict(cell.grade_id, cell.points, cell.points)
    try:
        value = _execute(cell.source, cell.grade_id, namespace)
    except KeyboardInterrupt:  # the instructor's Ctrl-C: a student's code cannot raise it here (see remote)
        raise
    except BaseException as error:  # noqa: BLE001 (a failed test, whatever the lab's code raised)
        verdict.score = 0.0
        verdict.error_name = type(error).__name__ if not isinstance(error, (KernelLost, CallTimeout)) else (
            "TimeoutError" if isinstance(error, CallTimeout) else "KernelLost")
        verdict.message = _explained(error, cell, link.seen_text, language)
        return verdict
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        verdict.score = max(0.0, min(float(value), cell.points))  # nbgrader's partial credit
    return verdict


def _execute(source: str, grade_id: str, namespace: types.ModuleType):
    """Run a test cell; the value of its last line when that is an expression (nbgrader's partial credit)."""
    body = messages.show_messages(ast.parse(source)).body
    last = body.pop() if body and isinstance(body[-1], ast.Expr) else None
    exec(compile(ast.Module(body, type_ignores=[]), f"<test {grade_id}>", "exec"), vars(namespace))  # noqa: S102
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), f"<test {grade_id}>", "eval"), vars(namespace))  # noqa: S307


def _explained(error: BaseException, cell: LabCell, student_text: list, language: str) -> str:
    """What the failed check says (:mod:`grader.messages`) in ``language``, with any text the student's code sent
    cut out: both could carry hidden inputs into the feedback."""
    message = messages.shown_text(error, lambda text: translated(text, language))
    if not message:
        checked = ast.get_docstring(ast.parse(cell.source)) or ""
        first = checked.split("\n\n")[0].replace("\n", " ")
        message = tr("a check failed; this test checks: {first}").format(first=first) if first else tr(
            "a check failed")
        message = translated(message, language)
    for text in sorted({text for text in student_text if len(text) >= MIN_STUDENT_TEXT}, key=len, reverse=True):
        message = message.replace(text, "…")
    return message[:MESSAGE_LIMIT]


def verdict_outputs(verdict: Verdict) -> list[NotebookNode]:
    """The test cell's outputs as nbgrader's autograder reads them."""
    if verdict.message is not None:
        return [NotebookNode(output_type="error", ename=verdict.error_name, evalue=verdict.message,
                             traceback=[f"{verdict.error_name}: {verdict.message}"])]
    if verdict.score < verdict.points:
        return [NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                             data={"text/plain": repr(verdict.score)})]
    return []
