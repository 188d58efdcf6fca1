"""The course in other languages, from one source: the English notebooks and pages are the source, and each
passage's translation is kept beside it in a gettext catalogue (sphinx-intl's layout, ``docs/locales/LANG/
LC_MESSAGES/<page>.po``, one catalogue per page of the web edition).

    python -m course.translations update zh_CN   # new and changed English passages into the catalogues
    python -m course.translations check zh_CN    # stale and missing translations; fails on any in a released page

A passage whose English changed keeps its old translation marked fuzzy (stale) until a translator confirms it.
"""
