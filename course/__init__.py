"""Helpers shared by the lecture notebooks, the lab solutions and the tests.

Everything a notebook needs twice lives here once; notebooks import it
(``from course.repro import seed_everything``) instead of pasting code.
"""

__version__ = "0.1.0"
