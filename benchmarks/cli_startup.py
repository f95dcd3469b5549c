"""CLI start-up: what a `kluis` command costs before and around its first request.

Run from the repository root:

    .venv/bin/python benchmarks/cli_startup.py [--repeat 7]

Starts a real server (`python -m server`: SQLite and files, loopback, `http://`), registers a
user and adds a 10-document dossier through the real client (setup, not measured), then times
as subprocesses, interleaved round by round so that a busy machine slows all alike (the median
of --repeat each):

* `python -c pass`: the interpreter alone, the floor every command pays;
* `python -c "import typer, rich.console"`, `python -c "import httpx"` and
  `python -c "import cryptography.hazmat.bindings._rust"`-style imports of each heavy
  dependency alone, so the closing table shows what each one costs on this machine;
* `kluis --help`: building the app, no client;
* `kluis whoami`: the client, the profile and one request (`GET /me`);
* `kluis ls DOSSIER`: the 10-document listing, every signature checked.

Prints each time and its ratio to `python -c pass`, and the CPU-seconds each used (user +
system), which a busy machine moves much less than the time. `--compare KLUIS` times the same three
commands of another installation too (for example the main checkout's `.venv/bin/kluis`), in
the same rounds. Never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402

PASSPHRASE = "benchmark passphrase, 2026 kaasschaaf"  # noqa: S105
KLUIS = str(Path(sys.executable).with_name("kluis"))
DEPENDENCIES = {
    "typer + rich.console": "import typer, rich.console",
    # typer 0.29 coerces every parameter through pydantic: parsing any command imports it
    "typer._adapters (pydantic)": "import typer._adapters",
    "httpx": "import httpx",
    "httpx.Client() (CA bundle)": "import httpx; httpx.Client()",
    "cryptography (X25519, Ed25519)": (
        "from cryptography.hazmat.primitives.asymmetric import ed25519, x25519"
    ),
    "nacl + argon2": "import nacl.bindings, argon2",
    "client_sdk.client": "import client_sdk.client",
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from exec to exit, and the CPU-seconds (user + system) the process used: on a
    machine shared with other work the wall time follows the load, the CPU time much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compare", metavar="KLUIS", help="another kluis to time alongside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kluis-cli-startup-") as tmp:
        folder = Path(tmp)
        with LocalServer(folder / "data") as server:
            profile = folder / "profile"
            with Client(server.url, str(profile)) as client:
                client.register("anna", PASSPHRASE)
                dossier = client.create_dossier("Schade Hoofdstraat 12")
                files = []
                for i in range(10):
                    path = folder / f"document-{i}.txt"
                    path.write_text(f"document {i}\n" * 100, encoding="utf-8")
                    files.append(path)
                client.add_many(dossier, files)
            env = {**os.environ, "KLUIS_SERVER": server.url, "KLUIS_PROFILE": str(profile)}
            runs: dict[str, list[str]] = {
                "python -c pass": [sys.executable, "-c", "pass"],
                **{
                    f"import {name}": [sys.executable, "-c", code]
                    for name, code in DEPENDENCIES.items()
                },
                "kluis --help": [KLUIS, "--help"],
                "kluis whoami": [KLUIS, "whoami"],
                "kluis ls (10 documents)": [KLUIS, "ls", dossier],
            }
            if args.compare:
                runs["compared: kluis --help"] = [args.compare, "--help"]
                runs["compared: kluis whoami"] = [args.compare, "whoami"]
                runs["compared: kluis ls (10 documents)"] = [args.compare, "ls", dossier]
            for argv in runs.values():  # warm the page cache: every run reads the same files
                timed(argv, env)
            times: dict[str, list[float]] = {name: [] for name in runs}
            cpus: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.repeat):
                for name, argv in runs.items():
                    wall, cpu = timed(argv, env)
                    times[name].append(wall)
                    cpus[name].append(cpu)
    floor = statistics.median(times["python -c pass"])
    cpu_floor = statistics.median(cpus["python -c pass"])
    print(f"CLI start-up, median of {args.repeat} (interleaved), against {server.url}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"{'what':<42} {'seconds':>8} {'x pass':>7} {'minus pass':>11} {'CPU s':>7} "
        f"{'CPU minus pass':>15}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        cpu = statistics.median(cpus[name])
        print(
            f"{name:<42} {median:8.3f} {median / floor:7.1f} {median - floor:11.3f} "
            f"{cpu:7.3f} {cpu - cpu_floor:15.3f}"
        )


if __name__ == "__main__":
    main()
