"""The key transparency checks in the Python client (client_sdk/keylog.py, monitoring.py), against
a real server process on loopback.

Run from the repository root (SQLite in a scratch directory):

    .venv/bin/python benchmarks/kt_client.py [--entries 1000] [--rounds 5]

1. Self-monitoring: a logged-in device audits once (so it is up to date), then --entries new
   entries are appended to the log (74-byte identity entries, as registrations make them), and
   `Client.monitor.audit()` reads them from the entry bundles, checks them against the signed
   root and checks each label; the median of --rounds such audits, in seconds.
2. What proofs add to a lookup: the bytes of `GET /users/{name}` with its proof and head against
   the record alone, and the seconds the client's checks (format 17.6) take per lookup,
   against a lookup's round trip. A share to a new contact makes the same one lookup as before
   the log: the proof comes with it, no extra round trip.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, open_session  # noqa: E402
from server.tlog import Pending, append  # noqa: E402
from server.tlog_keys import LogKeys  # noqa: E402
from vault.logentry import LogEntry, Namespace  # noqa: E402

PASSPHRASE = "benchmark passphrase for the key log"  # noqa: S105


def add_entries(server: LocalServer, n: int) -> None:
    settings = Settings(data_dir=server.data_dir)
    keys = LogKeys.of(settings)
    engine = make_engine(settings.db_url, pool_size=1)
    pending = [
        Pending(
            f"bench:{secrets.token_hex(8)}",
            LogEntry.identity(secrets.token_bytes(32), 1, secrets.token_bytes(8)).encode(),
        )
        for _ in range(n)
    ]
    with open_session(engine, write=True) as session:
        append(session, keys, pending, int(time.time()))
        session.commit()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="kluis-kt-client-") as tmp,
        LocalServer(Path(tmp) / "data") as server,
    ):
        anna = Client(server.url, str(Path(tmp) / "anna"))
        anna.register("anna", PASSPHRASE)
        bob = Client(server.url, str(Path(tmp) / "bob"))
        bob.register("bob", PASSPHRASE)
        anna.monitor.audit()
        seconds = []
        for _ in range(args.rounds):
            add_entries(server, args.entries)
            start = time.perf_counter()
            audit = anna.monitor.audit()
            seconds.append(time.perf_counter() - start)
            assert audit.end - audit.start >= args.entries
        print(
            f"self-monitoring of {args.entries} new entries (log of {audit.end}): "
            f"median {statistics.median(seconds):.3f} s over {args.rounds} rounds"
        )

        since = anna.keylog.since()
        raw = anna.api.call("GET", "/users/bob", params={"since": since})
        with_proof = len(json.dumps(raw).encode())
        record_only = len(base64.b64encode(base64.b64decode(raw["identity"])))
        print(
            f"a user lookup's answer: about {with_proof} bytes with its proof and head, "
            f"of which the identity record is {record_only} (base64); log of {audit.end} entries"
        )
        lookups, checks = [], []
        for _ in range(20):
            start = time.perf_counter()
            row = anna.api.user("bob", anna.keylog.since())
            middle = time.perf_counter()
            anna.keylog.check_record(row.head, row.log, Namespace.USER, "bob", row.identity)
            end = time.perf_counter()
            lookups.append(middle - start)
            checks.append(end - middle)
        lookup, check = statistics.median(lookups), statistics.median(checks)
        print(
            f"a lookup's round trip: median {lookup * 1000:.1f} ms; the client's log checks on "
            f"it: median {check * 1000:.1f} ms ({check / lookup:.2f} of the round trip); "
            "extra round trips for a share to a new contact: 0"
        )
        anna.close()
        bob.close()


if __name__ == "__main__":
    main()
