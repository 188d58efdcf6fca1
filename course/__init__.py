"""Helpers shared by the lecture notebooks, the lab solutions and the tests.

Everything a notebook needs twice lives here once; notebooks import it
(``from course.repro import seed_everything``) instead of pasting code.
"""

__version__ = "0.1.0"


def _fit_figure_fonts() -> None:
    """In a language matplotlib's own font cannot write (``COURSE_LANGUAGE=zh_CN``), figures get a font that can,
    before any notebook draws (course.figure_fonts)."""
    from course.language import ENGLISH, current_language

    if current_language() != ENGLISH:
        from course.figure_fonts import fit_figure_fonts

        fit_figure_fonts(current_language())


_fit_figure_fonts()
