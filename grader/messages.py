"""What a judged test's failure may tell the student: the test's words, never a number the student's code chose.

A student's code can put any number it has seen (a hidden test's input, say) into its answer, and from there
into a failure message: the shape of a tensor it returns, a value an assert prints with ``got {got}``, the
sizes in torch's "The size of tensor a (…) must match" error. So the judge shows a failure's text in two
kinds:

- the lab's own words: the literal text of a test's ``assert ..., "message"`` or f-string message, and the
  judge's own notes (``sigmoid() raised ValueError``), marked :class:`Shown`;
- everything else with its numbers replaced by "…": the values an f-string message interpolates (other than
  strings: a case's name is the lab's), and every message the lab's code did not write (torch's, a helper's).

:func:`show_messages` rewrites a test cell's asserts to build their messages this way.
"""

from __future__ import annotations

import ast
import re

NUMBER = re.compile(r"\d+(?:[.,_]\d+)*(?:[eE][+-]?\d+)?")
SHOWN_MESSAGE = "__judge_shown_message__"
SHOWN_VALUE = "__judge_shown_value__"
_CONVERSIONS = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


class Shown(str):
    """Text the lab or the judge wrote, shown to the student as it is."""


def mask_numbers(text: str) -> str:
    return NUMBER.sub("…", text)


def shown_text(error: BaseException) -> str:
    """The text of a failure as the student may see it."""
    text = str(error).strip()
    if error.args and isinstance(error.args[0], Shown):
        return text
    return mask_numbers(text)


def _shown_message(text: str) -> Shown:
    return Shown(text)


def _shown_value(value, conversion: int, spec: str) -> str:
    text = format(_CONVERSIONS.get(conversion, lambda kept: kept)(value), spec)
    return text if isinstance(value, str) and conversion in (-1, ord("s")) else mask_numbers(text)


def helpers() -> dict:
    """The names :func:`show_messages`'s rewritten asserts call, for the namespace the cells run in."""
    return {SHOWN_MESSAGE: _shown_message, SHOWN_VALUE: _shown_value}


class _ShowMessages(ast.NodeTransformer):
    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        message = node.msg
        if isinstance(message, ast.JoinedStr):
            message = ast.JoinedStr([self._value(part) for part in message.values])
        elif not (isinstance(message, ast.Constant) and isinstance(message.value, str)):
            return node  # a message built some other way is not the lab's own words: its numbers are masked
        node.msg = ast.Call(ast.Name(SHOWN_MESSAGE, ast.Load()), [message], [])
        return node

    @staticmethod
    def _value(part):
        if not isinstance(part, ast.FormattedValue):
            return part
        spec = part.format_spec if part.format_spec is not None else ast.Constant("")
        call = ast.Call(ast.Name(SHOWN_VALUE, ast.Load()), [part.value, ast.Constant(part.conversion), spec], [])
        return ast.FormattedValue(call, -1, None)


def show_messages(tree: ast.AST) -> ast.AST:
    """``tree`` with every assert whose message is a string or an f-string building it as :class:`Shown`."""
    return ast.fix_missing_locations(_ShowMessages().visit(tree))
