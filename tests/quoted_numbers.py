"""The numbers a lecture's text quotes, and whether the lecture shows them: in its own outputs, in a shipped result
it loads (``course/shipped/``), in its code (a setting it states), or in its list of quoted sources in
``tests/quoted_numbers.toml`` (a paper's or the slides' figure, with where it comes from).

A quoted number is a decimal (``0.80``, ``19.8``) or a percentage (``41 %``) in a markdown cell, outside formulas
(``$...$``), code spans, link targets and arXiv numbers. It is found where a number rounds to it at the precision
it is quoted with, as itself or, for a percentage, as a fraction (``86.1 %`` is found in ``0.861``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).with_name("quoted_numbers.toml")
SHIPPED = ROOT / "course" / "shipped"
SMALL = 64  # a shipped tensor this small is a result (a table's row); a larger one (a training log, weights) is not

QUOTED = re.compile(r"(?<![\w.\-/])(\d+\.\d+|\d+(?=\s?%))(\s?%)?(?![\w.]*\d)")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")  # 1406.2661 names a paper
FORMULAS = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`|\]\([^)]*\)", re.S)


def quoted(markdown: str) -> list[str]:
    """The numbers ``markdown`` quotes, as written (``"41 %"``, ``"0.80"``)."""
    return [number + (percent or "") for number, percent in QUOTED.findall(FORMULAS.sub(" ", markdown))
            if not ARXIV_ID.fullmatch(number)]


def _decimals(text: str) -> int:
    digits = text.rstrip(" %")
    return len(digits.split(".")[1]) if "." in digits else 0


def matches(quote: str, value: float) -> bool:
    """Whether ``value`` rounds to ``quote`` at the precision ``quote`` is written with."""
    digits = _decimals(quote)
    target = float(quote.rstrip(" %"))
    candidates = [value, value * 100] if quote.endswith("%") else [value]
    return any(abs(round(candidate, digits) - target) < 10 ** -digits / 2 for candidate in candidates)


def numbers_in(text: str) -> list[float]:
    return [float(found) for found in NUMBER.findall(text)]


def _text(value) -> str:
    """A notebook's text field, stored as one string or (in a file as saved) as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def shown_text(notebook: dict) -> str:
    """The code of the notebook and what its run printed and displayed as text (figures are pixels: not
    searched)."""
    pieces = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        pieces.append(_text(cell["source"]))
        for output in cell.get("outputs", []):
            pieces.append(_text(output.get("text", "")))
            data = output.get("data", {})
            pieces += [_text(data.get(kind, "")) for kind in ("text/plain", "text/html", "text/markdown")]
    return "\n".join(pieces)


def shipped_text() -> str:
    """Every shipped result as text: the JSON files, and the numbers inside the torch files."""
    pieces = [path.read_text(encoding="utf-8") for path in sorted(SHIPPED.glob("*.json"))]
    for path in sorted(SHIPPED.glob("*.pt")):
        pieces.append(_flattened(torch.load(path, map_location="cpu", weights_only=True)))
    return "\n".join(pieces)


def _flattened(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{key} {_flattened(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_flattened(item) for item in value)
    if isinstance(value, torch.Tensor):
        return "" if value.numel() > SMALL else " ".join(repr(float(item)) for item in value.flatten())
    return repr(value)


def stated_sources(lecture: str) -> dict[str, str]:
    """The lecture's quoted numbers that come from elsewhere, each with its source."""
    table = tomllib.loads(SOURCES.read_text(encoding="utf-8"))
    return dict(table.get(lecture, {}))


def unshown_numbers(notebook: dict, lecture: str, shipped: str) -> list[str]:
    """The numbers the lecture's text quotes that neither its run, nor a shipped result, nor a stated source holds."""
    values = numbers_in(shown_text(notebook)) + numbers_in(shipped)
    sourced = {number.replace(" ", "") for number in stated_sources(lecture)}
    missing = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for quote in quoted(_text(cell["source"])):
            if quote.replace(" ", "") in sourced:
                continue
            if not any(matches(quote, value) for value in values):
                missing.append(quote)
    return missing
