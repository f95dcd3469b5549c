"""Operator commands that change the directory, run on the server machine:

    python -m server admin verify-org NAME --fingerprint "12345 67890 ..." [--data-dir ./data]
    python -m server admin unverify-org NAME [--data-dir ./data]
    python -m server admin list-orgs [--data-dir ./data]

`verify-org` records the organisation fingerprint the operator checked out of band (for example
against an official letter), and signs it as an operator statement (docs/format.md section
17.2) that it appends to the key transparency log; `unverify-org` signs and logs a withdrawal.
It is a claim, like everything the server says: a client shows an
organisation as verified only if the recorded fingerprint equals the one it computes from the
keys it received, and treats a mismatch as a security failure (docs/organisations.md). So a
fingerprint that does not match the keys the organisation published is refused here, before it
is recorded: the server computes the fingerprint from the epoch-1 record exactly as clients do
(`vault.orgkeys`, which holds no secret-key code) and shows it, so that the operator can tell a
typo (one group differs) from another organisation's fingerprint (all differ).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from vault.errors import VaultError
from vault.kinds import OrgKind
from vault.logentry import Status, make_statement
from vault.orgkeys import OrgKeys, genesis_fingerprint_digest, organisation_fingerprint

from .config import Settings
from .db import make_engine, open_session
from .models import Organisation, OrgKeyRecord
from .tlog import statement_entry, subject_statement
from .tlog_models import OperatorStatementRow
from .tlog_service import TransparencyLog

FINGERPRINT_DIGITS = 60


def normalise_fingerprint(text: str) -> str:
    digits = re.sub(r"\s+", "", text)
    if len(digits) != FINGERPRINT_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise ValueError("a fingerprint is 60 digits (12 groups of 5)")
    return " ".join(digits[i : i + 5] for i in range(0, FINGERPRINT_DIGITS, 5))


def _kind_name(kind: int) -> str:
    """How people call an organisation kind; the number if the database holds another."""
    return OrgKind(kind).name.lower() if kind in set(OrgKind) else str(kind)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m server admin", description="Operator commands for the directory."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify-org", help="Record an organisation's checked fingerprint.")
    verify.add_argument("name")
    verify.add_argument("--fingerprint", required=True)
    unverify = sub.add_parser("unverify-org", help="Remove an organisation's verification.")
    unverify.add_argument("name")
    sub.add_parser("list-orgs", help="List the directory.")
    for command in sub.choices.values():
        command.add_argument("--data-dir", type=Path, default=None, help="default: ./data")
    return parser


def _organisation(session: Session, name: str) -> Organisation:
    org = session.exec(select(Organisation).where(col(Organisation.name) == name)).first()
    if org is None:
        raise LookupError(f"no organisation named {name!r}")
    return org


def published_genesis(session: Session, org: Organisation) -> OrgKeys:
    """The epoch-1 record `org` published, if it is one a client accepts as `org`'s;
    ValueError if there is no such record, and so no fingerprint to verify."""
    stored = session.get(OrgKeyRecord, (org.org_id, 1))
    if stored is None:
        raise ValueError(f"{org.name} has published no keys (no epoch-1 record)")
    try:
        genesis = OrgKeys.decode(stored.record)
    except VaultError as exc:
        raise ValueError(
            f"{org.name}'s published keys do not parse ({exc}); clients refuse them as well, "
            "so there is nothing to verify"
        ) from None
    record = (genesis.epoch, genesis.org_id.hex(), genesis.name, int(genesis.kind))
    if record != (1, org.org_id, org.name, org.kind):
        raise ValueError(
            f"the keys {org.name} published names another organisation (epoch {genesis.epoch}, "
            f"{genesis.name!r}, kind {genesis.kind.name.lower()}); clients "
            "refuse them, so there is nothing to verify"
        )
    return genesis


def published_fingerprint(session: Session, org: Organisation) -> str:
    """The organisation fingerprint of the keys `org` published, as every client computes it."""
    return organisation_fingerprint(published_genesis(session, org))


def state(
    session: Session, log: TransparencyLog, org: Organisation, status: Status, now: int
) -> None:
    """Sign the operator's statement about `org` with the operator key and append it to the log
    (docs/format.md section 17.2), in the caller's write transaction."""
    statement = make_statement(
        log.keys.operator_seed,
        origin=log.keys.origin,
        org_id=bytes.fromhex(org.org_id),
        org_fingerprint=genesis_fingerprint_digest(published_genesis(session, org))[:32],
        status=status,
        stated_at=now,
    )
    subject = subject_statement(statement)
    session.add(
        OperatorStatementRow(
            subject=subject, org_id=org.org_id, statement=statement, created_at=now
        )
    )
    log.append(session, [statement_entry(log.keys, org.name, statement)], now)


def run(args: argparse.Namespace, now: int) -> str:
    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    engine = make_engine(settings.db_url)
    try:
        log = TransparencyLog.of(settings, engine)
        with open_session(engine, write=args.command != "list-orgs") as session:
            if args.command == "list-orgs":
                orgs = session.exec(select(Organisation).order_by(col(Organisation.name))).all()
                return "\n".join(
                    f"{o.name}\t{_kind_name(o.kind)}\tepoch {o.epoch}\t"
                    + (f"verified {o.verified_fingerprint}" if o.verified_fingerprint else "-")
                    for o in orgs
                )
            org = _organisation(session, args.name)
            if args.command == "verify-org":
                typed = normalise_fingerprint(args.fingerprint)
                published = published_fingerprint(session, org)
                if typed != published:
                    raise ValueError(
                        f"the fingerprint does not match {org.name}'s published keys; nothing "
                        f"was recorded.\n  typed:     {typed}\n  published: {published}\n"
                        "If one group differs, check what you typed against the letter; if "
                        "they all differ, these keys are not the organisation on the letter."
                    )
                org.verified_fingerprint = published
                org.verified_at = now
                state(session, log, org, Status.VERIFIED, now)
                message = (
                    f"{org.name} is marked verified with fingerprint {published}: it matches "
                    "its published keys. The signed statement is in the log."
                )
            else:
                if org.verified_fingerprint is not None:
                    # verified keys parse, unless someone changed the database behind us
                    with contextlib.suppress(ValueError):
                        state(session, log, org, Status.WITHDRAWN, now)
                org.verified_fingerprint = None
                org.verified_at = None
                message = f"{org.name} is no longer marked verified."
            session.add(org)
            session.commit()
        log.cosign()
        return message
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run(args, int(time.time())))
    except (LookupError, ValueError) as exc:
        print(f"kluis server admin: {exc}", file=sys.stderr)
        return 1
    except OperationalError:
        print(
            "kluis server admin: the database has no directory yet; start the server (or run "
            "`python -m server migrate`) with the same settings first",
            file=sys.stderr,
        )
        return 2
    return 0
