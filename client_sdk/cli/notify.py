"""`kluis notify ...`: e-mail when something is waiting (on, off, status)."""

from __future__ import annotations

from typing import Annotated

import typer

from .output import out, print_json
from .shared import DEFAULT_SERVER, JsonOpt, ProfileOpt, ServerOpt, client, command, fail

TOPICS_HELP = "Only these, comma-separated: shares, receipts, messages, group_posts (default: all)."
# Said where a person opts in (docs/threat-model.md, "E-mail notifications").
STORED = (
    "The server keeps this address until you run `kluis notify off` or use the unsubscribe "
    "link in a mail. The mails say only that something is waiting: no names, titles or content."
)


@command
def notify_on(
    email: str,
    only: Annotated[str | None, typer.Option("--only", metavar="TOPICS", help=TOPICS_HELP)] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Get an e-mail when something new is waiting for you in Kluis."""
    topics = frozenset(t.strip() for t in only.split(",") if t.strip()) if only else None
    with client(server, profile) as c:
        if not c.notifications.status().offered:
            fail("error: this server sends no e-mail notifications (its operator set none up)")
        choice = (
            c.notifications.opt_in(email)
            if topics is None
            else c.notifications.opt_in(email, topics)
        )
    out.print(f"E-mail notifications on for {choice.email}: {', '.join(sorted(choice.topics))}.",
              markup=False)  # fmt: skip
    out.print(STORED, markup=False)


@command
def notify_off(server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Stop the e-mails; the server deletes your address."""
    with client(server, profile) as c:
        c.notifications.opt_out()
    out.print("E-mail notifications off; the server deleted your address.", markup=False)


@command
def notify_status(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """Show whether you get e-mail notifications, at which address, about what."""
    with client(server, profile) as c:
        choice = c.notifications.status()
    if as_json:
        print_json(
            {"offered": choice.offered, "email": choice.email, "topics": sorted(choice.topics)}
        )
        return
    if not choice.offered:
        out.print("This server sends no e-mail notifications.", markup=False)
    elif choice.email is None:
        out.print("E-mail notifications are off (the server holds no address of yours).",
                  markup=False)  # fmt: skip
    else:
        out.print(f"E-mail notifications on for {choice.email}: "
                  f"{', '.join(sorted(choice.topics))}.", markup=False)  # fmt: skip
