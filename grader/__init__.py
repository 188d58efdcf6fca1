"""Instructor tooling around nbgrader: the labs, and grading a class from collection to grade sheet.

Run ``python -m grader --help``. ``build`` and ``check`` work in a temporary nbgrader course folder;
``release``, ``collect``, ``autograde``, ``feedback`` and ``export`` work on nbgrader's own
``gradebook.db``, ``submitted/``, ``autograded/`` and ``feedback/`` at the course root (:mod:`grader.layout` owns
every path), which git ignores, so the repository never holds student work or grades. ``autograde`` runs every
submission in a sandbox (:mod:`grader.sandbox`), in parallel and resumably (:mod:`grader.autograde`).
"""

import sys

# jsonschema, which nbformat and nbgrader import, imports the optional rfc3987_syntax if it is installed (Jupyter's
# packages install it), and that module compiles dozens of grammars at import, in every grader process, worker and
# nbgrader run (python-jsonschema/jsonschema#1428). It only checks the "iri" formats, which no
# notebook or nbgrader schema uses; without it jsonschema leaves those formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
