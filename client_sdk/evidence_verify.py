#!/usr/bin/env python3
"""Check a Kluis evidence package without Kluis: only Python 3.9+ and its standard library.

    python3 verify.py [PACKAGE_DIR] [--file FILE] [--log-key VKEY] [--witness VKEY ...]
                      [--quorum K]

It checks, and says which check failed (exit status 1) or what is proven (exit status 0):

1. SHA-256 of the file is the `sha256` the package names;
2. the commitment SHA-256("kluis/v1/evidence-commitment" || 0x00 || salt || file hash) is the
   one in the log entry ("KLKT" 0x02 0x05 || commitment);
3. the checkpoint (a C2SP signed note) carries a valid Ed25519 signature of the log's key;
4. at least K of the listed witnesses cosigned it (C2SP tlog-cosignature v1);
5. the entry is in the checkpoint's tree (RFC 9162 inclusion proof, SHA-256);
6. if the package holds an RFC 3161 timestamp, `openssl ts -verify` accepts it for the
   commitment this script computed (not for the one the package names).

Then the file existed no later than the K-th earliest witness cosignature. Compare the log's
key and the witnesses' keys with those the operator and the witnesses publish: give them with
--log-key and --witness to require them (by default those written in the package are used and
printed). The Ed25519 check below is the reference algorithm of RFC 8032 (section 6), written
out so that nothing from Kluis is needed to run it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COMMITMENT_LABEL = b"kluis/v1/evidence-commitment"
ENTRY_PREFIX = b"KLKT\x02\x05"
EM_DASH = "\u2014"


class Failed(Exception):
    """A check that did not pass."""


# -- Ed25519 (RFC 8032, section 6) ----------------------------------------------------------------
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 % P == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _add(a: Point, b: Point) -> Point:
    e1 = (a[1] - a[0]) * (b[1] - b[0]) % P
    e2 = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = e2 - e1, d - c, d + c, e2 + e1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s: int, point: Point) -> Point:
    out: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            out = _add(out, point)
        point = _add(point, point)
        s >>= 1
    return out


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
assert _GX is not None
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public_key), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    return _equal(_mul(s, BASE), _add(r, _mul(h % Q, a)))


# -- signed notes and keys (C2SP signed-note, tlog-checkpoint, tlog-cosignature) ------------------
def b64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def parse_vkey(vkey: str, kind: int) -> tuple[str, bytes, bytes]:
    """(name, key ID, public key) of a verifier key `<name>+<key ID hex>+<base64(type || key)>`."""
    name, key_id_hex, encoded = vkey.strip().split("+", 2)
    raw = b64(encoded)
    if len(raw) != 33 or raw[0] != kind:
        raise Failed(f"not a key of type {kind:#04x}: {vkey}")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise Failed(f"the key ID does not match the key: {vkey}")
    return name, key_id, raw[1:]


def signature_lines(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The note's text and its signature lines (name, key ID || signature)."""
    text, sep, block = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise Failed("the checkpoint is not a signed note")
    lines = []
    for line in block[:-1].split("\n"):
        dash, name, encoded = line.split(" ")
        if dash != EM_DASH:
            raise Failed("the checkpoint has a malformed signature line")
        lines.append((name, b64(encoded)))
    return text + "\n", lines


def open_checkpoint(
    note: str, log_key: str, witnesses: list[str], quorum: int
) -> tuple[int, bytes, list[int]]:
    """(tree size, root, times of the listed witnesses' valid cosignatures)."""
    text, lines = signature_lines(note)
    name, key_id, public = parse_vkey(log_key, 0x01)
    signed = [sig[4:] for n, sig in lines if n == name and sig[:4] == key_id]
    if not signed or not all(ed25519_verify(public, text.encode(), s) for s in signed):
        raise Failed("the log's key did not sign this checkpoint")
    times = []
    for vkey in witnesses:
        w_name, w_id, w_public = parse_vkey(vkey, 0x04)
        mine = [sig[4:] for n, sig in lines if n == w_name and sig[:4] == w_id]
        if not mine:
            continue
        sig = mine[0]  # a witness counts once, by its first cosignature
        stamp = int.from_bytes(sig[:8], "big")
        message = f"cosignature/v1\ntime {stamp}\n{text}".encode()
        if len(sig) != 72 or not ed25519_verify(w_public, message, sig[8:]):
            raise Failed(f"witness {w_name}: its cosignature does not verify")
        times.append(stamp)
    if len(times) < quorum:
        raise Failed(f"only {len(times)} of the {quorum} witness cosignatures required")
    origin, size, root = text.split("\n")[:3]
    if origin != name:
        raise Failed(f"the checkpoint is of the log {origin!r}, not {name!r}")
    return int(size), b64(root), sorted(times)


# -- the tree (RFC 9162, section 2.1.3.2) ---------------------------------------------------------
def verify_inclusion(entry: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    if index >= size:
        raise Failed(f"entry {index} cannot be in a tree of {size} entries")
    fn, sn, r = index, size - 1, hashlib.sha256(b"\x00" + entry).digest()
    for p in proof:
        if sn == 0:
            raise Failed("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise Failed("the log entry is not in the checkpoint's tree")


# -- the package ----------------------------------------------------------------------------------
def verify(
    package: Path, file: Path | None, log_key: str | None, witnesses: list[str], quorum: int | None
) -> int | None:
    """Check the package; return the time (POSIX seconds) the file existed by, or None when
    no witness is required (the log alone states no time)."""
    evidence: dict[str, Any] = json.loads((package / "evidence.json").read_text("utf-8"))
    log = evidence["log"]
    if log_key is not None and log_key.strip() != log["log_key"]:
        raise Failed("the package names another log key than the one given")
    keys = witnesses or log["witnesses"]
    k = quorum if quorum is not None else int(log["quorum"])
    data = (file or package / evidence["file"]).read_bytes()
    file_hash = hashlib.sha256(data).digest()
    if file_hash.hex() != evidence["sha256"]:
        raise Failed("the file's SHA-256 is not the one in the package (the file was changed)")
    salt = bytes.fromhex(evidence["salt"])
    commitment = hashlib.sha256(COMMITMENT_LABEL + b"\x00" + salt + file_hash).digest()
    entry = bytes.fromhex(evidence["entry"])
    if entry != ENTRY_PREFIX + commitment:
        raise Failed("the log entry does not commit to this file with this salt")
    note = (package / evidence["checkpoint"]).read_text("utf-8")
    size, root, times = open_checkpoint(note, log_key or log["log_key"], keys, k)
    if size != evidence["tree_size"]:
        raise Failed("the checkpoint is not the one the proof was made for")
    proof = [bytes.fromhex(h) for h in evidence["inclusion"]]
    verify_inclusion(entry, int(evidence["index"]), size, proof, root)
    if evidence.get("timestamp"):
        verify_timestamp(package, evidence["timestamp"], commitment)
    return times[k - 1] if k else None


def verify_timestamp(package: Path, stamp: dict[str, Any], commitment: bytes) -> None:
    """`openssl ts -verify` over the commitment computed here, with the package's TSA root."""
    openssl = shutil.which("openssl", path="/usr/bin:/bin:/usr/local/bin")
    if openssl is None:
        raise Failed("the package holds a timestamp, and openssl is needed to check it")
    command = [openssl, "ts", "-verify", "-digest", commitment.hex()]
    command += ["-in", stamp["token"], "-CAfile", stamp["root"]]
    done = subprocess.run(command, cwd=package, capture_output=True, text=True, check=False)
    if done.returncode != 0 or "Verification: OK" not in done.stdout:
        raise Failed("openssl does not accept the timestamp for this file's commitment")
    print(f"RFC 3161 timestamp: {stamp['time']} (openssl ts -verify: OK)")


def main() -> int:
    parser = argparse.ArgumentParser(description="Check a Kluis evidence package.")
    parser.add_argument("package", nargs="?", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--file", help="check this file instead of the package's own copy")
    parser.add_argument("--log-key", help="the log key the operator publishes")
    parser.add_argument("--witness", action="append", default=[], help="a witness's key")
    parser.add_argument("--quorum", type=int, help="how many witnesses must have cosigned")
    args = parser.parse_args()
    try:
        when = verify(
            Path(args.package),
            Path(args.file) if args.file else None,
            args.log_key,
            args.witness,
            args.quorum,
        )
    except (Failed, ValueError, KeyError, OSError) as exc:
        print(f"NIET IN ORDE / FAILED: {exc}")
        return 1
    if when is None:
        print("IN ORDE / OK: the file is in the log (no witness time was required)")
    else:
        utc = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        print(f"IN ORDE / OK: dit bestand bestond uiterlijk op / this file existed by {utc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
