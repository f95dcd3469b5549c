"""Throughput and memory of the Kluis payload (vault.payload) against raw AEAD and the age CLI.

Run from the repository root:

    .venv/bin/python benchmarks/payload_throughput.py [--size-mib 1024] [--mem-mib 256]

One run prints one table:

* vault encrypt / decrypt, file to file, each in its own process, timed from outside (so
  interpreter start-up counts, as it does for age) with that process's peak RSS;
* vault encrypt / decrypt in memory over a --mem-mib buffer (kept apart from the file size so
  memory stays sane), writing into a preallocated output buffer;
* raw cryptography ChaCha20-Poly1305 over the same 64 KiB chunks, into the same kind of buffer;
* the `age` CLI encrypting (-r) and decrypting (-d -i) the same file, with its peak RSS;
* the primitives a file-to-file run cannot avoid, each on one core: ChaCha20-Poly1305 and
  BLAKE3 over the same bytes in memory, and a plain copy of the file to a new file (read and
  write through a 1 MiB buffer, in its own process, timed inside it).

From the primitives it computes the two-core limit: a GiB costs at least AEAD + BLAKE3 + copy
CPU-seconds, and two cores can spend two CPU-seconds per second, so no file-to-file run can go
faster than 2 / (AEAD + BLAKE3 + copy) GiB/s. Each vault figure is printed as a fraction of
that limit, so how fast the instance is cancels out (the primitives and the vault run on the
same instance, minutes apart).

The vault timings include what a real upload or download does besides the AEAD: the BLAKE3
hash of the ciphertext (computed by the payload code while streaming) and one Ed25519
signature over the payload digest (or its verification, for decrypt). Each measurement is the
median of --repeat runs, taken in rounds (every contender once per round). The random input
file is created once and reused.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import blake3  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from vault.payload import (  # noqa: E402
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    PayloadDigest,
    decrypt_payload,
    encrypt_payload,
)

MIB = 1 << 20
GNU_TIME = "/usr/bin/time"
RSS_TARGET_MIB = 64
AGE_TARGET_RATIO = 1.0  # ahead of age, file to file, both ways
LIMIT_TARGET_SHARE = 0.8  # of the two-core limit, file to file, both ways
MEMORY_TARGET_SHARE = 1.0  # in memory, with BLAKE3 and Ed25519, vs raw single-core AEAD
CORES = 2  # the limit is for the development machine's two cores
BENCH_KEY = bytes(range(16))  # the age file key; secrecy is irrelevant here
SIGNING_SEED = bytes(32)


def digest_message(digest: PayloadDigest) -> bytes:
    return digest.size.to_bytes(8, "big") + digest.blake3


# ---- child process: one file-to-file vault operation ---------------------------------------


def child(operation: str, src: str, dst: str) -> None:
    signing_key = SigningKey(SIGNING_SEED)
    start = time.perf_counter()
    with open(src, "rb") as source, open(dst, "wb") as sink:
        if operation == "copy":  # the primitive: what any file-to-file run reads and writes
            buffer = memoryview(bytearray(MIB))
            while got := source.readinto(buffer):
                sink.write(buffer[:got])
        elif operation == "encrypt":
            digest = encrypt_payload(source, sink, BENCH_KEY)
            signing_key.sign(digest_message(digest))
        else:
            digest = decrypt_payload(source, sink, BENCH_KEY)
            signed = signing_key.sign(digest_message(digest))
            signing_key.verify_key.verify(signed)
    print(json.dumps({"seconds": time.perf_counter() - start}))


# ---- measurement helpers -----------------------------------------------------------------


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run a process; return its wall time, its own peak RSS in MiB, and its stdout.

    Linux carries the peak RSS of the memory image a process replaces across execve, and
    Python starts children with vfork, so wait4/RUSAGE_CHILDREN would report this (large)
    benchmark process's peak for every child. GNU time is a small C program that forks the
    command itself, so the peak it reports (%M, KiB) is the command's own.
    """
    with tempfile.NamedTemporaryFile() as rss_file, tempfile.TemporaryFile() as out:
        timed = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv]
        os.sync()  # earlier runs' dirty pages must not throttle this run's writes
        start = time.perf_counter()
        process = subprocess.run(timed, stdout=out, stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {process.stderr.decode(errors='replace')}")
        out.seek(0)
        peak_kib = int(Path(rss_file.name).read_text().split()[-1])
        return elapsed, peak_kib / 1024, out.read().decode()


def run_rounds(
    contenders: dict[str, tuple[list[str], Path]], repeat: int
) -> dict[str, tuple[float, float, float | None]]:
    """Run every contender once per round, `repeat` rounds; per contender the median wall
    time, the highest peak RSS and the median in-process time (if it printed one).

    Round by round rather than each contender's runs back to back, so a burst of load on a
    shared machine falls on all of them alike. Each run writes a new output file, as age does.
    """
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    rss: dict[str, list[float]] = {name: [] for name in contenders}
    inner: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, (argv, output) in contenders.items():
            output.unlink(missing_ok=True)
            wall, peak, out = run_measured(argv)
            walls[name].append(wall)
            rss[name].append(peak)
            if out.strip().startswith("{"):
                inner[name].append(json.loads(out)["seconds"])
    return {
        name: (
            statistics.median(walls[name]),
            max(rss[name]),
            statistics.median(inner[name]) if inner[name] else None,
        )
        for name in contenders
    }


def median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class BufferSink:
    """A writable in-memory destination of fixed, pre-touched capacity (no realloc copies)."""

    def __init__(self, capacity: int) -> None:
        self.buffer = bytearray(capacity)
        self.view = memoryview(self.buffer)
        self.view[::4096] = b"\x01" * len(range(0, capacity, 4096))  # fault pages in now
        self.position = 0

    def reset(self) -> BufferSink:
        self.position = 0
        return self

    def write(self, data: memoryview) -> int:
        end = self.position + len(data)
        self.view[self.position : end] = data
        self.position = end
        return len(data)


def ensure_input(directory: Path, size_mib: int) -> Path:
    path = directory / f"random-{size_mib}MiB.bin"
    if path.exists() and path.stat().st_size == size_mib * MIB:
        return path
    with open(path, "wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MIB))
    return path


def file_hash(path: Path) -> bytes:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(path)
    return bytes(hasher.digest())


# ---- the benchmark -----------------------------------------------------------------------


def in_memory(mem_mib: int, repeat: int) -> dict[str, float]:
    plaintext = os.urandom(mem_mib * MIB)
    chunks = -(-len(plaintext) // CHUNK_SIZE)
    sealed_sink = BufferSink(len(plaintext) + 16 * chunks + 16)
    plain_sink = BufferSink(len(plaintext))
    signing_key = SigningKey(SIGNING_SEED)

    def vault_encrypt() -> None:
        digest = encrypt_payload(
            io.BytesIO(plaintext), cast(BinaryIO, sealed_sink.reset()), BENCH_KEY
        )
        signing_key.sign(digest_message(digest))

    vault_encrypt()  # warm up, and leave a payload to decrypt
    payload = bytes(sealed_sink.view[: sealed_sink.position])

    def vault_decrypt() -> None:
        digest = decrypt_payload(io.BytesIO(payload), cast(BinaryIO, plain_sink.reset()), BENCH_KEY)
        signing_key.verify_key.verify(signing_key.sign(digest_message(digest)))

    aead = ChaCha20Poly1305(bytes(32))
    source = memoryview(plaintext)
    out = sealed_sink.view

    def raw_encrypt() -> None:
        for index, offset in enumerate(range(0, len(plaintext), CHUNK_SIZE)):
            nonce = index.to_bytes(11, "big") + (b"\x01" if index == chunks - 1 else b"\x00")
            at = index * ENCRYPTED_CHUNK_SIZE
            piece = source[offset : offset + CHUNK_SIZE]
            aead.encrypt_into(nonce, piece, None, out[at : at + len(piece) + 16])

    raw_encrypt()
    sealed = bytes(out[: len(plaintext) + 16 * chunks])
    sealed_view = memoryview(sealed)
    plain_out = plain_sink.view

    def raw_decrypt() -> None:
        for index, at in enumerate(range(0, len(sealed), ENCRYPTED_CHUNK_SIZE)):
            nonce = index.to_bytes(11, "big") + (b"\x01" if index == chunks - 1 else b"\x00")
            piece = sealed_view[at : at + ENCRYPTED_CHUNK_SIZE]
            offset = index * CHUNK_SIZE
            aead.decrypt_into(nonce, piece, None, plain_out[offset : offset + len(piece) - 16])

    def raw_blake3() -> None:  # one thread, over the sealed bytes, as the payload code hashes
        blake3.blake3(sealed_view).digest()

    results = {
        "vault_encrypt": median_time(vault_encrypt, repeat),
        "vault_decrypt": median_time(vault_decrypt, repeat),
        "raw_encrypt": median_time(raw_encrypt, repeat),
        "raw_decrypt": median_time(raw_decrypt, repeat),
        "raw_blake3": median_time(raw_blake3, repeat),
    }
    vault_decrypt()
    assert plain_sink.view[: plain_sink.position] == plaintext
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--mem-mib", type=int, default=256, help="in-memory size (default 256)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "kluis-bench")
    parser.add_argument("--child", nargs=3, metavar=("OP", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    age, age_keygen = shutil.which("age"), shutil.which("age-keygen")
    if age is None or age_keygen is None:
        sys.exit("the age and age-keygen binaries are needed (apt-get install age)")
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"GNU time ({GNU_TIME}) is needed to measure per-process peak RSS")
    args.dir.mkdir(parents=True, exist_ok=True)
    size = args.size_mib * MIB
    plain = ensure_input(args.dir, args.size_mib)
    original = file_hash(plain)  # also pulls the input into the page cache for every contender
    identity = args.dir / "age-identity.txt"
    identity.unlink(missing_ok=True)
    subprocess.run([age_keygen, "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(
        [age_keygen, "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    sealed, opened = args.dir / "vault.payload", args.dir / "vault.out"
    age_sealed, age_opened = args.dir / "age.age", args.dir / "age.out"

    copied = args.dir / "copy.out"
    rows = run_rounds(
        {
            "vault encrypt, file to file": ([*me, "encrypt", str(plain), str(sealed)], sealed),
            "vault decrypt, file to file": ([*me, "decrypt", str(sealed), str(opened)], opened),
            "age encrypt (-r), file to file": (
                [age, "-r", recipient, "-o", str(age_sealed), str(plain)],
                age_sealed,
            ),
            "age decrypt (-d -i), file to file": (
                [age, "-d", "-i", str(identity), "-o", str(age_opened), str(age_sealed)],
                age_opened,
            ),
            "plain copy (primitive), file to file": (
                [*me, "copy", str(plain), str(copied)],
                copied,
            ),
        },
        args.repeat,
    )
    if file_hash(opened) != original:
        sys.exit("vault decrypt did not reproduce the input")
    if file_hash(age_opened) != original:
        sys.exit("age decrypt did not reproduce the input")
    for path in (sealed, opened, age_sealed, age_opened, copied):
        path.unlink(missing_ok=True)

    mem = in_memory(args.mem_mib, args.repeat)
    mem_size = args.mem_mib * MIB

    def mibs(seconds: float, nbytes: int = size) -> float:
        return nbytes / MIB / seconds

    print(f"\nKluis payload benchmark: {args.size_mib} MiB file, {args.mem_mib} MiB in memory")
    print(f"median of {args.repeat}; {os.cpu_count()} CPUs; input in the page cache\n")
    print(f"{'operation':<44} {'MiB/s':>8} {'in-process':>11} {'peak RSS':>10}")
    for name, (row_wall, row_rss, row_inner) in rows.items():
        inner_text = f"{mibs(row_inner):8.0f}" if row_inner else "       -"
        print(f"{name:<44} {mibs(row_wall):8.0f} {inner_text:>11} {row_rss:7.1f} MiB")
    labels = {
        "vault_encrypt": "vault encrypt, in memory (+BLAKE3, Ed25519)",
        "vault_decrypt": "vault decrypt, in memory (+BLAKE3, Ed25519)",
        "raw_encrypt": "raw ChaCha20-Poly1305 encrypt, 64 KiB chunks",
        "raw_decrypt": "raw ChaCha20-Poly1305 decrypt, 64 KiB chunks",
        "raw_blake3": "raw BLAKE3, one thread (primitive)",
    }
    for key, label in labels.items():
        print(f"{label:<44} {mibs(mem[key], mem_size):8.0f} {'-':>11} {'-':>10}")

    vault_enc, vault_dec = rows["vault encrypt, file to file"], rows["vault decrypt, file to file"]
    age_enc = rows["age encrypt (-r), file to file"]
    age_dec = rows["age decrypt (-d -i), file to file"]
    copy_inner = rows["plain copy (primitive), file to file"][2]
    assert copy_inner is not None
    per_gib = {  # CPU-seconds per GiB of each primitive, on one core
        "aead encrypt": mem["raw_encrypt"] / mem_size * (1 << 30),
        "aead decrypt": mem["raw_decrypt"] / mem_size * (1 << 30),
        "blake3": mem["raw_blake3"] / mem_size * (1 << 30),
        "copy": copy_inner / size * (1 << 30),
    }
    limit = {  # MiB/s two cores could reach if nothing but the primitives ran
        direction: CORES
        * 1024
        / (per_gib[f"aead {direction}"] + per_gib["blake3"] + per_gib["copy"])
        for direction in ("encrypt", "decrypt")
    }
    peak = max(vault_enc[1] or 0.0, vault_dec[1] or 0.0)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print()
    print(
        "primitives, seconds per GiB on one thread: "
        + ", ".join(f"{name} {seconds:.3f}" for name, seconds in per_gib.items())
    )
    for direction, row in (("encrypt", vault_enc), ("decrypt", vault_dec)):
        wall_share = mibs(row[0]) / limit[direction]
        inner_share = mibs(row[2]) / limit[direction] if row[2] else float("nan")
        print(
            f"file {direction}: two-core limit {limit[direction]:.0f} MiB/s; vault "
            f"{inner_share:.0%} of it in-process, {wall_share:.0%} with start-up "
            f"(target >= {LIMIT_TARGET_SHARE:.0%}) {verdict(inner_share >= LIMIT_TARGET_SHARE)}"
        )
    for direction, vault_row, age_row in (
        ("encrypt", vault_enc, age_enc),
        ("decrypt", vault_dec, age_dec),
    ):
        ratio = age_row[0] / vault_row[0]
        print(
            f"file {direction} vs age: {ratio:.2f}x (target > {AGE_TARGET_RATIO:.0f}x) "
            f"{verdict(ratio > AGE_TARGET_RATIO)}"
        )
    for direction in ("encrypt", "decrypt"):
        share = mem[f"raw_{direction}"] / mem[f"vault_{direction}"]
        print(
            f"in-memory {direction} (+BLAKE3, Ed25519) vs raw single-core ChaCha20-Poly1305: "
            f"{share:.0%} (target >= {MEMORY_TARGET_SHARE:.0%}) "
            f"{verdict(share >= MEMORY_TARGET_SHARE)}"
        )
    print(
        f"peak RSS: vault encrypt {vault_enc[1]:.1f} MiB, decrypt {vault_dec[1]:.1f} MiB "
        f"(target < {RSS_TARGET_MIB} MiB) {verdict(peak < RSS_TARGET_MIB)}"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
