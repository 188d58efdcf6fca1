"""Instructor tooling around nbgrader: build, check and release the student labs, collect submissions.

Run ``python -m grader --help``. ``build`` and ``check`` work in a temporary nbgrader course folder;
``release`` and ``collect`` write nbgrader's own ``gradebook.db`` and ``submitted/`` at the course root,
which git ignores, so the repository never holds student work or grades.
"""
