"""grader/hub/box.py: what a server's box on the course server holds (the layout alone; tests/test_hub.py and
tests/test_exchange.py run programs in it as real accounts)."""

from grader.hub.box import Account, StudentBox


def test_only_the_instructors_box_holds_the_course_folder(tmp_path):
    """The course folder (solutions, hidden tests, the gradebook) is bound into the instructor's box alone."""
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    student = Account("someone", 12345, 12345, tmp_path / "home", (12345,))
    shown = tmp_path / "home" / "course"
    with_course = StudentBox(exchange, extra_writable=((course, shown),)).layout(student)
    without = StudentBox(exchange).layout(student)
    assert any(step.kind == "bind" and (step.source, step.target) == (str(course), str(shown))
               for step in with_course)
    assert not any(str(course) in (step.target, step.source) for step in without)


def test_a_students_box_binds_their_home_and_the_exchange_writable_and_nothing_else(tmp_path):
    student = Account("someone", 12345, 12345, tmp_path / "home", (12345,))
    layout = StudentBox(tmp_path / "exchange").layout(student)
    writable = {step.target for step in layout if step.kind == "bind"}
    assert writable == {str(tmp_path / "exchange"), str(tmp_path / "home")}
    assert layout[-1].kind == "remount-ro", "the box's own root must end read-only"
