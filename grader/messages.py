"""What a judged test's failure may tell the student: the test's words, never a number the student's code chose.

A student's code can put any number it has seen (a hidden test's input, say) into its answer, and from there
into a failure message: the shape of a tensor it returns, a value an assert prints with ``got {got}``, the
sizes in torch's "The size of tensor a (…) must match" error. So the judge shows a failure's text in two
kinds:

- the lab's own words: the literal text of a test's ``assert ..., "message"`` or f-string message, and the
  judge's own notes (``sigmoid() raised ValueError``), marked :class:`Shown`;
- the values an f-string message interpolates, as far as they are the judge's own: a string that the lab's
  cells spell out (a case's name) as it is; other strings the test built, numbers, tensors and containers of
  them with their numbers replaced by "…"; a string the student's code sent, or an object of a class whose
  printing the judge does not know, as "…";
- every message the lab's code did not write (torch's, a helper's) with its numbers and quoted text replaced by
  "…" (a student's string reaches such a message quoted: ``KeyError: 'x'``).

:func:`show_messages` rewrites a test cell's asserts to build their messages this way.
"""

from __future__ import annotations

import ast
import re

import torch

NUMBER = re.compile(r"\d+(?:[.,_]\d+)*(?:[eE][+-]?\d+)?")
QUOTED = re.compile(r"(?<!\w)'[^'\n]*'|(?<!\w)\"[^\"\n]*\"")  # an apostrophe inside a word (block's) opens nothing
HIDDEN = "…"
MAX_SHOWN_ITEMS = 64  # a container printed in a message: longer ones are shown as "…"
SHOWN_MESSAGE = "__judge_shown_message__"
SHOWN_VALUE = "__judge_shown_value__"
_CONVERSIONS = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


class Shown(str):
    """Text the lab or the judge wrote, shown to the student as it is."""


def mask_numbers(text: str) -> str:
    return NUMBER.sub(HIDDEN, text)


def shown_text(error: BaseException, translate=str) -> str:
    """The text of a failure as the student may see it, put into the student's language by ``translate`` first
    (so that what is hidden is hidden in the words the student reads)."""
    text = translate(str(error).strip())
    if error.args and isinstance(error.args[0], Shown):
        return text
    return mask_numbers(QUOTED.sub(f"'{HIDDEN}'", text))


def _shown_message(text: str) -> Shown:
    return Shown(text)


def _shown_value(value, conversion: int, spec: str, lab_text: frozenset, student_text) -> str:
    if not _printable(value, student_text(), 0):
        return HIDDEN
    text = format(_CONVERSIONS.get(conversion, lambda kept: kept)(value), spec)
    return text if isinstance(value, str) and value in lab_text else mask_numbers(text)


def _printable(value, student_text: list, depth: int) -> bool:
    """Whether the value prints as the judge's own words and numbers: no string the student's code sent (a
    test's case name is the judge's), no object of a class whose printing the judge does not know."""
    from grader.remote import Remote  # here: remote builds its own messages with this module

    if isinstance(value, str):
        return type(value) is str and value not in student_text
    if value is None or isinstance(value, (bool, int, float, complex, torch.dtype, torch.device, torch.Size)):
        return True
    if type(value) in (torch.Tensor, torch.nn.Parameter, Remote):  # a Remote prints as the test's label for it
        return True
    if type(value) in (list, tuple, set, frozenset) and depth < 4 and len(value) <= MAX_SHOWN_ITEMS:
        return all(_printable(item, student_text, depth + 1) for item in value)
    if type(value) is dict and depth < 4 and len(value) <= MAX_SHOWN_ITEMS:
        return all(_printable(item, student_text, depth + 1) for pair in value.items() for item in pair)
    return False


def lab_text(sources: list[str]) -> frozenset:
    """The strings the lab's cells spell out: the only strings an f-string message shows as they are."""
    found = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        found.update(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))
    return frozenset(found)


def helpers(known_text: frozenset = frozenset(), student_text=list) -> dict:
    """The names :func:`show_messages`'s rewritten asserts call, for the namespace the cells run in.

    ``known_text`` is the lab's :func:`lab_text`: these strings are shown with their numbers. ``student_text()``
    gives the strings the student's code has sent in the current test: a value among them is never shown.
    """
    def shown_value(value, conversion: int, spec: str) -> str:
        return _shown_value(value, conversion, spec, known_text, student_text)

    return {SHOWN_MESSAGE: _shown_message, SHOWN_VALUE: shown_value}


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
