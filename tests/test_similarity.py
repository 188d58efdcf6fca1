"""grader similarity: in a class of twelve simulated students (each answer written one of three honest ways, no two
students alike in more than two of four exercises, each in their own names), a copy that differs from its source
only in names and in the order of its functions is ranked above every honest pair; students who wrote nothing are
not "similar" through the release's template; the report shows the matching fragments side by side."""

import csv
import itertools
import re
import subprocess
import sys

import nbformat
import pytest

from grader.layout import Course
from grader.similarity import SimilarityError, compare, similarity, student_code

ASSIGNMENT = "01_toy"
TEMPLATE_HELPER = '''import math


def check_shape(values, length):
    """Given to every student: raise when values does not have the expected length."""
    if len(values) != length:
        raise ValueError(f"expected {length} values, got {len(values)}")
    return values
'''
PLACEHOLDER = "# YOUR CODE HERE\nraise NotImplementedError()"

# three honest ways to write each exercise; {n} marks the names a student chooses for themselves
VARIANTS = {
    "mean": [
        "def mean(values):\n    {n}total = 0.0\n    for {n}v in values:\n        {n}total += {n}v\n"
        "    return {n}total / len(values)\n",
        "def mean(values):\n    return sum(values) / len(values)\n",
        "def mean(values):\n    {n}count, {n}acc = 0, 0.0\n    while {n}count < len(values):\n"
        "        {n}acc = {n}acc + values[{n}count]\n        {n}count += 1\n    return {n}acc / {n}count\n",
    ],
    "variance": [
        "def variance(values):\n    {n}m = mean(values)\n    return sum(({n}x - {n}m) ** 2 for {n}x in values) / len(values)\n",
        "def variance(values):\n    {n}m = mean(values)\n    {n}squares = [{n}x * {n}x for {n}x in values]\n"
        "    return mean({n}squares) - {n}m * {n}m\n",
        "def variance(values):\n    {n}m = mean(values)\n    {n}out = 0.0\n    for {n}i in range(len(values)):\n"
        "        {n}d = values[{n}i] - {n}m\n        {n}out += {n}d * {n}d\n    return {n}out / len(values)\n",
    ],
    "softmax": [
        "def softmax(scores):\n    {n}top = max(scores)\n    {n}exps = [math.exp({n}s - {n}top) for {n}s in scores]\n"
        "    {n}z = sum({n}exps)\n    return [{n}e / {n}z for {n}e in {n}exps]\n",
        "def _shifted(scores):\n    {n}c = max(scores)\n    return [{n}s - {n}c for {n}s in scores]\n\n\n"
        "def softmax(scores):\n    {n}ex = list(map(math.exp, _shifted(scores)))\n    {n}norm = sum({n}ex)\n"
        "    return [{n}v / {n}norm for {n}v in {n}ex]\n",
        "def softmax(scores):\n    {n}result = []\n    {n}biggest = scores[0]\n    for {n}s in scores:\n"
        "        if {n}s > {n}biggest:\n            {n}biggest = {n}s\n    {n}denominator = 0.0\n"
        "    for {n}s in scores:\n        {n}denominator += math.exp({n}s - {n}biggest)\n"
        "    for {n}s in scores:\n        {n}result.append(math.exp({n}s - {n}biggest) / {n}denominator)\n"
        "    return {n}result\n",
    ],
    "argmax": [
        "def argmax(values):\n    {n}best = 0\n    for {n}i, {n}v in enumerate(values):\n"
        "        if {n}v > values[{n}best]:\n            {n}best = {n}i\n    return {n}best\n",
        "def argmax(values):\n    return max(range(len(values)), key=values.__getitem__)\n",
        "def argmax(values):\n    {n}top = max(values)\n    return values.index({n}top)\n",
    ],
}
EXERCISES = list(VARIANTS)


def honest_choices(count: int) -> list[tuple[int, ...]]:
    """``count`` choices of a variant per exercise, no two alike in more than two exercises."""
    chosen = []
    for choice in itertools.product(range(3), repeat=len(EXERCISES)):
        if all(sum(a == b for a, b in zip(choice, other)) <= 2 for other in chosen):
            chosen.append(choice)
        if len(chosen) == count:
            return chosen
    raise AssertionError("not enough distinct choices")


def written(exercise: str, variant: int, prefix: str) -> str:
    return VARIANTS[exercise][variant].replace("{n}", prefix)


def release() -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("# A toy lab"),
             nbformat.v4.new_code_cell(TEMPLATE_HELPER, metadata={"nbgrader": {
                 "grade": False, "solution": False, "locked": True, "grade_id": "helpers", "schema_version": 3}})]
    for exercise in EXERCISES:
        cells.append(nbformat.v4.new_code_cell(PLACEHOLDER, metadata={"nbgrader": {
            "grade": False, "solution": True, "locked": False, "grade_id": exercise, "schema_version": 3}}))
        cells.append(nbformat.v4.new_code_cell(f"assert {exercise} is not None\ncheck_shape([1, 2], 2)",
                                               metadata={"nbgrader": {"grade": True, "solution": False,
                                                                      "locked": True, "points": 1,
                                                                      "grade_id": f"{exercise}_tests",
                                                                      "schema_version": 3}}))
    return nbformat.v4.new_notebook(cells=cells)


def submission(answers: dict[str, str]) -> nbformat.NotebookNode:
    notebook = release()
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def reordered_and_renamed(source: str) -> str:
    """The copier's disguise: every name of their own changed, and functions of a cell in the other order."""
    renamed = re.sub(r"\bs\d+_(\w+)", lambda match: f"my_{match.group(1)}_value", source)
    renamed = renamed.replace("_shifted", "_minus_largest")
    functions = [part for part in re.split(r"\n\n\n(?=def )", renamed.strip()) if part]
    return "\n\n\n".join(reversed(functions)) + "\n"


# the copied student: one whose softmax has a helper function, so that the copy reorders functions inside a cell too
SOURCE = next(f"honest{number:02d}" for number, choice in enumerate(honest_choices(10))
              if choice[EXERCISES.index("softmax")] == 1)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    for folder in ("solutions", "labs"):
        (root / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(release(), str(root / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    students = {}
    for number, choice in enumerate(honest_choices(10)):
        students[f"honest{number:02d}"] = {exercise: written(exercise, variant, f"s{number}_")
                                           for exercise, variant in zip(EXERCISES, choice)}
    copied = students[SOURCE]
    # every function moved into the first answer cell, in the reverse order, the other cells emptied
    students["copier"] = {exercise: "" for exercise in EXERCISES}
    students["copier"][EXERCISES[0]] = "\n\n".join(reordered_and_renamed(copied[exercise])
                                                   for exercise in reversed(EXERCISES))
    students["blank1"] = {}
    students["blank2"] = {}
    for student, answers in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(answers), str(folder / f"{ASSIGNMENT}.ipynb"))
    (root / "submitted" / "broken" / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{not json")
    return Course(root)


def test_the_disguise_changes_every_own_name_and_the_order_of_functions():
    original = written("softmax", 1, "s0_")
    disguised = reordered_and_renamed(original)
    assert "s0_" not in disguised and "_shifted" not in disguised
    assert disguised.index("def softmax") < disguised.index("def _minus_largest")


def test_only_what_the_student_wrote_is_compared():
    answers = {"mean": written("mean", 1, "s0_")}
    code = student_code(submission(answers), release())
    assert code.strip() == answers["mean"].strip()
    assert "check_shape" not in code and "NotImplementedError" not in code and "assert" not in code


def test_a_renamed_reordered_copy_is_ranked_above_every_honest_pair(course):
    report = compare(course, ASSIGNMENT)
    top = report.pairs[0]
    assert {top.first, top.second} == {"copier", SOURCE}, report.pairs[:3]
    assert top.share_first > 0.9 and top.share_second > 0.9
    honest = [pair for pair in report.pairs if "copier" not in (pair.first, pair.second)]
    assert len(honest) == 45 and max(pair.rank for pair in honest) < top.rank
    assert any(pair.rank[0] > 0.2 for pair in honest), "honest students sharing an approach should show some overlap"
    assert sorted(report.without_answers) == ["blank1", "blank2", "broken"]
    assert compare(course, ASSIGNMENT).pairs == report.pairs, "a second run should give the same report"


def test_the_command_writes_the_pairs_and_the_fragments_side_by_side(course):
    done = subprocess.run([sys.executable, "-m", "grader", "--root", str(course.root), "similarity", ASSIGNMENT],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "copier" in done.stdout and SOURCE in done.stdout
    with (course.root / "similarity" / ASSIGNMENT / "pairs.csv").open() as sheet:
        rows = list(csv.DictReader(sheet))
    assert len(rows) == 55 and {rows[0]["student_a"], rows[0]["student_b"]} == {"copier", SOURCE}
    page = (course.root / "similarity" / ASSIGNMENT / "report.html").read_text()
    assert "highlight-red" in page and "highlight-green" in page and "my_" in page
    assert "http://" not in page and "https://" not in page  # opens offline


def test_nothing_to_compare_is_explained(tmp_path):
    for folder in ("solutions", "labs"):
        (tmp_path / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(release(), str(tmp_path / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    with pytest.raises(SimilarityError, match="fewer than two submissions"):
        similarity(Course(tmp_path), ASSIGNMENT)


def test_a_students_markup_is_shown_as_text_in_the_report(tmp_path):
    for folder in ("solutions", "labs"):
        (tmp_path / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(release(), str(tmp_path / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    answers = {exercise: written(exercise, 0, "x_") for exercise in EXERCISES}
    hostile = dict(answers, mean=answers["mean"] + '\nNOTE = "</pre><script>alert(1)</script><img src=x onerror=y>"\n')
    for student, written_answers in (("plain", answers), ("hostile", hostile)):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(written_answers), str(folder / f"{ASSIGNMENT}.ipynb"))
    report = similarity(Course(tmp_path), ASSIGNMENT)
    page = (tmp_path / "similarity" / ASSIGNMENT / "report.html").read_text()
    assert report.pairs[0].first_html and "&lt;script&gt;" in page
    assert "<script>" not in page and "<img" not in page


def hostile_course(root):
    for folder in ("solutions", "labs"):
        (root / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(release(), str(root / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    answers = {exercise: written(exercise, 0, "x_") for exercise in EXERCISES}
    notebooks = {"plain": submission(answers), "twin": submission(answers),
                 "huge": submission(dict(answers, mean=answers["mean"] + "x = 1\n" * 40_000))}
    for name, metadata in (("no-mapping", "x"), ("null", None), ("listed-id", {"grade_id": ["mean"]})):
        notebook = submission(answers)
        notebook.cells[2].metadata["nbgrader"] = metadata
        notebooks[name] = notebook
    for student, notebook in notebooks.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{ASSIGNMENT}.ipynb"))
    surrogate = root / "submitted" / "surrogate" / ASSIGNMENT
    surrogate.mkdir(parents=True)
    text = nbformat.writes(submission(dict(answers, mean='s = "\\ud800"\n')))
    (surrogate / f"{ASSIGNMENT}.ipynb").write_text(text.replace("\\\\ud800", "\\ud800"))
    return Course(root)


def test_hostile_notebooks_neither_crash_the_comparison_nor_swamp_it(tmp_path):
    report = compare(hostile_course(tmp_path), ASSIGNMENT)
    assert report.too_large == ["huge"]
    compared = {name for pair in report.pairs for name in (pair.first, pair.second)}
    assert compared == {"plain", "twin", "no-mapping", "null", "listed-id", "surrogate"}
    assert max(pair.rank for pair in report.pairs if {pair.first, pair.second} == {"plain", "twin"})[0] > 0.9


def test_a_module_in_the_working_folder_is_not_imported_by_the_comparison(tmp_path):
    course = hostile_course(tmp_path / "course")
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "imported"
    (planted / "copydetect.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n")
    (planted / "json.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n")
    done = subprocess.run([sys.executable, "-m", "grader", "--root", str(course.root), "similarity", ASSIGNMENT],
                          capture_output=True, text=True, cwd=planted)
    assert done.returncode == 0 and not marker.exists(), done.stderr[-2000:]
