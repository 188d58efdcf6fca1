"""The course's web edition: the lectures with their outputs, the labs as handed out, and the docs/ pages, built
by Sphinx with MyST-NB and the book theme (configuration: docs/conf.py, table of contents: docs/_toc.yml).

    python -m course.book            # build into build/book/html, warnings as errors, then check every link
"""
