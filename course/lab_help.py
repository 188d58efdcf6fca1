"""What a lab's kernel tells a student besides Python's own error: a lab's set-up cell calls
:func:`explain_missing_names`, and from then on a test cell run before its exercise cell ends with what to do
instead of a bare ``NameError: name 'sigmoid' is not defined``; and, where the kernel speaks another language
(``COURSE_LANGUAGE``), a failed assert's message (written in English in the test cell) ends with its translation.
"""

from __future__ import annotations

from course.language import ENGLISH, current_language, translate_message, tr


def missing_name_hint(name: str) -> str:
    """The advice for a test that needs ``name`` before any cell has defined it."""
    return tr("Hint: `{name}` is not defined yet. Run the cell that defines it first (an exercise's function: the "
              "exercise cell just above this test; `torch` and the other imports: the set-up cell at the top), then "
              "this cell again. After a kernel restart, Run > Run All Above Selected Cell runs every cell before this "
              "one. If you did run that cell, look at its output: an error there stopped it before it defined "
              "`{name}`.").format(name=name)


def explain_missing_names(shell=None) -> None:
    """Have IPython add :func:`missing_name_hint` under every NameError's traceback in this kernel, and an
    AssertionError's message in the kernel's language under its traceback.

    Only what is shown changes: the cell still fails with the same NameError, so nbgrader scores it alike.
    Does nothing outside IPython (a plain ``python`` run of a lab's code).
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
    if shell is None:
        return
    shell.set_custom_exc((NameError, AssertionError), _traceback_with_hint)


def translated_failure(error: AssertionError) -> str | None:
    """A failed assert's message in the kernel's language, when it is not English and the catalogue has it."""
    message = str(error)
    if current_language() == ENGLISH or not message:
        return None
    translation = translate_message(message)
    return translation if translation != message else None


def _traceback_with_hint(shell, etype, value, tb, tb_offset=None) -> None:
    """Show IPython's own traceback of the error, then the hint or the translation (an IPython custom exception
    handler).

    IPython leaves the showing to the handler; an exception's ``_render_traceback_`` is the public way to
    give ``showtraceback`` the lines to show.
    """
    traceback = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    if isinstance(value, NameError):
        extra = missing_name_hint(value.name) if getattr(value, "name", None) else None
    else:
        extra = translated_failure(value)
    value._render_traceback_ = lambda: traceback if extra is None else [*traceback, extra]
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
