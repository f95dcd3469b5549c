"""`kluis org ...`: organisations on the command line (create, members, the directory, the
fingerprint check). `inbox` and `receipts` are in `activity`, `share ... @NAME` in `sharing`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..typed import typed_org_name, typed_username
from .output import Columns, err, out, print_json
from .shared import DEFAULT_SERVER, JsonOpt, ProfileOpt, ServerOpt, client, command

if TYPE_CHECKING:
    from ..client import Client
    from ..directory import Organisation

# client_sdk.organisations.KINDS, written out so that the help does not load the organisations'
# cryptography (tests/client_sdk/test_cli_units.py checks that the two agree).
KIND_HELP = "One of: municipality, institution, contractor, engineering."


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


def member_names(c: Client, org: Organisation) -> dict[str, str]:
    return {u: c.contact_by_id(u).identity.username for u in org.members()}


@command
def org_create(
    name: str,
    kind: Annotated[str, typer.Option(metavar="KIND", help=KIND_HELP)],
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


@command
def org_list(
    server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None, as_json: JsonOpt = False
) -> None:
    """The directory of organisations; yours and those this device knows are checked."""
    from ..organisations import KINDS

    kind_names: dict[Any, str] = {int(k): name for name, k in KINDS.items()}
    with client(server, profile) as c:
        me = c.my_id
        rows: list[dict[str, Any]] = []
        for entry, org in c.organisations():
            rows.append(
                {
                    "name": entry.name,
                    "kind": org.kind if org else kind_names.get(entry.kind, "?"),
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


@command
def org_verify(
    name: str, fingerprint: str, server: ServerOpt = DEFAULT_SERVER, profile: ProfileOpt = None
) -> None:
    """Mark an organisation verified on this device after comparing its fingerprint."""
    with client(server, profile) as c:
        org = c.verify_organisation(name, fingerprint)
    out.print(f"{org.name} is verified on this device.", markup=False)
