"""grader.judge's verdicts, with the student's objects standing in this process (fast: no kernel): what a test's
outcome scores, what its failure may say, and what a student's answer cannot do to either."""

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.judge import MESSAGE_LIMIT, LabCell, defined_names, judge, lab_cells, verdict_outputs
from grader.remote import KernelLost, Missing


class LocalLink:
    """The judge's link to a "kernel" whose objects are this process's: ``found`` is what the notebook defines."""

    def __init__(self, found=None, sent_text=(), lose_on=None):
        self.found, self.sent_text, self.lose_on = found or {}, list(sent_text), lose_on
        self.lost = None
        self.seen_text = []

    def start_test(self, seconds):
        self.seen_text = list(self.sent_text)

    def globals(self, names):
        if self.lose_on == "globals":
            raise KernelLost("gone")
        return {name: self.found[name] for name in names if name in self.found}


def cells(test_source: str, points: float = 2.0, answer: str = "double") -> list:
    return [LabCell("setup", "import math"), LabCell("answer", names=(answer,)),
            LabCell("test", test_source, "ex1_tests", points)]


def verdict_of(test_source: str, found=None, points: float = 2.0, **link):
    judgement = judge(cells(test_source, points), LocalLink(found, **link), 5, {"ex1_tests"})
    return judgement.verdicts["ex1_tests"]


def test_a_passing_test_scores_its_points_and_shows_nothing():
    verdict = verdict_of("assert double(2) == 4", {"double": lambda x: 2 * x})
    assert (verdict.score, verdict.message) == (2.0, None) and verdict_outputs(verdict) == []


def test_a_failing_test_scores_zero_and_shows_the_labs_words():
    verdict = verdict_of('assert double(2) == 4, "double(2) should be 4"', {"double": lambda x: x})
    assert verdict.score == 0 and verdict.message == "double(2) should be 4"
    assert [(out.output_type, out.ename) for out in verdict_outputs(verdict)] == [("error", "AssertionError")]


def test_a_missing_answer_fails_its_test():
    verdict = verdict_of("assert double(2) == 4", {})
    assert verdict.score == 0 and verdict.message


@pytest.mark.parametrize("value, score", [(1.5, 1.5), (-3, 0.0), (10**9, 2.0), (float("nan"), 0.0),
                                          (float("inf"), 2.0), (float("-inf"), 0.0), (True, 2.0), (False, 2.0),
                                          ("2", 2.0), (None, 2.0)])
def test_partial_credit_is_clamped_to_the_cells_points(value, score):
    verdict = verdict_of("double(0)", {"double": lambda x: value}, points=2.0)
    assert verdict.score == score
    shown = verdict_outputs(verdict)
    assert shown == [] if score == 2.0 else shown[0].data["text/plain"] == repr(score)


@pytest.mark.parametrize("raised", ["SystemExit(0)", "KeyboardInterrupt()", "GeneratorExit()", "MemoryError()"])
def test_whatever_the_students_answer_raises_fails_the_test_and_the_judge_goes_on(raised):
    def answer(x):
        raise eval(raised)  # noqa: S307 (the test's own constant)

    if raised == "KeyboardInterrupt()":  # the instructor's Ctrl-C: only the grader's own process raises it
        with pytest.raises(KeyboardInterrupt):
            verdict_of("assert double(1) == 2", {"double": answer})
        return
    verdict = verdict_of("assert double(1) == 2", {"double": answer})
    assert verdict.score == 0 and verdict.error_name == raised.split("(")[0]


def test_text_the_students_code_sent_is_cut_from_the_message():
    hidden_input = "the hidden input is 1.5"
    verdict = verdict_of("assert double(1.5) == 3, f'got {double(1.5)}'", {"double": lambda x: hidden_input},
                         sent_text=[hidden_input])
    assert "hidden input" not in verdict.message


def test_a_message_built_from_the_students_numbers_is_masked():
    verdict = verdict_of("import torch\nassert torch.zeros(3).shape == double(0)", {"double": lambda x: (3, 7, 1234)})
    assert "1234" not in (verdict.message or "")


def test_a_message_is_never_longer_than_the_limit():
    verdict = verdict_of('assert double(1) == 2, "' + "x" * 5000 + '"', {"double": lambda x: 0})
    assert len(verdict.message) <= MESSAGE_LIMIT


def test_a_test_without_words_says_what_it_checks_from_its_docstring():
    verdict = verdict_of('"""double doubles a number.\n\nHidden detail here."""\nassert double(1) == 2',
                         {"double": lambda x: 0})
    assert verdict.message == "a check failed; this test checks: double doubles a number."


def test_a_lost_kernel_fails_the_test_it_happened_in_and_stops_the_judging():
    link = LocalLink()

    def lost(x):
        link.lost = "the kernel died while the tests called the notebook's code"
        raise KernelLost(link.lost)

    link.found = {"double": lost}
    lab = [*cells("assert double(1) == 2"), LabCell("test", "assert True", "ex2_tests", 1.0)]
    judgement = judge(lab, link, 5, {"ex1_tests", "ex2_tests"})
    assert judgement.lost and list(judgement.verdicts) == ["ex1_tests"]
    assert (judgement.verdicts["ex1_tests"].error_name, judgement.verdicts["ex1_tests"].score) == ("KernelLost", 0)


def test_a_notebook_that_answers_nothing_gets_missing_names():
    judgement = judge(cells("assert isinstance(double, object)"), LocalLink(lose_on="globals"), 5, {"ex1_tests"})
    assert judgement.verdicts["ex1_tests"].score == 2.0
    missing = Missing("double")
    with pytest.raises(Exception):
        missing(1)


def test_tests_not_asked_for_only_define_their_helpers():
    lab = [*cells("def helper():\n    return 2\nassert False, 'never run'"), LabCell("test", "assert helper() == 2",
                                                                                     "ex2_tests", 1.0)]
    judgement = judge(lab, LocalLink({"double": lambda x: x}), 5, {"ex2_tests"})
    assert list(judgement.verdicts) == ["ex2_tests"] and judgement.verdicts["ex2_tests"].score == 1.0


def test_the_release_decides_which_cells_are_tests_and_the_gradebook_gives_their_source():
    release = new_notebook(cells=[
        new_markdown_cell("text"),
        new_code_cell("import torch"),
        new_code_cell("def double(x):\n    ...\nSCALE = 2",
                      metadata={"nbgrader": {"solution": True, "grade_id": "ex1"}}),
        new_code_cell("assert True", metadata={"nbgrader": {"grade": True, "grade_id": "ex1_tests", "points": 3}}),
        new_code_cell("print('instructor only')", metadata={"nbgrader": {"grade_id": "other", "locked": True}}),
    ])
    found = lab_cells(release, {"ex1_tests": "assert True\nassert hidden()"}, ("ex1_tests",))
    assert [(cell.kind, cell.grade_id) for cell in found] == [("setup", None), ("answer", None), ("test", "ex1_tests")]
    assert found[1].names == ("double", "SCALE") and found[2].source.endswith("assert hidden()")
    assert found[2].points == 3.0


def test_the_names_an_answer_defines_survive_a_syntax_error():
    assert defined_names("def f(:\n") == ()
    assert defined_names("class A: pass\nx: int = 1\na, b = 1, 2\nimport os") == ("A", "x")
