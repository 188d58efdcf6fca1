"""Instructor tooling around nbgrader: the labs, and grading a class from collection to grade sheet.

Run ``python -m grader --help``. ``build`` and ``check`` work in a temporary nbgrader course folder;
``release``, ``collect``, ``autograde``, ``feedback`` and ``export`` work on nbgrader's own
``gradebook.db``, ``submitted/``, ``autograded/`` and ``feedback/`` at the course root, which git ignores,
so the repository never holds student work or grades. ``autograde`` runs every submission in a sandbox
(:mod:`grader.sandbox`), in parallel and resumably (:mod:`grader.autograde`).
"""
