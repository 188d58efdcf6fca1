"""``python -m grader.nbgrader_command ARGS`` is ``python -m nbgrader ARGS``, started as every grader process
starts (see ``grader/__init__.py``), for the grader's own nbgrader runs."""

from nbgrader.apps.nbgraderapp import main

if __name__ == "__main__":
    main()
