"""The tables and API schemas of e-mail notifications (docs/api.md "Notifications").

An e-mail address is personal data on a server Kluis does not trust: a row of
`notify_settings` exists only for a user who opted in, and opting out deletes it (and any mail
still queued for them). `notify_jobs` is the queue: at most one row per user ("something is
waiting for you"), written in the same transaction as the event it announces, so what was
committed is announced even if the process stops right after.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Annotated

from pydantic import AfterValidator, StrictBool
from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from .config import mail_address


class Topic(IntFlag):
    """What a user may be mailed about (a bit each in `NotifySetting.topics`). The mail itself
    never says which: only that something is waiting."""

    SHARE = 1  # a dossier or document was shared with me or my organisation
    RECEIPT = 2  # an organisation filed a receipt for my dossier
    MESSAGE = 4  # a new personal message (a conversation)
    GROUP_POST = 8  # a post in a group I am a member of


ALL_TOPICS = Topic.SHARE | Topic.RECEIPT | Topic.MESSAGE | Topic.GROUP_POST


class NotifySetting(SQLModel, table=True):
    """One user who opted in: where to mail, about what, and the unsubscribe link's secret."""

    __tablename__ = "notify_settings"

    user_id: str = Field(primary_key=True, foreign_key="users.user_id", max_length=32)
    email: str = Field(max_length=254)
    topics: int
    # The unsubscribe token is an HMAC of this nonce under the server secret (so a copy of the
    # database alone makes no links); its SHA-256 finds the row when the link is used.
    unsubscribe_nonce: str = Field(max_length=32)
    unsubscribe_hash: str = Field(unique=True, max_length=64)
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class NotifyJob(SQLModel, table=True):
    """A mail owed to one user, due at `due_at` (Unix seconds)."""

    __tablename__ = "notify_jobs"

    user_id: str = Field(primary_key=True, foreign_key="users.user_id", max_length=32)
    due_at: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))


MailAddress = Annotated[str, AfterValidator(mail_address)]


class NotifyIn(SQLModel):
    """`PUT /notify`: opt in (or change the address or topics)."""

    email: MailAddress
    shares: StrictBool = True
    receipts: StrictBool = True
    messages: StrictBool = True
    group_posts: StrictBool = True

    def topics(self) -> Topic:
        chosen = Topic(0)
        for flag, on in (
            (Topic.SHARE, self.shares),
            (Topic.RECEIPT, self.receipts),
            (Topic.MESSAGE, self.messages),
            (Topic.GROUP_POST, self.group_posts),
        ):
            if on:
                chosen |= flag
        return chosen


class NotifyPublic(SQLModel):
    """`GET /notify`: whether this server offers notifications and, if I opted in, my choice."""

    offered: bool
    email: str | None = None
    shares: bool = False
    receipts: bool = False
    messages: bool = False
    group_posts: bool = False

    @classmethod
    def of(cls, offered: bool, row: NotifySetting | None) -> NotifyPublic:
        if row is None:
            return cls(offered=offered)
        topics = Topic(row.topics)
        return cls(
            offered=offered,
            email=row.email,
            shares=Topic.SHARE in topics,
            receipts=Topic.RECEIPT in topics,
            messages=Topic.MESSAGE in topics,
            group_posts=Topic.GROUP_POST in topics,
        )
