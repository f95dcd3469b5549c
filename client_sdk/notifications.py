"""E-mail notifications: opt in with an address, choose the topics, opt out
(docs/api.md "Notifications").

Nothing here is a security decision: a mail only says that something is waiting, and what is
waiting is checked as always once the user logs in. The address is personal data the server
keeps while the user is opted in (docs/threat-model.md); opting out deletes it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import MalformedError

from .api import ServerApi
from .errors import ClientError

TOPICS = ("shares", "receipts", "messages", "group_posts")


@dataclass(frozen=True)
class NotifyChoice:
    """What the server says it holds for me: whether it sends mails at all, my address (None:
    not opted in) and the topics I chose."""

    offered: bool
    email: str | None
    topics: frozenset[str]

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> NotifyChoice:
        offered, email = value.get("offered"), value.get("email")
        if not isinstance(offered, bool) or not (email is None or isinstance(email, str)):
            raise MalformedError("server answer: the notification choice has the wrong shape")
        topics = frozenset(t for t in TOPICS if value.get(t) is True)
        return cls(offered, email, topics)


class Notifications:
    def __init__(self, api: ServerApi) -> None:
        self.api = api

    def status(self) -> NotifyChoice:
        return NotifyChoice.from_json(self.api.notify_choice())

    def opt_in(self, email: str, topics: frozenset[str] = frozenset(TOPICS)) -> NotifyChoice:
        """Give the server `email` to mail when something about `topics` is waiting."""
        unknown = topics - set(TOPICS)
        if unknown:
            raise ClientError(f"unknown topics: {', '.join(sorted(unknown))}")
        if not topics:
            raise ClientError(f"choose at least one topic of: {', '.join(TOPICS)}")
        body: dict[str, Any] = {"email": email.strip(), **{t: t in topics for t in TOPICS}}
        return NotifyChoice.from_json(self.api.put_notify_choice(body))

    def opt_out(self) -> None:
        """Ask the server to delete the address (and any mail still queued)."""
        self.api.delete_notify_choice()
