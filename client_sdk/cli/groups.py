"""`kluis group ...`, `post`, `news`, `chat`, `msg`, `agenda`, `event`: village groups and
personal messages on the command line (client_sdk/groups.py does the work and the checks).

Everything shown was verified first: a message chain that does not verify ends the command
with exit status 3 and shows nothing of it. Text written by others is printed literally, its
control characters replaced, so nobody can steer the terminal.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..typed import typed_org_name, typed_username
from .output import CONTROLS, Columns, err, plain, print_json, when
from .shared import DEFAULT_SERVER, JsonOpt, ProfileOpt, ServerOpt, client, command, fail

if TYPE_CHECKING:
    from ..client import Client
    from ..groups import EventView, PostView
    from ..messages import Said

ROLE_HELP = "member, editor (writes posts and events) or admin."
LastOpt = Annotated[int, typer.Option("--last", min=1, help="How many messages to show.")]


def clean(text: str) -> str:
    """Someone else's text, safe for the terminal (line breaks kept)."""
    return "\n".join(line.translate(CONTROLS) for line in text.splitlines())


def line_of(said: Said) -> str:
    from vault.content import Text
    from vault.message import MessageKind

    stamp = datetime.fromtimestamp(said.sent_at).strftime("%Y-%m-%d %H:%M")
    if not said.readable:
        return f"{stamp} {clean(said.sender)}: (from before you joined: not readable)"
    text = clean(said.body.text) if isinstance(said.body, Text) else ""
    mark = "[announcement] " if said.kind == MessageKind.ANNOUNCEMENT else ""
    return f"{stamp} {clean(said.sender)}: {mark}{text}"


# -- kluis group ... ----------------------------------------------------------------------------
@command
def group_create(name: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Create a group; its keys are made on this device and you become its administrator."""
    with client(server, profile) as c:
        org = c.create_group(name)
    plain(f"Group {org.name} created; you are its administrator.")
    plain(f"fingerprint: {org.fingerprint}")


@command
def group_invite(
    name: str,
    username: str,
    role: Annotated[str, typer.Option("--role", metavar="ROLE", help=ROLE_HELP)] = "member",
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Invite a user: the group's keys are sealed to them; they accept with `group accept`."""
    name, username = typed_org_name(name), typed_username(username)
    with client(server, profile) as c:
        org = c.invite(name, username, role)
    plain(f"{username} is invited to {org.name} as {role}; they accept with "
          f"`kluis group accept {org.name}`.")  # fmt: skip


@command
def group_accept(name: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None) -> None:
    """Accept an invitation to a group (check its fingerprint with whoever invited you)."""
    with client(server, profile) as c:
        org = c.accept(typed_org_name(name))
        role = org.role_of(c.my_id)
    plain(f"You are now a {role} of group {org.name}.")
    plain(f"fingerprint: {org.fingerprint}")


@command
def group_remove(
    name: str, username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Remove a member: new keys for everyone else; nothing written from now on opens for them."""
    name, username = typed_org_name(name), typed_username(username)
    with client(server, profile) as c:
        result = c.remove_from_group(name, username)
    plain(f"{username} removed from {name}. New keys (epoch {result.epoch}) for "
          f"{result.members} member(s); {result.rewrapped} share(s) re-wrapped.")  # fmt: skip
    plain("What they could read before stays with them: removal cannot take copies back.")


@command
def group_archive(
    name: str, username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Let a member read what was written before they joined (administrators)."""
    name, username = typed_org_name(name), typed_username(username)
    with client(server, profile) as c:
        count = c.open_archive(name, username)
    plain(f"{username} can now read {count} earlier key epoch(s) of {name}; "
          "sealed to them alone, not to future members.")  # fmt: skip


@command
def group_members(
    name: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A group's members and their roles, from its signed memberships."""
    with client(server, profile) as c:
        org = c.group(typed_org_name(name))
        rows = [
            {"user": c.contact_by_id(u).identity.username, "user_id": u, "role": r}
            for u, r in sorted(org.members().items())
        ]
    if as_json:
        return print_json(rows)
    table = Columns("member", "role", names=("member",))
    for r in sorted(rows, key=lambda r: r["user"]):
        table.add_row(r["user"], r["role"])
    table.print()
    return None


@command
def group_ls(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """Your groups and invitations, each verified on this device."""
    with client(server, profile) as c:
        rows = [
            {
                "name": org.name,
                "role": org.role_of(c.my_id),
                "invitation": not accepted,
                "fingerprint": org.fingerprint,
            }
            for org, accepted in c.groups()
        ]
    if as_json:
        return print_json(rows)
    table = Columns("group", "your role", "status", names=("group",))
    for r in rows:
        table.add_row(r["name"], r["role"], "invitation" if r["invitation"] else "member")
    table.print()
    return None


# -- the news page --------------------------------------------------------------------------------
@command
def post(
    group: str,
    title: Annotated[str | None, typer.Option("--title", help="The post's title.")] = None,
    body_file: Annotated[
        Path | None, typer.Option("--file", metavar="FILE", help="Markdown body ('-': stdin).")
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Readable without an account (village news).")
    ] = False,
    edit: Annotated[
        str | None, typer.Option("--edit", metavar="POST", help="Write a new revision of POST.")
    ] = None,
    delete: Annotated[
        str | None, typer.Option("--delete", metavar="POST", help="Delete POST (administrators).")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Write a post on a group's news page (editors and administrators), edit or delete one."""
    group = typed_org_name(group)
    if delete is not None:
        with client(server, profile) as c:
            c.delete_post(group, delete)
        return plain(f"Post {delete} deleted.")
    if not title:
        fail("error: a post needs --title")
    markdown = ""
    if body_file is not None:
        markdown = sys.stdin.read() if str(body_file) == "-" else body_file.read_text("utf-8")
    with client(server, profile) as c:
        said = (
            c.edit_post(group, edit, title, markdown)
            if edit is not None
            else c.post(group, title, markdown, public=public)
        )
    plain(f"Posted on the news page of {group} ({said.ref[:12]}).")
    return None


def post_json(p: PostView) -> dict[str, Any]:
    from vault.content import Post

    return {
        "post": p.ref,
        "public": p.public,
        "deleted_by": p.deleted_by,
        "revisions": [
            {
                "hash": r.ref,
                "author": r.sender,
                "sent_at": r.sent_at,
                "title": r.body.title if isinstance(r.body, Post) else None,
                "markdown": r.body.markdown if isinstance(r.body, Post) else None,
            }
            for r in p.revisions
        ],
    }


@command
def news(
    group: str,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            metavar="FINGERPRINT",
            help="Read the public posts without an account, checked against this group "
            "fingerprint (from a letter or the village newsletter).",
        ),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A group's news page, newest first, every post and edit verified."""
    if fingerprint is not None:
        return public_news(server, group, fingerprint, as_json=as_json)
    with client(server, profile) as c:
        posts = c.news(typed_org_name(group))
    if as_json:
        return print_json([post_json(p) for p in posts])
    for p in posts:
        data = post_json(p)
        latest = data["revisions"][-1]
        head = f"[{p.ref[:12]}] " + ("(public) " if p.public else "")
        if p.deleted_by:
            plain(f"{head}(deleted by {clean(p.deleted_by)})")
            continue
        if latest["title"] is None:
            plain(f"{head}(from before you joined: not readable)")
            continue
        edited = f", edited {len(p.revisions) - 1}x" if len(p.revisions) > 1 else ""
        plain(f"{head}{clean(latest['title'])}")
        plain(f"  by {clean(p.revisions[0].sender)}, {when(p.revisions[0].sent_at)}{edited}")
        plain(clean(latest["markdown"]))
        plain("")
    return None


def public_news(server: str, group: str, fingerprint: str, *, as_json: bool) -> None:
    from ..publicposts import read_public_posts

    posts = read_public_posts(server, group, fingerprint)
    rows: list[dict[str, Any]] = [
        {
            "post": p.revisions[0].hash.hex(),
            "author": p.authors[0],
            "sent_at": p.revisions[0].message.sent_at,
            "revisions": len(p.revisions),
            "deleted": p.deleted,
            "title": p.latest.title if p.latest else None,
            "markdown": p.latest.markdown if p.latest else None,
        }
        for p in posts
    ]
    if as_json:
        return print_json(rows)
    plain(f"Public posts of {typed_org_name(group)}, checked against the fingerprint you gave:")
    for r in rows:
        if r["deleted"]:
            plain(f"[{r['post'][:12]}] (deleted)")
            continue
        plain(f"[{r['post'][:12]}] {clean(r['title'])}")
        plain(f"  by {clean(r['author'])}, {when(r['sent_at'])}")
        plain(clean(r["markdown"]))
        plain("")
    return None


# -- chat and personal messages ----------------------------------------------------------------
@command
def chat(
    group: str,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep showing new messages as they come.")
    ] = False,
    announce: Annotated[
        bool, typer.Option("--announce", help="Send as a group message to all (editors).")
    ] = False,
    last: LastOpt = 20,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """A group's chat: the last messages; lines typed (or piped) are sent; --follow stays."""
    group = typed_org_name(group)
    with client(server, profile) as c:
        for said in c.chat(group, last=last):
            plain(line_of(said))
        lock = threading.Lock()  # the chain state is read and kept by one operation at a time
        sender = threading.Thread(target=_send_lines, args=(c, group, lock, announce), daemon=True)
        sender.start()
        if not follow:
            sender.join()
            return
        for batch in c.live(group):
            with lock:
                for said in batch:
                    plain(line_of(said))


def _send_lines(c: Client, group: str, lock: threading.Lock, announce: bool) -> None:
    if sys.stdin is None:
        return
    for raw in sys.stdin:
        text = raw.rstrip("\n")
        if not text:
            continue
        with lock:
            try:
                c.say(group, text, announce=announce)
            except Exception as exc:  # the reading side reports what ends the command
                err.print(f"not sent: {exc}", markup=False, highlight=False)
                return


@command
def msg(
    username: str,
    text: Annotated[
        str | None, typer.Argument(help="The message; without it: the last ones.")
    ] = None,
    last: LastOpt = 20,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Send a personal message to a user, or show your last ones with them."""
    username = typed_username(username)
    with client(server, profile) as c:
        if text is not None:
            c.send_personal(username, text)
            return plain(f"Sent to {username}.")
        for said in c.personal(username, last=last):
            plain(line_of(said))
    return None


# -- the agenda ------------------------------------------------------------------------------------
def _time(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"error: {text!r} is not a date and time such as 2026-12-10T19:30")
    return int(moment.astimezone(UTC).timestamp())


def event_json(group: str, e: EventView) -> dict[str, Any]:
    event = e.event
    return {
        "group": group,
        "event": e.ref,
        "title": event.title if event else None,
        "starts_at": event.starts_at if event else None,
        "ends_at": event.ends_at if event else None,
        "location": event.location if event else None,
        "description": event.description if event else None,
        "replies": {u: a.name.lower() for u, a in sorted(e.replies.items())},
    }


@command
def agenda(
    group: Annotated[
        str | None, typer.Argument(help="One group; without it: all of yours.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Events of a group or of all your groups, with who comes."""
    with client(server, profile) as c:
        events = c.agenda(typed_org_name(group) if group else None)
    rows = [event_json(g, e) for g, e in events]
    if as_json:
        return print_json(rows)
    for r in rows:
        if r["title"] is None:
            plain(f"[{r['event'][:12]}] {r['group']}: (from before you joined: not readable)")
            continue
        plain(f"[{r['event'][:12]}] {when(r['starts_at'])} {r['group']}: {clean(r['title'])}")
        if r["location"]:
            plain(f"  {clean(r['location'])}")
        answers = ", ".join(f"{clean(u)} {a}" for u, a in r["replies"].items())
        if answers:
            plain(f"  {answers}")
    return None


@command
def event(
    group: str,
    ref: Annotated[
        str | None, typer.Argument(metavar="EVENT", help="An event (to reply or export).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="A new event's title.")] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="WHEN", help="2026-12-10T19:30")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", metavar="WHEN", help="When it ends.")] = None,
    location: Annotated[str, typer.Option("--location", help="Where.")] = "",
    description: Annotated[str, typer.Option("--description", help="What.")] = "",
    reply: Annotated[
        str | None, typer.Option("--reply", metavar="ANSWER", help="yes, no or maybe.")
    ] = None,
    ics: Annotated[
        Path | None, typer.Option("--ics", metavar="FILE", help="Write EVENT as a calendar file.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Add an event (--title --start --end), reply to one (--reply) or export it (--ics FILE)."""
    group = typed_org_name(group)
    if ref is None:
        if not (title and start and end):
            fail("error: a new event needs --title, --start and --end")
        starts, ends = _time(start), _time(end)
        if ends < starts:
            fail("error: the event ends before it starts")
        with client(server, profile) as c:
            said = c.add_event(
                group, title, starts, ends, location=location, description=description
            )
        return plain(f"Event {said.ref[:12]} added to the agenda of {group}.")
    if reply is None and ics is None:
        fail("error: say what to do with the event: --reply ANSWER or --ics FILE")
    with client(server, profile) as c:
        if reply is not None:
            c.reply(group, ref, reply)
            plain(f"Your answer ({reply}) is sent.")
        if ics is not None:
            calendar = c.event_ics(group, ref)
            ics.write_bytes(calendar.encode("utf-8"))
            plain(f"Written to {ics}.")
    return None
