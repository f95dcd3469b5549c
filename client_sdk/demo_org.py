"""The organisation part of `kluis demo`: a municipality as an organisation, the operator's
verification, a share with `@gemeente-mg`, a signed receipt, and a member who leaves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from vault.errors import VaultError

from .client import Client
from .errors import ClientError
from .localserver import LocalServer

ORG = "gemeente-mg"


def walkthrough(
    console: Console,
    server: LocalServer,
    root: Path,
    anna: Client,
    gemeente: Client,
    dossier: str,
    step: Callable[[int, str], None],
    first_step: int,
    passphrase: str,
) -> None:
    def say(text: str) -> None:
        console.print(f"   {text}", markup=False, highlight=False)

    els = Client(server.url, str(root / "profile-els"))
    piet = Client(server.url, str(root / "profile-piet"))
    els.register("els.gemeente", passphrase, "Els (gemeente Midden-Groningen)")
    piet.register("piet.gemeente", passphrase, "Piet (gemeente Midden-Groningen)")

    n = first_step
    step(n, "Jan sets up the municipality as an organisation, with Els and Piet as members.")
    org = gemeente.create_organisation(ORG, "municipality")
    gemeente.add_member(ORG, "els.gemeente")
    gemeente.add_member(ORG, "piet.gemeente")
    say(f"{ORG}: keys made on Jan's device; fingerprint {org.fingerprint}")
    say("Each member gets the organisation's keys sealed to them, signed by Jan.")

    step(n + 1, "The server's operator checks that fingerprint against the municipality's letter.")
    subprocess.run(  # what `kluis server admin verify-org` runs on the server machine
        [sys.executable, "-m", "server", "admin", "verify-org", ORG, "--fingerprint",
         org.fingerprint, "--data-dir", str(server.data_dir)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    say("Anna's client shows it verified only because its own computation gives the same one.")

    step(n + 2, f"Anna shares her dossier with @{ORG}, not with whoever handles it today.")
    result, shared_with = anna.share_with_organisation(dossier, ORG)
    say(f"{result.grants} key(s) wrapped for {ORG} (status: verified by the "
        f"{shared_with.verified_by})")  # fmt: skip

    step(n + 3, "Els opens the dossier; her client signs a receipt for the municipality.")
    opened = els.documents(dossier)
    els.acknowledge(dossier, opened)  # the receipt: a write of its own
    say(f"Els reads: {', '.join(sorted(d.name for d in opened))}")
    for receipt in anna.receipts(dossier):
        say(
            f"receipt: {receipt.organisation} received {len(receipt.entries)} document(s), "
            f"opened by {receipt.member}, signature {receipt.status}"
        )

    step(n + 4, "Piet leaves the municipality. Jan removes him: new keys for the others.")
    removal = gemeente.remove_member(ORG, "piet.gemeente")
    say(f"epoch {removal.epoch}: {removal.rewrapped} share(s) re-wrapped for Jan and Els")
    letter = root / "anna-files" / "brief-gemeente.txt"
    letter.write_text("Reactie op het schaderapport.\n")
    epoch = anna.sync(dossier).epoch  # her client sees the new epoch: nothing added before
    anna.add(dossier, letter)
    say(f"Anna's client sees the new epoch and starts dossier key epoch {epoch}")
    say(f"Anna adds {letter.name} under the new key")
    say(f"Els still reads: {', '.join(sorted(d.name for d in els.documents(dossier)))}")
    try:
        piet.documents(dossier)
        say("Piet could still list the dossier (unexpected)")
    except (VaultError, ClientError) as exc:
        say(f"Piet is refused: {exc}")
    say("What Piet opened before he left stays with him: removal cannot take copies back.")
    for c in (els, piet):
        c.close()
