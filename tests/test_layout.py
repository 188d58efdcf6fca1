"""grader.layout: the course folder's paths are nbgrader's own, so that nbgrader's commands and the grader's read
and write the same files (fast)."""

from pathlib import Path

import pytest
from nbgrader.coursedir import CourseDirectory

from grader.layout import Course, CourseError, gradebook_url


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions" / "01_lab").mkdir(parents=True)
    (tmp_path / "solutions" / "01_lab" / "01_lab.ipynb").write_text("{}")
    return Course(tmp_path)


def test_the_grading_folders_are_where_nbgrader_keeps_them(course):
    nbgrader = CourseDirectory(root=str(course.root))
    assert course.submission("s1", "01_lab") == Path(nbgrader.format_path(nbgrader.submitted_directory, "s1",
                                                                          "01_lab"))
    assert course.autograded_submission("s1", "01_lab") == Path(nbgrader.format_path(
        nbgrader.autograded_directory, "s1", "01_lab"))
    assert course.feedback_page("s1", "01_lab", "01_lab.ipynb") == Path(nbgrader.format_path(
        nbgrader.feedback_directory, "s1", "01_lab")) / "01_lab.html"
    assert course.gradebook_url == nbgrader.db_url == gradebook_url(course.root)


def test_the_ledger_sits_beside_the_graded_notebooks_and_is_found_again(course):
    ledger = course.ledger("s1", "01_lab")
    assert ledger.parent == course.autograded_submission("s1", "01_lab")
    ledger.parent.mkdir(parents=True)
    ledger.write_text("{}")
    assert course.ledgers() == [ledger]


def test_the_source_and_release_of_an_assignment(course):
    assert course.source_notebooks("01_lab") == [course.solution("01_lab") / "01_lab.ipynb"]
    assert course.lab("01_lab") == course.root / "labs" / "01_lab"
    assert course.resolve(None) == ["01_lab"]
    with pytest.raises(CourseError, match="unknown assignment"):
        course.resolve(["02_nope"])


def test_a_folder_without_solutions_is_no_course(tmp_path):
    with pytest.raises(CourseError, match="no solutions/ folder"):
        Course(tmp_path)
