"""The grader's client of a student's kernel: every message read within bounds, an unreadable one passed over.

jupyter_client's default reader of kernel messages, orjson, recurses on the C stack and crashes the grader's
process on a message nested a few hundred thousand levels deep, which a student's code can send; and any reader
would spend gigabytes on a message of nothing but empty lists. :func:`read_message_part` is the session's reader
instead, and :class:`ReadableMessagesClient` passes over what it refuses, as if the kernel had never sent it.
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


class _ReadableMessagesChannel(AsyncZMQSocketChannel):
    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await super().get_msg(remaining)
            except wire.TooLarge:
                continue


class ReadableMessagesClient(AsyncKernelClient):
    """jupyter_client's kernel client, passing over every message :func:`read_message_part` refuses."""

    shell_channel_class = Type(_ReadableMessagesChannel)
    iopub_channel_class = Type(_ReadableMessagesChannel)
    stdin_channel_class = Type(_ReadableMessagesChannel)
    control_channel_class = Type(_ReadableMessagesChannel)
