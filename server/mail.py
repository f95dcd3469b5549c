"""The notification mail and its delivery over SMTP (docs/deployment.md "Notifications").

Every mail is the same but for its recipient and unsubscribe link: it says that something is
waiting in Kluis and nothing else, no name, no title, no organisation, no content, not even
which kind of thing it is, because it crosses mail servers Kluis knows nothing about. Mails of
one batch go over one SMTP connection (STARTTLS unless switched off, then the login).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .config import Settings

SUBJECT = "Er staat iets nieuws voor u klaar in Kluis"
BODY = """\
Goedendag,

Er staat iets nieuws voor u klaar in Kluis. Log in om te zien wat het is:
{site}

Wilt u deze e-mails niet meer krijgen? Meld u af met deze link:
{unsubscribe}

Deze e-mail zegt met opzet niet wat er voor u klaarstaat: e-mail is niet versleuteld.

---

Something new is waiting for you in Kluis. Log in to see what it is: {site}
To stop these e-mails: {unsubscribe}
"""

logger = logging.getLogger("kluis.server")


@dataclass(frozen=True)
class Outgoing:
    """One mail to send: to whom, and the link that unsubscribes them."""

    user_id: str
    email: str
    unsubscribe_url: str


def compose(settings: Settings, mail: Outgoing) -> EmailMessage:
    assert settings.smtp_from is not None and settings.public_url is not None
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = mail.email
    message["Subject"] = SUBJECT
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    # RFC 8058: mail programs show an "unsubscribe" button that POSTs to the link at once.
    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(BODY.format(site=settings.public_url, unsubscribe=mail.unsubscribe_url))
    return message


def send(settings: Settings, mails: Sequence[Outgoing]) -> list[Outgoing]:
    """Send `mails` over one connection; return those the mail server took or refused for
    good (a refused address is not retried forever). A failure of the connection itself
    raises (smtplib.SMTPException or OSError): the batch stays queued and is tried again."""
    assert settings.smtp_host is not None
    done: list[Outgoing] = []
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user is not None and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        for mail in mails:
            try:
                smtp.send_message(compose(settings, mail))
            except smtplib.SMTPRecipientsRefused as exc:
                if not _refused_for_good([code for code, _ in exc.recipients.values()], mail):
                    continue
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code in (421,):  # the server is closing the connection
                    raise
                if not _refused_for_good([exc.smtp_code], mail):
                    continue
            done.append(mail)
    return done


def _refused_for_good(codes: list[int], mail: Outgoing) -> bool:
    """Log a refusal (without the address: the log is no place for personal data); true if
    it is permanent (5xx), false if the mail is to be tried again later (4xx)."""
    permanent = all(code >= 500 for code in codes)
    logger.warning(
        "notification mail for user %s refused (%s)%s",
        mail.user_id,
        ", ".join(map(str, codes)),
        "" if permanent else "; tried again later",
    )
    return permanent
