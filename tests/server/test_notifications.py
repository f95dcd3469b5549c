"""E-mail notifications on the server (docs/api.md "Notifications"), mailed to a real SMTP
server on loopback: who is told about what, that a mail says nothing but that something is
waiting, opting out and the unsubscribe link (both delete the address), addresses and SMTP
settings that are refused. The end-to-end runs with real server processes (restarts,
replicas) are in test_notifications_live.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from server.config import Settings
from server.mail import SUBJECT
from server.notification_models import NotifyJob, NotifySetting
from vault.kinds import Role

from .harness import (
    Account,
    FakeClock,
    Kluis,
    TestClient,
    assert_problem,
    b64,
    grant_in,
    make_client,
)
from .smtp_sink import PUBLIC_URL, SENDER, Received, SmtpSink
from .test_group_messages import klmg
from .test_groups import conversation, group
from .test_organisations import add_member, org, receipt_body, shared_dossier

ALICE_MAIL = "r.jansen@example.nl"
BOB_MAIL = "p.devries@example.org"


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def settings(
    data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch, sink: SmtpSink
) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    for name, value in sink.env().items():
        monkeypatch.setenv(name, value)
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest.fixture
def mails(sink: SmtpSink) -> Iterator[SmtpSink]:
    """The sink, emptied before the test (it is shared by the module's tests)."""
    with sink.lock:
        sink.mails.clear()
    yield sink


def opt_in(kluis: Kluis, who: Account, email: str, **topics: bool) -> Any:
    return kluis.put("/notify", who, json={"email": email, **topics})


def to(mails: list[Received]) -> list[str]:
    return sorted(address for m in mails for address in m.rcpt_tos)


def assert_reveals_nothing(mail: Received, *secrets: str) -> None:
    """The mail is the fixed text: from Kluis, to one address, with no name, id or title."""
    message = mail.message
    assert message["Subject"] == SUBJECT and message["From"] == SENDER
    body = message.get_content()
    assert PUBLIC_URL in body and "/api/v1/notify/unsubscribe?token=" in body
    # Every header and the body, decoded, without the unsubscribe token: it is random, so a short
    # name ("bob") turns up in it by chance now and then.
    token = re.search(r"unsubscribe\?token=([^\s>]+)", body)
    assert token is not None
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    text = f"{headers}\n{body}".replace(token.group(1), "").lower()
    for secret in secrets:
        assert secret.lower() not in text, secret


# -- who is told about what ----------------------------------------------------------------------
def test_a_share_mails_the_recipient_that_something_waits_and_nothing_more(
    kluis: Kluis, alice: Account, bob: Account, mails: SmtpSink
) -> None:
    assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
    dossier_id = kluis.create_dossier(bob)
    kluis.share(bob, dossier_id, grant_in(alice.user_id))
    [mail] = mails.wait_for(1)
    assert mail.rcpt_tos == (ALICE_MAIL,)
    assert_reveals_nothing(
        mail, "bob", "alice", bob.user_id, alice.user_id, dossier_id, "dossier", "gedeeld"
    )
    assert to(mails.quiet()) == [ALICE_MAIL]


def test_a_burst_of_shares_makes_one_mail(
    settings: Settings, clock: FakeClock, mails: SmtpSink
) -> None:
    # The delay is on the server's clock, which the test moves: three shares within it are one
    # job, however slowly a busy machine makes the requests.
    slow = settings.model_copy(update={"notify_delay_seconds": 60})
    with make_client(slow, clock) as client:
        kluis = Kluis(client, clock)
        alice, bob = kluis.register("alice"), kluis.register("bob")
        assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
        for _ in range(3):
            kluis.share(bob, kluis.create_dossier(bob), grant_in(alice.user_id))
            clock.advance(10)
        assert len(stored(client)[1]) == 1
        assert mails.quiet() == []
        clock.advance(31)
        mails.wait_for(1)
        assert to(mails.quiet()) == [ALICE_MAIL]


def test_nobody_is_mailed_who_did_not_opt_in_nor_for_their_own_actions(
    kluis: Kluis, alice: Account, bob: Account, mails: SmtpSink
) -> None:
    assert opt_in(kluis, bob, BOB_MAIL).status_code == 200
    dossier_id = kluis.create_dossier(bob, [grant_in(bob.user_id)])
    kluis.share(bob, dossier_id, grant_in(bob.user_id, number=2))  # his own key copy
    kluis.share(bob, dossier_id, grant_in(alice.user_id))  # alice did not opt in
    assert mails.quiet() == []


def test_a_topic_switched_off_is_not_mailed(
    kluis: Kluis, alice: Account, bob: Account, mails: SmtpSink
) -> None:
    assert opt_in(kluis, alice, ALICE_MAIL, shares=False).status_code == 200
    kluis.share(bob, kluis.create_dossier(bob), grant_in(alice.user_id))
    assert mails.quiet() == []


def test_a_share_with_an_organisation_mails_its_members_not_the_owner(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account, mails: SmtpSink
) -> None:
    created = org(kluis, alice, "gemeente-eemsdelta")
    assert add_member(kluis, alice, created["org_id"], bob).status_code == 201
    assert opt_in(kluis, bob, BOB_MAIL).status_code == 200
    assert opt_in(kluis, mallory, "m@example.nl").status_code == 200
    dossier_id = shared_dossier(kluis, mallory, created["org_id"])
    [mail] = mails.wait_for(1)
    assert_reveals_nothing(mail, "gemeente", "eemsdelta", "mallory", dossier_id, created["org_id"])
    assert to(mails.quiet()) == [BOB_MAIL]


def test_a_receipt_mails_the_dossier_owner(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account, mails: SmtpSink
) -> None:
    created = org(kluis, alice, "instituut-mijnbouwschade")
    dossier_id = shared_dossier(kluis, mallory, created["org_id"])
    assert opt_in(kluis, mallory, "m@example.nl").status_code == 200
    answer = kluis.post(
        f"/dossiers/{dossier_id}/receipts", alice, json=receipt_body(created["org_id"])
    )
    assert answer.status_code == 201, answer.text
    [mail] = mails.wait_for(1)
    assert_reveals_nothing(mail, "instituut", "mijnbouwschade", "alice", dossier_id)
    assert to(mails.quiet()) == ["m@example.nl"]


def test_a_personal_message_and_a_group_post_mail_the_other_members(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account, mails: SmtpSink
) -> None:
    chat = conversation(kluis, alice)["org_id"]
    assert add_member(kluis, alice, chat, bob, role=Role.ADMIN).status_code == 201
    village = group(kluis, alice, "dorpsbelangen-t-zandt")["org_id"]
    assert add_member(kluis, alice, village, mallory).status_code == 201
    assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
    assert opt_in(kluis, bob, BOB_MAIL).status_code == 200
    assert opt_in(kluis, mallory, "m@example.nl", group_posts=False).status_code == 200
    posted = kluis.post(
        f"/organisations/{chat}/messages", bob, json={"message": b64(klmg(chat, bob))}
    )
    assert posted.status_code == 201, posted.text
    [mail] = mails.wait_for(1)
    assert_reveals_nothing(mail, "bob", "alice", chat, bob.user_id)
    assert to(mails.quiet()) == [ALICE_MAIL]  # not bob, who wrote it
    mails.mails.clear()
    posted = kluis.post(
        f"/organisations/{village}/messages", alice, json={"message": b64(klmg(village, alice))}
    )
    assert posted.status_code == 201, posted.text
    assert mails.quiet() == []  # mallory, the only other member, switched group posts off


# -- opting out ----------------------------------------------------------------------------------
def stored(client: TestClient) -> tuple[list[NotifySetting], list[NotifyJob]]:
    with Session(client.app.state.engine) as session:
        return list(session.exec(select(NotifySetting))), list(session.exec(select(NotifyJob)))


def test_opting_out_deletes_the_address_and_the_queued_mail(
    settings: Settings, clock: FakeClock, sink: SmtpSink
) -> None:
    slow = settings.model_copy(update={"notify_delay_seconds": 3600})
    with make_client(slow, clock) as client:
        kluis = Kluis(client, clock)
        alice, bob = kluis.register("alice"), kluis.register("bob")
        assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
        kluis.share(bob, kluis.create_dossier(bob), grant_in(alice.user_id))
        rows, jobs = stored(client)
        assert [r.email for r in rows] == [ALICE_MAIL] and len(jobs) == 1
        assert kluis.delete("/notify", alice).status_code == 204
        assert stored(client) == ([], [])
        assert kluis.get("/notify", alice).json() == {
            "offered": True, "email": None, "shares": False, "receipts": False,
            "messages": False, "group_posts": False,
        }  # fmt: skip


def unsubscribe_link(mail: Received) -> str:
    line = next(w for w in mail.message.get_content().split() if "/notify/unsubscribe" in w)
    parts = urlsplit(line)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    return f"{parts.path}?{parts.query}"


def test_the_unsubscribe_link_asks_first_then_deletes_the_address(
    kluis: Kluis, client: TestClient, alice: Account, bob: Account, mails: SmtpSink
) -> None:
    assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
    kluis.share(bob, kluis.create_dossier(bob), grant_in(alice.user_id))
    [mail] = mails.wait_for(1)
    link = unsubscribe_link(mail)
    assert mail.message["List-Unsubscribe"] == f"<{PUBLIC_URL}{link}>"
    page = client.get(link)  # a mail scanner fetching the link unsubscribes nobody
    assert page.status_code == 200 and 'method="post"' in page.text and "Afmelden" in page.text
    assert len(stored(client)[0]) == 1
    done = client.post(link, data={"List-Unsubscribe": "One-Click"})  # RFC 8058
    assert done.status_code == 200 and "afgemeld" in done.text
    assert stored(client) == ([], [])
    again = client.post(link)
    assert again.status_code == 404


def test_a_new_address_makes_the_old_unsubscribe_links_stop_working(
    kluis: Kluis, client: TestClient, alice: Account, bob: Account, mails: SmtpSink
) -> None:
    assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
    kluis.share(bob, kluis.create_dossier(bob), grant_in(alice.user_id))
    old = unsubscribe_link(mails.wait_for(1)[0])
    assert opt_in(kluis, alice, "nieuw@example.nl").status_code == 200
    assert client.post(old).status_code == 404
    assert [r.email for r in stored(client)[0]] == ["nieuw@example.nl"]


@pytest.mark.parametrize("token", ["", "x" * 43 + "=", "../" * 15, "a" * 42, "a" * 44])
def test_a_malformed_unsubscribe_token_is_refused(client: TestClient, token: str) -> None:
    assert client.post("/api/v1/notify/unsubscribe", params={"token": token}).status_code == 422


def test_someone_elses_token_guessed_unsubscribes_nobody(
    kluis: Kluis, client: TestClient, alice: Account
) -> None:
    assert opt_in(kluis, alice, ALICE_MAIL).status_code == 200
    assert client.post("/api/v1/notify/unsubscribe", params={"token": "A" * 43}).status_code == 404
    assert len(stored(client)[0]) == 1


# -- what is refused ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "email",
    [
        "r.jansen@example.nl\r\nBcc: everyone@example.nl",
        "r.jansen@example.nl\nSubject: spam",
        "Jansen <r.jansen@example.nl>",
        "r.jansen@localhost",
        "geen-adres",
        "a" * 250 + "@example.nl",
        "",
    ],
)
def test_an_address_that_is_no_address_is_refused(
    kluis: Kluis, client: TestClient, alice: Account, email: str
) -> None:
    assert_problem(opt_in(kluis, alice, email), 422, "validation_error")
    assert stored(client) == ([], [])


def test_opting_in_needs_a_login(client: TestClient) -> None:
    assert client.put("/api/v1/notify", json={"email": ALICE_MAIL}).status_code == 401


def test_a_server_without_smtp_offers_no_notifications(
    data_dir: Path, database_url: str | None, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    with make_client(Settings(data_dir=data_dir, database_url=database_url), clock) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        assert kluis.get("/notify", alice).json()["offered"] is False
        assert_problem(opt_in(kluis, alice, ALICE_MAIL), 409, "notifications_not_offered")
        assert stored(client) == ([], [])


@pytest.mark.parametrize(
    "smtp",
    [
        {"smtp_from": SENDER},  # no host
        {"smtp_host": "smtp://mail.example.nl", "smtp_from": SENDER, "public_url": PUBLIC_URL},
        {"smtp_host": "mail.example.nl:25", "smtp_from": SENDER, "public_url": PUBLIC_URL},
        {"smtp_host": "mail.example.nl", "public_url": PUBLIC_URL},  # no sender
        {"smtp_host": "mail.example.nl", "smtp_from": "Kluis", "public_url": PUBLIC_URL},
        {"smtp_host": "mail.example.nl", "smtp_from": SENDER},  # no public URL
        {"smtp_host": "mail.example.nl", "smtp_from": SENDER, "public_url": "kluis.nl"},
        {"smtp_host": "mail.example.nl", "smtp_from": SENDER, "public_url": "http://kluis.nl"},
        {
            "smtp_host": "mail.example.nl",
            "smtp_from": SENDER,
            "public_url": PUBLIC_URL,
            "smtp_user": "kluis",
        },
        {
            "smtp_host": "mail.example.nl",
            "smtp_from": SENDER,
            "public_url": PUBLIC_URL,
            "smtp_user": "kluis",
            "smtp_password": "geheim",
            "smtp_starttls": False,
        },
        {
            "smtp_host": "mail.example.nl",
            "smtp_from": SENDER,
            "public_url": PUBLIC_URL,
            "smtp_port": 0,
        },
    ],
)
def test_smtp_settings_that_cannot_work_or_would_leak_stop_the_server(
    tmp_path: Path, smtp: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, **smtp)
