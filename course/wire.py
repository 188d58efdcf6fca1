"""Values crossing between a student's kernel and the grader's judge, as plain data.

The kernel's side (:func:`encode`, :func:`snapshot`) runs in the student's process, so it proves nothing:
the student can replace it and send any bytes. What matters is the judge's side, :func:`decode`, which
reads a reply as data only. JSON text, capped in size and depth, of exactly these forms:

- ``null``, booleans, numbers, strings, and JSON lists (Python lists);
- ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` (keys of the plain kinds above);
- ``{"tensor": {"dtype", "shape", "data", ...}}``: the raw bytes of one of :data:`DTYPES`, rebuilt as a new,
  plain ``torch.Tensor`` whose byte count must match its shape; a ``grad`` and ``requires_grad`` may go with it;
- ``{"ndarray": ...}`` the same for NumPy; ``{"dtype": "float32"}`` a torch dtype;
- ``{"handle": {"number": n, "type": "...", "callable": bool}}``: an object that stays in the kernel (a student's
  function or module), which the judge may call or ask for attributes, one request at a time;
- ``{"unsupported": "..."}``: something that is no answer (a ``torch.Tensor`` subclass, say).

Nothing in a reply is ever unpickled or executed; whatever the kernel sends, the judge ends up holding plain
tensors, numbers and strings, and a comparison it makes is its own.
"""

from __future__ import annotations

import base64
import json
import math
import types

import torch

MAX_REPLY_CHARS = 256 * 1024 ** 2
MAX_JSON_VALUES = 1_000_000  # lists, objects and separated items of one JSON text: what parsing it can build
MAX_DEPTH = 64
MAX_ITEMS = 100_000  # items of one list materialised from an iterator
DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in (
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16,
    torch.float32, torch.float64, torch.complex64, torch.complex128)}
PLAIN_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
# what the kernel says of a value it cannot send; the judge shows only these words, never the kernel's own
NESTED_TOO_DEEPLY = "nested too deeply"
TENSOR_SUBCLASS = "tensor subclass"
UNSUPPORTED = {NESTED_TOO_DEEPLY: "the answer is nested too deeply",
               TENSOR_SUBCLASS: "the answer is a subclass of torch.Tensor, not a plain tensor"}
UNSUPPORTED_OTHER = "the answer is not plain data"


class NotAnAnswer(Exception):
    """A reply that is not plain data of the forms above; the message says what was wrong."""


# -- the kernel's side ------------------------------------------------------------------------------


class Encoder:
    """Turns a value into plain data; objects that are not data stay behind, as numbered handles."""

    def __init__(self, handles: dict):
        self.handles = handles

    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            return {"unsupported": NESTED_TOO_DEEPLY}
        if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
            return value
        if type(value) in PLAIN_TENSOR_TYPES:
            return {"tensor": self._tensor(value, depth)}
        if isinstance(value, torch.Tensor):
            return {"unsupported": TENSOR_SUBCLASS}
        if isinstance(value, torch.dtype):
            return {"dtype": str(value).removeprefix("torch.")}
        if type(value) is list:
            return [self.encode(item, depth + 1) for item in value]
        if type(value) in (tuple, torch.Size):
            return {"tuple": [self.encode(item, depth + 1) for item in value]}
        if type(value) is dict:
            return {"dict": [[self.encode(key, depth + 1), self.encode(item, depth + 1)]
                             for key, item in value.items()]}
        if isinstance(value, types.GeneratorType):  # e.g. module.parameters(): the judge gets the list
            return [self.encode(item, depth + 1) for _, item in zip(range(MAX_ITEMS), value)]
        numpy_form = self._numpy(value)
        if numpy_form is not None:
            return numpy_form
        return self.handle(value)

    def handle(self, value) -> dict:
        number = len(self.handles)
        self.handles[number] = value
        kind = type(value)
        return {"handle": {"number": number, "type": f"{kind.__module__}.{kind.__qualname__}",
                           "callable": callable(value)}}

    def _tensor(self, tensor: torch.Tensor, depth: int) -> dict:
        if tensor.layout != torch.strided or tensor.is_quantized or tensor.device.type == "meta":
            raise TypeError("only dense tensors can be sent")
        plain = tensor.detach().cpu().contiguous()
        data = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
        encoded = {"dtype": str(plain.dtype).removeprefix("torch."), "shape": list(plain.shape),
                   "data": base64.b64encode(data).decode("ascii"), "requires_grad": tensor.requires_grad,
                   "parameter": isinstance(tensor, torch.nn.Parameter)}
        if tensor.grad is not None and depth < MAX_DEPTH:
            encoded["grad"] = self.encode(tensor.grad, depth + 1)
        return encoded

    @staticmethod
    def _numpy(value):
        numpy = __import__("sys").modules.get("numpy")
        if numpy is None:
            return None
        if isinstance(value, numpy.generic) and not isinstance(value, (numpy.void, numpy.object_)):
            return value.item()
        if type(value) is numpy.ndarray and value.dtype != object:
            return {"ndarray": Encoder._tensor(Encoder({}), torch.from_numpy(numpy.ascontiguousarray(value)), 0)}
        return None


def snapshot(value, encoder: Encoder, depth: int = 0):
    """What a call left of an argument the judge lent it: tensors (and their gradients), the parameters and
    buffers of a module, an optimiser's state; None for anything else (it is not copied back)."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, torch.Tensor):
        return encoder.encode(value) if type(value) in PLAIN_TENSOR_TYPES else None
    if isinstance(value, torch.nn.Module):
        return {"module": [[name, encoder.encode(tensor)] for name, tensor in
                           [*value.named_parameters(), *value.named_buffers()]]}
    if isinstance(value, torch.optim.Optimizer):
        return {"optimizer": encoder.encode(value.state_dict())}
    if type(value) in (list, tuple):
        return {"items": [snapshot(item, encoder, depth + 1) for item in value]}
    if type(value) is dict:
        return {"items": [snapshot(item, encoder, depth + 1) for item in value.values()]}
    return None


def dumps(document) -> str:
    return json.dumps(document, allow_nan=True)


# -- the judge's side ---------------------------------------------------------------------------------


def parse(text: str):
    """The JSON document of a reply, refused when it is too large or not JSON."""
    if not isinstance(text, str):
        raise NotAnAnswer("the reply is not text")
    try:
        return bounded_json_loads(text)
    except ValueError as error:
        raise NotAnAnswer(str(error) if isinstance(error, TooLarge) else "the reply is not JSON") from error


class TooLarge(ValueError):
    """A JSON text that would cost more to read than any honest answer: too long, too many values, too deep."""


def bounded_json_loads(text: str | bytes, max_chars: int | None = None):
    """``json.loads``, refused (:class:`TooLarge`) before parsing when the text is longer than ``max_chars`` or
    could build more than :data:`MAX_JSON_VALUES` values (``[],`` builds a list for every 3 bytes, 20 times their
    size in memory), and when it nests deeper than Python's recursion limit. ``max_chars`` defaults to
    :data:`MAX_REPLY_CHARS`."""
    max_chars = MAX_REPLY_CHARS if max_chars is None else max_chars
    if len(text) > max_chars:
        raise TooLarge(f"the text is larger than {max_chars // 1024 ** 2} MiB")
    marks = (b",", b"[", b"{") if isinstance(text, bytes) else (",", "[", "{")
    if sum(text.count(mark) for mark in marks) > MAX_JSON_VALUES:
        raise TooLarge(f"the text holds more than {MAX_JSON_VALUES:,} values")
    try:
        return json.loads(text)
    except RecursionError:
        raise TooLarge("the text is nested too deeply") from None


def decode(text: str, make_handle, seen_text: list | None = None):
    """The plain value a reply holds (see :class:`Decoder`)."""
    return Decoder(make_handle, seen_text if seen_text is not None else []).value(parse(text), 0)


class Decoder:
    """Reads the plain forms above and nothing else.

    ``make_handle(number, type_name, is_callable)`` builds the judge's stand-in for an object left in the
    kernel; every string met is appended to ``seen_text``, so that the judge can keep the student's text out
    of what it reports.
    """

    def __init__(self, make_handle, seen_text: list):
        self.make_handle = make_handle
        self.seen_text = seen_text

    def value(self, node, depth: int):
        if depth > MAX_DEPTH:
            raise NotAnAnswer("the answer is nested too deeply")
        if node is None or isinstance(node, bool) or type(node) in (int, float):
            return node
        if isinstance(node, str):
            self.seen_text.append(node)
            return node
        if isinstance(node, list):
            return [self.value(item, depth + 1) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise NotAnAnswer("the answer is not plain data")
        (kind, body), = node.items()
        if kind == "tuple":
            return tuple(self.value(item, depth + 1) for item in self._list(body))
        if kind == "dict":
            return self._dict(body, depth)
        if kind == "tensor":
            return self.tensor(body, depth)
        if kind == "ndarray":
            return self.tensor(body, depth).numpy()
        if kind == "dtype":
            return self._dtype(body)
        if kind == "handle":
            return self._handle(body)
        if kind == "unsupported":
            raise NotAnAnswer(UNSUPPORTED.get(body, UNSUPPORTED_OTHER))
        raise NotAnAnswer("the answer holds a kind of value that is not plain data")

    @staticmethod
    def _list(body) -> list:
        if not isinstance(body, list):
            raise NotAnAnswer("the answer is not plain data")
        return body

    def _dict(self, body, depth: int) -> dict:
        result = {}
        for pair in self._list(body):
            if not isinstance(pair, list) or len(pair) != 2:
                raise NotAnAnswer("the answer is not plain data")
            key = self.value(pair[0], depth + 1)
            try:
                result[key] = self.value(pair[1], depth + 1)
            except TypeError as error:  # an unhashable key
                raise NotAnAnswer("a dictionary key of the answer is not hashable") from error
        return result

    @staticmethod
    def _dtype(body) -> torch.dtype:
        if body not in DTYPES:
            raise NotAnAnswer("the answer has a dtype the grader does not read")
        return DTYPES[body]

    def tensor(self, body, depth: int) -> torch.Tensor:
        if not isinstance(body, dict):
            raise NotAnAnswer("a tensor in the answer is malformed")
        dtype = self._dtype(body.get("dtype"))
        shape = body.get("shape")
        if not isinstance(shape, list) or not all(type(side) is int and side >= 0 for side in shape):
            raise NotAnAnswer("a tensor in the answer has a malformed shape")
        try:
            data = base64.b64decode(body.get("data", ""), validate=True)
        except (ValueError, TypeError) as error:
            raise NotAnAnswer("a tensor in the answer has malformed data") from error
        itemsize = torch.empty((), dtype=dtype).element_size()
        if math.prod(shape) * itemsize != len(data):
            raise NotAnAnswer("a tensor in the answer has the wrong number of bytes for its shape")
        if data:
            tensor = torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape).clone()
        else:
            tensor = torch.empty(shape, dtype=dtype)
        if body.get("parameter") is True:
            tensor = torch.nn.Parameter(tensor, requires_grad=bool(body.get("requires_grad")))
        elif body.get("requires_grad") is True and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_()
        if body.get("grad") is not None:
            grad = self.value(body["grad"], depth + 1)
            if not isinstance(grad, torch.Tensor) or grad.shape != tensor.shape or grad.dtype != tensor.dtype:
                raise NotAnAnswer("a tensor's gradient in the answer does not match the tensor")
            tensor.grad = grad
        return tensor

    def _handle(self, body):
        if not isinstance(body, dict) or type(body.get("number")) is not int or not isinstance(body.get("type"), str):
            raise NotAnAnswer("an object in the answer is malformed")
        type_name = body["type"][:200]
        self.seen_text.append(type_name)
        return self.make_handle(body["number"], type_name, body.get("callable") is True)
