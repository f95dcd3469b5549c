"""`kluis org ...`, `kluis inbox` and `kluis receipts`: organisations on the command line.

Registered on the main app by `client_sdk.cli` (`register(app)`). Exit statuses as everywhere:
0 success, 1 a user error, 3 a security failure. Listings that check signatures one by one
(inbox, receipts) print every row with its status and then exit 3 if any did not verify.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .cli import (
    DEFAULT_SERVER,
    EXIT_SECURITY,
    Columns,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    client,
    command,
    document_labels,
    err,
    out,
    print_json,
    readable_names,
    shorten,
    when,
)
from .directory import Organisation
from .organisations import KINDS
from .typed import typed_org_name, typed_username

org_app = typer.Typer(
    help="Organisations: create them, manage members, check their fingerprints.",
    no_args_is_help=True,
)


def status_of(org: Organisation) -> str:
    if org.verified_by == "operator":
        return "verified (the operator's record matches these keys)"
    if org.verified_by == "you":
        return "verified (you compared the fingerprint)"
    return "NOT verified"


def org_json(org: Organisation, names: dict[str, str] | None = None) -> dict[str, Any]:
    members = org.members()
    return {
        "name": org.name,
        "id": org.org_id,
        "kind": org.kind,
        "fingerprint": org.fingerprint,
        "verified": org.verified,
        "verified_by": org.verified_by or None,
        "epoch": org.epoch,
        "members": [
            {"user": (names or {}).get(user_id, user_id), "user_id": user_id, "role": role}
            for user_id, role in sorted(members.items())
        ],
    }


def member_names(c: Any, org: Organisation) -> dict[str, str]:
    return {u: c.contact_by_id(u).identity.username for u in org.members()}


@org_app.command("create")
@command
def org_create(
    name: str,
    kind: Annotated[str, typer.Option(metavar="KIND", help=f"One of: {', '.join(KINDS)}.")],
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Create an organisation; its keys are made on this device and you become its admin."""
    with client(server, profile) as c:
        org = c.create_organisation(name, kind)
    out.print(f"Organisation {org.name} ({org.kind}) created; you are its administrator.",
              markup=False)  # fmt: skip
    out.print(f"fingerprint: {org.fingerprint}", markup=False)
    out.print(
        "Give this fingerprint to the server's operator (for example on your letterhead) so "
        "they can mark the organisation verified.",
        markup=False,
    )


@org_app.command("add-member")
@command
def org_add_member(
    name: str,
    username: str,
    server: ServerOpt = DEFAULT_SERVER,
    admin: Annotated[bool, typer.Option("--admin", help="Make them an administrator.")] = False,
    profile: ProfileOpt = None,
) -> None:
    """Give a user the organisation's keys (as member, or --admin)."""
    name, username = typed_org_name(name), typed_username(username)
    with client(server, profile) as c:
        org = c.add_member(name, username, admin=admin)
    role = "administrator" if admin else "member"
    out.print(f"{username} is now a {role} of {org.name}.", markup=False)


@org_app.command("remove-member")
@command
def org_remove_member(
    name: str, username: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Remove a member: new organisation keys for everyone else, every share re-wrapped."""
    name, username = typed_org_name(name), typed_username(username)
    with client(server, profile) as c:
        result = c.remove_member(name, username)
    out.print(
        f"{username} removed from {name}. New keys (epoch {result.epoch}) for "
        f"{result.members} member(s); {result.rewrapped} share(s) re-wrapped for them.",
        markup=False,
    )
    if result.skipped:
        err.print(
            f"Note: {result.skipped} grant(s) to {name} did not verify and were not re-wrapped.",
            markup=False,
        )
    out.print(
        "Documents residents add from now on use keys the former member never receives. What "
        "they already downloaded or could open stays with them: removal cannot take copies back.",
        markup=False,
    )


@org_app.command("list")
@command
def org_list(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """The directory of organisations; yours and those this device knows are checked."""
    with client(server, profile) as c:
        me = c.my_id
        rows: list[dict[str, Any]] = []
        for entry, org in c.organisations():
            rows.append(
                {
                    "name": entry.name,
                    "kind": org.kind if org else KIND_NAMES.get(entry.kind, "?"),
                    "verified": bool(org and org.verified),
                    "status": status_of(org) if org else "not checked on this device",
                    "fingerprint": org.fingerprint if org else None,
                    "my_role": org.role_of(me) if org else None,
                }
            )
    if as_json:
        return print_json(rows)
    table = Columns("name", "kind", "status", "your role", names=("name",))
    for r in rows:
        table.add_row(r["name"], r["kind"], r["status"], r["my_role"] or "-")
    table.print()
    return None


KIND_NAMES: dict[Any, str] = {int(k): name for name, k in KINDS.items()}


@org_app.command("show")
@command
def org_show(
    name: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An organisation's fingerprint (compare it with a letter), status and members."""
    with client(server, profile) as c:
        org = c.organisation(name)
        names = member_names(c, org)
    if as_json:
        return print_json(org_json(org, names))
    out.print(f"{org.name} ({org.kind})", markup=False)
    out.print(f"fingerprint: {org.fingerprint}", markup=False)
    out.print(f"status: {status_of(org)}", markup=False)
    out.print(f"key epoch: {org.epoch}", markup=False)
    for user_id, role in sorted(org.members().items(), key=lambda m: names[m[0]]):
        out.print(f"  {names[user_id]} ({role})", markup=False)
    if not org.verified:
        out.print(
            f"Compare the fingerprint with one printed on a letter from {org.name}, then run "
            f"`kluis org verify {org.name} '<fingerprint>'`.",
            markup=False,
        )
    return None


@org_app.command("verify")
@command
def org_verify(
    name: str, fingerprint: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Mark an organisation verified on this device after comparing its fingerprint."""
    with client(server, profile) as c:
        org = c.verify_organisation(name, fingerprint)
    out.print(f"{org.name} is verified on this device.", markup=False)


def inbox(
    server: ServerOpt = DEFAULT_SERVER,
    org: Annotated[
        str | None, typer.Option("--org", metavar="NAME", help="Only this organisation's.")
    ] = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dossiers and documents shared with you and your organisations, newest first."""
    with client(server, profile) as c:
        items = c.inbox(org)
        names = readable_names(c, [(i.dossier_id, i.document_id) for i in items if i.ok])
    rows = [
        {
            **i.to_json(),
            "title": names.get(i.dossier_id),
            "name": names.get(i.document_id) if i.document_id else None,
        }
        for i in items
    ]
    if as_json:
        print_json(rows)
    else:
        table = Columns(
            "shared", "to", "kind", "id", "name", "from", "rights", "expires", "signature",
            names=("name",),
        )  # fmt: skip
        for i in items:
            sender = i.sender + ("" if i.sender_verified else " (unverified)")
            table.add_row(
                when(i.issued_at),
                i.via,
                i.kind,
                (i.document_id or i.dossier_id)[:12],
                names.get(i.document_id or i.dossier_id, ""),
                sender,
                i.rights,
                when(i.expires_at),
                i.status,
            )
        table.print()
    failed = [i for i in items if not i.ok]
    if failed:
        err.print(
            f"SECURITY CHECK FAILED: {len(failed)} share(s) above do not verify; they are not "
            "used.",
            markup=False,
        )
        raise typer.Exit(EXIT_SECURITY)


def receipts(
    dossier: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Receipts organisations signed for a dossier, each signature verified."""
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        views = c.receipts(dossier_id)
        labels = document_labels(c.document_names([dossier_id]))
    if as_json:
        print_json(
            [
                {
                    **v.to_json(),
                    "names": [labels.get(e["document_id"], (None,))[0] for e in v.entries],
                }
                for v in views
            ]
        )
    else:
        table = Columns("opened", "organisation", "member", "documents", "signature")
        for v in views:
            org = v.organisation + ("" if v.org_verified else " (unverified)")
            documents = ", ".join(
                f"{shorten(labels.get(e['document_id'], ('', e['document_id'][:8]))[1], 30)} "
                f"v{e['version']}"
                for e in v.entries[:3]
            ) + (f" +{len(v.entries) - 3}" if len(v.entries) > 3 else "")
            table.add_row(when(v.opened_at), org, v.member, documents, v.status)
        table.print()
        if not views:
            out.print("No receipts yet.", markup=False)
    failed = [v for v in views if not v.ok]
    if failed:
        err.print(
            f"SECURITY CHECK FAILED: {len(failed)} receipt(s) above do not verify: the server "
            "made them up or changed them, or the organisation's keys are not the ones trusted.",
            markup=False,
        )
        raise typer.Exit(EXIT_SECURITY)


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    app.command("inbox")(command(inbox))
    app.command("receipts")(command(receipts))


def share_with_organisation(
    target: str,
    name: str,
    write: bool,
    expires_at: int,
    allow_unverified: bool,
    server: str,
    profile: Any,
) -> None:
    """`kluis share TARGET @NAME`: refused for an unverified organisation unless allowed."""
    with client(server, profile) as c:
        result, org = c.share_with_organisation(
            target, name[1:], write=write, expires_at=expires_at, allow_unverified=allow_unverified
        )
    out.print(
        f"Shared with organisation {org.name} ({result.grants} key(s) wrapped for its current "
        f"keys; fingerprint {org.fingerprint}).",
        markup=False,
    )
    out.print(f"status: {status_of(org)}", markup=False)
    if not org.verified:
        err.print(
            f"Note: {org.name} is not verified. Compare its fingerprint with one on a letter from "
            f"them, then run `kluis org verify {org.name} '<fingerprint>'`.",
            markup=False,
        )
