"""Upload and download through `kluis server` against a bare FastAPI streaming endpoint.

Run from the repository root:

    .venv/bin/python benchmarks/server_transfer.py [--size-mib 1024]

Measured in one run, on loopback:

* Kluis: the real client (`Client.add` / `Client.get`: encryption, BLAKE3, signatures and every
  check on the way back) in its own process, against a real `python -m server`;
* bare: an httpx client streaming the same file to a minimal FastAPI app (uvicorn) that writes
  the request body to a file, and streaming it back.

Prints MiB/s, the Kluis/bare ratio (target >= 70%) and the peak RSS (VmHWM) of the Kluis client
and server processes (target < 100 MiB each).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk.localserver import LocalServer  # noqa: E402

BARE_APP = """
import os, sys
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
app = FastAPI()
STORE = sys.argv[1]

@app.post("/blob")
async def put(request: Request):
    with open(STORE, "wb") as fh:
        async for chunk in request.stream():
            fh.write(chunk)
    return {"size": os.path.getsize(STORE)}

@app.get("/blob")
def get():
    return FileResponse(STORE)

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

BARE_CLIENT = """
import sys, time, httpx
url, src, dst = sys.argv[1:4]
def chunks():
    with open(src, "rb") as fh:
        while data := fh.read(1 << 20):
            yield data
with httpx.Client(timeout=600) as c:
    t = time.perf_counter()
    c.post(url, content=chunks()).raise_for_status()
    up = time.perf_counter() - t
    t = time.perf_counter()
    with c.stream("GET", url) as r, open(dst, "wb") as out:
        for data in r.iter_bytes(1 << 20):
            out.write(data)
    down = time.perf_counter() - t
print(up, down)
"""

KLUIS_SETUP = """
import sys
from client_sdk import Client
c = Client(sys.argv[1], sys.argv[2])
c.register("bench", "benchmark passphrase")
print(c.create_dossier("transfer"))
"""

# A separate process, as `kluis add` and `kluis get` are: no Argon2id, the session is stored.
KLUIS_CLIENT = """
# Linux carries the parent's peak RSS across vfork and exec: count from here.
open("/proc/self/clear_refs", "w").write("5")
import json, sys, time
from client_sdk import Client
url, profile, src, dst, d = sys.argv[1:6]
c = Client(url, profile)
t = time.perf_counter(); info = c.add(d, src); up = time.perf_counter() - t
t = time.perf_counter(); c.get(info.document_id, dst); down = time.perf_counter() - t
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps([up, down, int(peak) / 1024]))
"""


def vmhwm_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory(prefix="kluis-transfer-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        src = work / "input.bin"
        with src.open("wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))

        app = work / "bare_app.py"
        app.write_text(BARE_APP)
        port = "18765"
        bare = subprocess.Popen([sys.executable, str(app), str(work / "bare-store"), port])
        time.sleep(2.0)
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                BARE_CLIENT,
                f"http://127.0.0.1:{port}/blob",
                str(src),
                str(work / "bare-out"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        bare.terminate()
        bare.wait()
        bare_up, bare_down = float(out[0]), float(out[1])
        (work / "bare-store").unlink()
        (work / "bare-out").unlink()

        with LocalServer(work / "data") as server:
            profile = str(work / "profile")
            dossier = subprocess.run(
                [sys.executable, "-c", KLUIS_SETUP, server.url, profile],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout.strip()
            out_path = str(work / "kluis-out")
            result = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    KLUIS_CLIENT,
                    server.url,
                    profile,
                    str(src),
                    out_path,
                    dossier,
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            assert server.process is not None
            server_peak = vmhwm_mib(server.process.pid)
        up, down, client_peak = json.loads(result.stdout)
        same = (work / "kluis-out").stat().st_size == size

    mib = args.size_mib
    print(f"{mib} MiB, loopback; output identical in size: {same}")
    print(f"{'':<28}{'Kluis MiB/s':>12}{'bare MiB/s':>12}{'ratio':>8}   target")
    print(f"{'upload':<28}{mib / up:12.0f}{mib / bare_up:12.0f}{bare_up / up:8.0%}   >= 70%")
    print(
        f"{'download':<28}{mib / down:12.0f}{mib / bare_down:12.0f}{bare_down / down:8.0%}   >= 70%"
    )
    print(
        f"peak RSS: Kluis client {client_peak:.0f} MiB, server {server_peak:.0f} MiB (target < 100)"
    )


if __name__ == "__main__":
    main()
