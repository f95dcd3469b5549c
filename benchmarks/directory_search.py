"""The business directory on the server: searching 5,000 businesses (issue 20).

Run from the repository root:

    .venv/bin/python benchmarks/directory_search.py [--businesses 5000] [--rounds 200]

Fills a fresh SQLite database (in a temporary directory) with --businesses organisations, each
with a signed profile (format section 21) in one of 60 places, four services of 30, published
through the real API route, then times `GET /directory` in process (TestClient: the route, the
query and the JSON, no network) by place, by postcode area, by service, and by place and
service together, --rounds times each. The issue's target: under 100 ms server side per search.

Prints figures; never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import Settings  # noqa: E402
from tests.server.harness import FakeClock, Kluis, b64, make_client  # noqa: E402
from tests.server.test_organisations import create_org  # noqa: E402
from vault.business import make_profile  # noqa: E402
from vault.keys import PrivateIdentity  # noqa: E402

PLACES = 60
SERVICES = [f"dienst-{n:02d}" for n in range(30)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--businesses", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("KLUIS_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory() as scratch:
        clock = FakeClock()
        with make_client(Settings(data_dir=Path(scratch), access_log=False), clock) as client:
            kluis = Kluis(client, clock)
            owner = kluis.register("eigenaar")
            started = time.perf_counter()
            for n in range(args.businesses):
                org_id = create_org(kluis, owner, f"bedrijf-{n}", kind=3).json()["org_id"]
                keys = PrivateIdentity.generate(bytes.fromhex(org_id), f"bedrijf-{n}", 1)
                place, services = n % PLACES, [SERVICES[(n + k * 7) % 30] for k in range(4)]
                profile = make_profile(
                    keys, org_fingerprint=bytes(32), issued_at=1_800_000_000, kvk=10_000_000 + n,
                    latitude=53.0 + n % 100 / 100, longitude=6.5 + n % 50 / 100,
                    name=f"Bedrijf {n}", postcode=f"{9700 + place}AB", place=f"Dorp {place}",
                    address=f"Dorpsstraat {n}", services=services,
                )  # fmt: skip
                answer = kluis.put(
                    f"/organisations/{org_id}/profile", owner, json={"profile": b64(profile)}
                )
                assert answer.status_code == 204, answer.text
            print(
                f"{args.businesses} businesses published in {time.perf_counter() - started:.1f} s"
            )
            queries = {
                "by place": {"place": "dorp 7"},
                "by postcode area": {"postcode": "9707"},
                "by service": {"service": "dienst-03", "limit": "500"},
                "by place and service": {"place": "Dorp 7", "service": "dienst-03"},
            }
            for label, query in queries.items():
                times, found = [], 0
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    answer = client.get("/api/v1/directory", params=query)
                    times.append((time.perf_counter() - t0) * 1000)
                    found = len(answer.json())
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                median = statistics.median(times)
                print(f"{label:22} {found:4} found  median {median:6.1f} ms  p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
