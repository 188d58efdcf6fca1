"""Fonts for figures in a language matplotlib's own font cannot write: without one, every Chinese character of a
title is drawn as an empty box.

:func:`fit_figure_fonts` adds an installed font for the language to matplotlib's font families, after its own
(DejaVu Sans), so that letters and digits stay as in the English figures: matplotlib (3.6 and later) draws each
character in the first family of ``font.family`` whose font has it. A student's machine usually has one (Windows: Microsoft YaHei, macOS: PingFang SC); Debian and
Ubuntu have ``fonts-noto-cjk``.
"""

from __future__ import annotations

import warnings

CHINESE_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "Heiti SC",
                 "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Noto Sans CJK JP")
FONTS_FOR = {"zh": CHINESE_FONTS}
INSTALL_HINT = ("no Chinese font was found, so figures will show boxes for Chinese characters: install one "
                "(Debian and Ubuntu: sudo apt install fonts-noto-cjk), then restart the kernel")


def installed_fonts(language: str) -> list[str]:
    """The fonts for ``language`` (``zh_CN``: by its first part) that matplotlib finds on this machine."""
    from matplotlib import font_manager

    wanted = FONTS_FOR.get(language.split("_")[0], ())
    present = {font.name for font in font_manager.fontManager.ttflist}
    if not present.intersection(wanted):
        present |= _added_new_fonts()
    return [name for name in wanted if name in present]


def _added_new_fonts() -> set[str]:
    """Fonts installed after matplotlib cached its list of the machine's fonts, added to that list; their names."""
    from matplotlib import font_manager

    known = {font.fname for font in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read is no font for us
                continue
    return {font.name for font in font_manager.fontManager.ttflist}


def fit_figure_fonts(language: str) -> list[str]:
    """Put ``language``'s installed fonts after matplotlib's font families; returns them.

    Warns, once, with what to install when ``language`` needs a font and none is installed."""
    import matplotlib

    if language.split("_")[0] not in FONTS_FOR:
        return []
    found = installed_fonts(language)
    if not found:
        warnings.warn(INSTALL_HINT, stacklevel=2)
        return []
    families = [name for name in matplotlib.rcParams["font.family"] if name not in found]
    matplotlib.rcParams["font.family"] = families + found
    return found
