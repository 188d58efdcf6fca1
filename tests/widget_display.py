"""Read back what an explorer displays: every element it tags with ``data-key``."""

from __future__ import annotations

from html.parser import HTMLParser

EMPTY = {"", "\u2014"}  # a blank cell or an em dash: nothing to show yet


class _KeyedText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._key: str | None = None

    def handle_starttag(self, tag, attrs):
        self._key = dict(attrs).get("data-key")

    def handle_data(self, data):
        if self._key is not None:
            self.values[self._key] = self.values.get(self._key, "") + data

    def handle_endtag(self, tag):
        self._key = None


def keyed_text(html: str) -> dict[str, str]:
    """``{data-key: text}`` for every tagged element of ``html``."""
    parser = _KeyedText()
    parser.feed(html)
    return parser.values


def keyed_numbers(html: str) -> dict[str, float | None]:
    """Like :func:`keyed_text`, with each text read as a number (None where nothing is shown)."""
    return {key: None if text.strip() in EMPTY else float(text) for key, text in keyed_text(html).items()}
