"""What one offline passphrase guess costs: Argon2id at the parameters Kluis uses.

Run from the repository root:

    .venv/bin/python benchmarks/argon2_guess_cost.py [--repeat 10]

Someone holding a user's key bundle and its salt (the server operator, or whoever copied the
database) tries a passphrase by running Argon2id(P, salt, t, m, p=1) and then one AEAD open;
the AEAD is negligible, so a guess costs one Argon2id evaluation at the account's parameters.
This prints the median time of one evaluation on this machine, single-threaded, at the defaults
(64 MiB, 3 passes: vault/kdf.py) and at the floor clients enforce (the same values), and the
memory traffic one evaluation needs, the quantity that bounds a GPU or ASIC attacker (each of
t x m 1 KiB blocks reads two blocks and writes one). docs/threat-model.md (L17) turns this into
the passphrase floor of vault/passphrase.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from vault.kdf import DEFAULT_ITERATIONS, DEFAULT_MEMORY_KIB, KdfParams, derive_master_key

KIB = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    params = KdfParams(1, DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, 1, os.urandom(16))
    derive_master_key("warm-up guess", params)
    times = []
    for i in range(args.repeat):
        start = time.perf_counter()
        derive_master_key(f"guess number {i}", params)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    traffic = 3 * params.iterations * params.memory_kib * KIB
    print(f"Argon2id m={params.memory_kib} KiB t={params.iterations} p=1, {args.repeat} runs")
    print(f"  one guess: median {median * 1000:.0f} ms (min {min(times) * 1000:.0f} ms)")
    print(f"  guesses per second on one core: {1 / median:.1f}")
    print(f"  memory held per guess: {params.memory_kib * KIB / 2**20:.0f} MiB")
    print(f"  memory traffic per guess: about {traffic / 2**20:.0f} MiB")
    for name, bandwidth in (("1 TB/s GPU (RTX 4090 class)", 1.0e12), ("3.35 TB/s H100", 3.35e12)):
        print(f"  at most {bandwidth / traffic:,.0f} guesses/s on a {name} (bandwidth bound)")


if __name__ == "__main__":
    main()
