"""grader.mutants: a catalogue of mistakes applies to its lab, and the verdict on a graded mutant is the rule's."""

from pathlib import Path

import nbformat
import pytest

from grader.checks import Finding
from grader.layout import Course
from grader.mutants import (CATALOGUE, CatalogueError, Mutant, check_mutants, coverage, mutated_source, read_catalogue,
                            verdict)
from grader.notebooks import grade_id, is_solution_cell, read_notebook

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
CATALOGUED = [name for name in COURSE.assignments() if (COURSE.solutions / name / CATALOGUE).is_file()]


def solution_cell(source: str, cell_id: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "solution": True, "locked": False, "grade_id": cell_id, "schema_version": 3}})


def test_a_mutant_edits_its_own_cell_once_and_leaves_the_solution_as_it_was():
    notebook = nbformat.v4.new_notebook(cells=[solution_cell("y = x + 1", "ex1"), solution_cell("z = x + 1", "ex2")])
    mutated = mutated_source(notebook, Mutant("ex1", "off by one", "x + 1", "x + 2"))
    assert [cell.source for cell in mutated.cells] == ["y = x + 2", "z = x + 1"]
    assert [cell.source for cell in notebook.cells] == ["y = x + 1", "z = x + 1"]


@pytest.mark.parametrize("mutant, reason", [
    (Mutant("ex9", "a cell the lab lacks", "x", "y"), "no solution cell 'ex9'"),
    (Mutant("ex1", "text that is not there", "x * 3", "y"), "occurs 0 times"),
    (Mutant("ex1", "text found twice", "x", "y"), "occurs 2 times"),
])
def test_a_mutant_that_cannot_be_applied_is_refused_with_the_reason(mutant, reason):
    notebook = nbformat.v4.new_notebook(cells=[solution_cell("y = x + x", "ex1")])
    with pytest.raises(CatalogueError, match=reason):
        mutated_source(notebook, mutant)


def test_a_catalogue_entry_without_its_fields_is_refused(tmp_path):
    path = tmp_path / CATALOGUE
    path.write_text('[[mutant]]\nexercise = "ex1"\nmistake = "no edit"\n')
    with pytest.raises(CatalogueError, match="mutant 1 lacks replace, by"):
        read_catalogue(path)


MUTANT = Mutant("ex2_forward", "no sigmoid on the output", "a", "b")


@pytest.mark.parametrize("scores, ok, words", [
    ({"lab:ex1": (10, 10), "lab:ex2_forward": (0, 10), "lab:ex3": (15, 15)}, True, "0/10, every other exercise full"),
    ({"lab:ex1": (10, 10), "lab:ex2_forward": (10, 10), "lab:ex3": (15, 15)}, False, "the tests miss it"),
    ({"lab:ex1": (10, 10), "lab:ex2_forward": (5, 10), "lab:ex3": (0, 15)}, False, "also costs ex3 0/15"),
])
def test_a_mutant_must_lose_its_own_exercise_and_no_other(scores, ok, words):
    finding = verdict("lab", MUTANT, "lab:ex2_forward", scores)
    assert isinstance(finding, Finding) and finding.ok is ok and words in finding.detail


def test_every_exercise_needs_two_mistakes():
    notebook = nbformat.v4.new_notebook(cells=[solution_cell("a", "ex1"), solution_cell("b", "ex2")])
    for cell in list(notebook.cells):  # each solution cell followed by its test cell makes two exercises
        notebook.cells.insert(notebook.cells.index(cell) + 1, nbformat.v4.new_code_cell("assert True", metadata={
            "nbgrader": {"grade": True, "solution": False, "locked": True, "points": 5,
                         "grade_id": f"{grade_id(cell)}_tests", "schema_version": 3}}))
    mutants = [Mutant("ex1", "one", "a", "c"), Mutant("ex1", "two", "a", "d"), Mutant("ex2", "three", "b", "c")]
    finding = coverage("lab", mutants, {"lab.ipynb": notebook})
    assert not finding.ok and "ex2 (1)" in finding.detail


@pytest.mark.parametrize("assignment", CATALOGUED)
def test_every_catalogued_mistake_applies_to_the_solution(assignment):
    """Grading the mutants is `python -m grader mutants`; here, only that each edit still finds its text."""
    sources = [read_notebook(path) for path in COURSE.source_notebooks(assignment)]
    mutants = read_catalogue(COURSE.solutions / assignment / CATALOGUE)
    assert mutants
    for mutant in mutants:
        (source,) = [notebook for notebook in sources if any(
            is_solution_cell(cell) and grade_id(cell) == mutant.exercise for cell in notebook.cells)]
        mutated_source(source, mutant)


def test_the_catalogue_is_never_released():
    assert CATALOGUED and not any((COURSE.labs / name / CATALOGUE).exists() for name in CATALOGUED)


def graded_cell(cell_id: str, points: int, source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": points, "grade_id": cell_id,
        "schema_version": 3}})


TOY_TESTS = '''assert double(2) == 4, "double(2) is 4"
### BEGIN HIDDEN TESTS
assert double(-3) == -6, "double of a negative number"
### END HIDDEN TESTS'''


def toy_course(root: Path, tests: str) -> Course:
    """A course of one lab with two exercises; the first mistake of its catalogue
    (abs) shows only on a negative number, which the hidden test holds."""
    notebook = nbformat.v4.new_notebook(cells=[
        solution_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "ex1"),
        graded_cell("ex1_tests", 5, tests),
        solution_cell("def quadruple(x):\n    ### BEGIN SOLUTION\n    return 4 * x\n    ### END SOLUTION", "ex2"),
        graded_cell("ex2_tests", 5, 'assert quadruple(3) == 12, "quadruple(3) is 12"'),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    lab = root / "solutions" / "toy"
    lab.mkdir(parents=True)
    nbformat.write(notebook, lab / "toy.ipynb")
    (lab / CATALOGUE).write_text("\n".join(
        f'[[mutant]]\nexercise = "{exercise}"\nmistake = "{mistake}"\nreplace = "{replace}"\nby = "{by}"\n'
        for exercise, mistake, replace, by in [("ex1", "the sign lost", "2 * x", "2 * abs(x)"),
                                               ("ex1", "tripled", "2 * x", "3 * x"),
                                               ("ex2", "tripled", "4 * x", "3 * x"),
                                               ("ex2", "doubled", "4 * x", "2 * x")]))
    return Course(root)


@pytest.mark.slow
def test_the_check_passes_a_lab_whose_tests_catch_each_mistake_and_fails_once_a_hidden_assert_is_deleted(tmp_path):
    """The whole check, nbgrader's autograde included, on a two-exercise lab: it passes, each exercise left blank
    included; with the hidden assert deleted, the mistake only that assert caught keeps its points, and the check
    says so."""
    findings = check_mutants(toy_course(tmp_path / "strong", TOY_TESTS), "toy", shards=2)
    assert [finding.ok for finding in findings] == [True] * 7, [finding.detail for finding in findings]
    assert [finding.detail for finding in findings[-2:]] == [
        "ex1, left blank, every other exercise solved: 0/5, every other exercise full",
        "ex2, left blank, every other exercise solved: 0/5, every other exercise full"]
    weakened = TOY_TESTS.replace('assert double(-3) == -6, "double of a negative number"\n', "")
    findings = check_mutants(toy_course(tmp_path / "weak", weakened), "toy", shards=2)
    failed = [finding.detail for finding in findings if not finding.ok]
    assert failed == ["ex1, the sign lost: keeps all 5 points of ex1 (the tests miss it)"]
