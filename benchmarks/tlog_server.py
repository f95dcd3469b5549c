"""The key transparency log in the server (server/tlog.py): appending to the database, and a
client catching up through the C2SP tiles over loopback.

Run from the repository root (SQLite in a scratch directory; --database-url for PostgreSQL):

    .venv/bin/python benchmarks/tlog_server.py [--entries 100000] [--batch 100] [--single 1000]

1. Appends --single entries one per write transaction (a registration's cost to the log: its
   entry, the nodes it completes, a signed checkpoint, committed with synchronous=FULL), then
   the rest up to --entries in transactions of --batch entries (74-byte identity entries).
2. Starts a real server process on that database and, as a logged-in account, downloads what a
   client catching up from an empty log needs: every entry bundle (the entries, to monitor
   labels), recomputing the root from them and checking it against the signed checkpoint; then
   what the root and one inclusion proof cost from hash tiles alone. Prints bytes and seconds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk.localserver import LocalServer  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, open_session  # noqa: E402
from server.schema import upgrade  # noqa: E402
from server.tlog import Pending, append  # noqa: E402
from server.tlog_keys import LogKeys  # noqa: E402
from tests.server.harness import b64, registration  # noqa: E402
from vault.checkpoint import TrustedLog, open_checkpoint  # noqa: E402
from vault.keys import PrivateIdentity  # noqa: E402
from vault.logentry import LogEntry  # noqa: E402
from vault.tlog import (  # noqa: E402
    TILE_WIDTH,
    MemoryTree,
    Tile,
    TileHashReader,
    decode_entry_bundle,
    inclusion_proof,
    tree_hash,
)


def entry(n: int) -> Pending:
    label = n.to_bytes(32, "big")  # what a VRF label looks like to the log: 32 bytes
    record = n.to_bytes(8, "big")
    return Pending(f"bench:{n}", LogEntry.identity(label, 1, record).encode())


def fill(settings: Settings, entries: int, batch: int, single: int) -> None:
    engine = make_engine(settings.db_url, pool_size=1)
    upgrade(engine)
    keys = LogKeys.of(settings)
    start = time.perf_counter()
    for n in range(single):
        with open_session(engine, write=True) as session:
            append(session, keys, [entry(n)], n)
            session.commit()
    one = time.perf_counter() - start
    print(f"  {single:,} appends, one per transaction: {one:.2f} s, {single / one:,.0f}/s")
    start = time.perf_counter()
    for first in range(single, entries, batch):
        with open_session(engine, write=True) as session:
            append(session, keys, [entry(n) for n in range(first, min(entries, first + batch))], 0)
            session.commit()
    rest = time.perf_counter() - start
    print(
        f"  {entries - single:,} appends in transactions of {batch}: {rest:.1f} s, "
        f"{(entries - single) / rest:,.0f}/s"
    )
    engine.dispose()


def catch_up(server: LocalServer, keys: LogKeys) -> None:
    http = httpx.Client(base_url=server.url, timeout=60)
    user_id = secrets.token_bytes(16)
    identity = PrivateIdentity.generate(user_id, "monitor").public.encode()
    body = registration("monitor", user_id=user_id.hex(), identity=b64(identity))
    assert http.post("/api/v1/users", json=body).status_code == 201
    login = http.post(
        "/api/v1/auth/login", json={"username": "monitor", "auth_key": body["auth_key"]}
    )
    http.headers["Authorization"] = f"Bearer {login.json()['token']}"
    downloaded = {"bytes": 0, "requests": 0}

    def fetch(path: str) -> bytes:
        response = http.get("/log/" + path)
        response.raise_for_status()
        downloaded["bytes"] += len(response.content)
        downloaded["requests"] += 1
        return response.content

    start = time.perf_counter()
    note = fetch("checkpoint")
    checkpoint = open_checkpoint(note, TrustedLog(keys.origin, keys.signer.verifier)).checkpoint
    tree = MemoryTree()  # the entries themselves give the leaves: no hash tile is needed
    for first in range(0, checkpoint.size, TILE_WIDTH):
        width = min(TILE_WIDTH, checkpoint.size - first)
        for e in decode_entry_bundle(fetch(Tile(None, first // TILE_WIDTH, width).path), width):
            tree.append(e)
    assert tree.root(checkpoint.size) == checkpoint.root
    seconds = time.perf_counter() - start
    print(
        f"  caught up {tree.size:,} entries from nothing: {downloaded['bytes'] / 1e6:.2f} MB in "
        f"{downloaded['requests']:,} requests, {seconds:.2f} s over loopback (entry bundles, "
        "root recomputed and checked against the signed checkpoint)"
    )
    before = dict(downloaded)
    start = time.perf_counter()
    reader = TileHashReader(checkpoint.size, lambda tile: fetch(tile.path))
    assert tree_hash(checkpoint.size, reader) == checkpoint.root
    index = checkpoint.size // 2
    inclusion_proof(index, checkpoint.size, reader)
    print(
        f"  the same root and one inclusion proof from hash tiles instead: "
        f"{(downloaded['bytes'] - before['bytes']) / 1e3:.1f} kB in "
        f"{downloaded['requests'] - before['requests']} requests, "
        f"{time.perf_counter() - start:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        data.mkdir()
        env = {"KLUIS_LOG_KEY": secrets.token_hex(32), "KLUIS_ACCESS_LOG": "false"}
        if args.database_url:
            env["KLUIS_DATABASE_URL"] = args.database_url
        os.environ.update(env)
        settings = Settings(data_dir=data)
        print(f"appending {args.entries:,} entries ({settings.db_url.split(':')[0]})")
        fill(settings, args.entries, args.batch, args.single)
        server = LocalServer(data, env).start()
        try:
            catch_up(server, LogKeys.of(settings))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
