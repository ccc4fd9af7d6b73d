"""A real SMTP server (aiosmtpd) on 127.0.0.1 for email tests."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler that keeps every message received.

    `reply_delay` seconds pass between receiving a message and answering 250: set it above the
    client's timeout to reproduce a server that takes the mail but answers too late.
    """

    def __init__(self):
        self.messages = []
        self.reply_delay = 0.0
        self.refuse = {}  # recipient address -> the SMTP answer that refuses it, such as "550 5.1.1 No such user"
        self.quit_reply = ""  # set to answer QUIT with something other than 221

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_reply or "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.original_content or envelope.content)))
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [message["Message-ID"] for _rcpts, message in self.messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """(controller, inbox) of a running local SMTP server."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()
