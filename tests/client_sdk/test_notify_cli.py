"""`kluis notify on/status/off` through the real CLI against a real server process that mails a
real SMTP server on loopback: a dossier shared through the SDK brings a mail that names no
one and nothing; the address the user gives is refused if it is none (exit 1); opting out and
the mail's unsubscribe link both make the server forget the address."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from client_sdk import Client

from ..conftest import LiveServer, LiveServerFactory
from ..server.smtp_sink import SmtpSink
from .cli_runner import Person

PASSPHRASE = "een lange zin voor de test van meldingen"
ADDRESS = "r.jansen@example.nl"
TITLE = "Schade Hoofdstraat 12 Loppersum"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def server(live_server_factory: LiveServerFactory, sink: SmtpSink) -> LiveServer:
    return live_server_factory(env=sink.env())


def person(server: LiveServer, root: Path, name: str) -> Person:
    with Client(server.url, str(root / name)) as c:
        c.register(name, PASSPHRASE)
    return Person(server.url, root / name, PASSPHRASE)


def status(who: Person) -> dict[str, object]:
    answer: dict[str, object] = json.loads(who.ok("notify", "status", "--json"))
    return answer


def test_a_share_brings_a_mail_that_names_nothing_and_off_forgets_the_address(
    server: LiveServer, sink: SmtpSink, tmp_path: Path
) -> None:
    anna, bert = person(server, tmp_path, "anna"), person(server, tmp_path, "bert")
    said = anna.ok("notify", "on", ADDRESS)
    assert "keeps this address" in said
    everything = ["group_posts", "messages", "receipts", "shares"]
    assert status(anna) == {"offered": True, "email": ADDRESS, "topics": everything}
    with Client(server.url, str(bert.profile)) as c:
        c.login("bert", PASSPHRASE)
        dossier_id = c.create_dossier(TITLE)
        c.share(dossier_id, "anna")
    [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == (ADDRESS,)
    text = mail.raw.decode().lower()
    for secret in ("anna", "bert", "hoofdstraat", "loppersum", dossier_id):
        assert secret not in text
    anna.ok("notify", "off")
    assert status(anna) == {"offered": True, "email": None, "topics": []}


def test_the_unsubscribe_link_in_the_mail_forgets_the_address(
    server: LiveServer, sink: SmtpSink, tmp_path: Path
) -> None:
    anna, bert = person(server, tmp_path, "anna"), person(server, tmp_path, "bert")
    anna.ok("notify", "on", ADDRESS, "--only", "shares")
    assert status(anna)["topics"] == ["shares"]
    with Client(server.url, str(bert.profile)) as c:
        c.login("bert", PASSPHRASE)
        c.share(c.create_dossier(TITLE), "anna")
    [mail] = sink.wait_for(1)
    link = urlsplit(mail.message["List-Unsubscribe"].strip("<>"))
    answer = httpx.post(
        f"{server.url}{link.path}?{link.query}", data={"List-Unsubscribe": "One-Click"}
    )
    assert answer.status_code == 200
    assert status(anna)["email"] is None


def test_what_the_user_mistyped_is_exit_1_and_nothing_is_stored(
    server: LiveServer, tmp_path: Path
) -> None:
    anna = person(server, tmp_path, "anna")
    for args in (("notify", "on", "geen adres"), ("notify", "on", ADDRESS, "--only", "weer")):
        result = anna.run(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
    assert status(anna)["email"] is None


def test_a_server_without_smtp_says_so(live_server: LiveServer, tmp_path: Path) -> None:
    anna = person(live_server, tmp_path, "anna")
    result = anna.run("notify", "on", ADDRESS)
    assert result.returncode == 1 and "sends no e-mail notifications" in result.stderr
    assert "sends no e-mail" in anna.ok("notify", "status")
