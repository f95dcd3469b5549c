"""`kluis demo`: the fastest way to see what Kluis does.

Starts a throw-away server on a free loopback port, creates a resident, a contractor and a
municipality employee (each with their own profile directory, as on three devices), and walks
through upload, verification of fingerprints, sharing, opening, the access log and revocation,
printing each step. Everything is deleted afterwards.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rich.console import Console

from vault.errors import VaultError

from .client import Client
from .localserver import LocalServer

DEMO_PASSPHRASE = "demo passphrase, never use this one"  # noqa: S105 (a demo, says so)


def _client(server: LocalServer, root: Path, name: str) -> Client:
    return Client(server.url, str(root / f"profile-{name}"))


def run_demo(console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="kluis-demo-") as tmp:
        root = Path(tmp)
        with LocalServer(root / "server-data") as server:
            _walkthrough(console, server, root)


def _step(console: Console, number: int, text: str) -> None:
    console.print(f"\n[bold cyan]{number}.[/bold cyan] {text}")


def _walkthrough(console: Console, server: LocalServer, root: Path) -> None:
    console.print(f"[bold]Kluis demo[/bold] — a temporary server runs at {server.url}")
    anna = _client(server, root, "anna")
    bouw = _client(server, root, "bouwbedrijf")
    gemeente = _client(server, root, "gemeente")

    _step(console, 1, "Anna (resident), a contractor and a municipality employee create accounts.")
    code = anna.register("anna", DEMO_PASSPHRASE, "Anna de Boer")
    bouw.register("bouwbedrijf-wierda", DEMO_PASSPHRASE, "Bouwbedrijf Wierda")
    gemeente.register("jan.gemeente", DEMO_PASSPHRASE, "Jan (gemeente Midden-Groningen)")
    console.print(f"   Anna's recovery code starts with: {' '.join(code.words[:3])} ...")
    console.print(f"   Anna's fingerprint: {anna.whoami().fingerprint}")

    _step(console, 2, "Anna creates a dossier and adds two documents (encrypted on her device).")
    dossier = anna.create_dossier("Schade Hoofdstraat 12, Loppersum")
    files = root / "anna-files"
    files.mkdir()
    report = files / "schaderapport-2026.pdf"
    report.write_bytes(b"%PDF-1.4\n% Schaderapport: scheur in de gevel, 3 mm breed.\n" * 200)
    photo = files / "foto-scheur-gevel.jpg"
    photo.write_bytes(os.urandom(300_000))
    for path in (report, photo):
        info = anna.add(dossier, path)
        console.print(f"   added {info.name} ({info.size} bytes), id {info.document_id[:12]}")
    console.print("   The server stores only ciphertext: it never sees these names or contents.")

    _step(console, 3, "Anna checks the contractor's fingerprint (by phone) and shares the dossier.")
    contractor = anna.fingerprint("bouwbedrijf-wierda").identity
    console.print(f"   bouwbedrijf-wierda: {contractor.fingerprint}")
    anna.verify_contact("bouwbedrijf-wierda", bouw.whoami().fingerprint)
    anna.share(dossier, "bouwbedrijf-wierda")
    anna.share(dossier, "jan.gemeente")
    console.print("   Dossier key wrapped for both; each grant is signed by Anna.")

    _step(console, 4, "The contractor opens the dossier and downloads the damage report.")
    for doc in bouw.documents(dossier):
        console.print(f"   {doc.name}  v{doc.version}  by {doc.author}  signature verified")
    report_id = next(d.document_id for d in bouw.documents(dossier) if d.name == report.name)
    _, saved = bouw.get(report_id, root / "bouwbedrijf-download.pdf")
    same = saved.read_bytes() == report.read_bytes()
    console.print(f"   downloaded and verified: {saved.name} (identical to Anna's: {same})")

    _step(console, 5, "Anna reads the access log (its hash chain is checked).")
    for entry in anna.access_log(dossier):
        who = anna.contact_by_id(entry.actor_id).identity.username
        console.print(f"   #{entry.seq} {entry.action:<8} by {who}")

    _step(console, 6, "Anna revokes the contractor. The dossier key is rotated.")
    epoch = anna.revoke(dossier, "bouwbedrijf-wierda")
    quote = files / "second-opinion.txt"
    quote.write_text("Tweede opinie: funderingsschade waarschijnlijk.\n")
    anna.add(dossier, quote)
    console.print(f"   new key epoch {epoch}; Anna adds {quote.name} under the new key")
    try:
        bouw.documents(dossier)
        console.print("   [red]the contractor could still list the dossier (unexpected)[/red]")
    except VaultError as exc:
        console.print(f"   the contractor is refused: {exc}")
    names = [d.name for d in gemeente.documents(dossier)]
    console.print(f"   the municipality still reads everything: {', '.join(sorted(names))}")
    console.print("   What the contractor already downloaded stays with them: say so to residents.")

    from .demo_org import walkthrough  # organisations, receipts and a member who leaves

    walkthrough(console, server, root, anna, gemeente, dossier,
                lambda n, text: _step(console, n, text), 7, DEMO_PASSPHRASE)  # fmt: skip
    for c in (anna, bouw, gemeente):
        c.close()
    console.print("\n[bold green]Demo finished.[/bold green] Try it yourself: `kluis server`.")
