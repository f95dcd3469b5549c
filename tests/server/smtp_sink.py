"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it is given, for the tests
of e-mail notifications; `env()` is the KLUIS_* settings that make a Kluis server use it."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

PUBLIC_URL = "https://kluis.example.nl"
SENDER = "kluis@kluis.example.nl"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes  # everything that left the Kluis server, headers and body

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Keep:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.sink.lock:
            self.sink.mails.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mails: list[Received] = []
        self.lock = threading.Lock()
        self.controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "KLUIS_SMTP_HOST": "127.0.0.1",
            "KLUIS_SMTP_PORT": str(self.port),
            "KLUIS_SMTP_FROM": SENDER,
            "KLUIS_SMTP_STARTTLS": "false",
            "KLUIS_PUBLIC_URL": PUBLIC_URL,
            "KLUIS_NOTIFY_DELAY_SECONDS": "0",
            "KLUIS_NOTIFY_POLL_SECONDS": "0.2",
            **overrides,
        }

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.mails)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The mails, once at least `count` arrived (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.received()
            if len(mails) >= count:
                return mails
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received())} mail(s) arrived, {count} expected")

    def quiet(self, seconds: float = 1.5) -> list[Received]:
        """The mails, after none arrived for `seconds` (what arrives late is counted too)."""
        seen = -1
        while len(mails := self.received()) != seen:
            seen = len(mails)
            time.sleep(seconds)
        return mails
