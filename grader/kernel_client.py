"""The grader's client of a student's kernel: every message read within bounds, an unreadable one passed over.

jupyter_client's default reader of kernel messages, orjson, recurses on the C stack and crashes the grader's
process on a message nested a few hundred thousand levels deep, which a student's code can send; and any reader
would spend gigabytes on a message of nothing but empty lists. :func:`read_message_part` is the session's reader
instead, and :class:`ReadableMessagesClient` passes over what it refuses, as if the kernel had never sent it; so it
does with a message whose parts are not the JSON objects jupyter_client and nbclient index without checking
(:func:`well_formed`), on which they would fail the whole run.
"""

from __future__ import annotations

import time

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

from course import wire

MESSAGE_ENVELOPE_CHARS = 1024 ** 2  # what a message of the kernel's may hold beyond the judge's reply


def read_message_part(data: bytes | str):
    """One JSON part of a kernel message (``Session.unpacker``), through :func:`course.wire.bounded_json_loads`."""
    return wire.bounded_json_loads(data, wire.MAX_REPLY_CHARS + MESSAGE_ENVELOPE_CHARS)


def well_formed(message) -> bool:
    """Whether a message's header (naming its type), parent header, metadata and content are JSON objects."""
    return (isinstance(message, dict)
            and all(isinstance(message.get(part), dict) for part in ("header", "parent_header", "metadata", "content"))
            and isinstance(message["header"].get("msg_type"), str))


class _ReadableMessagesChannel(AsyncZMQSocketChannel):
    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                message = await super().get_msg(remaining)
            except (wire.TooLarge, KeyError, TypeError, AttributeError):  # too large, or a header jupyter cannot read
                continue
            if well_formed(message):
                return message


class ReadableMessagesClient(AsyncKernelClient):
    """jupyter_client's kernel client, passing over every message :func:`read_message_part` refuses."""

    shell_channel_class = Type(_ReadableMessagesChannel)
    iopub_channel_class = Type(_ReadableMessagesChannel)
    stdin_channel_class = Type(_ReadableMessagesChannel)
    control_channel_class = Type(_ReadableMessagesChannel)
