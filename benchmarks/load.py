"""Load: many concurrent clients against several server replicas sharing one database.

Run from the repository root:

    .venv/bin/python benchmarks/load.py                         # 50 clients, 60 s, 2 replicas
    .venv/bin/python benchmarks/load.py --clients 10 --duration 10          # a quick run
    .venv/bin/python benchmarks/load.py --database sqlite                   # without PostgreSQL

Setup (not measured): a fresh PostgreSQL database on --postgres (trust auth: user postgres,
`CREATE DATABASE kluis_load_<random>`, dropped afterwards unless --keep) is migrated with
`python -m server migrate`; then --replicas `python -m server` processes start
(client_sdk.localserver.LocalServer) with the same KLUIS_DATABASE_URL, the same server secret
and one shared blob directory, as replicas behind a load balancer would. With --database sqlite
the replicas share one SQLite file instead.

--clients users are registered (Argon2id, in parallel) and each gets a dossier of
--seed-documents small documents. The clients run in --processes worker processes (threads
inside them), so that client-side cryptography does not serialise on one interpreter lock.
Every HTTP request goes to the next replica in turn (a round-robin load balancer, in the
client's transport). For --duration seconds each client loops over a realistic mix, through
the real Client SDK (every signature and hash checked):

* list (60%): `Client.documents` of its dossier (GET /dossiers/{id}/documents, verified);
* upload (20%): `Client.add` of a new 1-64 KiB file (upload, commit, index re-signed);
* download (20%): `Client.get` of one of its documents (stream, decrypt, verify).

Back to back by default (the most the machine can do); `--think S` makes each client pause a
random 0-2S seconds between operations, as a person would.

Printed: throughput, p50/p99 per operation and per HTTP request kind, errors, the requests each
replica served (from its /metrics), and the targets: no errors, p99 of metadata requests (every
HTTP request but the payload streams) under 250 ms. Client, servers and database share this
machine's cores, so the figures include the client's own CPU work.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402

PASSPHRASE = "load benchmark passphrase"  # noqa: S105
MIX = {"list": 60, "upload": 20, "download": 20}
METADATA_P99_TARGET_MS = 250.0
HTTP_KINDS = [
    ("GET", re.compile(r"/dossiers/[0-9a-f]+/documents$"), "GET documents listing"),
    ("POST", re.compile(r"/uploads$"), "POST upload (payload)"),
    ("GET", re.compile(r"/payload$"), "GET payload (to headers)"),
    ("POST", re.compile(r"/versions$"), "POST version commit"),
    ("PUT", re.compile(r"/index$"), "PUT dossier index"),
]
PAYLOAD_KINDS = {"POST upload (payload)", "GET payload (to headers)"}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the client side: a round-robin "load balancer" that also times each request ----------------
class Balancer(httpx.HTTPTransport):
    """Sends each request to the next replica and records (kind, seconds, status)."""

    def __init__(self, replicas: list[tuple[str, int]], samples: list[tuple[str, float, int]]):
        super().__init__(limits=httpx.Limits(max_connections=8, max_keepalive_connections=8))
        self.replicas = replicas
        self.turn = count(random.randrange(len(replicas)))
        self.samples = samples

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host, port = self.replicas[next(self.turn) % len(self.replicas)]
        request.url = request.url.copy_with(host=host, port=port)
        request.headers["Host"] = f"{host}:{port}"
        kind = "other metadata"
        for method, pattern, name in HTTP_KINDS:
            if request.method == method and pattern.search(request.url.path):
                kind = name
                break
        started = time.perf_counter()
        response = super().handle_request(request)
        if kind not in PAYLOAD_KINDS or response.status_code >= 400:
            response.read()  # a metadata answer counts until its last byte
        self.samples.append((kind, time.perf_counter() - started, response.status_code))
        return response


@dataclass
class Job:
    """What one worker process runs: its clients, against which replicas, for how long."""

    index: int
    usernames: list[str]
    replicas: list[tuple[str, int]]
    work: str
    duration: float
    seed_documents: int
    think: float


@dataclass
class Outcome:
    operations: list[tuple[str, float]] = field(default_factory=list)
    requests: list[tuple[str, float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    setup_seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this client process during the load


def random_file(folder: Path, rng: random.Random) -> Path:
    path = folder / f"brief-{secrets.token_hex(6)}.pdf"
    path.write_bytes(os.urandom(rng.randint(1, 64) * 1024))
    return path


def run_worker(job: Job, barrier: Any) -> Outcome:
    """One process: set up its clients, wait for the others, then load for job.duration."""
    outcome = Outcome()
    lock = threading.Lock()
    url = f"http://{job.replicas[0][0]}:{job.replicas[0][1]}"  # rewritten per request
    setup_started = time.perf_counter()
    clients: list[tuple[Client, str, list[str], Path, list[tuple[str, float, int]]]] = []

    def setup(username: str) -> None:
        folder = Path(job.work) / username
        folder.mkdir(parents=True)
        samples: list[tuple[str, float, int]] = []
        client = Client(url, str(folder / "profile"), transport=Balancer(job.replicas, samples))
        client.register(username, PASSPHRASE)
        dossier = client.create_dossier(f"Schade {username}")
        rng = random.Random(username)
        paths = [random_file(folder, rng) for _ in range(job.seed_documents)]
        documents = [info.document_id for info in client.add_many(dossier, paths)]
        client.documents(dossier)  # a device has seen its dossier before
        samples.clear()  # setup traffic is not measured
        with lock:
            clients.append((client, dossier, documents, folder, samples))

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(setup, name) for name in job.usernames]:
            future.result()
    outcome.setup_seconds = time.perf_counter() - setup_started
    barrier.wait()  # everyone is set up
    barrier.wait()  # the servers' metrics have been read: go
    deadline = time.monotonic() + job.duration
    cpu_started = time.process_time()

    def load(client: Client, dossier: str, documents: list[str], folder: Path) -> None:
        rng = random.Random()
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                if kind == "list":
                    client.documents(dossier)
                elif kind == "upload":
                    path = random_file(folder, rng)
                    documents.append(client.add(dossier, path).document_id)
                    path.unlink()
                else:
                    target = folder / "download.bin"
                    client.get(rng.choice(documents), target, overwrite=True)
            except Exception as exc:
                with lock:
                    outcome.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                outcome.operations.append((kind, time.perf_counter() - started))
            if job.think:  # a person between two actions: uniform, mean `think` seconds
                pause = rng.uniform(0, 2 * job.think)
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    threads = [threading.Thread(target=load, args=c[:4]) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.cpu_seconds = time.process_time() - cpu_started
    for client, *_, samples in clients:
        outcome.requests.extend(samples)
        client.close()
    return outcome


def _worker_main(job: Job, barrier: Any, results: Any) -> None:
    try:
        results.put((job.index, run_worker(job, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put((job.index, Outcome(errors=[f"worker failed: {type(exc).__name__}: {exc}"])))
        raise


# -- the server side ----------------------------------------------------------------------------
def create_postgres_database(admin_url: str) -> str:
    import psycopg

    name = f"kluis_load_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # a name of our own making
    return name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


SERVER_PAYLOAD_ROUTES = {
    "/api/v1/uploads",
    "/api/v1/documents/{document_id}/versions/{version}/payload",
}


def metadata_histogram(servers: list[LocalServer]) -> dict[float, float]:
    """Cumulative counts per latency bucket (seconds) of the metadata requests the replicas
    served, summed over replicas and routes, from their own /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[float, float] = defaultdict(float)
    for server in servers:
        text = httpx.get(server.url + "/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            if family.name != "kluis_http_request_duration_seconds":
                continue
            for sample in family.samples:
                route = sample.labels.get("route", "")
                if not sample.name.endswith("_bucket") or route in SERVER_PAYLOAD_ROUTES:
                    continue
                if route.startswith("/api/"):
                    buckets[float(sample.labels["le"])] += sample.value
    return buckets


def server_side_summary(before: dict[float, float], after: dict[float, float]) -> str:
    diff = {le: after.get(le, 0.0) - before.get(le, 0.0) for le in after}
    total = diff.get(float("inf"), 0.0)
    if not total:
        return "no metadata requests seen by the servers"
    p99 = next(le for le in sorted(diff) if diff[le] >= 0.99 * total)
    within = diff.get(METADATA_P99_TARGET_MS / 1000, 0.0) / total
    return (
        f"{int(total)} metadata requests, {100 * within:.2f}% within "
        f"{METADATA_P99_TARGET_MS:.0f} ms, p99 in the bucket <= {1000 * p99:.0f} ms"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replica_cpu(servers: list[LocalServer]) -> list[float]:
    return [cpu_seconds(s.process.pid) if s.process else 0.0 for s in servers]


def replica_requests(server: LocalServer) -> int | None:
    try:
        text = httpx.get(server.url + "/metrics", timeout=10).raise_for_status().text
    except httpx.HTTPError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("kluis_http_requests_total{") and 'route="/metrics"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


# -- reporting ----------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def table(title: str, samples: dict[str, list[float]], duration: float) -> None:
    print(f"\n{title}")
    print(f"  {'kind':<28} {'count':>7} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in sorted(samples):
        values = samples[kind]
        print(
            f"  {kind:<28} {len(values):>7} {len(values) / duration:>8.1f} "
            f"{1000 * percentile(values, 0.50):>8.1f} {1000 * percentile(values, 0.99):>8.1f} "
            f"{1000 * max(values):>8.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--replicas", type=int, default=None, help="default: 2 (sqlite: 1)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an administrative connection, to create the benchmark's own database",
    )
    parser.add_argument("--processes", type=int, default=2, help="client worker processes")
    parser.add_argument("--seed-documents", type=int, default=5, help="per client, at setup")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a client waits between operations (default 0: back to back)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()
    replicas = args.replicas or (2 if args.database == "postgres" else 1)
    load_before = os.getloadavg()[0]
    processes = max(1, min(args.processes, args.clients))

    work = Path(tempfile.mkdtemp(prefix="kluis-load-", dir="/var/tmp"))
    env = {
        "KLUIS_SERVER_SECRET": secrets.token_hex(32),  # the same on every replica
        "KLUIS_BLOB_DIR": str(work / "blobs"),  # one blob store for all of them
    }
    database = None
    if args.database == "postgres":
        database = create_postgres_database(args.postgres)
        base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        env["KLUIS_DATABASE_URL"] = f"{base}/{database}"
        progress(f"database {database} on {base.split('@')[-1]}")
    else:
        env["KLUIS_DATABASE_URL"] = f"sqlite:///{work / 'kluis.db'}"
    servers: list[LocalServer] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "server", "migrate", "--data-dir", str(work / "migrate")],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
        )
        for i in range(replicas):
            servers.append(LocalServer(work / f"replica-{i}" / "data", env).start())
        progress(f"{replicas} replica(s): " + ", ".join(s.url for s in servers))

        endpoints = [(s.host, s.port) for s in servers]
        names = [f"load-{i:03d}" for i in range(args.clients)]
        jobs = [
            Job(p, names[p::processes], endpoints, str(work / "clients"), args.duration,
                args.seed_documents, args.think)
            for p in range(processes)
        ]  # fmt: skip
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(processes + 1)
        results = context.Queue()
        workers = [
            context.Process(target=_worker_main, args=(job, barrier, results)) for job in jobs
        ]
        progress(f"setup: {args.clients} clients in {processes} processes (Argon2id each)")
        setup_started = time.perf_counter()
        for worker in workers:
            worker.start()
        barrier.wait(timeout=600)  # every client is set up
        histogram_before = metadata_histogram(servers)
        cpu_before = replica_cpu(servers)
        barrier.wait(timeout=60)  # go
        progress(
            f"setup took {time.perf_counter() - setup_started:.1f} s; "
            f"load for {args.duration:.0f} s"
        )
        started = time.perf_counter()
        outcomes = [results.get(timeout=args.duration + 600)[1] for _ in workers]
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()
        server_cpu = [b - a for a, b in zip(cpu_before, replica_cpu(servers), strict=True)]
        served = [replica_requests(s) for s in servers]
        server_side = server_side_summary(histogram_before, metadata_histogram(servers))
    finally:
        for server in servers:
            server.stop()
        if database and not args.keep:
            drop_postgres_database(args.postgres, database)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)

    operations: dict[str, list[float]] = defaultdict(list)
    requests: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    server_errors = 0
    for outcome in outcomes:
        for kind, seconds in outcome.operations:
            operations[kind].append(seconds)
        for kind, seconds, status in outcome.requests:
            requests[kind].append(seconds)
            server_errors += status >= 500
        errors.extend(outcome.errors)
    duration = min(elapsed, args.duration) if elapsed > 0 else args.duration
    metadata = [s for kind, values in requests.items() if kind not in PAYLOAD_KINDS for s in values]

    print(
        f"\nKluis load: {args.clients} clients, {replicas} replica(s) on {args.database}, "
        f"{args.duration:.0f} s, think {args.think:g} s, {processes} client processes, "
        f"{os.cpu_count()} cores "
        f"(load average before: {load_before:.2f})"
    )
    total_ops = sum(len(v) for v in operations.values())
    total_requests = sum(len(v) for v in requests.values())
    print(
        f"throughput: {total_ops / duration:.1f} operations/s, "
        f"{total_requests / duration:.1f} HTTP requests/s"
    )
    table("operations (through the Client SDK, client-side crypto included)", operations, duration)
    table("HTTP requests (to the answer's last byte; payloads to the headers)", requests, duration)
    print(f"\nrequests served per replica (from /metrics): {served}")
    print(f"as the servers measured them (from /metrics): {server_side}")
    client_cpu = sum(o.cpu_seconds for o in outcomes)
    print(
        f"CPU seconds during the load: replicas {', '.join(f'{c:.1f}' for c in server_cpu)} "
        f"({1000 * sum(server_cpu) / max(total_requests, 1):.1f} ms per request), "
        f"clients {client_cpu:.1f}, of {os.cpu_count() or 1} x {duration:.0f} s available"
    )
    print(f"errors: {len(errors)} (HTTP 5xx answers: {server_errors})")
    for message in errors[:10]:
        print(f"  {message}")
    p99 = 1000 * percentile(metadata, 0.99) if metadata else float("nan")
    print("\n| target | result |\n|---|---|")
    print(f"| no errors | {len(errors)} errors — {'met' if not errors else 'NOT met'} |")
    met = p99 < METADATA_P99_TARGET_MS
    print(
        f"| metadata requests p99 < {METADATA_P99_TARGET_MS:.0f} ms | {p99:.1f} ms over "
        f"{len(metadata)} requests — {'met' if met else 'NOT met'} |"
    )
    if metadata:
        median = 1000 * statistics.median(metadata)
        print(f"| (for reference) median of metadata requests | {median:.1f} ms |")
    return 0 if not errors and met else 1


if __name__ == "__main__":
    sys.exit(main())
