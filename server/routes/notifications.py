"""E-mail notifications (docs/api.md "Notifications"): the caller's own choice (opt in, change,
opt out) and the unsubscribe link a mail carries, which works without logging in.

The unsubscribe link answers a GET with a page holding one button (mail scanners fetch links
in mails; a GET that unsubscribed would unsubscribe people who never clicked) and a POST, the
button's or a mail program's one-click request (RFC 8058), by deleting the address at once.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import Query, Response, status
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from .. import notifications
from ..db import writes
from ..deps import CurrentUser, NowDep, SessionDep, SettingsDep
from ..notification_models import NotifyIn, NotifyPublic, NotifySetting
from ..problems import conflict
from .router import resource_router

router = resource_router("notifications")

NOT_OFFERED = "notifications_not_offered"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105  (the form of a token)
TokenQuery = Annotated[str, Query(pattern=TOKEN_PATTERN)]

PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kluis: e-mails</title></head>
<body><main>{body}</main></body></html>
"""
CONFIRM = """<h1>Geen e-mails meer van Kluis?</h1>
<p>Als u op de knop drukt, wist Kluis uw e-mailadres. U krijgt dan geen berichten meer dat er
iets voor u klaarstaat.</p>
<form method="post" action="{action}"><button type="submit">Afmelden</button></form>
<p lang="en">Stop the e-mails from Kluis: press the button and Kluis deletes your address.</p>
"""
DONE = """<h1>U bent afgemeld</h1>
<p>Kluis heeft uw e-mailadres gewist. U krijgt geen e-mails meer.</p>
<p lang="en">You are unsubscribed: Kluis deleted your e-mail address.</p>
"""
UNKNOWN = """<h1>Deze link werkt niet (meer)</h1>
<p>Misschien bent u al afgemeld. In Kluis ziet u onder Meldingen of u e-mails krijgt.</p>
<p lang="en">This link does not work (any more); perhaps you already unsubscribed.</p>
"""


def _page(body: str, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status_code)


@router.get("/notify")
def get_choice(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> NotifyPublic:
    row = session.get(NotifySetting, user.user_id)
    return NotifyPublic.of(settings.notifications_offered, row)


@router.put("/notify")
@writes
def opt_in(
    body: NotifyIn, user: CurrentUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> NotifyPublic:
    """Store the address (replacing an earlier one, whose unsubscribe links stop working)."""
    if not settings.notifications_offered:
        raise conflict("this server sends no e-mail notifications", NOT_OFFERED)
    nonce = notifications.new_nonce()
    digest = notifications.token_hash(notifications.unsubscribe_token(settings.secret_key, nonce))
    row = session.get(NotifySetting, user.user_id)
    if row is None:
        row = NotifySetting(
            user_id=user.user_id,
            email=body.email,
            topics=0,
            unsubscribe_nonce=nonce,
            unsubscribe_hash=digest,
            created_at=now,
        )
    row.email = body.email
    row.topics = int(body.topics())
    row.unsubscribe_nonce = nonce
    row.unsubscribe_hash = digest
    session.add(row)
    session.commit()
    return NotifyPublic.of(True, row)


@router.delete("/notify", status_code=status.HTTP_204_NO_CONTENT)
@writes
def opt_out(user: CurrentUser, session: SessionDep) -> Response:
    notifications.forget(session, user.user_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/notify/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(token: TokenQuery) -> HTMLResponse:
    action = html.escape(f"{notifications.UNSUBSCRIBE_PATH}?token={token}")
    return _page(CONFIRM.format(action=action))


@router.post(
    "/notify/unsubscribe",
    response_class=HTMLResponse,
    responses={404: {"description": "no such (or no longer a) link", "content": {"text/html": {}}}},
)
@writes
def unsubscribe(token: TokenQuery, session: SessionDep) -> HTMLResponse:
    user_id = session.exec(
        select(NotifySetting.user_id).where(
            col(NotifySetting.unsubscribe_hash) == notifications.token_hash(token)
        )
    ).first()
    if user_id is None:
        return _page(UNKNOWN, status.HTTP_404_NOT_FOUND)
    notifications.forget(session, user_id)
    session.commit()
    return _page(DONE)
