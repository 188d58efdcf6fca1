"""What a failed nbgrader run reports: its last traceback, which nbgrader logs well before its closing lines, then
the end of its log."""

from concurrent.futures import ThreadPoolExecutor

import nbformat

from grader.workspace import failure_excerpt, temporary_workspace

OTHER_STUDENTS = [f"[AutogradeApp | INFO] grading student-{n}" for n in range(1, 60)]
TRACEBACK = ["Traceback (most recent call last):", '  File "x.py"', "zmq.error.ZMQError: Address already in use"]
CLOSING = "[AutogradeApp | ERROR] There was an error processing assignment 'lab' for student 'student-0'"


def test_the_traceback_comes_first_then_the_end_of_the_log():
    log = ["[AutogradeApp | INFO] grading student-0", *TRACEBACK, *OTHER_STUDENTS, CLOSING]
    excerpt = failure_excerpt(log)
    assert excerpt[:3] == TRACEBACK
    assert excerpt[-1] == CLOSING and len(excerpt) < 25


def test_without_a_traceback_the_end_of_the_log():
    log = [*OTHER_STUDENTS, CLOSING]
    assert failure_excerpt(log) == log[-15:]


def test_side_by_side_runs_talk_to_their_kernels_over_unix_sockets():
    """Two autogrades at once, as grader.mutants' shards run: a TCP port picked free by one nbgrader can be taken
    by the other's kernel before its own kernel binds it ("Address already in use"); Unix sockets in a folder of
    each run's own cannot collide. The graded cell reads the transport its kernel was started with."""
    check = ("from ipykernel.connect import get_connection_info\n"
             "assert get_connection_info(unpack=True)['transport'] == 'ipc'")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(check, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "transport",
        "schema_version": 3}})])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with temporary_workspace(threads=1) as first, temporary_workspace(threads=1) as second:
        for workspace in (first, second):
            folder = workspace.source("toy")
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / "toy.ipynb")
            workspace.generate()
            workspace.submit("student", "toy", {"toy.ipynb": notebook})
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda workspace: workspace.autograde("toy"), (first, second)))
        assert [workspace.scores("toy", "student") for workspace in (first, second)] == [{"transport": (1.0, 1.0)}] * 2
