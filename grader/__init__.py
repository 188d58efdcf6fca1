"""Instructor tooling around nbgrader: build the student labs, check them, grade them.

Run ``python -m grader --help``. Everything works on a temporary nbgrader
course folder, so the repository never holds a gradebook or grading output.
"""
