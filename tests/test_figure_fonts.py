"""Figures in Chinese show Chinese characters, not boxes: course.figure_fonts adds an installed CJK font after
matplotlib's own, and a rendered figure with a Chinese title finds every glyph.

CI installs Debian's fonts-noto-cjk (.ci/run) and sets COURSE_CJK_FONT_REQUIRED; elsewhere a machine without a CJK
font skips the rendering test (the kit then warns the student what to install)."""

import os
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

from course.figure_fonts import INSTALL_HINT, fit_figure_fonts, installed_fonts  # noqa: E402

TITLE = "生成器与判别器的损失 (loss, 0.69)"


def render(title: str) -> list[str]:
    """Draw a figure with ``title`` to PNG bytes; the warnings matplotlib gave, as text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure, axes = plt.subplots(figsize=(4, 2))
        axes.set_title(title)
        axes.set_xlabel("步数 (step)")
        figure.canvas.draw()
        plt.close(figure)
    return [str(warning.message) for warning in caught]


def missing_glyphs(messages: list[str]) -> list[str]:
    return [message for message in messages if "missing from" in message]


def test_without_the_font_a_chinese_title_is_drawn_as_boxes():
    """The check can fail: matplotlib's own font has no Chinese glyph."""
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        assert missing_glyphs(render(TITLE)), "DejaVu Sans drew Chinese: the test below proves nothing"


def test_a_chinese_figure_finds_every_glyph():
    if not installed_fonts("zh_CN"):
        if os.environ.get("COURSE_CJK_FONT_REQUIRED"):
            pytest.fail("no CJK font is installed (.ci/run installs fonts-noto-cjk)")
        pytest.skip("no CJK font on this machine")
    with matplotlib.rc_context():
        found = fit_figure_fonts("zh_CN")
        assert found and matplotlib.rcParams["font.family"][-len(found):] == found
        assert missing_glyphs(render(TITLE)) == []


def test_english_keeps_matplotlibs_fonts():
    with matplotlib.rc_context():
        before = list(matplotlib.rcParams["font.family"])
        assert fit_figure_fonts("en") == []
        assert list(matplotlib.rcParams["font.family"]) == before


def test_no_font_says_what_to_install(monkeypatch):
    monkeypatch.setattr("course.figure_fonts.installed_fonts", lambda language: [])
    with matplotlib.rc_context(), pytest.warns(UserWarning, match="fonts-noto-cjk"):
        assert fit_figure_fonts("zh_CN") == []
    assert "restart the kernel" in INSTALL_HINT
