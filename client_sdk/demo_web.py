"""`kluis demo --web`: a server with the web app and three seeded accounts, to try in a browser.

Starts a throw-away server on a free loopback port (as `kluis demo` does), creates a resident
(anna), a contractor (bouwbedrijf-wierda) and a municipality employee (jan.gemeente), each on
its own profile directory, and gives the resident a dossier with a damage report and a photo,
shared with the contractor (read only) and the municipality, whom she verified first; the
contractor has opened the report, so the access log has something to show. Then it prints the
address and the passphrases and keeps running until Ctrl+C; everything is deleted afterwards.
"""

from __future__ import annotations

import struct
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
from rich.console import Console

from .client import Client
from .demo import DEMO_PASSPHRASE
from .localserver import LocalServer

ACCOUNTS = (
    ("anna", "bewoner (resident)"),
    ("bouwbedrijf-wierda", "aannemer (contractor)"),
    ("jan.gemeente", "gemeente Midden-Groningen (municipality)"),
)
DOSSIER_TITLE = "Schade Hoofdstraat 12, Loppersum"


def _png(width: int = 320, height: int = 200) -> bytes:
    """A real PNG (a gradient), so the web app's photo preview has an image to show."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((255 * x // width, 90, 255 * y // height)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def seed(server: LocalServer, root: Path) -> dict[str, Client]:
    """The three accounts, the resident's dossier, its shares and one download."""
    clients = {name: Client(server.url, str(root / f"profile-{name}")) for name, _ in ACCOUNTS}
    for name, client in clients.items():
        client.register(name, DEMO_PASSPHRASE)
    anna, wierda, gemeente = (clients[name] for name, _ in ACCOUNTS)
    dossier = anna.create_dossier(DOSSIER_TITLE)
    files = root / "files"
    files.mkdir()
    report = files / "schaderapport-2026.pdf"
    report.write_bytes(b"%PDF-1.4\n% Schaderapport: scheur in de gevel, 3 mm breed.\n" * 200)
    photo = files / "foto-scheur-gevel.png"
    photo.write_bytes(_png())
    anna.add_many(dossier, [report, photo])
    for other in (wierda, gemeente):
        anna.verify_contact(other.whoami().username, other.whoami().fingerprint)
    anna.share(dossier, "bouwbedrijf-wierda")
    anna.share(dossier, "jan.gemeente")
    opened = next(d for d in wierda.documents(dossier) if d.name == report.name)
    wierda.get(opened.document_id, root / "wierda-download.pdf")
    return clients


def run_web_demo(console: Console, wait: Callable[[LocalServer], None] | None = None) -> None:
    """Seed a server, print how to reach it, and run until `wait` returns (default: Ctrl+C)."""
    with tempfile.TemporaryDirectory(prefix="kluis-demo-web-") as tmp:
        root = Path(tmp)
        with LocalServer(root / "server-data") as server:
            if httpx.get(server.url + "/", timeout=10).status_code != 200:
                console.print("The web app is not built: run `make web` first.")
                raise SystemExit(1)
            clients = seed(server, root)
            for client in clients.values():
                client.close()
            console.print(f"[bold]Kluis demo[/bold]: open [bold]{server.url}/[/bold] in a browser.")
            console.print(f"Every account's passphrase (wachtwoordzin): {DEMO_PASSPHRASE}")
            for name, role in ACCOUNTS:
                console.print(f"  {name:<20} {role}")
            console.print(
                f"anna's dossier '{DOSSIER_TITLE}' holds a report and a photo, shared with the"
                " contractor (read only) and the municipality."
            )
            console.print("Everything is deleted when you stop the demo (Ctrl+C).")
            (wait or _until_interrupted)(server)


def _until_interrupted(server: LocalServer) -> None:
    try:
        while server.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
