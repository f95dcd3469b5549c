"""Upload and download through `kluis server` against a bare FastAPI streaming endpoint, and
Kluis's upload in parts next to its streaming upload.

Run from the repository root:

    .venv/bin/python benchmarks/server_transfer.py [--size-mib 1024] [--repeat 5]

One run starts both servers, then alternates the three contenders --repeat times over the same
random file, on loopback:

* Kluis: a real `python -m server` (SQLite and files) and the real client in its own process:
  `Client.add` (encrypt, BLAKE3, sign, stream; the server hashes, fsyncs and commits) then
  `Client.get` (stream, decrypt, check the signed header, digest and sizes, fsync, rename),
  with the payload streamed in one request (`POST /uploads`);
* Kluis in parts: the same, with the payload sent in parts of 16 MiB (docs/api.md, "Uploads
  in parts"; what the client does by default above 16 MiB): each part hashed by the client
  and checked and fsynced by the server, then the completion, in which the server joins the
  parts into the blob while hashing it and checks size and BLAKE3. Its time on the server is
  read from the server's request log and shown on its own;
* bare: a minimal FastAPI app under uvicorn in its own process (POST writes request.stream()
  to a file; GET returns it as a FileResponse), driven by a bare httpx client in its own
  process streaming the same file up and back down. No encryption, hashing or fsync.

So the ratio Kluis/bare is the price of everything Kluis does on top of moving the bytes, and
parts/streaming the price of resumable uploads.

With --s3 the Kluis server keeps its payloads in S3 instead of files: moto's S3 server (in
memory, pure Python, in its own process on loopback; a stand-in, far slower than MinIO or AWS),
so that the completion's read-back of the object shows next to the upload. Use a smaller file
(moto keeps every payload in memory): `--s3 --size-mib 256 --repeat 3`. The page cache
is flushed (sync) before each upload and each download, outside the timed part; the input file
stays in the page cache for both contenders. Transfer times are measured inside the client
processes (interpreter start-up is not counted: it is noise next to a GiB).

Memory and CPU: each client process's own peak RSS and CPU time (user + system, interpreter
start-up included) come from GNU time (%M %U %S) wrapped around it; each server's peak RSS from
/proc/<pid>/status (VmHWM, the peak of its whole life) just before it is stopped, and its CPU
time per run from /proc/<pid>/stat. CPU seconds say what each side costs even when other work
on the machine makes the MiB/s noisy. (Linux keeps ru_maxrss across execve and Python starts
children with vfork, so the parent's RUSAGE_CHILDREN would report this process's peak instead;
VmHWM belongs to the new memory map.) The account is registered in a separate process first
(Argon2id, as `kluis register` or `kluis login` would), whose peak is shown on its own line.

Targets: Kluis at least 70% of the bare endpoint's MiB/s both ways; client and server peak RSS
each under 100 MiB.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
GNU_TIME = "/usr/bin/time"
RATIO_TARGET = 0.70
RSS_TARGET_MIB = 100
PASSPHRASE = "benchmark passphrase, 2026 kaasschaaf"  # noqa: S105


# ---- child processes (each imports only what it needs, so its memory is its own) ----------


def bare_server(store: str) -> None:
    """The bare endpoint: FastAPI + uvicorn, nothing else. Prints its port when listening.

    (No `from __future__ import annotations` in this file: FastAPI must see `Request` itself.)
    """
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/blob")
    async def put(request: Request) -> dict[str, int]:
        with open(store, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
        return {"size": os.path.getsize(store)}

    @app.get("/blob")
    def get() -> FileResponse:
        return FileResponse(store, media_type="application/octet-stream")

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def bare_client(url: str, src: str, dst: str) -> None:
    import httpx

    def chunks() -> Iterator[bytes]:
        with open(src, "rb") as fh:
            while data := fh.read(MIB):
                yield data

    with httpx.Client(timeout=600) as http:
        os.sync()
        start = time.perf_counter()
        http.post(url, content=chunks()).raise_for_status()
        up = time.perf_counter() - start
        os.sync()
        start = time.perf_counter()
        with http.stream("GET", url) as response, open(dst, "wb") as out:
            response.raise_for_status()
            for data in response.iter_bytes(MIB):
                out.write(data)
        down = time.perf_counter() - start
    print(json.dumps({"up": up, "down": down}))


def kluis_setup(url: str, profile: str) -> None:
    sys.path.insert(0, str(ROOT))
    from client_sdk import Client

    with Client(url, profile) as client:
        client.register("bench", PASSPHRASE)
        print(client.create_dossier("transfer benchmark"))


def kluis_client(url: str, profile: str, src: str, dst: str, dossier: str, mode: str) -> None:
    """As `kluis add` and `kluis get` run: the stored session, no Argon2id. `mode` "stream"
    sends the payload in one request whatever its size, "parts" in parts of 16 MiB."""
    sys.path.insert(0, str(ROOT))
    from client_sdk import Client
    from client_sdk.parts import PartPolicy

    policy = PartPolicy(threshold=1 << 62) if mode == "stream" else PartPolicy(threshold=0)
    with Client(url, profile, parts=policy) as client:
        os.sync()
        start = time.perf_counter()
        info = client.add(dossier, src)
        up = time.perf_counter() - start
        os.sync()
        start = time.perf_counter()
        client.get(info.document_id, dst)
        down = time.perf_counter() - start
    print(json.dumps({"up": up, "down": down}))


def moto_server() -> None:
    """moto's S3 server on a free loopback port (printed), until it is terminated."""
    import logging
    import threading

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    threading.Event().wait()


CHILDREN = {
    "moto-server": moto_server,
    "bare-server": bare_server,
    "bare-client": bare_client,
    "kluis-setup": kluis_setup,
    "kluis-client": kluis_client,
}


# ---- measurement helpers -----------------------------------------------------------------


def me(role: str, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", role, *args]


def run_measured(argv: list[str]) -> tuple[float, float, float, str]:
    """Run a process under GNU time: wall time, its own peak RSS (MiB), CPU seconds, stdout."""
    with tempfile.NamedTemporaryFile() as usage_file:
        start = time.perf_counter()
        process = subprocess.run(
            [GNU_TIME, "-f", "%M %U %S", "-o", usage_file.name, *argv],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"{argv[3]} failed:\n{process.stderr}")
        peak_kib, user, system = Path(usage_file.name).read_text().split()[-3:]
    return elapsed, int(peak_kib) / 1024, float(user) + float(system), process.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a (server) process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vmhwm_mib(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    if match is None:
        raise RuntimeError(f"no VmHWM for process {pid}")
    return int(match.group(1)) / 1024


COMPLETION = re.compile(
    r'"route":"/api/v1/uploads/\{upload_id\}/complete","status":200,"duration_ms":([0-9.]+)'
)


def completion_seconds(log: str) -> list[float]:
    """The durations of the completions of uploads in parts in a Kluis server's log."""
    return [float(ms) / 1000 for ms in COMPLETION.findall(log)]


def file_hash(path: Path) -> bytes:
    import blake3

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(path)
    return bytes(hasher.digest())


def make_input(path: Path, size_mib: int) -> None:
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MIB))


S3_ACCESS_KEY = "benchmark-access-key"
S3_SECRET_KEY = "benchmark-secret-key"  # noqa: S105  (moto's, on loopback)


def start_moto() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """moto's S3 server with a bucket, and the settings that point a Kluis server at it."""
    from minio import Minio

    process = subprocess.Popen(me("moto-server"), stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    endpoint = f"127.0.0.1:{int(process.stdout.readline())}"
    admin = Minio(endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region="us-east-1")
    admin.make_bucket("kluis-benchmark")
    return process, {
        "KLUIS_BLOB_BACKEND": "s3",
        "KLUIS_S3_ENDPOINT": endpoint,
        "KLUIS_S3_BUCKET": "kluis-benchmark",
        "KLUIS_S3_ACCESS_KEY": S3_ACCESS_KEY,
        "KLUIS_S3_SECRET_KEY": S3_SECRET_KEY,
        "KLUIS_S3_SECURE": "false",
        "KLUIS_S3_REGION": "us-east-1",
    }


class BareServer:
    def __init__(self, store: Path) -> None:
        self.process = subprocess.Popen(
            me("bare-server", str(store)), stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the bare server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# ---- the benchmark -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (median)")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"), help="for the files")
    parser.add_argument("--s3", action="store_true", help="Kluis's payloads in moto's S3")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        CHILDREN[args.child[0]](*args.child[1:])
        return
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"GNU time ({GNU_TIME}) is needed to measure per-process peak RSS")

    sys.path.insert(0, str(ROOT))
    from client_sdk.localserver import LocalServer

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kluis-transfer-", dir=args.dir) as tmp:
        work = Path(tmp)
        src = work / "input.bin"
        make_input(src, args.size_mib)
        original = file_hash(src)
        out = work / "output.bin"

        moto, env = start_moto() if args.s3 else (None, {})
        bare = BareServer(work / "bare-store.bin")
        kluis = LocalServer(work / "data", env).start()
        try:
            profile = str(work / "profile")
            _, register_peak, _, stdout = run_measured(me("kluis-setup", kluis.url, profile))
            dossier = stdout.strip()
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "kluis": [], "parts": []}
            assert kluis.process is not None
            kluis_pid, bare_pid = kluis.process.pid, bare.process.pid
            for attempt in range(args.repeat):
                for name, argv, pid in (
                    ("bare", me("bare-client", bare.url + "/blob", str(src), str(out)), bare_pid),
                    (
                        "kluis",
                        me(
                            "kluis-client",
                            kluis.url,
                            profile,
                            str(src),
                            str(out),
                            dossier,
                            "stream",
                        ),
                        kluis_pid,
                    ),
                    (
                        "parts",
                        me(
                            "kluis-client", kluis.url, profile, str(src), str(out), dossier, "parts"
                        ),
                        kluis_pid,
                    ),
                ):
                    server_cpu = cpu_seconds(pid)
                    completions = len(completion_seconds(kluis.log()))
                    _, peak, cpu, stdout = run_measured(argv)
                    server_cpu = cpu_seconds(pid) - server_cpu
                    if file_hash(out) != original:
                        sys.exit(f"{name}: the downloaded file differs from the input")
                    out.unlink()
                    measured = {"peak": peak, "cpu": cpu, "server_cpu": server_cpu}
                    if name == "parts":
                        [complete] = completion_seconds(kluis.log())[completions:]
                        measured["complete"] = complete
                    runs[name].append({**json.loads(stdout), **measured})
                    print(
                        f"run {attempt + 1}/{args.repeat} {name:<5}: "
                        + ", ".join(f"{k} {v:.2f}" for k, v in runs[name][-1].items()),
                        file=sys.stderr,
                    )
            kluis_server_peak = vmhwm_mib(kluis_pid)
            bare_server_peak = vmhwm_mib(bare_pid)
        finally:
            kluis.stop()
            bare.stop()
            if moto is not None:
                moto.terminate()
                moto.wait(10)

    def mibs(name: str, direction: str) -> float:
        return args.size_mib / statistics.median(r[direction] for r in runs[name])

    def cpu(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    def peak(name: str) -> float:
        return max(r["peak"] for r in runs[name])

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    store = "S3 (moto, in memory)" if args.s3 else "files"
    print(f"\nKluis server transfer: {args.size_mib} MiB random file, loopback, SQLite and {store}")
    print(
        f"median of {args.repeat}, contenders alternating; {os.cpu_count()} CPUs; "
        f"load average at start {load:.2f}; output checked byte for byte (BLAKE3)\n"
    )
    print(
        f"{'':<36} {'Kluis':>10} {'in parts':>10} {'bare':>10} {'Kluis/bare':>11} "
        f"{'parts/Kluis':>12}"
    )
    for direction, label in (("up", "upload, MiB/s"), ("down", "download, MiB/s")):
        k, p, b = mibs("kluis", direction), mibs("parts", direction), mibs("bare", direction)
        print(f"{label:<36} {k:10.0f} {p:10.0f} {b:10.0f} {k / b:11.0%} {p / k:12.0%}")
    for key, label in (
        ("cpu", "client CPU s, upload + download"),
        ("server_cpu", "server CPU s, upload + download"),
    ):
        print(
            f"{label:<36} {cpu('kluis', key):10.2f} {cpu('parts', key):10.2f} "
            f"{cpu('bare', key):10.2f}"
        )
    complete = cpu("parts", "complete")
    up = statistics.median(r["up"] for r in runs["parts"])
    print(
        f"{'completion on the server, s':<36} {'-':>10} {complete:10.2f} {'-':>10}"
        f"   ({complete / up:.0%} of the upload in parts)"
    )
    peaks = f"{peak('kluis'):10.1f} {peak('parts'):10.1f} {peak('bare'):10.1f}"
    print(f"{'client process peak RSS, MiB':<36} {peaks}")
    server_peaks = f"{kluis_server_peak:10.1f} {'(same)':>10} {bare_server_peak:10.1f}"
    print(f"{'server process peak RSS, MiB':<36} {server_peaks}")
    print(f"{'register process peak RSS, MiB':<36} {register_peak:10.1f} {'-':>10} {'-':>10}")

    print()
    for direction, label in (("up", "upload"), ("down", "download")):
        share = mibs("kluis", direction) / mibs("bare", direction)
        print(
            f"{label} Kluis/bare: {share:.0%} (target >= {RATIO_TARGET:.0%}) "
            f"{verdict(share >= RATIO_TARGET)}"
        )
    share = mibs("parts", "up") / mibs("kluis", "up")
    print(f"upload in parts / streaming upload: {share:.0%}")
    client_peak = max(peak("kluis"), peak("parts"))
    print(
        f"peak RSS Kluis client: {client_peak:.1f} MiB (target < {RSS_TARGET_MIB} MiB) "
        f"{verdict(client_peak < RSS_TARGET_MIB)}"
    )
    print(
        f"peak RSS Kluis server: {kluis_server_peak:.1f} MiB (target < {RSS_TARGET_MIB} MiB) "
        f"{verdict(kluis_server_peak < RSS_TARGET_MIB)}"
    )


if __name__ == "__main__":
    main()
