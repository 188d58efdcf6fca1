"""What a failed nbgrader run reports: its last traceback, which nbgrader logs well before its closing lines, then
the end of its log."""

from grader.workspace import failure_excerpt

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
