"""grader.remote: what the judge makes of a reply from the student's kernel."""

import pytest

from grader.remote import KernelLink, StudentRaised


def raised(name: str, builtin: bool = True):
    """What the judge raises for a reply saying the student's code raised ``name``."""
    reply = {"ok": False, "raised": name, "builtin": builtin}
    return KernelLink._value(None, reply, None, "sigmoid()")


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"])
def test_an_exit_from_the_students_code_fails_the_test_and_never_stops_the_grader(name):
    with pytest.raises(StudentRaised, match=f"sigmoid\\(\\) raised {name}"):
        raised(name)


def test_a_common_error_is_raised_by_name_so_that_a_test_may_catch_it():
    with pytest.raises(ValueError, match=r"sigmoid\(\) raised ValueError"):
        raised("ValueError")


def test_a_class_of_the_notebooks_is_not_named():
    with pytest.raises(StudentRaised, match="a class the notebook defines"):
        raised("SecretHiddenInput", builtin=False)
