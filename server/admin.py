"""Operator commands that change the directory, run on the server machine:

    python -m server admin verify-org NAME --fingerprint "12345 67890 ..." [--data-dir ./data]
    python -m server admin unverify-org NAME [--data-dir ./data]
    python -m server admin list-orgs [--data-dir ./data]

`verify-org` records the organisation fingerprint the operator checked out of band (for example
against an official letter). It is a claim, like everything the server says: a client shows an
organisation as verified only if the recorded fingerprint equals the one it computes from the
keys it received, and treats a mismatch as a security failure (docs/organisations.md).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from .config import Settings
from .db import make_engine
from .models import ORG_KINDS, Organisation

FINGERPRINT_DIGITS = 60


def normalise_fingerprint(text: str) -> str:
    digits = re.sub(r"\s+", "", text)
    if len(digits) != FINGERPRINT_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise ValueError("a fingerprint is 60 digits (12 groups of 5)")
    return " ".join(digits[i : i + 5] for i in range(0, FINGERPRINT_DIGITS, 5))


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


def run(args: argparse.Namespace, now: int) -> str:
    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            if args.command == "list-orgs":
                orgs = session.exec(select(Organisation).order_by(col(Organisation.name))).all()
                return "\n".join(
                    f"{o.name}\t{ORG_KINDS.get(o.kind, o.kind)}\tepoch {o.epoch}\t"
                    + (f"verified {o.verified_fingerprint}" if o.verified_fingerprint else "-")
                    for o in orgs
                )
            org = _organisation(session, args.name)
            if args.command == "verify-org":
                org.verified_fingerprint = normalise_fingerprint(args.fingerprint)
                org.verified_at = now
                message = (
                    f"{org.name} is marked verified with fingerprint {org.verified_fingerprint}.\n"
                    "Clients show it verified only if they compute the same fingerprint from the "
                    "keys they receive; compare with `kluis org show "
                    f"{org.name}` before relying on it."
                )
            else:
                org.verified_fingerprint = None
                org.verified_at = None
                message = f"{org.name} is no longer marked verified."
            session.add(org)
            session.commit()
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
