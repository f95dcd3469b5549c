"""What happened to a dossier and what reached me: log (the access log), receipts (what
organisations signed for), inbox (shares to me and my organisations).

Listings that check signatures one by one (inbox, receipts) print every row with its status
and then exit 3 if any did not verify.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .names import document_labels, readable_names
from .output import Columns, err, out, print_json, shorten, when
from .shared import DEFAULT_SERVER, EXIT_SECURITY, JsonOpt, ProfileOpt, ServerOpt, client, command


@command
def log(
    dossier: str,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The dossier's access log, its hash chain verified; documents by their file names."""
    with client(server, profile) as c:
        dossier_id = c.resolve_dossier(dossier)
        entries = c.access_log(dossier_id)
        documents = document_labels(c, dossier_id)
        names = {e.actor_id: c.contact_by_id(e.actor_id).identity.username for e in entries}
        names.update(
            {
                e.subject_id: c.contact_by_id(e.subject_id).identity.username
                for e in entries
                if e.subject_id
            }
        )
    rows: list[dict[str, Any]] = [
        {
            "seq": e.seq,
            "at": e.at,
            "who": names[e.actor_id],
            "action": e.action,
            "document": e.document_id,
            "name": documents[e.document_id][0] if e.document_id in documents else None,
            "version": e.version,
            "subject": names.get(e.subject_id) if e.subject_id else None,
        }
        for e in entries
    ]
    if as_json:
        return print_json(rows)
    # The version tells apart lines that would look the same: a document shared with its
    # versions 1 and 2 is two lines, as are the downloads of two versions.
    table = Columns(
        "#", "when", "who", "action", "document", "version", "user", names=("document",)
    )
    for r in rows:
        document = r["document"] or ""
        table.add_row(
            r["seq"],
            when(r["at"]),
            r["who"],
            r["action"],
            documents[document][1] if document in documents else document[:12],
            r["version"] or "",
            r["subject"] or "",
        )
    table.print()
    out.print("Log chain verified.")
    return None


@command
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


@command
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
        labels = document_labels(c, dossier_id)
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
