"""Evidence commitments (docs/format.md section 20): what they cost the server and the export.

Run from the repository root (SQLite in a scratch directory):

    .venv/bin/python benchmarks/evidence.py [--commitments 1000] [--versions 1000]

1. Server time of --commitments commits' log work, each in its own write transaction as
   `POST .../versions` does it: the kind-5 entry, the nodes it completes, a signed checkpoint,
   and the inclusion proof the answer carries (committed with synchronous=FULL).
2. A real server process and the SDK: a dossier of --versions small documents (each add commits
   its commitment and checks the proof), then `export` without and with the log's parameters,
   i.e. without and with an evidence package for every version (each fetched, checked with the
   witness quorum of 0, i.e. the log key, and written). Prints seconds and the ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
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
from server.evidence import commitment_entry, proof_at_commit  # noqa: E402
from server.schema import upgrade  # noqa: E402
from server.tlog import append  # noqa: E402
from server.tlog_keys import LogKeys  # noqa: E402
from vault.note import Ed25519Signer  # noqa: E402

PASSPHRASE = "benchmark passphrase 2026 kaasschaaf"  # noqa: S105  (a throw-away account)


def server_time(directory: Path, commitments: int) -> None:
    directory.mkdir()
    settings = Settings(data_dir=directory)
    engine = make_engine(settings.db_url, pool_size=1)
    upgrade(engine)
    keys = LogKeys.of(settings)
    start = time.perf_counter()
    for n in range(commitments):
        document_id = secrets.token_hex(16)
        with open_session(engine, write=True) as session:
            append(session, keys, [commitment_entry(document_id, 1, secrets.token_bytes(32))], n)
            proof_at_commit(session, document_id, 1)
            session.commit()
    took = time.perf_counter() - start
    print(
        f"  {commitments:,} commitments, one write transaction each (entry, nodes, signed "
        f"checkpoint, proof): {took:.2f} s, {took / commitments * 1000:.2f} ms each"
    )
    # What a commit pays on top of its own transaction (whose commit and fsync the version's
    # rows need anyway): the same work, flushed and rolled back.
    start = time.perf_counter()
    for n in range(commitments):
        document_id = secrets.token_hex(16)
        with open_session(engine, write=True) as session:
            append(session, keys, [commitment_entry(document_id, 1, secrets.token_bytes(32))], n)
            proof_at_commit(session, document_id, 1)
            session.rollback()
    marginal = time.perf_counter() - start
    print(
        f"  the same work inside a commit's transaction, without its commit: {marginal:.2f} s, "
        f"{marginal / commitments * 1000:.2f} ms each ({took / marginal:.1f}x less)"
    )
    engine.dispose()


def export_time(directory: Path, versions: int) -> None:
    log_seed = secrets.token_bytes(32)
    env = {"KLUIS_LOG_KEY": log_seed.hex(), "KLUIS_VRF_KEY": secrets.token_hex(32)}
    files = directory / "files"
    files.mkdir()
    paths = []
    for n in range(versions):
        path = files / f"foto-{n:04d}.jpg"
        path.write_bytes(os.urandom(2000))
        paths.append(path)
    with LocalServer(directory / "data", env) as server:
        client = Client(server.url, str(directory / "profile"))
        client.register("anna", PASSPHRASE)
        origin = server.log().split("Kluis log key ")[1].split("+")[0]
        vkey = Ed25519Signer(origin, log_seed).verifier.vkey
        dossier = client.create_dossier("Schade")
        start = time.perf_counter()
        client.add_many(dossier, paths)
        added = time.perf_counter() - start
        print(f"  {versions:,} documents added (each committed, its proof checked): {added:.1f} s")
        os.environ.pop("KLUIS_LOG_KEY", None)
        start = time.perf_counter()
        client.export(dossier, directory / "plain", PASSPHRASE)
        plain = time.perf_counter() - start
        os.environ["KLUIS_LOG_KEY"] = vkey
        os.environ["KLUIS_LOG_QUORUM"] = "0"
        start = time.perf_counter()
        client.export(dossier, directory / "with-evidence", PASSPHRASE)
        with_evidence = time.perf_counter() - start
        packages = len(list((directory / "with-evidence" / "evidence").iterdir()))
    print(f"  export of {versions:,} versions without evidence: {plain:.1f} s")
    print(
        f"  export with {packages:,} evidence packages: {with_evidence:.1f} s "
        f"({with_evidence - plain:.1f} s for the packages, {with_evidence / plain:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commitments", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print("server:")
        server_time(Path(scratch) / "server", args.commitments)
        if args.versions:
            print("client (a real server process):")
            export_time(Path(scratch), args.versions)


if __name__ == "__main__":
    main()
