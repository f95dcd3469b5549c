"""Dossier scale: sharing a dossier of 1,000 documents, and listing one of 10,000.

Run from the repository root:

    .venv/bin/python benchmarks/dossier_scale.py [--documents 1000] [--list-documents 10000]

A quick run: `--documents 100 --list-documents 500 --repeat 1`.

Starts a real server (`python -m server`: SQLite and files, loopback) and fills two dossiers of
tiny documents through the real client, `Client.add_many` in batches of --batch (the owner's
index is signed once per batch). Filling is setup, not measured, but its time is printed (with
progress on stderr), because every document is a real streamed upload and commit. Then, in the
same run, each measurement the median of --repeat:

* `Client.share(dossier, user)` of the --documents dossier, to a new user each time: once while
  the owner has only that dossier, once after the owner also holds the large one (sharing
  resolves the id against every dossier and document the owner can see);
* `Client.documents` of the --list-documents dossier in-process: first time on a device (every
  header's signature, file-key unwrap, key commitment and metadata checked, the listing compared
  with the signed index) and again (headers verified before are not checked again);
* the real CLI `kluis ls DOSSIER --json` and `kluis ls DOSSIER` (the table) as subprocesses
  (interpreter start-up included, output to /dev/null), each first time on a newly logged-in
  device and again on it; `kluis --help` shows the start-up alone;
* one more `Client.add` into the large dossier (an upload, a commit, and the index re-signed);
* resolving an 8-character document id prefix, as `kluis get`/`update`/`share` do.

Targets: share under 0.5 s; `kluis ls` of 10,000 documents under 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402

PASSPHRASE = "benchmark passphrase, 2026 kaasschaaf"  # noqa: S105
SHARE_TARGET_S = 0.5
LS_TARGET_S = 2.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fill(client: Client, dossier: str, count: int, batch: int, folder: Path) -> list[float]:
    """Add `count` tiny documents; return the seconds each batch took."""
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"foto-{i:05d}.jpg"
        path.write_bytes(os.urandom(200))
        paths.append(path)
    seconds = []
    start = time.perf_counter()
    for first in range(0, count, batch):
        batch_start = time.perf_counter()
        client.add_many(dossier, paths[first : first + batch])
        seconds.append(time.perf_counter() - batch_start)
        done = min(first + batch, count)
        progress(
            f"  {done:>6}/{count} documents, {time.perf_counter() - start:7.1f} s, "
            f"last batch {1000 * seconds[-1] / (done - first):.1f} ms per document"
        )
    return seconds


def median_of(repeat: int, action: Callable[[int], float]) -> float:
    return statistics.median(action(i) for i in range(repeat))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--documents",
        "--share-documents",
        type=int,
        default=1000,
        help="documents in the shared dossier (default 1000)",
    )
    parser.add_argument(
        "--list-documents",
        type=int,
        default=10_000,
        help="documents in the listed dossier (default 10000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--batch", type=int, default=500, help="documents per add_many call")
    args = parser.parse_args()
    n_share, n_list, repeat = args.documents, args.list_documents, args.repeat
    kluis = str(Path(sys.executable).with_name("kluis"))
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="kluis-scale-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        with LocalServer(work / "data") as server:

            def device(name: str, username: str, *, register: bool = False) -> Client:
                client = Client(server.url, str(work / name))
                if register:
                    client.register(username, PASSPHRASE)
                else:
                    client.login(username, PASSPHRASE)  # Argon2id: once per device, not timed
                return client

            def cli_seconds(profile: str, *argv: str) -> float:
                env = {**os.environ, "KLUIS_SERVER": server.url}
                env["KLUIS_PROFILE"] = str(work / profile)
                start = time.perf_counter()
                subprocess.run([kluis, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
                return time.perf_counter() - start

            anna = device("anna", "anna", register=True)
            for i in range(repeat):
                device(f"aannemer-{i}", f"aannemer-{i}", register=True).close()
                device(f"gemeente-{i}", f"gemeente-{i}", register=True).close()

            progress(f"setup: a dossier of {n_share} documents")
            shared = anna.create_dossier("share benchmark")
            setup_share = fill(anna, shared, n_share, args.batch, work / "files-share")

            share_alone = median_of(
                repeat, lambda i: timed(lambda: anna.share(shared, f"aannemer-{i}"))
            )

            progress(f"setup: a dossier of {n_list} documents")
            big = anna.create_dossier("list benchmark")
            setup_list = fill(anna, big, n_list, args.batch, work / "files-list")

            share_beside_big = median_of(
                repeat, lambda i: timed(lambda: anna.share(shared, f"gemeente-{i}"))
            )

            progress("measuring listings")
            documents_own_first = timed(lambda: anna.documents(big))  # the device that added them
            assert len(anna.documents(big)) == n_list
            documents_again = median_of(repeat, lambda _: timed(lambda: anna.documents(big)))

            def documents_new_device(i: int) -> float:
                laptop = device(f"anna-tablet-{i}", "anna")
                seconds = timed(lambda: laptop.documents(big))
                laptop.close()
                return seconds

            documents_first = median_of(repeat, documents_new_device)

            def ls_new_device(i: int) -> tuple[float, float, float, float]:
                device(f"anna-laptop-{i}", "anna").close()
                device(f"anna-phone-{i}", "anna").close()
                first = cli_seconds(f"anna-laptop-{i}", "ls", big, "--json")
                table_first = cli_seconds(f"anna-phone-{i}", "ls", big)
                return (
                    first,
                    cli_seconds(f"anna-laptop-{i}", "ls", big, "--json"),
                    table_first,
                    cli_seconds(f"anna-phone-{i}", "ls", big),
                )

            ls_runs = [ls_new_device(i) for i in range(repeat)]
            ls_first, ls_again, table_first, table_again = (
                statistics.median(r[k] for r in ls_runs) for k in range(4)
            )
            startup = median_of(repeat, lambda _: cli_seconds("anna", "--help"))

            progress("measuring one more add and a prefix lookup")
            extra = work / "nog-een-brief.txt"
            extra.write_text("one more letter")
            add_one = median_of(repeat, lambda _: timed(lambda: anna.add(big, extra)))
            some_document = anna.documents(big)[n_list // 2].document_id
            resolve = median_of(
                repeat, lambda _: timed(lambda: anna.resolve_document(some_document[:8]))
            )
            anna.close()

    def per_doc(seconds: list[float], count: int) -> str:
        total = sum(seconds)
        first, last = seconds[0], seconds[-1]
        first_n = min(args.batch, count)
        last_n = count - args.batch * (len(seconds) - 1)
        return (
            f"{total:.0f} s, {1000 * total / count:.0f} ms per document "
            f"(first batch {1000 * first / first_n:.0f} ms, last {1000 * last / last_n:.0f} ms)"
        )

    def verdict(seconds: float, target: float) -> str:
        return f"< {target} s {'met' if seconds < target else 'NOT met'}"

    print(f"\nKluis dossier scale: {n_share} and {n_list} documents, loopback, SQLite and files")
    print(
        f"median of {repeat}; {os.cpu_count()} CPUs; load average at start {load:.2f}\n"
        f"setup {n_share} documents: {per_doc(setup_share, n_share)}\n"
        f"setup {n_list} documents: {per_doc(setup_list, n_list)}\n"
    )
    rows = [
        (f"Client.share, dossier of {n_share} (owner has no other)", share_alone, SHARE_TARGET_S),
        (f"Client.share, same, owner also has the {n_list}", share_beside_big, SHARE_TARGET_S),
        (f"Client.documents, {n_list}, device that added them", documents_own_first, None),
        (f"Client.documents, {n_list}, first time on a device", documents_first, None),
        (f"Client.documents, {n_list}, again", documents_again, None),
        (f"kluis ls --json, {n_list}, first time on a device", ls_first, LS_TARGET_S),
        (f"kluis ls --json, {n_list}, again on that device", ls_again, LS_TARGET_S),
        (f"kluis ls (table), {n_list}, first time on a device", table_first, LS_TARGET_S),
        (f"kluis ls (table), {n_list}, again on that device", table_again, LS_TARGET_S),
        ("kluis --help (interpreter and import start-up)", startup, None),
        (f"Client.add of one more document into the {n_list}", add_one, None),
        ("resolve an 8-character document id prefix", resolve, None),
    ]
    print(f"{'operation':<58} {'seconds':>8}  target")
    for label, seconds, target in rows:
        print(f"{label:<58} {seconds:8.3f}  {verdict(seconds, target) if target else ''}".rstrip())


if __name__ == "__main__":
    main()
