"""Dossier scale: sharing a dossier of 1,000 documents, and listing one of 10,000.

Run from the repository root:

    .venv/bin/python benchmarks/dossier_scale.py [--share-documents 1000] [--list-documents 10000]

Starts a real server (SQLite and files, on loopback), fills two dossiers through the real
client (setup, timed separately), then measures in one run:

* `Client.share` of the whole dossier: one grant per dossier-key epoch, however many documents;
* `Client.documents` in-process: every header's signature, key commitment and metadata checked;
* the real CLI `kluis ls DOSSIER --json` as a subprocess (interpreter start-up included), on
  the device that listed the dossier before (headers verified then are not checked again)
  and on a freshly logged-in device that has to check every header;
* one more `add` into the large dossier (the cost of re-signing its index).

Targets: share under 0.5 s; `kluis ls` of 10,000 documents under 2 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402

PASSPHRASE = "benchmark passphrase"  # noqa: S105


def fill(client: Client, dossier: str, count: int, workdir: Path) -> float:
    folder = workdir / f"files-{dossier[:8]}"
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"foto-{i:05d}.jpg"
        path.write_bytes(os.urandom(200))
        paths.append(path)
    start = time.perf_counter()
    for batch in range(0, count, 500):
        client.add_many(dossier, paths[batch : batch + 500])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share-documents", type=int, default=1000)
    parser.add_argument("--list-documents", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kluis-scale-") as tmp:
        work = Path(tmp)
        with LocalServer(work / "data") as server:
            anna = Client(server.url, str(work / "anna"))
            anna.register("anna", PASSPHRASE)
            Client(server.url, str(work / "bob")).register("bob", PASSPHRASE)

            shared = anna.create_dossier("share benchmark")
            setup_share = fill(anna, shared, args.share_documents, work)
            start = time.perf_counter()
            anna.share(shared, "bob")
            share_s = time.perf_counter() - start

            big = anna.create_dossier("list benchmark")
            setup_list = fill(anna, big, args.list_documents, work)
            start = time.perf_counter()
            listed = anna.documents(big)
            documents_s = time.perf_counter() - start
            assert len(listed) == args.list_documents

            kluis = str(Path(sys.executable).with_name("kluis"))

            def ls_seconds(profile: Path) -> float:
                env = {**os.environ, "KLUIS_SERVER": server.url, "KLUIS_PROFILE": str(profile)}
                start = time.perf_counter()
                subprocess.run(
                    [kluis, "ls", big, "--json"], env=env, check=True, stdout=subprocess.DEVNULL
                )
                return time.perf_counter() - start

            warm_s = ls_seconds(work / "anna")  # this device listed the dossier before
            laptop = Client(server.url, str(work / "anna-new-laptop"))
            laptop.login("anna", PASSPHRASE)  # not timed: Argon2id, once per device
            cold_s = ls_seconds(work / "anna-new-laptop")  # a device that never listed it

            extra = work / "one-more.txt"
            extra.write_text("one more")
            start = time.perf_counter()
            anna.add(big, extra)
            add_s = time.perf_counter() - start

    n_share, n_list = args.share_documents, args.list_documents
    print(f"setup: {n_share} documents in {setup_share:.1f} s, {n_list} in {setup_list:.1f} s")
    print(f"{'operation':<52} {'seconds':>8}  target")
    print(f"{f'share a dossier of {n_share} documents':<52} {share_s:8.3f}  < 0.5 s")
    print(f"{f'Client.documents, {n_list} documents':<52} {documents_s:8.3f}")
    print(f"{f'kluis ls --json, {n_list} documents, listed before':<52} {warm_s:8.3f}  < 2 s")
    print(f"{f'kluis ls --json, {n_list} documents, first time':<52} {cold_s:8.3f}  < 2 s")
    print(f"{f'add one document to the {n_list}-document dossier':<52} {add_s:8.3f}")
    print(f"share: {'met' if share_s < 0.5 else 'NOT met'}")
    print(f"ls, listed before on this device: {'met' if warm_s < 2 else 'NOT met'}")
    print(f"ls, first time on a device: {'met' if cold_s < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
