"""Organisation rotation: removing a member from an organisation that 1,000 dossiers are
shared with.

Run from the repository root:

    .venv/bin/python benchmarks/org_rotation.py [--dossiers 1000] [--repeat 3]

Starts a real server (`python -m server`: SQLite and files, loopback), registers a resident,
an admin and --repeat + 1 members, creates an organisation with them, and has the resident
create --dossiers dossiers, each shared with the organisation (a real dossier, index and grant
each; filling is setup and only its time is printed). Then --repeat times, each a fresh admin
client, one member is removed with `Client.remove_member`, which is what
`kluis org remove-member` runs:

* fetch and verify the organisation's key chain and signed memberships;
* make the next epoch's keys, signed by the admin and by the previous epoch's key;
* a membership of the new epoch for every remaining member;
* fetch every grant to the organisation, check each against the dossier owner's key, open it
  with the organisation's key and seal it again for the new epoch (one re-wrap per dossier);
* send all of it in one request, stored in one transaction.

Target: under 5 s for 1,000 dossiers. Afterwards a remaining member opens one dossier through
its re-wrapped grant, as a check that the rotation is complete.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402
from vault.kinds import Rights  # noqa: E402

PASSPHRASE = "benchmark passphrase, 2026 kaasschaaf"  # noqa: S105
TARGET_S = 5.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def share_many(resident: Client, org_name: str, count: int) -> list[str]:
    """`count` dossiers, each shared with the organisation. Through the client's own grant code,
    without `share`'s id-prefix resolution (which lists every dossier, every time)."""
    identity = resident.organisation(org_name).identity
    dossiers = []
    for i in range(count):
        dossier_id = resident.create_dossier(f"Schade {i}")
        dossier = resident.load_dossier(dossier_id)
        grants = resident._dossier_grants(dossier, identity, Rights.READ, 0, counter=2)
        resident.api.post_grants(dossier_id, grants)
        dossiers.append(dossier_id)
        if (i + 1) % 100 == 0:
            progress(f"  {i + 1} dossiers shared")
    return dossiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kluis-bench-org-") as tmp:
        root = Path(tmp)
        with LocalServer(root / "data") as server:

            def client(name: str) -> Client:
                return Client(server.url, str(root / f"profile-{name}"))

            resident, admin = client("anna"), client("ada")
            members = [f"member{i}" for i in range(args.repeat + 1)]
            for name, c in (("anna", resident), ("ada", admin)):
                c.register(name, PASSPHRASE)
            for name in members:
                with client(name) as c:
                    c.register(name, PASSPHRASE)
            admin.create_organisation("ncg", "institution")
            for name in members:
                admin.add_member("ncg", name)
            start = time.perf_counter()
            dossiers = share_many(resident, "ncg", args.dossiers)
            progress(
                f"setup: {len(dossiers)} dossiers shared in {time.perf_counter() - start:.1f} s"
            )

            timings = []
            for name in members[: args.repeat]:
                with client("ada") as fresh_admin:
                    start = time.perf_counter()
                    result = fresh_admin.remove_member("ncg", name)
                    timings.append(time.perf_counter() - start)
                assert result.rewrapped == args.dossiers, result
                print(
                    f"remove-member {name}: {timings[-1]:.2f} s (epoch {result.epoch}, "
                    f"{result.rewrapped} grants re-wrapped, {result.members} members left)"
                )
            stays = client(members[-1])
            opened = stays.load_dossier(dossiers[-1])
            assert opened.keys and opened.title == f"Schade {args.dossiers - 1}"
            median = statistics.median(timings)
            verdict = "OK" if median < TARGET_S else "OVER TARGET"
            print(
                f"median remove-member with {args.dossiers} shared dossiers: {median:.2f} s "
                f"(target < {TARGET_S:.0f} s: {verdict})"
            )
            for c in (resident, admin, stays):
                c.close()


if __name__ == "__main__":
    main()
