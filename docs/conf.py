"""Sphinx configuration of the course's web edition: `python -m course.book` builds it into build/book/html.

The source folder is the repository's root, so that the book's pages are the repository's own files (the docs/
pages, the lectures, the students' labs) at their own paths: the links between them that work in a checkout work in
the book, and a launch button opens a notebook at the path it has in the repository. Only what a reader may see is
included; the solutions never are.
"""

project = "Deep-learning course and lab kit"
author = "the course kit's authors"
copyright = "the course kit's authors"

extensions = ["myst_nb", "sphinx_book_theme", "course.book.contents", "course.book.workspace_links",
              "course.book.lectures_run", "course.book.offline_math", "course.book.launch_buttons",
              "course.book.editions"]

root_doc = "docs/index"
# The book's parts and their pages, in reading order (paths from the checkout's root; course.book.contents).
book_parts = {
    "Start here": ["docs/students", "docs/topics"],
    "Lectures": ["course/lectures/*"],
    "Labs": ["labs/*/*"],
    "For instructors": ["docs/instructors"],
    "Results and sources": ["docs/results", "docs/coverage", "docs/glossary"],
    "For contributors": ["docs/contributors"],
}
include_patterns = ["docs/*.md", "course/lectures/*.ipynb", "labs/*/*.ipynb"]
exclude_patterns = ["**/.ipynb_checkpoints"]

# The lectures run when the book is built; the labs are the students' copies, shown as they are handed out.
nb_execution_mode = "cache"
nb_execution_excludepatterns = ["labs/*/*.ipynb"]
nb_execution_in_temp = True  # a lecture that writes a file leaves nothing in the checkout
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# A live widget needs a kernel, and its JavaScript would come from a CDN: the page shows the still every explorer
# carries beside its widget (course.widgets.still), with a note that it is live in JupyterLab.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}  # so no page loads ipywidgets' JavaScript from a CDN for widgets it does not show

# Translations (course.translations): one catalogue per page, docs/locales/LANG/LC_MESSAGES/<page>.po, free of
# line numbers so that moving a passage does not change its catalogue.
locale_dirs = ["docs/locales"]  # relative to the source folder, the checkout
gettext_compact = False
gettext_location = False
gettext_uuid = False

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # "page.md#a-heading" links, as GitHub renders them, resolve in the book too
myst_update_mathjax = False  # its settings are for MathJax 3; the book's MathJax is 2 (course.book.offline_math)

html_theme = "sphinx_book_theme"
html_title = "Deep-learning course and lab kit"
templates_path = ["_templates"]
html_theme_options = {
    "show_toc_level": 2,
    "article_header_end": ["language-switch.html", "article-header-buttons.html"],
    "use_download_button": True,
}
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
